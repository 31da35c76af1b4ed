"""The object silhouette model and its fit to partly seen blobs (pure geometry, no rendering)."""

import numpy as np
import pytest

from cog_core.vision.silhouette import ObjectShape, fit_silhouette, place_silhouette, render_template


@pytest.fixture(scope="module")
def camera(table_scene):
    return table_scene.camera.scaled(0.5)  # the localizer's processing resolution


def blob_image(camera, ground, shape, part="all"):
    """Labels (0/1 int32) of the model's silhouette (or just its sides) drawn at `ground`."""
    tpl = render_template(camera, ground, 0.0, shape)
    h, w = camera.intrinsics.height, camera.intrinsics.width
    labels = np.zeros((h, w), np.int32)
    region = {"all": tpl.silhouette, "sides": tpl.side}[part] > 0.5
    ox, oy = tpl.origin
    labels[oy : oy + region.shape[0], ox : ox + region.shape[1]][region] = 1
    ys, xs = np.nonzero(labels)
    return labels, (int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1))


def test_template_covers_the_projected_cylinder(camera):
    shape = ObjectShape(0.05, 0.04)
    tpl = render_template(camera, np.array([0.33, 0.05]), 0.0, shape)
    ang = np.linspace(0, 2 * np.pi, 12, endpoint=False)
    for z, part in ((0.0, tpl.silhouette), (0.05, tpl.top)):
        pts = np.column_stack([0.33 + 0.019 * np.cos(ang), 0.05 + 0.019 * np.sin(ang), np.full(12, z)])
        uv, _ = camera.project(pts)
        cols, rows = np.round(uv - tpl.origin).astype(int).T
        assert np.all(part[rows, cols] > 0.5)
    assert np.all(tpl.side + tpl.top <= 1.0 + 1e-6) and tpl.side.sum() > 0 and tpl.top.sum() > 0
    assert tpl.up[1] < 0  # rising points move up the image for a camera looking down


@pytest.mark.parametrize("part", ["all", "sides"])
def test_fit_finds_the_footprint_from_a_shifted_start(camera, part):
    shape = ObjectShape(0.04, 0.04)
    truth = np.array([0.36, -0.08])
    labels, box = blob_image(camera, truth, shape, part)
    fit = fit_silhouette(camera, labels, 1, box, None, truth + [0.015, -0.012], 0.0, shape)
    assert np.linalg.norm(fit.ground - truth) < 0.003
    assert fit.side_coverage > 0.85 and fit.explained > 0.85 and fit.hidden == 0.0
    assert (fit.top_coverage > 0.9) == (part == "all")


def test_fit_through_an_exclusion_mask_reports_the_hidden_fraction(camera):
    shape = ObjectShape(0.04, 0.04)
    truth = np.array([0.30, 0.10])
    labels, box = blob_image(camera, truth, shape)
    x, y, w, h = box
    excluded = np.zeros(labels.shape, bool)
    excluded[:, x + w // 2 :] = True  # the right half is under the arm
    labels[excluded] = 0
    ys, xs = np.nonzero(labels)
    box = (int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1))
    start = camera.pixel_to_plane(np.array([[xs.mean(), ys.mean()]]), 0.02)[0][:2]  # the visible half's centroid
    assert np.linalg.norm(start - truth) > 0.008
    fit = fit_silhouette(camera, labels, 1, box, excluded, start, 0.0, shape)
    assert np.linalg.norm(fit.ground - truth) < 0.004
    assert 0.4 < fit.hidden < 0.75
    placed = place_silhouette(camera, labels, 1, box, excluded, truth, 0.0, shape)
    assert placed.hidden == pytest.approx(0.5, abs=0.1) and placed.height_estimate is None


@pytest.mark.parametrize("height, part", [(0.04, "all"), (0.09, "all"), (0.12, "all"), (0.04, "sides"), (0.09, "sides")])
def test_height_and_width_from_the_blob_extent(camera, height, part):
    truth = np.array([0.34, 0.0])
    labels, box = blob_image(camera, truth, ObjectShape(height, 0.05), part)
    assumed = ObjectShape(0.04, 0.04)
    fit = place_silhouette(camera, labels, 1, box, None, np.append(truth, assumed.height / 2), 0.0, assumed)
    assert fit.height_estimate == pytest.approx(height, abs=0.012)
    assert fit.size_estimate == pytest.approx(0.05, abs=0.01)


def test_object_shape_is_checked():
    with pytest.raises(ValueError, match="height must be >= 0"):
        ObjectShape(-0.01, 0.04)
    with pytest.raises(ValueError, match="size > 0"):
        ObjectShape(0.04, 0.0)
