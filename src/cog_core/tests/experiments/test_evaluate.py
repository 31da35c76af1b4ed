"""Evaluation statistics and the rollout loop."""

import numpy as np
import pytest

from cog_core.experiments.stats import welch_test, wilson_interval
from cog_core.sim import make_env
from cog_core.stations.rollout import policy_observation, run_episode


@pytest.mark.parametrize(
    "k,n,expected",
    [(0, 10, (0.0, 0.2775)), (5, 10, (0.2366, 0.7634)), (10, 10, (0.7225, 1.0)), (200, 250, (0.7460, 0.8449))],
)
def test_wilson_interval_matches_hand_computed_values(k, n, expected):
    np.testing.assert_allclose(wilson_interval(k, n), expected, atol=1e-4)


def test_welch_test_from_a_reported_mean_and_std_matches_the_test_on_raw_seeds():
    from scipy.stats import ttest_ind

    ours, theirs = [0.74, 0.88, 0.66, 0.42], [0.70, 0.78, 0.86]  # theirs: mean 0.78, sample std 0.08
    diff, p = welch_test(ours, 0.78, 0.08, 3)
    assert diff == pytest.approx(np.mean(ours) - 0.78)
    assert p == pytest.approx(ttest_ind(ours, theirs, equal_var=False).pvalue, rel=1e-9)
    assert welch_test([0.2, 0.21, 0.19], 0.9, 0.01, 3)[1] < 1e-3  # far apart, tight seeds
    assert np.isnan(welch_test([1.0, 1.0], 1.0, 0.0, 3)[1])  # nothing varies: no p
    with pytest.raises(ValueError, match="at least 2 seeds"):
        welch_test([0.5], 0.5, 0.1, 3)


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
    frames, reached = [], {}
    success, ret, length = run_episode(env, ScriptedGrasp(), seed=0, frames=frames, reached=reached)
    assert length == env.max_episode_steps and len(frames) == length + 1
    assert success and 0 < ret < length  # rewarded only once lifted
    assert set(reached) == {"grasped", "blocker_fallen"}  # the drawer is open and the bottle aside from the start
    assert 6 <= reached["grasped"] <= 12  # the scripted grasp closes the hand at steps 9-10
    assert reached["blocker_fallen"] is None


class Still:
    """A policy that holds the arm where it is."""

    keys = ["state"]

    def act(self, obs):
        return np.zeros(8, np.float32)


def test_run_episode_reports_the_subgoals_a_policy_never_reached():
    env = make_env("drawer/blocked_by_object")
    reached = {}
    success, _, _ = run_episode(env, Still(), seed=0, reached=reached)
    assert not success
    assert reached == {"blocker_moved": None, "drawer_opened": None, "grasped": None, "blocker_fallen": None}


def test_policy_observation_adds_lowdim_only_when_asked():
    obs = {"image": np.zeros((48, 48, 3), np.uint8), "state": np.zeros(9, np.float32)}
    info = {"lowdim": np.ones(8, np.float32)}
    assert "lowdim" not in policy_observation(obs, info, ["image"])
    assert policy_observation(obs, info, ["state", "lowdim"])["lowdim"].sum() == 8


def test_evaluating_a_run_directory_leaves_no_temporary_export(tmp_path, monkeypatch):
    import tempfile

    from cog_core.experiments.evaluate import evaluate

    from ..rl.helpers import tiny_bc_run

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    tiny_bc_run(tmp_path / "run")  # 12-D lowdim: pick-place
    [result] = evaluate(tmp_path / "run", ["pick_place/object_in_gripper"], episodes=1, progress=False)
    assert result.episodes == 1
    assert set(result.reached) == {"object_in_tray"}  # the cube starts in the hand
    assert 0.0 <= result.reached["object_in_tray"] <= 1.0
    assert not [p for p in scratch.iterdir() if p.name.startswith("cog_eval_policy_")]  # the temporary export is gone


def test_reach_rates_pool_episodes_and_give_the_median_first_step():
    from cog_core.experiments.evaluate import _median_first_steps, _reach_rates

    rows = [{"reached": {"blocker_moved": 12, "drawer_opened": 30}},
            {"reached": {"blocker_moved": 20, "drawer_opened": None}},
            {"reached": {"blocker_moved": None, "drawer_opened": None}},
            {"reached": {"blocker_moved": 16, "drawer_opened": 50}}]
    assert _reach_rates(rows) == {"blocker_moved": 0.75, "drawer_opened": 0.5}
    assert _median_first_steps(rows) == {"blocker_moved": 16.0, "drawer_opened": 40.0}
    assert _reach_rates([{"reached": {}}]) == {}  # nothing to reach
    assert _median_first_steps([{"reached": {"grasped": None}}]) == {}  # tracked, never reached
