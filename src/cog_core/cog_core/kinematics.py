"""WidowX 250 6-DOF (wx250s) kinematics: the Interbotix screw model, FK and IK.

The space-frame screw axes and home pose are Interbotix's own (they drive the real arm
through `modern_robotics`). The MuJoCo model in `cog_core.sim.mjcf` is built from the
same numbers, and `ArmKinematics` runs damped-least-squares IK on an arm-only MuJoCo
model, so the simulator and the real-arm backends share one kinematic description.
"""

from __future__ import annotations

from dataclasses import dataclass

import modern_robotics as mr
import mujoco
import numpy as np

JOINT_NAMES = ("waist", "shoulder", "elbow", "forearm_roll", "wrist_angle", "wrist_rotate")
NUM_JOINTS = len(JOINT_NAMES)

# Screw axes in the space frame, one row per joint: (w, v) with v = -w x q.
SLIST = np.array(
    [
        [0.0, 0.0, 1.0, 0.0, 0.0, 0.0],
        [0.0, 1.0, 0.0, -0.11065, 0.0, 0.0],
        [0.0, 1.0, 0.0, -0.36065, 0.0, 0.04975],
        [1.0, 0.0, 0.0, 0.0, 0.36065, 0.0],
        [0.0, 1.0, 0.0, -0.36065, 0.0, 0.29975],
        [1.0, 0.0, 0.0, 0.0, 0.36065, 0.0],
    ]
).T  # modern_robotics wants one screw per column

# End-effector (ee_gripper_link) pose at zero joint angles.
HOME_M = np.array(
    [
        [1.0, 0.0, 0.0, 0.458325],
        [0.0, 1.0, 0.0, 0.0],
        [0.0, 0.0, 1.0, 0.36065],
        [0.0, 0.0, 0.0, 1.0],
    ]
)

# Joint limits (rad) of the wx250s, from the Interbotix motor configs.
JOINT_LOWER = np.deg2rad([-180.0, -108.0, -123.0, -180.0, -100.0, -180.0])
JOINT_UPPER = np.deg2rad([180.0, 114.0, 92.0, 180.0, 123.0, 180.0])

SLEEP_JOINTS = np.array([0.0, -1.80, 1.55, 0.0, 0.8, 0.0])


def joint_axis_points() -> np.ndarray:
    """One point on each joint axis (6, 3), recovered from the screw axes (q = w x v)."""
    points = []
    for w, v in zip(SLIST[:3].T, SLIST[3:].T):
        points.append(np.cross(w, v))  # for unit w, w x v = q - (w.q) w: a point on the axis
    return np.array(points)


def fk(joints: np.ndarray) -> np.ndarray:
    """End-effector pose (4x4, base frame) for 6 joint angles, via modern_robotics."""
    return mr.FKinSpace(HOME_M, SLIST, np.asarray(joints, dtype=float))


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
        from cog_core.sim.mjcf import arm_only_xml

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
