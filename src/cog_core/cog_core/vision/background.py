"""Background model of the empty workspace and the per-pixel change test against it.

Everything here works on images already reduced to the localizer's processing resolution
(float32, H x W x 3). With b the background colour and f the gain-corrected frame:

- r = sum(f) / sum(b) is the brightness ratio, and e = |f - r b| the colour change that no
  brightness scaling explains. A shadow or a lighting change scales brightness, so it moves r
  but leaves e near zero.
- A pixel *changed* (may belong to an object) when e beats max(k_sigma * sigma, min_color_change),
  or r is below `dark_ratio` / above `bright_ratio` and the brightness change beats the noise.
  Dark, grey and white objects are found through r, coloured ones through e.
- A pixel changed *faintly* when e beats only the noise, or r left the band
  (`faint_dark_ratio`, `faint_bright_ratio`): what a shadow, or an object of the table's own
  colour and brightness, does. Faint changes are never objects; they let the localizer say
  "too little contrast" instead of nothing.
- Clipped background channels (over-exposed table) only bound the true colour from below, so
  there a darkening may reveal colour that was clipped away. For such pixels the colour change
  is measured against the ratio of the unclipped channels, and a clipped channel counts only
  where it is *darker* than that ratio allows: a shadow on an over-exposed table is then no
  colour change, while a blue or red object still is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class ChangeThresholds:
    """The change test's thresholds (grey levels at processing resolution, ratios)."""

    k_sigma: float = 5.0
    min_color_change: float = 20.0
    dark_ratio: float = 0.45
    bright_ratio: float = 1.6
    faint_dark_ratio: float = 0.8
    faint_bright_ratio: float = 1.25


@dataclass
class ChangeMaps:
    """Per-pixel results of the change test at processing resolution."""

    changed: np.ndarray  # (h, w) bool: beats a threshold (colour, or much darker/brighter)
    ratio: np.ndarray  # (h, w) float32 brightness ratio r
    color_sq: np.ndarray  # (h, w) float32 squared colour change e^2
    beats_noise: np.ndarray  # (h, w) bool: the brightness change is beyond the noise

    def faint(self, model: BackgroundModel) -> np.ndarray:
        """(h, w) bool: changed beyond the noise, but not enough to be an object (a shadow, say)."""
        t = model.thresholds
        r = self.ratio
        faint = (self.color_sq > model.faint_color_sq) | (((r < t.faint_dark_ratio) | (r > t.faint_bright_ratio))
                                                          & self.beats_noise)
        return faint & ~self.changed

    def strength(self, rows: np.ndarray, cols: np.ndarray, model: BackgroundModel) -> np.ndarray:
        """Change of the given pixels in units of the threshold each passed (1 = just at a threshold).

        The largest of: colour change / colour threshold, darkening (1 - r) / (1 - dark_ratio),
        brightening (r - 1) / (bright_ratio - 1).
        """
        t = model.thresholds
        color = np.sqrt(self.color_sq[rows, cols]) / model.color_threshold[rows, cols]
        r = self.ratio[rows, cols]
        dark = (1.0 - r) / (1.0 - t.dark_ratio)
        bright = (r - 1.0) / (t.bright_ratio - 1.0)
        return np.maximum(color, np.maximum(dark, bright))


def colour_share(maps: ChangeMaps, rows: np.ndarray, cols: np.ndarray, model: BackgroundModel) -> float:
    """Fraction of the given pixels whose colour change passed the colour threshold."""
    if not len(rows):
        return 0.0
    return float(np.mean(maps.color_sq[rows, cols] > model.color_threshold[rows, cols] ** 2))


class BackgroundModel:
    """Per-pixel mean colour, noise sigma and clipped channels of N empty-workspace frames."""

    def __init__(self, frames: Sequence[np.ndarray], thresholds: ChangeThresholds, noise_floor: float = 2.0,
                 clip_level: float = 250.0):
        """`frames`: float32 (h, w, 3) images at processing resolution (at least one)."""
        if not len(frames):
            raise ValueError("set_background needs at least one frame of the empty workspace")
        stack = np.stack(frames).astype(np.float32)
        self.thresholds = thresholds
        self.n_frames = len(frames)
        self.mean = stack.mean(axis=0)
        if len(frames) > 1:
            # colour noise: RMS over channels of the per-channel standard deviation
            sigma = np.sqrt(stack.var(axis=0, ddof=1).mean(axis=2))
        else:
            sigma = np.zeros(self.mean.shape[:2], np.float32)
        self.sigma = np.maximum(sigma, noise_floor).astype(np.float32)
        self.intensity = np.maximum(self.mean.sum(axis=2), 1.0).astype(np.float32)
        self._inv_intensity = (1.0 / self.intensity).astype(np.float32)
        self._planes = [np.ascontiguousarray(p) for p in cv2.split(self.mean)]
        k = thresholds.k_sigma
        self.color_threshold = np.maximum(k * self.sigma * np.float32(np.sqrt(2.0)), thresholds.min_color_change)
        self._color_sq = (self.color_threshold**2).astype(np.float32)
        self.faint_color_sq = ((k * self.sigma * np.float32(np.sqrt(2.0))) ** 2).astype(np.float32)
        self._intensity_noise = (k * self.sigma * np.float32(np.sqrt(3.0))).astype(np.float32)
        # clipped channels: the background's true colour is only known to be at least this bright
        clipped = self.mean >= clip_level
        self.clipped_fraction = float(clipped.any(axis=2).mean())
        rows, cols = np.nonzero(clipped.any(axis=2))
        self._clip_px = (rows, cols)
        self._clip_unclipped = (~clipped[rows, cols]).astype(np.float32)  # (n, 3) 1 where usable
        self._clip_bg = self.mean[rows, cols]  # (n, 3)

    def change(self, frame: np.ndarray, gain: np.ndarray) -> ChangeMaps:
        """The change test of one float32 (h, w, 3) frame, after dividing out the per-channel `gain`."""
        t = self.thresholds
        # per colour plane: reductions over a trailing axis of length 3 are slow in NumPy
        planes = [p * np.float32(1.0 / g) for p, g in zip(cv2.split(frame), gain)]
        intensity = planes[0] + planes[1] + planes[2]
        r = intensity * self._inv_intensity
        e2 = np.zeros_like(intensity)
        for p, b in zip(planes, self._planes):
            d = p - r * b
            e2 += d * d
        if len(self._clip_px[0]):
            self._clipped_change(planes, e2)
        changed = e2 > self._color_sq
        beats_noise = np.abs(intensity - self.intensity) > self._intensity_noise
        changed |= ((r < t.dark_ratio) | (r > t.bright_ratio)) & beats_noise
        return ChangeMaps(changed=changed, ratio=r, color_sq=e2, beats_noise=beats_noise)

    def _clipped_change(self, planes: list[np.ndarray], e2: np.ndarray) -> None:
        """Redo e^2 where the background has clipped channels (see the module docstring)."""
        rows, cols = self._clip_px
        f = np.stack([p[rows, cols] for p in planes], axis=1)  # (n, 3)
        b, use = self._clip_bg, self._clip_unclipped
        b_used = (b * use).sum(axis=1)
        some = b_used > 1.0
        ratio = np.empty(len(rows), np.float32)
        ratio[some] = (f[some] * use[some]).sum(axis=1) / b_used[some]
        # all channels clipped: the largest ratio every channel allows, so no colour change is seen
        ratio[~some] = (f[~some] / np.maximum(b[~some], 1.0)).min(axis=1)
        d = f - ratio[:, None] * b
        # a clipped channel may be brighter than r b (its true background was brighter), never darker
        d = np.where(use > 0, d, np.minimum(d, 0.0))
        e2[rows, cols] = (d * d).sum(axis=1)
        # r itself stays the measured ratio: against a clipped background it understates a
        # darkening, so a shadow there looks no darker than it would on a well exposed table


def frame_gain(frame: np.ndarray, model: BackgroundModel, sample: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Per-channel global gain of `frame` against the background: median ratio over sampled pixels."""
    fy, fx = sample
    ratios = frame[fy, fx] / np.maximum(model.mean[fy, fx], 1.0)
    return np.clip(np.median(ratios, axis=0), 0.2, 5.0).astype(np.float32)
