"""The scene as primitive parts: computed once from `layout`, written out as MJCF or SDF.

`scene_bodies(layout)` is the one place where the furniture's derived geometry (panel
positions, handle gaps, tray rims) is computed; `mjcf` and `sdf` only serialise it, so the
MuJoCo scenes and the Gazebo worlds cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from cog_core.sim.layout import SceneLayout

Vec3 = tuple[float, float, float]
RGBA = tuple[float, float, float, float]

CABINET_RGBA: RGBA = (0.55, 0.42, 0.3, 1.0)
BOTTOM_DRAWER_RGBA: RGBA = (0.75, 0.62, 0.45, 1.0)
TOP_DRAWER_RGBA: RGBA = (0.68, 0.55, 0.4, 1.0)
HANDLE_RGBA: RGBA = (0.15, 0.15, 0.15, 1.0)
TRAY_RGBA: RGBA = (0.3, 0.55, 0.3, 1.0)
TABLE_RGBA: RGBA = (0.86, 0.8, 0.7, 1.0)
PANEL = 0.004  # drawer panel half thickness


@dataclass(frozen=True)
class Part:
    """A primitive shape in its body's frame. Box: half sizes; cylinder: (radius, half height)."""

    name: str
    shape: str  # "box" or "cylinder" (axis along z)
    pos: Vec3
    size: tuple[float, ...]
    rgba: RGBA
    mass: float | None = None
    friction: float | None = None


@dataclass(frozen=True)
class Body:
    """A rigid body: static furniture, a sliding drawer, or a free object."""

    name: str
    pos: Vec3  # world position of the body frame (drawers: closed)
    parts: tuple[Part, ...]
    joint: str | None = None  # None: static; "slide"; "free"
    axis: Vec3 = (0.0, 0.0, 0.0)
    limit: tuple[float, float] = (0.0, 0.0)
    damping: float = 0.0
    friction_loss: float = 0.0
    sites: tuple[tuple[str, Vec3], ...] = ()


def _drawer(layout: SceneLayout, prefix: str, z_range, travel, handle_x, standoff, rgba: RGBA) -> Body:
    cab = layout.cabinet
    assert cab is not None
    fy, t = cab.front_y, PANEL
    z0, z1 = z_range
    zc, hz = (z0 + z1) / 2, (z1 - z0) / 2
    inner_half_x = cab.half_width - cab.wall - 0.002
    depth = 2 * cab.half_depth - cab.wall - 0.006
    bar_y = -2 * t - standoff  # handle bar centre, relative to the drawer front
    hl, r = cab.handle_half_length, cab.handle_radius
    post_x, post_half_y = hl - 0.006, (standoff - r) / 2
    post_y = -2 * t - post_half_y
    parts = (
        Part(f"{prefix}_front", "box", (0, -t, zc), (cab.half_width - 0.002, t, hz), rgba, 0.15),
        Part(f"{prefix}_floor", "box", (0, depth / 2, z0 + t / 2), (inner_half_x, depth / 2, t / 2), rgba, 0.15),
        Part(f"{prefix}_back", "box", (0, depth - t, zc), (inner_half_x, t, hz), rgba, 0.15),
        Part(f"{prefix}_side_l", "box", (-inner_half_x + t, depth / 2, zc), (t, depth / 2, hz), rgba, 0.15),
        Part(f"{prefix}_side_r", "box", (inner_half_x - t, depth / 2, zc), (t, depth / 2, hz), rgba, 0.15),
        Part(f"{prefix}_handle", "box", (handle_x, bar_y, zc), (hl, r, r), HANDLE_RGBA, 0.02),
        Part(f"{prefix}_post_l", "box", (handle_x - post_x, post_y, zc), (0.004, post_half_y, 0.004), HANDLE_RGBA, 0.01),
        Part(f"{prefix}_post_r", "box", (handle_x + post_x, post_y, zc), (0.004, post_half_y, 0.004), HANDLE_RGBA, 0.01),
    )
    return Body(
        f"{prefix}_drawer", (cab.center_xy[0], fy, 0.0), parts, joint="slide", axis=(0.0, -1.0, 0.0),
        limit=(0.0, travel), damping=12.0, friction_loss=0.3, sites=((f"{prefix}_handle", (handle_x, bar_y, zc)),),
    )


def _cabinet(layout: SceneLayout) -> list[Body]:
    cab = layout.cabinet
    if cab is None:
        return []
    cx, cy = cab.center_xy
    hw, hd, w, top = cab.half_width, cab.half_depth, cab.wall, cab.top_z
    divider_z = (cab.bottom_drawer_z[1] + cab.top_drawer_z[0]) / 2
    shell = Body(
        "cabinet",
        (cx, cy, 0.0),
        (
            Part("cab_side_l", "box", (-hw - w, 0, top / 2), (w, hd, top / 2), CABINET_RGBA),
            Part("cab_side_r", "box", (hw + w, 0, top / 2), (w, hd, top / 2), CABINET_RGBA),
            Part("cab_back", "box", (0, hd + w, top / 2), (hw + 2 * w, w, top / 2), CABINET_RGBA),
            Part("cab_roof", "box", (0, w, top + w / 2), (hw + 2 * w, hd + w, w / 2), CABINET_RGBA),
            Part("cab_divider", "box", (0, 0, divider_z), (hw, hd, 0.002), CABINET_RGBA),
        ),
    )
    return [
        shell,
        _drawer(layout, "bottom", cab.bottom_drawer_z, cab.bottom_travel, cab.bottom_handle_x, cab.bottom_handle_standoff, BOTTOM_DRAWER_RGBA),
        _drawer(layout, "top", cab.top_drawer_z, cab.top_travel, cab.top_handle_x, cab.top_handle_standoff, TOP_DRAWER_RGBA),
    ]


def _tray(layout: SceneLayout) -> list[Body]:
    tray = layout.tray
    if tray is None:
        return []
    (tx, ty), (hx, hy), h, w = tray.center_xy, tray.half_size, tray.rim_height, tray.wall
    return [
        Body(
            "tray",
            (tx, ty, 0.0),
            (
                Part("tray_floor", "box", (0, 0, 0.002), (hx, hy, 0.002), TRAY_RGBA),
                Part("tray_rim_n", "box", (hx - w, 0, h / 2), (w, hy, h / 2), TRAY_RGBA),
                Part("tray_rim_s", "box", (-hx + w, 0, h / 2), (w, hy, h / 2), TRAY_RGBA),
                Part("tray_rim_e", "box", (0, hy - w, h / 2), (hx, w, h / 2), TRAY_RGBA),
                Part("tray_rim_w", "box", (0, -hy + w, h / 2), (hx, w, h / 2), TRAY_RGBA),
            ),
        )
    ]


def scene_bodies(layout: SceneLayout) -> list[Body]:
    """Every body of a scene except the robot (table, furniture, objects)."""
    tx, ty = layout.table_center_xy
    hx, hy = layout.table_half
    bodies = [Body("table", (tx, ty, 0.0), (Part("table", "box", (0, 0, -0.02), (hx, hy, 0.02), TABLE_RGBA, friction=1.0),))]
    bodies += _cabinet(layout) + _tray(layout)
    o = layout.obj
    bodies.append(Body("object", (0.3, 0.0, o.half_size[2]), (Part("object", "box", (0, 0, 0), o.half_size, o.rgba, o.mass, 1.5),), joint="free"))
    if layout.blocker is not None:
        b = layout.blocker
        bodies.append(
            Body("blocker", (0.3, -0.1, b.half_height), (Part("blocker", "cylinder", (0, 0, 0), (b.radius, b.half_height), b.rgba, b.mass, 1.2),), joint="free")
        )
    return bodies
