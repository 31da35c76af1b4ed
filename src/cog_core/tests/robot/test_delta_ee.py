"""The shared delta-ee controller: reachable steps move, bad ones are never sent."""

import numpy as np

from cog_core.robot.delta_ee import DeltaEEController
from cog_core.robot.action import NEUTRAL_EE_POS, NEUTRAL_JOINTS
from cog_core.robot.ik import ArmKinematics


def action(**kw):
    a = np.zeros(8)
    for i, k in enumerate(["dx", "dy", "dz", "droll", "dpitch", "dyaw", "gripper", "neutral"]):
        a[i] = kw.get(k, 0.0)
    return a


def test_a_step_moves_the_ik_target_by_the_scaled_delta():
    ctl = DeltaEEController()
    cmd = ctl.step(action(dx=0.5, dz=-1.0, gripper=-1), NEUTRAL_JOINTS)
    pos, _ = ArmKinematics().fk(cmd.joints)
    np.testing.assert_allclose(pos - NEUTRAL_EE_POS, [0.015, 0.0, -0.03], atol=1e-3)
    assert cmd.gripper == "close" and not cmd.neutral


def test_targets_chain_while_the_arm_tracks_them():
    ctl = DeltaEEController()
    first = ctl.step(action(dx=1.0), NEUTRAL_JOINTS)
    # The arm lagged: measured joints are still at neutral (within the 2 cm leash), so the
    # next delta applies to the previous target, not to the measured pose.
    second = ctl.step(action(dx=1.0), NEUTRAL_JOINTS + (first.joints - NEUTRAL_JOINTS) * 0.5)
    pos, _ = ArmKinematics().fk(second.joints)
    assert pos[0] - NEUTRAL_EE_POS[0] > 0.055


def test_move_to_neutral_commands_the_neutral_joints():
    cmd = DeltaEEController().step(action(neutral=1.0), NEUTRAL_JOINTS + 0.2)
    np.testing.assert_array_equal(cmd.joints, NEUTRAL_JOINTS)
    assert cmd.neutral


def test_an_unreachable_start_yields_no_joint_targets_and_a_reason():
    folded = np.array([0.0, -1.8, 1.55, 0.0, 0.8, 0.0])  # sleep pose: far outside the workspace
    cmd = DeltaEEController().step(action(dx=1.0), folded)
    assert cmd.joints is None and ("unreachable" in cmd.reason or "jumps" in cmd.reason)
