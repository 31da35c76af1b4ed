"""cog_core.stations.policy_loop and policy_meta: model/setup check, watchdog, and the policy loop on the real simulator."""

import numpy as np
import pytest

from cog_core.robot.action import ActionLimits
from cog_core.stations.policy_loop import LoopSettings, PolicyLoop, Watchdog
from cog_core.stations.policy_meta import PolicyMetadataError, check_policy_metadata, require_compatible


def _meta(**obs):
    base = {"obs": {"mode": "image+state", "keys": ["image", "state"], "image_size": 48, "vec_key": "state", "vec_dim": 9},
            "action": {"dim": 8, "names": ["dx", "dy", "dz", "droll", "dpitch", "dyaw", "gripper", "neutral"], "range": [-1.0, 1.0]}}
    base["obs"].update(obs)
    return base


def test_matching_metadata_passes():
    assert check_policy_metadata(_meta(), image_size=48) == []
    assert check_policy_metadata(_meta(mode="image", keys=["image"], vec_key=None, vec_dim=0), image_size=48) == []


def test_metadata_that_contradicts_itself_is_refused():
    # An edited or damaged policy.json: the keys say image only, the vector entries say state.
    problems = check_policy_metadata(_meta(keys=["image"]), image_size=48)
    assert len(problems) == 1 and "contradicts itself" in problems[0] and "re-export" in problems[0]
    with pytest.raises(PolicyMetadataError, match="contradicts itself"):
        require_compatible(_meta(keys=["state"], image_size=48), image_size=48)


def test_every_mismatch_is_reported_with_the_fix():
    m = _meta(image_size=64, vec_dim=12)
    m["action"]["names"] = list("abcdefgh")
    problems = check_policy_metadata(m, image_size=48)
    assert len(problems) == 3
    assert "expects 64x64 images but the node feeds 48x48" in problems[0] and "image_size parameter to 64" in problems[0]
    with pytest.raises(PolicyMetadataError, match="refusing to run this model"):
        require_compatible(m, image_size=48)
    lowdim = _meta(keys=["image", "lowdim"], vec_key="lowdim")
    assert "not available on a robot" in check_policy_metadata(lowdim, image_size=48)[0]
    bad = _meta()
    bad["action"] = {"dim": 7, "range": [0, 1]}
    assert any("7-D actions" in p for p in check_policy_metadata(bad, image_size=48))
    assert check_policy_metadata({}, image_size=48)[0].startswith("metadata has no obs.keys")


def test_watchdog():
    w = Watchdog(0.5)
    assert w.stale(0.0) and w.age(3.0) == float("inf")
    w.feed(10.0)
    assert not w.stale(10.5) and w.stale(10.51)
    with pytest.raises(ValueError):
        Watchdog(0)


class _Recorder:
    """Collects what the loop logs (the real BagRecorder is exercised in the node tests)."""

    def __init__(self):
        self.calls = []

    def begin_episode(self, *a, **k):
        self.calls.append("begin")

    def add_step(self, image, state, action, reward):
        self.calls.append(("step", np.asarray(action).copy()))

    def end_episode(self, image, state, success, info):
        self.calls.append(("end", info["end_reason"]))

    def abort_episode(self, reason):
        self.calls.append(("abort", reason))


def test_policy_loop_on_the_sim_limits_stale_stop_and_length():
    from cog_core.stations.sim import SimStation

    station = SimStation("pick_place/object_on_table", camera_width=64, camera_height=48)
    try:
        push = np.array([5.0, 5.0, 5.0, 0, 0, 0, 1.0, 0.0])  # out of range: clipped to [-1, 1]
        rec = _Recorder()
        loop = PolicyLoop(lambda obs: push, station, LoopSettings(image_timeout_s=0.2, max_episode_steps=30), recorder=rec)
        img = np.zeros((48, 48, 3), np.uint8)
        assert loop.start(0.0) == (False, "no camera image in the last 0.20 s; not starting")
        now = 1.0
        loop.on_image(img, now)
        assert loop.start(now)[0]
        lim = ActionLimits()
        for _ in range(30):
            now += 0.1
            loop.on_image(img, now)
            r = loop.tick(now)
            assert r.action is not None and np.all(np.abs(r.action) <= 1.0)
        ee = station.arm.state().ee_pos
        assert np.all(ee <= np.array(lim.workspace_high) + 0.01), ee  # pushed into the box corner, not past it
        r = loop.tick(now + 0.1)
        assert r.action is None and r.status == "finished" and rec.calls[-1] == ("end", "max_episode_steps reached")
        # stale images stop the loop at the first tick after the timeout
        loop.on_image(img, now)
        assert loop.start(now)[0]
        assert loop.tick(now + 0.15).action is not None
        r = loop.tick(now + 0.25)
        assert r.action is None and r.events == ["watchdog"] and loop.status.startswith("stopped:stale camera image")
        assert loop.tick(now + 0.3).action is None
        # stop with no steps aborts the (empty) episode
        loop.on_image(img, now + 1)
        assert loop.start(now + 1)[0]
        assert loop.stop("operator")[0] and rec.calls[-1] == ("abort", "no steps (operator)")
        with pytest.raises(ValueError, match="policy frames must be uint8"):
            loop.on_image(np.zeros((64, 64, 3), np.uint8), now)
    finally:
        station.close()
