"""Episode seeds: training episodes (collection, online fine-tuning), `val` and `test` evaluation
episodes can never share a start state.

The argument, checked here step by step:
1. every collection episode's reset seed is `collection_seed(...)`, a draw below 2**31, and every
   online fine-tuning episode's is `finetune_seed(...)`, refused unless below 2**31;
2. every evaluation episode's reset seed (`cogrl eval`, learning curves, fine-tuning's
   evaluations) is `eval_seed(split, ...)`, which lies in its split's range;
3. the ranges [0, 2**31), val and test do not overlap;
4. the simulator's start state is a function of the reset seed alone.
"""

from __future__ import annotations

import numpy as np
import pytest

from cog_core.experiments.evaluate import evaluation_seeds
from cog_core.rl.evaluation import rollout_success
from cog_core.seeds import (
    MAX_EVAL_EPISODES,
    MAX_EVAL_SEED,
    SPLIT_SEEDS,
    SPLITS,
    TRAINING_SEEDS,
    collection_seed,
    condition_id,
    eval_seed,
    finetune_seed,
    split_of,
)
from cog_core.sim import CONDITIONS, make_env
from cog_core.stations.scripted_runner import RunnerConfig, ScriptedRunner


def test_the_three_seed_ranges_do_not_overlap():
    ranges = [TRAINING_SEEDS, SPLIT_SEEDS["val"], SPLIT_SEEDS["test"]]
    assert [r.step for r in ranges] == [1, 1, 1]
    for low, high in zip(ranges, ranges[1:]):
        assert low.stop <= high.start  # ordered and disjoint
    assert set(SPLITS) == set(SPLIT_SEEDS)


def test_collection_episodes_draw_their_seeds_below_two_to_the_31():
    runner = ScriptedRunner(station=None, recorder=None, config=RunnerConfig(preset="drawer-prior", seed=5, stream=1))  # type: ignore[arg-type]
    for index in range(50):
        seed = runner.plan(index)[2]
        assert seed == collection_seed(5, 1, index) and seed in TRAINING_SEEDS
    draws = [collection_seed(s, w, i) for s in (0, 1, 2**20) for w in (0, 7) for i in (0, 1, 10**6)]
    assert all(0 <= d < 2**31 for d in draws) and len(set(draws)) == len(draws)


def test_finetuning_episodes_stay_among_the_training_seeds():
    assert finetune_seed(0, 0) == 0 and finetune_seed(3, 17) == 3 * 1_000_003 + 17
    assert finetune_seed(2146, 1_000_002) in TRAINING_SEEDS
    with pytest.raises(ValueError, match="too large"):
        finetune_seed(2148, 0)
    with pytest.raises(ValueError, match="online episodes"):
        finetune_seed(0, 1_000_003)


@pytest.mark.parametrize("split", SPLITS)
def test_evaluation_seeds_lie_in_their_split_and_never_repeat(split):
    names = list(CONDITIONS)
    assert len({condition_id(c) for c in names}) == len(names)  # the registry's conditions get distinct fields
    corners = [eval_seed(split, s, c, i) for s in (0, 1, MAX_EVAL_SEED - 1) for c in names for i in (0, 1, MAX_EVAL_EPISODES - 1)]
    assert all(split_of(x) == split for x in corners)
    assert len(set(corners)) == len(corners)
    # what `cogrl eval` uses: a condition's episodes do not depend on the other conditions evaluated
    alone = evaluation_seeds(["drawer/closed"], 5, seed=2, split=split)
    together = evaluation_seeds(["drawer/open", "drawer/closed"], 5, seed=2, split=split)
    assert alone["drawer/closed"] == together["drawer/closed"] == [eval_seed(split, 2, "drawer/closed", i) for i in range(5)]
    assert set(together["drawer/open"]).isdisjoint(together["drawer/closed"])


def test_out_of_range_evaluation_requests_are_refused():
    with pytest.raises(ValueError, match="unknown evaluation split 'train'"):
        eval_seed("train", 0, "drawer/open", 0)
    with pytest.raises(ValueError, match="evaluation seed must be in"):
        eval_seed("val", MAX_EVAL_SEED, "drawer/open", 0)
    with pytest.raises(ValueError, match="evaluation episodes per condition"):
        evaluation_seeds(["drawer/open"], MAX_EVAL_EPISODES + 1)
    with pytest.raises(ValueError, match="no episode range"):
        split_of(-1)


class _FirstObservations:
    """A policy that stands still and keeps the privileged state it saw at each step."""

    keys = ["state", "lowdim"]
    image_size = 48

    def __init__(self) -> None:
        self.seen: list[np.ndarray] = []

    def act(self, obs):
        self.seen.append(obs["lowdim"].copy())
        return np.zeros(8, np.float32)


def test_learning_curves_and_finetuning_evaluate_on_val_start_states():
    policy = _FirstObservations()
    rollout_success(policy, "drawer/open", 2)  # type: ignore[arg-type]
    env = make_env("drawer/open")
    steps = env.max_episode_steps
    try:
        for ep in range(2):
            _, info = env.reset(seed=eval_seed("val", 0, "drawer/open", ep))
            assert np.array_equal(policy.seen[ep * steps], info["lowdim"])
        # the start state is the seed's alone, also for seeds far above 2**32, and the splits differ
        first = env.reset(seed=eval_seed("test", MAX_EVAL_SEED - 1, "drawer/open", 3))[1]["lowdim"]
        again = env.reset(seed=eval_seed("test", MAX_EVAL_SEED - 1, "drawer/open", 3))[1]["lowdim"]
        val = env.reset(seed=eval_seed("val", MAX_EVAL_SEED - 1, "drawer/open", 3))[1]["lowdim"]
    finally:
        env.close()
    assert np.array_equal(first, again) and not np.array_equal(first, val)
