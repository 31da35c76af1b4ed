"""How far off the localizer can be because of the calibration alone.

A position comes from a pixel, back-projected with the calibrated camera onto the plane at the
object's centre height. Two calibration errors move it:

- the pixel: the camera model maps a point to the image only as well as the calibration's
  reprojection error says (lens model, corner detection);
- the extrinsics: the solved camera pose is uncertain (its covariance from the calibration's
  residuals and from how well the board's pose on the table was measured), and a camera turned
  by 1 degree moves every answer by about 1.5 cm at 0.9 m.

`expected_localization_error` samples both over a grid of the workspace (Monte Carlo: the true
point is seen at its pixel plus noise, and located with a camera drawn from the pose's
uncertainty) and reports the distribution of the resulting errors, each source alone and both.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from cog_core.vision.camera import CameraModel, CameraPose


@dataclass
class ErrorEstimate:
    """Expected localization error (m) over the workspace grid and the sampled calibration errors."""

    median: float
    p95: float
    pixels_p95: float  # the pixel error alone
    pose_p95: float  # the extrinsics' uncertainty alone
    pixel_sigma: float  # px used
    rotation_sigma_deg: float  # 1-sigma camera rotation error that the pose uncertainty implies (deg)
    translation_sigma_m: float  # 1-sigma camera position error (m)
    notes: list[str] = field(default_factory=list)


def _perturbed_poses(pose: CameraPose, n: int, rng: np.random.Generator, covariance: np.ndarray | None,
                     rotation_sigma_deg: float, translation_sigma_m: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """(R, t) of `n` camera poses drawn around `pose` (R optical -> base, t camera centre in base)."""
    rvec, tvec = pose.rvec_tvec()
    out = []
    for _ in range(n):
        r, t = rvec.copy(), tvec.copy()
        if covariance is not None:
            d = rng.multivariate_normal(np.zeros(6), covariance, method="eigh")
            r, t = r + d[:3], t + d[3:]
        R_cam_base, _ = cv2.Rodrigues(r.reshape(3, 1))
        R = R_cam_base.T
        centre = -R @ t
        if rotation_sigma_deg > 0:  # extra rotation of the camera about its own centre
            dR, _ = cv2.Rodrigues(rng.normal(0.0, np.radians(rotation_sigma_deg), 3).reshape(3, 1))
            R = dR @ R
        if translation_sigma_m > 0:
            centre = centre + rng.normal(0.0, translation_sigma_m, 3)
        out.append((R, centre))
    return out


def _pose_spread(pose: CameraPose, samples: list[tuple[np.ndarray, np.ndarray]]) -> tuple[float, float]:
    """RMS per-axis rotation (deg) and position (m) differences of the sampled poses from `pose`."""
    if not samples:
        return 0.0, 0.0
    angles = []
    for R, _ in samples:
        rv, _ = cv2.Rodrigues(R @ pose.R.T)
        angles.append(rv.ravel())
    rot = float(np.degrees(np.sqrt(np.mean(np.square(angles)))))
    pos = float(np.sqrt(np.mean([np.square(c - pose.t) for _, c in samples])))
    return rot, pos


def expected_localization_error(camera: CameraModel, workspace: tuple[float, float, float, float],
                                object_height: float = 0.04, pixel_sigma: float | None = None,
                                rotation_sigma_deg: float = 0.0, translation_sigma_m: float = 0.0,
                                use_covariance: bool = True, samples: int = 200, grid: int = 5,
                                seed: int = 0) -> ErrorEstimate:
    """Distribution of the localization error that the calibration's uncertainty causes.

    pixel_sigma: per-axis pixel error (px); default the pose file's reprojection RMS.
    rotation_sigma_deg / translation_sigma_m: extra 1-sigma camera pose errors, on top of the
    pose's covariance when it has one and `use_covariance` is true.
    """
    notes: list[str] = []
    pose = camera.pose
    if pixel_sigma is None:
        pixel_sigma = pose.rms_reprojection_px if pose.rms_reprojection_px is not None else 0.5
        if pose.rms_reprojection_px is None:
            notes.append("the pose file has no reprojection error; assumed 0.5 px")
    covariance = pose.covariance if use_covariance else None
    if covariance is None and rotation_sigma_deg == 0 and translation_sigma_m == 0:
        notes.append("no pose uncertainty given (no pose_covariance in the file, no --rotation-sigma-deg / "
                     "--translation-sigma-mm): the extrinsics count as exact")
    rng = np.random.default_rng(seed)
    x0, x1, y0, y1 = workspace
    gx, gy = np.meshgrid(np.linspace(x0, x1, grid), np.linspace(y0, y1, grid))
    z = camera.table_z + object_height / 2
    points = np.column_stack([gx.ravel(), gy.ravel(), np.full(gx.size, z)])
    pixels, depth = camera.project(points)
    keep = (depth > 0) & np.all(np.isfinite(pixels), axis=1)
    w, h = camera.intrinsics.size
    keep &= (pixels[:, 0] >= 0) & (pixels[:, 0] <= w - 1) & (pixels[:, 1] >= 0) & (pixels[:, 1] <= h - 1)
    if not keep.any():
        raise ValueError(f"no point of the workspace {workspace} is in the camera's image; check the pose file")
    if not keep.all():
        notes.append(f"{int((~keep).sum())} of {keep.size} workspace grid points are outside the image")
    points, pixels = points[keep], pixels[keep]
    poses = _perturbed_poses(pose, samples, rng, covariance, rotation_sigma_deg, translation_sigma_m)
    rot_spread, pos_spread = _pose_spread(pose, poses)

    def errors(with_pixels: bool, with_pose: bool) -> np.ndarray:
        out = []
        for R, centre in poses if with_pose else [(pose.R, pose.t)] * samples:
            uv = pixels + (rng.normal(0.0, pixel_sigma, pixels.shape) if with_pixels else 0.0)
            cam = CameraModel(camera.intrinsics, CameraPose.from_rt(R, centre, table_z=camera.table_z))
            got = cam.pixel_to_plane(uv, z)
            out.append(np.linalg.norm(got - points, axis=1))
        return np.concatenate(out)

    both = errors(True, True)
    return ErrorEstimate(median=float(np.median(both)), p95=float(np.percentile(both, 95)),
                         pixels_p95=float(np.percentile(errors(True, False), 95)),
                         pose_p95=float(np.percentile(errors(False, True), 95)), pixel_sigma=float(pixel_sigma),
                         rotation_sigma_deg=rot_spread, translation_sigma_m=pos_spread, notes=notes)
