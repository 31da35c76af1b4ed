"""Which rows each algorithm samples, and the fixed prior/task mix."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cog_core.config import ConfigError, apply_overrides
from cog_core.rl.config import TrainConfig
from cog_core.rl.data import TrainData, synthetic_transitions

from .helpers import tiny_config


def _data(algo: str, task_fraction: float | None) -> TrainData:
    """40 task rows (actions +0.5) and 400 prior rows (actions -0.5), so a batch shows its sources."""
    task = synthetic_transitions(4, 10, obs_keys=("lowdim",))
    prior = synthetic_transitions(40, 10, obs_keys=("lowdim",), is_task=False, seed=1)
    task.actions[:] = 0.5
    prior.actions[:] = -0.5
    cfg = apply_overrides(tiny_config(algo=algo, obs="state"), [f"data.task_fraction={'null' if task_fraction is None else task_fraction}"])
    return TrainData(cfg, task, prior)


def _task_share(data: TrainData, batch_size: int = 256, draws: int = 20) -> list[float]:
    rng = np.random.default_rng(0)
    return [float((data.sample("main", batch_size, rng).actions[:, 0] > 0).float().mean()) for _ in range(draws)]


def test_cog_samples_the_union_uniformly_by_default():
    shares = _task_share(_data("cog", None))
    assert np.mean(shares) == pytest.approx(40 / 440, abs=0.02)
    assert np.std(shares) > 0  # the share varies from batch to batch


def test_task_fraction_fixes_the_share_of_task_rows_in_every_batch():
    assert _task_share(_data("cog", 0.5)) == [0.5] * 20
    assert _task_share(_data("sac", 0.25), batch_size=8, draws=3) == [0.25] * 3


def test_task_fraction_is_ignored_by_task_only_algorithms():
    assert _task_share(_data("no-prior", 0.5), draws=3) == [1.0] * 3


@pytest.mark.parametrize("bad", [0.0, 1.0, 1.5, -0.1])
def test_task_fraction_outside_the_open_unit_interval_is_rejected(bad):
    with pytest.raises(ConfigError, match="data.task_fraction must be in"):
        apply_overrides(TrainConfig(), [f"data.task_fraction={bad}"])


@pytest.mark.parametrize("algo", ["cog", "no-prior"])
def test_batches_mark_the_rows_that_come_from_the_task_data(algo):
    batch = _data(algo, None).sample("main", 256, np.random.default_rng(0))
    assert batch.is_task is not None and batch.is_task.dtype == torch.bool
    assert torch.equal(batch.is_task, batch.actions[:, 0] > 0)
    if algo == "cog":
        assert 0 < int(batch.is_task.sum()) < 256


@pytest.mark.parametrize("bad", [0.0, 1.0, 2.0])
def test_policy_task_share_outside_the_open_unit_interval_is_rejected(bad):
    with pytest.raises(ConfigError, match="data.policy_task_share must be in"):
        apply_overrides(TrainConfig(), [f"data.policy_task_share={bad}"])
