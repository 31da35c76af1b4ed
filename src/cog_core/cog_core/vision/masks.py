"""Image masks built from 3-D geometry: the workspace on the table and the robot arm to exclude."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from cog_core.vision.camera import CameraModel


def workspace_mask(camera: CameraModel, bounds: tuple[float, float, float, float], z_range: tuple[float, float],
                   shape: tuple[int, int] | None = None) -> np.ndarray:
    """Boolean image mask of the box x_min..x_max, y_min..y_max, z_range (base frame) as seen by the camera."""
    x0, x1, y0, y1 = bounds
    h, w = shape if shape is not None else (camera.intrinsics.height, camera.intrinsics.width)
    # sample the box edges densely so lens distortion bends them correctly
    s = np.linspace(0.0, 1.0, 24)
    pts = []
    for z in z_range:
        pts += [np.column_stack([x0 + (x1 - x0) * s, np.full_like(s, y0), np.full_like(s, z)])]
        pts += [np.column_stack([np.full_like(s, x1), y0 + (y1 - y0) * s, np.full_like(s, z)])]
        pts += [np.column_stack([x1 - (x1 - x0) * s, np.full_like(s, y1), np.full_like(s, z)])]
        pts += [np.column_stack([np.full_like(s, x0), y1 - (y1 - y0) * s, np.full_like(s, z)])]
    uv, depth = camera.project(np.concatenate(pts))
    uv = uv[depth > 0]
    mask = np.zeros((h, w), np.uint8)
    if len(uv) >= 3:
        hull = cv2.convexHull(np.round(uv).astype(np.int32).reshape(-1, 1, 2))
        cv2.fillConvexPoly(mask, hull, 1)
    return mask.astype(bool)


def capsule_mask(camera: CameraModel, segments: Any, radii: Any, margin: float = 0.02,
                 shape: tuple[int, int] | None = None) -> np.ndarray:
    """Boolean mask of 3-D capsules (segments (N, 2, 3) in base frame, radii (N,)) grown by `margin` metres.

    Each capsule is drawn as the convex hull of the projections of spheres sampled along it,
    so it is conservative (never thinner than the true silhouette plus margin).
    """
    segs = np.asarray(segments, dtype=float).reshape(-1, 2, 3)
    radii = np.broadcast_to(np.asarray(radii, dtype=float), (len(segs),))
    h, w = shape if shape is not None else (camera.intrinsics.height, camera.intrinsics.width)
    mask = np.zeros((h, w), np.uint8)
    R = camera.pose.R
    right, down = R[:, 0], R[:, 1]  # camera axes in the base frame
    ang = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    for (a, b), r in zip(segs, radii):
        rr = r + margin
        n = max(2, int(np.linalg.norm(b - a) / max(rr, 1e-3)) + 2)
        centres = a + np.linspace(0, 1, n)[:, None] * (b - a)
        # circle of radius rr perpendicular to the viewing direction around each centre
        ring = (np.cos(ang)[:, None] * right + np.sin(ang)[:, None] * down) * rr
        pts = (centres[:, None, :] + ring[None, :, :]).reshape(-1, 3)
        uv, depth = camera.project(pts)
        uv = uv[depth > 0]
        if len(uv) >= 3:
            hull = cv2.convexHull(np.round(uv).astype(np.int32).reshape(-1, 1, 2))
            cv2.fillConvexPoly(mask, hull, 1)
    return mask.astype(bool)


def wx250s_arm_segments(joints: Any, gripper_length: float = 0.06) -> tuple[np.ndarray, np.ndarray]:
    """Capsules (segments (N, 2, 3), radii (N,)) covering the WidowX 250 at 6 joint angles (base frame).

    The skeleton runs base -> shoulder -> elbow -> wrist -> gripper, from the same screw model
    as `cog_core.robot.kinematics`; the radii are generous (links, motors and the open gripper).
    """
    import modern_robotics as mr

    from cog_core.robot.kinematics import SLIST, fk, joint_axis_points

    q = np.asarray(joints, dtype=float).ravel()
    axis_pts = joint_axis_points()

    def moved(point: np.ndarray, upto: int) -> np.ndarray:
        T = np.eye(4)
        for i in range(upto):
            T = T @ mr.MatrixExp6(mr.VecTose3(SLIST[:, i] * q[i]))
        return (T @ np.append(point, 1.0))[:3]

    base = np.zeros(3)
    shoulder = axis_pts[1]  # shoulder axis does not move with the waist (it lies on the waist axis)
    elbow = moved(axis_pts[2], 2)
    wrist = moved(axis_pts[4], 4)
    T_ee = fk(q)
    tip = T_ee[:3, 3]
    back = tip - T_ee[:3, 0] * gripper_length
    segments = np.array([[base, shoulder], [shoulder, elbow], [elbow, wrist], [wrist, back], [back, tip]])
    radii = np.array([0.06, 0.045, 0.04, 0.04, 0.05])
    return segments, radii
