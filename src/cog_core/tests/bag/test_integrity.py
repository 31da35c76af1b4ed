"""Per-step and per-summary checksums, real MCAP chunk CRCs, and bags that predate them."""

from __future__ import annotations

import numpy as np
import pytest

from cog_core.bag.integrity import CHECKSUM_KEY
from cog_core.bag.reader import BagReader
from cog_core.bag.synthetic import raw_episode_steps, write_raw_bag, write_synthetic_run


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_every_episode_is_verified_and_its_info_comes_back_without_the_checksums(tmp_path, storage):
    write_synthetic_run(tmp_path / "run", 3, seed=1, length=6, storage=storage, run_id="ok")
    reader = BagReader([tmp_path / "run"])
    episodes = list(reader.episodes())
    assert len(episodes) == 3 and reader.stats.verified == 3 and not reader.problems
    assert all(ep.summary["info"] == {"synthetic": True} and CHECKSUM_KEY not in ep.summary["info"] for ep in episodes)


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_a_changed_summary_field_drops_its_episode(tmp_path, storage):
    eps = write_synthetic_run(tmp_path / "run", 3, seed=2, length=6, storage=storage, run_id="sum")
    (f,) = [p for p in (tmp_path / "run").rglob("*") if p.suffix in (".mcap", ".db3")]
    data = bytearray(f.read_bytes())
    threshold = f'"threshold": {eps[1].policy_params["threshold"]}'.encode()
    at = data.find(threshold)
    assert at >= 0 and data.find(threshold, at + 1) < 0
    data[at + len(threshold) - 1] ^= 0x01  # the last digit of episode 1's policy parameter
    f.write_bytes(bytes(data))
    reader = BagReader([tmp_path / "run"])
    assert [ep.episode_id for ep in reader.episodes()] == ["sum-w00-000000", "sum-w00-000002"]
    (problem,) = [p for p in reader.problems if p.dropped]
    assert problem.episode_id == "sum-w00-000001" and "EpisodeSummary fails its checksum" in problem.message


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_bags_without_checksums_are_read_as_before(tmp_path, storage):
    steps = raw_episode_steps("old-0", 4) + raw_episode_steps("old-1", 3)
    summaries = [dict(episode_id="old-0", length=4), dict(episode_id="old-1", length=3)]
    write_raw_bag(tmp_path / "bag", steps, storage=storage, summaries=summaries)
    reader = BagReader([tmp_path / "bag"])
    episodes = list(reader.episodes())
    assert [ep.episode_id for ep in episodes] == ["old-0", "old-1"] and reader.stats.verified == 0
    assert not reader.dropped_data
    np.testing.assert_allclose(episodes[0].actions[:-1], 0.1)
