"""localizer_node: background subtraction -> object position in the robot base frame.

A thin shell over `cog_core.vision.Localizer`. The camera model comes from the camera's
``camera/camera_info`` (intrinsics) and ``camera/pose`` (latched geometry_msgs/PoseStamped:
the optical frame in the base frame), as published by camera_node or the sim backend; the
``camera_pose_yaml`` parameter (from `cogrl calibrate extrinsics`) overrides the pose topic.

Subscribes: ``camera/image_raw``, ``camera/camera_info``, ``camera/pose``, ``joint_states``
(to mask out the arm when ``exclude_arm`` is true).
Publishes: ``/cog/object`` (geometry_msgs/PointStamped, best candidate, base frame; nothing
when no candidate is reliable, e.g. while the arm hides the object), ``/cog/detections``
(std_msgs/String, JSON: found, detections best first, withheld candidates with their reasons,
a one-line summary), ``~/debug_image`` (sensor_msgs/Image, annotated).
The object's height and size come from ``config_overrides`` (``object_height=``, ``object_size=``,
or ``objects_file=`` + ``object_name=`` for a per-object table); height warnings are logged.
Service: ``~/capture_background`` (std_srvs/Trigger): build the background model from the
``background_frames`` most recent frames; call it while the workspace is empty.
"""

from __future__ import annotations

import sys
from collections import deque

import numpy as np
from geometry_msgs.msg import PointStamped
from rclpy.node import Node
from std_srvs.srv import Trigger

from cog_collect import ros_io
# imported here, not in the callbacks: the first joint_states or image message would otherwise
# import MuJoCo (seconds on a loaded machine) inside a callback, and a shutdown signal that
# arrives meanwhile would wait for it
from cog_core.config import load_config
from cog_core.robot.kinematics import JOINT_NAMES
from cog_core.vision import CameraModel, CameraPose, Localizer, LocalizerConfig
from cog_core.vision.localize import annotate
from cog_core.vision.masks import capsule_mask, wx250s_arm_segments


class LocalizerNode(Node):
    """Publishes object positions found by background subtraction."""

    def __init__(self, **kwargs) -> None:
        super().__init__("localizer", **kwargs)
        p = ros_io.param
        config_yaml = p(self, "config_yaml", "", "LocalizerConfig YAML (workspace, thresholds); '' = defaults")
        overrides = list(p(self, "config_overrides", [""], "LocalizerConfig key=value overrides"))
        self.config = load_config(LocalizerConfig, config_yaml or None, [o for o in overrides if o])
        self.pose_yaml = p(self, "camera_pose_yaml", "", "camera pose YAML; '' = use the camera/pose topic")
        self.n_background = int(p(self, "background_frames", 5, "frames averaged into the background model"))
        self.table_z = float(p(self, "table_z", 0.0, "table height in the base frame (when the pose comes from the topic)"))
        self.exclude_arm = bool(p(self, "exclude_arm", True, "ignore pixels covered by the arm (from joint_states)"))
        self.publish_debug = bool(p(self, "publish_debug_image", True, "publish the annotated image"))
        self.base_frame = p(self, "base_frame", "wx250s/base_link", "frame of the published positions")
        self.frames: deque[np.ndarray] = deque(maxlen=max(1, self.n_background))
        self.info = None
        self.pose = None
        self.localizer = None
        self.joints: np.ndarray | None = None
        self.detections = 0
        self.pub_point = self.create_publisher(PointStamped, "/cog/object", 10)
        self.pub_all = self.create_publisher(ros_io.String, "/cog/detections", 10)
        self.pub_debug = self.create_publisher(ros_io.Image, "~/debug_image", ros_io.SENSOR)
        self.create_subscription(ros_io.Image, "camera/image_raw", self._on_image, ros_io.SENSOR)
        self.create_subscription(ros_io.CameraInfo, "camera/camera_info", self._on_info, ros_io.LATCHED)
        self.create_subscription(ros_io.PoseStamped, "camera/pose", self._on_pose, ros_io.LATCHED)
        self.create_subscription(ros_io.JointState, "joint_states", self._on_joints, ros_io.SENSOR)
        self.create_service(Trigger, "~/capture_background", self._on_capture)

    # -- inputs -------------------------------------------------------------------------------
    def _on_info(self, msg) -> None:
        self.info = msg
        self.localizer = None  # rebuilt with the new calibration

    def _on_pose(self, msg) -> None:
        self.pose = msg
        self.localizer = None

    def _on_joints(self, msg) -> None:
        pos = dict(zip(msg.name, msg.position))
        if all(n in pos for n in JOINT_NAMES):
            self.joints = np.array([pos[n] for n in JOINT_NAMES])

    def _camera_model(self):
        if self.info is None:
            return None
        if self.pose_yaml:
            return CameraModel(ros_io.intrinsics_of(self.info), CameraPose.load(self.pose_yaml))
        if self.pose is None:
            return None
        return ros_io.camera_model_of(self.info, self.pose, table_z=self.table_z)

    def _ensure_localizer(self) -> bool:
        if self.localizer is None:
            cam = self._camera_model()
            if cam is None:
                return False
            self.localizer = Localizer(cam, self.config)
        return True

    def _on_capture(self, request, response):
        if not self._ensure_localizer():
            response.success, response.message = False, "no camera calibration yet (camera/camera_info and camera/pose or camera_pose_yaml)"
            return response
        if len(self.frames) < self.n_background:
            response.success = False
            response.message = f"only {len(self.frames)} of {self.n_background} frames received so far; try again"
            return response
        try:
            self.localizer.set_background(list(self.frames))
        except ValueError as err:
            response.success, response.message = False, str(err)
            return response
        response.success, response.message = True, f"background from the last {len(self.frames)} frames"
        self.get_logger().info(response.message)
        return response

    def _on_image(self, msg) -> None:
        frame = ros_io.rgb_of(msg)
        self.frames.append(frame)
        if not self._ensure_localizer() or self.localizer.background is None:
            return
        exclude = None
        if self.exclude_arm and self.joints is not None:
            seg, rad = wx250s_arm_segments(self.joints)
            exclude = capsule_mask(self.localizer.camera, seg, rad)
        try:
            result = self.localizer.analyze(frame, exclude)
        except ValueError as err:
            self.get_logger().error(f"cannot localize: {err}", throttle_duration_sec=5.0)
            return
        found = result.detections
        self.pub_all.publish(ros_io.json_msg(result.as_dict()))
        for warning in {w for d in found for w in d.warnings}:
            self.get_logger().warning(warning, throttle_duration_sec=10.0)
        if found:
            best = found[0]
            out = PointStamped()
            out.header.stamp = msg.header.stamp
            out.header.frame_id = self.base_frame
            out.point.x, out.point.y, out.point.z = (float(v) for v in best.position)
            self.pub_point.publish(out)
            self.detections += 1
        if self.publish_debug:
            self.pub_debug.publish(ros_io.image_msg(self, annotate(frame, found, withheld=result.withheld),
                                                    msg.header.frame_id, msg.header.stamp))


def main(argv: list[str] | None = None) -> int:
    """`ros2 run cog_collect localizer_node` entry point."""
    return ros_io.run_node(LocalizerNode, argv)


if __name__ == "__main__":
    sys.exit(main())
