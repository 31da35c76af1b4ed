"""backend:=gazebo on real rclpy: real trajectory_msgs/JointTrajectory to a real subscriber, joint_states in."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.ros
rclpy = pytest.importorskip("rclpy", reason="rclpy is not installed (bash scripts/bootstrap.sh installs the Jazzy wheels)")
pytest.importorskip("trajectory_msgs", reason="ros-jazzy-trajectory-msgs is not installed (bash scripts/bootstrap.sh)")

from rclpy.node import Node  # noqa: E402
from sensor_msgs.msg import JointState  # noqa: E402
from trajectory_msgs.msg import JointTrajectory  # noqa: E402

from cog_collect import backends, ros_io  # noqa: E402
from cog_collect.gazebo_backend import FINGER_CLOSED, FINGER_OPEN  # noqa: E402
from cog_collect.testing import ros_session, spin_until  # noqa: E402
from cog_core.robot.action import NEUTRAL_JOINTS  # noqa: E402
from cog_core.robot.ik import ArmKinematics  # noqa: E402
from cog_core.robot.kinematics import JOINT_NAMES, SLEEP_JOINTS  # noqa: E402


class FakeGazebo:
    """The Gazebo side: the controllers' trajectory topics (recorded) and joint_states (follows the goals)."""

    def __init__(self, node: Node, q0):
        self.node = node
        self.arm: list[JointTrajectory] = []
        self.gripper: list[JointTrajectory] = []
        self.q = np.array(q0, float)
        self.fingers = np.array(FINGER_OPEN)
        node.create_subscription(JointTrajectory, "/wx250s/arm_controller/joint_trajectory", self._on_arm, 10)
        node.create_subscription(JointTrajectory, "/wx250s/gripper_controller/joint_trajectory", self._on_grip, 10)
        self.pub = node.create_publisher(JointState, "/wx250s/joint_states", 10)
        node.create_timer(0.01, self.publish)

    def _on_arm(self, msg):
        self.arm.append(msg)
        self.q = np.array(msg.points[-1].positions)

    def _on_grip(self, msg):
        self.gripper.append(msg)
        self.fingers = np.array(msg.points[-1].positions)

    def publish(self):
        self.pub.publish(ros_io.joint_state_msg(list(JOINT_NAMES) + ["left_finger", "right_finger"],
                                                np.concatenate([self.q, self.fingers]), self.node.get_clock().now().to_msg()))


def test_gazebo_station_publishes_joint_trajectories_and_reads_joint_states():
    with ros_session() as (ctx, ex):
        host = Node("collector", context=ctx)
        host.declare_parameter("rate_hz", 5.0)
        gz = FakeGazebo(Node("gazebo", context=ctx), SLEEP_JOINTS)
        ex.add_node(host)
        ex.add_node(gz.node)
        st = backends.make_station(host, backends.BackendParams(backend="gazebo"))
        assert type(st).__name__ == "HardwareStation" and st.name == "gazebo"
        drv = st.arm.driver
        assert spin_until(ex, lambda: drv.joints() is not None and drv.finger_opening() is not None, 10.0)
        assert np.allclose(drv.joints(), SLEEP_JOINTS)

        st.arm.reset()  # gripper open + slow move to neutral
        assert spin_until(ex, lambda: len(gz.arm) == 1 and len(gz.gripper) == 1, 10.0)
        goal = gz.arm[0]
        assert list(goal.joint_names) == list(JOINT_NAMES) and len(goal.points) == 1
        assert np.allclose(goal.points[0].positions, NEUTRAL_JOINTS)
        assert goal.points[0].time_from_start.sec == 2 and goal.points[0].time_from_start.nanosec == 0
        assert list(gz.gripper[0].joint_names) == ["left_finger", "right_finger"]
        assert np.allclose(gz.gripper[0].points[0].positions, FINGER_OPEN)
        assert spin_until(ex, lambda: np.allclose(drv.joints(), NEUTRAL_JOINTS), 10.0)
        assert st.arm.state().gripper_opening == pytest.approx(0.074)

        kin = ArmKinematics()
        z0 = kin.fk(drv.joints())[0][2]
        st.arm.apply(np.array([0, 0, -1.0, 0, 0, 0, -1.0, 0]))  # down one step, close
        assert spin_until(ex, lambda: len(gz.arm) == 2 and len(gz.gripper) == 2, 10.0)
        step = gz.arm[1].points[0]
        assert step.time_from_start.sec == 0 and step.time_from_start.nanosec == 200_000_000  # one period at 5 Hz
        assert kin.fk(np.array(step.positions))[0][2] == pytest.approx(z0 - 0.03, abs=0.005)
        assert np.allclose(gz.gripper[1].points[0].positions, FINGER_CLOSED)

        # a target the controller refuses: from a wildly twisted wrist nothing is published
        gz.q = np.array([0.0, 1.2, -0.3, 2.5, 1.5, 0.0])
        assert spin_until(ex, lambda: np.allclose(drv.joints(), gz.q), 10.0)
        n = len(gz.arm)
        st.arm.controller.reset()
        for _ in range(3):
            st.arm.apply(np.array([1.0, 0, 0, 1.0, 0, 0, 0, 0]))
            ex.spin_once(timeout_sec=0.05)
        spin_until(ex, lambda: False, 0.3)
        assert len(gz.arm) == n  # nothing published
        assert st.arm.refused == 2  # IK would jump the joints ...
        assert st.arm.halted and "not following" in st.arm.halt_reason  # ... and the arm is 3 steps off its target

        st.close()
        assert spin_until(ex, lambda: np.allclose(gz.arm[-1].points[0].positions, SLEEP_JOINTS), 10.0)
