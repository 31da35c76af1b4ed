"""HardwareArm / SafetyMonitor / HardwareStation (cog_core.stations.hardware): what gets sent to a hardware driver, and when nothing is."""

from __future__ import annotations

import numpy as np
import pytest

from cog_core.robot.action import NEUTRAL_JOINTS, ActionError
from cog_core.robot.hardware import HardwareArm, RealArmSettings, SafetyMonitor
from cog_core.robot.kinematics import SLEEP_JOINTS
from cog_core.stations.hardware import HardwareStation


class FollowingDriver:
    """A driver whose joints reach each commanded target (an ideal arm); records every call."""

    def __init__(self, q=NEUTRAL_JOINTS):
        self.q = None if q is None else np.array(q, float)
        self.calls: list[tuple] = []
        self.effort = np.zeros(6)
        self.err = None
        self.follow = True
        self.accept = True

    def joints(self):
        return None if self.q is None else self.q.copy()

    def finger_opening(self):
        return 0.07

    def efforts(self):
        return self.effort

    def error(self):
        return self.err

    def send_joints(self, joints, moving_time, accel_time):
        self.calls.append(("joints", np.array(joints), moving_time, accel_time))
        if self.accept and self.follow:
            self.q = np.array(joints, float)
        return self.accept

    def set_gripper(self, open_):
        self.calls.append(("gripper", open_))

    def sleep(self, moving_time):
        self.calls.append(("sleep", moving_time))
        self.q = SLEEP_JOINTS.copy()

    def torque_off(self):
        self.calls.append(("torque_off",))

    def sent(self, kind="joints"):
        return [c for c in self.calls if c[0] == kind]


def act(**kw):
    a = np.zeros(8)
    for i, k in enumerate(("dx", "dy", "dz", "droll", "dpitch", "dyaw", "gripper", "neutral")):
        a[i] = kw.get(k, 0.0)
    return a


def test_reset_opens_gripper_and_moves_slowly_to_neutral():
    d = FollowingDriver(q=SLEEP_JOINTS)
    arm = HardwareArm(d, RealArmSettings(rate_hz=5.0, neutral_moving_time=2.5))
    arm.reset()
    assert d.calls[0] == ("gripper", True)
    kind, q, t, at = d.calls[1]
    assert kind == "joints" and np.allclose(q, NEUTRAL_JOINTS) and t == 2.5 and at == pytest.approx(0.75)


def test_small_action_sends_one_nonblocking_step_of_one_period_that_moves_the_ee():
    d = FollowingDriver()
    arm = HardwareArm(d, RealArmSettings(rate_hz=4.0))
    before = arm.state().ee_pos
    arm.apply(act(dx=1.0))
    (kind, q, t, at), = d.sent()
    assert t == pytest.approx(0.25) and at == pytest.approx(0.075)
    after = arm.state().ee_pos
    assert after[0] - before[0] == pytest.approx(0.03, abs=0.005)  # max_translation per step
    assert np.max(np.abs(q - NEUTRAL_JOINTS)) < 0.6


def test_gripper_commands_only_on_change():
    d = FollowingDriver()
    arm = HardwareArm(d)
    arm.apply(act(gripper=-1.0))
    arm.apply(act(gripper=-1.0))
    arm.apply(act(gripper=0.0))
    arm.apply(act(gripper=1.0))
    assert d.sent("gripper") == [("gripper", False), ("gripper", True)]
    assert arm.state().gripper_open is True


def test_neutral_action_is_a_slow_joint_move():
    d = FollowingDriver()
    arm = HardwareArm(d, RealArmSettings(neutral_moving_time=3.0))
    for _ in range(3):
        arm.apply(act(dz=-1.0))
    arm.apply(act(neutral=1.0))
    kind, q, t, _ = d.sent()[-1]
    assert np.allclose(q, NEUTRAL_JOINTS) and t == 3.0


def test_unreachable_target_sends_nothing():
    d = FollowingDriver(q=np.array([0.0, 1.2, -0.3, 0.0, 0.5, 0.0]))  # far out of the workspace, odd wrist
    arm = HardwareArm(d)
    arm.controller.limits  # the shared limits
    n = len(d.calls)
    for _ in range(5):
        arm.apply(act(dx=1.0, droll=1.0))
    sent = d.sent()[n:]
    for _, q, _, _ in sent:  # whatever was sent is within one ordinary step of the measured joints
        assert np.max(np.abs(q)) < 3.2
    assert arm.refused + len(sent) == 5


def test_malformed_action_raises_and_sends_nothing():
    d = FollowingDriver()
    arm = HardwareArm(d)
    with pytest.raises(ActionError):
        arm.apply(np.array([np.nan] * 8))
    with pytest.raises(ActionError):
        arm.apply(np.zeros(7))
    assert d.calls == []


def test_driver_refusal_is_counted_and_nothing_assumed_sent():
    d = FollowingDriver()
    d.accept = False
    arm = HardwareArm(d)
    arm.apply(act(dx=1.0))
    assert arm.refused == 1 and "refused" in arm.last_reason and arm.last_target is None


def test_effort_over_limit_halts_and_nothing_more_is_sent_until_reset():
    d = FollowingDriver()
    arm = HardwareArm(d, RealArmSettings(effort_limits=(1000.0,) * 6))
    arm.apply(act(dx=0.5))
    d.effort = np.array([0, 1200.0, 0, 0, 0, 0])
    arm.apply(act(dx=0.5))
    assert arm.halted and "effort limit: joint 1" in arm.halt_reason
    n = len(d.calls)
    d.effort = np.zeros(6)
    arm.apply(act(dx=0.5))
    assert len(d.calls) == n  # sticky
    arm.reset()
    assert not arm.halted
    arm.apply(act(dx=0.5))
    assert d.sent()[-1][2] == pytest.approx(0.2)


def test_stuck_arm_halts_after_tracking_steps():
    d = FollowingDriver()
    arm = HardwareArm(d, RealArmSettings(tracking_tolerance=0.03, tracking_steps=2))
    d.follow = False  # the arm does not move (blocked / driver not executing)
    arm.apply(act(dx=1.0))
    assert not arm.halted  # nothing to compare with yet
    arm.apply(act(dx=1.0))
    assert not arm.halted  # one step off track
    arm.apply(act(dx=1.0))
    assert arm.halted and "not following" in arm.halt_reason
    n = len(d.calls)
    arm.apply(act(dx=1.0))
    assert len(d.calls) == n


def test_following_arm_never_trips_tracking():
    d = FollowingDriver()
    arm = HardwareArm(d, RealArmSettings(tracking_tolerance=0.03, tracking_steps=2))
    for a in [act(dx=1.0)] * 4 + [act(dy=-1.0, dyaw=1.0)] * 4 + [act(dz=-1.0)] * 4:
        arm.apply(a)
    assert not arm.halted and len(d.sent()) == 12


def test_driver_error_and_missing_joint_states_halt():
    m = SafetyMonitor(RealArmSettings(max_joint_state_age_steps=2))
    assert m.check(None, None, None, None) is None
    assert m.check(None, None, None, None) is None
    assert "no joint states" in m.check(None, None, None, None)
    m.reset()
    assert "driver error: overload" == m.check(NEUTRAL_JOINTS, None, "overload", None)


def test_close_sleeps_then_torques_off_even_if_sleep_fails():
    d = FollowingDriver()
    HardwareArm(d, RealArmSettings(sleep_moving_time=2.0)).close()
    assert d.calls == [("sleep", 2.0), ("torque_off",)]

    class Failing(FollowingDriver):
        def sleep(self, moving_time):
            raise RuntimeError("bus error")

    d2 = Failing()
    with pytest.raises(RuntimeError):
        HardwareArm(d2).close()
    assert d2.calls == [("torque_off",)]


def test_settings_reject_bad_values():
    with pytest.raises(ValueError, match="rate_hz"):
        RealArmSettings(rate_hz=0)
    with pytest.raises(ValueError, match="accel_fraction"):
        RealArmSettings(accel_fraction=0.7)
    with pytest.raises(ValueError, match="effort_limits"):
        RealArmSettings(effort_limits=(1.0,))


def test_station_observation_step_and_privileged():
    d = FollowingDriver(q=SLEEP_JOINTS)
    frames = {"img": None}
    obj = np.array([0.3, 0.05, 0.02])
    st = HardwareStation(HardwareArm(d), lambda: frames["img"], lambda: obj, image_size=48)
    with pytest.raises(RuntimeError, match="no camera image"):
        st.reset()
    frames["img"] = np.full((240, 320, 3), 7, np.uint8)
    obs, info = st.reset("drawer/open", 3)
    assert obs["image"].shape == (48, 48, 3) and obs["state"].shape == (9,)
    assert info["success"] is False and info["lowdim"].shape == (9,)
    obs, r, term, trunc, info = st.step(act(dx=1.0))
    assert r == 0.0 and term is False and trunc is False
    priv = st.privileged()
    assert np.allclose(priv["object_pos"], obj) and priv["gripper_open"] is True
    d.err = "motor 2 overheating"
    _, _, term, _, info = st.step(act())
    assert term is True and "overheating" in info["halted"]
    st.close()
    assert d.calls[-2:] == [("sleep", 2.0), ("torque_off",)]
