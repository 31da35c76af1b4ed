"""FK of the simulated arm against Interbotix's screw model (modern_robotics), and IK."""

import modern_robotics as mr
import mujoco
import numpy as np
import pytest

from cog_core.robot.action import DOWN_ROT, NEUTRAL_EE_POS, NEUTRAL_JOINTS
from cog_core.robot.ik import ArmKinematics
from cog_core.robot.kinematics import HOME_M, JOINT_LOWER, JOINT_NAMES, JOINT_UPPER, SLIST
from cog_core.sim.layout import DRAWER_SCENE
from cog_core.sim.mjcf import scene_xml


def _rot_angle(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.arccos(np.clip((np.trace(a.T @ b) - 1) / 2, -1, 1)))


def test_sim_fk_matches_modern_robotics_over_random_joints():
    model = mujoco.MjModel.from_xml_string(scene_xml(DRAWER_SCENE))
    data = mujoco.MjData(model)
    adr = [model.joint(n).qposadr[0] for n in JOINT_NAMES]
    site = model.site("ee").id
    rng = np.random.default_rng(0)
    for _ in range(200):
        q = rng.uniform(JOINT_LOWER, JOINT_UPPER)
        data.qpos[adr] = q
        mujoco.mj_kinematics(model, data)
        expected = mr.FKinSpace(HOME_M, SLIST, q)
        assert np.linalg.norm(data.site_xpos[site] - expected[:3, 3]) < 1e-3
        assert _rot_angle(data.site_xmat[site].reshape(3, 3), expected[:3, :3]) < 0.01


def test_neutral_joints_reach_the_documented_neutral_pose():
    pos, rot = ArmKinematics().fk(NEUTRAL_JOINTS)
    np.testing.assert_allclose(pos, NEUTRAL_EE_POS, atol=1e-4)
    assert _rot_angle(rot, DOWN_ROT) < 1e-3


@pytest.mark.parametrize("seed", range(5))
def test_ik_recovers_reachable_poses_from_a_nearby_seed(seed):
    kin = ArmKinematics()
    rng = np.random.default_rng(seed)
    q_true = NEUTRAL_JOINTS + rng.uniform(-0.3, 0.3, 6)
    pos, rot = kin.fk(q_true)
    result = kin.ik(pos, rot, seed=q_true + rng.uniform(-0.05, 0.05, 6), iterations=50)
    assert result.success
    got_pos, got_rot = kin.fk(result.joints)
    assert np.linalg.norm(got_pos - pos) < 1e-3 and _rot_angle(got_rot, rot) < 1e-2


def test_ik_reports_failure_for_an_unreachable_target():
    result = ArmKinematics().ik(np.array([1.5, 0.0, 0.2]), DOWN_ROT, seed=NEUTRAL_JOINTS)
    assert not result.success and result.pos_error > 0.5
