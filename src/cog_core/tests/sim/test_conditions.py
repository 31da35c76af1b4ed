"""Every named initial condition's geometry at reset."""

import numpy as np
import pytest

from cog_core.sim import CONDITIONS, make_env
from cog_core.sim.conditions import OBJECT_ON_TABLE_X, OBJECT_ON_TABLE_Y

SEEDS = range(4)


def reset(condition, seed):
    env = make_env(condition)
    obs, info = env.reset(seed=seed)
    return env, obs, info


def drawer_interior_contains(env, pos):
    cab = env.layout.cabinet
    x_ok = abs(pos[0] - cab.center_xy[0]) < cab.half_width - cab.wall
    front = cab.front_y - env.drawer_fraction("bottom") * cab.bottom_travel
    return x_ok and front < pos[1] < front + 2 * cab.half_depth and pos[2] < cab.bottom_drawer_z[1]


@pytest.mark.parametrize("seed", SEEDS)
def test_open_condition_has_the_drawer_open_and_the_object_inside(seed):
    env, _, info = reset("drawer/open", seed)
    assert info["drawer_open_fraction"] > 0.93 and info["top_drawer_closed"]
    assert drawer_interior_contains(env, env.object_pos())
    assert not info["success"]


@pytest.mark.parametrize("condition", ["drawer/closed", "drawer/blocked_by_top_drawer", "drawer/blocked_by_object"])
@pytest.mark.parametrize("seed", SEEDS)
def test_closed_conditions_have_the_bottom_drawer_closed_with_the_object_inside(condition, seed):
    env, _, info = reset(condition, seed)
    assert info["drawer_open_fraction"] < 0.02
    assert drawer_interior_contains(env, env.object_pos())
    cab = env.layout.cabinet
    assert env.object_pos()[1] > cab.front_y  # hidden inside the cabinet


@pytest.mark.parametrize("seed", SEEDS)
def test_open_top_drawer_covers_the_bottom_handle(seed):
    env, _, info = reset("drawer/blocked_by_top_drawer", seed)
    assert info["top_drawer_open_fraction"] > 0.8
    handle = env.handle_pos("bottom")
    geom = env.model.geom("top_floor")
    center, half = env.data.geom_xpos[geom.id], geom.size
    assert abs(handle[0] - center[0]) < half[0] and abs(handle[1] - center[1]) < half[1]
    assert center[2] > handle[2]  # the top drawer's floor lies right above the handle


@pytest.mark.parametrize("seed", SEEDS)
def test_blocker_stands_in_front_of_the_closed_drawer(seed):
    env, _, info = reset("drawer/blocked_by_object", seed)
    blocker, home = env.blocker_pos(), env.blocker_home()
    assert np.linalg.norm(blocker[:2] - home[:2]) < 0.012
    assert blocker[2] == pytest.approx(env.layout.blocker.half_height, abs=0.003)  # upright on the table
    cab = env.layout.cabinet
    handle = env.handle_pos("bottom")
    assert handle[1] < blocker[1] < cab.front_y  # between the handle bar and the drawer front
    assert info["blocker_moved"] is False
    assert info["blocker_fallen"] is False


def test_a_bottle_lying_on_its_side_is_reported_fallen():
    import mujoco

    env, _, _ = reset("drawer/closed", 0)
    adr = env.model.joint("blocker").qposadr[0]
    env.data.qpos[adr + 2] = env.layout.blocker.radius  # lying on the table ...
    env.data.qpos[adr + 3:adr + 7] = [np.cos(np.pi / 4), np.sin(np.pi / 4), 0, 0]  # ... axis along y
    mujoco.mj_forward(env.model, env.data)
    _, _, _, _, info = env.step(np.zeros(8, np.float32))
    assert info["blocker_fallen"] is True


@pytest.mark.parametrize("condition", ["drawer/open", "drawer/closed", "drawer/blocked_by_top_drawer"])
def test_blocker_is_out_of_the_way_in_unblocked_conditions(condition):
    env, _, info = reset(condition, 0)
    assert info["blocker_moved"]


@pytest.mark.parametrize("seed", SEEDS)
def test_object_in_gripper_starts_held_and_not_yet_placed(seed):
    env, obs, info = reset("pick_place/object_in_gripper", seed)
    assert info["grasped"] and not info["success"]
    assert obs["state"][8] == 0.0  # gripper-open flag off


def test_object_in_gripper_starts_where_the_priors_grasps_end():
    """The reset grasp spreads the place task's starts as the prior's grasps end: lifted, held
    a little below the ee point, over the cube's table area (not one exact state)."""
    starts = []
    for seed in range(20):
        env, _, info = reset("pick_place/object_in_gripper", seed)
        assert info["grasped"], seed
        ee, obj = env.arm.ee_pose()[0], env.object_pos()
        assert 0.0 < ee[2] - obj[2] < 0.02, seed  # held below the ee point, as a grasp holds it
        assert OBJECT_ON_TABLE_X[0] - 0.03 < ee[0] < OBJECT_ON_TABLE_X[1] + 0.03, seed
        assert OBJECT_ON_TABLE_Y[0] - 0.03 < ee[1] < OBJECT_ON_TABLE_Y[1] + 0.03, seed
        starts.append(ee)
    starts = np.array(starts)
    assert np.all(starts[:, :2].std(axis=0) > 0.02)  # spread over the table area
    assert 0.17 < starts[:, 2].mean() < 0.23  # at grasp_high's lift height


@pytest.mark.parametrize("seed", SEEDS)
def test_object_on_table_lies_in_its_documented_range(seed):
    env, _, info = reset("pick_place/object_on_table", seed)
    pos = env.object_pos()
    assert OBJECT_ON_TABLE_X[0] - 0.005 < pos[0] < OBJECT_ON_TABLE_X[1] + 0.005
    assert OBJECT_ON_TABLE_Y[0] - 0.005 < pos[1] < OBJECT_ON_TABLE_Y[1] + 0.005
    assert pos[2] == pytest.approx(env.layout.obj.half_size[2], abs=0.003)
    assert not info["grasped"]


def test_randomisation_changes_object_poses_between_seeds():
    poses = {tuple(np.round(reset("drawer/closed", s)[0].object_pos(), 4)) for s in range(3)}
    assert len(poses) == 3


def test_every_condition_is_registered_with_a_scene():
    assert {c.scene for c in CONDITIONS.values()} == {"drawer", "pick_place"}


@pytest.mark.parametrize("condition", list(CONDITIONS))
def test_nothing_is_knocked_over_or_launched_at_reset(condition):
    """Randomised placements never overlap: after the settle, bodies rest where they were put."""
    for seed in range(25):
        env, _, _ = reset(condition, seed)
        obj = env.object_pos()
        if env.condition.object_place != "gripper":
            assert obj[2] < 0.06, (seed, obj)
        if env.layout.blocker is not None:
            assert env.blocker_pos()[2] == pytest.approx(env.layout.blocker.half_height, abs=0.003), seed
