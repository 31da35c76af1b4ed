"""``backend:=gazebo``: the WidowX in Gazebo (Interbotix ``xsarm_gz_classic.launch.py``), driven by trajectories.

Interbotix's Python API does not drive Gazebo; its sim runs ros2_control JointTrajectoryControllers
``arm_controller`` (waist .. wrist_rotate) and ``gripper_controller`` (left_finger, right_finger)
under ``/<robot_name>`` (interbotix_xsarm_sim, config ``trajectory_controllers/<model>_trajectory_controllers.yaml``).
This driver publishes one-point ``trajectory_msgs/JointTrajectory`` goals on
``/<robot_name>/arm_controller/joint_trajectory`` and ``/<robot_name>/gripper_controller/joint_trajectory``
and reads ``/<robot_name>/joint_states``. Decisions (limits, IK, refusals, halting) are `cog_core.robot.hardware`'s.
"""

from __future__ import annotations

import numpy as np
from builtin_interfaces.msg import Duration
from rclpy.node import Node
from sensor_msgs.msg import JointState
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

from cog_collect import ros_io
from cog_core.robot.hardware import HardwareArm, RealArmSettings, sleep_joints
from cog_core.robot.kinematics import JOINT_NAMES
from cog_core.stations.hardware import HardwareStation

FINGER_JOINTS = ("left_finger", "right_finger")
# wx250s finger slide limits (m) from the Interbotix URDF: left 0.015..0.037, right -0.037..-0.015.
FINGER_OPEN = (0.037, -0.037)
FINGER_CLOSED = (0.015, -0.015)


def duration(seconds: float) -> Duration:
    """builtin_interfaces/Duration of `seconds`."""
    ns = int(round(max(0.0, seconds) * 1e9))
    return Duration(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000)


def trajectory(names, positions, seconds: float) -> JointTrajectory:
    """A one-point JointTrajectory reaching `positions` `seconds` after it is received (stamp 0 = now)."""
    msg = JointTrajectory()
    msg.joint_names = list(names)
    msg.points = [JointTrajectoryPoint(positions=[float(x) for x in positions], time_from_start=duration(seconds))]
    return msg


class GazeboDriver:
    """`cog_core.robot.hardware.ArmDriver` over the Interbotix Gazebo trajectory controllers."""

    def __init__(self, node: Node, robot_name: str = "wx250s", gripper_time: float = 0.5) -> None:
        ns = "/" + robot_name.strip("/")
        self.arm_topic = f"{ns}/arm_controller/joint_trajectory"
        self.gripper_topic = f"{ns}/gripper_controller/joint_trajectory"
        self.pub_arm = node.create_publisher(JointTrajectory, self.arm_topic, 10)
        self.pub_gripper = node.create_publisher(JointTrajectory, self.gripper_topic, 10)
        self.sub = node.create_subscription(JointState, f"{ns}/joint_states", self._on_joints, 10)
        self.gripper_time = gripper_time
        self._pos: dict[str, float] = {}
        self._effort: dict[str, float] = {}

    def _on_joints(self, msg: JointState) -> None:
        self._pos.update(zip(msg.name, msg.position))
        if len(msg.effort) == len(msg.name):
            self._effort.update(zip(msg.name, msg.effort))

    def joints(self) -> np.ndarray | None:
        """Measured arm joints in JOINT_NAMES order, None until all have been seen."""
        if any(n not in self._pos for n in JOINT_NAMES):
            return None
        return np.array([self._pos[n] for n in JOINT_NAMES], dtype=float)

    def finger_opening(self) -> float | None:
        """Pad distance: left slide minus right slide."""
        if any(n not in self._pos for n in FINGER_JOINTS):
            return None
        return float(self._pos["left_finger"] - self._pos["right_finger"])

    def efforts(self) -> np.ndarray | None:
        """Arm joint efforts (N m) when Gazebo reports them."""
        if any(n not in self._effort for n in JOINT_NAMES):
            return None
        return np.array([self._effort[n] for n in JOINT_NAMES], dtype=float)

    def error(self) -> str | None:
        """No error channel in Gazebo."""
        return None

    def send_joints(self, joints: np.ndarray, moving_time: float, accel_time: float) -> bool:
        """Publish an arm trajectory reaching `joints` in `moving_time` (accel_time: controller's own)."""
        self.pub_arm.publish(trajectory(JOINT_NAMES, joints, moving_time))
        return True

    def set_gripper(self, open_: bool) -> None:
        """Publish a finger trajectory to the open or closed slide positions."""
        self.pub_gripper.publish(trajectory(FINGER_JOINTS, FINGER_OPEN if open_ else FINGER_CLOSED, self.gripper_time))

    def sleep(self, moving_time: float, ack_timeout_s: float = 2.0) -> None:
        """Send the sleep pose and wait until the controller has received it (the node is shutting down)."""
        from rclpy.duration import Duration as RclpyDuration

        self.pub_arm.publish(trajectory(JOINT_NAMES, sleep_joints(), moving_time))
        self.pub_arm.wait_for_all_acked(RclpyDuration(seconds=ack_timeout_s))

    def torque_off(self) -> None:
        """Gazebo has no torque switch; the controllers hold the last goal."""


def make_station(node: Node, params, settings: RealArmSettings | None = None) -> HardwareStation:
    """The ``backend:=gazebo`` station: trajectory driver + Gazebo camera topic + /cog/object."""
    from cog_collect.topic_inputs import TopicInputs

    settings = settings or RealArmSettings(rate_hz=ros_io.control_rate(node), effort_limits=(1e9,) * len(JOINT_NAMES))
    inputs = TopicInputs(node)
    arm = HardwareArm(GazeboDriver(node, params.robot_model), settings)
    station = HardwareStation(arm, inputs.image, inputs.object_position, image_size=params.image_size, name="gazebo")
    station.inputs = inputs
    return station
