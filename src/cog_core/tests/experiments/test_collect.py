"""Scripted collection end to end: real simulator, real bags, real conversion, a real kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory

from cog_core.bag import STEP_TYPE
from cog_core.bag.reader import BagReader, find_bags
from cog_core.cli import main
from cog_core.experiments.collect import CollectConfig, collect
from cog_core.data.convert import ConvertOptions, convert_bags
from cog_core.scripted.policies import BEHAVIOURS
from cog_core.scripted.presets import PRESETS


@pytest.fixture(scope="module")
def drawer_prior(tmp_path_factory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("collect") / "drawer_prior"
    summary = collect(CollectConfig(preset="drawer-prior", out=str(out), episodes=8, workers=2, seed=1), progress=False)
    return out, summary


def test_collector_writes_one_bag_dir_per_worker_with_every_episode_complete(drawer_prior):
    out, summary = drawer_prior
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["worker_00", "worker_01"]
    reader = BagReader([out])
    episodes = list(reader.episodes())
    assert len(episodes) == summary.episodes == 8 and not reader.dropped_data
    assert sum(e.length for e in episodes) == summary.transitions
    for ep in episodes:
        assert ep.task == "drawer" and ep.initial_condition.startswith("drawer/")
        assert ep.images.shape[1:] == (48, 48, 3) and ep.states.shape[1] == 9 and ep.lowdim.shape[1] == 9 + 8
        np.testing.assert_array_equal(ep.lowdim[:, :9], ep.states)  # lowdim = robot state + object poses
        assert np.all(ep.actions[-1] == 0) and ep.summary["policy_params"]["noise_std"] == 0.2  # the paper profile's
        assert ep.summary["policy_params"]["prior_profile"] == "paper"
    record = json.loads((out / "collection_summary.json").read_text())
    assert record["episodes"] == 8 and record["per_behaviour"]
    assert record["prior_profile"] == record["config"]["prior_profile"] == "paper" and record["config"]["noise_std"] is None


def test_drawer_prior_never_touches_the_object_in_the_drawer(drawer_prior):
    out, _ = drawer_prior
    for ep in BagReader([out]).episodes():
        object_z = ep.lowdim[:, 9 + 2]
        assert object_z.max() < 0.04, ep.policy  # the cube never leaves the drawer floor
    for preset in (PRESETS["drawer-prior"],):
        for entry in preset.mix:
            behaviour = BEHAVIOURS[entry.behaviour.removeprefix("weak_")]
            assert getattr(behaviour, "target", "blocker") != "object"


def test_a_collector_bag_decodes_with_the_independent_mcap_reader(drawer_prior):
    out, _ = drawer_prior
    ours = {e.episode_id: e for e in BagReader([out / "worker_00"]).episodes()}
    (bag,) = find_bags(out / "worker_00")
    steps = []
    with open(next(bag.glob("*.mcap")), "rb") as fh:
        for schema, _channel, _message, decoded in make_reader(fh, decoder_factories=[DecoderFactory()]).iter_decoded_messages():
            if schema.name == STEP_TYPE:
                steps.append(decoded)
    assert len(steps) == sum(e.length + 1 for e in ours.values())
    for s in steps:
        ep = ours[s.episode_id]
        image = np.frombuffer(bytes(s.observation.data), np.uint8).reshape(48, 48, 3)
        np.testing.assert_array_equal(image, ep.images[s.step_index])
        np.testing.assert_array_equal(np.asarray(s.action, np.float32), ep.actions[s.step_index])


def test_converting_a_collector_bag_gives_back_exactly_the_logged_data(drawer_prior, tmp_path):
    out, _ = drawer_prior
    h5_path = tmp_path / "prior.h5"
    convert_bags([out], h5_path, ConvertOptions(role="task"))
    logged = {e.episode_id: e for e in BagReader([out]).episodes()}
    with h5py.File(h5_path, "r") as h5:
        demos = h5["data"]
        assert len(demos) == len(logged)
        assert json.loads(demos.attrs["cog"])["prior_profiles"] == ["paper"]  # the dataset says how competent its prior is
        for name in demos:
            demo = demos[name]
            ep = logged[demo.attrs["episode_id"]]
            np.testing.assert_array_equal(demo["obs/image"][()], ep.images[:-1])
            np.testing.assert_array_equal(demo["next_obs/image"][()], ep.images[1:])
            np.testing.assert_array_equal(demo["actions"][()], ep.actions[:-1])
            np.testing.assert_array_equal(demo["rewards"][()], ep.rewards[:-1])


def test_collect_cli_prints_a_summary_and_refuses_to_overwrite(tmp_path, capsys):
    out = tmp_path / "pp"
    assert main(["collect", "--preset", "pick-place-task", "--episodes", "3", "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "place @ pick_place/object_in_gripper" in printed and "transitions/s" in printed and "prior profile paper" in printed
    legacy = tmp_path / "legacy"
    assert main(["collect", "--preset", "pick-place-task", "--episodes", "1", "--out", str(legacy), "--quiet",
                 "--prior-profile", "state-table"]) == 0
    record = json.loads((legacy / "collection_summary.json").read_text())
    assert record["prior_profile"] == "state-table"
    assert main(["collect", "--preset", "pick-place-task", "--episodes", "1", "--out", str(tmp_path / "x"), "--noise", "-1"]) == 2
    assert "--noise must be a finite number >= 0" in capsys.readouterr().err
    assert main(["collect", "--preset", "pick-place-task", "--episodes", "3", "--out", str(out), "--quiet"]) == 2
    assert "not empty" in capsys.readouterr().err


def test_sigkill_mid_collection_loses_at_most_the_episodes_in_progress(tmp_path):
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "cog_core", "collect", "--preset", "drawer-prior", "--episodes", "400",
           "--workers", "2", "--out", str(out), "--quiet"]
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl")})
    try:
        start = time.monotonic()
        while time.monotonic() - start < 120:  # both workers have written a bag, and some time has passed
            time.sleep(0.5)
            if len(list(out.glob("worker_*/*/metadata.yaml"))) == 2 and time.monotonic() - start > 8:
                break
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the parent and both workers, mid-episode
        proc.wait(timeout=30)
    reader = BagReader([out])
    episodes = list(reader.episodes())
    assert len(episodes) >= 2  # finished episodes survive
    dropped = [p for p in reader.problems if p.dropped]
    assert len(dropped) <= 2  # at most the one episode each worker had in progress
    for ep in episodes:
        assert ep.length >= 1 and ep.images.shape[0] == ep.length + 1
        assert ep.summary is not None and ep.summary["status"] == "complete"
