"""MJCF generation: the paper's scenes from `layout`, around the arm of `cog_core.robot.arm_mjcf`.

Everything is generated from numbers in `cog_core.robot` and `cog_core.sim.layout`, so the
MuJoCo model, the real-arm IK and any generated world share one description.
"""

from __future__ import annotations

import numpy as np

from cog_core.robot.arm_mjcf import FINGER_RANGE, arm_body_xml
from cog_core.robot.arm_mjcf import mjcf_floats as _f
from cog_core.robot.kinematics import JOINT_LOWER, JOINT_NAMES, JOINT_UPPER
from cog_core.sim.layout import SceneLayout
from cog_core.sim.parts import Body, Part, scene_bodies

# Scene geoms collide with the robot (`robot.arm_mjcf.ROBOT_COLLISION`) and with each other.
ENV_COLLISION = 'contype="1" conaffinity="3"'

GRIPPER_OPEN_TARGET = 0.032
GRIPPER_CLOSED_TARGET = 0.0
PHYSICS_TIMESTEP = 0.002  # s
SUBSTEPS = 25  # physics steps per control step -> 20 Hz control in sim time


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
    {arm_body_xml(with_fingers=True)}
    {furniture}
  </worldbody>
  <actuator>
    {_actuators_xml()}
  </actuator>
</mujoco>"""
