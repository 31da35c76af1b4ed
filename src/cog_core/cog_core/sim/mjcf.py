"""MJCF generation: the wx250s arm from its screw model, and the paper's scenes from `layout`.

Everything is generated from numbers in `cog_core.kinematics` and `cog_core.sim.layout`,
so the MuJoCo model, the real-arm IK and any generated world share one description.
"""

from __future__ import annotations

import numpy as np

from cog_core.kinematics import HOME_M, JOINT_LOWER, JOINT_NAMES, JOINT_UPPER
from cog_core.sim.layout import SceneLayout
from cog_core.sim.parts import Body, Part, scene_bodies

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


def _part_xml(part: Part) -> str:
    extra = ""
    if part.mass is not None:
        extra += f' mass="{part.mass}"'
    if part.friction is not None:
        extra += f' friction="{part.friction} 0.01 0.001"'
        if part.mass is not None:  # free objects: elliptic friction with torsion for stable grasps
            extra += ' condim="4"'
    return (
        f'<geom name="{part.name}" type="{part.shape}" pos="{_f(*part.pos)}" size="{_f(*part.size)}" '
        f'rgba="{_f(*part.rgba)}" {ENV_COLLISION}{extra}/>'
    )


def _body_xml(body: Body) -> str:
    """Static bodies become world geoms; moving ones become bodies with their joint."""
    geoms = "\n      ".join(_part_xml(p) for p in body.parts)
    sites = "".join(f'\n      <site name="{n}" pos="{_f(*pos)}" size="0.005" rgba="0 0 0 0"/>' for n, pos in body.sites)
    if body.joint is None:
        return f'<body name="{body.name}" pos="{_f(*body.pos)}">\n      {geoms}{sites}\n    </body>'
    if body.joint == "free":
        joint = f'<freejoint name="{body.name}"/>'
    else:
        joint = (
            f'<joint name="{body.name}" type="slide" axis="{_f(*body.axis)}" range="{_f(*body.limit)}" '
            f'damping="{body.damping}" frictionloss="{body.friction_loss}" armature="0.05"/>'
        )
    return f'<body name="{body.name}" pos="{_f(*body.pos)}">\n      {joint}\n      {geoms}{sites}\n    </body>'


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
    furniture = "\n    ".join(_body_xml(b) for b in scene_bodies(layout))
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
    <geom name="floor" type="plane" pos="0 0 -0.75" size="3 3 0.1" rgba="0.35 0.38 0.42 1" contype="0" conaffinity="0"/>
    {_camera_xml(layout)}
    {_arm_body_xml(with_fingers=True)}
    {furniture}
  </worldbody>
  <actuator>
    {_actuators_xml()}
  </actuator>
</mujoco>"""
