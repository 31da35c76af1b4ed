"""The policy node's loop without ROS: act on the newest image, or stop and say why.

The per-step motion limits and the workspace box are *not* here: they are applied to every
action by `cog_core.robot.action` inside each arm backend, in one place. This module decides
*whether* an action may be sent at all (the model itself is checked against the setup before
the loop starts: `cog_core.stations.policy_meta.require_compatible`):

- `Watchdog`: the newest camera image is too old -> stop commanding the arm;
- `PolicyLoop`: the per-tick decision of the policy node (act, or stop and say why), with a
  maximum episode length and logging of its own episodes to rosbag2 through a `Recorder`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cog_core.robot.action import validate_action
from cog_core.stations.base import Recorder, Station


class Watchdog:
    """Tracks the stamp of the newest input; `stale(now)` once it is older than `timeout_s`."""

    def __init__(self, timeout_s: float) -> None:
        if not timeout_s > 0:
            raise ValueError(f"watchdog timeout must be > 0 s, got {timeout_s}")
        self.timeout_s = float(timeout_s)
        self.last: float | None = None

    def feed(self, now: float) -> None:
        """Record that a fresh input arrived at time `now` (seconds, any monotonic clock)."""
        self.last = float(now)

    def age(self, now: float) -> float:
        """Seconds since the newest input (inf before the first)."""
        return float("inf") if self.last is None else float(now) - self.last

    def stale(self, now: float) -> bool:
        """True when no input arrived within the timeout."""
        return self.age(now) > self.timeout_s


@dataclass
class LoopSettings:
    """The policy node's run settings."""

    image_size: int = 48
    rate_hz: float = 5.0
    image_timeout_s: float = 0.5
    max_episode_steps: int = 60
    task: str = "real"
    initial_condition: str = "unknown"

    def __post_init__(self) -> None:
        if not self.rate_hz > 0:
            raise ValueError(f"rate_hz must be > 0, got {self.rate_hz}")
        if self.max_episode_steps < 1:
            raise ValueError(f"max_episode_steps must be >= 1, got {self.max_episode_steps}")
        if not self.image_timeout_s > 0:
            raise ValueError(f"image_timeout_s must be > 0, got {self.image_timeout_s}")


@dataclass
class TickResult:
    """What one control tick did: the action sent (None if none) and the loop status after it."""

    action: np.ndarray | None
    status: str  # "idle" | "running" | "stopped:<reason>" | "finished"
    step: int = 0
    events: list[str] = field(default_factory=list)


class PolicyLoop:
    """The policy node's logic: on each tick, act on the newest image, or stop and say why.

    ``act(obs) -> action`` is the policy (e.g. `PolicyRuntime.act`), ``station`` the `Station` it
    drives (``reset``, ``step``, ``info`` and ``arm.state()``). Frames come in through
    ``on_image`` (already resized to ``image_size``). The loop never sends an action when
    stopped, when the newest image is older than ``image_timeout_s``, or past
    ``max_episode_steps``; the motion limits are applied by the arm backend (`cog_core.robot.action`).
    """

    def __init__(self, act: Callable[[dict[str, np.ndarray]], np.ndarray], station: Station, settings: LoopSettings,
                 *, recorder: Recorder | None = None, policy_name: str = "cog_policy",
                 policy_params: dict[str, Any] | None = None,
                 obs_keys: tuple[str, ...] = ("image", "state")) -> None:
        self.act = act
        self.station = station
        self.settings = settings
        self.recorder = recorder
        self.policy_name = policy_name
        self.policy_params = policy_params or {}
        self.obs_keys = tuple(obs_keys)
        self.watchdog = Watchdog(settings.image_timeout_s)
        self.image: np.ndarray | None = None
        self.running = False
        self.status = "idle"
        self.steps = 0
        self.episodes = 0
        self.episode_return = 0.0
        self._episode_open = False
        self.stopped_at: float | None = None  # when the watchdog last stopped the loop

    # -- inputs ---------------------------------------------------------------------------
    def on_image(self, image: np.ndarray, now: float) -> None:
        """A new camera frame (uint8 RGB at the model's size) arrived at time `now`."""
        s = self.settings.image_size
        img = np.asarray(image)
        if img.shape != (s, s, 3) or img.dtype != np.uint8:
            raise ValueError(f"policy frames must be uint8 ({s}, {s}, 3), got {img.dtype} {img.shape}")
        self.image = img
        self.watchdog.feed(now)

    def _state(self) -> np.ndarray:
        return self.station.arm.state().vector()

    # -- commands -------------------------------------------------------------------------
    def start(self, now: float, seed: int | None = None) -> tuple[bool, str]:
        """Begin an episode (resetting the station); refuses while images are stale."""
        if self.running:
            return False, "already running"
        if self.watchdog.stale(now):
            return False, f"no camera image in the last {self.settings.image_timeout_s:.2f} s; not starting"
        self.station.reset(None, seed)
        self.steps = 0
        self.episode_return = 0.0
        if self.recorder is not None:
            self.recorder.begin_episode(self.settings.task, self.settings.initial_condition, self.policy_name,
                                        policy_params=self.policy_params, seed=-1 if seed is None else int(seed))
            self._episode_open = True
        self.running = True
        self.status = "running"
        return True, "started"

    def stop(self, reason: str = "stop requested") -> tuple[bool, str]:
        """Stop commanding the arm now and close the episode (logged with the reason)."""
        was = self.running
        self.running = False
        self.status = f"stopped:{reason}"
        self._close_episode(reason)
        return was, ("stopped: " + reason) if was else "was not running"

    def _close_episode(self, reason: str) -> None:
        if not self._episode_open or self.recorder is None:
            return
        self._episode_open = False
        self.episodes += 1
        if self.steps == 0 or self.image is None:
            self.recorder.abort_episode(f"no steps ({reason})")
            return
        success = bool(self.station.info().get("success", False))
        self.recorder.end_episode(self.image, self._state(), success=success,
                                  info={"end_reason": reason, "steps": self.steps})

    # -- the tick -------------------------------------------------------------------------
    def tick(self, now: float) -> TickResult:
        """One control period: act on the newest image, or stop (stale input / episode length)."""
        if not self.running:
            return TickResult(None, self.status, self.steps)
        if self.watchdog.stale(now):
            self.stopped_at = now
            self.stop(f"stale camera image ({self.watchdog.age(now):.2f} s old > {self.settings.image_timeout_s:.2f} s)")
            return TickResult(None, self.status, self.steps, ["watchdog"])
        if self.steps >= self.settings.max_episode_steps:
            self.stop("max_episode_steps reached")
            self.status = "finished"
            return TickResult(None, self.status, self.steps, ["max_steps"])
        image = self.image
        assert image is not None  # a running loop has had a fresh image (start() refuses stale ones)
        state = self._state()
        obs = {"image": image, "state": state}
        action = validate_action(self.act({k: obs[k] for k in self.obs_keys}))
        _, reward, _, _, _ = self.station.step(action)
        if self.recorder is not None:
            self.recorder.add_step(image, state, action, float(reward))
        self.steps += 1
        self.episode_return += float(reward)
        return TickResult(action.astype(np.float32), self.status, self.steps)

    def close(self) -> None:
        """Stop and finish any open episode."""
        if self.running or self._episode_open:
            self.stop("shutdown")
