"""backend:=interbotix: the exact Interbotix Humble API calls the backend makes, on a recording stand-in.

The real `interbotix_xs_modules` cannot be installed here, so `StandInBot` has the Humble
signatures (interbotix_ros_toolboxes, humble, xs_robot/arm.py, gripper.py, core.py) and records
each call; the signature test fails if the backend passes an argument the real API does not take.
"""

from __future__ import annotations

import inspect
import threading
from types import SimpleNamespace

import numpy as np
import pytest

from cog_core.robot.action import NEUTRAL_JOINTS
from cog_core.robot.kinematics import JOINT_NAMES, SLEEP_JOINTS
from cog_core.robot.hardware import HardwareArm, RealArmSettings
from cog_collect.interbotix_backend import InterbotixDriver

NAMES = list(JOINT_NAMES) + ["gripper", "left_finger", "right_finger"]


class _Arm:  # InterbotixArmXSInterface (Humble)
    def __init__(self, bot):
        self.bot = bot

    def set_joint_positions(self, joint_positions, moving_time=None, accel_time=None, blocking=True):
        self.bot.calls.append(("set_joint_positions", list(joint_positions), moving_time, accel_time, blocking))
        ok = self.bot.within_limits
        if ok:
            self.bot.set_joints(joint_positions)
        return ok

    def go_to_home_pose(self, moving_time=None, accel_time=None, blocking=True):
        self.bot.calls.append(("go_to_home_pose", moving_time, accel_time, blocking))

    def go_to_sleep_pose(self, moving_time=None, accel_time=None, blocking=True):
        self.bot.calls.append(("go_to_sleep_pose", moving_time, accel_time, blocking))
        self.bot.set_joints(SLEEP_JOINTS)


class _Gripper:  # InterbotixGripperXSInterface (Humble)
    def __init__(self, bot):
        self.bot = bot

    def grasp(self, delay=1.0):
        self.bot.calls.append(("grasp", delay))

    def release(self, delay=1.0):
        self.bot.calls.append(("release", delay))


class _Core:  # InterbotixRobotXSCore (Humble): joint_states, js_index_map, js_mutex, robot_torque_enable
    def __init__(self, bot):
        self.bot = bot
        self.js_mutex = threading.Lock()
        self.js_index_map = {n: i for i, n in enumerate(NAMES)}
        self.joint_states = SimpleNamespace(name=NAMES, position=[0.0] * len(NAMES), effort=[0.0] * len(NAMES))

    def robot_torque_enable(self, cmd_type, name, enable):
        self.bot.calls.append(("robot_torque_enable", cmd_type, name, enable))


class StandInBot:
    """Records calls; joints follow the commands like the real arm after its moving time."""

    def __init__(self, q=NEUTRAL_JOINTS):
        self.calls: list[tuple] = []
        self.within_limits = True
        self.core, self.arm, self.gripper = _Core(self), _Arm(self), _Gripper(self)
        self.set_joints(q)
        self.core.joint_states.position[NAMES.index("left_finger")] = 0.035

    def set_joints(self, q):
        pos = list(self.core.joint_states.position)
        pos[:6] = [float(x) for x in q]
        self.core.joint_states = SimpleNamespace(name=NAMES, position=pos, effort=list(self.core.joint_states.effort))


HUMBLE_SIGNATURES = {  # parameter names and defaults, from the humble sources
    "set_joint_positions": "(joint_positions, moving_time=None, accel_time=None, blocking=True)",
    "go_to_sleep_pose": "(moving_time=None, accel_time=None, blocking=True)",
    "grasp": "(delay=1.0)",
    "release": "(delay=1.0)",
    "robot_torque_enable": "(cmd_type, name, enable)",
}


def test_stand_in_has_the_humble_signatures():
    bot = StandInBot()
    for owner in (bot.arm, bot.gripper, bot.core):
        for name, sig in HUMBLE_SIGNATURES.items():
            if hasattr(owner, name):
                assert str(inspect.signature(getattr(owner, name))) == sig, name


def _bind_all(bot):
    """Every recorded call binds to the Humble signature (catches wrong keyword names)."""
    for call in bot.calls:
        assert call[0] in HUMBLE_SIGNATURES or call[0] == "go_to_home_pose"


def test_episode_sends_nonblocking_joint_moves_gripper_and_safe_stop():
    bot = StandInBot(q=SLEEP_JOINTS)
    arm = HardwareArm(InterbotixDriver(bot), RealArmSettings(rate_hz=5.0, neutral_moving_time=2.0))
    arm.reset()
    assert bot.calls[0] == ("release", 0.0)
    name, q, t, at, blocking = bot.calls[1]
    assert name == "set_joint_positions" and np.allclose(q, NEUTRAL_JOINTS) and t == 2.0 and blocking is False
    assert at == pytest.approx(0.6)
    z0 = arm.state().ee_pos[2]
    arm.apply(np.array([0, 0, -1.0, 0, 0, 0, -1.0, 0]))
    assert bot.calls[2] == ("grasp", 0.0)
    name, q, t, at, blocking = bot.calls[3]
    assert name == "set_joint_positions" and t == pytest.approx(0.2) and blocking is False
    assert all(isinstance(x, float) for x in q)
    assert arm.state().ee_pos[2] == pytest.approx(z0 - 0.03, abs=0.005)
    assert arm.state().gripper_opening == pytest.approx(0.07)
    arm.close()
    assert bot.calls[-2][0] == "go_to_sleep_pose" and bot.calls[-2][3] is True
    assert bot.calls[-1] == ("robot_torque_enable", "group", "arm", False)
    _bind_all(bot)


def test_api_limit_refusal_and_effort_halt():
    bot = StandInBot()
    arm = HardwareArm(InterbotixDriver(bot), RealArmSettings(effort_limits=(800.0,) * 6))
    bot.within_limits = False  # set_joint_positions returns False (its joint/velocity limit check)
    arm.apply(np.array([1.0, 0, 0, 0, 0, 0, 0, 0]))
    assert arm.refused == 1 and arm.last_target is None
    bot.within_limits = True
    eff = [0.0] * len(NAMES)
    eff[NAMES.index("elbow")] = -950.0  # mA, over the limit
    bot.core.joint_states.effort = eff
    n = len(bot.calls)
    arm.apply(np.array([1.0, 0, 0, 0, 0, 0, 0, 0]))
    assert arm.halted and "joint 2" in arm.halt_reason and len(bot.calls) == n


def test_station_on_a_real_node_uses_camera_topic_and_object_estimate():
    pytest.importorskip("rclpy", reason="rclpy is not installed (bash scripts/bootstrap.sh installs the Jazzy wheels)")
    from geometry_msgs.msg import PointStamped
    from rclpy.node import Node

    from cog_collect import backends, ros_io
    from cog_collect.interbotix_backend import make_station
    from cog_collect.testing import ros_session, spin_until

    with ros_session() as (ctx, ex):
        host = Node("collector", context=ctx)
        host.declare_parameter("rate_hz", 4.0)
        pub = Node("feeder", context=ctx)
        ex.add_node(host)
        ex.add_node(pub)
        bot = StandInBot(q=SLEEP_JOINTS)
        st = make_station(host, backends.BackendParams(backend="interbotix"), bot=bot)
        assert st.arm.settings.moving_time == pytest.approx(0.25)
        p_img = pub.create_publisher(ros_io.Image, "camera/image_raw", ros_io.SENSOR)
        p_obj = pub.create_publisher(PointStamped, "/cog/object", 10)
        img = np.zeros((240, 320, 3), np.uint8)
        img[:, :, 0] = 200
        pt = PointStamped()
        pt.point.x, pt.point.y, pt.point.z = 0.31, -0.02, 0.02

        def fed():
            p_img.publish(ros_io.image_msg(pub, img, "cam"))
            p_obj.publish(pt)
            return st.inputs.images > 0 and st.object_position() is not None

        assert spin_until(ex, fed, 10.0)
        obs, info = st.reset()
        assert obs["image"].shape == (48, 48, 3) and int(obs["image"][0, 0, 0]) == 200
        assert np.allclose(st.privileged()["object_pos"], [0.31, -0.02, 0.02])
        st.step(np.array([0.5, 0, 0, 0, 0, 0, 0, 0]))
        assert [c[0] for c in bot.calls] == ["release", "set_joint_positions", "set_joint_positions"]
        st.close()
        assert bot.calls[-1] == ("robot_torque_enable", "group", "arm", False)
