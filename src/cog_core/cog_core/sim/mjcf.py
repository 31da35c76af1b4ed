"""MJCF generation: the wx250s arm from its screw model, and the paper's scenes from `layout`.

Everything is generated from numbers in `cog_core.kinematics` and `cog_core.sim.layout`,
so the MuJoCo model, the real-arm IK and any generated world share one description.
"""

from __future__ import annotations

import numpy as np

from cog_core.kinematics import HOME_M, JOINT_LOWER, JOINT_NAMES, JOINT_UPPER
from cog_core.sim.layout import SceneLayout

# Collision groups: robot geoms collide with the environment but not with each other.
ROBOT_COLLISION = 'contype="2" conaffinity="1"'
ENV_COLLISION = 'contype="1" conaffinity="3"'

FINGER_RANGE = (0.0, 0.037)  # inner-face offset of each finger from the gripper centre (m)
GRIPPER_OPEN_TARGET = 0.032
GRIPPER_CLOSED_TARGET = 0.0
PHYSICS_TIMESTEP = 0.002  # s
SUBSTEPS = 25  # physics steps per control step -> 20 Hz control in sim time

_ARM_RGBA = "0.18 0.18 0.2 1"
_LINK_RGBA = "0.28 0.28 0.3 1"
_PAD_RGBA = "0.05 0.05 0.05 1"


def _f(*values: float) -> str:
    return " ".join(f"{v:.6g}" for v in values)


def _arm_body_xml(with_fingers: bool) -> str:
    """The kinematic chain; body frames sit on the joint axes of the Interbotix screw model."""
    ee_x = HOME_M[0, 3]
    z_arm = HOME_M[2, 3]  # height of the forearm/wrist axes at home
    lim = [f'range="{lo:.5f} {hi:.5f}"' for lo, hi in zip(JOINT_LOWER, JOINT_UPPER)]
    jopt = 'damping="0.5" armature="0.02"'
    gripper_x = 0.36  # body origin on the wrist_rotate axis
    ee_local = ee_x - gripper_x
    fingers = ""
    if with_fingers:
        pad = f'type="box" size="0.0255 0.005 0.011" friction="2.0 0.02 0.002" condim="4" rgba="{_PAD_RGBA}" {ROBOT_COLLISION} mass="0.02"'
        cx = ee_local - 0.0135
        fingers = f"""
            <body name="left_finger" pos="0 0 0">
              <joint name="left_finger" type="slide" axis="0 1 0" range="{_f(*FINGER_RANGE)}" damping="5" armature="0.01"/>
              <geom name="left_pad" pos="{_f(cx, 0.005, 0)}" {pad}/>
            </body>
            <body name="right_finger" pos="0 0 0">
              <joint name="right_finger" type="slide" axis="0 -1 0" range="{_f(*FINGER_RANGE)}" damping="5" armature="0.01"/>
              <geom name="right_pad" pos="{_f(cx, -0.005, 0)}" {pad}/>
            </body>"""
    palm_half_x = (ee_local - 0.039) / 2
    return f"""
    <body name="base_link" pos="0 0 0">
      <geom name="base" type="box" pos="0 0 0.036" size="0.06 0.06 0.036" rgba="{_ARM_RGBA}" {ROBOT_COLLISION} mass="1.0"/>
      <body name="shoulder_link" pos="0 0 0.072" gravcomp="1">
        <joint name="{JOINT_NAMES[0]}" type="hinge" axis="0 0 1" {lim[0]} {jopt}/>
        <geom type="cylinder" pos="0 0 0.02" size="0.04 0.02" rgba="{_LINK_RGBA}" {ROBOT_COLLISION} mass="0.4"/>
        <body name="upper_arm_link" pos="0 0 {0.11065 - 0.072:.6g}" gravcomp="1">
          <joint name="{JOINT_NAMES[1]}" type="hinge" axis="0 1 0" {lim[1]} {jopt}/>
          <geom type="capsule" fromto="0 0 0 0.04975 0 0.25" size="0.024" rgba="{_ARM_RGBA}" {ROBOT_COLLISION} mass="0.4"/>
          <body name="upper_forearm_link" pos="0.04975 0 0.25" gravcomp="1">
            <joint name="{JOINT_NAMES[2]}" type="hinge" axis="0 1 0" {lim[2]} {jopt}/>
            <geom type="capsule" fromto="0 0 0 0.15 0 0" size="0.022" rgba="{_LINK_RGBA}" {ROBOT_COLLISION} mass="0.3"/>
            <body name="lower_forearm_link" pos="{0.2 - 0.04975:.6g} 0 0" gravcomp="1">
              <joint name="{JOINT_NAMES[3]}" type="hinge" axis="1 0 0" {lim[3]} {jopt}/>
              <geom type="capsule" fromto="0 0 0 {0.29975 - 0.2:.6g} 0 0" size="0.02" rgba="{_ARM_RGBA}" {ROBOT_COLLISION} mass="0.2"/>
              <body name="wrist_link" pos="{0.29975 - 0.2:.6g} 0 0" gravcomp="1">
                <joint name="{JOINT_NAMES[4]}" type="hinge" axis="0 1 0" {lim[4]} {jopt}/>
                <geom type="capsule" fromto="0 0 0 {gripper_x - 0.29975:.6g} 0 0" size="0.02" rgba="{_LINK_RGBA}" {ROBOT_COLLISION} mass="0.1"/>
                <body name="gripper_link" pos="{gripper_x - 0.29975:.6g} 0 0" gravcomp="1">
                  <joint name="{JOINT_NAMES[5]}" type="hinge" axis="1 0 0" {lim[5]} {jopt}/>
                  <geom name="palm" type="box" pos="{_f(palm_half_x, 0, 0)}" size="{_f(palm_half_x, 0.045, 0.018)}" rgba="{_ARM_RGBA}" {ROBOT_COLLISION} mass="0.15"/>
                  <site name="ee" pos="{ee_local:.6g} 0 0" size="0.004" rgba="1 0 0 0"/>{fingers}
                </body>
              </body>
            </body>
          </body>
        </body>
      </body>
    </body>"""


def _actuators_xml() -> str:
    gains = [(800, 10, 60), (1200, 14, 80), (900, 10, 60), (250, 3, 20), (300, 3, 20), (150, 2, 10)]
    lines = [
        f'<position name="{n}" joint="{n}" kp="{kp}" kv="{kv}" ctrlrange="{JOINT_LOWER[i]:.5f} {JOINT_UPPER[i]:.5f}" forcerange="-{f} {f}"/>'
        for i, (n, (kp, kv, f)) in enumerate(zip(JOINT_NAMES, gains))
    ]
    for finger in ("left_finger", "right_finger"):
        lines.append(
            f'<position name="{finger}" joint="{finger}" kp="500" kv="10" ctrlrange="{_f(*FINGER_RANGE)}" forcerange="-10 10"/>'
        )
    return "\n    ".join(lines)


def arm_only_xml() -> str:
    """An arm-only model (no fingers, no scene) for kinematics and IK."""
    return f"""<mujoco model="wx250s_kinematics">
  <compiler angle="radian" autolimits="true"/>
  <worldbody>{_arm_body_xml(with_fingers=False)}
  </worldbody>
</mujoco>"""


def _box(name: str, center, half, rgba: str, extra: str = "") -> str:
    return f'<geom name="{name}" type="box" pos="{_f(*center)}" size="{_f(*half)}" rgba="{rgba}" {ENV_COLLISION} {extra}/>'


def _drawer_xml(
    prefix: str,
    layout: SceneLayout,
    z_range: tuple[float, float],
    travel: float,
    handle_x: float,
    standoff: float,
    rgba: str,
) -> str:
    """A sliding drawer box with a front panel and a handle bar; qpos = how far it is open."""
    cab = layout.cabinet
    assert cab is not None
    cx, _ = cab.center_xy
    fy = cab.front_y
    z0, z1 = z_range
    t = 0.004  # panel thickness
    inner_half_x = cab.half_width - cab.wall - 0.002
    depth = 2 * cab.half_depth - cab.wall - 0.006
    zc = (z0 + z1) / 2
    hz = (z1 - z0) / 2
    handle_y = fy - 2 * t - standoff
    hl = cab.handle_half_length
    post_x = hl - 0.006
    mass = 'mass="0.15"'
    return f"""
      <body name="{prefix}_drawer" pos="{_f(cx, fy, 0)}">
        <joint name="{prefix}_drawer" type="slide" axis="0 -1 0" range="0 {travel:.4f}" damping="12" frictionloss="0.3" armature="0.05"/>
        {_box(prefix + "_front", (0, -t, zc), (cab.half_width - 0.002, t, hz), rgba, mass)}
        {_box(prefix + "_floor", (0, depth / 2, z0 + t / 2), (inner_half_x, depth / 2, t / 2), rgba, mass)}
        {_box(prefix + "_back", (0, depth - t, zc), (inner_half_x, t, hz), rgba, mass)}
        {_box(prefix + "_side_l", (-inner_half_x + t, depth / 2, zc), (t, depth / 2, hz), rgba, mass)}
        {_box(prefix + "_side_r", (inner_half_x - t, depth / 2, zc), (t, depth / 2, hz), rgba, mass)}
        <geom name="{prefix}_handle" type="capsule" fromto="{_f(handle_x - hl, handle_y - fy, zc, handle_x + hl, handle_y - fy, zc)}" size="{cab.handle_radius}" rgba="0.15 0.15 0.15 1" {ENV_COLLISION} mass="0.02"/>
        {_box(prefix + "_post_l", (handle_x - post_x, (handle_y - fy - 2 * t) / 2, zc), (0.004, (fy - handle_y - 2 * t) / 2, 0.004), "0.15 0.15 0.15 1", 'mass="0.01"')}
        {_box(prefix + "_post_r", (handle_x + post_x, (handle_y - fy - 2 * t) / 2, zc), (0.004, (fy - handle_y - 2 * t) / 2, 0.004), "0.15 0.15 0.15 1", 'mass="0.01"')}
        <site name="{prefix}_handle" pos="{_f(handle_x, handle_y - fy, zc)}" size="0.005" rgba="0 0 0 0"/>
      </body>"""


def _cabinet_xml(layout: SceneLayout) -> str:
    cab = layout.cabinet
    if cab is None:
        return ""
    cx, cy = cab.center_xy
    hw, hd, w = cab.half_width, cab.half_depth, cab.wall
    rgba = "0.55 0.42 0.3 1"
    top = cab.top_z
    divider_z = (cab.bottom_drawer_z[1] + cab.top_drawer_z[0]) / 2
    static = [
        _box("cab_side_l", (cx - hw - w, cy, top / 2), (w, hd, top / 2), rgba),
        _box("cab_side_r", (cx + hw + w, cy, top / 2), (w, hd, top / 2), rgba),
        _box("cab_back", (cx, cy + hd + w, top / 2), (hw + 2 * w, w, top / 2), rgba),
        _box("cab_roof", (cx, cy + w, top + w / 2), (hw + 2 * w, hd + w, w / 2), rgba),
        _box("cab_divider", (cx, cy, divider_z), (hw, hd, 0.002), rgba),
    ]
    return (
        "\n      ".join(static)
        + _drawer_xml("bottom", layout, cab.bottom_drawer_z, cab.bottom_travel, cab.bottom_handle_x, cab.bottom_handle_standoff, "0.75 0.62 0.45 1")
        + _drawer_xml("top", layout, cab.top_drawer_z, cab.top_travel, cab.top_handle_x, cab.top_handle_standoff, "0.68 0.55 0.4 1")
    )


def _tray_xml(layout: SceneLayout) -> str:
    tray = layout.tray
    if tray is None:
        return ""
    (tx, ty), (hx, hy), h, w = tray.center_xy, tray.half_size, tray.rim_height, tray.wall
    rgba = "0.3 0.55 0.3 1"
    parts = [
        _box("tray_floor", (tx, ty, 0.002), (hx, hy, 0.002), rgba),
        _box("tray_rim_n", (tx + hx - w, ty, h / 2), (w, hy, h / 2), rgba),
        _box("tray_rim_s", (tx - hx + w, ty, h / 2), (w, hy, h / 2), rgba),
        _box("tray_rim_e", (tx, ty + hy - w, h / 2), (hx, w, h / 2), rgba),
        _box("tray_rim_w", (tx, ty - hy + w, h / 2), (hx, w, h / 2), rgba),
    ]
    return "\n      ".join(parts)


def _objects_xml(layout: SceneLayout) -> str:
    o = layout.obj
    out = f"""
    <body name="object" pos="0.3 0 {o.half_size[2]:.4f}">
      <freejoint name="object"/>
      <geom name="object" type="box" size="{_f(*o.half_size)}" mass="{o.mass}" rgba="{_f(*o.rgba)}" friction="1.5 0.01 0.001" condim="4" {ENV_COLLISION}/>
    </body>"""
    if layout.blocker is not None:
        b = layout.blocker
        out += f"""
    <body name="blocker" pos="0.3 -0.1 {b.half_height:.4f}">
      <freejoint name="blocker"/>
      <geom name="blocker" type="cylinder" size="{b.radius} {b.half_height}" mass="{b.mass}" rgba="{_f(*b.rgba)}" friction="1.2 0.01 0.001" condim="4" {ENV_COLLISION}/>
    </body>"""
    return out


def _camera_xml(layout: SceneLayout) -> str:
    cam = layout.camera
    pos = np.array(cam.pos)
    fwd = np.array(cam.target) - pos
    fwd /= np.linalg.norm(fwd)
    right = np.cross(fwd, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, fwd)
    return f'<camera name="obs" pos="{_f(*pos)}" xyaxes="{_f(*right, *up)}" fovy="{cam.fovy}"/>'


def scene_xml(layout: SceneLayout, offscreen_size: int = 64) -> str:
    """Full MJCF for a scene: table, arm with gripper, scene furniture, objects, camera."""
    tx, ty = layout.table_center_xy
    hx, hy = layout.table_half
    return f"""<mujoco model="cog_{layout.name}">
  <compiler angle="radian" autolimits="true"/>
  <option timestep="{PHYSICS_TIMESTEP}" integrator="implicitfast" cone="elliptic" impratio="5"/>
  <visual>
    <quality shadowsize="0" offsamples="0"/>
    <global offwidth="{offscreen_size}" offheight="{offscreen_size}"/>
    <headlight ambient="0.45 0.45 0.45" diffuse="0.5 0.5 0.5" specular="0 0 0"/>
  </visual>
  <default>
    <geom solref="0.004 1" solimp="0.95 0.99 0.001"/>
  </default>
  <worldbody>
    <light name="top" pos="0.3 0 1.2" dir="0 0 -1" diffuse="0.5 0.5 0.5" castshadow="false"/>
    <geom name="table" type="box" pos="{_f(tx, ty, -0.02)}" size="{_f(hx, hy, 0.02)}" rgba="0.86 0.8 0.7 1" friction="1.0 0.01 0.001" {ENV_COLLISION}/>
    <geom name="floor" type="plane" pos="0 0 -0.75" size="3 3 0.1" rgba="0.35 0.38 0.42 1" contype="0" conaffinity="0"/>
    {_camera_xml(layout)}
    {_arm_body_xml(with_fingers=True)}
      {_cabinet_xml(layout)}
      {_tray_xml(layout)}
    {_objects_xml(layout)}
  </worldbody>
  <actuator>
    {_actuators_xml()}
  </actuator>
</mujoco>"""
