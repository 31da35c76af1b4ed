"""The stations and the bag recorder satisfy the `Station` and `Recorder` protocols.

mypy checks this file too (pyproject.toml): each `_as_*` call below is a static proof that the
implementation fits the protocol's signatures; the tests check the members at run time.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cog_core.bag.recorder import BagRecorder
from cog_core.robot.hardware import HardwareArm
from cog_core.stations.base import Recorder, Station
from cog_core.stations.hardware import HardwareStation
from cog_core.stations.sim import SimStation


def _as_station(station: Station) -> Station:
    return station


def _as_recorder(recorder: Recorder) -> Recorder:
    return recorder


class _NoDriver:
    """An arm driver that has heard nothing from the arm (enough to build a station)."""

    def joints(self) -> np.ndarray | None:
        return None

    def finger_opening(self) -> float | None:
        return None

    def efforts(self) -> np.ndarray | None:
        return None

    def error(self) -> str | None:
        return None

    def send_joints(self, joints: np.ndarray, moving_time: float, accel_time: float) -> bool:
        return False

    def set_gripper(self, open_: bool) -> None:
        pass

    def sleep(self, moving_time: float) -> None:
        pass

    def torque_off(self) -> None:
        pass


def test_sim_station_is_a_station() -> None:
    station = SimStation("pick_place/object_on_table")
    try:
        assert isinstance(_as_station(station), Station)
        obs, info = station.reset(None, 1)
        assert obs["image"].shape == (48, 48, 3) and "success" in info and station.condition == "pick_place/object_on_table"
    finally:
        station.close()


def test_hardware_station_is_a_station() -> None:
    station = HardwareStation(HardwareArm(_NoDriver()), image=lambda: None)
    assert isinstance(_as_station(station), Station)
    assert station.name == "hardware" and station.condition == "real"


def test_bag_recorder_is_a_recorder(tmp_path: Path) -> None:
    with BagRecorder(tmp_path / "bag") as recorder:
        assert isinstance(_as_recorder(recorder), Recorder)
        eid = recorder.begin_episode("task", "cond", "policy", seed=3)
        recorder.abort_episode("protocol check")
        assert eid and not recorder.in_episode


def test_a_partial_station_is_not_a_station() -> None:
    class OnlyStep:
        def step(self, action: np.ndarray) -> None:
            pass

    assert not isinstance(OnlyStep(), Station)
