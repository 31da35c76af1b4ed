"""Calibration from synthetic MuJoCo renders recovers the known sim camera."""

import numpy as np
import pytest

from cog_core.vision import calibration as C
from cog_core.vision.synthetic import BoardScene, MarkerScene, random_board_poses, random_rotation_facing

COLS, ROWS, SQUARE = 9, 6, 0.03
BOARD_THICKNESS = 0.002  # the board lies on the table; its printed face is this much above it


@pytest.fixture(scope="module")
def board_scene():
    scene = BoardScene(COLS, ROWS, SQUARE)
    yield scene
    scene.close()


@pytest.fixture(scope="module")
def intrinsics_result(board_scene):
    poses = random_board_poses(board_scene, np.random.default_rng(0), 14)
    images = [board_scene.render(T) for T in poses]
    return C.calibrate_intrinsics(images, COLS, ROWS, SQUARE, camera_name="sim")


def test_intrinsics_recover_the_sim_focal_length_within_1_percent(board_scene, intrinsics_result):
    truth = board_scene.camera.intrinsics
    got = intrinsics_result.intrinsics
    assert len(intrinsics_result.used) >= 12
    assert abs(got.fx / truth.fx - 1) < 0.01 and abs(got.fy / truth.fy - 1) < 0.01
    assert abs(got.K[0, 2] - truth.K[0, 2]) < 5 and abs(got.K[1, 2] - truth.K[1, 2]) < 5
    assert intrinsics_result.rms_px < 0.5


@pytest.mark.parametrize("yaw_deg", [15.0, 115.0, -150.0])
def test_board_extrinsics_recover_the_camera_within_5mm(board_scene, intrinsics_result, yaw_deg):
    """Full pipeline: intrinsics calibrated from renders, then the board on the table at a measured pose."""
    T = C.board_pose_on_table(0.33, 0.02, yaw_deg, BOARD_THICKNESS)
    image = board_scene.render(T)
    res = C.board_extrinsics(image, intrinsics_result.intrinsics, COLS, ROWS, SQUARE, T)
    truth = board_scene.camera.pose
    assert np.linalg.norm(res.pose.t - truth.t) < 0.005
    angle = np.degrees(np.arccos(np.clip((np.trace(res.pose.R.T @ truth.R) - 1) / 2, -1, 1)))
    assert angle < 0.5
    assert res.rms_px < 1.0


def test_board_turned_by_180_degrees_is_told_apart(board_scene):
    """With the wrong end assumed, the solved camera would be on the other side of the board."""
    cam = board_scene.camera
    T = C.board_pose_on_table(0.33, 0.0, 10.0, BOARD_THICKNESS)
    image = board_scene.render(T)
    right = C.board_extrinsics(image, cam.intrinsics, COLS, ROWS, SQUARE, T)
    wrong = C.board_extrinsics(image, cam.intrinsics, COLS, ROWS, SQUARE, C.board_pose_on_table(0.33, 0.0, 190.0, BOARD_THICKNESS))
    assert np.linalg.norm(right.pose.t - cam.pose.t) < 0.005
    assert np.linalg.norm(wrong.pose.t - cam.pose.t) > 0.3


def test_symmetric_board_is_refused(board_scene):
    corners = np.zeros((8 * 6, 2))
    with pytest.raises(C.CalibrationError, match="one odd and one even"):
        C.orient_board_corners(np.zeros((480, 640), np.uint8), corners, 8, 6)


def test_no_board_in_image_is_a_clear_error(board_scene):
    with pytest.raises(C.CalibrationError, match="no 9x6 checkerboard"):
        C.board_extrinsics(np.full((480, 640, 3), 128, np.uint8), board_scene.camera.intrinsics, COLS, ROWS, SQUARE, np.eye(4))


def test_too_few_board_views_is_a_clear_error():
    with pytest.raises(C.CalibrationError, match="found the 9x6 board in only 0"):
        C.calibrate_intrinsics([np.zeros((480, 640, 3), np.uint8)] * 3, COLS, ROWS, SQUARE)


def test_arm_marker_extrinsics_recover_the_camera_within_5mm():
    """ArUco marker (as taped on the gripper) rendered at known 3-D points; detect, then solvePnP."""
    scene = MarkerScene("DICT_4X4_50", 7, side=0.04)
    cam = scene.camera
    rng = np.random.default_rng(2)
    points, pixels = [], []
    try:
        while len(points) < 10:
            p = rng.uniform([0.18, -0.2, 0.03], [0.48, 0.2, 0.3])
            T = np.eye(4)
            T[:3, 3] = p
            T[:3, :3] = random_rotation_facing(rng, cam.pose.t - p, 0.6)
            if not scene.fully_visible(T):
                continue
            uv = C.detect_marker_center(scene.render(T), "DICT_4X4_50", 7)
            assert uv is not None
            assert np.linalg.norm(uv - cam.project(p[None])[0][0]) < 0.5
            points.append(p)
            pixels.append(uv)
        # a wrong sample (e.g. a misread joint state) must be rejected, not bend the result
        points.append(points[0] + [0.08, 0.0, 0.0])
        pixels.append(pixels[1])
        res = C.solve_camera_pose(cam.intrinsics, points, pixels, method="arm", ransac_px=4.0)
        assert len(points) - 1 in set(range(len(points))) - set(res.inliers.tolist())
        assert np.linalg.norm(res.pose.t - cam.pose.t) < 0.005
        # the wrong marker id is not found
        assert C.detect_marker_center(scene.render(T), "DICT_4X4_50", 3) is None
    finally:
        scene.close()


def test_pose_needs_six_points():
    with pytest.raises(C.CalibrationError, match="at least 6"):
        C.solve_camera_pose(_dummy_intrinsics(), np.zeros((4, 3)), np.zeros((4, 2)), "arm")


def _dummy_intrinsics():
    from cog_core.vision.camera import CameraIntrinsics

    return CameraIntrinsics.from_fovy(640, 480, 45.0)
