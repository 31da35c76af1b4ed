"""One rollout of a policy on a Gymnasium-style env (the sim), and what the policy observes.

Shared by evaluation (`cog_core.experiments.evaluate`), in-training evaluation and online
fine-tuning (`cog_core.rl`). Success is counted at the final step, as the original does.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def policy_observation(obs: dict[str, np.ndarray], info: dict[str, Any], keys: list[str]) -> dict[str, np.ndarray]:
    """The observation dict a policy wants: the env's obs plus privileged `lowdim` if asked for."""
    full = dict(obs)
    if "lowdim" in keys:
        full["lowdim"] = info["lowdim"]
    return full


TRACKED_FLAGS = ("blocker_moved", "top_drawer_closed", "drawer_opened", "grasped", "object_in_tray", "blocker_fallen")
"""The boolean flags of the simulator's `info` that evaluation follows: the stages of the tasks,
in the order a task reaches them, then one mishap (the bottle knocked over)."""


def run_episode(
    env, policy, seed: int, frames: list | None = None, reached: dict[str, int | None] | None = None
) -> tuple[bool, float, int]:
    """Roll `policy` (anything with `.act(obs)` and `.keys`) for one episode; success at the final step.

    `frames` collects rendered frames; `reached` collects, for each tracked flag of `info` that
    was false at the reset (the stages this episode has to go through, and mishaps), the first
    step at which it held, or None if it never did."""
    obs, info = env.reset(seed=seed)
    total, steps = 0.0, 0
    if reached is not None:
        reached.update({name: None for name in TRACKED_FLAGS if name in info and not info[name]})
    if frames is not None:
        frames.append(env.render())
    while True:
        obs, reward, terminated, truncated, info = env.step(policy.act(policy_observation(obs, info, policy.keys)))
        total += reward
        steps += 1
        if frames is not None:
            frames.append(env.render())
        if reached is not None:
            for name, first in reached.items():
                if first is None and info[name]:
                    reached[name] = steps
        if terminated or truncated:
            return bool(info["success"]), total, steps
