"""camera_node on real rclpy: a video file -> rgb8 images, CameraInfo and the camera pose from the calibration files."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

pytestmark = pytest.mark.ros
rclpy = pytest.importorskip("rclpy", reason="rclpy is not installed (bash scripts/bootstrap.sh installs the Jazzy wheels)")

from geometry_msgs.msg import PoseStamped  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from sensor_msgs.msg import CameraInfo, Image  # noqa: E402

from cog_collect.camera_node import CameraNode  # noqa: E402
from cog_collect.ros_io import LATCHED, camera_model_of, rgb_of  # noqa: E402
from cog_collect.testing import ros_session, spin_until  # noqa: E402


def _video(path, n=6, size=(64, 48)):
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, size)
    assert vw.isOpened()
    for i in range(n):
        bgr = np.zeros((size[1], size[0], 3), np.uint8)
        bgr[..., 2] = 200  # red in RGB
        bgr[..., 1] = 20 * i
        vw.write(bgr)
    vw.release()


def test_camera_node_publishes_frames_info_and_pose(tmp_path):
    from cog_core.vision import CameraIntrinsics, CameraPose
    from cog_core.vision.synthetic import look_at

    _video(tmp_path / "v.avi")
    intr = CameraIntrinsics.from_fovy(64, 48, 50.0)
    intr.save(tmp_path / "camera.yaml")
    R_mj = look_at(np.array([0.3, 0.0, 0.8]), np.array([0.3, 0.0, 0.0]), up=np.array([1.0, 0.0, 0.0]))
    pose = CameraPose.from_rt(R_mj @ np.diag([1.0, -1.0, -1.0]), [0.3, 0.0, 0.8], table_z=0.0)
    pose.save(tmp_path / "pose.yaml")
    with ros_session() as (ctx, ex):
        node = CameraNode(context=ctx, parameter_overrides=[
            Parameter("source", value=str(tmp_path / "v.avi")), Parameter("rate_hz", value=50.0),
            Parameter("calibration_yaml", value=str(tmp_path / "camera.yaml")),
            Parameter("camera_pose_yaml", value=str(tmp_path / "pose.yaml"))])
        probe = rclpy.create_node("probe", context=ctx)
        images, infos, poses = [], [], []
        probe.create_subscription(Image, "camera/image_raw", images.append, 20)
        probe.create_subscription(CameraInfo, "camera/camera_info", infos.append, LATCHED)  # joins late: latched
        probe.create_subscription(PoseStamped, "camera/pose", poses.append, LATCHED)
        ex.add_node(node)
        ex.add_node(probe)
        assert spin_until(ex, lambda: len(images) >= 8 and infos and poses, timeout=5.0)
        rgb = rgb_of(images[0])
        assert rgb.shape == (48, 64, 3) and images[0].encoding == "rgb8"
        assert rgb[..., 0].mean() > 150 and rgb[..., 2].mean() < 60  # red stays red (channel order)
        assert node.published >= 8  # the 6-frame file loops
        cam = camera_model_of(infos[0], poses[0])
        assert np.allclose(cam.intrinsics.K, intr.K) and np.allclose(cam.pose.T_base_cam, pose.T_base_cam, atol=1e-6)
        px, _ = cam.project([[0.3, 0.0, 0.0]])
        assert np.allclose(px[0], [31.5, 23.5], atol=0.5)  # the point below the camera is the image centre


def test_camera_node_rejects_a_missing_source(tmp_path):
    from cog_core.vision.capture import CaptureError

    with ros_session() as (ctx, ex):
        with pytest.raises(CaptureError, match="neither a device index, an existing file nor a URL"):
            CameraNode(context=ctx, parameter_overrides=[Parameter("source", value=str(tmp_path / "nope.avi"))])
