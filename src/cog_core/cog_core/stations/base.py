"""The seams every station speaks: `Station` (an arm in a scene, Gymnasium-style) and `Recorder`.

A *station* is what the scripted runner, the policy loop and the ROS nodes drive, whatever the
backend: the simulator (`cog_core.stations.sim.SimStation`), or a hardware arm, real or in
Gazebo (`cog_core.stations.hardware.HardwareStation`). A *recorder* logs the episodes run on
it (`cog_core.bag.BagRecorder`). Both are structural protocols: an implementation satisfies
them by having the members, checked by mypy where it is passed as one.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

from cog_core.robot.state import ArmBackend

Obs = dict[str, np.ndarray]
"""An observation: ``{"image": uint8 (S, S, 3), "state": float32 (9,)}``."""

Info = dict[str, Any]
"""What a station reports beside the observation: ``success``, ``lowdim`` and backend extras
(sub-goals in the sim; ``halted`` / ``refused`` on hardware)."""

StepResult = tuple[Obs, float, bool, bool, Info]
"""``(obs, reward, terminated, truncated, info)``, as Gymnasium's ``step``."""


@runtime_checkable
class Station(Protocol):
    """An arm in a scene with a camera, stepped one 8-D action at a time."""

    @property
    def name(self) -> str:
        """The backend's name ("sim", "interbotix", "gazebo", ...)."""
        ...

    @property
    def condition(self) -> str:
        """The active initial condition's name ("real" on hardware)."""
        ...

    @property
    def arm(self) -> ArmBackend:
        """The arm doing the motion (limits applied by `cog_core.robot.action`)."""
        ...

    def reset(self, condition: str | None = None, seed: int | None = None) -> tuple[Obs, Info]:
        """Start an episode from `condition` (None: the current one); returns (obs, info)."""
        ...

    def step(self, action: np.ndarray) -> StepResult:
        """Apply one 8-D action; returns (obs, reward, terminated, truncated, info)."""
        ...

    def observation(self) -> Obs:
        """The current observation."""
        ...

    def info(self) -> Info:
        """The current info dict."""
        ...

    def privileged(self) -> dict[str, Any]:
        """What scripted behaviours look at: arm state and object positions (sim ground truth or
        measured)."""
        ...

    def close(self) -> None:
        """Release the station's resources; leave the arm safe."""
        ...


@runtime_checkable
class Recorder(Protocol):
    """Logs episodes step by step; an episode becomes durable when it ends."""

    def begin_episode(
        self,
        task: str,
        initial_condition: str,
        policy: str,
        *,
        policy_params: dict[str, Any] | None = None,
        seed: int = 0,
    ) -> str:
        """Open an episode; returns its id."""
        ...

    def add_step(
        self,
        observation: np.ndarray,
        state: np.ndarray,
        action: np.ndarray,
        reward: float = 0.0,
        *,
        lowdim: np.ndarray | None = None,
    ) -> int:
        """Log o_t, a_t and the reward received after a_t; returns t."""
        ...

    def end_episode(
        self,
        final_observation: np.ndarray,
        final_state: np.ndarray,
        *,
        success: bool,
        final_lowdim: np.ndarray | None = None,
        info: dict[str, Any] | None = None,
    ) -> str:
        """Log the final observation and the episode's summary; returns the episode id."""
        ...

    def abort_episode(self, reason: str = "") -> None:
        """Discard the episode in progress (no-op when none is open)."""
        ...
