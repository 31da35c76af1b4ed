"""Message conversions and small rclpy helpers shared by the COG nodes (Humble and Jazzy).

Images are converted by hand with numpy (`cog_core.vision.imagemsg`), never cv_bridge. Only APIs
present in both Humble and Jazzy rclpy are used.
"""

from __future__ import annotations

import json
import signal
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
# What is logged (Step, EpisodeSummary): every message, with room for a slow subscriber.
RECORD = QoSProfile(depth=100, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.RELIABLE)


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


class StopSignals:
    """SIGINT and SIGTERM set `received` instead of raising or tearing down the ROS context.

    rclpy's own handlers shut the context down the moment a signal arrives (and Python raises
    KeyboardInterrupt wherever the main thread happens to be), so a node could no longer publish
    its arm's stop command, its final status or its bag's last messages. With these handlers the
    spin loop ends, then the node cleans up on a valid context, then the context is shut down.
    Repeated signals (a terminal's Ctrl-C reaches launch and every node, and launch forwards it)
    change nothing; launch escalates to SIGKILL if cleanup hangs.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.received: str | None = None
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        """Take over SIGINT and SIGTERM (main thread only)."""
        for sig in self.SIGNALS:
            previous = signal.signal(sig, self._on_signal)
            self._previous.setdefault(sig, previous)

    def _on_signal(self, signum: int, frame: Any) -> None:
        self.received = self.received or signal.Signals(signum).name

    def restore(self) -> None:
        """Put the previous handlers back."""
        for sig, handler in self._previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        self._previous.clear()


def configuration_errors() -> tuple[type[BaseException], ...]:
    """Exception types a node's constructor raises for a bad parameter, file or setup (not bugs)."""
    from rclpy.exceptions import ParameterException

    return (ValueError, LookupError, OSError, RuntimeError, ImportError, ParameterException)


def _init_rclpy(args: list[str]) -> bool:
    """rclpy.init without rclpy's signal handlers; returns False where they cannot be turned off."""
    import rclpy

    try:
        from rclpy.signals import SignalHandlerOptions
    except ImportError:
        rclpy.init(args=args)
        return False
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    return True


def _error_line(err: BaseException) -> str:
    text = err.args[0] if isinstance(err, KeyError) and err.args else str(err)
    return str(text).strip().splitlines()[0] if str(text).strip() else type(err).__name__


def run_node(make_node, argv: list[str] | None = None, until=None, *, restore_signal_handlers: bool = False) -> int:
    """`ros2 run` entry: build the node, spin it until SIGINT/SIGTERM, shutdown or `until(node)`, clean up.

    Returns the process exit status: 0 after a signal or a normal end; 2 when the node's
    configuration is wrong (one line on stderr naming the problem, no traceback; set
    COG_TRACEBACK=1 to see one). An exception while running propagates (traceback, exit 1)
    after the node has cleaned up. `node.destroy_node()` runs while the ROS context is still
    valid, so nodes can stop the arm, publish a final status and finish their bags there.
    Signals that arrive after the cleanup are ignored unless `restore_signal_handlers` (the
    interpreter's teardown, which takes DDS down, can last seconds on a loaded machine; a late
    SIGTERM from launch must not turn a clean exit into status -15).
    """
    import os
    import sys

    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    import threading

    threads_before = set(threading.enumerate())
    args = list(argv if argv is not None else sys.argv)
    prog = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "node"
    stop = StopSignals()
    stop.install()  # before init: a signal during start-up (imports, model loading) ends the node cleanly too
    if not _init_rclpy(args):
        stop.install()  # take them back from rclpy
    node = None
    executor = None
    try:
        try:
            node = make_node()
        except configuration_errors() as err:
            if os.environ.get("COG_TRACEBACK") == "1":
                raise
            print(f"[{prog}] error: {_error_line(err)}", file=sys.stderr, flush=True)
            stop.restore()  # nothing ran: no late signal to guard against
            return 2
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        while stop.received is None and rclpy.ok() and not (until is not None and until(node)):
            executor.spin_once(timeout_sec=0.1)
        if stop.received is not None:
            node.get_logger().info(f"{stop.received}: shutting down")
        return 0
    finally:
        if executor is not None:
            executor.remove_node(node)
            executor.shutdown()
        if node is not None:
            node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
        _join_spin_threads(exclude=threads_before)
        if restore_signal_handlers:
            stop.restore()


def _join_spin_threads(exclude=frozenset(), timeout_s: float = 2.0) -> None:
    """Let the threads started while the node ran -- those that spin executors of their own, as
    Interbotix's API does -- see the shutdown and end, so none is cut off inside rcl at interpreter exit."""
    import threading

    deadline = time.monotonic() + timeout_s
    for thread in threading.enumerate():
        if thread not in exclude and thread is not threading.current_thread() and thread.is_alive():
            thread.join(timeout=max(0.0, deadline - time.monotonic()))


def publish_if_valid(node: Node, publisher: Any, msg: Any) -> bool:
    """Publish unless the node's ROS context is already shut down; returns whether it was sent."""
    if not node.context.ok():
        return False
    publisher.publish(msg)
    return True


def flush(publishers, timeout_s: float = 1.0) -> None:
    """Wait (at most `timeout_s` each) until reliable subscribers acknowledged what was published: a
    publisher destroyed earlier drops its unacknowledged messages (the last steps of a bag)."""
    from rclpy.duration import Duration

    for pub in publishers:
        pub.wait_for_all_acked(Duration(seconds=timeout_s))


def recorder_topics(node: Node):
    """Live mirrors of the bag: publishers of cog_msgs/Step on /cog/step and EpisodeSummary on
    /cog/episode, and the `BagRecorder.on_message` hook that publishes the recorder's own bytes."""
    try:
        from cog_msgs.msg import EpisodeSummary, Step
    except ImportError as err:
        raise ImportError("cog_msgs is not built or not sourced: build the workspace with colcon (cog_msgs "
                          "included) and `source install/setup.bash`") from err

    from cog_core.bag import schema

    publishers = {
        schema.STEP_TOPIC: node.create_publisher(Step, schema.STEP_TOPIC, RECORD),
        schema.SUMMARY_TOPIC: node.create_publisher(EpisodeSummary, schema.SUMMARY_TOPIC, RECORD),
    }

    def on_message(topic: str, msgtype: str, data: bytes) -> None:
        pub = publishers.get(topic)
        if pub is not None:
            publish_if_valid(node, pub, data)  # serialized CDR: the bytes the bag holds

    return publishers, on_message
