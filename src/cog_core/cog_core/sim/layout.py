"""Scene dimensions: the one source of truth for the MuJoCo scenes (and generated worlds).

All lengths in metres, in the robot base frame: x forward, y to the robot's left, z up,
table top at z = 0. Drawers slide along -y (toward the robot's centre line) to open.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Box:
    """An axis-aligned box: centre and half sizes."""

    center: tuple[float, float, float]
    half: tuple[float, float, float]


@dataclass(frozen=True)
class CabinetLayout:
    """A two-drawer cabinet standing on the table, drawers opening toward -y."""

    center_xy: tuple[float, float] = (0.36, 0.21)
    half_width: float = 0.09  # along x
    half_depth: float = 0.085  # along y
    wall: float = 0.008
    bottom_drawer_z: tuple[float, float] = (0.006, 0.056)  # bottom and top of the drawer box
    top_drawer_z: tuple[float, float] = (0.064, 0.104)
    top_z: float = 0.112  # cabinet roof
    bottom_travel: float = 0.12  # slide range of the bottom drawer
    top_travel: float = 0.09
    bottom_handle_standoff: float = 0.054  # drawer front to handle bar: the hand hooks into this gap
    top_handle_standoff: float = 0.035  # shorter, so the top handle clears the open bottom drawer
    handle_half_length: float = 0.034
    bottom_handle_x: float = -0.035  # handle offsets from the cabinet centre line, so the
    top_handle_x: float = 0.05  # hand hooking one handle clears the other's posts
    handle_radius: float = 0.006

    @property
    def front_y(self) -> float:
        """y of the cabinet's front face (the side the drawers open from)."""
        return self.center_xy[1] - self.half_depth


@dataclass(frozen=True)
class TrayLayout:
    """A shallow tray on the table."""

    center_xy: tuple[float, float] = (0.30, -0.17)
    half_size: tuple[float, float] = (0.075, 0.075)
    rim_height: float = 0.02
    wall: float = 0.006


@dataclass(frozen=True)
class ObjectLayout:
    """A small graspable object (box) or the blocker (cylinder)."""

    half_size: tuple[float, float, float] = (0.016, 0.016, 0.016)
    mass: float = 0.05
    rgba: tuple[float, float, float, float] = (0.1, 0.5, 0.95, 1.0)


@dataclass(frozen=True)
class BlockerLayout:
    """The bottle that can stand in front of the closed bottom drawer, in the handle's hook gap."""

    radius: float = 0.02
    half_height: float = 0.045
    mass: float = 0.06
    rgba: tuple[float, float, float, float] = (0.9, 0.15, 0.1, 1.0)


@dataclass(frozen=True)
class CameraLayout:
    """The fixed observation camera: position, look-at point, vertical field of view."""

    pos: tuple[float, float, float] = (0.70, -0.02, 0.38)
    target: tuple[float, float, float] = (0.31, 0.0, 0.03)
    fovy: float = 55.0


@dataclass(frozen=True)
class WorkspaceLayout:
    """Where the end effector may go (a box in the base frame)."""

    low: tuple[float, float, float] = (0.16, -0.28, 0.01)
    high: tuple[float, float, float] = (0.52, 0.26, 0.30)


@dataclass(frozen=True)
class SceneLayout:
    """Everything a scene needs; `drawer` and `pick_place` differ in which parts they use."""

    name: str
    table_half: tuple[float, float] = (0.45, 0.45)
    table_center_xy: tuple[float, float] = (0.30, 0.0)
    cabinet: CabinetLayout | None = None
    tray: TrayLayout | None = field(default_factory=TrayLayout)
    obj: ObjectLayout = field(default_factory=ObjectLayout)
    blocker: BlockerLayout | None = None
    camera: CameraLayout = field(default_factory=CameraLayout)
    workspace: WorkspaceLayout = field(default_factory=WorkspaceLayout)


DRAWER_SCENE = SceneLayout(name="drawer", cabinet=CabinetLayout(), blocker=BlockerLayout())
PICK_PLACE_SCENE = SceneLayout(name="pick_place")

SCENES: dict[str, SceneLayout] = {s.name: s for s in (DRAWER_SCENE, PICK_PLACE_SCENE)}
