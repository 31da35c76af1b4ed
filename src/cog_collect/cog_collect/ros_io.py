"""Message conversions and small rclpy helpers shared by the COG nodes (Humble and Jazzy).

Images are converted by hand with numpy (`cog_core.vision.imagemsg`), never cv_bridge. Only APIs
present in both Humble and Jazzy rclpy are used.
"""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np
from geometry_msgs.msg import PoseStamped
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, Image, JointState
from std_msgs.msg import Float32MultiArray, String

from cog_core.vision.imagemsg import fill_image_msg, rgb_from_image_msg
from cog_core.vision.camera import CameraIntrinsics, CameraModel, CameraPose, matrix_to_quat_xyzw, quat_xyzw_to_matrix

# Latched: late subscribers (the localizer started after the camera) still get the calibration.
LATCHED = QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST, durability=DurabilityPolicy.TRANSIENT_LOCAL,
                     reliability=ReliabilityPolicy.RELIABLE)
# Sensor streams: newest frame wins.
SENSOR = QoSProfile(depth=2, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.RELIABLE)


def param(node: Node, name: str, default: Any, description: str = "") -> Any:
    """Declare a parameter with a default and return its value."""
    from rcl_interfaces.msg import ParameterDescriptor

    return node.declare_parameter(name, default, ParameterDescriptor(description=description)).value


def control_rate(node: Node, default: float = 5.0) -> float:
    """The node's control rate: its `rate_hz` parameter, `default` when it declares none."""
    if not node.has_parameter("rate_hz"):
        return default
    return float(node.get_parameter("rate_hz").value)


def monotonic() -> float:
    """Seconds on the monotonic clock (watchdogs measure arrival times on it)."""
    return time.monotonic()


def image_msg(node: Node, rgb: np.ndarray, frame_id: str, stamp: Any = None) -> Image:
    """A sensor_msgs/Image (rgb8) of an RGB uint8 array."""
    msg = Image()
    msg.header.stamp = stamp if stamp is not None else node.get_clock().now().to_msg()
    msg.header.frame_id = frame_id
    return fill_image_msg(msg, rgb)


def rgb_of(msg: Image) -> np.ndarray:
    """An (H, W, 3) uint8 RGB array of a sensor_msgs/Image (rgb8/bgr8/rgba8/bgra8/mono8)."""
    return rgb_from_image_msg(msg)


def camera_info_msg(intr: CameraIntrinsics, frame_id: str, stamp: Any) -> CameraInfo:
    """sensor_msgs/CameraInfo of a `CameraIntrinsics`."""
    msg = CameraInfo()
    msg.header.stamp = stamp
    msg.header.frame_id = frame_id
    msg.width, msg.height = int(intr.width), int(intr.height)
    msg.distortion_model = intr.distortion_model
    msg.d = [float(x) for x in intr.dist]
    msg.k = [float(x) for x in np.asarray(intr.K).ravel()]
    msg.r = [float(x) for x in np.asarray(intr.R_rect).ravel()]
    msg.p = [float(x) for x in np.asarray(intr.P).ravel()]
    return msg


def intrinsics_of(msg: CameraInfo) -> CameraIntrinsics:
    """`CameraIntrinsics` of a sensor_msgs/CameraInfo."""
    return CameraIntrinsics(
        width=int(msg.width), height=int(msg.height), K=np.array(msg.k, float).reshape(3, 3),
        dist=np.array(msg.d, float), distortion_model=msg.distortion_model or "plumb_bob",
        R_rect=np.array(msg.r, float).reshape(3, 3) if any(msg.r) else np.eye(3),
        P=np.array(msg.p, float).reshape(3, 4) if any(msg.p) else None,
    )


def pose_msg(pose: CameraPose, stamp: Any) -> PoseStamped:
    """geometry_msgs/PoseStamped of the camera's optical frame in the base frame (frame_id = base)."""
    msg = PoseStamped()
    msg.header.stamp = stamp
    msg.header.frame_id = pose.base_frame
    t = pose.t
    q = matrix_to_quat_xyzw(pose.R)
    msg.pose.position.x, msg.pose.position.y, msg.pose.position.z = (float(v) for v in t)
    (msg.pose.orientation.x, msg.pose.orientation.y, msg.pose.orientation.z, msg.pose.orientation.w) = (float(v) for v in q)
    return msg


def pose_of(msg: PoseStamped, table_z: float = 0.0, camera_frame: str = "camera_optical_frame") -> CameraPose:
    """`CameraPose` of a PoseStamped (the camera optical frame in the base frame)."""
    o, p = msg.pose.orientation, msg.pose.position
    R = quat_xyzw_to_matrix([o.x, o.y, o.z, o.w])
    return CameraPose.from_rt(R, [p.x, p.y, p.z], base_frame=msg.header.frame_id or "base_link",
                              camera_frame=camera_frame, table_z=table_z)


def camera_model_of(info: CameraInfo, pose: PoseStamped, table_z: float = 0.0) -> CameraModel:
    """The localizer's `CameraModel` from a CameraInfo and a camera pose message."""
    return CameraModel(intrinsics_of(info), pose_of(pose, table_z=table_z, camera_frame=info.header.frame_id or "camera"))


def joint_state_msg(names: list[str], positions: np.ndarray, stamp: Any) -> JointState:
    """sensor_msgs/JointState with names and positions."""
    msg = JointState()
    msg.header.stamp = stamp
    msg.name = list(names)
    msg.position = [float(x) for x in positions]
    return msg


def json_msg(data: Any) -> String:
    """std_msgs/String holding `data` as JSON (numpy values converted)."""
    def default(o: Any) -> Any:
        if isinstance(o, np.ndarray):
            return o.tolist()
        if isinstance(o, np.generic):
            return o.item()
        raise TypeError(f"not JSON serialisable: {type(o).__name__}")

    return String(data=json.dumps(data, default=default))


def floats_msg(values: np.ndarray) -> Float32MultiArray:
    """std_msgs/Float32MultiArray of a vector."""
    return Float32MultiArray(data=[float(x) for x in np.asarray(values).ravel()])


def run_node(make_node, argv: list[str] | None = None, until=None) -> int:
    """`ros2 run` entry: init rclpy, spin the node until Ctrl-C, shutdown or `until(node)`; clean up; returns 0."""
    import sys

    import rclpy

    rclpy.init(args=argv if argv is not None else sys.argv)
    node = None
    try:
        node = make_node()
        if until is None:
            rclpy.spin(node)
        else:
            while rclpy.ok() and not until(node):
                rclpy.spin_once(node, timeout_sec=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        if node is not None:
            node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return 0

