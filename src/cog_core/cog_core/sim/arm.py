"""The simulated arm: the shared delta-ee controller driving joint position actuators in MuJoCo."""

from __future__ import annotations

import mujoco
import numpy as np

from cog_core.robot.state import RobotState
from cog_core.robot.delta_ee import DeltaEEController
from cog_core.robot.action import NEUTRAL_JOINTS, ActionLimits
from cog_core.robot.kinematics import JOINT_NAMES
from cog_core.sim.mjcf import GRIPPER_CLOSED_TARGET, GRIPPER_OPEN_TARGET, SUBSTEPS

NEUTRAL_SUBSTEPS = 6 * SUBSTEPS  # a move-to-neutral step takes 6 control periods of sim time


class SimArm:
    """Drives the wx250s in a MuJoCo scene; implements `cog_core.robot.state.ArmBackend`."""

    def __init__(self, model: mujoco.MjModel, data: mujoco.MjData, limits: ActionLimits = ActionLimits()) -> None:
        self.model, self.data = model, data
        self.controller = DeltaEEController(limits)
        self._qpos = np.array([model.joint(n).qposadr[0] for n in JOINT_NAMES])
        self._qvel = np.array([model.joint(n).dofadr[0] for n in JOINT_NAMES])
        self._fingers_qpos = np.array([model.joint(n).qposadr[0] for n in ("left_finger", "right_finger")])
        self._arm_act = np.array([model.actuator(n).id for n in JOINT_NAMES])
        self._finger_act = np.array([model.actuator(n).id for n in ("left_finger", "right_finger")])
        self._site = model.site("ee").id
        self.gripper_open = True
        self.last_ik_ok = True

    # -- state -------------------------------------------------------------------------------
    def joints(self) -> np.ndarray:
        """Measured arm joint angles (6,)."""
        return self.data.qpos[self._qpos].copy()

    def ee_pose(self) -> tuple[np.ndarray, np.ndarray]:
        """(position, rotation matrix) of the end effector."""
        return self.data.site_xpos[self._site].copy(), self.data.site_xmat[self._site].reshape(3, 3).copy()

    def state(self) -> RobotState:
        """Current robot state."""
        pos, rot = self.ee_pose()
        quat = np.zeros(4)
        mujoco.mju_mat2Quat(quat, rot.reshape(9))
        return RobotState(
            ee_pos=pos,
            ee_quat=quat,
            gripper_opening=float(self.data.qpos[self._fingers_qpos].sum()),
            gripper_open=self.gripper_open,
            joints=self.joints(),
        )

    # -- commands ----------------------------------------------------------------------------
    def set_joints(self, joints: np.ndarray, gripper_open: bool = True, finger_pos: float | None = None) -> None:
        """Teleport the arm (reset only): joints, actuator targets and finger positions."""
        self.data.qpos[self._qpos] = joints
        self.data.qvel[self._qvel] = 0.0
        self.data.ctrl[self._arm_act] = joints
        self.gripper_open = gripper_open
        target = GRIPPER_OPEN_TARGET if gripper_open else GRIPPER_CLOSED_TARGET
        self.data.qpos[self._fingers_qpos] = target if finger_pos is None else finger_pos
        self.data.ctrl[self._finger_act] = target
        self.controller.reset()

    def reset(self, neutral: bool = True) -> None:
        """Teleport to the neutral pose with the gripper open (call mj_forward after)."""
        self.set_joints(NEUTRAL_JOINTS, gripper_open=True)

    def _set_gripper(self, command: str | None) -> None:
        if command is not None:
            self.gripper_open = command == "open"
        self.data.ctrl[self._finger_act] = GRIPPER_OPEN_TARGET if self.gripper_open else GRIPPER_CLOSED_TARGET

    def apply(self, action: np.ndarray) -> None:
        """Execute one 8-D action and advance the physics by one control period."""
        cmd = self.controller.step(action, self.joints())
        self._set_gripper(cmd.gripper)
        if cmd.neutral:
            start = self.data.ctrl[self._arm_act].copy()
            chunks = 12
            for i in range(1, chunks + 1):
                self.data.ctrl[self._arm_act] = start + (NEUTRAL_JOINTS - start) * i / chunks
                mujoco.mj_step(self.model, self.data, nstep=NEUTRAL_SUBSTEPS // chunks)
            return
        self.last_ik_ok = cmd.joints is not None
        if cmd.joints is not None:  # else hold the last good joint targets
            self.data.ctrl[self._arm_act] = cmd.joints
        mujoco.mj_step(self.model, self.data, nstep=SUBSTEPS)

    def close(self) -> None:
        """Nothing to release in simulation."""
