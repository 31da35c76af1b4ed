"""Backend selection for the collector and policy nodes: ``backend:=sim|interbotix|gazebo``.

A backend factory takes the hosting node and its `BackendParams` and returns a
`cog_core.stations.base.Station`: Gymnasium-style ``reset``/``step``, an ``arm`` implementing
`cog_core.robot.state.ArmBackend` (motion limits from `cog_core.robot.action`), ``privileged()``.
Backends that render their own camera (the sim) also get a `SimPublisher` that publishes the
camera topic, CameraInfo, the camera pose and joint states, so the rest of the graph cannot
tell the sim from a robot with a camera node.

Plug a new backend in with ``register_backend("name", factory)``. `interbotix`
(`cog_collect.interbotix_backend`) and `gazebo` (`cog_collect.gazebo_backend`) are hardware
stations (`cog_core.stations.hardware.HardwareStation`) fed by the camera topic and ``/cog/object``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rclpy.node import Node

from cog_collect import ros_io


@dataclass
class BackendParams:
    """Backend settings shared by the nodes (ROS parameters of the same names)."""

    backend: str = "sim"
    robot_model: str = "wx250s"
    condition: str = "drawer/open"  # sim: initial condition (the preset may switch conditions within the scene)
    image_size: int = 48
    camera_width: int = 320
    camera_height: int = 240
    camera_rate_hz: float = 10.0
    camera_frame: str = "camera_optical_frame"
    publish_camera: bool = True


def declare_backend_params(node: Node, defaults: BackendParams | None = None) -> BackendParams:
    """Declare the backend parameters on `node` and return their values."""
    d = defaults or BackendParams()
    p = ros_io.param
    return BackendParams(
        backend=p(node, "backend", d.backend, "arm backend: sim | interbotix | gazebo"),
        robot_model=p(node, "robot_model", d.robot_model, "Interbotix robot model (wx250s)"),
        condition=p(node, "condition", d.condition, "sim: initial condition, e.g. drawer/open"),
        image_size=p(node, "image_size", d.image_size, "observation image size (square) logged and fed to policies"),
        camera_width=p(node, "camera_width", d.camera_width, "sim: camera topic width (px)"),
        camera_height=p(node, "camera_height", d.camera_height, "sim: camera topic height (px)"),
        camera_rate_hz=p(node, "camera_rate_hz", d.camera_rate_hz, "sim: camera topic rate (Hz)"),
        camera_frame=p(node, "camera_frame", d.camera_frame, "frame_id of the camera images"),
        publish_camera=p(node, "publish_camera", d.publish_camera, "sim: publish camera, camera_info, camera pose, joint_states"),
    )


def _make_sim(node: Node, params: BackendParams) -> Any:
    from cog_core.stations.sim import SimStation

    if params.robot_model != "wx250s":
        raise ValueError(f"the sim models the wx250s only; got robot_model={params.robot_model!r}")
    return SimStation(params.condition, image_size=params.image_size,
                      camera_width=params.camera_width, camera_height=params.camera_height)


def _make_interbotix(node: Node, params: BackendParams) -> Any:
    from cog_collect import interbotix_backend

    return interbotix_backend.make_station(node, params)


def _make_gazebo(node: Node, params: BackendParams) -> Any:
    try:
        from cog_collect import gazebo_backend
    except ImportError as err:
        raise ImportError(
            f"backend:=gazebo needs {err.name or 'trajectory_msgs'} (apt install ros-$ROS_DISTRO-trajectory-msgs) "
            "and a running Gazebo with the WidowX: `ros2 launch cog_bringup sim.launch.py` (docs/real_robot.md)") from err
    return gazebo_backend.make_station(node, params)


_FACTORIES: dict[str, Callable[[Node, BackendParams], Any]] = {
    "sim": _make_sim,
    "interbotix": _make_interbotix,  # cog_collect.interbotix_backend (real arm, Interbotix Python API)
    "gazebo": _make_gazebo,  # cog_collect.gazebo_backend (JointTrajectory on the Gazebo controllers)
}


def register_backend(name: str, factory: Callable[[Node, BackendParams], Any]) -> None:
    """Make `backend:=name` build its station with `factory(node, params)`."""
    _FACTORIES[name] = factory


def missing_inputs(station: Any) -> str | None:
    """What a hardware station still lacks before an episode can start (a camera frame, the arm's
    joint states), or None when it has everything (the sim always has)."""
    inputs = getattr(station, "inputs", None)  # hardware backends keep their topic subscriptions here
    if inputs is not None and inputs.image() is None:
        return f"a camera image on {inputs.sub_image.topic_name}"
    driver = getattr(getattr(station, "arm", None), "driver", None)
    if driver is not None and driver.joints() is None:
        return "the arm's joint states"
    return None


def make_station(node: Node, params: BackendParams) -> Any:
    """Build the station for `params.backend`; raises ValueError naming the valid backends."""
    if params.backend not in _FACTORIES:
        raise ValueError(f"unknown backend {params.backend!r}; choose one of {sorted(_FACTORIES)}")
    return _FACTORIES[params.backend](node, params)


class SimPublisher:
    """Publishes a station's own camera (image, CameraInfo, pose) and joint states on a timer.

    Topics (relative, so a namespace applies): ``camera/image_raw``, ``camera/camera_info``,
    ``camera/pose`` (latched PoseStamped: the optical frame in the base frame), ``joint_states``.
    """

    def __init__(self, node: Node, station: Any, params: BackendParams) -> None:
        self.node, self.station, self.params = node, station, params
        self.pub_image = node.create_publisher(ros_io.Image, "camera/image_raw", ros_io.SENSOR)
        self.pub_info = node.create_publisher(ros_io.CameraInfo, "camera/camera_info", ros_io.LATCHED)
        self.pub_pose = node.create_publisher(ros_io.PoseStamped, "camera/pose", ros_io.LATCHED)
        self.pub_joints = node.create_publisher(ros_io.JointState, "joint_states", ros_io.SENSOR)
        self.frames = 0
        self._published_calibration = False
        self.timer = node.create_timer(1.0 / float(params.camera_rate_hz), self.publish)

    def publish(self) -> None:
        """Render and publish one camera frame (and the calibration once), plus joint states."""
        stamp = self.node.get_clock().now().to_msg()
        if not self._published_calibration:
            cam = self.station.camera_model()
            self.pub_info.publish(ros_io.camera_info_msg(cam.intrinsics, self.params.camera_frame, stamp))
            self.pub_pose.publish(ros_io.pose_msg(cam.pose, stamp))
            self._published_calibration = True
        self.pub_image.publish(ros_io.image_msg(self.node, self.station.camera_image(), self.params.camera_frame, stamp))
        names, q = self.station.joint_state()
        self.pub_joints.publish(ros_io.joint_state_msg(names, q, stamp))
        self.frames += 1
