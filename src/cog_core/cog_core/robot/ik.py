"""IK for the wx250s: warm-started damped least squares on the arm-only MuJoCo model.

Shared by the simulated arm and the real-arm backends (through `cog_core.robot.delta_ee`).
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from cog_core.robot.arm_mjcf import arm_only_xml
from cog_core.robot.kinematics import JOINT_LOWER, JOINT_UPPER, NUM_JOINTS


@dataclass
class IKResult:
    """Outcome of an IK solve: joints, whether they reach the target, and the residuals."""

    joints: np.ndarray
    success: bool
    pos_error: float  # metres
    rot_error: float  # radians


class ArmKinematics:
    """FK and warm-started damped-least-squares IK for the wx250s on an arm-only MuJoCo model."""

    def __init__(self) -> None:
        self.model = mujoco.MjModel.from_xml_string(arm_only_xml())
        self.data = mujoco.MjData(self.model)
        self._site = self.model.site("ee").id
        self._jac_p = np.zeros((3, self.model.nv))
        self._jac_r = np.zeros((3, self.model.nv))

    def fk(self, joints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(position (3,), rotation matrix (3, 3)) of the end effector for `joints`."""
        self.data.qpos[:NUM_JOINTS] = joints
        mujoco.mj_kinematics(self.model, self.data)
        return self.data.site_xpos[self._site].copy(), self.data.site_xmat[self._site].reshape(3, 3).copy()

    def ik(
        self,
        target_pos: np.ndarray,
        target_rot: np.ndarray,
        seed: np.ndarray,
        iterations: int = 20,
        pos_tol: float = 1e-3,
        rot_tol: float = 1e-2,
        damping: float = 1e-3,
    ) -> IKResult:
        """Joints reaching (target_pos, target_rot), warm-started from `seed`, within joint limits."""
        m, d = self.model, self.data
        q = np.clip(np.asarray(seed, dtype=float).copy(), JOINT_LOWER, JOINT_UPPER)
        err = np.zeros(6)
        quat_cur = np.zeros(4)
        quat_tgt = np.zeros(4)
        quat_err = np.zeros(4)
        mujoco.mju_mat2Quat(quat_tgt, np.asarray(target_rot, dtype=float).reshape(9))
        pos_err = rot_err = np.inf
        for _ in range(iterations):
            d.qpos[:NUM_JOINTS] = q
            mujoco.mj_kinematics(m, d)
            mujoco.mj_comPos(m, d)
            err[:3] = target_pos - d.site_xpos[self._site]
            mujoco.mju_mat2Quat(quat_cur, d.site_xmat[self._site])
            mujoco.mju_negQuat(quat_err, quat_cur)
            mujoco.mju_mulQuat(quat_err, quat_tgt, quat_err)
            mujoco.mju_quat2Vel(err[3:], quat_err, 1.0)
            pos_err = float(np.linalg.norm(err[:3]))
            rot_err = float(np.linalg.norm(err[3:]))
            if pos_err < pos_tol and rot_err < rot_tol:
                break
            mujoco.mj_jacSite(m, d, self._jac_p, self._jac_r, self._site)
            jac = np.vstack([self._jac_p[:, :NUM_JOINTS], self._jac_r[:, :NUM_JOINTS]])
            dq = jac.T @ np.linalg.solve(jac @ jac.T + damping * np.eye(6), err)
            q = np.clip(q + dq, JOINT_LOWER, JOINT_UPPER)
        return IKResult(joints=q, success=bool(pos_err < pos_tol and rot_err < rot_tol), pos_error=pos_err, rot_error=rot_err)
