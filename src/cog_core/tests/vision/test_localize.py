"""Localizer accuracy against MuJoCo ground truth (640x480 renders from a known camera)."""

import numpy as np
import pytest

from cog_core.vision import Localizer, LocalizerConfig
from cog_core.vision.masks import capsule_mask, wx250s_arm_segments
from cog_core.vision.synthetic import WORKSPACE


def match_errors(scene, localizer, rng, frames, objects_per_frame, **render_kw):
    """3-D errors of the detections matched to each placed object (inf when an object is missed),
    and the number of detections that match no object."""
    errors, false = [], 0
    for _ in range(frames):
        placements = scene.random_placements(rng, objects_per_frame)
        truth = scene.ground_truth(placements)
        dets = localizer.localize(scene.render(placements, rng=rng, **render_kw))
        used = set()
        for gt in truth:
            d = [np.linalg.norm(det.position - gt) if i not in used else np.inf for i, det in enumerate(dets)]
            k = int(np.argmin(d)) if d else -1
            if k >= 0 and d[k] < 0.03:
                used.add(k)
                errors.append(d[k])
            else:
                errors.append(np.inf)
        false += len(dets) - len(used)
    return np.array(errors), false


@pytest.fixture(scope="module")
def localizer(table_scene, noisy_background):
    loc = Localizer(table_scene.camera, LocalizerConfig(workspace=WORKSPACE))
    loc.set_background(noisy_background)
    return loc


def test_accuracy_under_nominal_light(table_scene, localizer):
    errors, false = match_errors(table_scene, localizer, np.random.default_rng(1), 20, 2, noise_sigma=4.0)
    assert np.all(np.isfinite(errors)), f"missed {np.sum(~np.isfinite(errors))} of {len(errors)} objects"
    assert false == 0
    assert np.median(errors) < 0.01
    assert np.percentile(errors, 95) < 0.02


@pytest.mark.parametrize("light", [0.7, 1.3])
def test_accuracy_with_light_changed_30_percent_and_noise(table_scene, localizer, light):
    errors, false = match_errors(table_scene, localizer, np.random.default_rng(2), 10, 2, noise_sigma=6.0, light_scale=light)
    assert np.all(np.isfinite(errors)), f"missed {np.sum(~np.isfinite(errors))} of {len(errors)} objects"
    assert false == 0
    assert np.median(errors) < 0.02


def test_no_detections_on_empty_frames(table_scene, localizer):
    rng = np.random.default_rng(3)
    for light in (0.7, 1.0, 1.3):
        for _ in range(4):
            frame = table_scene.render(light_scale=light, noise_sigma=6.0, rng=rng)
            assert localizer.localize(frame) == []
            assert localizer.best(frame) is None


def test_every_object_is_reported_ranked(table_scene, localizer):
    rng = np.random.default_rng(4)
    placements = table_scene.random_placements(rng, 4, min_gap=0.1)
    dets = localizer.localize(table_scene.render(placements, noise_sigma=4.0, rng=rng))
    assert len(dets) == 4
    conf = [d.confidence for d in dets]
    assert conf == sorted(conf, reverse=True) and all(0 < c <= 1 for c in conf)
    truth = table_scene.ground_truth(placements)
    for gt in truth:
        assert min(np.linalg.norm(d.position - gt) for d in dets) < 0.01
    for d in dets:  # the pixel bbox contains the centroid and the object's projection
        x, y, w, h = d.bbox
        assert x <= d.pixel[0] <= x + w and y <= d.pixel[1] <= y + h


def test_objects_outside_the_workspace_are_ignored(table_scene, localizer):
    from cog_core.vision.synthetic import Placement

    inside, outside = Placement(0, 0.35, 0.0), Placement(1, 0.62, 0.3)  # outside: beyond x_max and y_max
    dets = localizer.localize(table_scene.render([inside, outside], noise_sigma=4.0))
    assert len(dets) == 1 and np.linalg.norm(dets[0].position[:2] - [0.35, 0.0]) < 0.01


def test_robot_arm_is_excluded_by_its_projected_mask(table_scene, localizer):
    from cog_core.vision.synthetic import Placement

    rng = np.random.default_rng(5)
    arm = (0.12, 0.05, -0.35)  # gripper reaches into the workspace, away from the object
    placements = [Placement(2, 0.42, -0.12, 0.3)]
    frame = table_scene.render(placements, noise_sigma=4.0, rng=rng, arm_pose=arm)
    segments, radii = table_scene.arm_segments(arm)
    exclude = capsule_mask(table_scene.camera, segments, radii, margin=0.01)
    # without the mask the arm shows up as changed pixels inside the workspace ...
    changed, _ = localizer.change_mask(frame)
    arm_small = localizer._small_mask(exclude)
    assert (changed.astype(bool) & arm_small).sum() > 200
    # ... with it, only the object is reported
    dets = localizer.localize(frame, exclude_mask=exclude)
    assert len(dets) == 1
    assert np.linalg.norm(dets[0].position - table_scene.ground_truth(placements)[0]) < 0.01


def test_wx250s_arm_mask_covers_the_gripper():
    from cog_core.robot.kinematics import fk

    seg, rad = wx250s_arm_segments(np.array([0.2, 0.3, 0.2, 0.0, 1.0, 0.0]))
    np.testing.assert_allclose(seg[-1, 1], fk(np.array([0.2, 0.3, 0.2, 0.0, 1.0, 0.0]))[:3, 3])
    assert seg.shape == (5, 2, 3) and np.all(rad > 0.03)
    # links connect end to end, starting at the base
    np.testing.assert_allclose(seg[0, 0], 0.0)
    np.testing.assert_allclose(seg[1:, 0], seg[:-1, 1])


def test_object_height_sets_the_intersection_plane(table_scene, localizer):
    from cog_core.vision.synthetic import Placement

    frame = table_scene.render([Placement(0, 0.35, 0.05)])
    low = localizer.localize(frame, object_height=0.0)[0].position
    high = localizer.localize(frame, object_height=0.04)[0].position
    assert low[2] == pytest.approx(0.0) and high[2] == pytest.approx(0.02)
    # a lower plane puts the point further along the ray, away from the camera
    cam = table_scene.camera.pose.t
    assert np.linalg.norm(low - cam) > np.linalg.norm(high - cam) + 0.01


def test_api_errors_are_clear(table_scene):
    loc = Localizer(table_scene.camera, LocalizerConfig(workspace=WORKSPACE))
    frame = np.zeros((480, 640, 3), np.uint8)
    with pytest.raises(RuntimeError, match="set_background"):
        loc.localize(frame)
    with pytest.raises(ValueError, match="at least one frame"):
        loc.set_background([])
    with pytest.raises(ValueError, match=r"expected \(480, 640, 3\)"):
        loc.set_background([np.zeros((240, 320, 3), np.uint8)])
    loc.set_background([frame])
    with pytest.raises(ValueError, match="exclude_mask"):
        loc.localize(frame, exclude_mask=np.zeros((10, 10), bool))
    with pytest.raises(ValueError, match="not visible"):
        Localizer(table_scene.camera, LocalizerConfig(workspace=(-3.0, -2.5, 4.0, 5.0)))
