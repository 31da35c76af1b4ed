"""The physics works: drawers open when pulled, objects are grasped and lifted, blocks block."""

import pytest

from cog_core.sim import make_env
from tests.sim.moves import grasp_and_lift, move_to, pull_drawer, step


def test_hooking_and_pulling_opens_the_closed_drawer():
    env = make_env("drawer/closed", seed=0)
    pull_drawer(env)
    assert env.drawer_fraction("bottom") > 0.95


def test_grasp_and_lift_from_the_open_drawer_succeeds_and_holds():
    env = make_env("drawer/open", seed=1)
    info = grasp_and_lift(env, env.object_pos())
    assert info["success"] and info["grasped"]
    for _ in range(40):  # hold for 2 s of sim time
        *_, reward, _, _, info = step(env, gripper=-1)
    assert info["success"] and reward == 1.0


def test_open_then_grasp_solves_the_closed_drawer_in_one_episode():
    env = make_env("drawer/closed", seed=2)
    pull_drawer(env)
    step(env, gripper=1)
    step(env, neutral=1)
    info = grasp_and_lift(env, env.object_pos())
    assert info["success"]


def test_open_top_drawer_blocks_the_hook():
    env = make_env("drawer/blocked_by_top_drawer", seed=0)
    reached_z = pull_drawer(env)
    assert reached_z > env.handle_pos("bottom")[2] + 0.03  # the hand could not get down to the handle
    assert env.drawer_fraction("bottom") < 0.1


def test_blocking_object_blocks_the_hook_until_removed():
    env = make_env("drawer/blocked_by_object", seed=0)
    reached_z = pull_drawer(env)
    assert reached_z > env.handle_pos("bottom")[2] + 0.03  # the bottle keeps the hand out of the gap
    assert env.drawer_fraction("bottom") < 0.1
    env.reset(seed=0)
    grasp_and_lift(env, env.blocker_pos() + [0, 0, 0.025])
    assert env.scene_state().blocker_pos[2] > 0.1  # lifted out of the gap
    move_to(env, [0.25, -0.08, 0.12], gripper=-1)  # put it down out of the way
    step(env, gripper=1)
    step(env, neutral=1)
    pull_drawer(env)
    assert env.drawer_fraction("bottom") > 0.9


@pytest.mark.parametrize("seed", [0, 1])
def test_placing_the_held_object_in_the_tray_succeeds(seed):
    env = make_env("pick_place/object_in_gripper", seed=seed)
    tray = env.layout.tray.center_xy
    move_to(env, [tray[0], tray[1], 0.08], gripper=-1)
    step(env, gripper=1)
    for _ in range(5):
        *_, info = step(env, gripper=1)
    assert info["object_in_tray"] and info["success"]
