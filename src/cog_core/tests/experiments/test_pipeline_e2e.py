"""The real pipeline on tiny data: collect -> convert -> train -> export -> the runtime acts."""

from __future__ import annotations

import numpy as np

from cog_core.cli import main
from cog_core.rl.runtime import PolicyRuntime
from cog_core.sim import make_env
from cog_core.stations.rollout import policy_observation


def test_collect_convert_train_export_act(tmp_path):
    bags, data, run, policy = tmp_path / "bags", tmp_path / "data", tmp_path / "run", tmp_path / "policy"
    for preset, n in (("drawer-prior", 4), ("drawer-task", 3)):
        assert main(["collect", "--preset", preset, "--episodes", str(n), "--out", str(bags / preset), "--quiet"]) == 0
    assert main(["convert", str(bags / "drawer-prior"), "--role", "prior", "-o", str(data / "prior.h5"), "--quiet"]) == 0
    assert main(["convert", str(bags / "drawer-task"), "--role", "task", "-o", str(data / "task.h5"), "--quiet"]) == 0
    assert main([
        "train", "--algo", "cog", "--prior", str(data / "prior.h5"), "--task", str(data / "task.h5"), "--obs", "image",
        "--arch", "fast", "--steps", "30", "--batch-size", "32", "--threads", "1", "--set", "sac.bc_warmstart_steps=10",
        "--out", str(run), "--quiet",
    ]) == 0
    assert main(["export", "--run", str(run), "--out", str(policy)]) == 0
    runtime = PolicyRuntime.load(policy)
    assert runtime.meta["obs"]["image_size"] == 48
    env = make_env("drawer/closed")
    obs, info = env.reset(seed=0)
    for _ in range(5):
        action = runtime.act(policy_observation(obs, info, runtime.keys))
        assert action.shape == (8,) and np.all(np.abs(action) <= 1)
        obs, _, _, _, info = env.step(action)
