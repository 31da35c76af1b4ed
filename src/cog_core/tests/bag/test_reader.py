"""BagReader returns complete valid episodes and names every problem it finds."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from cog_core.bag.reader import BagInputError, BagReader, find_bags
from cog_core.bag.synthetic import raw_episode_steps, write_raw_bag, write_synthetic_run


def _read(*paths):
    r = BagReader(paths)
    return list(r.episodes()), r


def test_find_bags_accepts_bag_dirs_run_dirs_and_files(tmp_path):
    write_synthetic_run(tmp_path / "runs" / "w0", 3, length=3, split_size_bytes=20_000)
    write_synthetic_run(tmp_path / "runs" / "w1", 1, length=3)
    bags = find_bags(tmp_path / "runs")
    assert [b.parent.name for b in bags] == ["w0"] * 3 + ["w1"]
    assert find_bags(bags[0] / "bag_0000.mcap") == [bags[0]]
    with pytest.raises(BagInputError, match="no such file"):
        find_bags(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(BagInputError, match="no rosbag2 bag found"):
        find_bags(tmp_path / "empty")
    eps, r = _read(tmp_path / "runs")
    assert len(eps) == 4 and r.stats.bags == 4


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_foreign_topics_are_ignored_and_noted(tmp_path, storage):
    write_raw_bag(tmp_path / "b", raw_episode_steps("e1", 3), storage=storage, foreign_topics=True)
    eps, r = _read(tmp_path / "b")
    assert len(eps) == 1 and eps[0].summary is None and eps[0].length == 3
    assert not r.dropped_data and any("/chatter" in p.message for p in r.problems)


def test_a_bag_without_steps_is_reported(tmp_path):
    write_raw_bag(tmp_path / "b", [], summaries=[])
    eps, r = _read(tmp_path / "b")
    assert eps == [] and any("no cog_msgs/msg/Step" in p.message for p in r.problems)


@pytest.mark.parametrize(
    "mutate,expect",
    [
        (lambda s: s.pop(), "no last step"),  # episode without its last step
        (lambda s: s.pop(2), "steps missing [2]"),
        (lambda s: s[1].update(action=np.full(8, np.nan)), "action is NaN or inf at step 1"),
        (lambda s: s[2].update(image=np.zeros((64, 64, 3), np.uint8)), "image sizes differ"),
        (lambda s: s[1].update(is_first=True), "is_first"),
        (lambda s: s.append(dict(s[1])), "appears twice"),
    ],
)
def test_bad_episodes_are_dropped_and_named(tmp_path, mutate, expect):
    bad = raw_episode_steps("bad-ep", 4)
    mutate(bad)
    write_raw_bag(tmp_path / "b", raw_episode_steps("good-1", 3) + bad + raw_episode_steps("good-2", 2))
    eps, r = _read(tmp_path / "b")
    assert [e.episode_id for e in eps] == ["good-1", "good-2"]
    msgs = [str(p) for p in r.problems if p.episode_id == "bad-ep"]
    assert msgs and expect in msgs[0] and str(tmp_path / "b") in msgs[0] and r.dropped_data


def test_truncated_mcap_keeps_the_episodes_before_the_cut(tmp_path):
    truth = write_synthetic_run(tmp_path / "run", 5, length=6)
    (bag,) = find_bags(tmp_path / "run")
    f = bag / "bag_0000.mcap"
    data = f.read_bytes()
    # Cut inside the summary section: all data is there, only the index is gone.
    f.write_bytes(data[: len(data) - 200])
    eps, r = _read(tmp_path / "run")
    assert len(eps) == 5 and not r.dropped_data
    np.testing.assert_array_equal(eps[4].images, truth[4].images)
    # Cut into the data: later episodes are gone and that is reported as lost data.
    f.write_bytes(data[: len(data) // 2])
    eps, r = _read(tmp_path / "run")
    assert 0 < len(eps) < 5 and r.dropped_data
    for e, t in zip(eps, truth):
        np.testing.assert_array_equal(e.actions[:-1], t.actions)


def test_missing_metadata_is_recovered(tmp_path):
    write_synthetic_run(tmp_path / "run", 2, length=3, storage="sqlite3")
    (bag,) = find_bags(tmp_path / "run")
    (bag / "metadata.yaml").unlink()
    eps, r = _read(tmp_path / "run")
    assert len(eps) == 2
    shutil.rmtree(bag)
    with pytest.raises(BagInputError):
        BagReader([tmp_path / "run"])
