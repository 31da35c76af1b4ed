"""``backend:=interbotix``: a real WidowX 250 6-DOF through Interbotix's Python API (ROS 2 Humble).

API used, as in Interbotix/interbotix_ros_toolboxes (humble branch),
``interbotix_xs_toolbox/interbotix_xs_modules/interbotix_xs_modules/xs_robot/`` and
``interbotix_common_toolbox/interbotix_common_modules/interbotix_common_modules/common_robot/robot.py``:

- ``arm.py``: ``InterbotixManipulatorXS(robot_model, group_name='arm', gripper_name='gripper',
  robot_name=None, moving_time=2.0, accel_time=0.3, ..., node_name=..., args=None)`` builds an
  ``InterbotixRobotXSCore`` on a node (since April 2024 a global node, made with ``rclpy.init()``
  only if nobody initialised ROS yet) and blocks until the xs_sdk driver's services answer.
  Since April 2024 nothing spins that node until ``robot_startup()`` (common_robot/robot.py)
  starts a daemon thread with its own MultiThreadedExecutor (``while rclpy.ok(): spin``); before
  that, the constructor did it itself (``start_on_init=True``). This backend calls
  ``robot_startup()`` where it exists. ``.arm.set_joint_positions(joint_positions, moving_time=None,
  accel_time=None, blocking=True) -> bool`` (False, and nothing sent, when outside the joint
  position/velocity limits), ``.arm.go_to_home_pose(...)``, ``.arm.go_to_sleep_pose(moving_time=None,
  accel_time=None, blocking=True)`` (publishes the JointGroupCommand, then sleeps the moving time).
  ``robot_shutdown()`` (and the older ``InterbotixManipulatorXS.shutdown()``) call
  ``rclpy.shutdown()``, so this backend never calls them: our node owns the rclpy lifetime
  (`cog_collect.ros_io.run_node`: the station's sleep + torque off run on a valid context, then
  ROS shuts down, then the Interbotix spin thread is joined).
- ``gripper.py``: ``.gripper.grasp(delay=1.0)``, ``.gripper.release(delay=1.0)`` (PWM/current
  effort; ``delay`` is a blocking sleep, we pass 0).
- ``core.py``: ``.core.joint_states`` (sensor_msgs/JointState, guarded by ``.core.js_mutex``),
  ``.core.js_index_map`` (joint name -> index), ``.core.robot_torque_enable(cmd_type, name, enable)``.

Construction blocks until the driver is up, so the factory runs inside the node's constructor,
before the node joins an executor (the Interbotix core is a separate node with its own thread).
All decisions (limits, IK, refusing bad targets, halting) are `cog_core.robot.hardware`'s.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from cog_collect import ros_io
from cog_core.robot.hardware import HardwareArm, RealArmSettings
from cog_core.robot.kinematics import JOINT_NAMES
from cog_core.stations.hardware import HardwareStation


class InterbotixDriver:
    """`cog_core.robot.hardware.ArmDriver` over an ``InterbotixManipulatorXS`` (or anything with its API)."""

    def __init__(self, bot: Any, group_name: str = "arm", finger_joint: str = "left_finger") -> None:
        self.bot = bot
        self.group_name = group_name
        self.finger_joint = finger_joint

    def _joint_state(self):
        core = self.bot.core
        lock = getattr(core, "js_mutex", None) or threading.Lock()
        with lock:
            return core.joint_states, dict(core.js_index_map)

    def joints(self) -> np.ndarray | None:
        """Measured arm joints from the core's joint_states, in JOINT_NAMES order."""
        js, index = self._joint_state()
        if js is None or any(n not in index for n in JOINT_NAMES):
            return None
        return np.array([js.position[index[n]] for n in JOINT_NAMES], dtype=float)

    def finger_opening(self) -> float | None:
        """Pad distance: twice the left finger's slide (the fingers move symmetrically)."""
        js, index = self._joint_state()
        if js is None or self.finger_joint not in index:
            return None
        return 2.0 * abs(float(js.position[index[self.finger_joint]]))

    def efforts(self) -> np.ndarray | None:
        """Arm joint efforts (xs_sdk: motor current, mA), None when not published."""
        js, index = self._joint_state()
        if js is None or len(js.effort) == 0:
            return None
        return np.array([js.effort[index[n]] for n in JOINT_NAMES], dtype=float)

    def error(self) -> str | None:
        """No error channel in the Python API; motor faults show up as missing/stalled joint states."""
        return None

    def send_joints(self, joints: np.ndarray, moving_time: float, accel_time: float) -> bool:
        """Non-blocking ``arm.set_joint_positions``; its own limit check may refuse (returns False)."""
        return bool(self.bot.arm.set_joint_positions([float(x) for x in joints], moving_time=float(moving_time),
                                                     accel_time=float(accel_time), blocking=False))

    def set_gripper(self, open_: bool) -> None:
        """``gripper.release`` / ``gripper.grasp`` without waiting."""
        if open_:
            self.bot.gripper.release(delay=0.0)
        else:
            self.bot.gripper.grasp(delay=0.0)

    def sleep(self, moving_time: float) -> None:
        """``arm.go_to_sleep_pose`` (blocking)."""
        self.bot.arm.go_to_sleep_pose(moving_time=float(moving_time), accel_time=0.3 * float(moving_time), blocking=True)

    def torque_off(self) -> None:
        """Torque off the arm group."""
        self.bot.core.robot_torque_enable("group", self.group_name, False)


def make_interbotix_bot(robot_model: str, moving_time: float = 2.0, accel_time: float = 0.3) -> Any:
    """Build ``InterbotixManipulatorXS`` (blocks until xsarm_control is up); clear error without the package."""
    try:
        from interbotix_xs_modules.xs_robot.arm import InterbotixManipulatorXS
    except ImportError as e:
        raise RuntimeError(
            "backend:=interbotix needs the Interbotix ROS 2 stack (interbotix_xs_modules); install it with "
            "xsarm_amd64_install.sh -d humble, or use the docker/ image, then start "
            f"`ros2 launch interbotix_xsarm_control xsarm_control.launch.py robot_model:={robot_model}` "
            "(add use_sim:=true for a dry run)"
        ) from e
    bot = InterbotixManipulatorXS(robot_model=robot_model, group_name="arm", gripper_name="gripper",
                                  moving_time=moving_time, accel_time=accel_time)
    try:  # since April 2024 the API spins its node only after robot_startup()
        from interbotix_common_modules.common_robot.robot import robot_startup
    except ImportError:  # older releases: the constructor started spinning (start_on_init=True)
        return bot
    robot_startup()
    return bot


def make_station(node: Any, params: Any, bot: Any = None, settings: RealArmSettings | None = None) -> HardwareStation:
    """The ``backend:=interbotix`` station: Interbotix arm + camera topic + /cog/object on `node`."""
    from cog_collect.topic_inputs import TopicInputs

    settings = settings or RealArmSettings(rate_hz=ros_io.control_rate(node))
    bot = bot if bot is not None else make_interbotix_bot(params.robot_model)
    inputs = TopicInputs(node)
    arm = HardwareArm(InterbotixDriver(bot), settings)
    station = HardwareStation(arm, inputs.image, inputs.object_position, image_size=params.image_size, name="interbotix")
    station.inputs = inputs  # keep the subscriptions alive
    return station

