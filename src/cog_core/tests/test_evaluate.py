"""Evaluation statistics and the rollout loop."""

import numpy as np
import pytest

from cog_core.evaluate import policy_observation, run_episode, wilson_interval
from cog_core.sim import make_env


@pytest.mark.parametrize(
    "k,n,expected",
    [(0, 10, (0.0, 0.2775)), (5, 10, (0.2366, 0.7634)), (10, 10, (0.7225, 1.0)), (200, 250, (0.7460, 0.8449))],
)
def test_wilson_interval_matches_hand_computed_values(k, n, expected):
    np.testing.assert_allclose(wilson_interval(k, n), expected, atol=1e-4)


class ScriptedGrasp:
    """A policy object with the runtime's interface, driven by privileged state."""

    keys = ["image", "state", "lowdim"]

    def __init__(self):
        self.t = 0

    def act(self, obs):
        ee, obj = obs["state"][:3], obs["lowdim"][9:12]
        a = np.zeros(8, np.float32)
        a[7] = -1
        if self.t < 6:
            a[:3] = np.clip(25 * (obj + [0, 0, 0.05] - ee), -1, 1)
            a[6] = 1
        elif self.t < 9:
            a[:3] = np.clip(25 * (obj - ee), -1, 1)
            a[6] = 1
        elif self.t < 11:
            a[6] = -1
        else:
            a[2], a[6] = 1, -1
        self.t += 1
        return a


def test_run_episode_counts_success_at_the_final_step_and_records_frames():
    env = make_env("drawer/open", render_size=64)
    frames = []
    success, ret, length = run_episode(env, ScriptedGrasp(), seed=0, frames=frames)
    assert length == env.max_episode_steps and len(frames) == length + 1
    assert success and 0 < ret < length  # rewarded only once lifted


def test_policy_observation_adds_lowdim_only_when_asked():
    obs = {"image": np.zeros((48, 48, 3), np.uint8), "state": np.zeros(9, np.float32)}
    info = {"lowdim": np.ones(8, np.float32)}
    assert "lowdim" not in policy_observation(obs, info, ["image"])
    assert policy_observation(obs, info, ["state", "lowdim"])["lowdim"].sum() == 8


def test_evaluating_a_run_directory_leaves_no_temporary_export(tmp_path, monkeypatch):
    import tempfile

    from cog_core.evaluate import evaluate
    from cog_core.rl.data import TrainData, synthetic_transitions
    from cog_core.rl.trainer import Trainer

    from .rl.helpers import tiny_config

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    task = synthetic_transitions(2, 10, obs_keys=("lowdim",))
    cfg = tiny_config(algo="bc", obs="state", steps=1)
    Trainer(cfg, TrainData(cfg, task, task), tmp_path / "run").train(progress=False)  # 12-D lowdim: pick-place
    [result] = evaluate(tmp_path / "run", ["pick_place/object_in_gripper"], episodes=1, progress=False)
    assert result.episodes == 1
    assert not [p for p in scratch.iterdir() if p.name.startswith("cog_eval_policy_")]  # the temporary export is gone
