"""camera_node: OpenCV capture (device, file or URL) -> sensor_msgs/Image + CameraInfo + camera pose.

A thin shell over `cog_core.vision.capture.FrameSource`. Parameters: ``source`` (device index,
/dev/videoN, video/image file, URL), ``width``/``height`` (0 = as delivered), ``rate_hz``,
``frame_id``, ``calibration_yaml`` (ROS camera_info YAML, e.g. from `cogrl calibrate
intrinsics`), ``camera_pose_yaml`` (from `cogrl calibrate extrinsics`), ``loop``.
Publishes ``camera/image_raw`` (rgb8), ``camera/camera_info`` (latched, when calibrated) and
``camera/pose`` (latched geometry_msgs/PoseStamped of the optical frame in the base frame,
when a pose file is given): the same topics as the sim backend.
"""

from __future__ import annotations

import sys

from rclpy.node import Node

from cog_collect import ros_io


class CameraNode(Node):
    """Publishes frames from an OpenCV source at a fixed rate."""

    def __init__(self, **kwargs) -> None:
        super().__init__("camera", **kwargs)
        from cog_core.vision.capture import FrameSource
        from cog_core.vision import CameraIntrinsics, CameraPose

        p = ros_io.param
        source = p(self, "source", "0", "device index, /dev/videoN, video or image file, or URL")
        width = int(p(self, "width", 0, "resize frames to this width (0 = as delivered)"))
        height = int(p(self, "height", 0, "resize frames to this height (0 = as delivered)"))
        rate = float(p(self, "rate_hz", 15.0, "frames per second to publish"))
        self.frame_id = p(self, "frame_id", "camera_optical_frame", "frame_id of the images")
        calib = p(self, "calibration_yaml", "", "camera_info YAML ('' = publish no CameraInfo)")
        pose_yaml = p(self, "camera_pose_yaml", "", "camera pose YAML ('' = publish no camera pose)")
        loop = bool(p(self, "loop", True, "restart video files at the end"))
        if rate <= 0:
            raise ValueError(f"rate_hz must be > 0, got {rate}")
        self.intrinsics = CameraIntrinsics.load(calib) if calib else None
        if self.intrinsics is not None and (width, height) == (0, 0):
            width, height = self.intrinsics.width, self.intrinsics.height  # deliver what the calibration is for
        self.source = FrameSource(source, width, height, loop=loop)
        self.pub_image = self.create_publisher(ros_io.Image, "camera/image_raw", ros_io.SENSOR)
        self.pub_info = self.create_publisher(ros_io.CameraInfo, "camera/camera_info", ros_io.LATCHED)
        self.pub_pose = self.create_publisher(ros_io.PoseStamped, "camera/pose", ros_io.LATCHED)
        stamp = self.get_clock().now().to_msg()
        if self.intrinsics is not None:
            self.pub_info.publish(ros_io.camera_info_msg(self.intrinsics, self.frame_id, stamp))
        if pose_yaml:
            self.pub_pose.publish(ros_io.pose_msg(CameraPose.load(pose_yaml), stamp))
        self.published = 0
        self.misses = 0
        self.timer = self.create_timer(1.0 / rate, self._tick)
        self.get_logger().info(f"camera {source} at {rate:g} Hz" + (f", calibrated {calib}" if calib else ", no calibration"))

    def _tick(self) -> None:
        frame = self.source.read()
        if frame is None:
            self.misses += 1
            self.get_logger().warning(f"no frame from {self.source.source} ({self.misses} missed)", throttle_duration_sec=5.0)
            return
        intr = self.intrinsics
        if intr is not None and (frame.shape[1], frame.shape[0]) != (intr.width, intr.height):
            self.get_logger().error(
                f"frames are {frame.shape[1]}x{frame.shape[0]} but the calibration is for {intr.width}x{intr.height}; "
                "set width/height or recalibrate", throttle_duration_sec=5.0)
            return
        self.pub_image.publish(ros_io.image_msg(self, frame, self.frame_id))
        self.published += 1

    def destroy_node(self) -> None:
        """Release the capture device."""
        self.source.close()
        super().destroy_node()


def main(argv: list[str] | None = None) -> int:
    """`ros2 run cog_collect camera_node` entry point."""
    return ros_io.run_node(CameraNode, argv)


if __name__ == "__main__":
    sys.exit(main())
