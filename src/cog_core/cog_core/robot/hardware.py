"""A hardware arm (real Interbotix arm or Gazebo) behind `ArmBackend`; no ROS here.

The ROS backends (`cog_collect.interbotix_backend`, `cog_collect.gazebo_backend`) only
implement `ArmDriver`: read the measured joints / finger / efforts, send joint targets, open or
close the gripper, go to sleep, torque off. Everything that decides *what* to send lives here:

- `HardwareArm.apply`: action -> `DeltaEEController` (the shared limits and IK, warm-started
  from the measured joints) -> joint targets with a short moving time; a refused target
  (unreachable / joint jump / joint limit) sends nothing; neutral is a slow joint move.
- `SafetyMonitor`: halts the episode on an effort over its limit, a driver-reported error,
  missing joint states, or the arm not following its targets (blocked); once halted, `apply`
  sends nothing until `reset`.
- `HardwareArm.close`: sleep pose, then torque off.

The station the nodes drive around a `HardwareArm` is `cog_core.stations.hardware.HardwareStation`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import mujoco
import numpy as np

from cog_core.robot.state import RobotState
from cog_core.robot.delta_ee import DeltaEEController
from cog_core.robot.action import NEUTRAL_JOINTS
from cog_core.robot.kinematics import NUM_JOINTS, SLEEP_JOINTS


class ArmDriver(Protocol):
    """What a hardware backend must provide (all joint vectors in `kinematics.JOINT_NAMES` order)."""

    def joints(self) -> np.ndarray | None:
        """Measured arm joints (6,), or None when no joint state has arrived."""

    def finger_opening(self) -> float | None:
        """Distance between the finger pads (m), or None when unknown."""

    def efforts(self) -> np.ndarray | None:
        """Measured arm joint efforts (6,) in the driver's unit, or None when not reported."""

    def error(self) -> str | None:
        """A driver-side error (e.g. a motor fault) or None."""

    def send_joints(self, joints: np.ndarray, moving_time: float, accel_time: float) -> bool:
        """Command arm joint targets without blocking; False when the driver refused them."""

    def set_gripper(self, open_: bool) -> None:
        """Open (True) or close (False) the gripper without blocking."""

    def sleep(self, moving_time: float) -> None:
        """Move to the sleep pose (blocking)."""

    def torque_off(self) -> None:
        """Remove torque from the arm (it will fall onto its rest if not in the sleep pose)."""


@dataclass(frozen=True)
class RealArmSettings:
    """Timing and safety thresholds of a hardware arm."""

    rate_hz: float = 5.0  # control rate; a step's moving time is one period
    accel_fraction: float = 0.3  # accel time as a fraction of the moving time (Interbotix: <= 0.5)
    neutral_moving_time: float = 2.0  # s, slow joint move to neutral / on reset
    sleep_moving_time: float = 2.0  # s
    effort_limits: tuple[float, ...] = (1500.0,) * NUM_JOINTS  # |effort| above this halts (xs_sdk reports mA)
    tracking_tolerance: float = 0.35  # rad: measured joints this far from the last target ...
    tracking_steps: int = 3  # ... for this many consecutive steps halts (the arm is blocked)
    max_joint_state_age_steps: int = 2  # steps without a joint state before halting

    def __post_init__(self) -> None:
        if self.rate_hz <= 0:
            raise ValueError(f"rate_hz must be > 0, got {self.rate_hz}")
        if not 0.0 < self.accel_fraction <= 0.5:
            raise ValueError(f"accel_fraction must be in (0, 0.5] (Interbotix needs accel <= moving/2), got {self.accel_fraction}")
        if len(self.effort_limits) != NUM_JOINTS:
            raise ValueError(f"effort_limits needs {NUM_JOINTS} values, got {len(self.effort_limits)}")

    @property
    def moving_time(self) -> float:
        """Seconds each ordinary step's move takes (one control period)."""
        return 1.0 / self.rate_hz


class SafetyMonitor:
    """Decides whether the episode must halt, from efforts, driver errors and tracking."""

    def __init__(self, settings: RealArmSettings) -> None:
        self.settings = settings
        self.reason: str | None = None
        self._off_track = 0
        self._no_state = 0

    def reset(self) -> None:
        """Clear a halt (call only after the cause is dealt with)."""
        self.reason, self._off_track, self._no_state = None, 0, 0

    @property
    def halted(self) -> bool:
        """True once any condition tripped."""
        return self.reason is not None

    def check(self, joints: np.ndarray | None, efforts: np.ndarray | None, error: str | None,
              last_target: np.ndarray | None) -> str | None:
        """Update with one step's readings; returns the halt reason (sticky) or None."""
        if self.reason is not None:
            return self.reason
        s = self.settings
        if error:
            self.reason = f"driver error: {error}"
        elif joints is None:
            self._no_state += 1
            if self._no_state > s.max_joint_state_age_steps:
                self.reason = f"no joint states for {self._no_state} steps"
        else:
            self._no_state = 0
            if efforts is not None:
                over = np.abs(np.asarray(efforts, float)) > np.asarray(s.effort_limits)
                if np.any(over):
                    j = int(np.argmax(over))
                    self.reason = f"effort limit: joint {j} |{float(efforts[j]):.0f}| > {s.effort_limits[j]:.0f}"
            if self.reason is None and last_target is not None:
                if np.max(np.abs(np.asarray(joints) - last_target)) > s.tracking_tolerance:
                    self._off_track += 1
                    if self._off_track >= s.tracking_steps:
                        self.reason = (f"arm not following its target for {self._off_track} steps "
                                       f"(> {s.tracking_tolerance} rad): blocked or collided")
                else:
                    self._off_track = 0
        return self.reason


class HardwareArm:
    """`ArmBackend` over an `ArmDriver`: shared limits + IK, never a bad command, halts safely."""

    def __init__(self, driver: ArmDriver, settings: RealArmSettings = RealArmSettings(),
                 controller: DeltaEEController | None = None) -> None:
        self.driver = driver
        self.settings = settings
        self.controller = controller or DeltaEEController()
        self.monitor = SafetyMonitor(settings)
        self.gripper_open = True
        self.last_target: np.ndarray | None = None
        self.last_reason = ""  # why the last action sent no joint targets ("" = it sent some)
        self.refused = 0  # actions whose joint targets were refused

    @property
    def halted(self) -> bool:
        """True when the safety monitor stopped the episode."""
        return self.monitor.halted

    @property
    def halt_reason(self) -> str | None:
        """Why the arm halted, or None."""
        return self.monitor.reason

    def _measured(self) -> np.ndarray:
        q = self.driver.joints()
        if q is None:
            raise RuntimeError("no joint states from the arm yet; is the driver running (xsarm_control / Gazebo)?")
        return np.asarray(q, dtype=float)

    def _move_neutral(self) -> None:
        t = self.settings.neutral_moving_time
        if self.driver.send_joints(NEUTRAL_JOINTS.copy(), t, t * self.settings.accel_fraction):
            self.last_target = NEUTRAL_JOINTS.copy()

    def reset(self, neutral: bool = True) -> None:
        """Clear a halt, open the gripper and (by default) move slowly to neutral."""
        self.monitor.reset()
        self.controller.reset()
        self.last_target = None
        self.driver.set_gripper(True)
        self.gripper_open = True
        if neutral:
            self._move_neutral()

    def apply(self, action: np.ndarray) -> None:
        """Execute one 8-D action; sends nothing when halted or when the target is refused."""
        q = self.driver.joints()
        q = None if q is None else np.asarray(q, dtype=float)
        if self.monitor.check(q, self.driver.efforts(), self.driver.error(), self.last_target):
            self.last_reason = f"halted: {self.monitor.reason}"
            return
        if q is None:
            self.last_reason = "no joint state"
            return
        cmd = self.controller.step(action, q)  # raises ActionError on a malformed action
        if cmd.gripper is not None and (cmd.gripper == "open") != self.gripper_open:
            self.driver.set_gripper(cmd.gripper == "open")
            self.gripper_open = cmd.gripper == "open"
        if cmd.neutral:
            self._move_neutral()
            self.last_reason = ""
            return
        if cmd.joints is None:
            self.refused += 1
            self.last_reason = cmd.reason
            return
        t = self.settings.moving_time
        if self.driver.send_joints(cmd.joints, t, t * self.settings.accel_fraction):
            self.last_target = np.asarray(cmd.joints, dtype=float).copy()
            self.last_reason = ""
        else:
            self.refused += 1
            self.controller.reset()
            self.last_reason = "driver refused the joint targets (its own limit check)"

    def state(self) -> RobotState:
        """Measured state: FK of the measured joints, finger opening, last gripper command."""
        q = self._measured()
        pos, rot = self.controller.kinematics.fk(q)
        opening = self.driver.finger_opening()
        return RobotState(pos, _quat_wxyz(rot), float(opening) if opening is not None else float("nan"),
                          self.gripper_open, q)

    def close(self) -> None:
        """Leave the arm safe: sleep pose, then torque off."""
        try:
            self.driver.sleep(self.settings.sleep_moving_time)
        finally:
            self.driver.torque_off()


def _quat_wxyz(rot: np.ndarray) -> np.ndarray:
    """Unit quaternion (w, x, y, z) of a rotation matrix."""
    q = np.zeros(4)
    mujoco.mju_mat2Quat(q, np.ascontiguousarray(rot, dtype=np.float64).reshape(9))
    return q


def sleep_joints() -> np.ndarray:
    """The wx250s sleep pose (rad), for drivers that move there with their own commands."""
    return SLEEP_JOINTS.copy()
