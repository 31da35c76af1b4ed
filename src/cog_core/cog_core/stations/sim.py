"""The built-in simulator as a robot *station*: arm + scene + camera, the way ROS nodes use it.

It satisfies `cog_core.stations.base.Station` (``reset``/``step`` Gymnasium-style, ``arm``,
``privileged()``), and adds what the node publishes when the sim stands in for a robot:
``camera_image()`` / ``camera_model()`` / ``joint_state()`` (the camera topic, its CameraInfo
and pose, and ``joint_states``).

`SimStation` is the ``backend:=sim`` station: `CogEnv` instances (one per scene, built on
demand) plus a second renderer for the camera topic at any resolution, seen through the same
``obs`` camera the training images come from.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cog_core.sim import get_condition, make_env  # first: sets MUJOCO_GL's default before MuJoCo loads

import mujoco
from cog_core.robot.kinematics import JOINT_NAMES
from cog_core.sim.arm import SimArm
from cog_core.sim.env import CONTROL_HZ, CogEnv
from cog_core.stations.base import Info, Obs, StepResult
from cog_core.vision.camera import CameraModel
from cog_core.vision.synthetic import mujoco_camera_model

GRIPPER_JOINT_NAMES = ("left_finger", "right_finger")


class SimStation:
    """MuJoCo `CogEnv`(s) behind the station interface; one scene active at a time."""

    name = "sim"

    def __init__(self, condition: str = "drawer/open", image_size: int = 48,
                 camera_width: int = 320, camera_height: int = 240) -> None:
        if camera_width <= 0 or camera_height <= 0:
            raise ValueError(f"camera size must be positive, got {camera_width}x{camera_height}")
        get_condition(condition)  # validate early, with the registry's error message
        self.image_size = int(image_size)
        self.camera_size = (int(camera_width), int(camera_height))
        self._envs: dict[str, CogEnv] = {}
        self._renderers: dict[str, mujoco.Renderer] = {}
        self._steps = 0  # control steps taken, for sim_time()
        self.env = self._env_for(condition)
        self.env.reset(seed=0, options={"condition": condition})

    # -- scene management ------------------------------------------------------------------
    def _env_for(self, condition: str) -> CogEnv:
        scene = get_condition(condition).scene
        if scene not in self._envs:
            self._envs[scene] = make_env(condition, image_size=self.image_size)
        return self._envs[scene]

    @property
    def arm(self) -> SimArm:
        """The active scene's `SimArm` (an `ArmBackend`)."""
        return self.env.arm

    @property
    def condition(self) -> str:
        """The active initial condition's name."""
        return self.env.condition.name

    def reset(self, condition: str | None = None, seed: int | None = None) -> tuple[Obs, Info]:
        """Start an episode from `condition` (default: the current one); returns (obs, info)."""
        condition = condition or self.condition
        self.env = self._env_for(condition)
        return self.env.reset(seed=seed, options={"condition": condition})

    def step(self, action: np.ndarray) -> StepResult:
        """Apply one 8-D action (limits in `cog_core.robot.action`); Gymnasium 5-tuple."""
        out = self.env.step(action)
        self._steps += 1
        return out

    def sim_time(self) -> float:
        """Simulated seconds stepped since the station was made (the sim's clock: it stands still
        between steps, however long the host takes; it does not restart with episodes)."""
        return self._steps / CONTROL_HZ

    def observation(self) -> Obs:
        """The current observation (the same render and state layout as the training data)."""
        return self.env.observation()

    def info(self) -> Info:
        """Current info dict (success, lowdim, sub-goals)."""
        return self.env.info()

    def privileged(self) -> dict[str, Any]:
        """Sim ground truth for scripted behaviours."""
        return self.env.privileged()

    # -- camera ----------------------------------------------------------------------------
    def _renderer(self) -> mujoco.Renderer:
        key = self.env.condition.scene
        r = self._renderers.get(key)
        if r is None:
            w, h = self.camera_size
            gl = self.env.model.vis.global_
            old = (gl.offwidth, gl.offheight)
            gl.offwidth, gl.offheight = max(w, old[0]), max(h, old[1])
            try:
                r = mujoco.Renderer(self.env.model, h, w)
            finally:
                gl.offwidth, gl.offheight = old
            self._renderers[key] = r
        return r

    def camera_image(self) -> np.ndarray:
        """An RGB uint8 (H, W, 3) view from the observation camera at the camera-topic size."""
        r = self._renderer()
        r.update_scene(self.env.data, camera="obs")
        return r.render()

    def camera_model(self) -> CameraModel:
        """The exact pinhole model (intrinsics + pose in the base frame) of `camera_image`."""
        w, h = self.camera_size
        return mujoco_camera_model(self.env.model, self.env.data, "obs", w, h)

    def joint_state(self) -> tuple[list[str], np.ndarray]:
        """Joint names and positions: the six arm joints, then the two finger slides."""
        data, model = self.env.data, self.env.model
        names = list(JOINT_NAMES) + list(GRIPPER_JOINT_NAMES)
        q = np.array([data.qpos[model.joint(n).qposadr[0]] for n in names], dtype=float)
        return names, q

    def hide_object(self) -> np.ndarray:
        """Move the object out of the camera's view (for capturing a background); returns where it was."""
        was = self.env.object_pos()
        self.env.place_object(np.array([-1.0, 0.0, -1.0]))
        return was

    def place_object(self, pos: np.ndarray) -> None:
        """Teleport the object to `pos` (base frame), at rest."""
        self.env.place_object(pos)

    def close(self) -> None:
        """Free every renderer and env."""
        for r in self._renderers.values():
            r.close()
        self._renderers.clear()
        for env in self._envs.values():
            env.close()
        self._envs.clear()
