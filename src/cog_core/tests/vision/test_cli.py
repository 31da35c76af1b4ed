"""`cogrl calibrate` and `cogrl localize` as a lab runs them, on files rendered in MuJoCo."""

import json

import cv2
import numpy as np
import pytest
import yaml

from cog_core.cli import main
from cog_core.vision.synthetic import BoardScene, MarkerScene, Placement, random_board_poses, random_rotation_facing


def write_png(path, rgb):
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    """Run intrinsics + board extrinsics through the CLI on rendered images; return the file paths."""
    d = tmp_path_factory.mktemp("calib")
    scene = BoardScene(9, 6, 0.03)
    try:
        for i, T in enumerate(random_board_poses(scene, np.random.default_rng(10), 12)):
            write_png(d / "intr" / f"view_{i:02d}.png", scene.render(T))
        from cog_core.vision.calibration import board_pose_on_table

        write_png(d / "board_on_table.png", scene.render(board_pose_on_table(0.30, -0.02, 30.0, 0.002)))
        truth = scene.camera
    finally:
        scene.close()
    cam, pose = d / "camera.yaml", d / "camera_pose.yaml"
    assert main(["calibrate", "intrinsics", "--images", str(d / "intr"), "--board", "9x6", "--square", "0.03",
                 "--out", str(cam), "--camera-name", "sim_cam"]) == 0
    assert main(["calibrate", "extrinsics", "--camera", str(cam), "--board", "9x6", "--square", "0.03",
                 "--image", str(d / "board_on_table.png"), "--board-pose", "0.30,-0.02,30",
                 "--board-thickness", "0.002", "--out", str(pose)]) == 0
    return d, cam, pose, truth


def test_calibration_files_are_written_and_accurate(calibrated, capsys):
    from cog_core.vision.camera import CameraIntrinsics, CameraPose

    d, cam, pose, truth = calibrated
    intr = CameraIntrinsics.load(cam)
    assert intr.name == "sim_cam" and abs(intr.fx / truth.intrinsics.fx - 1) < 0.01
    loaded = CameraPose.load(pose)
    assert np.linalg.norm(loaded.t - truth.pose.t) < 0.005
    assert loaded.covariance is not None and loaded.covariance.shape == (6, 6)
    capsys.readouterr()
    assert main(["calibrate", "check", "--camera", str(cam), "--extrinsics", str(pose),
                 "--image", str(d / "board_on_table.png"), "--out", str(d / "check.png")]) == 0
    assert cv2.imread(str(d / "check.png")).shape == (480, 640, 3)
    assert "expected localization error from the calibration" in capsys.readouterr().out


def test_calibrate_check_states_the_expected_error(calibrated, capsys):
    import re

    _, cam, pose, _ = calibrated
    capsys.readouterr()
    assert main(["calibrate", "check", "--camera", str(cam), "--extrinsics", str(pose)]) == 0
    out = capsys.readouterr().out
    p95 = float(re.search(r"95 % ([0-9.]+) cm", out).group(1))
    assert 0.05 < p95 < 1.5  # the default board measurement uncertainty (2 mm, 0.5 deg) dominates
    assert main(["calibrate", "check", "--camera", str(cam), "--extrinsics", str(pose), "--rotation-sigma-deg", "1"]) == 0
    out = capsys.readouterr().out
    assert float(re.search(r"95 % ([0-9.]+) cm", out).group(1)) > 2 * p95
    assert "warning: the calibration alone may put objects more than 1 cm off" in out
    assert main(["calibrate", "check", "--camera", str(cam), "--extrinsics", str(pose), "--image", str(cam)]) == 2
    assert "--image and --out go together" in capsys.readouterr().err


def test_localize_with_the_calibrated_files(calibrated, table_scene, tmp_path, capsys):
    _, cam, pose, _ = calibrated
    rng = np.random.default_rng(11)
    for i in range(5):
        write_png(tmp_path / "bg" / f"bg_{i}.png", table_scene.render(noise_sigma=3.0, rng=rng))
    placements = [Placement(0, 0.30, 0.08, 0.4), Placement(3, 0.42, -0.12)]
    write_png(tmp_path / "frame.png", table_scene.render(placements, noise_sigma=3.0, rng=rng))
    write_png(tmp_path / "empty.png", table_scene.render(noise_sigma=3.0, rng=rng, light_scale=0.8))
    base = ["localize", "--camera", str(cam), "--extrinsics", str(pose), "--background", str(tmp_path / "bg")]
    capsys.readouterr()
    rc = main(base + ["--image", str(tmp_path / "frame.png"), "--out", str(tmp_path / "ann.png"), "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["found"] and len(out["detections"]) == 2
    got = np.array([d["position"] for d in out["detections"]])
    for gt in table_scene.ground_truth(placements):
        assert np.min(np.linalg.norm(got - gt, axis=1)) < 0.01
    assert cv2.imread(str(tmp_path / "ann.png")).shape == (480, 640, 3)
    # the human-readable table, then the explicit "nothing found" with exit status 1
    assert main(base + ["--image", str(tmp_path / "frame.png")]) == 0
    assert "2 candidate(s)" in capsys.readouterr().out
    assert main(base + ["--image", str(tmp_path / "empty.png")]) == 1
    assert "nothing found" in capsys.readouterr().out
    # JSON: the withheld candidates and the one-line reason come along
    assert main(base + ["--image", str(tmp_path / "empty.png"), "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["found"] is False and out["detections"] == [] and out["summary"].startswith("nothing found")
    assert isinstance(out["withheld"], list)


def test_localize_a_named_object_from_the_objects_table(calibrated, table_scene, tmp_path, capsys):
    from cog_core.vision.synthetic import NEUTRAL_OBJECTS, TableScene

    _, cam, pose, _ = calibrated
    rng = np.random.default_rng(13)
    scene = TableScene((NEUTRAL_OBJECTS["black box"],))
    try:
        for i in range(4):
            write_png(tmp_path / "bg" / f"bg_{i}.png", scene.render(noise_sigma=3.0, rng=rng))
        p = Placement(0, 0.34, -0.05, 0.3)
        write_png(tmp_path / "black.png", scene.render([p], noise_sigma=3.0, rng=rng))
        truth = scene.ground_truth([p])[0]
    finally:
        scene.close()
    (tmp_path / "objects.yaml").write_text("objects:\n  black_cube: {height: 0.04, size: 0.04}\n  tall: {height: 0.08}\n")
    base = ["localize", "--camera", str(cam), "--extrinsics", str(pose), "--background", str(tmp_path / "bg"),
            "--image", str(tmp_path / "black.png"), "--objects", str(tmp_path / "objects.yaml")]
    capsys.readouterr()
    assert main(base + ["--object", "black_cube", "--json"]) == 0  # a black object is found (issue 43)
    (det,) = json.loads(capsys.readouterr().out)["detections"]
    assert np.linalg.norm(np.array(det["position"]) - truth) < 0.01
    assert main(base + ["--object", "tall"]) == 0
    assert "warning: the blob looks" in capsys.readouterr().out  # 8 cm configured, 4 cm seen
    assert main(base + ["--object", "mug"]) == 2
    assert "'mug' is not in" in capsys.readouterr().err


def test_extrinsics_from_arm_samples(calibrated, tmp_path):
    from cog_core.vision.camera import CameraPose

    _, cam, _, truth = calibrated
    scene = MarkerScene("DICT_4X4_50", 0, side=0.04)
    rng = np.random.default_rng(12)
    samples = []
    try:
        while len(samples) < 9:
            p = rng.uniform([0.18, -0.2, 0.03], [0.48, 0.2, 0.3])
            T = np.eye(4)
            T[:3, 3] = p
            T[:3, :3] = random_rotation_facing(rng, scene.camera.pose.t - p, 0.5)
            if scene.fully_visible(T):
                name = f"arm_{len(samples)}.png"
                write_png(tmp_path / name, scene.render(T))
                samples.append({"image": name, "position": [float(v) for v in p]})
    finally:
        scene.close()
    (tmp_path / "samples.yaml").write_text(yaml.safe_dump({"marker": {"dictionary": "DICT_4X4_50", "id": 0}, "samples": samples}))
    out = tmp_path / "pose.yaml"
    assert main(["calibrate", "extrinsics", "--camera", str(cam), "--from-arm", str(tmp_path / "samples.yaml"), "--out", str(out)]) == 0
    assert np.linalg.norm(CameraPose.load(out).t - truth.pose.t) < 0.005


def test_bad_inputs_exit_2_with_a_message(calibrated, tmp_path, capsys):
    d, cam, pose, _ = calibrated
    bad = tmp_path / "bad.yaml"
    bad.write_text("image_width: 640\n")
    capsys.readouterr()
    assert main(["localize", "--camera", str(bad), "--extrinsics", str(pose), "--background", str(d / "intr"),
                 "--image", str(d / "board_on_table.png")]) == 2
    assert "missing key 'image_height'" in capsys.readouterr().err
    assert main(["localize", "--camera", str(cam), "--extrinsics", str(cam), "--background", str(d / "intr"),
                 "--image", str(d / "board_on_table.png")]) == 2
    assert "looks like a camera_info" in capsys.readouterr().err
    assert main(["calibrate", "extrinsics", "--camera", str(cam), "--board", "9x6", "--out", str(tmp_path / "p.yaml")]) == 2
    assert "--square" in capsys.readouterr().err
    assert main(["calibrate", "intrinsics", "--images", str(tmp_path / "none"), "--board", "9x6", "--square", "0.03",
                 "--out", str(tmp_path / "c.yaml")]) == 2
    assert "no images" in capsys.readouterr().err
    assert main(["localize", "--camera", str(cam), "--extrinsics", str(pose), "--background", str(d / "intr"),
                 "--image", str(d / "board_on_table.png"), "--set", "nonsense=1"]) == 2
    assert "unknown key" in capsys.readouterr().err
