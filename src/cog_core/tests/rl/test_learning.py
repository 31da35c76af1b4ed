"""Offline CQL learns a simple task from random data (slow, opt-in: -m slow)."""

from __future__ import annotations

import numpy as np
import pytest

from cog_core.data.transitions import Transitions
from cog_core.rl.config import TrainConfig
from cog_core.rl.data import TrainData
from cog_core.rl.trainer import Trainer


def _line_world(n_episodes: int, length: int, seed: int) -> Transitions:
    """x in [-1, 1] moves by 0.1*a[0]; reward 1 on reaching x > 0.8; random behaviour."""
    rng = np.random.default_rng(seed)
    obs, nxt, acts, rews, eps = [], [], [], [], []
    for e in range(n_episodes):
        x = rng.uniform(-1, 1)
        for _ in range(length):
            a = rng.uniform(-1, 1, 8).astype(np.float32)
            x2 = float(np.clip(x + 0.1 * a[0], -1, 1))
            obs.append([x]); nxt.append([x2]); acts.append(a); rews.append(float(x2 > 0.8)); eps.append(e)
            x = x2
    f = lambda v: np.asarray(v, np.float32)  # noqa: E731
    n = len(acts)
    return Transitions(obs={"lowdim": f(obs)}, next_obs={"lowdim": f(nxt)}, actions=f(acts), rewards=f(rews),
                       dones=np.zeros(n, np.float32), is_task=np.ones(n, bool), episode=np.asarray(eps, np.int64))


@pytest.mark.slow
def test_cql_learns_to_move_towards_reward():
    cfg = TrainConfig(algo="no-prior", obs="state", batch_size=128, steps=3000, log_interval=100, seed=0)
    cfg.sac.discount = 0.9
    cfg.sac.bc_warmstart_steps = 100
    cfg.sac.policy_lr = 1e-3
    cfg.sac.auto_entropy = False  # a small fixed temperature: 7 of the 8 action dims are irrelevant here
    cfg.sac.fixed_alpha = 0.05
    t = Trainer(cfg, TrainData(cfg, _line_world(100, 20, 0)))
    t.train(progress=False)
    rt = t.runtime()
    moves = [rt.act({"lowdim": np.array([x], np.float32)})[0] for x in np.linspace(-0.6, 0.6, 7)]
    # the value of reaching x > 0.8 propagated back: move right (the data's actions average 0)
    assert np.mean(moves) > 0.5 and min(moves[3:]) > 0.5, moves
