"""The arm backend interface that the simulator, Interbotix and Gazebo backends implement."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from cog_core.robot.action import STATE_DIM, canonical_quat


@dataclass
class RobotState:
    """Robot state as every backend reports it (base frame)."""

    ee_pos: np.ndarray  # (3,) m
    ee_quat: np.ndarray  # (4,) w, x, y, z; stored in the neutral orientation's hemisphere
    gripper_opening: float  # m between the finger pads
    gripper_open: bool  # last gripper command was "open"
    joints: np.ndarray  # (6,) rad

    def __post_init__(self) -> None:
        self.ee_quat = canonical_quat(self.ee_quat)

    def vector(self) -> np.ndarray:
        """The float32 state vector laid out as `control.STATE_NAMES`."""
        v = np.concatenate([self.ee_pos, self.ee_quat, [self.gripper_opening, float(self.gripper_open)]])
        assert v.shape == (STATE_DIM,)
        return v.astype(np.float32)


class ArmBackend(Protocol):
    """One protocol, three implementations (sim, interbotix, gazebo)."""

    def reset(self, neutral: bool = True) -> None:
        """Move to the neutral pose with the gripper open."""

    def apply(self, action: np.ndarray) -> None:
        """Execute one 8-D action (limits applied by `cog_core.robot.action`)."""

    def state(self) -> RobotState:
        """Current robot state."""

    def close(self) -> None:
        """Release resources; leave the arm safe."""
