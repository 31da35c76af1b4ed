"""The Gymnasium environment: API, determinism, bad input."""

import gymnasium as gym
import numpy as np
import pytest

from cog_core.robot.action import ActionError
from cog_core.sim import make_env


def rollout(seed, actions, condition="drawer/closed"):
    env = make_env(condition)
    obs, _ = env.reset(seed=seed)
    images, states = [obs["image"]], [obs["state"]]
    for a in actions:
        obs, *_ = env.step(a)
        images.append(obs["image"])
        states.append(obs["state"])
    env.close()
    return np.stack(images), np.stack(states)


def test_same_seed_and_actions_give_identical_observations():
    actions = np.random.default_rng(0).uniform(-1, 1, (25, 8))
    a = rollout(3, actions)
    b = rollout(3, actions)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    c = rollout(4, actions)
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize("size", [48, 64])
def test_observations_fit_the_declared_spaces(size):
    env = make_env("pick_place/object_on_table", image_size=size)
    obs, info = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    assert obs["image"].shape == (size, size, 3) and obs["image"].dtype == np.uint8
    assert obs["image"].std() > 10  # a real picture, not a black frame
    assert info["lowdim"].shape == (len(env.lowdim_names),)
    obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
    assert env.observation_space.contains(obs) and reward in (0.0, 1.0) and not terminated


def test_episodes_truncate_at_the_condition_length():
    env = make_env("pick_place/object_on_table")
    env.reset(seed=0)
    for t in range(1, env.max_episode_steps + 1):
        *_, truncated, _ = env.step(np.zeros(8))
        assert truncated == (t == env.max_episode_steps)


def test_condition_can_be_switched_within_a_scene_but_not_across():
    env = make_env("drawer/open")
    _, info = env.reset(seed=0, options={"condition": "drawer/closed"})
    assert info["condition"] == "drawer/closed" and info["drawer_open_fraction"] < 0.02
    with pytest.raises(ValueError, match="belongs to scene"):
        env.reset(options={"condition": "pick_place/object_on_table"})


@pytest.mark.parametrize("bad", [np.zeros(6), np.full(8, np.nan), np.zeros((1, 8))])
def test_bad_actions_raise_clear_errors(bad):
    env = make_env("drawer/open", seed=0)
    with pytest.raises(ActionError, match="action"):
        env.step(bad)


def test_unknown_condition_and_image_size_raise_clear_errors():
    with pytest.raises(KeyError, match="valid: drawer/open"):
        make_env("drawer/ajar")
    with pytest.raises(ValueError, match="image_size"):
        make_env("drawer/open", image_size=50)


def test_gymnasium_registration_makes_the_envs():
    env = gym.make("cog/Drawer-v0", condition="drawer/blocked_by_object")
    obs, info = env.reset(seed=0)
    assert info["condition"] == "drawer/blocked_by_object"
    env.close()
