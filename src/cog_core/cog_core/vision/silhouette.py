"""The image silhouette of an upright object and its fit to a partly seen blob.

An object is modelled as an upright cylinder (footprint diameter `size`, height `height`)
standing on the table. Seen from above at an angle its silhouette has two parts: the top face
(an ellipse) and the sides (the crescent below it). Every part of an object the change test
sees lies inside that silhouette, but not every part is seen:

- an object of the table's own colour shows its sides (shaded differently from the table) and
  hides its top face, which is lit exactly like the table;
- the robot arm's exclusion mask hides whatever it covers.

`fit_silhouette` slides the silhouette over the blob to the place where it explains the blob
best: blob pixels inside the silhouette count for it, blob pixels outside (a shadow) against it
by half, visible side pixels that did not change against it, and the top face and masked
pixels not at all. The footprint centre follows from the best image shift; the fit also says
how much of the silhouette the arm mask hides (`hidden`), how much of the top face and sides
the blob covers, and the object's height as the blob's extent suggests it (`height_estimate`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import cv2
import numpy as np

from cog_core.vision.camera import CameraModel

_RING = 24  # points per circle of the cylinder model
_RING_COS = np.tile(np.cos(np.linspace(0.0, 2 * np.pi, _RING, endpoint=False)), 2)  # bottom ring, then top ring
_RING_SIN = np.tile(np.sin(np.linspace(0.0, 2 * np.pi, _RING, endpoint=False)), 2)
_SUBPIXEL_BITS = 4


@dataclass(frozen=True)
class ObjectShape:
    """What the localizer assumes about the sought object: full height and footprint diameter (m)."""

    height: float
    size: float

    def __post_init__(self) -> None:
        if not (self.height >= 0 and self.size > 0):
            raise ValueError(f"object height must be >= 0 and size > 0 (metres), got height={self.height} size={self.size}")


@dataclass
class Template:
    """Anti-aliased silhouette parts (float32 0..1) in a small box whose top-left pixel is `origin`."""

    origin: tuple[int, int]  # (x, y) of the box's top-left pixel in the image
    side: np.ndarray  # (h, w) sides region
    top: np.ndarray  # (h, w) top face
    up: np.ndarray  # (2,) unit image direction in which a point moves when it rises
    px_per_m_up: float  # image length (px) of one metre of height at the object
    lowest: float  # along `up` (px): the silhouette's lowest point,
    highest: float  # its highest point,
    top_centre: float  # and the top face's centre (the upper end of the sides region)
    width: float  # the silhouette's extent across `up` (px)

    @property
    def silhouette(self) -> np.ndarray:
        """Top face and sides together."""
        return self.side + self.top


def render_template(camera: CameraModel, ground_xy: np.ndarray, table_z: float, shape: ObjectShape) -> Template:
    """The silhouette of `shape` standing at `ground_xy` (base frame) as `camera` sees it."""
    x, y = float(ground_xy[0]), float(ground_xy[1])
    rho = shape.size / 2
    height = max(shape.height, 0.002)  # a flat object still has a silhouette
    z0, z1 = table_z, table_z + height
    pts = np.empty((2 * _RING + 2, 3))
    pts[: 2 * _RING, 0] = x + rho * _RING_COS
    pts[: 2 * _RING, 1] = y + rho * _RING_SIN
    pts[:_RING, 2], pts[_RING : 2 * _RING, 2] = z0, z1
    pts[-2:] = [[x, y, z0], [x, y, z1]]
    uv, _ = camera.project(pts)
    if not np.all(np.isfinite(uv)):
        raise ValueError("the object model is not in front of the camera")
    ring_uv, (c0, c1) = uv[:-2], uv[-2:]
    lo = np.floor(ring_uv.min(axis=0)).astype(int) - 1
    hi = np.ceil(ring_uv.max(axis=0)).astype(int) + 2
    w, h = (hi - lo).tolist()
    scale = 1 << _SUBPIXEL_BITS

    def fill(points: np.ndarray) -> np.ndarray:
        canvas = np.zeros((h, w), np.uint8)
        hull = cv2.convexHull(np.round((points - lo) * scale).astype(np.int32))
        cv2.fillConvexPoly(canvas, hull, 255, cv2.LINE_AA, _SUBPIXEL_BITS)
        return canvas.astype(np.float32) * np.float32(1 / 255)

    sil = fill(ring_uv)
    top = fill(ring_uv[_RING:])
    length = float(np.linalg.norm(c1 - c0))
    up = (c1 - c0) / max(length, 1e-9)
    t = ring_uv @ up
    across = ring_uv @ np.array([-up[1], up[0]])
    return Template(origin=(int(lo[0]), int(lo[1])), side=np.clip(sil - top, 0.0, 1.0), top=top, up=up,
                    px_per_m_up=length / height, lowest=float(t.min()), highest=float(t.max()),
                    top_centre=float(c1 @ up), width=float(across.max() - across.min()))


@dataclass
class SilhouetteFit:
    """The silhouette placed where it best explains a blob, and how well it does."""

    ground: np.ndarray  # (2,) footprint centre on the table, base frame (m)
    top_coverage: float  # fraction of the visible top face that the blob covers
    side_coverage: float  # fraction of the visible sides that the blob covers
    explained: float  # fraction of the blob inside the silhouette
    hidden: float  # fraction of the silhouette under the exclusion mask (fit: at most, see fit_silhouette)
    area: float  # the silhouette's area (px)
    height_estimate: float | None  # object height the blob's extent suggests (m); None when partly hidden
    size_estimate: float | None  # footprint width the blob's extent suggests (m); None when partly hidden
    shows_top: bool | None = None  # whether the blob's upper edge is the top face's far rim (None: not measured)


def _window(arr: np.ndarray, x0: int, y0: int, x1: int, y1: int, fill: float = 0.0) -> np.ndarray:
    """arr[y0:y1, x0:x1] as float32, padded with `fill` where the box leaves the image."""
    h, w = arr.shape
    out = np.full((y1 - y0, x1 - x0), fill, np.float32)
    sx0, sy0, sx1, sy1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if sx1 > sx0 and sy1 > sy0:
        out[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = arr[sy0:sy1, sx0:sx1]
    return out


def _peak_offset(a: float, b: float, c: float) -> float:
    """Sub-pixel offset of a parabola's vertex through three samples around the maximum b."""
    d = a - 2 * b + c
    return 0.0 if d >= 0 else float(np.clip(0.5 * (a - c) / d, -0.5, 0.5))


def _ground_jacobian(camera: CameraModel, ground_xy: np.ndarray, z: float) -> np.ndarray:
    """d(pixel) / d(ground x, y) of the point at height z above `ground_xy` (2x2)."""
    eps = 0.002
    x, y = ground_xy
    p, _ = camera.project(np.array([[x, y, z], [x + eps, y, z], [x, y + eps, z]]))
    return np.column_stack([(p[1] - p[0]) / eps, (p[2] - p[0]) / eps])


def _known_and_blob(labels: np.ndarray, label: int, excluded: np.ndarray | None,
                    box: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """In the box (x0, y0, x1, y1): this blob (0/1), the pixels whose state is known (not another
    blob, not excluded, inside the image) and the excluded pixels (outside the image counts)."""
    lab = _window(labels, *box, fill=-1)
    blob = (lab == label).astype(np.float32)
    excl = _window(excluded, *box, fill=1) if excluded is not None else (lab < 0).astype(np.float32)
    known = ((lab == 0).astype(np.float32) + blob) * (1.0 - excl)
    return blob, known, excl


def blob_pixels(labels: np.ndarray, label: int, bbox: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Columns and rows of blob `label`, searched inside its bounding box (x, y, w, h)."""
    x, y, w, h = bbox
    rows, cols = np.nonzero(labels[y : y + h, x : x + w] == label)
    return cols + x, rows + y


def place_silhouette(camera: CameraModel, labels: np.ndarray, label: int, bbox: tuple[int, int, int, int],
                     excluded: np.ndarray | None, ground_xy: np.ndarray, table_z: float, shape: ObjectShape,
                     pixels: tuple[np.ndarray, np.ndarray] | None = None, top_if_unsure: bool = True) -> SilhouetteFit:
    """How well the silhouette of `shape` standing at `ground_xy` explains blob `label` (no search).

    pixels: the blob's (columns, rows) when the caller has them already. top_if_unsure: whether
    to measure the height as if the blob showed the top face when its upper edge does not tell
    (a box's straight far edge; true for blobs kept by colour, whose top face changed too).
    """
    xs, ys = pixels if pixels is not None else blob_pixels(labels, label, bbox)
    ground = np.asarray(ground_xy, dtype=float)[:2].copy()
    return _fit_stats(render_template(camera, ground, table_z, shape), labels, label, excluded, ground, xs, ys, shape,
                      top_if_unsure)


def fit_silhouette(camera: CameraModel, labels: np.ndarray, label: int, bbox: tuple[int, int, int, int],
                   excluded: np.ndarray | None, ground_xy: np.ndarray, table_z: float, shape: ObjectShape,
                   side_miss_cost: float = 1.0, outside_cost: float = 0.5, slack: float = 0.1) -> SilhouetteFit:
    """Fit the silhouette of `shape` to blob `label` of `labels` (bbox x, y, w, h), starting from `ground_xy`.

    `labels` are connected components at `camera`'s resolution; pixels of other blobs and
    `excluded` pixels (the arm) are unknown: they neither support nor contradict the fit.
    The fit's `hidden` is the largest hidden fraction among the placements that explain the blob
    almost as well as the best one (score within `slack` x the silhouette's area): an object
    partly under the mask may lie further under it than the best placement says.
    """
    ground = np.asarray(ground_xy, dtype=float)[:2].copy()
    xs, ys = blob_pixels(labels, label, bbox)
    n_blob = len(xs)
    bx0, by0, bw, bh = bbox
    z_mid = table_z + shape.height / 2
    tpl = render_template(camera, ground, table_z, shape)
    wide = int(np.ceil(0.6 * max(tpl.side.shape)))  # the centroid of a part is off by less than this
    for step in range(3):
        th, tw = tpl.side.shape
        ox, oy = tpl.origin
        box = (min(bx0, ox) - wide, min(by0, oy) - wide, max(bx0 + bw, ox + tw) + wide, max(by0 + bh, oy + th) + wide)
        blob, known, excl = _known_and_blob(labels, label, excluded, box)
        in_side = cv2.matchTemplate(blob, tpl.side, cv2.TM_CCORR)
        in_top = cv2.matchTemplate(blob, tpl.top, cv2.TM_CCORR)
        seen_side = cv2.matchTemplate(known, tpl.side, cv2.TM_CCORR)
        inside = in_side + in_top
        score = inside - side_miss_cost * (seen_side - in_side) - outside_cost * (n_blob - inside)
        j, k = np.unravel_index(int(np.argmax(score)), score.shape)
        on_edge = j in (0, score.shape[0] - 1) or k in (0, score.shape[1] - 1)
        dk = _peak_offset(score[j, k - 1], score[j, k], score[j, k + 1]) if 0 < k < score.shape[1] - 1 else 0.0
        dj = _peak_offset(score[j - 1, k], score[j, k], score[j + 1, k]) if 0 < j < score.shape[0] - 1 else 0.0
        shift = np.array([k + dk - (ox - box[0]), j + dj - (oy - box[1])])
        ground = ground + np.linalg.solve(_ground_jacobian(camera, ground, z_mid), shift)
        sil = tpl.silhouette
        if excluded is not None and excl.any():
            near_best = score >= score[j, k] - slack * float(sil.sum())
            hidden_bound = float(cv2.matchTemplate(excl, sil, cv2.TM_CCORR)[near_best].max() / max(float(sil.sum()), 1e-6))
        else:
            hidden_bound = 0.0
        if not on_edge or step == 2:
            # over the few pixels of a shift the silhouette keeps its shape: move it instead of drawing it again
            tpl = dataclasses.replace(tpl, origin=(ox + k - (ox - box[0]), oy + j - (oy - box[1])))
            break
        tpl = render_template(camera, ground, table_z, shape)  # the best lay at the edge: search around it
    fit = _fit_stats(tpl, labels, label, excluded, ground, xs, ys, shape)
    fit.hidden = max(fit.hidden, hidden_bound)
    return fit


def _fit_stats(tpl: Template, labels: np.ndarray, label: int, excluded: np.ndarray | None, ground: np.ndarray,
               xs: np.ndarray, ys: np.ndarray, shape: ObjectShape, top_if_unsure: bool = True) -> SilhouetteFit:
    """Coverage, hidden fraction and height estimate of the silhouette `tpl` against the blob."""
    th, tw = tpl.side.shape
    ox, oy = tpl.origin
    blob, known, excl = _known_and_blob(labels, label, excluded, (ox, oy, ox + tw, oy + th))
    sil = tpl.silhouette
    hidden = float((sil * excl).sum() / max(float(sil.sum()), 1e-6))
    top_seen = float((tpl.top * known).sum())
    side_seen = float((tpl.side * known).sum())
    top_cov = float((tpl.top * blob).sum()) / top_seen if top_seen > 1.0 else 0.0
    side_cov = float((tpl.side * blob).sum()) / side_seen if side_seen > 1.0 else 0.0
    explained = float((sil * blob).sum()) / max(len(xs), 1)
    height = size = shows_top = None
    if hidden < 0.02 and len(xs) >= 8:
        height, size, shows_top = _shape_from_extent(tpl, xs, ys, shape, top_if_unsure)
    return SilhouetteFit(ground=ground, top_coverage=top_cov, side_coverage=side_cov, explained=explained,
                         hidden=hidden, area=float(sil.sum()), height_estimate=height, size_estimate=size,
                         shows_top=shows_top)


def _shape_from_extent(tpl: Template, xs: np.ndarray, ys: np.ndarray, shape: ObjectShape,
                       top_if_unsure: bool = True) -> tuple[float, float, bool]:
    """Object height and width (m) that make the model as tall and as wide in the image as the blob,
    and whether the blob shows the top face.

    Along the image's upward direction the silhouette spans height * px_per_m_up plus a part
    of the footprint that grows with the object's width; the width comes from the blob's extent
    across that direction. Whether the blob shows the top face decides what its upper edge is:
    the top face's far rim bulges the upper edge upwards in the middle, while the sides alone
    (an object whose top looks like the table) leave it lowest in the middle, up to the top face's
    near rim. The blob is then measured up to the far rim, or up to the top face's centre line.
    """
    t = xs * tpl.up[0] + ys * tpl.up[1]
    across = ys * tpl.up[0] - xs * tpl.up[1]
    lo, hi = float(across.min()), float(across.max())
    blob_width = hi - lo + 1.0
    blob_up = float(t.max() - t.min()) + 1.0
    top = _shows_top(t, across, lo, hi, top_if_unsure)
    model_up = (tpl.highest if top else tpl.top_centre) - tpl.lowest
    model_height = max(shape.height, 0.002)
    footprint_part = model_up - model_height * tpl.px_per_m_up  # px, for the model's width
    width_scale = blob_width / max(tpl.width, 1e-6)
    return max(0.0, (blob_up - footprint_part * width_scale) / tpl.px_per_m_up), shape.size * width_scale, top


def _shows_top(t: np.ndarray, across: np.ndarray, lo: float, hi: float, if_unsure: bool = True) -> bool:
    """Whether the blob's upper edge is higher in its middle fifth than in its outer fifths (by over a
    pixel; lower by over a pixel: no; in between, as straight edges are: `if_unsure`)."""
    edges = np.linspace(lo, hi, 6)
    tops = []
    for a, b in ((edges[0], edges[1]), (edges[2], edges[3]), (edges[4], edges[5])):
        sel = t[(across >= a) & (across <= b)]
        if not len(sel):
            return True
        tops.append(float(sel.max()))
    bulge = tops[1] - 0.5 * (tops[0] + tops[2])
    return bulge > 1.0 or (bulge >= -1.0 and if_unsure)
