"""Delta end-effector control shared by every arm backend: 8-D action -> joint targets.

The sim, Interbotix and Gazebo backends all call `DeltaEEController.step` with the
measured joint angles; it applies the limits in `cog_core.robot.action`, runs IK warm-started
from the measured joints, and refuses (returns no joint targets) when the target is
unreachable or would make the arm jump, so a bad command is never sent.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cog_core.robot.action import NEUTRAL_JOINTS, ActionLimits, command_from_action, reference_pose
from cog_core.robot.ik import ArmKinematics
from cog_core.robot.kinematics import JOINT_LOWER, JOINT_UPPER

IK_POS_TOLERANCE = 0.01  # m: a solve within this of the target is sent
IK_ROT_TOLERANCE = 0.1  # rad
MAX_JOINT_STEP = 0.6  # rad: no joint moves further than this in one ordinary step


@dataclass
class JointCommand:
    """What a backend should do for one action."""

    joints: np.ndarray | None  # joint targets to send, or None: hold the last good ones
    gripper: str | None  # "open", "close" or None (keep)
    neutral: bool  # this is a move-to-neutral (backends may move slower / block)
    reason: str = ""  # why `joints` is None


class DeltaEEController:
    """Turns actions into safe joint targets with the shared kinematics and limits."""

    def __init__(self, limits: ActionLimits = ActionLimits(), kinematics: ArmKinematics | None = None) -> None:
        self.limits = limits
        self.kinematics = kinematics or ArmKinematics()
        self._last_target: tuple[np.ndarray, np.ndarray] | None = None

    def reset(self) -> None:
        """Forget the last target (after a reset or any motion not made by `step`)."""
        self._last_target = None

    def step(self, action: np.ndarray, measured_joints: np.ndarray) -> JointCommand:
        """Joint targets for `action` from the measured joints (raises ActionError on a malformed action)."""
        measured_joints = np.asarray(measured_joints, dtype=float)
        pos, rot = self.kinematics.fk(measured_joints)
        ref = reference_pose(pos, rot, self._last_target, self.limits)
        cmd = command_from_action(action, *ref, self.limits)
        if cmd.neutral:
            self._last_target = None
            return JointCommand(NEUTRAL_JOINTS.copy(), cmd.gripper, neutral=True)
        result = self.kinematics.ik(cmd.target_pos, cmd.target_rot, seed=measured_joints, iterations=8)
        reason = ""
        if not (result.pos_error < IK_POS_TOLERANCE and result.rot_error < IK_ROT_TOLERANCE):
            reason = f"target unreachable (IK residual {result.pos_error * 100:.1f} cm, {result.rot_error:.2f} rad)"
        elif np.max(np.abs(result.joints - measured_joints)) > MAX_JOINT_STEP:
            reason = f"IK solution jumps {np.max(np.abs(result.joints - measured_joints)):.2f} rad in one step"
        elif np.any(result.joints < JOINT_LOWER) or np.any(result.joints > JOINT_UPPER):
            reason = "IK solution outside the joint limits"
        if reason:
            self._last_target = None  # re-anchor on the measured pose next time
            return JointCommand(None, cmd.gripper, neutral=False, reason=reason)
        self._last_target = (cmd.target_pos, cmd.target_rot)
        return JointCommand(result.joints, cmd.gripper, neutral=False)
