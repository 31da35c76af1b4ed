"""The station the collector and policy nodes drive on hardware (the real arm or Gazebo); no ROS here.

A `HardwareArm` (`cog_core.robot.hardware`) does the motion; the node supplies images (camera
topic) and object positions (localizer). There is no reward signal on hardware: reward 0,
success False; a safety halt ends the episode (``terminated``) with the reason in ``info``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cog_core.robot.hardware import HardwareArm
from cog_core.stations.base import Info, Obs, StepResult
from cog_core.vision.imagemsg import square_resize


@dataclass
class HardwareStation:
    """The station the nodes drive on hardware: the arm, the newest camera frame, the localizer's estimate."""

    arm: HardwareArm
    image: Callable[[], np.ndarray | None]  # newest RGB frame (any size), e.g. from camera/image_raw
    object_position: Callable[[], np.ndarray | None] = lambda: None  # e.g. /cog/object
    image_size: int = 48
    object_half_height: float = 0.02
    extra_privileged: dict[str, Any] = field(default_factory=dict)  # e.g. measured drawer/tray positions
    name: str = "hardware"
    condition: str = "real"

    def observation(self) -> Obs:
        """The newest frame centre-cropped and resized to `image_size`, and the state vector."""
        frame = self.image()
        if frame is None:
            raise RuntimeError("no camera image yet; is the camera node publishing camera/image_raw?")
        return {"image": square_resize(frame, self.image_size), "state": self.arm.state().vector()}

    def info(self) -> Info:
        """No success detector on hardware: success False; lowdim is the robot state; halt reason if any."""
        return {"success": False, "lowdim": self.arm.state().vector(), "halted": self.arm.halt_reason,
                "refused": self.arm.last_reason}

    def reset(self, condition: str | None = None, seed: int | None = None) -> tuple[Obs, Info]:
        """Slow move to neutral with the gripper open (the scene is reset by hand); returns (obs, info)."""
        self.arm.reset(neutral=True)
        return self.observation(), self.info()

    def step(self, action: np.ndarray) -> StepResult:
        """Apply one action; terminated when the safety monitor halted the arm."""
        self.arm.apply(action)
        return self.observation(), 0.0, self.arm.halted, False, self.info()

    def privileged(self) -> dict[str, Any]:
        """What scripted behaviours see on hardware: measured arm state + the localizer's object estimate."""
        st = self.arm.state()
        out: dict[str, Any] = {"ee_pos": st.ee_pos, "gripper_open": st.gripper_open,
                               "gripper_opening": st.gripper_opening,
                               "object_half_height": self.object_half_height, **self.extra_privileged}
        pos = self.object_position()
        if pos is not None:
            out["object_pos"] = np.asarray(pos, dtype=float)
        return out

    def close(self) -> None:
        """Sleep pose and torque off."""
        self.arm.close()
