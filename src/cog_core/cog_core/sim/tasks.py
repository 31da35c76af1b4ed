"""Success checks, sparse rewards and sub-goals (computed from privileged sim state)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cog_core.sim.layout import SceneLayout

LIFT_HEIGHT = 0.10  # m: object centre above the table for "taken out and lifted clear"
HELD_DISTANCE = 0.05  # m: object centre within this of the ee point counts as held
DRAWER_OPEN_FRACTION = 0.95
TOP_DRAWER_CLOSED_FRACTION = 0.05
BLOCKER_MOVED_DISTANCE = 0.06  # m from its blocking spot


@dataclass
class SceneState:
    """The privileged quantities success and sub-goals are computed from."""

    ee_pos: np.ndarray
    gripper_open: bool
    gripper_opening: float
    object_pos: np.ndarray
    bottom_drawer: float = 0.0  # fraction open
    top_drawer: float = 0.0  # fraction open
    blocker_pos: np.ndarray | None = None
    blocker_home: np.ndarray | None = None  # where the blocker stands when it blocks


def object_held(s: SceneState) -> bool:
    """The gripper is closed on the object (not on nothing)."""
    return (not s.gripper_open) and s.gripper_opening > 0.01 and float(np.linalg.norm(s.object_pos - s.ee_pos)) < HELD_DISTANCE


def in_tray(pos: np.ndarray, layout: SceneLayout) -> bool:
    """The point lies inside the tray's rim, low enough to be resting in it."""
    tray = layout.tray
    assert tray is not None
    inner = np.array(tray.half_size) - tray.wall * 2
    return bool(np.all(np.abs(pos[:2] - np.array(tray.center_xy)) < inner) and pos[2] < 0.05)


def blocker_fallen(pos: np.ndarray, layout: SceneLayout) -> bool:
    """The bottle lies on its side: its centre is closer to the table than half-way between
    standing (half height) and lying (radius)."""
    b = layout.blocker
    assert b is not None
    return bool(pos[2] < (b.half_height + b.radius) / 2)


def success(s: SceneState, layout: SceneLayout) -> bool:
    """The scene's task: drawer = object lifted clear and held; pick-place = object resting in the tray."""
    if layout.name == "drawer":
        return bool(s.object_pos[2] > LIFT_HEIGHT and object_held(s))
    return in_tray(s.object_pos, layout) and not object_held(s)


def subgoals(s: SceneState, layout: SceneLayout) -> dict[str, float | bool]:
    """Progress indicators reported in `info` (not rewarded)."""
    out: dict[str, float | bool] = {"grasped": object_held(s), "object_height": float(s.object_pos[2])}
    if layout.name == "drawer":
        out["drawer_open_fraction"] = float(s.bottom_drawer)
        out["drawer_opened"] = bool(s.bottom_drawer > DRAWER_OPEN_FRACTION)
        out["top_drawer_open_fraction"] = float(s.top_drawer)
        out["top_drawer_closed"] = bool(s.top_drawer < TOP_DRAWER_CLOSED_FRACTION)
        if s.blocker_pos is not None and s.blocker_home is not None:
            moved = float(np.linalg.norm(s.blocker_pos[:2] - s.blocker_home[:2]))
            out["blocker_moved"] = bool(moved > BLOCKER_MOVED_DISTANCE)
        if s.blocker_pos is not None and layout.blocker is not None:
            out["blocker_fallen"] = blocker_fallen(s.blocker_pos, layout)
    else:
        out["object_in_tray"] = in_tray(s.object_pos, layout)
    return out
