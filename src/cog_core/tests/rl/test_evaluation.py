"""The evaluation hook rolls a trained policy out in the real simulator."""

from __future__ import annotations

import numpy as np
import pytest

from cog_core.rl.data import TrainData, synthetic_transitions
from cog_core.rl.evaluation import sim_eval_fn
from cog_core.rl.trainer import Trainer

from .helpers import tiny_config

sim = pytest.importorskip("cog_core.sim")


@pytest.mark.parametrize("obs,vec", [("image+state", 9), ("state", None)])
def test_sim_eval_hook_runs_the_policy(tmp_path, obs, vec):
    env = sim.make_env("drawer/open", image_size=48, seed=0)
    lowdim_dim = env.reset(seed=0)[1]["lowdim"].shape[0]
    env.close()
    task = synthetic_transitions(2, 10, image_size=48, seed=1)
    rng = np.random.default_rng(0)
    for d in (task.obs, task.next_obs):  # the sim's privileged vector size, whatever it is today
        d["lowdim"] = rng.normal(size=(len(task), lowdim_dim)).astype(np.float32)
    cfg = tiny_config(algo="bc", obs=obs, steps=2, eval_interval=2)
    t = Trainer(cfg, TrainData(cfg, task, task), tmp_path, eval_fn=sim_eval_fn(["drawer/open"], episodes=1))
    t.train(progress=False)
    line = (tmp_path / "eval.jsonl").read_text().strip()
    assert '"step": 2' in line and '"success/drawer/open": ' in line
