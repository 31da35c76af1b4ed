"""launch_testing: `ros2 launch cog_policy run.launch.py backend:=sim model:=...` commands the arm.

Runs where launch_testing is installed (a ROS 2 install: `colcon test --packages-select
cog_policy` or `launch_test src/cog_policy/test/test_run_launch.py`); skips elsewhere.
"""

from __future__ import annotations

import os
import tempfile
import unittest
from pathlib import Path

import pytest

pytestmark = pytest.mark.ros
launch_testing = pytest.importorskip(
    "launch_testing", reason="launch_testing is not installed (it comes with a ROS 2 install, not from PyPI)")

import launch  # noqa: E402
import launch_testing.actions  # noqa: E402
from launch.actions import IncludeLaunchDescription  # noqa: E402
from launch.launch_description_sources import PythonLaunchDescriptionSource  # noqa: E402

WORK = Path(tempfile.mkdtemp(prefix="cog_run_launch_"))
LAUNCH = Path(__file__).resolve().parents[1] / "launch" / "run.launch.py"


@pytest.mark.launch_test
def generate_test_description():
    """run.launch.py with the sim backend, a small exported model, autostart."""
    from cog_policy.testing import export_small_policy

    os.environ.setdefault("MUJOCO_GL", "egl")
    model = export_small_policy(WORK / "model")
    run = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(str(LAUNCH)),
        launch_arguments={"backend": "sim", "model": str(model), "rate_hz": "10.0", "autostart": "true",
                          "max_episode_steps": "20", "bag_dir": str(WORK / "bag"),
                          "condition": "pick_place/object_on_table"}.items(),
    )
    return launch.LaunchDescription([run, launch_testing.actions.ReadyToTest()])


class TestPolicyRuns(unittest.TestCase):
    def test_policy_acts_and_finishes_the_episode(self, proc_output):
        from std_msgs.msg import Float32MultiArray
        import rclpy

        rclpy.init()
        try:
            node = rclpy.create_node("probe")
            actions = []
            node.create_subscription(Float32MultiArray, "/policy/action", lambda m: actions.append(list(m.data)), 50)
            import time

            end = time.monotonic() + 60
            while time.monotonic() < end and len(actions) < 5:
                rclpy.spin_once(node, timeout_sec=0.1)
            self.assertGreaterEqual(len(actions), 5)
            self.assertTrue(all(len(a) == 8 and max(abs(x) for x in a) <= 1.0 for a in actions))
            node.destroy_node()
        finally:
            rclpy.shutdown()
        proc_output.assertWaitFor("max_steps", timeout=60, stream="stderr")
