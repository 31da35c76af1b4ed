"""launch_testing: `ros2 launch cog_bringup collect.launch.py backend:=sim` records a bag and exits cleanly.

Runs where launch_testing is installed (a ROS 2 install: `colcon test --packages-select
cog_bringup` or `launch_test src/cog_bringup/test/test_collect_launch.py`); skips elsewhere.
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
import launch_testing.asserts  # noqa: E402
from launch.actions import IncludeLaunchDescription  # noqa: E402
from launch.launch_description_sources import PythonLaunchDescriptionSource  # noqa: E402

BAG = Path(tempfile.mkdtemp(prefix="cog_collect_launch_")) / "bag"
LAUNCH = Path(__file__).resolve().parents[1] / "launch" / "collect.launch.py"


@pytest.mark.launch_test
def generate_test_description():
    """collect.launch.py with the sim backend, 2 short episodes."""
    os.environ.setdefault("MUJOCO_GL", "egl")
    collect = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(str(LAUNCH)),
        launch_arguments={"backend": "sim", "preset": "pick-place-task", "episodes": "2", "max_steps": "10",
                          "rate_hz": "50.0", "bag_dir": str(BAG), "use_localizer": "true"}.items(),
    )
    return launch.LaunchDescription([collect, launch_testing.actions.ReadyToTest()])


class TestCollectorRuns(unittest.TestCase):
    def test_collector_finishes(self, proc_info, proc_output):
        proc_output.assertWaitFor("finished: 2 episode(s)", timeout=120, stream="stderr")


@launch_testing.post_shutdown_test()
class TestBagAfterShutdown(unittest.TestCase):
    def test_bag_converts(self):
        from cog_core.bag.reader import BagReader

        episodes = list(BagReader([BAG]).episodes())
        self.assertEqual(len(episodes), 2)
        self.assertTrue(all(ep.summary["status"] == "complete" for ep in episodes))

    def test_exit_codes(self, proc_info):
        launch_testing.asserts.assertExitCodes(proc_info)
