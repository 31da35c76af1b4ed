"""Scripted behaviours: they do what they say, noise and thresholds are as documented."""

import numpy as np
import pytest

from cog_core.scripted.policies import BEHAVIOURS, DEFAULT_PROFILE, PRIOR_PROFILES, PolicyConfig, make_policy, profile_config
from cog_core.sim import make_env
from cog_core.sim.conditions import BLOCKER_ASIDE_X, BLOCKER_ASIDE_Y

# (behaviour, condition) pairs that must succeed every time without noise.
CLEAN_PAIRS = [
    ("grasp", "drawer/open"),
    ("grasp", "pick_place/object_on_table"),
    ("grasp_high", "pick_place/object_on_table"),
    ("place", "pick_place/object_in_gripper"),
    ("open_bottom", "drawer/closed"),
    ("close_bottom", "drawer/open"),
    ("open_top", "drawer/closed"),
    ("close_top", "drawer/blocked_by_top_drawer"),
    ("remove_blocker", "drawer/blocked_by_object"),
    ("grasp_blocker", "drawer/closed"),
]


def run(behaviour, condition, seed, noise=0.0, max_steps=60, **config):
    env = make_env(condition)
    env.reset(seed=seed)
    policy = make_policy(behaviour, np.random.default_rng(seed), PolicyConfig(noise_std=noise, **config))
    policy.reset(env.privileged())
    actions, info = [], None
    for _ in range(max_steps):
        a = policy.act(env.privileged())
        actions.append(a)
        *_, info = env.step(a)
        if policy.done:
            break
    return env, policy, np.array(actions), info


@pytest.mark.parametrize("behaviour,condition", CLEAN_PAIRS)
def test_noise_free_behaviours_succeed_and_end_as_the_paper_says(behaviour, condition):
    env, policy, actions, _ = run(behaviour, condition, seed=3)
    assert policy.done and policy.success(env.privileged())
    if behaviour.startswith("grasp"):  # Algorithm 1: hold the lifted object; a neutral move would open the hand
        assert np.all(actions[:, 7] < 0.5) and actions[-1][6] < -0.5
    else:  # every other behaviour ends with its only move-to-neutral, which leaves the hand open
        assert actions[-1][7] > 0.5 and np.all(actions[:-1, 7] < 0.5)
        assert env.arm.state().gripper_open


@pytest.mark.parametrize("behaviour,condition", CLEAN_PAIRS)
def test_the_paper_profiles_rules_succeed_when_the_hand_is_aligned(behaviour, condition):
    """Straight descents and level pulls are behaviours, not sabotage: without noise and with a
    threshold tight enough that the hand stops right over its target, every one succeeds."""
    rules = {k: v for k, v in vars(PRIOR_PROFILES["paper"]).items() if k not in ("noise_std", "threshold_mean", "threshold_std")}
    env, policy, _, _ = run(behaviour, condition, seed=3, threshold_mean=0.005, threshold_std=0.0, **rules)
    assert policy.done and policy.success(env.privileged())


def test_profiles_name_the_state_tables_settings_and_the_papers():
    assert profile_config("state-table") == PolicyConfig()  # what the state Table 1 was collected with, unchanged
    paper = profile_config("paper")
    assert DEFAULT_PROFILE == "paper" and paper.noise_std == 0.2  # Algorithms 1-3: noise ~ N(0, 0.2)
    assert (paper.threshold_mean, paper.threshold_std, paper.weak_prob) == (0.04, 0.01, 0.5)
    assert paper.descend_straight and paper.pull_level
    assert profile_config("paper", noise_std=0.05).noise_std == 0.05 and PRIOR_PROFILES["paper"].noise_std == 0.2
    with pytest.raises(KeyError, match="unknown prior profile 'easy'; valid: state-table, paper"):
        profile_config("easy")


def test_a_straight_descent_keeps_the_alignments_error_and_a_level_pull_keeps_its_height():
    config = PolicyConfig(noise_std=0.0, descend_straight=True, pull_level=True)
    for behaviour, condition, phase in (("grasp", "drawer/open", "descend"), ("open_bottom", "drawer/closed", "descend")):
        env = make_env(condition)
        env.reset(seed=4)
        policy = make_policy(behaviour, np.random.default_rng(4), config)
        policy.reset(env.privileged())
        moves = {}
        while not policy.done:
            before = policy.phase
            a = policy.act(env.privileged())
            if policy.phase == before:  # a step within one phase (not the one that moves on)
                moves.setdefault(before, []).append(a[:3])
            env.step(a)
        descent = np.array(moves[phase])
        assert np.all(descent[:, :2] == 0) and np.all(descent[:, 2] <= 0) and np.any(descent[:, 2] < 0)
        if behaviour == "open_bottom":
            pull = np.array(moves["move"])  # toward -y, holding the height the hand hooked at
            assert np.all(np.abs(pull[:, 2]) < 0.1) and np.all(pull[:, 1] < -0.5)


def test_the_paper_profile_opens_drawers_about_as_often_as_the_papers_scripts():
    """The state table's behaviours open the bottom drawer almost every time; the paper profile's
    about half the time (the paper: 40-50 %), from the same start states."""
    rates = {}
    for profile in ("state-table", "paper"):
        wins = 0
        for seed in range(30):
            settings = vars(profile_config(profile)).copy()
            env, policy, _, _ = run("open_bottom", "drawer/closed", seed, noise=settings.pop("noise_std"), **settings)
            wins += policy.success(env.privileged())
            env.close()
        rates[profile] = wins / 30
    assert rates["state-table"] >= 0.9 and 0.25 <= rates["paper"] <= 0.75, rates


def test_stay_at_neutral_keeps_the_arm_at_its_start_pose_despite_noise():
    """With `stay_at_neutral` (the original's scripted policies repeat the neutral command) the
    end of one behaviour is exactly the start pose of the next: no drift with the noise."""
    env, policy, _, _ = run("open_bottom", "drawer/closed", seed=3, noise=0.1, stay_at_neutral=True)
    assert policy.done and policy.phase == "neutral"
    start = make_env("drawer/closed")
    start.reset(seed=0)
    home = start.arm.state()
    for _ in range(15):
        a = policy.act(env.privileged())
        assert a[7] > 0.5
        env.step(a)
        state = env.arm.state()
        assert np.linalg.norm(state.ee_pos - home.ee_pos) < 0.005
        assert np.abs(state.ee_quat - home.ee_quat).max() < 0.01
        assert state.gripper_open


def test_task_grasp_earns_the_task_reward():
    _, _, _, info = run("grasp", "drawer/open", seed=1)
    assert info["success"]


def test_pick_place_prior_grasps_end_among_the_place_task_starts():
    """The prior's grasps lift to where the task starts (the overlap COG stitches through)."""
    starts = np.array([make_env("pick_place/object_in_gripper").reset(seed=s)[1]["lowdim"][:3] for s in range(10)])
    ends = []
    for seed in range(5):
        env, policy, _, _ = run("grasp_high", "pick_place/object_on_table", seed=seed, noise=0.1, max_steps=40)
        assert policy.success(env.privileged()), seed
        ends.append(env.arm.ee_pose()[0])
    ends = np.array(ends)
    assert abs(ends[:, 2].mean() - starts[:, 2].mean()) < 0.02  # the low `grasp` (0.15 m) is 5 cm off
    assert np.all((ends[:, 2] > starts[:, 2].min() - 0.01) & (ends[:, 2] < starts[:, 2].max() + 0.01))


def test_opening_the_bottom_drawer_fails_while_it_is_blocked():
    for condition in ("drawer/blocked_by_top_drawer", "drawer/blocked_by_object"):
        env, policy, _, _ = run("open_bottom", condition, seed=0)
        assert not policy.success(env.privileged())


def test_noise_is_gaussian_with_the_configured_std_and_discrete_dims_stay_put():
    cfg = PolicyConfig(noise_std=0.2)
    policy = make_policy("grasp", np.random.default_rng(0), cfg)
    env = make_env("pick_place/object_on_table", seed=0)
    policy.reset(env.privileged())
    clean = policy._act(env.privileged())
    noisy = np.array([policy.act(env.privileged()) for _ in range(2000)])
    residual = noisy[:, :6] - np.clip(clean[:6], -1, 1)
    inside = np.abs(noisy[:, :6]) < 0.999  # unclipped entries
    assert abs(residual[inside].std() - 0.2) < 0.02
    assert np.all(noisy[:, 7] < 0.5)  # noise never triggers move-to-neutral
    assert np.all(noisy[:, 6] > -0.5)  # nor flips the gripper to the opposite command


def test_thresholds_are_drawn_per_episode_around_four_centimetres():
    thresholds = []
    env = make_env("drawer/closed", seed=0)
    for seed in range(300):
        p = make_policy("open_bottom", np.random.default_rng(seed))
        p.reset(env.privileged())
        thresholds.append(p.params["threshold"])
    assert abs(np.mean(thresholds) - 0.04) < 0.002 and abs(np.std(thresholds) - 0.01) < 0.002


def test_weak_variants_sometimes_aim_at_a_random_point():
    env = make_env("pick_place/object_on_table", seed=0)
    decoys = 0
    for seed in range(40):
        p = make_policy("weak_grasp", np.random.default_rng(seed))
        p.reset(env.privileged())
        decoys += p.params["decoy"] is not None
    assert 10 < decoys < 30


def test_unknown_behaviour_is_a_clear_error():
    with pytest.raises(KeyError, match="valid: grasp"):
        make_policy("juggle", np.random.default_rng(0))


def test_every_behaviour_is_constructible():
    for name in BEHAVIOURS:
        assert make_policy(name, np.random.default_rng(0)).name == name


def _grasp_heights(seed, noise):
    """(height of the ee above the object when each open-hand action was chosen, same at the close)."""
    env = make_env("drawer/open")
    env.reset(seed=seed)
    policy = make_policy("grasp", np.random.default_rng(seed), PolicyConfig(noise_std=noise))
    policy.reset(env.privileged())
    open_dz, close_dz = [], []
    for _ in range(60):
        priv = env.privileged()
        a = policy.act(priv)
        if priv["gripper_open"]:
            dz = float(priv["ee_pos"][2] - priv["object_pos"][2])
            (close_dz if a[6] < -0.5 else open_dz).append(dz)
        env.step(a)
        if policy.done:
            break
    return np.array(open_dz), np.array(close_dz), policy.close_dz


def test_grasp_closes_once_below_a_sharp_close_height_reached_at_speed():
    # Learnability of the data: the open-hand descent states and the close state lie on either
    # side of the episode's close height, and that height varies little between episodes, so a
    # regressed policy sees one boundary (a wide random close height made the gripper never close).
    heights = []
    for seed in range(6):
        open_dz, close_dz, thr = _grasp_heights(seed, noise=0.1)
        assert len(close_dz) == 1 and close_dz[0] <= thr < open_dz.min()
        heights.append(thr)
        open_dz, close_dz, thr = _grasp_heights(seed, noise=0.0)
        assert open_dz.min() - close_dz[0] > 0.004  # the last descent step still moves the hand
    assert 0.005 < min(heights) and max(heights) < 0.015


def test_weak_bottle_grasp_decoys_stay_away_from_the_task_object():
    env = make_env("drawer/open")
    for seed in range(40):
        env.reset(seed=seed)
        policy = make_policy("weak_grasp_blocker", np.random.default_rng(seed), PolicyConfig(weak_prob=1.0))
        policy.reset(env.privileged())
        assert np.linalg.norm(policy.decoy[:2] - env.privileged()["object_pos"][:2]) > 0.08


def test_by_default_a_finished_behaviour_holds_still_and_drifts_with_the_noise():
    env, policy, _, _ = run("open_bottom", "drawer/closed", seed=3, noise=0.1)
    assert policy.done
    home = make_env("drawer/closed")
    home.reset(seed=0)
    actions = [policy.act(env.privileged()) for _ in range(15)]
    for a in actions:
        env.step(a)
    assert all(a[7] < 0.5 for a in actions)
    assert np.linalg.norm(env.arm.state().ee_pos - home.arm.state().ee_pos) > 0.002


def test_remove_blocker_stands_the_bottle_where_the_next_behaviours_start_from():
    """Removing the obstruction ends with the bottle where every drawer-opening episode has it
    (the aside area of the other conditions), so that opening the drawer can follow."""
    for seed in range(3):
        env, policy, _, _ = run("remove_blocker", "drawer/blocked_by_object", seed=seed)
        assert policy.done and policy.success(env.privileged()), seed
        x, y = env.privileged()["blocker_pos"][:2]
        assert BLOCKER_ASIDE_X[0] - 0.01 <= x <= BLOCKER_ASIDE_X[1] + 0.01, (seed, x)
        assert BLOCKER_ASIDE_Y[0] - 0.01 <= y <= BLOCKER_ASIDE_Y[1] + 0.01, (seed, y)
