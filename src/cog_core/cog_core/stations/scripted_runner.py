"""The scripted collection loop, one control step at a time.

`ScriptedRunner` splits an episode into ``begin()`` / ``step()`` / ``finish()`` so a ROS node can
step once per timer tick (services, subscriptions and the camera keep running in between),
and `cog_core.experiments.collect` drives it in a plain loop: one implementation for both. It runs on any
`Station` (`cog_core.stations.base`) and logs to any `Recorder`.
Episode plans (behaviour, condition, seeds) are a pure function of (seed, stream, index).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cog_core.scripted.policies import DEFAULT_PROFILE, PolicyConfig, ScriptedPolicy, make_policy, profile_config
from cog_core.scripted.presets import Preset, get_preset
from cog_core.seeds import collection_seed
from cog_core.stations.base import Info, Obs, Recorder, Station


@dataclass
class RunnerConfig:
    """What a scripted collection session needs (the ROS collector's parameters)."""

    preset: str = "drawer-prior"
    episodes: int = 10
    seed: int = 0
    prior_profile: str = DEFAULT_PROFILE  # the behaviours' settings (`cog_core.scripted.policies.PRIOR_PROFILES`)
    noise_std: float | None = None  # action noise; None = the profile's
    max_steps: int = 60
    stream: int = 0  # independent seed stream (e.g. the collection worker's index)
    # With an estimated object position (the localizer's), read it once as the episode begins (the
    # arm at its start pose, clear of the object) and keep it while the behaviour acts: as the
    # gripper closes in it hides the object from the camera, and later estimates are withheld or worse.
    hold_object_estimate: bool = True


@dataclass
class RunnerEpisode:
    """A finished (or aborted) episode, as the node reports it."""

    episode_id: str
    index: int
    behaviour: str
    condition: str
    seed: int
    steps: int
    status: str  # "complete" | "aborted"
    success: bool = False
    behaviour_success: bool = False
    episode_return: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Plain-data form (JSON for the live episode topic)."""
        return dict(self.__dict__)


@dataclass
class StepReport:
    """One control step as the node publishes it for live viewing."""

    episode_id: str
    step_index: int
    action: np.ndarray
    reward: float
    image: np.ndarray
    state: np.ndarray


@dataclass
class PreparedEpisode:
    """The next planned episode after its reset, before its behaviour starts."""

    behaviour: str
    condition: str
    seed: int
    policy_rng: np.random.Generator
    obs: Obs
    info: Info


@dataclass
class OpenEpisode:
    """The episode in progress: its behaviour, the newest observation, and the running counts."""

    episode_id: str
    index: int
    policy: ScriptedPolicy
    condition: str
    seed: int
    obs: Obs
    info: Info
    steps: int = 0
    episode_return: float = 0.0


class ScriptedRunner:
    """Runs `config.episodes` scripted episodes on a station, logging every step to `recorder`."""

    def __init__(self, station: Station, recorder: Recorder, config: RunnerConfig,
                 object_position: Callable[[], np.ndarray | None] | None = None, preset: Preset | None = None,
                 policy_config: PolicyConfig | None = None) -> None:
        if config.episodes < 0:
            raise ValueError(f"episodes must be >= 0, got {config.episodes}")
        if config.max_steps < 1:
            raise ValueError(f"max_steps must be >= 1, got {config.max_steps}")
        self.station = station
        self.recorder = recorder
        self.object_position = object_position  # e.g. the localizer's latest estimate; None = station ground truth
        self.config = config
        self.preset: Preset = preset if preset is not None else get_preset(config.preset)  # a recipe of one's own (measurements)
        self._weights = np.array([m.weight for m in self.preset.mix], dtype=float)
        self._weights /= self._weights.sum()
        # the behaviours' settings: the config's profile, unless given (measurements probing other settings)
        self._policy_cfg: PolicyConfig = policy_config or profile_config(config.prior_profile, config.noise_std)
        self.index = 0  # episodes begun so far
        self.finished: list[RunnerEpisode] = []
        self._open: OpenEpisode | None = None
        self._prepared: PreparedEpisode | None = None
        self._held_object: np.ndarray | None = None  # the estimate this episode acts on (hold_object_estimate)

    def _privileged(self, acting: bool = False) -> dict[str, Any]:
        """What the scripted behaviour sees: the station's privileged dict, object position swapped in if given.

        acting: for choosing actions, where the estimate held since the episode began is used
        (`RunnerConfig.hold_object_estimate`); otherwise the newest estimate.
        """
        priv = self.station.privileged()
        if self.object_position is not None:
            pos = self._held_object if acting and self._held_object is not None else self.object_position()
            if pos is None:
                raise RuntimeError("no object position available (object_position returned None)")
            priv = {**priv, "object_pos": np.asarray(pos, dtype=float)}
        return priv

    @property
    def open_episode(self) -> OpenEpisode | None:
        """The episode between begin() and finish()/abort(), else None."""
        return self._open

    @property
    def in_episode(self) -> bool:
        """True between begin() and finish()/abort()."""
        return self._open is not None

    @property
    def remaining(self) -> int:
        """Episodes not yet begun."""
        return max(0, self.config.episodes - self.index)

    def plan(self, index: int) -> tuple[str, str, int, np.random.Generator]:
        """(behaviour, condition, env seed, policy rng) of episode `index`: a pure function of the seed."""
        key = [self.config.seed, self.config.stream, index]
        rng = np.random.default_rng(key)
        entry = self.preset.mix[int(rng.choice(len(self.preset.mix), p=self._weights))]
        seed = collection_seed(self.config.seed, self.config.stream, index)  # never an evaluation episode's
        return entry.behaviour, entry.condition, seed, np.random.default_rng(key + [1])

    def prepare(self) -> None:
        """Reset the station for the next planned episode (begin() does it when not done before).

        Lets a caller observe the new scene (e.g. wait for a fresh localizer estimate) before the
        behaviour starts.
        """
        if self.in_episode:
            raise RuntimeError("an episode is already running; finish() or abort() it first")
        if self.remaining == 0:
            raise RuntimeError(f"all {self.config.episodes} episodes are done")
        behaviour, condition, seed, prng = self.plan(self.index)
        obs, info = self.station.reset(condition, seed)
        self._prepared = PreparedEpisode(behaviour, condition, seed, prng, obs, info)

    @property
    def prepared(self) -> bool:
        """True after prepare() until begin()."""
        return self._prepared is not None

    def begin(self) -> str:
        """Start the next planned episode (resetting the station unless prepared) and open it in the recorder; returns its id."""
        if self._prepared is None:
            self.prepare()
        prepared = self._prepared
        assert prepared is not None
        self._prepared = None
        policy = make_policy(prepared.behaviour, prepared.policy_rng, self._policy_cfg)
        self._held_object = None
        priv = self._privileged()
        if self.object_position is not None and self.config.hold_object_estimate:
            self._held_object = np.array(priv["object_pos"], dtype=float)
        policy.reset(priv)
        params = {**policy.params, "prior_profile": self.config.prior_profile}
        eid = self.recorder.begin_episode(self.preset.task, prepared.condition, policy.name, policy_params=params,
                                          seed=prepared.seed)
        self._open = OpenEpisode(eid, self.index, policy, prepared.condition, prepared.seed, prepared.obs, prepared.info)
        self.index += 1
        return eid

    def step(self) -> tuple[StepReport, bool]:
        """One control step; returns its report and whether the episode should now finish."""
        ep = self._open
        if ep is None:
            raise RuntimeError("no episode running; call begin() first")
        policy, obs, info = ep.policy, ep.obs, ep.info
        action = policy.act(self._privileged(acting=True))
        next_obs, reward, terminated, _truncated, next_info = self.station.step(action)
        self.recorder.add_step(obs["image"], obs["state"], action, reward, lowdim=info["lowdim"])
        report = StepReport(ep.episode_id, ep.steps, np.asarray(action, np.float32), float(reward), obs["image"], obs["state"])
        ep.obs, ep.info = next_obs, next_info
        ep.steps += 1
        ep.episode_return += float(reward)
        long_enough = ep.steps >= min(self.preset.min_steps, self.config.max_steps)
        done = ep.steps >= self.config.max_steps or (policy.done and long_enough) or bool(terminated)
        return report, done

    def finish(self) -> RunnerEpisode:
        """Log the final observation and the summary (the episode becomes durable); a halted one is aborted."""
        ep = self._open
        if ep is None:
            raise RuntimeError("no episode running")
        if ep.info.get("halted"):  # a real-arm safety stop: the episode is not valid data
            result = self.abort(f"halted: {ep.info['halted']}")
            assert result is not None
            return result
        obs, info, policy = ep.obs, ep.info, ep.policy
        ok = bool(policy.success(self._privileged()))
        self._open = None
        self._held_object = None
        self.recorder.end_episode(
            obs["image"], obs["state"], final_lowdim=info["lowdim"], success=bool(info["success"]),
            info={"behaviour_success": ok, "condition": ep.condition},
        )
        result = RunnerEpisode(ep.episode_id, ep.index, policy.name, ep.condition, ep.seed, ep.steps, "complete",
                               bool(info["success"]), ok, ep.episode_return)
        self.finished.append(result)
        return result

    def abort(self, reason: str) -> RunnerEpisode | None:
        """Discard the running episode (readers skip it); None when none was running."""
        ep = self._open
        if ep is None:
            return None
        self._open = None
        self._held_object = None
        self.recorder.abort_episode(reason)
        result = RunnerEpisode(ep.episode_id, ep.index, ep.policy.name, ep.condition, ep.seed, ep.steps,
                               "aborted", info={"reason": reason})
        self.finished.append(result)
        return result
