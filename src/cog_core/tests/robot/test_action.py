"""The shared action semantics and limits."""

import numpy as np
import pytest

from cog_core.robot.action import (
    DOWN_ROT,
    NEUTRAL_EE_POS,
    ActionError,
    ActionLimits,
    command_from_action,
    reference_pose,
    tilt_from_neutral,
    validate_action,
)

LIM = ActionLimits()


def act(**kw):
    a = np.zeros(8)
    names = ["dx", "dy", "dz", "droll", "dpitch", "dyaw", "gripper", "neutral"]
    for k, v in kw.items():
        a[names.index(k)] = v
    return a


@pytest.mark.parametrize("bad", [np.zeros(7), np.zeros((2, 8)), [np.nan] * 8, [0] * 7 + [np.inf]])
def test_malformed_actions_raise_a_clear_error(bad):
    with pytest.raises(ActionError, match="action"):
        validate_action(bad)


def test_actions_are_clipped_and_scaled_to_per_step_limits():
    cmd = command_from_action(act(dx=5.0, dy=-0.5), NEUTRAL_EE_POS, DOWN_ROT)
    np.testing.assert_allclose(cmd.target_pos - NEUTRAL_EE_POS, [LIM.max_translation, -0.5 * LIM.max_translation, 0], atol=1e-12)


def test_targets_stay_inside_the_workspace_box():
    cmd = command_from_action(act(dz=-1), np.array([0.3, 0.0, 0.015]), DOWN_ROT)
    assert cmd.target_pos[2] == pytest.approx(LIM.workspace_low[2])


def test_targets_stay_within_reach_of_the_arm():
    far = np.array([0.47, 0.25, 0.25])
    cmd = command_from_action(act(dx=1, dy=1), far, DOWN_ROT)
    wrist = cmd.target_pos - cmd.target_rot[:, 0] * (0.458325 - 0.29975) - [0, 0, 0.11065]
    assert np.linalg.norm(wrist) <= LIM.max_reach + 1e-9


def test_rotation_is_limited_to_a_cone_around_neutral():
    rot = DOWN_ROT
    for _ in range(30):
        rot = command_from_action(act(droll=1.0), NEUTRAL_EE_POS, rot).target_rot
    assert np.linalg.norm(tilt_from_neutral(rot)) == pytest.approx(LIM.max_tilt, abs=1e-6)


@pytest.mark.parametrize("value,expected", [(-0.6, "close"), (0.6, "open"), (0.4, None), (-0.4, None)])
def test_gripper_thresholds_at_plus_minus_half(value, expected):
    assert command_from_action(act(gripper=value), NEUTRAL_EE_POS, DOWN_ROT).gripper == expected


def test_move_to_neutral_above_half():
    assert command_from_action(act(neutral=0.51), NEUTRAL_EE_POS, DOWN_ROT).neutral
    assert not command_from_action(act(neutral=0.49), NEUTRAL_EE_POS, DOWN_ROT).neutral


def test_move_to_neutral_opens_the_gripper_whatever_the_gripper_dimension_says():
    for g in (-1.0, 0.0, 1.0):
        assert command_from_action(act(neutral=0.9, gripper=g), NEUTRAL_EE_POS, DOWN_ROT).gripper == "open"


def test_reference_falls_back_to_measured_pose_when_target_runs_ahead():
    measured = np.array([0.3, 0.0, 0.1])
    near = (measured + [0.005, 0, 0], DOWN_ROT)
    far = (measured + [0.05, 0, 0], DOWN_ROT)
    assert np.allclose(reference_pose(measured, DOWN_ROT, near)[0], near[0])
    assert np.allclose(reference_pose(measured, DOWN_ROT, far)[0], measured)


def test_orientation_quaternions_are_reported_with_one_sign():
    import mujoco

    from cog_core.robot.state import RobotState
    from cog_core.robot.action import DOWN_QUAT, canonical_quat

    q = np.zeros(4)
    mujoco.mju_mat2Quat(q, DOWN_ROT.reshape(9))
    assert np.allclose(np.abs(q @ DOWN_QUAT), 1.0)  # DOWN_QUAT is DOWN_ROT
    assert np.allclose(canonical_quat(-DOWN_QUAT), DOWN_QUAT)
    tilted = np.array([0.6, 0.5, 0.4, -0.48])
    tilted /= np.linalg.norm(tilted)
    assert np.allclose(canonical_quat(-tilted), tilted)
    state = RobotState(np.zeros(3), -DOWN_QUAT, 0.03, True, np.zeros(6))
    assert np.allclose(state.vector()[3:7], DOWN_QUAT)
