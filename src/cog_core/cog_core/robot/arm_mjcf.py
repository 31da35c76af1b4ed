"""The wx250s as MJCF, from its screw model: the arm-only model the IK runs on, and the arm body
that the simulator's scenes (`cog_core.sim.mjcf`) place on their table.

Body frames sit on the joint axes of Interbotix's screw model (`cog_core.robot.kinematics`), so
the simulated arm, the real arm's IK and the kinematics share one description.
"""

from __future__ import annotations

from cog_core.robot.kinematics import HOME_M, JOINT_LOWER, JOINT_NAMES, JOINT_UPPER

# Collision groups: robot geoms collide with the environment but not with each other.
ROBOT_COLLISION = 'contype="2" conaffinity="1"'

FINGER_RANGE = (0.0, 0.037)  # inner-face offset of each finger from the gripper centre (m)

_ARM_RGBA = "0.18 0.18 0.2 1"
_LINK_RGBA = "0.28 0.28 0.3 1"
_PAD_RGBA = "0.05 0.05 0.05 1"


def mjcf_floats(*values: float) -> str:
    """Numbers as an MJCF attribute value (space-separated, 6 significant digits)."""
    return " ".join(f"{v:.6g}" for v in values)


def arm_body_xml(with_fingers: bool) -> str:
    """The kinematic chain; body frames sit on the joint axes of the Interbotix screw model."""
    ee_x = HOME_M[0, 3]
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
              <joint name="left_finger" type="slide" axis="0 1 0" range="{mjcf_floats(*FINGER_RANGE)}" damping="5" armature="0.01"/>
              <geom name="left_pad" pos="{mjcf_floats(cx, 0.005, 0)}" {pad}/>
            </body>
            <body name="right_finger" pos="0 0 0">
              <joint name="right_finger" type="slide" axis="0 -1 0" range="{mjcf_floats(*FINGER_RANGE)}" damping="5" armature="0.01"/>
              <geom name="right_pad" pos="{mjcf_floats(cx, -0.005, 0)}" {pad}/>
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
                  <geom name="palm" type="box" pos="{mjcf_floats(palm_half_x, 0, 0)}" size="{mjcf_floats(palm_half_x, 0.045, 0.018)}" rgba="{_ARM_RGBA}" {ROBOT_COLLISION} mass="0.15"/>
                  <site name="ee" pos="{ee_local:.6g} 0 0" size="0.004" rgba="1 0 0 0"/>{fingers}
                </body>
              </body>
            </body>
          </body>
        </body>
      </body>
    </body>"""


def arm_only_xml() -> str:
    """An arm-only model (no fingers, no scene) for kinematics and IK."""
    return f"""<mujoco model="wx250s_kinematics">
  <compiler angle="radian" autolimits="true"/>
  <worldbody>{arm_body_xml(with_fingers=False)}
  </worldbody>
</mujoco>"""


