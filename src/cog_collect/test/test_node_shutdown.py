"""Nodes as processes (the installed entry points of a built workspace): SIGINT and SIGTERM end every
node with status 0 after it cleaned up on a still valid ROS context -- the collector's bag gets its
MCAP footer and summary, the arm backends send their sleep command -- and a configuration mistake
ends a node with one line and status 2, no traceback.

A terminal's Ctrl-C reaches the launch process and every node, and launch then forwards SIGINT to
each node: the double SIGINT case is that.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.ros
rclpy = pytest.importorskip("rclpy", reason="rclpy is not installed (bash scripts/bootstrap.sh installs the Jazzy wheels)")
pytest.importorskip("cog_msgs", reason="cog_msgs is not built here: the node tests run in the colcon-built "
                    "workspace (bash scripts/ros.sh, or colcon build && source install/setup.bash)")

from cog_msgs.msg import EpisodeSummary, Step  # noqa: E402
from geometry_msgs.msg import PointStamped  # noqa: E402
from std_msgs.msg import String  # noqa: E402
from std_srvs.srv import Trigger  # noqa: E402

from cog_collect import ros_io  # noqa: E402
from cog_collect.testing import (  # noqa: E402
    NodeProcess, call, complete_bag_messages, node_command, node_env, ros_args, ros_session, same_cdr, single_error_line,
    spin_until, spin_while_running)

STANDIN = Path(__file__).resolve().parent / "standin"  # the recording stand-in of interbotix_xs_modules


@pytest.mark.parametrize("signals", [("SIGINT",), ("SIGINT", "SIGINT"), ("SIGTERM",)], ids=["sigint", "sigint-twice", "sigterm"])
def test_collector_exits_0_with_a_complete_bag_on_a_signal_mid_episode(tmp_path, signals):
    from cog_core.bag.reader import BagReader

    bag = tmp_path / "bag"
    cmd = node_command("cog_collect", "collector_node") + ros_args(
        preset="pick-place-task", episodes=100, max_steps=30, rate_hz=20.0, bag_dir=bag, publish_camera="false",
        autostart="false")
    with ros_session() as (ctx, ex), NodeProcess(cmd, tmp_path / "node.log") as node:
        probe = rclpy.create_node("probe", context=ctx)
        steps, summaries = [], []
        raw = {"/cog/step": [], "/cog/episode": []}
        subs = [probe.create_subscription(Step, "/cog/step", steps.append, ros_io.RECORD),
                probe.create_subscription(EpisodeSummary, "/cog/episode", summaries.append, ros_io.RECORD),
                probe.create_subscription(Step, "/cog/step", raw["/cog/step"].append, ros_io.RECORD, raw=True),
                probe.create_subscription(EpisodeSummary, "/cog/episode", raw["/cog/episode"].append, ros_io.RECORD,
                                          raw=True)]
        start = probe.create_client(Trigger, "/collector/start")
        ex.add_node(probe)
        # start once both topics are matched, so the probe sees every message the bag gets
        assert spin_until(ex, lambda: all(s.get_publisher_count() == 1 for s in subs), timeout=60.0), node.output()
        spin_until(ex, lambda: False, timeout=0.5)  # the node's side of the discovery
        assert call(ex, start, Trigger.Request(), timeout=10.0).success
        assert spin_until(ex, lambda: summaries and steps and not steps[-1].is_last and steps[-1].step_index >= 3,
                          timeout=60.0), node.output()
        for name in signals:
            node.send(getattr(signal, name))
            time.sleep(0.02)
        rc = spin_while_running(ex, node, timeout=30.0)
        spin_until(ex, lambda: summaries[-1].status == "aborted" and len(raw["/cog/step"]) == len(steps)
                   and len(raw["/cog/episode"]) == len(summaries), timeout=3.0)  # published while shutting down
        out = node.output()
    assert rc == 0, out
    assert "Traceback" not in out and f"{signals[0]}: shutting down" in out
    complete_bag_messages(bag)
    assert summaries[-1].status == "aborted" and json.loads(summaries[-1].info_json)["reason"] == "shutdown"
    complete = [s.episode_id for s in summaries if s.status == "complete"]
    episodes = [e.episode_id for e in BagReader([bag]).episodes()]
    assert complete and episodes[-len(complete):] == complete
    # the live topics carried the bag's messages, byte for byte, up to its last one (the aborted summary)
    from mcap.reader import make_reader

    in_bag = {"/cog/step": [], "/cog/episode": []}
    for seg in sorted(p for p in bag.iterdir() if p.is_dir()):
        with open(next(seg.glob("*.mcap")), "rb") as f:
            for _, channel, message in make_reader(f).iter_messages(log_time_order=False):
                in_bag[channel.topic].append(message.data)
    for topic, live in raw.items():
        tail = in_bag[topic][-len(live):]
        assert live and len(tail) == len(live) and all(same_cdr(m, b) for m, b in zip(live, tail)), topic


@pytest.mark.parametrize("executable, name", [("camera_node", "camera"), ("localizer_node", "localizer")])
def test_camera_and_localizer_exit_0_on_sigint(tmp_path, executable, name):
    import cv2

    still = tmp_path / "still.png"
    cv2.imwrite(str(still), np.zeros((48, 64, 3), np.uint8))
    params = {"source": still, "rate_hz": 30.0} if executable == "camera_node" else {}
    with ros_session() as (ctx, ex), NodeProcess(node_command("cog_collect", executable) + ros_args(**params),
                                                  tmp_path / "node.log") as node:
        probe = rclpy.create_node("probe", context=ctx)
        ex.add_node(probe)
        assert spin_until(ex, lambda: name in probe.get_node_names(), timeout=30.0), node.output()
        spin_until(ex, lambda: False, timeout=0.5)  # spinning
        assert node.proc.poll() is None, node.output()
        node.send(signal.SIGINT)
        rc = node.wait(timeout=20)
        out = node.output()
    assert rc == 0 and "Traceback" not in out, out


class _Feeder:
    """What a hardware station reads from the graph: camera frames and the localizer's object estimate."""

    def __init__(self, node, image_topic: str = "camera/image_raw") -> None:
        self.node = node
        self.pub_img = node.create_publisher(ros_io.Image, image_topic, ros_io.SENSOR)
        self.pub_obj = node.create_publisher(PointStamped, "/cog/object", 10)
        self.img = np.full((240, 320, 3), 90, np.uint8)
        node.create_timer(0.05, self.publish)

    def publish(self) -> None:
        self.pub_img.publish(ros_io.image_msg(self.node, self.img, "camera"))
        pt = PointStamped()
        pt.header.stamp = self.node.get_clock().now().to_msg()
        pt.point.x, pt.point.y, pt.point.z = 0.32, 0.0, 0.02
        self.pub_obj.publish(pt)


def test_gazebo_collector_sends_the_sleep_pose_before_it_exits_on_sigint(tmp_path):
    from test_gazebo_backend import FakeGazebo

    from cog_core.robot.kinematics import SLEEP_JOINTS

    bag = tmp_path / "bag"
    cmd = node_command("cog_collect", "collector_node") + ros_args(
        backend="gazebo", preset="pick-place-prior", episodes=5, max_steps=40, rate_hz=10.0, bag_dir=bag,
        object_source="localizer")
    with ros_session() as (ctx, ex), NodeProcess(cmd, tmp_path / "node.log") as node:
        gz = FakeGazebo(rclpy.create_node("gazebo", context=ctx), SLEEP_JOINTS)
        feeder = _Feeder(rclpy.create_node("feeder", context=ctx))
        probe = rclpy.create_node("probe", context=ctx)
        steps = []
        probe.create_subscription(Step, "/cog/step", steps.append, ros_io.RECORD)
        for n in (gz.node, feeder.node, probe):
            ex.add_node(n)
        assert spin_until(ex, lambda: len(steps) >= 3, timeout=60.0), node.output()
        sent_before = len(gz.arm)
        node.send(signal.SIGINT)
        rc = spin_while_running(ex, node, timeout=20.0)
        spin_until(ex, lambda: False, timeout=0.5)
        out = node.output()
    assert rc == 0 and "Traceback" not in out, out
    after = gz.arm[sent_before:]
    assert after and np.allclose(after[-1].points[0].positions, SLEEP_JOINTS), "no sleep pose after SIGINT"
    assert complete_bag_messages(bag) > 0


def test_interbotix_collector_sleeps_and_torques_off_before_it_exits_on_sigint(tmp_path):
    bag = tmp_path / "bag"
    cmd = node_command("cog_collect", "collector_node") + ros_args(
        backend="interbotix", preset="pick-place-prior", episodes=5, max_steps=40, rate_hz=10.0, bag_dir=bag,
        object_source="localizer")
    env = node_env(extra_pythonpath=[str(STANDIN)])
    with ros_session() as (ctx, ex), NodeProcess(cmd, tmp_path / "node.log", env=env) as node:
        feeder = _Feeder(rclpy.create_node("feeder", context=ctx))
        probe = rclpy.create_node("probe", context=ctx)
        calls, steps = [], []
        probe.create_subscription(String, "/wx250s/standin/calls", lambda m: calls.append(json.loads(m.data)), ros_io.RECORD)
        probe.create_subscription(Step, "/cog/step", steps.append, ros_io.RECORD)
        for n in (feeder.node, probe):
            ex.add_node(n)
        assert spin_until(ex, lambda: len(steps) >= 3, timeout=60.0), node.output()
        assert calls, "the node did not build the stand-in InterbotixManipulatorXS"
        n_before = len(calls)
        node.send(signal.SIGINT)
        rc = spin_while_running(ex, node, timeout=20.0)
        spin_until(ex, lambda: False, timeout=0.5)
        out = node.output()
    assert rc == 0 and "Traceback" not in out, out
    after = [c["call"] for c in calls[n_before:]]
    assert after[-2:] == ["go_to_sleep_pose", "robot_torque_enable"], after
    assert calls[-1] == {"call": "robot_torque_enable", "cmd_type": "group", "name": "arm", "enable": False}
    assert complete_bag_messages(bag) > 0


def test_a_collector_configuration_error_ends_the_process_with_one_line_and_status_2(tmp_path):
    cmd = node_command("cog_collect", "collector_node") + ros_args(bag_dir=tmp_path / "bag", backend="bogus")
    with NodeProcess(cmd, tmp_path / "node.log") as node:
        rc = node.wait(timeout=60)
        out = node.output()
    assert rc == 2, out
    assert "unknown backend 'bogus'" in single_error_line(out, "collector_node")


@pytest.mark.parametrize("params, expected", [
    ({"condition": "kitchen/open"}, "unknown initial condition 'kitchen/open'"),
    ({"preset": "nope"}, "unknown preset 'nope'"),
    ({"episodes": "ten"}, "episodes"),
    ({"episodes": 0}, "parameter episodes must be a whole number >= 1, got 0"),
    ({"storage": "zip"}, "storage must be one of"),
], ids=["condition", "preset", "episodes-type", "episodes-0", "storage"])
def test_collector_configuration_errors_are_one_line_and_status_2(tmp_path, capsys, monkeypatch, params, expected):
    """The entry point's main() in this process (the installed script calls it; the test above runs one as a process)."""
    from cog_collect.collector_node import main

    monkeypatch.setattr("sys.argv", ["collector_node"])
    assert main(["collector_node"] + ros_args(bag_dir=tmp_path / "bag", **params)) == 2
    out = capsys.readouterr()
    assert expected in single_error_line(out.out + out.err, "collector_node")


def test_a_missing_interbotix_stack_is_one_line_with_the_install_hint(tmp_path):
    cmd = node_command("cog_collect", "collector_node") + ros_args(backend="interbotix", bag_dir=tmp_path / "bag")
    with NodeProcess(cmd, tmp_path / "node.log") as node:
        rc = node.wait(timeout=60)
        out = node.output()
    assert rc == 2
    assert "xsarm_amd64_install.sh" in single_error_line(out, "collector_node")


def test_camera_node_with_a_missing_source_is_one_line_and_status_2(tmp_path):
    cmd = node_command("cog_collect", "camera_node") + ros_args(source=tmp_path / "nope.avi")
    with NodeProcess(cmd, tmp_path / "node.log") as node:
        rc = node.wait(timeout=60)
        out = node.output()
    assert rc == 2
    assert "neither a device index, an existing file nor a URL" in single_error_line(out, "camera_node")
