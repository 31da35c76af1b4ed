"""Episode seeds: the reset seeds of training and evaluation episodes, kept apart by construction.

Every simulator episode starts from `env.reset(seed=...)`, and its seed alone decides its start
state. The seeds fall in three disjoint integer ranges:

- **training** ``[0, 2**31)``: scripted collection (`collection_seed`, one per planned
  episode) and the online episodes of fine-tuning (`finetune_seed`);
- **val** ``[2**40, 2**41)``: every evaluation made while developing: probes, tuning, learning
  curves, fine-tuning's evaluations, the demo;
- **test** ``[2**41, 2**42)``: final numbers only (`cogrl table`'s final evaluation).

Within a split, `eval_seed(split, seed, condition, index)` packs the evaluation seed (the
`--seed` of `cogrl eval`), the condition and the episode index into disjoint bit fields, so two
different (seed, condition, index) never share a start state, and a condition's episodes do not
depend on which other conditions are evaluated with it.
"""

from __future__ import annotations

import zlib

import numpy as np

SPLITS = ("val", "test")
TRAINING_SEEDS = range(0, 2**31)
_SPLIT_BITS = 40
SPLIT_SEEDS = {"val": range(2**_SPLIT_BITS, 2 * 2**_SPLIT_BITS), "test": range(2 * 2**_SPLIT_BITS, 3 * 2**_SPLIT_BITS)}
# Bit fields of an evaluation seed's offset within its split: seed | condition | episode index.
_INDEX_BITS, _CONDITION_BITS, _SEED_BITS = 16, 12, 12
MAX_EVAL_EPISODES = 2**_INDEX_BITS  # per condition and evaluation seed
MAX_EVAL_SEED = 2**_SEED_BITS
# Online fine-tuning: episode `index` of fine-tuning seed `seed` (the formula fine-tuning has always used).
_FINETUNE_STRIDE = 1_000_003


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"unknown evaluation split {split!r}; valid: {', '.join(SPLITS)} (val while developing, test for final numbers)")


def condition_id(condition: str) -> int:
    """A condition's field in evaluation seeds: a stable hash of its name (the registry is checked
    for collisions by the tests)."""
    return zlib.crc32(condition.encode()) % 2**_CONDITION_BITS


def eval_seed(split: str, seed: int, condition: str, index: int) -> int:
    """The reset seed of evaluation episode `index` of `condition` under evaluation seed `seed` of `split`."""
    _check_split(split)
    if not 0 <= seed < MAX_EVAL_SEED:
        raise ValueError(f"evaluation seed must be in [0, {MAX_EVAL_SEED}), got {seed}")
    if not 0 <= index < MAX_EVAL_EPISODES:
        raise ValueError(f"at most {MAX_EVAL_EPISODES} evaluation episodes per condition, got episode index {index}")
    offset = (seed << (_CONDITION_BITS + _INDEX_BITS)) | (condition_id(condition) << _INDEX_BITS) | index
    return SPLIT_SEEDS[split].start + offset


def split_of(episode_seed: int) -> str:
    """Which range a reset seed lies in: "training", "val" or "test" (ValueError outside all three)."""
    if episode_seed in TRAINING_SEEDS:
        return "training"
    for split, seeds in SPLIT_SEEDS.items():
        if episode_seed in seeds:
            return split
    raise ValueError(f"seed {episode_seed} lies in no episode range (training [0, 2**31), val, test)")


def collection_seed(seed: int, stream: int, index: int) -> int:
    """The reset seed of planned collection episode `index` of stream `stream` (a collection worker)
    under collection seed `seed`: drawn from ``[0, 2**31)``."""
    return int(np.random.default_rng([seed, stream, index, 0]).integers(TRAINING_SEEDS.stop))


def finetune_seed(seed: int, index: int) -> int:
    """The reset seed of online fine-tuning episode `index` under fine-tuning seed `seed` (a training seed)."""
    if not 0 <= index < _FINETUNE_STRIDE:
        raise ValueError(f"at most {_FINETUNE_STRIDE} online episodes per fine-tuning, got episode index {index}")
    value = seed * _FINETUNE_STRIDE + index
    if value not in TRAINING_SEEDS:
        raise ValueError(f"fine-tuning seed {seed} is too large: its episodes would leave the training seeds [0, 2**31)")
    return value
