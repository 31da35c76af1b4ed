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

    assert ros_io.run_node(make, [], until=lambda n: n.ticks >= 3, restore_signal_handlers=True) == 0
    assert nodes[0].ticks >= 3 and Ticker.destroyed and not rclpy.ok()


class SignalledNode(Node):
    """Sends itself SIGINT (as a terminal's Ctrl-C would) on its third tick; publishes in destroy_node."""

    def __init__(self, sig):
        super().__init__("signalled")
        self.sig = sig
        self.ticks = 0
        self.pub = self.create_publisher(ros_io.String, "~/goodbye", 10)
        self.create_timer(0.01, self._tick)
        self.published_on_destroy = None
        self.context_ok_on_destroy = None

    def _tick(self):
        self.ticks += 1
        if self.ticks == 3:
            import os

            os.kill(os.getpid(), self.sig)
            os.kill(os.getpid(), self.sig)  # twice, as a Ctrl-C that also reaches launch, which forwards it

    def destroy_node(self):
        self.context_ok_on_destroy = self.context.ok()
        self.published_on_destroy = ros_io.publish_if_valid(self, self.pub, ros_io.String(data="bye"))
        super().destroy_node()


@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_a_signal_ends_the_spin_and_the_node_cleans_up_on_a_valid_context(signame):
    import signal

    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    nodes = []

    def make():
        nodes.append(SignalledNode(getattr(signal, signame)))
        return nodes[-1]

    assert ros_io.run_node(make, [], restore_signal_handlers=True) == 0
    node = nodes[0]
    assert node.ticks >= 3 and node.context_ok_on_destroy and node.published_on_destroy
    assert not rclpy.ok()
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before  # handlers given back


def test_a_configuration_error_is_one_line_and_status_2(capsys):
    def make():
        raise KeyError("unknown preset 'nope'; valid: a, b")

    assert ros_io.run_node(make, [], restore_signal_handlers=True) == 2
    err = capsys.readouterr().err
    assert err.strip().endswith("error: unknown preset 'nope'; valid: a, b") and len(err.strip().splitlines()) == 1
    assert not rclpy.ok()
