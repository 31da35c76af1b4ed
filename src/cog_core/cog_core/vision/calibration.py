"""Camera calibration with OpenCV: checkerboard intrinsics, extrinsics from a board or from the arm.

Board frame (used by `board_points` and board extrinsics): origin at the centre of the
inner-corner grid, x along the direction with `cols` inner corners, y along the other,
z out of the printed side. The signs are fixed by the print: the outer corner square at
(-x, +y) is black. That is unambiguous when cols + rows is odd (e.g. 9 x 6), which
`board_extrinsics` requires.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from cog_core.vision.camera import CameraIntrinsics, CameraPose


class CalibrationError(ValueError):
    """Calibration could not be done from the given data; the message says why and what to do."""


def to_gray(image: np.ndarray) -> np.ndarray:
    """Grey uint8 image from an RGB/BGR/grey array (channel order does not matter for corners)."""
    image = np.asarray(image)
    if image.ndim == 2:
        return image
    if image.ndim == 3 and image.shape[2] in (3, 4):
        return cv2.cvtColor(image[..., :3], cv2.COLOR_RGB2GRAY)
    raise CalibrationError(f"expected an image array (H, W) or (H, W, 3), got shape {image.shape}")


def board_points(cols: int, rows: int, square: float) -> np.ndarray:
    """Inner corners (rows*cols, 3) in the board frame, in OpenCV's row-major detection order."""
    xs = (np.arange(cols) - (cols - 1) / 2) * square
    ys = ((rows - 1) / 2 - np.arange(rows)) * square
    gx, gy = np.meshgrid(xs, ys)
    return np.column_stack([gx.ravel(), gy.ravel(), np.zeros(gx.size)]).astype(np.float64)


def find_board(image: np.ndarray, cols: int, rows: int) -> np.ndarray | None:
    """Sub-pixel inner-corner positions (rows*cols, 2) of a cols x rows checkerboard, or None."""
    gray = to_gray(image)
    ok, corners = cv2.findChessboardCornersSB(gray, (cols, rows), flags=cv2.CALIB_CB_NORMALIZE_IMAGE)
    if not ok:
        flags = cv2.CALIB_CB_ADAPTIVE_THRESH | cv2.CALIB_CB_NORMALIZE_IMAGE
        ok, corners = cv2.findChessboardCorners(gray, (cols, rows), flags=flags)
        if not ok:
            return None
        crit = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 50, 1e-3)
        corners = cv2.cornerSubPix(gray, corners, (5, 5), (-1, -1), crit)
    return corners.reshape(-1, 2).astype(np.float64)


@dataclass
class IntrinsicsResult:
    """Result of `calibrate_intrinsics`."""

    intrinsics: CameraIntrinsics
    rms_px: float
    per_view_rms_px: list[float]
    used: list[int]  # indices of the images whose board was found


def calibrate_intrinsics(images: Sequence[np.ndarray], cols: int, rows: int, square: float,
                         camera_name: str = "camera", fix_k3: bool = True, min_views: int = 8) -> IntrinsicsResult:
    """Camera matrix and plumb_bob distortion from views of a checkerboard at varied poses."""
    if not images:
        raise CalibrationError("no images given")
    shapes = {np.asarray(im).shape[:2] for im in images}
    if len(shapes) != 1:
        raise CalibrationError(f"all calibration images must have the same size, got {sorted(shapes)}")
    h, w = shapes.pop()
    obj = board_points(cols, rows, square).astype(np.float32)
    obj_pts, img_pts, used = [], [], []
    for i, im in enumerate(images):
        c = find_board(im, cols, rows)
        if c is not None:
            obj_pts.append(obj)
            img_pts.append(c.astype(np.float32).reshape(-1, 1, 2))
            used.append(i)
    if len(used) < min_views:
        raise CalibrationError(
            f"found the {cols}x{rows} board in only {len(used)} of {len(images)} images; need at least "
            f"{min_views}. Check --board (inner corners, e.g. 9x6 for a 10x7-square board) and take more "
            "views with the board tilted and at different places in the image"
        )
    flags = cv2.CALIB_FIX_K3 if fix_k3 else 0
    rms, K, dist, rvecs, tvecs = cv2.calibrateCamera(obj_pts, img_pts, (w, h), None, None, flags=flags)
    per_view = []
    for o, p, rv, tv in zip(obj_pts, img_pts, rvecs, tvecs):
        proj, _ = cv2.projectPoints(o, rv, tv, K, dist)
        per_view.append(float(np.sqrt(np.mean(np.sum((proj - p) ** 2, axis=2)))))
    intr = CameraIntrinsics(width=w, height=h, K=K, dist=dist.ravel()[:5], name=camera_name)
    return IntrinsicsResult(intr, float(rms), per_view, used)


# --------------------------------------------------------------------------- extrinsics


def _sample_gray(gray: np.ndarray, H: np.ndarray, grid_xy: tuple[float, float], half: float = 0.25) -> float:
    """Mean grey level of a small patch around board grid coordinates (col, row) mapped through H."""
    s = np.linspace(-half, half, 5)
    gx, gy = np.meshgrid(grid_xy[0] + s, grid_xy[1] + s)
    pts = np.column_stack([gx.ravel(), gy.ravel()]).reshape(-1, 1, 2).astype(np.float64)
    uv = cv2.perspectiveTransform(pts, H).reshape(-1, 2)
    h, w = gray.shape
    u = np.clip(np.round(uv[:, 0]).astype(int), 0, w - 1)
    v = np.clip(np.round(uv[:, 1]).astype(int), 0, h - 1)
    return float(gray[v, u].mean())


def orient_board_corners(image: np.ndarray, corners: np.ndarray, cols: int, rows: int) -> np.ndarray:
    """Reorder detected corners so they match `board_points` (corner 0 next to the black outer square).

    OpenCV may return the grid starting at either end; the print's colours decide: with
    cols + rows odd, the outer corner squares at the two ends of a diagonal differ in colour.
    """
    if (cols + rows) % 2 == 0:
        raise CalibrationError(
            f"a {cols}x{rows} board looks the same turned by 180 degrees, so its pose on the table is "
            "ambiguous; use a board whose inner-corner counts are one odd and one even (e.g. 9x6 or 7x6)"
        )
    gray = to_gray(image)
    grid = corners.reshape(rows, cols, 2)
    cc, rr = np.meshgrid(np.arange(cols, dtype=float), np.arange(rows, dtype=float))
    src = np.column_stack([cc.ravel(), rr.ravel()])
    best = None
    for flip_r in (False, True):
        for flip_c in (False, True):
            g = grid[::-1] if flip_r else grid
            g = g[:, ::-1] if flip_c else g
            dst = g.reshape(-1, 2)
            H, _ = cv2.findHomography(src, dst)
            if H is None:
                continue
            # orientation: the print is seen from its front (x right, row index down) only if the
            # map from grid to image preserves handedness
            J = np.array([dst[1] - dst[0], dst[cols] - dst[0]]).T
            if np.linalg.det(J) <= 0:
                continue
            dark = _sample_gray(gray, H, (-0.5, -0.5))
            light = _sample_gray(gray, H, (0.5, -0.5))
            contrast = light - dark
            if best is None or contrast > best[0]:
                best = (contrast, dst.copy())
    if best is None or best[0] <= 10:
        raise CalibrationError(
            "could not tell which end of the board is which (the outer squares are not visible or the board "
            "is seen from behind); make sure the whole board including its white margin is in the image"
        )
    return best[1]


def board_pose_on_table(x: float, y: float, yaw_deg: float, z: float) -> np.ndarray:
    """T_base_board (4x4) of a board lying flat, printed side up, centre at (x, y, z), x-axis at yaw."""
    a = np.deg2rad(yaw_deg)
    T = np.eye(4)
    T[:3, :3] = [[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]]
    T[:3, 3] = [x, y, z]
    return T


@dataclass
class ExtrinsicsResult:
    """Result of an extrinsic calibration."""

    pose: CameraPose
    rms_px: float
    errors_px: np.ndarray  # per point
    inliers: np.ndarray  # indices of the points used


def solve_camera_pose(intrinsics: CameraIntrinsics, points_base: Any, pixels: Any, method: str,
                      table_z: float = 0.0, ransac_px: float | None = None, planar: bool = False) -> ExtrinsicsResult:
    """Camera pose in the base frame from 3-D points (base frame) and their pixels (solvePnP)."""
    P = np.asarray(points_base, dtype=np.float64).reshape(-1, 3)
    uv: np.ndarray = np.asarray(pixels, dtype=np.float64).reshape(-1, 2)
    if len(P) != len(uv):
        raise CalibrationError(f"{len(P)} points but {len(uv)} pixels")
    if len(P) < 6:
        raise CalibrationError(f"need at least 6 point/pixel pairs for a reliable pose, got {len(P)}")
    K, dist = intrinsics.K, intrinsics.dist
    if intrinsics.distortion_model == "equidistant":
        # solve in undistorted normalised coordinates
        uv = cv2.fisheye.undistortPoints(uv.reshape(-1, 1, 2), K, dist, P=K).reshape(-1, 2)
        dist = np.zeros(5)
    inliers: np.ndarray = np.arange(len(P))
    if ransac_px is not None:
        ok, rvec, tvec, inl = cv2.solvePnPRansac(P, uv, K, dist, reprojectionError=ransac_px, iterationsCount=500,
                                                 flags=cv2.SOLVEPNP_EPNP)
        if not ok or inl is None or len(inl) < 6:
            raise CalibrationError("no consistent camera pose: fewer than 6 points agree; check the point list")
        inliers = inl.ravel()
        ok, rvec, tvec = cv2.solvePnP(P[inliers], uv[inliers], K, dist, rvec, tvec, useExtrinsicGuess=True,
                                      flags=cv2.SOLVEPNP_ITERATIVE)
    else:
        flags = cv2.SOLVEPNP_IPPE if planar else cv2.SOLVEPNP_EPNP
        ok, rvec, tvec = cv2.solvePnP(P, uv, K, dist, flags=flags)
        if ok:
            ok, rvec, tvec = cv2.solvePnP(P, uv, K, dist, rvec, tvec, useExtrinsicGuess=True,
                                          flags=cv2.SOLVEPNP_ITERATIVE)
    if not ok:
        raise CalibrationError("OpenCV solvePnP failed; check that points and pixels correspond")
    proj, jac = cv2.projectPoints(P, rvec, tvec, K, dist)
    err = np.linalg.norm(proj.reshape(-1, 2) - uv, axis=1)
    rms = float(np.sqrt(np.mean(err[inliers] ** 2)))
    cov = pose_covariance_from_residuals(jac, err, inliers)
    pose = CameraPose.from_rvec_tvec(rvec, tvec, table_z=table_z, method=method, rms_reprojection_px=rms, covariance=cov)
    # the camera must look at the points from in front
    depth = (P - pose.t) @ pose.R[:, 2]
    if np.any(depth[inliers] <= 0):
        raise CalibrationError("the solved camera has points behind it; the point list is probably wrong")
    return ExtrinsicsResult(pose, rms, err, inliers)


def pose_covariance_from_residuals(jacobian: np.ndarray, errors_px: np.ndarray, inliers: np.ndarray) -> np.ndarray | None:
    """Covariance of (rvec, tvec) from the fit's residuals: sigma^2 (J^T J)^-1 over the inlier points.

    `jacobian` is cv2.projectPoints' (2N, 6+) derivative of the pixels; sigma^2 the residual
    variance per pixel coordinate with the 6 fitted parameters taken off.
    """
    rows = np.column_stack([2 * inliers, 2 * inliers + 1]).ravel()
    J = jacobian[rows, :6]
    dof = max(2 * len(inliers) - 6, 1)
    sigma2 = float(np.sum(errors_px[inliers] ** 2)) / dof
    try:
        return sigma2 * np.linalg.inv(J.T @ J)
    except np.linalg.LinAlgError:
        return None


def board_pose_covariance(pose: CameraPose, T_base_board: np.ndarray, position_sigma: float,
                          yaw_sigma_deg: float) -> np.ndarray:
    """Covariance of the camera's (rvec, tvec) that an error in the board's measured pose causes.

    The solved camera is rigidly tied to the board: a board that lies `d` off, or turned by
    `a`, where it was measured moves the solved camera the same way in the base frame. The
    map from (board x, y, yaw) to (rvec, tvec) is linearised numerically.
    """
    T_cam_board = np.linalg.inv(pose.T_base_cam) @ T_base_board

    def rt(dx: float, dy: float, dyaw: float) -> np.ndarray:
        D = np.eye(4)
        c, s = np.cos(dyaw), np.sin(dyaw)
        D[:3, :3] = [[c, -s, 0], [s, c, 0], [0, 0, 1]]
        Tb = T_base_board.copy()
        Tb[:3, :3] = D[:3, :3] @ Tb[:3, :3]
        Tb[:3, 3] += [dx, dy, 0.0]
        T_cam_base = T_cam_board @ np.linalg.inv(Tb)
        rvec, _ = cv2.Rodrigues(T_cam_base[:3, :3])
        return np.concatenate([rvec.ravel(), T_cam_base[:3, 3]])

    base = rt(0.0, 0.0, 0.0)
    steps = (1e-4, 1e-4, 1e-4)
    J = np.column_stack([(rt(*(np.eye(3)[i] * steps[i])) - base) / steps[i] for i in range(3)])
    S = np.diag([position_sigma**2, position_sigma**2, np.radians(yaw_sigma_deg) ** 2])
    return J @ S @ J.T


def board_extrinsics(image: np.ndarray, intrinsics: CameraIntrinsics, cols: int, rows: int, square: float,
                     T_base_board: np.ndarray, table_z: float = 0.0,
                     board_sigma: tuple[float, float] = (0.002, 0.5)) -> ExtrinsicsResult:
    """Camera pose from one image of a board at a measured pose T_base_board.

    board_sigma: (position m, yaw deg) uncertainty of that measurement; it is added to the pose's
    covariance (see `board_pose_covariance`).
    """
    h, w = np.asarray(image).shape[:2]
    if (w, h) != intrinsics.size:
        raise CalibrationError(f"image is {w}x{h} but the camera calibration is for {intrinsics.width}x{intrinsics.height}")
    corners = find_board(image, cols, rows)
    if corners is None:
        raise CalibrationError(
            f"no {cols}x{rows} checkerboard found in the image; check --board (inner corners) and that the "
            "whole board is visible, in focus and not glaring"
        )
    corners = orient_board_corners(image, corners, cols, rows)
    P = board_points(cols, rows, square) @ T_base_board[:3, :3].T + T_base_board[:3, 3]
    res = solve_camera_pose(intrinsics, P, corners, method="board", table_z=table_z, planar=True)
    extra = board_pose_covariance(res.pose, T_base_board, *board_sigma)
    cov = extra if res.pose.covariance is None else res.pose.covariance + extra
    res.pose = dataclasses.replace(res.pose, covariance=cov)
    return res


# --------------------------------------------------------------------------- arm marker


ARUCO_DICTS = ("DICT_4X4_50", "DICT_4X4_100", "DICT_5X5_50", "DICT_5X5_100", "DICT_6X6_50", "DICT_6X6_250",
               "DICT_ARUCO_ORIGINAL")


def aruco_dictionary(name: str) -> Any:
    """The OpenCV predefined ArUco dictionary called `name` (e.g. DICT_4X4_50)."""
    if not hasattr(cv2.aruco, name):
        raise CalibrationError(f"unknown ArUco dictionary {name!r}; use one of {', '.join(ARUCO_DICTS)}")
    return cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, name))


def detect_marker_center(image: np.ndarray, dictionary: str = "DICT_4X4_50", marker_id: int = 0) -> np.ndarray | None:
    """Pixel (2,) of the centre of ArUco marker `marker_id` (intersection of its diagonals), or None."""
    gray = to_gray(image)
    detector = cv2.aruco.ArucoDetector(aruco_dictionary(dictionary), cv2.aruco.DetectorParameters())
    corners, ids, _ = detector.detectMarkers(gray)
    if ids is None:
        return None
    hits = [c.reshape(4, 2) for c, i in zip(corners, ids.ravel()) if int(i) == marker_id]
    if len(hits) != 1:
        return None
    c: np.ndarray = hits[0].astype(np.float64)
    crit = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 40, 1e-3)
    c = cv2.cornerSubPix(gray, c.astype(np.float32).reshape(-1, 1, 2), (3, 3), (-1, -1), crit).reshape(4, 2)
    # diagonals 0-2 and 1-3: solve p0 + s (p2 - p0) = p1 + t (p3 - p1)
    d1, d2 = c[2] - c[0], c[3] - c[1]
    A = np.column_stack([d1, -d2])
    if abs(np.linalg.det(A)) < 1e-9:
        return c.mean(axis=0)
    s, _ = np.linalg.solve(A, c[1] - c[0])
    return c[0] + s * d1


def marker_image(dictionary: str, marker_id: int, pixels: int = 200, border_bits: int = 1) -> np.ndarray:
    """Printable grey image of an ArUco marker (without the white quiet zone)."""
    return cv2.aruco.generateImageMarker(aruco_dictionary(dictionary), marker_id, pixels, borderBits=border_bits)
