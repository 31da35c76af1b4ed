"""The real pipeline on tiny data: collect -> convert -> train from the camera image and the arm's
state (the default frozen-encoder path) -> export -> the policy node's loop runs it on the sim camera."""

from __future__ import annotations

import numpy as np

from cog_core.bag.reader import BagReader
from cog_core.cli import main
from cog_core.experiments.deploy_check import run_policy_loop
from cog_core.rl.runtime import PolicyRuntime
from cog_core.sim import make_env
from cog_core.stations.rollout import policy_observation


def test_collect_convert_train_export_act_and_run_through_the_policy_loop(tmp_path):
    bags, data, run, policy = tmp_path / "bags", tmp_path / "data", tmp_path / "run", tmp_path / "policy"
    for preset, n in (("drawer-prior", 4), ("drawer-task", 3)):
        assert main(["collect", "--preset", preset, "--episodes", str(n), "--out", str(bags / preset), "--quiet"]) == 0
    assert main(["convert", str(bags / "drawer-prior"), "--role", "prior", "-o", str(data / "prior.h5"), "--quiet"]) == 0
    assert main(["convert", str(bags / "drawer-task"), "--role", "task", "-o", str(data / "task.h5"), "--quiet"]) == 0
    assert main([
        "train", "--algo", "cog", "--prior", str(data / "prior.h5"), "--task", str(data / "task.h5"), "--obs", "image+state",
        "--steps", "30", "--batch-size", "32", "--threads", "1", "--set", "sac.bc_warmstart_steps=10",
        "--set", "encoder.steps=10", "--set", "encoder.crops=2", "--out", str(run), "--quiet",
    ]) == 0
    assert main(["export", "--run", str(run), "--out", str(policy)]) == 0
    runtime = PolicyRuntime.load(policy)
    assert runtime.meta["obs"]["image_size"] == 48 and runtime.keys == ["image", "state"]
    env = make_env("drawer/closed")
    obs, info = env.reset(seed=0)
    for _ in range(5):
        action = runtime.act(policy_observation(obs, info, runtime.keys))
        assert action.shape == (8,) and np.all(np.abs(action) <= 1)
        obs, _, _, _, info = env.step(action)

    # what the policy node does on the sim backend: camera frames resized to 48, PolicyLoop, a bag
    episode = run_policy_loop(policy, "drawer/closed", seed=3, bag_dir=tmp_path / "policy_bag", max_episode_steps=6)
    assert (episode.steps, episode.status) == (6, "finished")
    [logged] = list(BagReader([tmp_path / "policy_bag"]).episodes())
    assert logged.length == 6 and logged.initial_condition == "drawer/closed" and logged.policy == "policy:cog"
    assert logged.images.shape[1:] == (48, 48, 3) and logged.success == episode.success
