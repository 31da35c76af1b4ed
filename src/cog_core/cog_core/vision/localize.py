"""Background-subtraction object localization with a calibrated monocular camera.

Pipeline for each frame (all at 1/`downscale` resolution, which also averages sensor noise):

1. Global gain: per-channel median of frame / background over sampled workspace pixels, so a
   mild global lighting change (brighter/darker lamp, camera auto-gain) is divided out.
2. Change test per pixel against the background model (`cog_core.vision.background`): a pixel
   changed when its colour changed in a way no brightness scaling explains, or it became much
   darker or brighter; shadows and residual lighting only scale brightness a little and count
   as *faint* changes. Clipped (over-exposed) background channels are handled so that a shadow
   on them is no colour change.
3. Outside the workspace mask and inside the caller's exclusion mask (the robot arm) is zeroed;
   morphological opening removes speckle, closing fills holes; connected components.
4. Each blob: its confidence grows with how far its pixels passed their thresholds (colour,
   darkening or brightening alike), its solidity and size. The object's silhouette
   (`cog_core.vision.silhouette`) is fitted to it. When the blob shows the whole object, the
   blob's centroid is back-projected to a ray and intersected with the horizontal plane at the
   object's centre height; when part is missing (the arm mask hides it, or the top face looks
   exactly like the table), the fitted silhouette gives the footprint instead.
5. A candidate is withheld, with the reason, when the arm hides too much of its silhouette to
   trust the position, when its contrast is too low, or when it does not look like the object;
   faint changes of an object's size are reported as withheld for too little contrast.

`Localizer.analyze` returns the detections (ranked by confidence) and the withheld candidates;
`Localizer.localize` just the detections, [] meaning "nothing found".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from cog_core.vision.background import BackgroundModel, ChangeMaps, ChangeThresholds, colour_share, frame_gain
from cog_core.vision.camera import CameraModel
from cog_core.vision.masks import workspace_mask
from cog_core.vision.objects import load_object_table, lookup
from cog_core.vision.silhouette import ObjectShape, SilhouetteFit, fit_silhouette, place_silhouette


@dataclass
class LocalizerConfig:
    """Tuning of the localizer; the defaults suit a 640x480 camera ~0.6-1 m from the table."""

    downscale: int = 2  # process at 1/downscale resolution (1, 2 or 4)
    workspace: tuple[float, float, float, float] = (0.15, 0.55, -0.30, 0.30)  # x_min, x_max, y_min, y_max (m, base)
    object_height: float = 0.04  # full height of the sought object (m); its centre is at half of it
    object_size: float = 0.04  # footprint diameter (or side) of the sought object (m)
    objects_file: str = ""  # per-object table (YAML: objects: {name: {height, size}}); see docs/calibration.md
    object_name: str = ""  # the object of objects_file to find; '' = object_height / object_size
    estimate_height: bool = False  # take the object's height (and width) from the blob's extent, not object_height
    height_tolerance: float = 0.02  # warn when the blob's height estimate is this far (m) from the configured one
    max_object_height: float = 0.12  # tallest object expected; bounds the workspace mask in the image
    k_sigma: float = 5.0  # change threshold in units of the per-pixel noise sigma
    noise_floor: float = 2.0  # smallest noise sigma assumed per pixel (grey levels, after downscale)
    min_color_change: float = 20.0  # smallest colour change (grey levels, |f - r b| over RGB) counted
    dark_ratio: float = 0.45  # darker than this fraction of the background: an object, not a shadow
    bright_ratio: float = 1.6  # brighter than this: an object, not lighting
    faint_dark_ratio: float = 0.8  # darker than this (but not dark_ratio): a faint change, too little contrast
    faint_bright_ratio: float = 1.25  # brighter than this (but not bright_ratio): a faint change
    clip_level: float = 250.0  # background channels this bright are clipped (over-exposed)
    open_px: int = 3  # opening kernel (pixels, at processing resolution)
    close_px: int = 5  # closing kernel
    min_area_m2: float = 3.0e-4  # blob area on the object plane (m^2); 3e-4 ~ 1.7 x 1.7 cm
    max_area_m2: float = 2.5e-2  # ~ 16 x 16 cm
    min_confidence: float = 0.05  # candidates below are withheld for too little contrast
    max_hidden_fraction: float = 0.3  # withhold a candidate when the arm mask hides more of its silhouette
    min_top_coverage: float = 0.5  # the blob shows the whole object when it covers this much of the top face and sides
    min_fit: float = 0.5  # a partly seen blob must cover this much of the fitted sides and lie this much inside it
    min_explained: float = 0.65  # a larger blob of which less than this fits one object is several objects touching
    min_explained_whole: float = 0.75  # a blob is the whole object only when this much of it lies in the silhouette
    max_candidates: int = 10
    gain_samples: int = 4000  # pixels sampled for the global gain estimate

    def thresholds(self) -> ChangeThresholds:
        """The change test's thresholds."""
        return ChangeThresholds(k_sigma=self.k_sigma, min_color_change=self.min_color_change,
                                dark_ratio=self.dark_ratio, bright_ratio=self.bright_ratio,
                                faint_dark_ratio=self.faint_dark_ratio, faint_bright_ratio=self.faint_bright_ratio)


@dataclass(frozen=True)
class Detection:
    """One localized object candidate."""

    position: np.ndarray  # (3,) object centre in the robot base frame (m)
    pixel: tuple[float, float]  # image of the centre (u, v), full-resolution pixels
    bbox: tuple[int, int, int, int]  # x, y, width, height of the blob, full-resolution pixels
    area_px: int  # blob area in full-resolution pixels
    area_m2: float  # blob area on the object plane
    confidence: float  # 0..1, the ranking key
    hidden_fraction: float = 0.0  # fraction of the object's expected silhouette under the exclusion mask
    height_estimate: float | None = None  # object height the blob's extent suggests (m); None when hidden
    method: str = "centroid"  # "centroid" (whole blob seen) or "silhouette" (fitted to a partly seen blob)
    warnings: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """Plain-data form (for printing / JSON / ROS messages)."""
        return {
            "position": [round(float(x), 4) for x in self.position],
            "pixel": [round(float(x), 1) for x in self.pixel],
            "bbox": [int(x) for x in self.bbox],
            "area_px": int(self.area_px),
            "area_cm2": round(float(self.area_m2) * 1e4, 2),
            "confidence": round(float(self.confidence), 3),
            "hidden_fraction": round(float(self.hidden_fraction), 3),
            "height_estimate": None if self.height_estimate is None else round(float(self.height_estimate), 4),
            "method": self.method,
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class Withheld:
    """A candidate that is not reported as a detection, and why."""

    kind: str  # "occluded" | "low_contrast" | "unlike_object" | "merged" | "too_large" | "outside_workspace"
    reason: str  # one line for people
    pixel: tuple[float, float]  # blob centroid, full-resolution pixels
    bbox: tuple[int, int, int, int]
    position: np.ndarray | None = None  # the position it would have had (m), where one was computed
    hidden_fraction: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """Plain-data form (for printing / JSON / ROS messages)."""
        return {
            "kind": self.kind,
            "reason": self.reason,
            "pixel": [round(float(x), 1) for x in self.pixel],
            "bbox": [int(x) for x in self.bbox],
            "position": None if self.position is None else [round(float(x), 4) for x in self.position],
            "hidden_fraction": round(float(self.hidden_fraction), 3),
        }


@dataclass(frozen=True)
class ShapeEstimate(ObjectShape):
    """An object shape estimated from a blob."""

    shows_top: bool = True  # whether the blob showed the top face (else only the sides: less precise)


@dataclass
class LocalizeResult:
    """Everything one frame gave: detections best first, and the candidates withheld with reasons."""

    detections: list[Detection] = field(default_factory=list)
    withheld: list[Withheld] = field(default_factory=list)

    @property
    def found(self) -> bool:
        """True when at least one detection is reported."""
        return bool(self.detections)

    def summary(self) -> str:
        """One line: what was found, or why nothing was."""
        if self.detections:
            extra = f"; {len(self.withheld)} candidate(s) withheld" if self.withheld else ""
            return f"{len(self.detections)} candidate(s) found{extra}"
        if not self.withheld:
            return "nothing found: no change against the background inside the workspace"
        return "nothing found: " + "; ".join(w.reason for w in self.withheld)

    def as_dict(self) -> dict[str, Any]:
        """Plain-data form (for printing / JSON / ROS messages)."""
        return {"found": self.found, "detections": [d.as_dict() for d in self.detections],
                "withheld": [w.as_dict() for w in self.withheld], "summary": self.summary()}


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
        self.objects: dict[str, ObjectShape] = load_object_table(cfg.objects_file) if cfg.objects_file else {}
        if cfg.object_name and not cfg.objects_file:
            raise ValueError(f"object_name={cfg.object_name!r} needs objects_file (the per-object table) to look it up")
        self.shape = (lookup(self.objects, cfg.object_name, cfg.objects_file) if cfg.object_name
                      else ObjectShape(cfg.object_height, cfg.object_size))
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
        self.background: BackgroundModel | None = None
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
        """Build the per-pixel background model (mean colour, noise sigma, clipped channels) from empty-workspace frames."""
        frames = list(frames)
        if not frames:
            raise ValueError("set_background needs at least one frame of the empty workspace")
        small = [self._small(self._check_frame(f, f"background frame {i}")) for i, f in enumerate(frames)]
        cfg = self.config
        self.background = BackgroundModel(small, cfg.thresholds(), noise_floor=cfg.noise_floor, clip_level=cfg.clip_level)

    # ------------------------------------------------------------------ detection
    def change_mask(self, frame: np.ndarray, exclude_mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Foreground mask (uint8 0/1) and squared colour change |f - r b|^2, at processing resolution."""
        mask, _, maps = self._masks(frame, exclude_mask)
        return mask, maps.color_sq

    def _model(self) -> BackgroundModel:
        """The background model; RuntimeError saying what to do before there is one."""
        if self.background is None:
            raise RuntimeError("call set_background(frames) with empty-workspace frames before localize()")
        return self.background

    def _masks(self, frame: np.ndarray,
               exclude_mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None, ChangeMaps]:
        """Cleaned foreground mask (uint8), the exclusion mask and the change maps, at processing resolution."""
        model = self._model()
        f = self._small(self._check_frame(frame))
        maps = model.change(f, frame_gain(f, model, self._sample_idx))
        keep = self.workspace_mask_small
        excluded = None
        if exclude_mask is not None:
            excluded = self._small_mask(exclude_mask)
            keep = keep & ~excluded
        mask = (maps.changed & keep).view(np.uint8)
        if self._open is not None:
            mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, self._open)
        if self._close is not None:
            mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, self._close)
        return mask, excluded, maps

    def _small_mask(self, mask: np.ndarray) -> np.ndarray:
        mask = np.asarray(mask)
        if mask.shape != self.full_shape:
            raise ValueError(f"exclude_mask has shape {mask.shape}; expected {self.full_shape} (the image size)")
        if self.config.downscale == 1:
            return mask.astype(bool)
        h, w = self.small_shape
        # any excluded pixel inside a block excludes the block
        return cv2.resize(mask.astype(np.uint8) * 255, (w, h), interpolation=cv2.INTER_AREA) > 0

    def _shape(self, object_height: float | None, object_name: str | None) -> ObjectShape:
        shape = lookup(self.objects, object_name, self.config.objects_file or "the objects table") if object_name \
            else self.shape
        if object_height is not None:
            shape = ObjectShape(float(object_height), shape.size)
        return shape

    def _full_px(self, uv: np.ndarray) -> tuple[float, float]:
        ds = self.config.downscale
        return float((uv[0] + 0.5) * ds - 0.5), float((uv[1] + 0.5) * ds - 0.5)

    def analyze(self, frame: np.ndarray, exclude_mask: np.ndarray | None = None, object_height: float | None = None,
                object_name: str | None = None) -> LocalizeResult:
        """Detections in an RGB frame (best first) and the candidates withheld, with reasons.

        exclude_mask: optional (H, W) bool image of pixels to ignore (e.g. the robot arm, see
        `cog_core.vision.masks.wx250s_arm_segments` + `capsule_mask`).
        object_height: full height of the sought object; default from the config / object table.
        object_name: look the object's height and size up in the config's objects file.
        """
        cfg = self.config
        shape = self._shape(object_height, object_name)
        mask, excluded, maps = self._masks(frame, exclude_mask)
        result = LocalizeResult()
        n, labels, stats, centroids = cv2.connectedComponentsWithStats(mask, connectivity=8)
        if n > 1:
            self._blobs(n, labels, stats, centroids, excluded, maps, shape, result)
        if not result.detections:  # say why nothing was found: faint changes of an object's size
            self._faint(maps, mask, excluded, shape, result)
        result.detections.sort(key=lambda d: -d.confidence)
        result.detections = result.detections[: cfg.max_candidates]
        return result

    def _plane_geometry(self, cxy: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
        """Points where the rays through pixels (N, 2) meet the plane z, and the metric area of one pixel there."""
        n = len(cxy)
        pts = self.small_camera.pixel_to_plane(np.vstack([cxy, cxy + [1.0, 0.0], cxy + [0.0, 1.0]]), z)
        p0, pu, pv = pts[:n], pts[n : 2 * n], pts[2 * n :]
        return p0, np.linalg.norm(np.cross(pu - p0, pv - p0), axis=1)

    def _in_workspace(self, p: np.ndarray) -> bool:
        x0, x1, y0, y1 = self.config.workspace
        return bool(np.all(np.isfinite(p)) and x0 <= p[0] <= x1 and y0 <= p[1] <= y1)

    def _blobs(self, n: int, labels: np.ndarray, stats: np.ndarray, centroids: np.ndarray,
               excluded: np.ndarray | None, maps: ChangeMaps, shape: ObjectShape, result: LocalizeResult) -> None:
        """Judge every connected component: a detection, a withheld candidate, or noise."""
        cxy = centroids[1:]
        on_plane, px_area = self._plane_geometry(cxy, self.camera.table_z + shape.height / 2)
        area_m2 = stats[1:, cv2.CC_STAT_AREA] * px_area
        for k in range(n - 1):
            if not np.all(np.isfinite(on_plane[k])) or area_m2[k] < self.config.min_area_m2:
                continue  # speckle, or a ray that misses the plane
            item = self._blob(labels, k + 1, stats[k + 1], cxy[k], on_plane[k], float(area_m2[k]), excluded, maps, shape)
            if isinstance(item, Detection):
                result.detections.append(item)
            elif item is not None:
                result.withheld.append(item)

    def _blob(self, labels: np.ndarray, label: int, stat: np.ndarray, centroid: np.ndarray, on_plane: np.ndarray,
              area_m2: float, excluded: np.ndarray | None, maps: ChangeMaps,
              shape: ObjectShape) -> Detection | Withheld | None:
        """One blob: where the object is, and whether that answer can be given (None: outside the workspace)."""
        cfg = self.config
        ds = cfg.downscale
        bx, by, bw, bh, area = (int(v) for v in stat[:5])
        box = (bx, by, bw, bh)
        bbox = (bx * ds, by * ds, bw * ds, bh * ds)
        pixel = self._full_px(centroid)
        if area_m2 > cfg.max_area_m2:
            return Withheld("too_large", f"a change of {area_m2 * 1e4:.0f} cm^2 at pixel ({pixel[0]:.0f}, {pixel[1]:.0f}) "
                            f"is larger than any object (max_area_m2 = {cfg.max_area_m2 * 1e4:.0f} cm^2): a moved thing, "
                            "a person, or a new background is needed", pixel, bbox)
        rows, cols = np.nonzero(labels[by : by + bh, bx : bx + bw] == label)
        rows += by
        cols += bx
        strength = float(np.median(maps.strength(rows, cols, self._model())))
        # a blob kept by its colour is the whole object where it is not masked; one kept only by
        # darkening or brightening may be part of one (the sides of a table-coloured object, the
        # part outside the gripper's shadow): it is always fitted
        coloured = colour_share(maps, rows, cols, self._model()) >= 0.5
        fit, position, method, estimate = self._judge(labels, label, box, (cols, rows), excluded, on_plane, shape,
                                                      coloured)
        height_est = estimate.height if estimate is not None else None
        if cfg.estimate_height and estimate is not None and estimate.height > 0.005:
            shape = estimate
            on_plane = self.small_camera.pixel_to_plane(centroid[None], self.camera.table_z + shape.height / 2)[0]
            fit, position, method, _ = self._judge(labels, label, box, (cols, rows), excluded, on_plane, shape, coloured)
        tolerance = self._height_tolerance(estimate)
        height_off = (not cfg.estimate_height and height_est is not None
                      and abs(height_est - shape.height) > tolerance)
        if not self._in_workspace(position):
            if not height_off:
                return None  # an object outside the workspace is none of our business
            return Withheld("outside_workspace", f"a change at pixel ({pixel[0]:.0f}, {pixel[1]:.0f}) lands outside the "
                            f"workspace at ({position[0]:.3f}, {position[1]:.3f}); "
                            + self._height_warnings(height_est, shape, 0.0)[0], pixel, bbox, position)
        solidity = area / float(bw * bh)
        size_ok = min(1.0, area_m2 / (3 * cfg.min_area_m2))
        contrast = 1.0 - np.exp(-max(strength - 0.5, 0.0))
        confidence = contrast * (0.5 + 0.5 * solidity) * size_ok * (1.0 - fit.hidden)
        reason = self._withhold_reason(fit, method, shape, area, confidence, height_est if height_off else None)
        if reason is not None:
            kind, text = reason
            return Withheld(kind, text.format(where=f"near ({position[0]:.3f}, {position[1]:.3f})"), pixel, bbox,
                            position, fit.hidden)
        uv, _ = self.camera.project(position[None])
        return Detection(position=position, pixel=(float(uv[0, 0]), float(uv[0, 1])), bbox=bbox, area_px=area * ds * ds,
                         area_m2=area_m2, confidence=float(confidence), hidden_fraction=fit.hidden,
                         height_estimate=height_est, method=method,
                         warnings=self._height_warnings(height_est, shape, tolerance))

    def _withhold_reason(self, fit: SilhouetteFit, method: str, shape: ObjectShape, area: int, confidence: float,
                         looks_tall: float | None) -> tuple[str, str] | None:
        """(kind, reason with a {where} slot) when the candidate must not be reported, else None."""
        cfg = self.config
        if fit.explained < cfg.min_explained and area > 1.3 * fit.area:
            looks = "" if looks_tall is None else f"; it looks {100 * looks_tall:.0f} cm tall"
            return ("merged" if looks_tall is None else "unlike_object",
                    f"a change {{where}} is {area / fit.area:.1f} times the image of a {100 * shape.size:.0f} cm wide, "
                    f"{100 * shape.height:.0f} cm tall object and only {100 * fit.explained:.0f} % of it fits one{looks}: "
                    "objects touching in the image (move them apart) or a larger object (set object_height / "
                    "object_size, or name it in an objects file)")
        if fit.hidden > cfg.max_hidden_fraction:
            return ("occluded", f"the arm mask hides {100 * fit.hidden:.0f} % of a candidate {{where}} (more than "
                    f"max_hidden_fraction = {100 * cfg.max_hidden_fraction:.0f} %): its position is not reliable; "
                    "localize with the arm out of the way")
        if method == "silhouette" and min(fit.side_coverage, fit.explained) < cfg.min_fit:
            return ("unlike_object", f"a partly seen change {{where}} does not match a {100 * shape.size:.0f} x "
                    f"{100 * shape.height:.0f} cm object (it covers {100 * fit.side_coverage:.0f} % of the fitted sides, "
                    f"{100 * fit.explained:.0f} % of it lies inside): a shadow or a different object; check "
                    "object_height / object_size")
        if confidence < cfg.min_confidence:
            return ("low_contrast", f"too little contrast: a change {{where}} has confidence {confidence:.3f} < "
                    f"min_confidence {cfg.min_confidence}")
        return None

    def _judge(self, labels: np.ndarray, label: int, box: tuple[int, int, int, int],
               pixels: tuple[np.ndarray, np.ndarray], excluded: np.ndarray | None, on_plane: np.ndarray,
               shape: ObjectShape, coloured: bool = True
               ) -> tuple[SilhouetteFit, np.ndarray, str, ShapeEstimate | None]:
        """The silhouette fit of one blob, the object's centre it gives, the method used, and the
        object's height and width as the blob's extent suggests them (None when partly masked).

        First the silhouette where the blob's centroid puts the object: when the blob was kept by
        its colour, covers the silhouette's top face and sides, nothing of it is masked, its
        height agrees and most of the blob lies inside it, the blob is the whole object and its
        centroid is the answer. Otherwise the silhouette is fitted to the part that is seen and
        its footprint is the answer.
        """
        cfg = self.config
        table_z = self.camera.table_z
        z = table_z + shape.height / 2
        fit = place_silhouette(self.small_camera, labels, label, box, excluded, on_plane, table_z, shape, pixels,
                               top_if_unsure=coloured)
        estimate = self._shape_estimate(fit)
        whole = (coloured and fit.hidden < 0.02 and not _touches(labels, label, box, excluded)
                 and min(fit.top_coverage, fit.side_coverage) >= cfg.min_top_coverage
                 and estimate is not None and estimate.height >= shape.height - self._height_tolerance(estimate)
                 and fit.explained >= cfg.min_explained_whole)
        if whole:
            return fit, np.array(on_plane, dtype=float), "centroid", estimate
        fit = fit_silhouette(self.small_camera, labels, label, box, excluded, on_plane, table_z, shape)
        return fit, np.array([fit.ground[0], fit.ground[1], z]), "silhouette", estimate

    @staticmethod
    def _shape_estimate(fit: SilhouetteFit) -> ShapeEstimate | None:
        """Height and width of the object as the blob's extent suggests them; None when partly masked."""
        if fit.height_estimate is None or fit.size_estimate is None:
            return None
        return ShapeEstimate(max(fit.height_estimate, 0.005), max(fit.size_estimate, 0.005), bool(fit.shows_top))

    def _height_tolerance(self, estimate: ShapeEstimate | None) -> float:
        """How far a height estimate may be from the configured height: wider when only the sides were
        seen (an object of the table's colour), whose extent measures the height less well."""
        return self.config.height_tolerance * (1.0 if estimate is None or estimate.shows_top else 1.5)

    def _height_warnings(self, estimate: float | None, shape: ObjectShape, tolerance: float) -> tuple[str, ...]:
        """The warning for a height estimate more than `tolerance` from the configured height (none with estimate_height)."""
        if estimate is None or self.config.estimate_height or abs(estimate - shape.height) <= tolerance:
            return ()
        return (f"the blob looks {100 * estimate:.1f} cm tall but the object height is {100 * shape.height:.1f} cm; "
                f"a wrong height moves the position by about {50 * abs(estimate - shape.height) / self._tan_elevation():.1f} cm "
                "(set object_height, or name the object in an objects file)",)

    def _tan_elevation(self) -> float:
        """tan of the camera's viewing angle below the horizontal, at the image centre."""
        view = self.camera.pose.R[:, 2]
        return float(max(-view[2], 0.05) / max(np.hypot(view[0], view[1]), 1e-6))

    def _faint(self, maps: ChangeMaps, mask: np.ndarray, excluded: np.ndarray | None, shape: ObjectShape,
               result: LocalizeResult) -> None:
        """Report object-sized faint changes away from every blob as withheld for too little contrast."""
        cfg = self.config
        keep = maps.faint(self._model()) & self.workspace_mask_small
        if excluded is not None:
            keep &= ~excluded
        faint = keep.view(np.uint8)
        if self._open is not None:
            faint = cv2.morphologyEx(faint, cv2.MORPH_OPEN, self._open)
        if not faint.any():
            return
        n, labels, stats, centroids = cv2.connectedComponentsWithStats(faint, connectivity=8)
        if n <= 1:
            return
        near_blob = cv2.dilate(mask, np.ones((5, 5), np.uint8)) if mask.any() else None
        z = self.camera.table_z + shape.height / 2
        p0, px_area = self._plane_geometry(centroids[1:], z)
        ds = cfg.downscale
        for k in range(n - 1):
            area_m2 = stats[k + 1, cv2.CC_STAT_AREA] * px_area[k]
            if not (cfg.min_area_m2 <= area_m2 <= cfg.max_area_m2) or not self._in_workspace(p0[k]):
                continue
            bx, by, bw, bh = (int(v) for v in stats[k + 1, :4])
            if near_blob is not None and near_blob[by : by + bh, bx : bx + bw][labels[by : by + bh, bx : bx + bw] == k + 1].any():
                continue  # a shadow or faint edge of a blob already judged
            result.withheld.append(Withheld(
                "low_contrast", f"too little contrast: a faint change of {area_m2 * 1e4:.0f} cm^2 near "
                f"({p0[k][0]:.3f}, {p0[k][1]:.3f}) (brightness changed without the colour, less than dark_ratio / "
                "bright_ratio allow): a shadow, or an object too close to the table's colour and brightness",
                self._full_px(centroids[k + 1]), (bx * ds, by * ds, bw * ds, bh * ds), p0[k].copy()))

    def localize(self, frame: np.ndarray, exclude_mask: np.ndarray | None = None,
                 object_height: float | None = None, object_name: str | None = None) -> list[Detection]:
        """All object candidates in an RGB frame, best first; [] means nothing was found (see `analyze` for why)."""
        return self.analyze(frame, exclude_mask, object_height, object_name).detections

    def best(self, frame: np.ndarray, exclude_mask: np.ndarray | None = None,
             object_height: float | None = None, object_name: str | None = None) -> Detection | None:
        """The highest-ranked candidate, or None when nothing was found."""
        found = self.localize(frame, exclude_mask, object_height, object_name)
        return found[0] if found else None


def _touches(labels: np.ndarray, label: int, box: tuple[int, int, int, int], excluded: np.ndarray | None) -> bool:
    """Whether blob `label` (bbox x, y, w, h) reaches within two pixels of an excluded pixel (it may be cut)."""
    if excluded is None:
        return False
    x, y, w, h = box
    rows, cols = labels.shape
    x0, y0, x1, y1 = max(x - 2, 0), max(y - 2, 0), min(x + w + 2, cols), min(y + h + 2, rows)
    blob = (labels[y0:y1, x0:x1] == label).view(np.uint8)
    grown = cv2.dilate(blob, np.ones((5, 5), np.uint8)).view(bool)
    return bool((grown & excluded[y0:y1, x0:x1]).any())


def annotate(frame: np.ndarray, detections: Sequence[Detection], workspace: np.ndarray | None = None,
             withheld: Sequence[Withheld] = ()) -> np.ndarray:
    """RGB copy of `frame` with boxes, centres, ranks and base-frame positions drawn on; withheld candidates in red."""
    img = np.ascontiguousarray(frame.copy())
    if workspace is not None:
        contours, _ = cv2.findContours(workspace.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(img, contours, -1, (255, 255, 0), 1)
    if not detections:
        cv2.putText(img, "nothing found", (10, 25), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 0, 0), 2)
    for held in withheld:
        x, y, bw, bh = held.bbox
        cv2.rectangle(img, (x, y), (x + bw, y + bh), (255, 0, 0), 1)
        cv2.putText(img, f"withheld: {held.kind}", (x, max(12, y - 5)), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 0, 0), 1)
    for rank, d in enumerate(detections, 1):
        x, y, w, h = d.bbox
        color = (0, 255, 0) if rank == 1 else (255, 160, 0)
        cv2.rectangle(img, (x, y), (x + w, y + h), color, 2)
        cv2.drawMarker(img, (int(round(d.pixel[0])), int(round(d.pixel[1]))), color, cv2.MARKER_CROSS, 10, 2)
        label = f"#{rank} ({d.position[0]:.3f}, {d.position[1]:.3f}) c={d.confidence:.2f}"
        cv2.putText(img, label, (x, max(12, y - 5)), cv2.FONT_HERSHEY_SIMPLEX, 0.45, color, 1)
    return img
