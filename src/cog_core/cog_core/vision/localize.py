"""Background-subtraction object localization with a calibrated monocular camera.

Pipeline for each frame (all at 1/`downscale` resolution, which also averages sensor noise):

1. Global gain: per-channel median of frame / background over sampled workspace pixels, so a
   mild global lighting change (brighter/darker lamp, camera auto-gain) is divided out.
2. Change test per pixel against the background model (per-pixel mean and noise sigma from
   N empty-workspace frames). With b the background colour and f the gain-corrected frame,
   r = sum(f) / sum(b) is the brightness ratio and e = |f - r b| the colour change that no
   brightness scaling explains. A pixel is foreground if
   - e > max(k_sigma * sigma, min_color_change)   (the colour changed: coloured objects), or
   - r < dark_ratio or r > bright_ratio, and the brightness change beats the noise
     (much darker/brighter: grey objects). Shadows and residual lighting changes darken or
     brighten without changing colour and stay inside (dark_ratio, bright_ratio).
3. Outside the workspace mask and inside the caller's exclusion mask (the robot arm) is zeroed;
   morphological opening removes speckle, closing fills holes.
4. Connected components; each blob's pixel centroid is back-projected to a ray that is
   intersected with the horizontal plane at the object's centre height; blobs whose physical
   area on that plane or whose 3-D point fall outside limits are dropped.

`Localizer.localize` returns all surviving candidates ranked by confidence; an empty list
means "nothing found".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from cog_core.vision.camera import CameraModel
from cog_core.vision.masks import workspace_mask


@dataclass
class LocalizerConfig:
    """Tuning of the localizer; the defaults suit a 640x480 camera ~0.6-1 m from the table."""

    downscale: int = 2  # process at 1/downscale resolution (1, 2 or 4)
    workspace: tuple[float, float, float, float] = (0.15, 0.55, -0.30, 0.30)  # x_min, x_max, y_min, y_max (m, base)
    object_height: float = 0.04  # full height of the sought object (m); its centre is at half of it
    max_object_height: float = 0.12  # tallest object expected; bounds the workspace mask in the image
    k_sigma: float = 5.0  # change threshold in units of the per-pixel noise sigma
    noise_floor: float = 2.0  # smallest noise sigma assumed per pixel (grey levels, after downscale)
    min_color_change: float = 20.0  # smallest colour change (grey levels, |f - r b| over RGB) counted
    dark_ratio: float = 0.45  # darker than this fraction of the background: an object, not a shadow
    bright_ratio: float = 1.6  # brighter than this: an object, not lighting
    open_px: int = 3  # opening kernel (pixels, at processing resolution)
    close_px: int = 5  # closing kernel
    min_area_m2: float = 3.0e-4  # blob area on the object plane (m^2); 3e-4 ~ 1.7 x 1.7 cm
    max_area_m2: float = 2.5e-2  # ~ 16 x 16 cm
    min_confidence: float = 0.05  # candidates below are dropped
    max_candidates: int = 10
    gain_samples: int = 4000  # pixels sampled for the global gain estimate


@dataclass(frozen=True)
class Detection:
    """One localized object candidate."""

    position: np.ndarray  # (3,) object centre in the robot base frame (m)
    pixel: tuple[float, float]  # blob centroid (u, v), full-resolution pixels
    bbox: tuple[int, int, int, int]  # x, y, width, height, full-resolution pixels
    area_px: int  # blob area in full-resolution pixels
    area_m2: float  # blob area on the object plane
    confidence: float  # 0..1, the ranking key

    def as_dict(self) -> dict[str, Any]:
        """Plain-data form (for printing / JSON / ROS messages)."""
        return {
            "position": [round(float(x), 4) for x in self.position],
            "pixel": [round(float(x), 1) for x in self.pixel],
            "bbox": [int(x) for x in self.bbox],
            "area_px": int(self.area_px),
            "area_cm2": round(float(self.area_m2) * 1e4, 2),
            "confidence": round(float(self.confidence), 3),
        }


@dataclass
class _Background:
    mean: np.ndarray  # (h, w, 3) float32
    sigma: np.ndarray  # (h, w) float32, per-pixel colour noise sigma
    intensity: np.ndarray  # (h, w) float32, sum of mean over channels
    n_frames: int


class Localizer:
    """Finds objects on the table as changes against a background model of the empty workspace."""

    def __init__(self, camera: CameraModel, config: LocalizerConfig | None = None):
        self.camera = camera
        self.config = config or LocalizerConfig()
        cfg = self.config
        if cfg.downscale not in (1, 2, 4):
            raise ValueError(f"downscale must be 1, 2 or 4, got {cfg.downscale}")
        intr = camera.intrinsics
        self.full_shape = (intr.height, intr.width)
        if intr.width % cfg.downscale or intr.height % cfg.downscale:
            raise ValueError(f"image size {intr.width}x{intr.height} is not divisible by downscale {cfg.downscale}")
        self.small_shape = (intr.height // cfg.downscale, intr.width // cfg.downscale)
        self.small_camera = camera.scaled(1.0 / cfg.downscale) if cfg.downscale > 1 else camera
        ws = workspace_mask(
            self.small_camera,
            cfg.workspace,
            (camera.table_z, camera.table_z + cfg.max_object_height),
            self.small_shape,
        )
        if not ws.any():
            raise ValueError(
                f"the workspace {cfg.workspace} is not visible in the camera image; check the camera pose file "
                "and LocalizerConfig.workspace"
            )
        self.workspace_mask_small = ws
        self._open = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (cfg.open_px, cfg.open_px)) if cfg.open_px > 1 else None
        self._close = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (cfg.close_px, cfg.close_px)) if cfg.close_px > 1 else None
        self.background: _Background | None = None
        ys, xs = np.nonzero(ws)
        rng = np.random.default_rng(0)
        pick = rng.choice(len(ys), size=min(cfg.gain_samples, len(ys)), replace=False)
        self._sample_idx = (ys[pick], xs[pick])

    # ------------------------------------------------------------------ background
    def _check_frame(self, frame: np.ndarray, what: str = "frame") -> np.ndarray:
        frame = np.asarray(frame)
        h, w = self.full_shape
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.shape[:2] != (h, w):
            raise ValueError(
                f"{what} has shape {frame.shape}; the camera calibration is for {w}x{h} colour images "
                f"(expected ({h}, {w}, 3))"
            )
        if frame.dtype != np.uint8:
            raise ValueError(f"{what} must be uint8, got {frame.dtype}")
        return frame

    def _small(self, frame: np.ndarray) -> np.ndarray:
        ds = self.config.downscale
        if ds == 1:
            return frame.astype(np.float32)
        h, w = self.small_shape
        return cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32)

    def set_background(self, frames: Sequence[np.ndarray]) -> None:
        """Build the per-pixel background model (mean colour, noise sigma) from empty-workspace frames."""
        frames = list(frames)
        if not frames:
            raise ValueError("set_background needs at least one frame of the empty workspace")
        stack = np.stack([self._small(self._check_frame(f, f"background frame {i}")) for i, f in enumerate(frames)])
        mean = stack.mean(axis=0)
        if len(frames) > 1:
            # colour noise: RMS over channels of the per-channel standard deviation
            sigma = np.sqrt((stack.var(axis=0, ddof=1)).mean(axis=2))
        else:
            sigma = np.zeros(mean.shape[:2], np.float32)
        sigma = np.maximum(sigma, self.config.noise_floor).astype(np.float32)
        self.background = _Background(
            mean=mean.astype(np.float32),
            sigma=sigma,
            intensity=np.maximum(mean.sum(axis=2), 1.0).astype(np.float32),
            n_frames=len(frames),
        )
        self._thr_color = np.maximum(self.config.k_sigma * sigma * np.float32(np.sqrt(2.0)), self.config.min_color_change)
        self._thr_color_sq = (self._thr_color**2).astype(np.float32)
        self._thr_int = (self.config.k_sigma * sigma * np.float32(np.sqrt(3.0))).astype(np.float32)
        self._bg_planes = [np.ascontiguousarray(p) for p in cv2.split(self.background.mean)]
        self._inv_intensity = (1.0 / self.background.intensity).astype(np.float32)
        fy, fx = self._sample_idx
        self._bg_samples = np.maximum(self.background.mean[fy, fx], 1.0)

    # ------------------------------------------------------------------ detection
    def change_mask(self, frame: np.ndarray, exclude_mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Foreground mask (uint8 0/1) and squared colour change |f - r b|^2, at processing resolution."""
        if self.background is None:
            raise RuntimeError("call set_background(frames) with empty-workspace frames before localize()")
        cfg = self.config
        bg = self.background
        f = self._small(self._check_frame(frame))
        # 1. global per-channel gain against the background, robust to objects (median)
        fy, fx = self._sample_idx
        ratios = f[fy, fx] / self._bg_samples
        gain = np.clip(np.median(ratios, axis=0), 0.2, 5.0).astype(np.float32)
        # 2. brightness ratio and the colour change no brightness scaling explains (per colour plane:
        #    reductions over a trailing axis of length 3 are slow in NumPy)
        planes = [p * np.float32(1.0 / g) for p, g in zip(cv2.split(f), gain)]
        I_f = planes[0] + planes[1] + planes[2]
        r = I_f * self._inv_intensity
        e2 = np.zeros_like(I_f)
        for p, b in zip(planes, self._bg_planes):
            d = p - r * b
            e2 += d * d
        color = e2 > self._thr_color_sq
        bright = (r < cfg.dark_ratio) | (r > cfg.bright_ratio)
        bright &= np.abs(I_f - bg.intensity) > self._thr_int
        fg = color | bright
        fg &= self.workspace_mask_small
        if exclude_mask is not None:
            fg &= ~self._small_mask(exclude_mask)
        mask = fg.view(np.uint8)
        if self._open is not None:
            mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, self._open)
        if self._close is not None:
            mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, self._close)
        return mask, e2

    def _small_mask(self, mask: np.ndarray) -> np.ndarray:
        mask = np.asarray(mask)
        if mask.shape != self.full_shape:
            raise ValueError(f"exclude_mask has shape {mask.shape}; expected {self.full_shape} (the image size)")
        if self.config.downscale == 1:
            return mask.astype(bool)
        h, w = self.small_shape
        # any excluded pixel inside a block excludes the block
        return cv2.resize(mask.astype(np.uint8) * 255, (w, h), interpolation=cv2.INTER_AREA) > 0

    def localize(self, frame: np.ndarray, exclude_mask: np.ndarray | None = None,
                 object_height: float | None = None) -> list[Detection]:
        """All object candidates in an RGB frame, best first; [] means nothing was found.

        exclude_mask: optional (H, W) bool image of pixels to ignore (e.g. the robot arm, see
        `cog_core.vision.masks.wx250s_arm_segments` + `capsule_mask`).
        object_height: full height of the sought object; default `config.object_height`.
        """
        cfg = self.config
        mask, e2 = self.change_mask(frame, exclude_mask)
        n, labels, stats, centroids = cv2.connectedComponentsWithStats(mask, connectivity=8)
        if n <= 1:
            return []
        ds = cfg.downscale
        h_obj = cfg.object_height if object_height is None else float(object_height)
        z = self.camera.table_z + h_obj / 2
        cams = self.small_camera
        idx = np.arange(1, n)
        cxy = centroids[1:]
        # metric area per pixel at each centroid: parallelogram spanned by +1 pixel steps on the plane
        p0 = cams.pixel_to_plane(cxy, z)
        pu = cams.pixel_to_plane(cxy + [1.0, 0.0], z)
        pv = cams.pixel_to_plane(cxy + [0.0, 1.0], z)
        px_area = np.linalg.norm(np.cross(pu - p0, pv - p0), axis=1)
        area_m2 = stats[1:, cv2.CC_STAT_AREA] * px_area
        x0, x1, y0, y1 = cfg.workspace
        out: list[Detection] = []
        for k, i in enumerate(idx):
            if not np.all(np.isfinite(p0[k])):
                continue
            if not (cfg.min_area_m2 <= area_m2[k] <= cfg.max_area_m2):
                continue
            px, py = p0[k, 0], p0[k, 1]
            if not (x0 <= px <= x1 and y0 <= py <= y1):
                continue
            bx, by, bw, bh, area = (int(v) for v in stats[i, :5])
            blob = labels[by : by + bh, bx : bx + bw] == i
            change = np.sqrt(e2[by : by + bh, bx : bx + bw][blob]) / self._thr_color[by : by + bh, bx : bx + bw][blob]
            strength = float(np.median(change))
            solidity = area / float(bw * bh)
            size_ok = min(1.0, area_m2[k] / (3 * cfg.min_area_m2))
            confidence = (1.0 - np.exp(-max(strength - 0.5, 0.0))) * (0.5 + 0.5 * solidity) * size_ok
            if confidence < cfg.min_confidence:
                continue
            u = (cxy[k, 0] + 0.5) * ds - 0.5
            v = (cxy[k, 1] + 0.5) * ds - 0.5
            out.append(
                Detection(
                    position=p0[k].copy(),
                    pixel=(float(u), float(v)),
                    bbox=(bx * ds, by * ds, bw * ds, bh * ds),
                    area_px=area * ds * ds,
                    area_m2=float(area_m2[k]),
                    confidence=float(confidence),
                )
            )
        out.sort(key=lambda d: -d.confidence)
        return out[: cfg.max_candidates]

    def best(self, frame: np.ndarray, exclude_mask: np.ndarray | None = None,
             object_height: float | None = None) -> Detection | None:
        """The highest-ranked candidate, or None when nothing was found."""
        found = self.localize(frame, exclude_mask, object_height)
        return found[0] if found else None


def annotate(frame: np.ndarray, detections: Sequence[Detection], workspace: np.ndarray | None = None) -> np.ndarray:
    """RGB copy of `frame` with boxes, centroids, ranks and base-frame positions drawn on."""
    img = np.ascontiguousarray(frame.copy())
    if workspace is not None:
        contours, _ = cv2.findContours(workspace.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(img, contours, -1, (255, 255, 0), 1)
    if not detections:
        cv2.putText(img, "nothing found", (10, 25), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 0, 0), 2)
    for rank, d in enumerate(detections, 1):
        x, y, w, h = d.bbox
        color = (0, 255, 0) if rank == 1 else (255, 160, 0)
        cv2.rectangle(img, (x, y), (x + w, y + h), color, 2)
        cv2.drawMarker(img, (int(round(d.pixel[0])), int(round(d.pixel[1]))), color, cv2.MARKER_CROSS, 10, 2)
        label = f"#{rank} ({d.position[0]:.3f}, {d.position[1]:.3f}) c={d.confidence:.2f}"
        cv2.putText(img, label, (x, max(12, y - 5)), cv2.FONT_HERSHEY_SIMPLEX, 0.45, color, 1)
    return img
