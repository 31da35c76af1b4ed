"""Gazebo worlds (SDF 1.6, Gazebo Classic 11 and newer) from the same parts as the MuJoCo scenes.

The robot is not in the world: Interbotix's `xsarm_gz_classic.launch.py` spawns the wx250s
at the origin, which is this project's base frame (table top at z = 0). The world holds the
table, furniture, objects and the observation camera, whose ROS plugin publishes
sensor_msgs/Image and CameraInfo.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from cog_core.files import atomic_write_text
from cog_core.sim.layout import SceneLayout
from cog_core.sim.parts import Body, Part, scene_bodies


def _f(*values: float) -> str:
    return " ".join(f"{v:.6g}" for v in values)


def _geometry(part: Part) -> str:
    if part.shape == "box":
        return f"<box><size>{_f(*(2 * s for s in part.size))}</size></box>"
    radius, half_height = part.size
    return f"<cylinder><radius>{radius:.6g}</radius><length>{2 * half_height:.6g}</length></cylinder>"


def _inertia(part: Part) -> tuple[float, float, float]:
    m = part.mass or 0.0
    if part.shape == "box":
        x, y, z = (2 * s for s in part.size)
        return (m * (y * y + z * z) / 12, m * (x * x + z * z) / 12, m * (x * x + y * y) / 12)
    r, h = part.size[0], 2 * part.size[1]
    side = m * (3 * r * r + h * h) / 12
    return (side, side, m * r * r / 2)


def _shapes(part: Part) -> str:
    friction = part.friction if part.friction is not None else 1.0
    color = _f(*part.rgba)
    return f"""
        <collision name="{part.name}_collision">
          <pose>{_f(*part.pos)} 0 0 0</pose>
          <geometry>{_geometry(part)}</geometry>
          <surface><friction><ode><mu>{friction}</mu><mu2>{friction}</mu2></ode></friction></surface>
        </collision>
        <visual name="{part.name}_visual">
          <pose>{_f(*part.pos)} 0 0 0</pose>
          <geometry>{_geometry(part)}</geometry>
          <material><ambient>{color}</ambient><diffuse>{color}</diffuse></material>
        </visual>"""


def _link(body: Body, name: str) -> str:
    inertial = ""
    mass = sum(p.mass or 0.0 for p in body.parts)
    if body.joint is not None and mass > 0:
        ixx = iyy = izz = 0.0
        for p in body.parts:  # parallel-axis sum about the body origin
            a, b, c = _inertia(p)
            x, y, z = p.pos
            m = p.mass or 0.0
            ixx += a + m * (y * y + z * z)
            iyy += b + m * (x * x + z * z)
            izz += c + m * (x * x + y * y)
        inertial = f"""
        <inertial><mass>{mass:.6g}</mass>
          <inertia><ixx>{ixx:.6g}</ixx><iyy>{iyy:.6g}</iyy><izz>{izz:.6g}</izz><ixy>0</ixy><ixz>0</ixz><iyz>0</iyz></inertia>
        </inertial>"""
    return f"""
      <link name="{name}">{inertial}{"".join(_shapes(p) for p in body.parts)}
      </link>"""


def _model(body: Body) -> str:
    static = "<static>true</static>" if body.joint is None else ""
    return f"""
    <model name="{body.name}">
      {static}<pose>{_f(*body.pos)} 0 0 0</pose>{_link(body, "link")}
    </model>"""


def _cabinet_model(shell: Body, drawers: list[Body]) -> str:
    """The cabinet as one model: the shell fixed to the world, drawers on prismatic joints."""
    links = _link(shell, "shell")
    joints = '\n      <joint name="shell_fixed" type="fixed"><parent>world</parent><child>shell</child></joint>'
    for d in drawers:
        rel = np.subtract(d.pos, shell.pos)
        links += _link(d, d.name).replace(f'<link name="{d.name}">', f'<link name="{d.name}">\n        <pose>{_f(*rel)} 0 0 0</pose>', 1)
        joints += f"""
      <joint name="{d.name}" type="prismatic">
        <parent>shell</parent><child>{d.name}</child>
        <axis><xyz>{_f(*d.axis)}</xyz>
          <limit><lower>{d.limit[0]}</lower><upper>{d.limit[1]}</upper></limit>
          <dynamics><damping>{d.damping}</damping><friction>{d.friction_loss}</friction></dynamics>
        </axis>
      </joint>"""
    return f"""
    <model name="cabinet">
      <pose>{_f(*shell.pos)} 0 0 0</pose>{links}{joints}
    </model>"""


def _camera_model(layout: SceneLayout, width: int, height: int, rate: float) -> str:
    cam = layout.camera
    pos = np.array(cam.pos)
    fwd = np.array(cam.target) - pos
    yaw = math.atan2(fwd[1], fwd[0])
    pitch = -math.atan2(fwd[2], math.hypot(fwd[0], fwd[1]))  # Gazebo cameras look along +x
    hfov = 2 * math.atan(math.tan(math.radians(cam.fovy) / 2) * width / height)
    return f"""
    <model name="obs_camera">
      <static>true</static>
      <pose>{_f(*pos)} 0 {pitch:.6g} {yaw:.6g}</pose>
      <link name="link">
        <sensor name="obs_camera" type="camera">
          <update_rate>{rate}</update_rate>
          <camera>
            <horizontal_fov>{hfov:.6g}</horizontal_fov>
            <image><width>{width}</width><height>{height}</height><format>R8G8B8</format></image>
            <clip><near>0.02</near><far>5</far></clip>
          </camera>
          <plugin name="obs_camera_controller" filename="libgazebo_ros_camera.so">
            <ros><namespace>/cog</namespace></ros>
            <camera_name>camera</camera_name>
            <frame_name>obs_camera_optical</frame_name>
          </plugin>
        </sensor>
      </link>
    </model>"""


def world_sdf(layout: SceneLayout, camera_size: tuple[int, int] = (640, 480), camera_rate: float = 30.0) -> str:
    """An SDF world for `layout`: ground, light, table, furniture, objects, camera (no robot)."""
    bodies = scene_bodies(layout)
    by_name = {b.name: b for b in bodies}
    models = []
    for b in bodies:
        if b.name == "cabinet":
            models.append(_cabinet_model(b, [by_name["bottom_drawer"], by_name["top_drawer"]]))
        elif b.name not in ("bottom_drawer", "top_drawer"):
            models.append(_model(b))
    return f"""<?xml version="1.0"?>
<!-- Generated by cog_core.sim.sdf from cog_core/sim/layout.py; do not edit by hand. -->
<sdf version="1.6">
  <world name="cog_{layout.name}">
    <include><uri>model://ground_plane</uri><pose>0 0 -0.75 0 0 0</pose></include>
    <include><uri>model://sun</uri></include>
    <physics type="ode"><max_step_size>0.002</max_step_size><real_time_update_rate>500</real_time_update_rate></physics>{"".join(models)}{_camera_model(layout, *camera_size, camera_rate)}
  </world>
</sdf>
"""


def write_world(layout: SceneLayout, path: str | Path, **kwargs) -> Path:
    """Write `world_sdf(layout)` atomically to `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_text(path, world_sdf(layout, **kwargs))
