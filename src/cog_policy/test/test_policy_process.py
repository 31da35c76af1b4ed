"""policy_node as a process (the installed entry point of a built workspace): SIGINT/SIGTERM end it with
status 0 and a complete bag, with the Gazebo backend after sending the sleep pose; a model that does
not fit ends it with one line and status 2, no traceback."""

from __future__ import annotations

import signal
import time

import numpy as np
import pytest

pytestmark = pytest.mark.ros
rclpy = pytest.importorskip("rclpy", reason="rclpy is not installed (bash scripts/bootstrap.sh installs the Jazzy wheels)")
pytest.importorskip("cog_msgs", reason="cog_msgs is not built here: the node tests run in the colcon-built "
                    "workspace (bash scripts/ros.sh, or colcon build && source install/setup.bash)")

from std_msgs.msg import Float32MultiArray  # noqa: E402

from cog_collect import ros_io  # noqa: E402
from cog_collect.testing import (  # noqa: E402
    NodeProcess, complete_bag_messages, launch_defaults, launch_file, node_command, ros_args, ros_session,
    single_error_line, spec_command, spin_until, spin_while_running)
from cog_policy.testing import export_small_policy  # noqa: E402


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_policy_exits_0_with_a_complete_bag_on_a_signal_while_acting(tmp_path, sig):
    from cog_core.bag.reader import BagReader

    model = export_small_policy(tmp_path / "model")
    bag = tmp_path / "bag"
    cmd = node_command("cog_policy", "policy_node") + ros_args(
        model=model, rate_hz=10.0, autostart="true", bag_dir=bag, condition="pick_place/object_on_table",
        camera_width=96, camera_height=96, max_episode_steps=1000)
    with ros_session() as (ctx, ex), NodeProcess(cmd, tmp_path / "node.log") as node:
        probe = rclpy.create_node("probe", context=ctx)
        actions = []
        probe.create_subscription(Float32MultiArray, "/policy/action", actions.append, 100)
        ex.add_node(probe)
        assert spin_until(ex, lambda: len(actions) >= 5, timeout=60.0), node.output()
        node.send(getattr(signal, sig))
        rc = spin_while_running(ex, node, timeout=30.0)
        out = node.output()
    assert rc == 0 and "Traceback" not in out, out
    assert complete_bag_messages(bag) > 0
    (episode,) = list(BagReader([bag]).episodes())
    assert episode.summary["info"]["end_reason"] == "shutdown" and episode.length >= 5


def test_a_busy_host_does_not_trip_the_sim_policy_watchdog(tmp_path):
    """The sim policy demo on a machine too busy to run it smoothly: the node's process gets no CPU for
    0.8 s at a time (SIGSTOP ... SIGCONT, as when other processes take both cores). Its sim camera's
    newest image is then 0.8 s old on the wall clock, but the simulated scene did not move meanwhile:
    the policy keeps acting (sim-time watchdog) instead of stopping itself."""
    model = export_small_policy(tmp_path / "model")
    cmd = node_command("cog_policy", "policy_node") + ros_args(
        model=model, rate_hz=5.0, image_timeout_s=0.5, autostart="true", bag_dir="none",
        condition="pick_place/object_on_table", camera_width=96, camera_height=96, max_episode_steps=1000)
    with ros_session() as (ctx, ex), NodeProcess(cmd, tmp_path / "node.log") as node:
        probe = rclpy.create_node("probe", context=ctx)
        actions = []
        probe.create_subscription(Float32MultiArray, "/policy/action", actions.append, 100)
        ex.add_node(probe)
        assert spin_until(ex, lambda: len(actions) >= 3, timeout=60.0), node.output()
        for _ in range(3):
            node.send(signal.SIGSTOP)
            time.sleep(0.8)
            node.send(signal.SIGCONT)
            n = len(actions)
            assert spin_until(ex, lambda: len(actions) >= n + 3, timeout=30.0), node.output()
        assert "stale camera image" not in node.output()
        node.send(signal.SIGINT)
        rc = spin_while_running(ex, node, timeout=30.0)
        out = node.output()
    assert rc == 0 and "Traceback" not in out, out


def test_gazebo_policy_sends_the_sleep_pose_before_it_exits_on_sigint(tmp_path):

    from cog_core.robot.kinematics import SLEEP_JOINTS

    gz_mod = _gazebo_test_module()
    from cog_collect.launch_support import run_graph

    model = export_small_policy(tmp_path / "model")
    args = launch_defaults(launch_file("cog_policy", "run.launch.py"))
    args.update(model=str(model), backend="gazebo", rate_hz="5.0", bag_dir="none", autostart="true")
    (spec,) = run_graph(args)  # what run.launch.py starts for backend:=gazebo: the policy node alone, remapped
    cmd = spec_command(spec)
    with ros_session() as (ctx, ex), NodeProcess(cmd, tmp_path / "node.log") as node:
        gz = gz_mod.FakeGazebo(rclpy.create_node("gazebo", context=ctx), SLEEP_JOINTS)
        cam = rclpy.create_node("camera", context=ctx)
        pub = cam.create_publisher(ros_io.Image, "/cog/camera/image_raw", ros_io.SENSOR)
        cam.create_timer(0.05, lambda: pub.publish(ros_io.image_msg(cam, np.full((240, 320, 3), 80, np.uint8), "cam")))
        for n in (gz.node, cam):
            ex.add_node(n)
        # the policy reads the world camera of sim.launch.py (/cog/camera/image_raw)
        assert spin_until(ex, lambda: len(gz.arm) >= 3, timeout=60.0), node.output()
        n_before = len(gz.arm)
        node.send(signal.SIGINT)
        rc = spin_while_running(ex, node, timeout=20.0)
        out = node.output()
    assert rc == 0 and "Traceback" not in out, out
    after = gz.arm[n_before:]
    assert after and np.allclose(after[-1].points[0].positions, SLEEP_JOINTS), "no sleep pose after SIGINT"


def _gazebo_test_module():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "cog_collect" / "test" / "test_gazebo_backend.py"
    spec = importlib.util.spec_from_file_location("cog_collect_test_gazebo_backend", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_a_policy_that_does_not_fit_ends_the_process_with_one_line_and_status_2(tmp_path):
    model = export_small_policy(tmp_path / "m64", image_size=64)
    cmd = node_command("cog_policy", "policy_node") + ros_args(model=model, bag_dir="none", publish_camera="false")
    with NodeProcess(cmd, tmp_path / "node.log") as node:
        rc = node.wait(timeout=60)
        out = node.output()
    assert rc == 2, out
    assert "expects 64x64 images but the node feeds 48x48" in single_error_line(out, "policy_node")


@pytest.mark.parametrize("make, expected", [
    (lambda tmp: {}, "parameter 'model' is required"),
    (lambda tmp: {"model": tmp}, "is not a policy export"),
    (lambda tmp: {"model": export_small_policy(tmp / "m"), "rate_hz": -1.0}, "rate_hz must be > 0"),
], ids=["no-model", "not-an-export", "rate"])
def test_policy_configuration_errors_are_one_line_and_status_2(tmp_path, capsys, monkeypatch, make, expected):
    """The entry point's main() in this process (the test above runs one as a process)."""
    from cog_policy.policy_node import main

    monkeypatch.setattr("sys.argv", ["policy_node"])
    assert main(["policy_node"] + ros_args(bag_dir="none", publish_camera="false", **make(tmp_path))) == 2
    out = capsys.readouterr()
    assert expected in single_error_line(out.out + out.err, "policy_node")
