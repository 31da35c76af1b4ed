"""BagRecorder writes what it is given, RLDS-style, in split rosbag2 segments."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from rosbags.highlevel import AnyReader

from cog_core.bag import STEP_TYPE, SUMMARY_TYPE, BagRecorder
from cog_core.bag.reader import BagReader, find_bags
from cog_core.bag.synthetic import make_episode, write_synthetic_run


def _check_same(ep, truth):
    T = len(truth.actions)
    assert ep.length == T
    np.testing.assert_array_equal(ep.images, truth.images)
    np.testing.assert_array_equal(ep.actions[:-1], truth.actions)
    np.testing.assert_array_equal(ep.actions[-1], np.zeros(8, np.float32))
    np.testing.assert_array_equal(ep.rewards[:-1], truth.rewards)
    assert ep.rewards[-1] == 0
    np.testing.assert_array_equal(ep.states, truth.states)
    np.testing.assert_array_equal(ep.lowdim, truth.lowdim)
    assert not ep.is_terminal.any()
    assert (ep.task, ep.initial_condition, ep.policy) == (truth.task, truth.initial_condition, truth.policy)
    assert ep.summary["success"] == truth.success
    assert ep.summary["policy_params"] == truth.policy_params
    assert ep.summary["seed"] == truth.seed
    assert ep.summary["length"] == T
    assert ep.summary["return"] == pytest.approx(float(truth.rewards.sum()))


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_roundtrip_is_exact(tmp_path, storage):
    truth = write_synthetic_run(tmp_path / "run", 6, seed=3, length=7, storage=storage)
    reader = BagReader([tmp_path / "run"])
    eps = list(reader.episodes())
    assert [e.summary["seed"] for e in eps] == [t.seed for t in truth]
    for ep, t in zip(eps, truth):
        _check_same(ep, t)
    assert reader.problems == []


def test_step_flags_follow_rlds(tmp_path):
    write_synthetic_run(tmp_path / "run", 2, length=4)
    with AnyReader(find_bags(tmp_path / "run")) as r:
        steps = [r.deserialize(raw, c.msgtype) for c, _, raw in r.messages() if c.msgtype == STEP_TYPE]
    assert len(steps) == 2 * 5
    ep0 = [s for s in steps if s.episode_id == steps[0].episode_id]
    assert [s.step_index for s in ep0] == [0, 1, 2, 3, 4]
    assert [s.is_first for s in ep0] == [True, False, False, False, False]
    assert [s.is_last for s in ep0] == [False, False, False, False, True]
    assert not any(s.is_terminal for s in ep0)
    assert ep0[-1].reward == 0 and not ep0[-1].action.any()
    assert ep0[0].observation.encoding == "rgb8" and ep0[0].observation.height == 48


def test_splits_at_episode_boundaries_with_v8_metadata(tmp_path):
    truth = write_synthetic_run(tmp_path / "run", 12, length=10, split_size_bytes=150_000)
    bags = find_bags(tmp_path / "run")
    assert len(bags) >= 3
    total = 0
    for bag in bags:
        info = yaml.safe_load((bag / "metadata.yaml").read_text())["rosbag2_bagfile_information"]
        assert info["version"] == 8 and info["storage_identifier"] == "mcap"
        assert info["relative_file_paths"] == [f"{bag.name}.mcap"]
        with AnyReader([bag]) as r:
            kinds = [c.msgtype for c, _, _ in r.messages()]
        # Whole episodes only: 11 steps then one summary, repeated.
        assert len(kinds) % 12 == 0 and kinds[11::12] == [SUMMARY_TYPE] * (len(kinds) // 12)
        assert info["message_count"] == len(kinds)
        total += len(kinds) // 12
    assert total == len(truth)
    ids = [e.episode_id for e in BagReader([tmp_path / "run"]).episodes()]
    assert len(set(ids)) == 12 and all("-w00-" in i for i in ids)


def test_episode_ids_are_unique_across_workers(tmp_path):
    write_synthetic_run(tmp_path / "w0", 2, length=2, worker=0, run_id="r1")
    write_synthetic_run(tmp_path / "w1", 2, length=2, worker=1, run_id="r1")
    ids = [e.episode_id for e in BagReader([tmp_path / "w0", tmp_path / "w1"]).episodes()]
    assert ids == ["r1-w00-000000", "r1-w00-000001", "r1-w01-000000", "r1-w01-000001"]


def test_aborted_episodes_are_skipped_silently(tmp_path):
    with BagRecorder(tmp_path / "run") as rec:
        good = make_episode(0, 0, length=3)
        rec.begin_episode("t", "c", "p")
        rec.add_step(good.images[0], good.states[0], good.actions[0])
        rec.abort_episode("sim blew up")
        rec.begin_episode("t", "c", "p")
        for t in range(3):
            rec.add_step(good.images[t], good.states[t], good.actions[t], 0.0)
        rec.end_episode(good.images[3], good.states[3], success=False)
        rec.begin_episode("t", "c", "p")  # left open: close() aborts it
        rec.add_step(good.images[0], good.states[0], good.actions[0])
    reader = BagReader([tmp_path / "run"])
    eps = list(reader.episodes())
    assert len(eps) == 1 and eps[0].length == 3
    assert reader.stats.aborted == 2 and reader.problems == []


def test_on_message_sees_every_record_as_the_bag_holds_it(tmp_path):
    """The hook the ROS nodes publish live topics from: topic, type and the exact CDR bytes of each record."""
    from mcap.reader import make_reader

    seen = []
    good = make_episode(0, 0, length=2)
    with BagRecorder(tmp_path / "run", on_message=lambda *m: seen.append(m)) as rec:
        rec.begin_episode("t", "c", "p")
        rec.add_step(good.images[0], good.states[0], good.actions[0])
        rec.abort_episode("stopped")
        rec.begin_episode("t", "c", "p")
        for t in range(2):
            rec.add_step(good.images[t], good.states[t], good.actions[t], 0.0)
        rec.end_episode(good.images[2], good.states[2], success=True)
    with open(next((tmp_path / "run").glob("*/*.mcap")), "rb") as f:
        in_bag = [(ch.topic, sc.name, m.data) for sc, ch, m in make_reader(f).iter_messages()]
    assert [(t, ty, d) for t, ty, d in seen] == in_bag
    assert [t for t, _, _ in seen] == ["/cog/step", "/cog/episode"] + ["/cog/step"] * 3 + ["/cog/episode"]
    assert {ty for _, ty, _ in seen} == {STEP_TYPE, SUMMARY_TYPE} and all(isinstance(d, bytes) for _, _, d in seen)


def test_bad_inputs_are_refused_with_clear_messages(tmp_path):
    img = np.zeros((48, 48, 3), np.uint8)
    with BagRecorder(tmp_path / "run") as rec:
        with pytest.raises(RuntimeError, match="begin_episode"):
            rec.add_step(img, np.zeros(9), np.zeros(8))
        rec.begin_episode("t", "c", "p")
        with pytest.raises(RuntimeError, match="still open"):
            rec.begin_episode("t", "c", "p")
        with pytest.raises(ValueError, match="8 finite"):
            rec.add_step(img, np.zeros(9), np.full(8, np.nan))
        with pytest.raises(ValueError, match="8 finite"):
            rec.add_step(img, np.zeros(9), np.zeros(7))
        with pytest.raises(ValueError, match="uint8"):
            rec.add_step(img.astype(np.float32), np.zeros(9), np.zeros(8))
        rec.add_step(img, np.zeros(9), np.zeros(8))
        with pytest.raises(ValueError, match="differs"):
            rec.add_step(np.zeros((64, 64, 3), np.uint8), np.zeros(9), np.zeros(8))
    with pytest.raises(FileExistsError, match="not an empty directory"):
        BagRecorder(tmp_path / "run")
    with pytest.raises(ValueError, match="storage"):
        BagRecorder(tmp_path / "other", storage="bag")
    with pytest.raises(ValueError, match="run_id"):
        BagRecorder(tmp_path / "other", run_id="a b")
