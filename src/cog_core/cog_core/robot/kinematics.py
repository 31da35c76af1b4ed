"""WidowX 250 6-DOF (wx250s) kinematics: the Interbotix screw model, joint limits and FK.

The space-frame screw axes and home pose are Interbotix's own (they drive the real arm
through `modern_robotics`). The arm's MuJoCo model (`cog_core.robot.arm_mjcf`) is built from
the same numbers, and `cog_core.robot.ik` solves IK on it, so the simulator and the real-arm
backends share one kinematic description.
"""

from __future__ import annotations

import modern_robotics as mr
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
