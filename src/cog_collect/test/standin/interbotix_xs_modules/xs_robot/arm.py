"""Stand-in `InterbotixManipulatorXS` with the humble-branch signatures (see the package docstring)."""

from __future__ import annotations

import json
import threading
from types import SimpleNamespace

from interbotix_common_modules.common_robot.robot import create_interbotix_global_node, get_interbotix_global_node
from rclpy.duration import Duration
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from std_msgs.msg import String

ARM_JOINTS = ["waist", "shoulder", "elbow", "forearm_roll", "wrist_angle", "wrist_rotate"]
NAMES = ARM_JOINTS + ["gripper", "left_finger", "right_finger"]
SLEEP = [0.0, -1.88, 1.5, 0.0, 0.8, 0.0]
NEUTRAL = [0.0, -0.4, 0.6, 0.0, 0.9, 0.0]


class InterbotixRobotXSCore:
    """joint_states (+ js_mutex, js_index_map), robot_torque_enable, on the global node."""

    def __init__(self, robot_model, robot_name=None, topic_joint_states="joint_states", logging_level=None,
                 node_name="interbotix_robot_manipulation", node=None, args=None) -> None:
        self.robot_node = node or get_interbotix_global_node() or create_interbotix_global_node(node_name)
        qos = QoSProfile(depth=100, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.RELIABLE)
        self.pub = self.robot_node.create_publisher(String, f"/{robot_name or robot_model}/standin/calls", qos)
        self.js_mutex = threading.Lock()
        self.js_index_map = {n: i for i, n in enumerate(NAMES)}
        self.joint_states = SimpleNamespace(name=NAMES, position=NEUTRAL + [0.0, 0.035, -0.035], effort=[0.0] * len(NAMES))

    def get_node(self):
        return self.robot_node

    def record(self, call: str, **args) -> None:
        self.pub.publish(String(data=json.dumps({"call": call, **args})))

    def set_arm(self, q) -> None:
        with self.js_mutex:
            pos = list(self.joint_states.position)
            pos[:6] = [float(x) for x in q]
            self.joint_states = SimpleNamespace(name=NAMES, position=pos, effort=list(self.joint_states.effort))

    def robot_torque_enable(self, cmd_type: str, name: str, enable: bool) -> None:
        self.record("robot_torque_enable", cmd_type=cmd_type, name=name, enable=bool(enable))


class InterbotixArmXSInterface:
    def __init__(self, core: InterbotixRobotXSCore, moving_time: float, accel_time: float) -> None:
        self.core, self.moving_time, self.accel_time = core, moving_time, accel_time

    def _publish(self, call: str, positions, moving_time, blocking) -> None:
        self.core.record(call, positions=[float(x) for x in positions], moving_time=moving_time, blocking=blocking)
        self.moving_time = moving_time if moving_time is not None else self.moving_time
        self.core.set_arm(positions)
        if blocking:
            self.core.get_node().get_clock().sleep_for(Duration(nanoseconds=int(self.moving_time * 1e9)))

    def set_joint_positions(self, joint_positions, moving_time=None, accel_time=None, blocking=True) -> bool:
        self._publish("set_joint_positions", joint_positions, moving_time, blocking)
        return True

    def go_to_home_pose(self, moving_time=None, accel_time=None, blocking=True) -> None:
        self._publish("go_to_home_pose", [0.0] * 6, moving_time, blocking)

    def go_to_sleep_pose(self, moving_time=None, accel_time=None, blocking=True) -> None:
        self._publish("go_to_sleep_pose", SLEEP, moving_time, blocking)


class InterbotixGripperXSInterface:
    def __init__(self, core: InterbotixRobotXSCore) -> None:
        self.core = core

    def grasp(self, delay: float = 1.0) -> None:
        self.core.record("grasp", delay=delay)

    def release(self, delay: float = 1.0) -> None:
        self.core.record("release", delay=delay)


class InterbotixManipulatorXS:
    """The humble-branch constructor; spins only once robot_startup() is called."""

    def __init__(self, robot_model, group_name="arm", gripper_name="gripper", robot_name=None, moving_time=2.0,
                 accel_time=0.3, gripper_pressure=0.5, gripper_pressure_lower_limit=150,
                 gripper_pressure_upper_limit=350, topic_joint_states="joint_states", logging_level=None,
                 node_name="robot_manipulation", node=None, iterative_update_fk=True, args=None) -> None:
        self.core = InterbotixRobotXSCore(robot_model, robot_name, topic_joint_states, logging_level, node_name, node, args)
        self.arm = InterbotixArmXSInterface(self.core, moving_time, accel_time)
        self.gripper = InterbotixGripperXSInterface(self.core)
        self.core.record("__init__", robot_model=robot_model, group_name=group_name, gripper_name=gripper_name)
