"""ScriptedRunner: the one scripted collection loop (used by `cogrl collect` and the ROS collector)."""

import numpy as np
import pytest

from cog_core.bag import BagRecorder
from cog_core.bag.reader import BagReader
from cog_core.stations.scripted_runner import RunnerConfig, ScriptedRunner
from cog_core.scripted.presets import get_preset
from cog_core.stations.sim import SimStation


def record(tmp_path, name, cfg):
    station = SimStation(get_preset(cfg.preset).mix[0].condition)
    try:
        with BagRecorder(tmp_path / name, run_id=name) as rec:
            runner = ScriptedRunner(station, rec, cfg)
            while runner.remaining:
                runner.begin()
                done = False
                while not done:
                    _, done = runner.step()
                runner.finish()
    finally:
        station.close()
    return list(BagReader([tmp_path / name]).episodes())


def test_same_config_records_identical_episodes_and_streams_differ(tmp_path):
    cfg = RunnerConfig(preset="pick-place-prior", episodes=2, seed=7, max_steps=40)
    a, b = record(tmp_path, "a", cfg), record(tmp_path, "b", cfg)
    assert len(a) == len(b) == 2
    for x, y in zip(a, b):
        assert np.array_equal(x.images, y.images) and np.array_equal(x.actions, y.actions)
        assert np.array_equal(x.states, y.states) and np.array_equal(x.rewards, y.rewards)
    c = record(tmp_path, "c", RunnerConfig(preset="pick-place-prior", episodes=2, seed=7, max_steps=40, stream=1))
    assert not np.array_equal(a[0].actions[:5], c[0].actions[:5])


def test_each_episode_records_its_prior_profile_and_the_profile_sets_the_noise(tmp_path):
    for profile, noise in (("paper", 0.2), ("state-table", 0.1)):
        (ep,) = record(tmp_path, profile.replace("-", "_"), RunnerConfig(preset="drawer-task", episodes=1, seed=3, prior_profile=profile))
        assert ep.summary["policy_params"]["prior_profile"] == profile
        assert ep.summary["policy_params"]["noise_std"] == noise
    (ep,) = record(tmp_path, "quiet", RunnerConfig(preset="drawer-task", episodes=1, seed=3, noise_std=0.05))
    assert ep.summary["policy_params"] == {**ep.summary["policy_params"], "prior_profile": "paper", "noise_std": 0.05}


def test_grasp_episodes_last_min_steps_and_hold_the_lifted_object_still(tmp_path):
    # the state-table profile's noise (0.1) keeps a still hand's commands far inside +-0.5
    episodes = record(tmp_path, "t", RunnerConfig(preset="drawer-task", episodes=3, seed=3, max_steps=60, prior_profile="state-table"))
    assert all(ep.length == get_preset("drawer-task").min_steps for ep in episodes)
    assert not any(np.any(ep.actions[:, 7] > 0.5) for ep in episodes)  # no neutral move: it would open the hand
    successful = [ep for ep in episodes if ep.rewards[ep.length - 1] > 0]
    assert successful  # the scripted grasp succeeds ~90 % of the time
    ep = successful[0]
    first_reward = int(np.flatnonzero(ep.rewards > 0)[0])
    held = ep.actions[first_reward + 3 : -1]
    assert len(held) > 5 and np.all(np.abs(held[:, :3]) < 0.5) and np.all(held[:, 6] < -0.5)  # still, gripper closed
    assert ep.rewards[first_reward : ep.length].min() == 1.0  # the held object keeps earning the reward


def test_drawer_episodes_end_at_neutral_with_the_hand_open_and_hold_still(tmp_path):
    # the state-table profile's noise (0.1) keeps a still hand's commands far inside +-0.5
    cfg = RunnerConfig(preset="drawer-prior", episodes=3, seed=1, max_steps=60, prior_profile="state-table")
    for ep in record(tmp_path, "p", cfg):
        neutral_at = np.flatnonzero(ep.actions[:, 7] > 0.5)
        assert len(neutral_at) == 1 or ep.policy.startswith(("grasp", "weak_grasp")), ep.policy
        if len(neutral_at) == 1:
            after = ep.states[neutral_at[0] + 1 :]
            assert np.all(after[:, 8] == 1.0)  # gripper-open flag: the neutral move opened the hand
            assert np.all(np.abs(ep.actions[neutral_at[0] + 1 :, :3]) < 0.5)


def test_runner_abort_and_misuse(tmp_path):
    station = SimStation("pick_place/object_on_table")
    try:
        with BagRecorder(tmp_path / "c") as rec:
            runner = ScriptedRunner(station, rec, RunnerConfig(preset="pick-place-task", episodes=1, max_steps=5))
            with pytest.raises(RuntimeError, match="call begin"):
                runner.step()
            runner.begin()
            runner.step()
            assert runner.abort("test").status == "aborted" and not runner.in_episode
            with pytest.raises(RuntimeError, match="all 1 episodes are done"):
                runner.begin()
        assert list(BagReader([tmp_path / "c"]).episodes()) == []
    finally:
        station.close()
    with pytest.raises(KeyError):
        ScriptedRunner(None, None, RunnerConfig(preset="no-such-preset"))


def test_object_position_override_is_required_and_used(tmp_path):
    station = SimStation("pick_place/object_on_table")
    try:
        with BagRecorder(tmp_path / "d") as rec:
            runner = ScriptedRunner(station, rec, RunnerConfig(preset="pick-place-prior", episodes=2, max_steps=5),
                                    object_position=lambda: None)
            runner.prepare()
            with pytest.raises(RuntimeError, match="no object position available"):
                runner.begin()
            fake = np.array([0.33, 0.05, 0.016])
            runner.object_position = lambda: fake
            assert np.array_equal(runner._privileged()["object_pos"], fake)
            assert np.array_equal(station.privileged()["object_pos"], station.env.object_pos())  # station untouched
    finally:
        station.close()


class HaltingStation:
    """A SimStation whose arm 'halts' on the third step, as a real arm's safety monitor would."""

    def __init__(self):
        self.inner = SimStation("pick_place/object_on_table")
        self.steps = 0

    def reset(self, condition, seed):
        self.steps = 0
        return self.inner.reset(condition, seed)

    def step(self, action):
        obs, reward, terminated, truncated, info = self.inner.step(action)
        self.steps += 1
        if self.steps == 3:
            info = {**info, "halted": "joint effort over the limit"}
            terminated = True
        return obs, reward, terminated, truncated, info

    def privileged(self):
        return self.inner.privileged()


def test_a_halted_episode_is_aborted_not_recorded_as_complete(tmp_path):
    station = HaltingStation()
    with BagRecorder(tmp_path / "h") as rec:
        runner = ScriptedRunner(station, rec, RunnerConfig(preset="pick-place-prior", episodes=1, max_steps=40))
        runner.begin()
        done = False
        while not done:
            _, done = runner.step()
        result = runner.finish()
    station.inner.close()
    assert result.status == "aborted" and "effort" in result.info["reason"]
    assert list(BagReader([tmp_path / "h"]).episodes()) == []


@pytest.mark.parametrize("hold", [True, False])
def test_the_object_estimate_of_the_episode_start_is_kept_while_the_behaviour_acts(tmp_path, hold):
    """Issue 43: the localizer's estimate is taken with the arm at its start pose; once the gripper hovers
    over the object later estimates are withheld or worse, so the behaviour keeps the first one."""
    station = SimStation("pick_place/object_on_table")
    try:
        with BagRecorder(tmp_path / f"hold{hold}") as rec:
            truth = station.env.object_pos()
            calls = []

            def estimate():  # the localizer's estimate drifts 1 cm per read, as if the arm hid more and more of it
                calls.append(1)
                return truth + [0.01 * len(calls), 0.0, 0.0]

            runner = ScriptedRunner(station, rec, RunnerConfig(preset="pick-place-prior", episodes=1, max_steps=6,
                                                               hold_object_estimate=hold), object_position=estimate)
            runner.begin()
            assert runner._open is not None
            policy = runner._open.policy
            seen = []
            act = policy.act
            policy.act = lambda priv: seen.append(np.array(priv["object_pos"])) or act(priv)
            for _ in range(4):
                runner.step()
            runner.finish()
        first = truth + [0.01, 0.0, 0.0]
        if hold:
            assert all(np.allclose(s, first) for s in seen)
        else:
            assert not np.allclose(seen[-1], first)
    finally:
        station.close()
