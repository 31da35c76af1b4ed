"""Pinhole camera model: ROS camera_info intrinsics, pose in the robot base frame, rays.

Conventions
-----------
- Pixels follow OpenCV: (u, v) with u to the right, v down, the centre of the top-left pixel
  at (0, 0).
- The camera frame is the *optical* frame (OpenCV / ROS ``*_optical_frame``): x right,
  y down, z forward along the viewing direction.
- ``CameraPose.T_base_cam`` maps points from the optical frame to the robot base frame:
  ``p_base = R @ p_cam + t``. It is the transform ``static_transform_publisher`` would
  publish with parent = base frame and child = the camera's optical frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import yaml

from cog_core.files import atomic_write_text

DISTORTION_MODELS = ("plumb_bob", "rational_polynomial", "equidistant")


class CalibrationFileError(ValueError):
    """A camera or camera-pose YAML file that cannot be used, with the reason and the fix."""


# --------------------------------------------------------------------------- small helpers


def _write_yaml(path: str | Path, text: str) -> None:
    """Write a calibration file atomically, creating its folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, text)


def quat_xyzw_to_matrix(q: Any) -> np.ndarray:
    """3x3 rotation matrix of a quaternion given as (x, y, z, w); normalises it first."""
    x, y, z, w = np.asarray(q, dtype=float) / np.linalg.norm(q)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def matrix_to_quat_xyzw(R: np.ndarray) -> np.ndarray:
    """Quaternion (x, y, z, w), w >= 0, of a 3x3 rotation matrix."""
    R = np.asarray(R, dtype=float)
    tr = np.trace(R)
    if tr > 0:
        s = 2.0 * math.sqrt(tr + 1.0)
        q = [(R[2, 1] - R[1, 2]) / s, (R[0, 2] - R[2, 0]) / s, (R[1, 0] - R[0, 1]) / s, 0.25 * s]
    else:
        i = int(np.argmax(np.diag(R)))
        j, k = (i + 1) % 3, (i + 2) % 3
        s = 2.0 * math.sqrt(1.0 + R[i, i] - R[j, j] - R[k, k])
        q = [0.0, 0.0, 0.0, (R[k, j] - R[j, k]) / s]
        q[i] = 0.25 * s
        q[j] = (R[j, i] + R[i, j]) / s
        q[k] = (R[k, i] + R[i, k]) / s
    quat = np.array(q)
    quat /= np.linalg.norm(quat)
    return -quat if quat[3] < 0 else quat


def _load_yaml_mapping(path: str | Path, what: str) -> dict:
    path = Path(path)
    if not path.is_file():
        raise CalibrationFileError(f"{what} file {path} does not exist; {_HOW_TO_MAKE[what]}")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise CalibrationFileError(f"{what} file {path} is not valid YAML: {err}") from None
    if not isinstance(data, dict):
        raise CalibrationFileError(f"{what} file {path} must hold a YAML mapping at the top level")
    return data


_HOW_TO_MAKE = {
    "camera": "write one with `cogrl calibrate intrinsics` or use the file ROS camera_calibration saved",
    "camera pose": "write one with `cogrl calibrate extrinsics` (see docs/calibration.md)",
}


def _matrix_field(data: dict, key: str, rows: int, cols: int | None, path: Path) -> np.ndarray:
    """Read a camera_info style {rows, cols, data} matrix; cols=None accepts any length."""
    if key not in data:
        raise CalibrationFileError(f"camera file {path}: missing key '{key}' (camera_info format needs it)")
    entry = data[key]
    if not isinstance(entry, dict) or "data" not in entry:
        raise CalibrationFileError(f"camera file {path}: '{key}' must be a mapping with rows, cols and data")
    try:
        values = np.asarray(entry["data"], dtype=float).ravel()
    except (TypeError, ValueError):
        raise CalibrationFileError(f"camera file {path}: '{key}.data' must be a list of numbers") from None
    r = int(entry.get("rows", rows))
    c = int(entry.get("cols", values.size // max(r, 1) if cols is None else cols))
    if r != rows or (cols is not None and c != cols) or values.size != r * c:
        want = f"{rows}x{cols}" if cols is not None else f"{rows}xN"
        raise CalibrationFileError(
            f"camera file {path}: '{key}' should be {want} but has rows={r}, cols={c} and "
            f"{values.size} numbers"
        )
    if not np.all(np.isfinite(values)):
        raise CalibrationFileError(f"camera file {path}: '{key}' holds non-finite numbers")
    return values.reshape(r, c)


def _yaml_matrix(m: np.ndarray) -> dict:
    m = np.atleast_2d(np.asarray(m, dtype=float))
    return {"rows": int(m.shape[0]), "cols": int(m.shape[1]), "data": [float(x) for x in m.ravel()]}


# --------------------------------------------------------------------------- intrinsics


@dataclass(frozen=True)
class CameraIntrinsics:
    """Image size, camera matrix K and lens distortion, as in a ROS camera_info YAML."""

    width: int
    height: int
    K: np.ndarray
    dist: np.ndarray = field(default_factory=lambda: np.zeros(5))
    distortion_model: str = "plumb_bob"
    name: str = "camera"
    R_rect: np.ndarray = field(default_factory=lambda: np.eye(3))
    P: np.ndarray | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "K", np.asarray(self.K, dtype=float).reshape(3, 3))
        object.__setattr__(self, "dist", np.asarray(self.dist, dtype=float).ravel())
        if self.distortion_model not in DISTORTION_MODELS:
            raise CalibrationFileError(
                f"distortion model {self.distortion_model!r} is not supported; use one of {DISTORTION_MODELS}"
            )
        if self.distortion_model == "equidistant" and self.dist.size != 4:
            raise CalibrationFileError(f"equidistant distortion needs 4 coefficients, got {self.dist.size}")
        if self.width <= 0 or self.height <= 0:
            raise CalibrationFileError(f"image size must be positive, got {self.width}x{self.height}")
        if self.K[0, 0] <= 0 or self.K[1, 1] <= 0:
            raise CalibrationFileError(f"camera matrix must have positive focal lengths, got K={self.K.tolist()}")
        if self.P is None:
            P = np.zeros((3, 4))
            P[:, :3] = self.K
            object.__setattr__(self, "P", P)

    @property
    def fx(self) -> float:
        """Focal length along u, in pixels."""
        return float(self.K[0, 0])

    @property
    def fy(self) -> float:
        """Focal length along v, in pixels."""
        return float(self.K[1, 1])

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return self.width, self.height

    @classmethod
    def from_fovy(cls, width: int, height: int, fovy_deg: float, name: str = "camera") -> CameraIntrinsics:
        """Ideal pinhole camera with square pixels, centred, from a vertical field of view."""
        f = 0.5 * height / math.tan(math.radians(fovy_deg) / 2)
        K = np.array([[f, 0, (width - 1) / 2], [0, f, (height - 1) / 2], [0, 0, 1]])
        return cls(width=width, height=height, K=K, name=name)

    def scaled(self, factor: float) -> CameraIntrinsics:
        """The same camera for an image resized by `factor` (e.g. 0.5 for half resolution)."""
        S = np.diag([factor, factor, 1.0])
        K = S @ self.K
        # pixel centres: u' = factor * (u + 0.5) - 0.5
        K[0, 2] += 0.5 * factor - 0.5
        K[1, 2] += 0.5 * factor - 0.5
        return CameraIntrinsics(
            width=int(round(self.width * factor)),
            height=int(round(self.height * factor)),
            K=K,
            dist=self.dist.copy(),
            distortion_model=self.distortion_model,
            name=self.name,
        )

    # ---- camera_info YAML
    @classmethod
    def load(cls, path: str | Path) -> CameraIntrinsics:
        """Read a ROS camera_info YAML (as written by camera_calibration or `cogrl calibrate`)."""
        path = Path(path)
        data = _load_yaml_mapping(path, "camera")
        for key in ("image_width", "image_height", "camera_matrix"):
            if key not in data:
                raise CalibrationFileError(
                    f"camera file {path}: missing key '{key}'; expected a ROS camera_info YAML with "
                    "image_width, image_height, camera_matrix, distortion_model, distortion_coefficients"
                )
        try:
            width, height = int(data["image_width"]), int(data["image_height"])
        except (TypeError, ValueError):
            raise CalibrationFileError(f"camera file {path}: image_width/image_height must be integers") from None
        K = _matrix_field(data, "camera_matrix", 3, 3, path)
        model = str(data.get("distortion_model", "plumb_bob"))
        if "distortion_coefficients" in data:
            dist = _matrix_field(data, "distortion_coefficients", 1, None, path).ravel()
        else:
            dist = np.zeros(5)
        R_rect = _matrix_field(data, "rectification_matrix", 3, 3, path) if "rectification_matrix" in data else np.eye(3)
        P = _matrix_field(data, "projection_matrix", 3, 4, path) if "projection_matrix" in data else None
        try:
            return cls(
                width=width,
                height=height,
                K=K,
                dist=dist,
                distortion_model=model,
                name=str(data.get("camera_name", "camera")),
                R_rect=R_rect,
                P=P,
            )
        except CalibrationFileError as err:
            raise CalibrationFileError(f"camera file {path}: {err}") from None

    def to_yaml(self) -> str:
        """camera_info YAML text, the layout ROS camera_calibration writes."""
        data = {
            "image_width": int(self.width),
            "image_height": int(self.height),
            "camera_name": self.name,
            "camera_matrix": _yaml_matrix(self.K),
            "distortion_model": self.distortion_model,
            "distortion_coefficients": _yaml_matrix(self.dist.reshape(1, -1)),
            "rectification_matrix": _yaml_matrix(self.R_rect),
            "projection_matrix": _yaml_matrix(self.P if self.P is not None else np.zeros((3, 4))),  # set in __post_init__
        }
        return yaml.safe_dump(data, sort_keys=False, default_flow_style=None)

    def save(self, path: str | Path) -> None:
        """Write the camera_info YAML atomically."""
        _write_yaml(path, self.to_yaml())

    # ---- pixel geometry
    def normalize(self, pixels: Any) -> np.ndarray:
        """Undistorted normalised image coordinates (x/z, y/z) of (N, 2) pixels."""
        uv = np.asarray(pixels, dtype=np.float64).reshape(-1, 1, 2)
        if self.distortion_model == "equidistant":
            out = cv2.fisheye.undistortPoints(uv, self.K, self.dist)
        else:
            out = cv2.undistortPoints(uv, self.K, self.dist)
        return out.reshape(-1, 2)

    def project_camera_points(self, points_cam: Any) -> np.ndarray:
        """Pixels (N, 2) of points (N, 3) given in the optical frame (distortion applied)."""
        p = np.asarray(points_cam, dtype=np.float64).reshape(-1, 1, 3)
        zero = np.zeros(3)
        if self.distortion_model == "equidistant":
            uv, _ = cv2.fisheye.projectPoints(p, zero, zero, self.K, self.dist)
        else:
            uv, _ = cv2.projectPoints(p, zero, zero, self.K, self.dist)
        return uv.reshape(-1, 2)


# --------------------------------------------------------------------------- extrinsics


@dataclass(frozen=True)
class CameraPose:
    """Pose of the camera's optical frame in the robot base frame (T_base_cam), plus the table height."""

    T_base_cam: np.ndarray
    base_frame: str = "wx250s/base_link"
    camera_frame: str = "camera_color_optical_frame"
    table_z: float = 0.0
    method: str = "manual"
    rms_reprojection_px: float | None = None
    # 6x6 covariance of OpenCV's (rvec [rad], tvec [m]) of this pose (base -> optical frame), from
    # the calibration's residuals and the stated uncertainty of its measurements; None = unknown
    covariance: np.ndarray | None = None

    def __post_init__(self) -> None:
        T = np.asarray(self.T_base_cam, dtype=float).reshape(4, 4)
        R = T[:3, :3]
        if not np.allclose(R @ R.T, np.eye(3), atol=1e-5) or np.linalg.det(R) < 0:
            raise CalibrationFileError("camera pose rotation is not a proper rotation matrix")
        object.__setattr__(self, "T_base_cam", T)
        if self.covariance is not None:
            cov = np.asarray(self.covariance, dtype=float).reshape(6, 6)
            if not np.all(np.isfinite(cov)) or np.any(np.diag(cov) < 0):
                raise CalibrationFileError("camera pose covariance must be a finite 6x6 matrix with a non-negative diagonal")
            object.__setattr__(self, "covariance", 0.5 * (cov + cov.T))

    @property
    def R(self) -> np.ndarray:
        """Rotation optical frame -> base frame (3x3)."""
        return self.T_base_cam[:3, :3]

    @property
    def t(self) -> np.ndarray:
        """Camera centre in the base frame (metres)."""
        return self.T_base_cam[:3, 3]

    @classmethod
    def from_rt(cls, R: Any, t: Any, **kw: Any) -> CameraPose:
        """Pose from a rotation matrix (optical -> base) and the camera centre in base."""
        T = np.eye(4)
        T[:3, :3] = np.asarray(R, dtype=float)
        T[:3, 3] = np.asarray(t, dtype=float)
        return cls(T_base_cam=T, **kw)

    @classmethod
    def from_rvec_tvec(cls, rvec: Any, tvec: Any, **kw: Any) -> CameraPose:
        """Pose from OpenCV solvePnP output (rvec, tvec map base points into the camera frame)."""
        R_cam_base, _ = cv2.Rodrigues(np.asarray(rvec, dtype=float).reshape(3, 1))
        R = R_cam_base.T
        t = -R @ np.asarray(tvec, dtype=float).ravel()
        return cls.from_rt(R, t, **kw)

    def rvec_tvec(self) -> tuple[np.ndarray, np.ndarray]:
        """OpenCV (rvec, tvec) mapping base-frame points into the camera frame (what `covariance` is of)."""
        R_cam_base = self.R.T
        rvec, _ = cv2.Rodrigues(R_cam_base)
        return rvec.ravel(), -R_cam_base @ self.t

    # ---- YAML
    def to_yaml(self) -> str:
        """The camera-pose YAML text (see docs/calibration.md for the layout)."""
        q = matrix_to_quat_xyzw(self.R)
        data: dict[str, Any] = {
            "parent_frame": self.base_frame,
            "child_frame": self.camera_frame,
            "translation": [round(float(x), 6) for x in self.t],
            "rotation_xyzw": [round(float(x), 8) for x in q],
            "table_z": float(self.table_z),
            "method": self.method,
        }
        if self.rms_reprojection_px is not None:
            data["rms_reprojection_px"] = round(float(self.rms_reprojection_px), 4)
        if self.covariance is not None:
            data["pose_covariance"] = {"rows": 6, "cols": 6, "data": [float(f"{x:.6g}") for x in self.covariance.ravel()]}
        header = (
            "# Camera pose in the robot base frame: p_parent = R(rotation_xyzw) @ p_child + translation.\n"
            "# child_frame is the camera's OPTICAL frame (x right, y down, z along the view).\n"
            "# table_z: height of the table surface in the parent frame (metres).\n"
            "# pose_covariance (optional): 6x6 covariance of OpenCV's rvec (rad), tvec (m) of base -> optical.\n"
        )
        return header + yaml.safe_dump(data, sort_keys=False, default_flow_style=None)

    def save(self, path: str | Path) -> None:
        """Write the camera-pose YAML atomically."""
        _write_yaml(path, self.to_yaml())

    @classmethod
    def load(cls, path: str | Path) -> CameraPose:
        """Read a camera-pose YAML written by `cogrl calibrate extrinsics` (or by hand)."""
        path = Path(path)
        data = _load_yaml_mapping(path, "camera pose")
        if "image_width" in data or "camera_matrix" in data:
            raise CalibrationFileError(
                f"camera pose file {path} looks like a camera_info (intrinsics) file; pass it as --camera "
                "and the pose file (translation, rotation_xyzw) as --extrinsics"
            )
        for key in ("translation", "rotation_xyzw"):
            if key not in data:
                raise CalibrationFileError(
                    f"camera pose file {path}: missing key '{key}'; it needs translation: [x, y, z] and "
                    "rotation_xyzw: [qx, qy, qz, qw]"
                )
        try:
            t = np.asarray(data["translation"], dtype=float).ravel()
            q = np.asarray(data["rotation_xyzw"], dtype=float).ravel()
        except (TypeError, ValueError):
            raise CalibrationFileError(f"camera pose file {path}: translation/rotation_xyzw must be numbers") from None
        if t.size != 3 or q.size != 4:
            raise CalibrationFileError(
                f"camera pose file {path}: translation needs 3 numbers and rotation_xyzw 4, got {t.size} and {q.size}"
            )
        if not np.all(np.isfinite(t)) or not np.all(np.isfinite(q)) or abs(np.linalg.norm(q) - 1) > 1e-3:
            raise CalibrationFileError(
                f"camera pose file {path}: rotation_xyzw must be a unit quaternion (norm {np.linalg.norm(q):.4f})"
            )
        rms = data.get("rms_reprojection_px")
        cov = None
        if "pose_covariance" in data:
            entry = data["pose_covariance"]
            try:
                cov = np.asarray(entry["data"], dtype=float).reshape(6, 6)
            except (TypeError, ValueError, KeyError):
                raise CalibrationFileError(
                    f"camera pose file {path}: pose_covariance must be {{rows: 6, cols: 6, data: [36 numbers]}}; "
                    "delete it if unknown") from None
        return cls.from_rt(
            quat_xyzw_to_matrix(q),
            t,
            base_frame=str(data.get("parent_frame", "wx250s/base_link")),
            camera_frame=str(data.get("child_frame", "camera_color_optical_frame")),
            table_z=float(data.get("table_z", 0.0)),
            method=str(data.get("method", "manual")),
            rms_reprojection_px=None if rms is None else float(rms),
            covariance=cov,
        )


# --------------------------------------------------------------------------- the full model


@dataclass(frozen=True)
class CameraModel:
    """A calibrated camera: intrinsics plus its pose in the robot base frame."""

    intrinsics: CameraIntrinsics
    pose: CameraPose

    @classmethod
    def load(cls, camera_yaml: str | Path, pose_yaml: str | Path) -> CameraModel:
        """Load the camera_info YAML and the camera-pose YAML."""
        return cls(CameraIntrinsics.load(camera_yaml), CameraPose.load(pose_yaml))

    @property
    def table_z(self) -> float:
        """Table surface height in the base frame."""
        return self.pose.table_z

    def scaled(self, factor: float) -> CameraModel:
        """The same camera for images resized by `factor`."""
        return CameraModel(self.intrinsics.scaled(factor), self.pose)

    def project(self, points_base: Any) -> tuple[np.ndarray, np.ndarray]:
        """Pixels (N, 2) and depths (N,) of base-frame points (N, 3); depth <= 0 is behind the camera."""
        p = np.asarray(points_base, dtype=float).reshape(-1, 3)
        p_cam = (p - self.pose.t) @ self.pose.R  # R^T (p - t), row-wise
        depth = p_cam[:, 2]
        uv = np.full((len(p), 2), np.nan)
        front = depth > 1e-6
        if np.any(front):
            uv[front] = self.intrinsics.project_camera_points(p_cam[front])
        return uv, depth

    def rays(self, pixels: Any) -> tuple[np.ndarray, np.ndarray]:
        """Camera centre (3,) and unit ray directions (N, 3) in the base frame through pixels (N, 2)."""
        xy = self.intrinsics.normalize(pixels)
        d_cam = np.column_stack([xy, np.ones(len(xy))])
        d = d_cam @ self.pose.R.T
        d /= np.linalg.norm(d, axis=1, keepdims=True)
        return self.pose.t.copy(), d

    def pixel_to_plane(self, pixels: Any, z: float) -> np.ndarray:
        """Base-frame points (N, 3) where the rays through `pixels` meet the plane at height z.

        Rows are NaN where the ray is parallel to the plane or meets it behind the camera.
        """
        origin, d = self.rays(pixels)
        out = np.full((len(d), 3), np.nan)
        dz = d[:, 2]
        ok = np.abs(dz) > 1e-9
        s = np.full(len(d), np.nan)
        s[ok] = (z - origin[2]) / dz[ok]
        ok &= s > 0
        out[ok] = origin + s[ok, None] * d[ok]
        return out
