"""The paper's 8-D action and the limits that every arm backend shares.

An action is ``[dx, dy, dz, droll, dpitch, dyaw, gripper, neutral]`` in [-1, 1].
Translation and rotation are scaled to per-step limits; gripper < -0.5 closes,
> 0.5 opens (in between: keep); neutral > 0.5 returns the arm to its start configuration:
the neutral pose with the gripper open, whatever the gripper dimension says (as the
original's drawer and grasp environments, `neutral_gripper_open`).
Limits are enforced here, once, for the sim, Interbotix and Gazebo backends alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ACTION_DIM = 8
ACTION_NAMES = ("dx", "dy", "dz", "droll", "dpitch", "dyaw", "gripper", "neutral")
GRIPPER_THRESHOLD = 0.5
NEUTRAL_THRESHOLD = 0.5

# Robot state vector: ee position (3, m, base frame), ee orientation quaternion (4, wxyz),
# gripper opening (1, m, distance between finger pads), gripper-open flag (1, 0/1).
STATE_NAMES = ("x", "y", "z", "qw", "qx", "qy", "qz", "gripper_opening", "gripper_open")
STATE_DIM = len(STATE_NAMES)

# Geometry the reach limit needs (from the wx250s screw model in cog_core.robot.kinematics).
SHOULDER_HEIGHT = 0.11065  # m, shoulder axis above the base
WRIST_TO_EE = 0.458325 - 0.29975  # m, wrist-angle axis to the ee point along the approach axis

# Neutral pose: gripper pointing straight down above the workspace centre, fingers
# closing along the base x axis (so the thin side of the hand faces the drawers).
# Every scripted behaviour ends here (stitching needs it).
NEUTRAL_EE_POS = np.array([0.28, 0.0, 0.20])
DOWN_ROT = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, -1.0], [-1.0, 0.0, 0.0]])  # columns: ee x -> -z, ee y -> +x
NEUTRAL_JOINTS = np.array([0.0, -0.078255, 0.099053, 0.0, 1.549998, np.pi / 2])
DOWN_QUAT = np.array([0.5, 0.5, 0.5, -0.5])  # DOWN_ROT as a unit quaternion (w, x, y, z)


class ActionError(ValueError):
    """An action that is not an 8-vector of finite numbers."""


@dataclass(frozen=True)
class ActionLimits:
    """How the normalised action maps to motion, and where the end effector may go.

    The same numbers apply on every backend; the control rate differs (sim: 20 Hz sim
    time; real arm: the policy/collector node's rate, 5 Hz by default).
    """

    max_translation: float = 0.03  # m per step at |a| = 1
    max_rotation: float = 0.15  # rad per step at |a| = 1 (about the base axes)
    max_tilt: float = 0.6  # rad: the gripper stays within this angle of the neutral orientation
    workspace_low: tuple[float, float, float] = (0.17, -0.26, 0.012)
    workspace_high: tuple[float, float, float] = (0.47, 0.25, 0.25)
    max_reach: float = 0.48  # m from the shoulder axis to the wrist centre (arm fully out: 0.505)
    max_lead: float = 0.02  # m the position target may run ahead of the measured pose


@dataclass(frozen=True)
class Command:
    """What one action asks of the arm, after limits: a pose target and discrete commands."""

    target_pos: np.ndarray
    target_rot: np.ndarray
    gripper: str | None  # "open", "close" or None (keep)
    neutral: bool


def canonical_quat(quat: np.ndarray) -> np.ndarray:
    """The sign of a unit quaternion (w, x, y, z) that lies in DOWN_QUAT's hemisphere.

    q and -q are the same rotation; conversions pick either. A learner must see one vector per
    orientation, so every backend reports the sign closest to the neutral orientation (the
    ambiguity then sits 180 degrees away from it, far outside the tilt limit).
    """
    q = np.asarray(quat, dtype=float)
    return -q if float(q @ DOWN_QUAT) < 0.0 else q.copy()


def validate_action(action: np.ndarray | list[float]) -> np.ndarray:
    """Return `action` as a float64 (8,) array clipped to [-1, 1]; raise ActionError if malformed."""
    a = np.asarray(action, dtype=np.float64)
    if a.shape != (ACTION_DIM,):
        raise ActionError(
            f"action must have shape ({ACTION_DIM},) = {list(ACTION_NAMES)}, got shape {a.shape}"
        )
    if not np.all(np.isfinite(a)):
        raise ActionError(f"action contains NaN or inf: {a.tolist()}")
    return np.clip(a, -1.0, 1.0)


def _axis_angle_matrix(rotvec: np.ndarray) -> np.ndarray:
    angle = float(np.linalg.norm(rotvec))
    if angle < 1e-12:
        return np.eye(3)
    k = rotvec / angle
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(angle) * kx + (1 - np.cos(angle)) * kx @ kx


def _rotation_log(rot: np.ndarray) -> np.ndarray:
    """Rotation vector of a rotation matrix."""
    cos = np.clip((np.trace(rot) - 1) / 2, -1.0, 1.0)
    angle = np.arccos(cos)
    if angle < 1e-9:
        return np.zeros(3)
    w = np.array([rot[2, 1] - rot[1, 2], rot[0, 2] - rot[2, 0], rot[1, 0] - rot[0, 1]])
    if np.pi - angle < 1e-6:  # near pi: use the symmetric part
        axis = np.sqrt(np.maximum((np.diag(rot) + 1) / 2, 0))
        return axis * angle
    return w * angle / (2 * np.sin(angle))


def tilt_from_neutral(rot: np.ndarray) -> np.ndarray:
    """Rotation vector (base frame) taking the neutral orientation to `rot`."""
    return _rotation_log(rot @ DOWN_ROT.T)


def clip_to_reach(pos: np.ndarray, rot: np.ndarray, limits: ActionLimits) -> np.ndarray:
    """Pull `pos` toward the base (horizontally) until the wrist centre is within reach."""
    wrist = pos - rot[:, 0] * WRIST_TO_EE
    rel = wrist - np.array([0.0, 0.0, SHOULDER_HEIGHT])
    dist = float(np.linalg.norm(rel))
    if dist <= limits.max_reach:
        return pos
    horiz = float(np.hypot(rel[0], rel[1]))
    allowed = np.sqrt(max(limits.max_reach**2 - rel[2] ** 2, 0.0))
    scale = allowed / horiz if horiz > 1e-9 else 0.0
    return pos + np.array([rel[0] * (scale - 1), rel[1] * (scale - 1), 0.0])


def command_from_action(
    action: np.ndarray, ref_pos: np.ndarray, ref_rot: np.ndarray, limits: ActionLimits = ActionLimits()
) -> Command:
    """Turn an action and the reference ee pose into a limited pose target and commands.

    The reference is the measured pose, or the previous target while the arm tracks it
    (see `reference_pose`). The target stays in the workspace box, within reach of the
    arm with the gripper pointing down, and within `max_tilt` of the neutral orientation.
    """
    a = validate_action(action)
    delta = _axis_angle_matrix(a[3:6] * limits.max_rotation)
    rotvec = tilt_from_neutral(delta @ np.asarray(ref_rot))
    angle = float(np.linalg.norm(rotvec))
    if angle > limits.max_tilt:
        rotvec *= limits.max_tilt / angle
    target_rot = _axis_angle_matrix(rotvec) @ DOWN_ROT
    target_pos = np.clip(
        np.asarray(ref_pos) + a[:3] * limits.max_translation, limits.workspace_low, limits.workspace_high
    )
    target_pos = clip_to_reach(target_pos, target_rot, limits)
    gripper = "close" if a[6] < -GRIPPER_THRESHOLD else "open" if a[6] > GRIPPER_THRESHOLD else None
    neutral = bool(a[7] > NEUTRAL_THRESHOLD)
    if neutral:
        gripper = "open"  # the start configuration has the gripper open
    return Command(target_pos=target_pos, target_rot=target_rot, gripper=gripper, neutral=neutral)


def reference_pose(
    measured_pos: np.ndarray,
    measured_rot: np.ndarray,
    last_target: tuple[np.ndarray, np.ndarray] | None,
    limits: ActionLimits = ActionLimits(),
) -> tuple[np.ndarray, np.ndarray]:
    """The pose the next delta applies to: the last target while the arm tracks it, else the measured pose.

    Chaining targets removes the slow drift of measured-pose deltas; falling back to the
    measured pose when blocked (contact, unreachable) keeps forces bounded.
    """
    if last_target is None:
        return measured_pos, measured_rot
    target_pos, target_rot = last_target
    if np.linalg.norm(target_pos - measured_pos) > limits.max_lead:
        return measured_pos, measured_rot
    return target_pos, target_rot
