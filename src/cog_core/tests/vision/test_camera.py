"""Camera model: camera_info / pose YAML files, pixel <-> ray geometry, the MuJoCo -> OpenCV conversion."""

import numpy as np
import pytest

from cog_core.vision.camera import (
    CalibrationFileError,
    CameraIntrinsics,
    CameraModel,
    CameraPose,
    matrix_to_quat_xyzw,
    quat_xyzw_to_matrix,
)
from cog_core.vision.synthetic import look_at

# A camera_info file laid out the way ROS camera_calibration writes ost.yaml.
ROS_CAMERA_INFO = """\
image_width: 640
image_height: 480
camera_name: narrow_stereo
camera_matrix:
  rows: 3
  cols: 3
  data: [612.3, 0.0, 321.7, 0.0, 611.9, 243.2, 0.0, 0.0, 1.0]
distortion_model: plumb_bob
distortion_coefficients:
  rows: 1
  cols: 5
  data: [0.0912, -0.1873, 0.0011, -0.0007, 0.0]
rectification_matrix:
  rows: 3
  cols: 3
  data: [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
projection_matrix:
  rows: 3
  cols: 4
  data: [618.1, 0.0, 321.2, 0.0, 0.0, 617.5, 243.0, 0.0, 0.0, 0.0, 1.0, 0.0]
"""


def make_camera(dist=(0.0, 0.0, 0.0, 0.0, 0.0), model="plumb_bob") -> CameraModel:
    K = np.array([[600.0, 0, 322.0], [0, 598.0, 241.0], [0, 0, 1]])
    intr = CameraIntrinsics(640, 480, K, dist=np.array(dist), distortion_model=model)
    eye = np.array([0.8, -0.35, 0.6])
    R = look_at(eye, np.array([0.33, 0.0, 0.0])) @ np.diag([1.0, -1.0, -1.0])
    return CameraModel(intr, CameraPose.from_rt(R, eye, table_z=0.01))


def test_reads_a_ros_camera_calibration_file(tmp_path):
    path = tmp_path / "ost.yaml"
    path.write_text(ROS_CAMERA_INFO)
    cam = CameraIntrinsics.load(path)
    assert (cam.width, cam.height, cam.name, cam.distortion_model) == (640, 480, "narrow_stereo", "plumb_bob")
    assert cam.fx == pytest.approx(612.3) and cam.K[1, 2] == pytest.approx(243.2)
    np.testing.assert_allclose(cam.dist, [0.0912, -0.1873, 0.0011, -0.0007, 0.0])
    assert cam.P[0, 0] == pytest.approx(618.1)


def test_camera_info_round_trip_keeps_every_field(tmp_path):
    cam = make_camera(dist=(0.1, -0.2, 0.001, 0.002, 0.03)).intrinsics
    cam.save(tmp_path / "c.yaml")
    back = CameraIntrinsics.load(tmp_path / "c.yaml")
    np.testing.assert_allclose(back.K, cam.K)
    np.testing.assert_allclose(back.dist, cam.dist)
    np.testing.assert_allclose(back.P, cam.P)
    text = (tmp_path / "c.yaml").read_text()
    for key in ("image_width", "image_height", "camera_name", "camera_matrix", "distortion_model",
                "distortion_coefficients", "rectification_matrix", "projection_matrix"):
        assert key in text


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda t: t.replace("camera_matrix:", "camera_matrx:"), "missing key 'camera_matrix'"),
        (lambda t: t.replace("[612.3, 0.0, 321.7, ", "[612.3, 0.0, "), "should be 3x3"),
        (lambda t: t.replace("plumb_bob", "fisheye_magic"), "not supported"),
        (lambda t: t.replace("image_width: 640", "image_width: wide"), "must be integers"),
        (lambda t: "camera_matrix: [1, 2\n", "not valid YAML"),
        (lambda t: "- just\n- a list\n", "mapping"),
    ],
)
def test_bad_camera_files_get_clear_errors(tmp_path, edit, message):
    path = tmp_path / "bad.yaml"
    path.write_text(edit(ROS_CAMERA_INFO))
    with pytest.raises(CalibrationFileError, match=message):
        CameraIntrinsics.load(path)


def test_missing_files_say_how_to_make_them(tmp_path):
    with pytest.raises(CalibrationFileError, match="cogrl calibrate intrinsics"):
        CameraIntrinsics.load(tmp_path / "nope.yaml")
    with pytest.raises(CalibrationFileError, match="cogrl calibrate extrinsics"):
        CameraPose.load(tmp_path / "nope.yaml")


def test_pose_round_trip_and_errors(tmp_path):
    pose = make_camera().pose
    pose.save(tmp_path / "pose.yaml")
    back = CameraPose.load(tmp_path / "pose.yaml")
    np.testing.assert_allclose(back.T_base_cam, pose.T_base_cam, atol=1e-6)
    assert back.table_z == pytest.approx(0.01)
    (tmp_path / "swapped.yaml").write_text(ROS_CAMERA_INFO)
    with pytest.raises(CalibrationFileError, match="looks like a camera_info"):
        CameraPose.load(tmp_path / "swapped.yaml")
    (tmp_path / "q.yaml").write_text("translation: [1, 2, 3]\nrotation_xyzw: [0, 0, 0, 2]\n")
    with pytest.raises(CalibrationFileError, match="unit quaternion"):
        CameraPose.load(tmp_path / "q.yaml")
    (tmp_path / "t.yaml").write_text("translation: [1, 2]\nrotation_xyzw: [0, 0, 0, 1]\n")
    with pytest.raises(CalibrationFileError, match="translation needs 3"):
        CameraPose.load(tmp_path / "t.yaml")


def test_quaternion_round_trip():
    rng = np.random.default_rng(0)
    for _ in range(50):
        q = rng.normal(size=4)
        q /= np.linalg.norm(q)
        q = q if q[3] >= 0 else -q
        R = quat_xyzw_to_matrix(q)
        np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-12)
        np.testing.assert_allclose(matrix_to_quat_xyzw(R), q, atol=1e-9)


@pytest.mark.parametrize(
    "dist, model",
    [((0, 0, 0, 0, 0), "plumb_bob"), ((0.12, -0.25, 0.002, -0.001, 0.05), "plumb_bob"),
     ((0.05, -0.02, 0.01, -0.003), "equidistant")],
)
def test_project_then_back_project_onto_the_plane(dist, model):
    cam = make_camera(dist, model)
    rng = np.random.default_rng(1)
    z = 0.03
    pts = np.column_stack([rng.uniform(0.2, 0.5, 200), rng.uniform(-0.2, 0.2, 200), np.full(200, z)])
    uv, depth = cam.project(pts)
    assert np.all(depth > 0) and np.all((uv >= 0) & (uv < [640, 480]))
    back = cam.pixel_to_plane(uv, z)
    np.testing.assert_allclose(back, pts, atol=1e-6)


def test_distortion_is_applied():
    plain, bent = make_camera(), make_camera((0.2, -0.1, 0, 0, 0))
    p = np.array([[0.45, 0.2, 0.0]])
    assert np.linalg.norm(plain.project(p)[0] - bent.project(p)[0]) > 1.0


def test_rays_that_miss_the_plane_give_nan_not_a_point():
    cam = make_camera()
    # a pixel high in the image looks above the horizon only if tilted far up; use a plane above the camera
    out = cam.pixel_to_plane([[320, 240]], z=5.0)
    assert np.all(np.isnan(out))


def test_scaled_intrinsics_match_resized_images():
    cam = make_camera()
    half = cam.scaled(0.5)
    p = np.array([[0.3, 0.1, 0.0], [0.45, -0.15, 0.02]])
    uv_full, _ = cam.project(p)
    uv_half, _ = half.project(p)
    # pixel centres: full-res u maps to half-res (u + 0.5) / 2 - 0.5
    np.testing.assert_allclose(uv_half, (uv_full + 0.5) / 2 - 0.5, atol=1e-9)


def test_mujoco_camera_conversion_matches_renders():
    """Small spheres rendered by MuJoCo land where the converted OpenCV model projects them."""
    import mujoco

    from cog_core.vision.synthetic import CAMERA_EYE, CAMERA_TARGET, _camera_xml, mujoco_camera_model

    pts = np.array([[0.25, -0.15, 0.02], [0.45, 0.18, 0.05], [0.33, 0.0, 0.0], [0.2, 0.2, 0.1], [0.5, -0.2, 0.0]])
    spheres = "".join(
        f'<body name="s{i}" mocap="true" pos="5 5 5"><geom type="sphere" size="0.006" rgba="1 1 1 1"/></body>'
        for i in range(len(pts))
    )
    xml = f"""<mujoco><statistic extent="1.5" center="0.3 0 0"/><visual><global offwidth="640" offheight="480"/>
      <headlight ambient="1 1 1" diffuse="0 0 0" specular="0 0 0"/></visual>
      <worldbody>{_camera_xml("cam", CAMERA_EYE, CAMERA_TARGET, 45.0)}{spheres}</worldbody></mujoco>"""
    model = mujoco.MjModel.from_xml_string(xml)
    data = mujoco.MjData(model)
    renderer = mujoco.Renderer(model, 480, 640)
    try:
        mujoco.mj_forward(model, data)
        cam = mujoco_camera_model(model, data, "cam", 640, 480)
        for i, p in enumerate(pts):
            data.mocap_pos[:] = 5.0
            data.mocap_pos[i] = p
            mujoco.mj_forward(model, data)
            renderer.update_scene(data, camera="cam")
            img = renderer.render().astype(float).mean(axis=2)
            v, u = np.nonzero(img > 0)
            w = img[v, u]
            centroid = np.array([(u * w).sum() / w.sum(), (v * w).sum() / w.sum()])
            uv, _ = cam.project(p[None])
            assert np.linalg.norm(uv[0] - centroid) < 0.3, (p, uv[0], centroid)
    finally:
        renderer.close()
