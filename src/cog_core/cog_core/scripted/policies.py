"""Scripted behaviours: proportional controllers toward targets, with Gaussian action noise.

Each behaviour is a small phase machine over privileged positions (sim ground truth, or the
localizer's estimate on the real robot, taken as the episode begins and held while the gripper
hovers over the object: `cog_core.stations.scripted_runner.RunnerConfig.hold_object_estimate`).
Thresholds are drawn from N(0.04, 0.01) m per episode, Gaussian noise is added to all 8 action
dimensions. How competent the behaviours are is a named profile (`PRIOR_PROFILES`): `paper`
(the default of `cogrl collect`) adds the paper's noise N(0, 0.2) and acts wherever the hand is
once within its threshold, so the behaviours succeed about as often as the paper's
(docs/collection.md); `state-table` (the `PolicyConfig` defaults) is what the state Table 1 was
collected with: noise 0.1 and hands steered onto their targets, so drawers open in ~100 % of
episodes. As in the paper's algorithms, grasping ends by holding the lifted object still, and
every other behaviour ends with a move-to-neutral (which also opens the gripper), then holds
still under the noise (default) or, with `stay_at_neutral`, repeats the neutral command as the
original's scripted policies do (see `PolicyConfig`). "Weak" variants
aim at a random point in the workspace half of the time, so prior data holds failures and
irrelevant behaviour. The discrete dimensions are always commanded at +-DISCRETE: at noise
0.1 noise never flips the gripper or triggers a neutral move by accident (4 std away); at the
paper's 0.2 a gripper command crosses its +-0.5 threshold in about 2 % of steps (a neutral
move still never), too briefly to matter: without noise on those two dimensions the grasps'
and drawer opening's success rates moved by at most 0.01 (150 episodes each).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike


GAIN = 25.0  # action per metre of position error (saturates at 4 cm)
# Discrete commands (gripper, neutral) are sent at +-DISCRETE, well past the +-0.5 thresholds but
# inside (-1, 1): a tanh-Gaussian policy fits exact +-1 targets only at saturated pre-tanh means,
# where the critic's gradient can no longer move them.
DISCRETE = 0.9
HOVER = 0.07  # m above a grasp point while aligning
LIFT_Z = (0.15, 0.02)  # N(mean, std) m: lift height after a grasp
# Lift target of `grasp_high`, the pick-place prior's grasps. The lift stops within half a
# threshold (~2 cm) of it, so grasps end at ~0.20 m, about the neutral pose's height; the
# simulator also runs this grasp at reset for `pick_place/object_in_gripper`, so the place task
# starts where these grasps end.
HIGH_LIFT_Z = (0.21, 0.01)
# Close height: the hand closes once the ee point is within this height (m) above the grasp point,
# drawn per episode from N(mean, std). It is sharp (small std) and the descent aims at the grasp
# point itself, below it, so the hand still moves ~1 cm per step when it crosses the height: the
# "descend, open" states and the "close" state of an episode then lie on either side of one
# height, a boundary a learned policy can regress (a random, wide close height made the close
# state look like the descend states of other episodes and the learned gripper never closed).
CLOSE_DZ = (0.010, 0.0015)
CARRY_Z = 0.16  # m: carrying height
RANDOM_TABLE_X = (0.20, 0.44)
RANDOM_TABLE_Y = (-0.24, 0.06)
# Where the bottle stands when it blocks nothing ("aside"): the remove-blocker behaviour puts it
# here, and the simulator's conditions start it here (`cog_core.sim.conditions` takes these
# ranges), so that removing the bottle leads into the drawer-opening episodes.
BLOCKER_ASIDE_X = (0.17, 0.23)
BLOCKER_ASIDE_Y = (-0.065, 0.0)


@dataclass
class PolicyConfig:
    """Knobs shared by every scripted behaviour."""

    noise_std: float = 0.1  # Gaussian action noise (original code 0.1; the paper says 0.2)
    threshold_mean: float = 0.04  # m, per-episode thresholds ~ N(mean, std)
    threshold_std: float = 0.01
    weak_prob: float = 0.5  # weak variants: chance of aiming at a random point
    # After a neutral finish: False = hold still under the noise, so the arm drifts 1-3 cm
    # around the start pose; True = repeat the neutral command (the original's scripted
    # policies), so it rests exactly at the start pose. At this repo's data sizes the drifting
    # ends stitched better (COG on drawer/closed 0.81 vs 0.22, seed 0; docs/training.md).
    stay_at_neutral: bool = False
    # How close (xy) over its target the hand must be before a grasp descends or a drawer
    # behaviour goes down to the handle, as a fraction of the episode's threshold.
    grasp_align: float = 0.5
    drawer_align: float = 0.3
    # False: descents keep steering onto the target, which corrects the alignment's error on the
    # way down. True: they go straight down from where the alignment stopped (as the paper's
    # behaviours act wherever the hand is once within their threshold), so the error the
    # threshold allowed, plus what the noise adds on the way down, stays.
    descend_straight: bool = False
    # False: a drawer is pulled (or pushed) toward the handle's height. True: level, from the
    # height the hand reached (the paper's Algorithm 3: "move left/right").
    pull_level: bool = False


def _toward(ee: np.ndarray, target: ArrayLike) -> np.ndarray:
    return np.clip(GAIN * (np.asarray(target) - ee), -1.0, 1.0)


@dataclass
class ScriptedPolicy:
    """Base: holds the rng, noise and per-episode parameters; subclasses implement `_act`."""

    name: str
    config: PolicyConfig
    rng: np.random.Generator
    weak: bool = False
    params: dict[str, Any] = field(default_factory=dict)
    phase: str = "start"
    done: bool = False  # the behaviour has ended; further actions hold still (or stay at neutral, see PolicyConfig)
    _hold_gripper: float = 1.0
    steps: int = 0

    def threshold(self) -> float:
        """A fresh threshold ~ N(mean, std), kept positive."""
        c = self.config
        return float(max(0.01, self.rng.normal(c.threshold_mean, c.threshold_std)))

    def random_table_point(self, z: float) -> np.ndarray:
        """A uniformly random point above the free table area."""
        return np.array([self.rng.uniform(*RANDOM_TABLE_X), self.rng.uniform(*RANDOM_TABLE_Y), z])

    def reset(self, priv: dict[str, Any]) -> None:
        """Sample this episode's thresholds and targets from the scene."""
        self.phase, self.done, self.steps = "start", False, 0
        self.params = {"noise_std": self.config.noise_std, "weak": self.weak}
        self._reset(priv)

    def act(self, priv: dict[str, Any]) -> np.ndarray:
        """The noisy 8-D action for the current privileged state (once done: hold still, or stay at neutral)."""
        if self.done:
            a = self._action(gripper=self._hold_gripper, neutral=self.phase == "neutral" and self.config.stay_at_neutral)
        else:
            a = self._act(priv)
        self.steps += 1
        noise = self.rng.normal(0.0, self.config.noise_std, 8) if self.config.noise_std > 0 else 0.0
        return np.clip(a + noise, -1.0, 1.0).astype(np.float32)

    def success(self, priv: dict[str, Any]) -> bool:
        """Did the behaviour achieve its own goal (not the task's)?"""
        raise NotImplementedError

    # helpers for subclasses -----------------------------------------------------------------
    @staticmethod
    def _action(move: np.ndarray | None = None, gripper: float = 0.0, neutral: bool = False) -> np.ndarray:
        a = np.zeros(8)
        if move is not None:
            a[:3] = np.clip(move, -DISCRETE, DISCRETE)
        a[6] = gripper * DISCRETE
        a[7] = DISCRETE if neutral else -DISCRETE
        return a

    def _finish(self, gripper: float, neutral: bool = True, hold_gripper: float | None = None) -> np.ndarray:
        """End the behaviour with `gripper` and a move-to-neutral (none when `neutral` is false);
        later steps hold still (or repeat the neutral, `stay_at_neutral`) with `hold_gripper`
        (default `gripper`)."""
        self.done = True
        self._hold_gripper = gripper if hold_gripper is None else hold_gripper
        self.phase = "neutral" if neutral else "hold"
        return self._action(gripper=gripper, neutral=neutral)

    def _reset(self, priv: dict[str, Any]) -> None:
        raise NotImplementedError

    def _act(self, priv: dict[str, Any]) -> np.ndarray:
        raise NotImplementedError


def _target_pos(priv: dict[str, Any], target: str) -> np.ndarray:
    pos = np.array(priv[f"{target}_pos"], dtype=float)
    if target == "blocker":  # grasp the bottle just above its middle, palm clear of its top
        pos[2] += 0.008
    return pos


class Grasp(ScriptedPolicy):
    """Algorithm 1: reach the object, close, lift, then hold it up (no neutral move, which would open the hand)."""

    target: str = "object"
    lift_z_dist: tuple[float, float] = LIFT_Z  # N(mean, std) of the lift height

    def _reset(self, priv):
        self.thr = self.threshold()
        self.close_dz = float(np.clip(self.rng.normal(*CLOSE_DZ), CLOSE_DZ[0] - 3 * CLOSE_DZ[1], CLOSE_DZ[0] + 3 * CLOSE_DZ[1]))
        self.lift_z = float(self.rng.normal(*self.lift_z_dist))
        self.decoy = self.random_table_point(priv["object_half_height"]) if self.weak and self.rng.random() < self.config.weak_prob else None
        if self.decoy is not None and self.target != "object" and "object_pos" in priv:
            # a decoy grasp of another target must not grasp the task object by chance (the prior
            # data never holds the task): redraw decoys within 8 cm of it
            for _ in range(100):
                if np.linalg.norm(self.decoy[:2] - np.asarray(priv["object_pos"])[:2]) > 0.08:
                    break
                self.decoy = self.random_table_point(priv["object_half_height"])
        self.params.update(threshold=self.thr, close_dz=self.close_dz, lift_z=self.lift_z, target=self.target, decoy=None if self.decoy is None else self.decoy.tolist())
        self.phase = "reach"
        self.closing = 0

    def _grasp_point(self, priv):
        return self.decoy if self.decoy is not None else _target_pos(priv, self.target)

    def _grasp_phases(self, priv) -> np.ndarray | None:
        """Reach-descend-close-lift; returns None once lifted."""
        ee = priv["ee_pos"]
        goal = self._grasp_point(priv)
        if self.phase == "reach":
            hover = np.array([goal[0], goal[1], goal[2] + HOVER])
            # straight descents start over the hover point (the threshold is a distance in 3-D, as
            # the paper's); steered ones may start higher, since they keep aiming on the way down
            off = hover - ee if self.config.descend_straight else (goal - ee)[:2]
            if np.linalg.norm(off) > self.thr * self.config.grasp_align:
                return self._action(_toward(ee, hover), gripper=1.0)
            self.phase = "descend"
        if self.phase == "descend":
            if ee[2] - goal[2] > self.close_dz:
                aim = [ee[0], ee[1], goal[2]] if self.config.descend_straight else goal
                return self._action(_toward(ee, aim), gripper=1.0)
            self.phase = "close"
        if self.phase == "close":
            self.closing += 1
            if self.closing <= 2:
                return self._action(gripper=-1.0)
            self.phase = "lift"
        if self.phase == "lift":
            if ee[2] < self.lift_z - self.thr * 0.5:
                return self._action(_toward(ee, [ee[0], ee[1], self.lift_z]), gripper=-1.0)
            self.phase = "lifted"
        return None

    def _act(self, priv):
        a = self._grasp_phases(priv)
        return a if a is not None else self._finish(gripper=-1.0, neutral=False)

    def success(self, priv):
        pos = np.asarray(priv[f"{self.target}_pos"])
        lifted = pos[2] > priv.get(f"{self.target}_half_height", 0.016) + 0.06
        return bool(lifted and not priv["gripper_open"] and np.linalg.norm(pos[:2] - priv["ee_pos"][:2]) < 0.05)


class GraspBlocker(Grasp):
    """Grasp the bottle wherever it stands."""

    target = "blocker"


class PickPlace(Grasp):
    """Algorithm 2: grasp, carry above a drop point, release, neutral.

    The drop point is above the tray with probability `tray_prob`, elsewhere on the table
    otherwise (or a fixed spot, for the blocking behaviour).
    """

    tray_prob: float = 0.5
    drop_mode: str = "tray_or_random"  # or "blocking" (the bottle's gap) / "aside" (where the bottle stands in the other conditions)

    def _reset(self, priv):
        super()._reset(priv)
        self.drop = self._choose_drop(priv)
        self.drop_z = float(np.clip(self.rng.normal(0.09, 0.015), 0.06, 0.13))
        if self.drop_mode == "blocking":
            self.drop_z = 0.078
        self.drop_thr = self.threshold()
        self.release = 0
        self.params.update(drop=self.drop.tolist(), drop_z=self.drop_z, drop_threshold=self.drop_thr, drop_mode=self.drop_mode)

    def _choose_drop(self, priv) -> np.ndarray:
        if self.drop_mode == "blocking":
            return np.array(priv["blocker_home"][:2].tolist() + [0.0])
        if self.drop_mode == "aside":  # where the bottle stands when it blocks nothing
            return np.array([self.rng.uniform(*BLOCKER_ASIDE_X), self.rng.uniform(*BLOCKER_ASIDE_Y), 0.0])
        if self.rng.random() < self.tray_prob and "tray_center" in priv:
            return np.asarray(priv["tray_center"], dtype=float) + [self.rng.uniform(-0.02, 0.02), self.rng.uniform(-0.02, 0.02), 0.0]
        return self.random_table_point(0.0)

    def _act(self, priv):
        if self.phase in ("reach", "descend", "close", "lift"):
            a = self._grasp_phases(priv)
            if a is not None:
                return a
            self.phase = "carry"
        ee = priv["ee_pos"]
        if self.phase == "carry":
            carry = [self.drop[0], self.drop[1], max(CARRY_Z, self.drop_z)]
            if np.linalg.norm(self.drop[:2] - ee[:2]) > self.drop_thr * 0.5:
                return self._action(_toward(ee, carry), gripper=-1.0)
            self.phase = "lower"
        if self.phase == "lower":
            if ee[2] > self.drop_z + 0.01:
                return self._action(_toward(ee, [self.drop[0], self.drop[1], self.drop_z]), gripper=-1.0)
            self.phase = "release"
        if self.phase == "release":
            self.release += 1
            if self.release <= 2:
                return self._action(gripper=1.0)
            self.phase = "retreat"
        if self.phase == "retreat":
            if ee[2] < self.drop_z + 0.04:
                return self._action(_toward(ee, [ee[0], ee[1], self.drop_z + 0.06]), gripper=1.0)
        return self._finish(gripper=1.0)

    def success(self, priv):
        pos = np.asarray(priv[f"{self.target}_pos"])
        half = priv.get(f"{self.target}_half_height", 0.016)
        resting = pos[2] < half + 0.01 and priv["gripper_open"]
        return bool(resting and np.linalg.norm(pos[:2] - self.drop[:2]) < 0.06)


class Place(PickPlace):
    """The place half of pick-and-place: the object starts in the gripper."""

    tray_prob = 1.0

    def _reset(self, priv):
        super()._reset(priv)
        self.phase = "carry"


class PickPlaceBlocker(PickPlace):
    """Pick the bottle and put it somewhere (tray or table)."""

    target = "blocker"


class RemoveBlocker(PickPlace):
    """Pick the bottle from in front of the drawer and put it aside, where it stands in every
    condition that it does not block: the drawer-opening episodes start from there, so
    removing the bottle leads into them (dropped anywhere on the table, 98 % of the removals
    ended where no drawer was ever opened and COG never chained them: docs/results.md)."""

    target = "blocker"
    drop_mode = "aside"


class BlockDrawer(PickPlace):
    """Put the bottle in front of the bottom drawer (prior data holds this irrelevant behaviour)."""

    target = "blocker"
    drop_mode = "blocking"

    def success(self, priv):
        pos = np.asarray(priv["blocker_pos"])
        return bool(np.linalg.norm(pos[:2] - np.asarray(priv["blocker_home"])[:2]) < 0.015 and pos[2] > 0.03)


class Drawer(ScriptedPolicy):
    """Algorithm 3: move above the handle, close the hand, hook it, pull (open) or push (close), lift, neutral."""

    which: str = "bottom"
    direction: str = "open"

    def _gap(self, priv) -> np.ndarray:
        handle = np.asarray(priv[f"{self.which}_handle"], dtype=float)
        return handle + [0.0, 0.03 if self.which == "bottom" else 0.021, -0.005]

    def _reset(self, priv):
        self.thr = self.threshold()
        self.decoy = None
        if self.weak and self.rng.random() < self.config.weak_prob:
            self.decoy = self._gap(priv) + [self.rng.uniform(-0.08, 0.08), self.rng.uniform(-0.08, 0.04), self.rng.uniform(-0.01, 0.05)]
        self.travel = 0.15 if self.which == "bottom" else 0.11
        self.params.update(which=self.which, direction=self.direction, threshold=self.thr, decoy=None if self.decoy is None else self.decoy.tolist())
        self.phase = "approach"
        self.move_goal: np.ndarray | None = None

    def _act(self, priv):
        ee = priv["ee_pos"]
        gap = self.decoy if self.decoy is not None else self._gap(priv)
        if self.phase == "approach":
            if np.linalg.norm(gap[:2] - ee[:2]) > self.thr * self.config.drawer_align:
                return self._action(_toward(ee, gap + [0, 0, 0.08]), gripper=1.0)
            self.phase = "close_hand"
        if self.phase == "close_hand":
            # Close above the handle, not at the start pose: there the task data's first actions
            # (hand open, moving) would compete with a gripper flip the policy cannot find by gradient.
            self.phase = "descend"
            self.descend_steps = 0
            return self._action(gripper=-1.0)
        if self.phase == "descend":
            self.descend_steps += 1
            if ee[2] - gap[2] > 0.01 and self.descend_steps < 8:
                aim = [ee[0], ee[1], gap[2]] if self.config.descend_straight else gap
                return self._action(_toward(ee, aim), gripper=-1.0)
            if ee[2] - gap[2] > self.thr:  # could not get down to the handle: give up
                self.phase = "lift"
            else:
                sign = -1.0 if self.direction == "open" else 1.0
                self.move_goal = gap + [0.0, sign * self.travel, 0.0]
                if self.config.pull_level:  # pull or push level, from where the hand is
                    self.move_goal[2] = ee[2]
                self.phase = "move"
                self.move_steps = 0
        if self.phase == "move":
            self.move_steps += 1
            fraction = priv[f"{self.which}_drawer"]
            finished = fraction > 0.98 if self.direction == "open" else fraction < 0.02
            if not finished and abs(self.move_goal[1] - ee[1]) > 0.01 and self.move_steps < 12:
                return self._action(_toward(ee, self.move_goal), gripper=-1.0)
            self.phase = "lift"
        if self.phase == "lift":
            if ee[2] < gap[2] + 0.06:
                return self._action(_toward(ee, [ee[0], ee[1], gap[2] + 0.08]), gripper=-1.0)
        # The neutral move opens the hand; the gripper dimension keeps its value of the lift, so
        # this step differs from the lift's only in the neutral dimension.
        return self._finish(gripper=-1.0, hold_gripper=1.0)

    def success(self, priv):
        fraction = priv[f"{self.which}_drawer"]
        return bool(fraction > 0.95 if self.direction == "open" else fraction < 0.05)


def _variant(base: type, name: str, **attrs) -> type:
    return type(name, (base,), attrs)


BEHAVIOURS: dict[str, type[ScriptedPolicy]] = {
    "grasp": Grasp,
    "grasp_high": _variant(Grasp, "GraspHigh", lift_z_dist=HIGH_LIFT_Z),
    "grasp_blocker": GraspBlocker,
    "pick_place": PickPlace,
    "pick_place_blocker": PickPlaceBlocker,
    "place": Place,
    "remove_blocker": RemoveBlocker,
    "block_drawer": BlockDrawer,
    "open_bottom": _variant(Drawer, "OpenBottom", which="bottom", direction="open"),
    "close_bottom": _variant(Drawer, "CloseBottom", which="bottom", direction="close"),
    "open_top": _variant(Drawer, "OpenTop", which="top", direction="open"),
    "close_top": _variant(Drawer, "CloseTop", which="top", direction="close"),
}


def make_policy(name: str, rng: np.random.Generator, config: PolicyConfig | None = None, weak: bool = False) -> ScriptedPolicy:
    """Instantiate a behaviour by name ("weak_" prefix also selects the weak variant)."""
    if name.startswith("weak_"):
        name, weak = name[len("weak_") :], True
    if name not in BEHAVIOURS:
        raise KeyError(f"unknown scripted behaviour {name!r}; valid: {', '.join(BEHAVIOURS)} (optionally prefixed 'weak_')")
    return BEHAVIOURS[name](name=("weak_" if weak else "") + name, config=config or PolicyConfig(), rng=rng, weak=weak)


# Named settings of the behaviours ("prior profiles"): how competent the scripted data is.
PRIOR_PROFILES: dict[str, PolicyConfig] = {
    # What the state-based Table 1 (docs/results/table_cpu.json) was collected with: noise 0.1 (the
    # original code's), hands steered onto their targets: drawers open in ~100 % of episodes.
    "state-table": PolicyConfig(),
    # The paper's means: its noise N(0, 0.2) (Algorithms 1-3), thresholds N(0.04, 0.01) within which
    # the hand acts from wherever it is (straight descents, level pulls), the weak variants. Half
    # the threshold for every alignment (the state table's grasps already used half). Measured
    # with scripts/measure_prior.py, 300 episodes per entry (docs/collection.md): drawer opening
    # 0.39, closing 0.56, bottle grasps 0.46, the drawer task's grasp 0.72, the pick-place prior's
    # grasps 0.38, place 0.96 (the paper: 40-50 %, 40-50 %, ~70 %, ~70 %, ~40-50 %, > 90 %).
    "paper": PolicyConfig(noise_std=0.2, grasp_align=0.5, drawer_align=0.5, descend_straight=True, pull_level=True),
}
DEFAULT_PROFILE = "paper"  # new collections
LEGACY_PROFILE = "state-table"  # collections recorded before profiles existed


def profile_config(name: str, noise_std: float | None = None) -> PolicyConfig:
    """The behaviours' settings of prior profile `name`, with the action noise replaced when `noise_std` is given."""
    if name not in PRIOR_PROFILES:
        raise KeyError(f"unknown prior profile {name!r}; valid: {', '.join(PRIOR_PROFILES)}")
    config = PRIOR_PROFILES[name]
    return config if noise_std is None else replace(config, noise_std=float(noise_std))
