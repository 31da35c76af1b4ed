"""collector_node on real rclpy with backend:=sim: N complete episodes in a bag that `cogrl convert` reads,
and the same messages, typed, on /cog/step and /cog/episode."""

from __future__ import annotations

import json
import time

import h5py
import pytest

pytestmark = pytest.mark.ros
rclpy = pytest.importorskip("rclpy", reason="rclpy is not installed (bash scripts/bootstrap.sh installs the Jazzy wheels)")
pytest.importorskip("cog_msgs", reason="cog_msgs is not built here: the node tests run in the colcon-built "
                    "workspace (bash scripts/ros.sh, or colcon build && source install/setup.bash)")

from cog_msgs.msg import EpisodeSummary, Step  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from std_msgs.msg import String  # noqa: E402
from std_srvs.srv import Trigger  # noqa: E402

from cog_collect.collector_node import CollectorNode  # noqa: E402
from cog_collect.testing import call, same_cdr, ros_session, spin_until  # noqa: E402


def _params(**kw):
    return [Parameter(k, value=v) for k, v in kw.items()]


def test_collector_records_n_episodes_that_convert_reads(tmp_path):
    bag = tmp_path / "bag"
    with ros_session() as (ctx, ex):
        node = CollectorNode(context=ctx, parameter_overrides=_params(
            preset="pick-place-task", episodes=3, max_steps=12, rate_hz=200.0, bag_dir=str(bag),
            camera_width=160, camera_height=120, camera_rate_hz=30.0, seed=5, prior_profile="state-table"))
        probe = rclpy.create_node("probe", context=ctx)
        episodes, steps, images, cams, typed_steps, summaries, raw = [], [], [], [], [], [], []
        probe.create_subscription(String, "/cog/episode_info", lambda m: episodes.append(json.loads(m.data)), 10)
        probe.create_subscription(String, "/cog/step_info", lambda m: steps.append(json.loads(m.data)), 100)
        probe.create_subscription(Step, "/cog/step", typed_steps.append, 200)
        probe.create_subscription(EpisodeSummary, "/cog/episode", summaries.append, 20)
        probe.create_subscription(Step, "/cog/step", raw.append, 200, raw=True)  # the serialized bytes
        from sensor_msgs.msg import Image

        probe.create_subscription(Image, "/cog/observation", lambda m: images.append(m), 100)
        probe.create_subscription(Image, "camera/image_raw", lambda m: cams.append(m), 10)
        ex.add_node(node)
        ex.add_node(probe)
        t0 = time.monotonic()
        assert spin_until(ex, lambda: node.closed and len(episodes) == 3, timeout=30.0), (node.status, episodes)
        elapsed = time.monotonic() - t0
        spin_until(ex, lambda: len(steps) >= sum(e["steps"] for e in episodes) and len(summaries) == 3
                   and len(raw) == len(typed_steps) == sum(e["steps"] + 1 for e in episodes), timeout=5.0)
        assert [e["status"] for e in episodes] == ["complete"] * 3
        assert all(1 <= e["steps"] <= 12 for e in episodes)
        assert len(steps) == sum(e["steps"] for e in episodes)
        assert images and images[0].encoding == "rgb8" and (images[0].height, images[0].width) == (48, 48)
        assert cams and (cams[0].height, cams[0].width) == (120, 160)
        assert all(len(s["action"]) == 8 and all(-1.0 <= a <= 1.0 for a in s["action"]) for s in steps)
        live_hash = {}
        for topic in ("/cog/step", "/cog/episode"):
            info = probe.get_publishers_info_by_topic(topic)
            assert len(info) == 1 and info[0].node_name == "collector"
            live_hash[topic] = str(info[0].topic_type_hash)
        # typed: one Step per logged step (T+1 per episode, the last holds the final observation)
        assert [s.status for s in summaries] == ["complete"] * 3
        assert [s.episode_id for s in summaries] == [e["episode_id"] for e in episodes]
        assert [s.length for s in summaries] == [e["steps"] for e in episodes]
        assert len(typed_steps) == sum(e["steps"] + 1 for e in episodes)
        assert sum(s.is_last for s in typed_steps) == 3 and typed_steps[0].is_first and typed_steps[0].step_index == 0
        assert typed_steps[0].observation.encoding == "rgb8" and typed_steps[0].observation.height == 48
        print(f"collector: 3 episodes, {len(steps)} steps in {elapsed:.2f} s")
    # the live topic carried exactly the bag's messages, byte for byte, with the bag's type hash
    from mcap.reader import make_reader

    with open(next(bag.glob("*/*.mcap")), "rb") as f:
        reader = make_reader(f)
        in_bag = [m.data for _, ch, m in reader.iter_messages() if ch.topic == "/cog/step"]
    assert len(raw) == len(in_bag) and all(same_cdr(r, b) for r, b in zip(raw, in_bag))
    import yaml

    meta = yaml.safe_load(next(bag.glob("*/metadata.yaml")).read_text())["rosbag2_bagfile_information"]
    bag_hash = {t["topic_metadata"]["name"]: t["topic_metadata"]["type_description_hash"] for t in meta["topics_with_message_count"]}
    assert bag_hash["/cog/step"] == live_hash["/cog/step"] and bag_hash["/cog/episode"] == live_hash["/cog/episode"]
    # the bag is closed and complete: the converter (same code as `ros2 run cog_collect bag_to_dataset`) reads it
    from cog_collect.bag_to_dataset import main as bag_to_dataset

    out = tmp_path / "task.h5"
    assert bag_to_dataset([str(bag), "--role", "task", "-o", str(out)]) == 0
    with h5py.File(out, "r") as h5:
        assert h5["data"].attrs["num_episodes"] == 3
        demos = sorted(h5["data"].keys())
        assert sum(int(h5["data"][d].attrs["num_samples"]) for d in demos) == sum(e["steps"] for e in episodes)
        assert {h5["data"][d].attrs["episode_id"] for d in demos} == {e["episode_id"] for e in episodes}
        assert h5["data"][demos[0]]["obs/image"].shape[1:] == (48, 48, 3)
        # the node's prior profile sets the behaviours (and their noise) and is kept with the data
        assert json.loads(h5["data"].attrs["cog"])["prior_profiles"] == ["state-table"]
        assert json.loads(h5["data"][demos[0]].attrs["policy_params"])["noise_std"] == 0.1


def test_stop_aborts_the_running_episode_and_shutdown_closes_the_bag(tmp_path):
    bag = tmp_path / "bag"
    from cog_core.bag.reader import BagReader

    with ros_session() as (ctx, ex):
        node = CollectorNode(context=ctx, parameter_overrides=_params(
            preset="pick-place-task", episodes=50, max_steps=10, rate_hz=200.0, bag_dir=str(bag),
            publish_camera=False, autostart=False))
        client_node = rclpy.create_node("client", context=ctx)
        start = client_node.create_client(Trigger, "/collector/start")
        stop = client_node.create_client(Trigger, "/collector/stop")
        ex.add_node(node)
        ex.add_node(client_node)
        spin_until(ex, lambda: False, timeout=0.1)
        assert node.runner.index == 0, "autostart=false must not collect before ~/start"
        assert call(ex, start, Trigger.Request()).success
        assert spin_until(ex, lambda: node.recorder.episodes_written >= 1 and node.runner.in_episode, timeout=20.0)
        resp = call(ex, stop, Trigger.Request())
        assert resp.success and "aborted episode" in resp.message
        done = node.recorder.episodes_written
        spin_until(ex, lambda: False, timeout=0.1)
        assert node.recorder.episodes_written == done and not node.runner.in_episode
        assert call(ex, start, Trigger.Request()).success
        assert spin_until(ex, lambda: node.runner.in_episode and node.runner.open_episode.steps >= 2, timeout=10.0)
        ex.remove_node(node)
        node.destroy_node()  # shutdown in the middle of an episode: the bag closes, the partial episode is dropped
        complete = node.recorder.episodes_written
    episodes = list(BagReader([bag]).episodes())
    assert len(episodes) == complete >= 1
    assert all(ep.summary["status"] == "complete" for ep in episodes)


def test_full_sim_graph_camera_localizer_collector_bag(tmp_path):
    """camera topic (sim) -> localizer -> collector (object_source=localizer) -> bag."""
    import numpy as np

    from cog_collect.localizer_node import LocalizerNode
    from cog_core.bag.reader import BagReader

    bag = tmp_path / "bag"
    with ros_session() as (ctx, ex):
        node = CollectorNode(context=ctx, parameter_overrides=_params(
            preset="pick-place-prior", episodes=2, max_steps=15, rate_hz=100.0, bag_dir=str(bag), autostart=False,
            object_source="localizer", camera_width=320, camera_height=240, camera_rate_hz=30.0, seed=2))
        loc = LocalizerNode(context=ctx, parameter_overrides=[
            Parameter("config_overrides", value=["object_height=0.032"]), Parameter("background_frames", value=3)])
        client_node = rclpy.create_node("client", context=ctx)
        capture = client_node.create_client(Trigger, "/localizer/capture_background")
        start = client_node.create_client(Trigger, "/collector/start")
        for n in (node, loc, client_node):
            ex.add_node(n)
        station = node.station
        station.reset(None, seed=0)  # the object on the table, as the first episode will have it
        where = station.hide_object()
        f0 = node.sim_publisher.frames
        assert spin_until(ex, lambda: node.sim_publisher.frames >= f0 + 4 and len(loc.frames) == 3, timeout=5.0)
        assert call(ex, capture, Trigger.Request()).success
        station.place_object(where)
        assert spin_until(ex, lambda: node.object_pos is not None, timeout=5.0), "collector got no /cog/object"
        assert np.linalg.norm(node.object_pos[:2] - where[:2]) < 0.015
        used = []  # (position the behaviour got, ground truth) at the start of each episode
        begin = node.runner.begin

        def spy():
            eid = begin()
            used.append((node.object_pos.copy(), station.env.object_pos()))
            return eid

        node.runner.begin = spy
        assert call(ex, start, Trigger.Request()).success
        assert spin_until(ex, lambda: node.closed, timeout=30.0), node.status
    episodes = list(BagReader([bag]).episodes())
    assert len(episodes) == 2 and all(ep.summary["status"] == "complete" for ep in episodes)
    assert len(used) == 2
    for got, truth in used:  # each episode started from an estimate of its own scene
        assert np.linalg.norm(got[:2] - truth[:2]) < 0.015, (got, truth)
