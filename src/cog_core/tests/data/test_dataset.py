"""Loading datasets into Transitions and mixing prior + task data."""

from __future__ import annotations

import numpy as np
import pytest

from cog_core.bag.synthetic import write_synthetic_run
from cog_core.data.convert import ConvertOptions, convert_bags
from cog_core.data.dataset import DatasetError, MixedSampler, load_datasets, load_transitions


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("ds")
    prior_truth = write_synthetic_run(root / "prior_bags", 6, seed=5, length=6)
    task_truth = write_synthetic_run(root / "task_bags", 2, seed=6, length=4)
    convert_bags([root / "prior_bags"], root / "prior.h5", ConvertOptions(role="prior"))
    convert_bags([root / "task_bags"], root / "task.h5", ConvertOptions(role="task", lowdim=False))
    return root, prior_truth, task_truth


def test_load_one_file_matches_the_episodes(files):
    root, prior_truth, _ = files
    t = load_transitions(root / "prior.h5")
    assert len(t) == 36 and set(t.obs) == {"image", "state", "lowdim"}
    np.testing.assert_array_equal(t.obs["image"][:6], prior_truth[0].images[:-1])
    np.testing.assert_array_equal(t.next_obs["image"][5], prior_truth[0].images[-1])
    np.testing.assert_array_equal(t.actions[6:12], prior_truth[1].actions)
    assert not t.is_task.any() and not t.rewards.any()
    assert list(np.unique(t.episode)) == list(range(6)) and t.meta["role"] == "prior"


def test_prior_plus_task_union_keeps_roles_and_common_keys(files):
    root, _, task_truth = files
    t = load_datasets([root / "prior.h5", root / "task.h5"])
    assert len(t) == 36 + 8 and set(t.obs) == {"image", "state"}  # task file has no lowdim
    assert t.is_task.sum() == 8 and t.is_task[36:].all()
    np.testing.assert_array_equal(t.rewards[36:40], task_truth[0].rewards)
    assert len(np.unique(t.episode)) == 8
    with pytest.raises(DatasetError, match="lowdim"):
        load_transitions(root / "task.h5", obs_keys=["image", "lowdim"])


def test_sampler_uniform_and_fixed_fraction(files):
    root, _, _ = files
    t = load_datasets([root / "prior.h5", root / "task.h5"])
    uni = MixedSampler(t, seed=0)
    frac = np.mean([t.is_task[uni.sample(256)].mean() for _ in range(50)])
    assert abs(frac - 8 / 44) < 0.03  # uniform over the union
    fixed = MixedSampler(t, task_fraction=0.5, seed=0)
    idx = fixed.sample(256)
    assert t.is_task[idx].sum() == 128 and idx.dtype == np.int64
    with pytest.raises(ValueError):
        MixedSampler(load_transitions(root / "prior.h5"), task_fraction=0.5)


def test_not_a_dataset_is_a_clear_error(tmp_path):
    (tmp_path / "x.h5").write_bytes(b"not hdf5")
    with pytest.raises(DatasetError, match="not a readable HDF5"):
        load_transitions(tmp_path / "x.h5")
    with pytest.raises(DatasetError, match="no such file"):
        load_transitions(tmp_path / "y.h5")
