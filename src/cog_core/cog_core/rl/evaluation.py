"""Evaluation hook for training: roll the deterministic policy out in the simulator.

Success is counted at the final step of each episode, as the original evaluation does. The
episodes are the `val` split's (`cog_core.seeds`): learning curves and fine-tuning's
evaluations are development, never final numbers.
"""

from __future__ import annotations

from collections.abc import Sequence

from cog_core.rl.runtime import PolicyRuntime
from cog_core.seeds import eval_seed
from cog_core.stations.rollout import run_episode


def rollout_success(runtime: PolicyRuntime, condition: str, episodes: int, seed: int = 0, split: str = "val") -> float:
    """Fraction of `episodes` sim episodes of `condition` (evaluation seed `seed` of `split`) that succeed at their final step."""
    from cog_core.sim import make_env

    seeds = [eval_seed(split, seed, condition, ep) for ep in range(episodes)]
    env = make_env(condition, image_size=runtime.image_size or 48)
    try:
        wins = sum(run_episode(env, runtime, s)[0] for s in seeds)
    finally:
        env.close()
    return wins / max(episodes, 1)


def sim_eval_fn(conditions: Sequence[str], episodes: int, seed: int = 0):
    """An `EvalFn` for `Trainer`: success rate per condition on the `val` split, keys ``success/<condition>``."""

    def evaluate(step: int, runtime: PolicyRuntime) -> dict[str, float]:  # noqa: ARG001
        return {f"success/{c}": rollout_success(runtime, c, episodes, seed) for c in conditions}

    return evaluate
