"""The shared `ros2 run` entry helper: spins a real node until its stop condition, then cleans up."""

import pytest

rclpy = pytest.importorskip("rclpy", reason="rclpy (ROS 2) is not installed")
pytestmark = pytest.mark.ros

from rclpy.node import Node  # noqa: E402

from cog_collect import ros_io  # noqa: E402


class Ticker(Node):
    """Counts timer ticks and reports itself done after three."""

    destroyed = False

    def __init__(self):
        super().__init__("ticker")
        self.ticks = 0
        self.create_timer(0.01, self._tick)

    def _tick(self):
        self.ticks += 1

    def destroy_node(self):
        Ticker.destroyed = True
        super().destroy_node()


def test_run_node_spins_until_the_condition_then_shuts_down():
    nodes = []

    def make():
        nodes.append(Ticker())
        return nodes[-1]

    assert ros_io.run_node(make, [], until=lambda n: n.ticks >= 3) == 0
    assert nodes[0].ticks >= 3 and Ticker.destroyed and not rclpy.ok()
