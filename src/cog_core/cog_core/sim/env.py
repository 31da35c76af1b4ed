"""The COG simulator as a Gymnasium environment: WidowX 250 + drawer or pick-place scene."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import mujoco
import numpy as np

from cog_core.robot.action import ACTION_DIM, STATE_DIM, STATE_NAMES, ActionLimits, validate_action
from cog_core.scripted.policies import PRIOR_PROFILES, make_policy
from cog_core.sim import conditions as C
from cog_core.sim.arm import SimArm
from cog_core.sim.layout import SCENES, SceneLayout
from cog_core.sim.mjcf import SUBSTEPS, PHYSICS_TIMESTEP, scene_xml
from cog_core.sim.tasks import SceneState, subgoals, success

CONTROL_HZ = 1.0 / (SUBSTEPS * PHYSICS_TIMESTEP)  # 20 Hz of sim time per env step
IMAGE_SIZES = (48, 64)


def _yaw_quat(yaw: float) -> np.ndarray:
    return np.array([np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2)])


class CogEnv(gym.Env):
    """WidowX 250 in a COG scene, started from a named initial condition.

    Observation: ``{"image": uint8 (S, S, 3), "state": float32 (9,)}`` (see
    `cog_core.robot.action.STATE_NAMES`). Action: the paper's 8-D action in [-1, 1].
    Reward: 1.0 while the task's success condition holds, else 0.0; no terminal states;
    episodes truncate at the condition's `max_episode_steps`. `info` carries ``lowdim``, the
    full low-dimensional state (robot state + privileged object poses, for state-based
    training in sim), ``success`` and the sub-goals.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": int(CONTROL_HZ)}

    def __init__(
        self,
        condition: str = "drawer/open",
        image_size: int = 48,
        max_episode_steps: int | None = None,
        render_mode: str | None = None,
        render_size: int = 480,
        limits: ActionLimits = ActionLimits(),
    ) -> None:
        if image_size not in IMAGE_SIZES:
            raise ValueError(f"image_size must be one of {IMAGE_SIZES}, got {image_size}")
        self.condition = C.get_condition(condition)
        self.layout: SceneLayout = SCENES[self.condition.scene]
        self.image_size = image_size
        self.render_mode = render_mode
        self.render_size = render_size
        self._max_steps_override = max_episode_steps
        self.model = mujoco.MjModel.from_xml_string(scene_xml(self.layout, offscreen_size=image_size))
        self.data = mujoco.MjData(self.model)
        self.arm = SimArm(self.model, self.data, limits)
        self._obj_qpos = self.model.joint("object").qposadr[0]
        self._has_cabinet = self.layout.cabinet is not None
        if self._has_cabinet:
            self._blk_qpos = self.model.joint("blocker").qposadr[0]
            self._bottom_qpos = self.model.joint("bottom_drawer").qposadr[0]
            self._top_qpos = self.model.joint("top_drawer").qposadr[0]
        self._renderer: mujoco.Renderer | None = None
        self._view_renderer: mujoco.Renderer | None = None
        self._t = 0
        self.observation_space = gym.spaces.Dict(
            {
                "image": gym.spaces.Box(0, 255, (image_size, image_size, 3), np.uint8),
                "state": gym.spaces.Box(-np.inf, np.inf, (STATE_DIM,), np.float32),
            }
        )
        self.action_space = gym.spaces.Box(-1.0, 1.0, (ACTION_DIM,), np.float32)

    # -- geometry helpers ---------------------------------------------------------------------
    @property
    def max_episode_steps(self) -> int:
        """Steps before truncation for the current condition."""
        return self._max_steps_override or self.condition.max_episode_steps

    @property
    def lowdim_names(self) -> tuple[str, ...]:
        """Names of the `info["lowdim"]` entries: the robot state, then the privileged object poses."""
        names: tuple[str, ...] = STATE_NAMES + ("object_x", "object_y", "object_z")
        if self._has_cabinet:
            names += ("blocker_x", "blocker_y", "blocker_z", "bottom_drawer_open", "top_drawer_open")
        return names

    def blocker_home(self) -> np.ndarray:
        """Where the blocker stands when it blocks: in the gap between the bottom handle and the drawer front."""
        cab, blk = self.layout.cabinet, self.layout.blocker
        assert cab is not None and blk is not None
        panel_y = cab.front_y - 0.008
        bar_back_y = panel_y - cab.bottom_handle_standoff + cab.handle_radius
        return np.array([cab.center_xy[0] + cab.bottom_handle_x, (panel_y + bar_back_y) / 2, blk.half_height])

    def handle_pos(self, which: str = "bottom") -> np.ndarray:
        """World position of a drawer handle's centre (privileged)."""
        return self.data.site(f"{which}_handle").xpos.copy()

    def object_pos(self) -> np.ndarray:
        """World position of the object's centre (privileged)."""
        return self.data.qpos[self._obj_qpos : self._obj_qpos + 3].copy()

    def blocker_pos(self) -> np.ndarray:
        """World position of the blocker's centre (privileged; drawer scene only)."""
        return self.data.qpos[self._blk_qpos : self._blk_qpos + 3].copy()

    def drawer_fraction(self, which: str = "bottom") -> float:
        """How far a drawer is open, 0 (closed) to 1 (fully open)."""
        cab = self.layout.cabinet
        assert cab is not None
        q = self.data.qpos[self._bottom_qpos if which == "bottom" else self._top_qpos]
        return float(q / (cab.bottom_travel if which == "bottom" else cab.top_travel))

    def scene_state(self) -> SceneState:
        """Privileged state for success checks and scripted policies."""
        st = self.arm.state()
        s = SceneState(
            ee_pos=st.ee_pos, gripper_open=st.gripper_open, gripper_opening=st.gripper_opening, object_pos=self.object_pos()
        )
        if self._has_cabinet:
            s.bottom_drawer = self.drawer_fraction("bottom")
            s.top_drawer = self.drawer_fraction("top")
            s.blocker_pos = self.blocker_pos()
            s.blocker_home = self.blocker_home()
        return s

    def privileged(self) -> dict[str, Any]:
        """Everything a scripted policy may look at (sim ground truth), as plain arrays/floats."""
        st = self.arm.state()
        out: dict[str, Any] = {
            "ee_pos": st.ee_pos,
            "gripper_open": st.gripper_open,
            "gripper_opening": st.gripper_opening,
            "object_pos": self.object_pos(),
            "object_half_height": self.layout.obj.half_size[2],
        }
        if self.layout.tray is not None:
            out["tray_center"] = np.array([*self.layout.tray.center_xy, 0.0])
        if self._has_cabinet:
            assert self.layout.blocker is not None  # the drawer scene has both
            out.update(
                blocker_pos=self.blocker_pos(),
                blocker_home=self.blocker_home(),
                blocker_half_height=self.layout.blocker.half_height,
                bottom_handle=self.handle_pos("bottom"),
                top_handle=self.handle_pos("top"),
                bottom_drawer=self.drawer_fraction("bottom"),
                top_drawer=self.drawer_fraction("top"),
            )
        return out

    # -- reset ---------------------------------------------------------------------------------
    def _set_free_body(self, adr: int, pos: np.ndarray, yaw: float) -> None:
        self.data.qpos[adr : adr + 3] = pos
        self.data.qpos[adr + 3 : adr + 7] = _yaw_quat(yaw)

    def place_object(self, pos: np.ndarray, yaw: float = 0.0) -> None:
        """Teleport the object to `pos` (base frame) at rest, e.g. out of view for a background image."""
        self._set_free_body(self._obj_qpos, np.asarray(pos, dtype=float), yaw)
        dof = self.model.joint("object").dofadr[0]
        self.data.qvel[dof : dof + 6] = 0.0
        mujoco.mj_forward(self.model, self.data)

    def _uniform(self, lo_hi: tuple[float, float]) -> float:
        return float(self.np_random.uniform(*lo_hi))

    def _place_scene(self) -> None:
        cond, lay, rng = self.condition, self.layout, self._uniform
        half_z = lay.obj.half_size[2]
        if self._has_cabinet:
            cab = lay.cabinet
            assert cab is not None
            bottom_q = rng(cond.bottom_drawer_open) * cab.bottom_travel
            self.data.qpos[self._bottom_qpos] = bottom_q
            self.data.qpos[self._top_qpos] = rng(cond.top_drawer_open) * cab.top_travel
            if cond.blocker == "blocking":
                home = self.blocker_home()
                pos = home + np.array([rng(C.BLOCKER_FRONT_JITTER_X), rng(C.BLOCKER_FRONT_JITTER_Y), 0.0])
            else:
                assert lay.blocker is not None  # the drawer scene has both
                pos = np.array([rng(C.BLOCKER_ASIDE_X), rng(C.BLOCKER_ASIDE_Y), lay.blocker.half_height])
            self._set_free_body(self._blk_qpos, pos, 0.0)
        if cond.object_place == "drawer":
            cab = lay.cabinet
            assert cab is not None
            floor_z = cab.bottom_drawer_z[0] + 0.004
            pos = np.array(
                [
                    cab.center_xy[0] + rng(C.OBJECT_IN_DRAWER_X),
                    cab.front_y - bottom_q + rng(C.OBJECT_IN_DRAWER_Y),
                    floor_z + half_z + 0.001,
                ]
            )
        else:  # on the table ("table", and "gripper" before the reset grasp picks it up)
            pos = np.array([rng(C.OBJECT_ON_TABLE_X), rng(C.OBJECT_ON_TABLE_Y), half_z + 0.001])
        self._set_free_body(self._obj_qpos, pos, rng(C.YAW))

    def _grasp_at_reset(self) -> None:
        """Pick the object up from the table with the scripted grasp (not part of the episode)."""
        rng = np.random.default_rng(int(self.np_random.integers(2**63)))
        for _ in range(C.RESET_GRASP_ATTEMPTS):
            policy = make_policy(C.RESET_GRASP_BEHAVIOUR, rng, PRIOR_PROFILES[C.RESET_GRASP_PROFILE])
            policy.reset(self.privileged())
            for _ in range(C.RESET_GRASP_MAX_STEPS):
                self.arm.apply(validate_action(policy.act(self.privileged())))
                if policy.done:
                    break
            if policy.done and policy.success(self.privileged()):
                return
            self._restart_physics()  # a missed grasp: put the object back down and try again
            self._place_scene()
            self._settle()
        raise RuntimeError(f"{self.condition.name}: the reset grasp failed {C.RESET_GRASP_ATTEMPTS} times in a row")

    def _restart_physics(self) -> None:
        mujoco.mj_resetData(self.model, self.data)
        self.arm.reset()
        mujoco.mj_forward(self.model, self.data)

    def _settle(self) -> None:
        mujoco.mj_forward(self.model, self.data)
        mujoco.mj_step(self.model, self.data, nstep=2 * SUBSTEPS)  # let contacts settle

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Start an episode; `options={"condition": name}` switches condition within the scene."""
        super().reset(seed=seed)
        if options and "condition" in options:
            cond = C.get_condition(options["condition"])
            if cond.scene != self.condition.scene:
                raise ValueError(f"condition {cond.name!r} belongs to scene {cond.scene!r}; this env runs {self.condition.scene!r}")
            self.condition = cond
        self._restart_physics()
        self._place_scene()
        self._settle()
        if self.condition.object_place == "gripper":
            self._grasp_at_reset()
        self._t = 0
        return self.observation(), self.info()

    # -- step ----------------------------------------------------------------------------------
    def step(self, action):
        """Apply one 8-D action; returns (obs, reward, terminated, truncated, info)."""
        action = validate_action(action)
        self.arm.apply(action)
        self._t += 1
        info = self.info()
        reward = 1.0 if info["success"] else 0.0
        return self.observation(), reward, False, self._t >= self.max_episode_steps, info

    # -- observations ----------------------------------------------------------------------------
    def _render(self, size: int) -> np.ndarray:
        if size == self.image_size:
            if self._renderer is None:
                self._renderer = mujoco.Renderer(self.model, size, size)
            renderer = self._renderer
        else:
            if self._view_renderer is None or self._view_renderer.width != size:
                if self._view_renderer is not None:
                    self._view_renderer.close()
                gl = self.model.vis.global_
                old = (gl.offwidth, gl.offheight)
                gl.offwidth = gl.offheight = size
                self._view_renderer = mujoco.Renderer(self.model, size, size)
                gl.offwidth, gl.offheight = old
            renderer = self._view_renderer
        renderer.update_scene(self.data, camera="obs")
        return renderer.render()

    def observation(self) -> dict[str, np.ndarray]:
        """The current observation (what `reset`/`step` return)."""
        return {"image": self._render(self.image_size), "state": self.arm.state().vector()}

    def lowdim(self) -> np.ndarray:
        """The full low-dimensional state named by `lowdim_names` (sim only): robot state + object poses."""
        parts: list[np.ndarray | list[float]] = [self.arm.state().vector(), self.object_pos()]
        if self._has_cabinet:
            parts += [self.blocker_pos(), [self.drawer_fraction("bottom"), self.drawer_fraction("top")]]
        return np.concatenate(parts).astype(np.float32)

    def info(self) -> dict[str, Any]:
        """The current info dict (success, lowdim, sub-goals; what `reset`/`step` return)."""
        s = self.scene_state()
        info: dict[str, Any] = {
            "success": success(s, self.layout),
            "condition": self.condition.name,
            "lowdim": self.lowdim(),
            "step": self._t,
            "ik_ok": self.arm.last_ik_ok,
        }
        info.update(subgoals(s, self.layout))
        return info

    def render(self) -> np.ndarray | None:
        """A large RGB view from the observation camera (for pictures and videos)."""
        return self._render(self.render_size)

    def close(self) -> None:
        """Free the OpenGL contexts."""
        for r in (self._renderer, self._view_renderer):
            if r is not None:
                r.close()
        self._renderer = self._view_renderer = None
