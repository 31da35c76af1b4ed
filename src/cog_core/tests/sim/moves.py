"""Noise-free scripted motions for physics tests (proportional control toward a target)."""

import numpy as np

from cog_core.robot.action import ActionLimits

STEP = ActionLimits().max_translation


def step(env, gripper=0.0, neutral=0.0, delta=(0, 0, 0)):
    a = np.zeros(8)
    a[:3] = np.clip(np.asarray(delta) / STEP, -1, 1)
    a[6], a[7] = gripper, neutral
    return env.step(a)


def move_to(env, target, gripper=0.0, tol=0.006, max_steps=40):
    """Step toward `target` until within `tol`; returns whether it got there."""
    target = np.asarray(target, dtype=float)
    for _ in range(max_steps):
        pos = env.arm.ee_pose()[0]
        if np.linalg.norm(target - pos) < tol:
            return True
        step(env, gripper=gripper, delta=target - pos)
    return False


def hook_gap(env, which="bottom"):
    """The point between a drawer's handle bar and its front panel, at handle height."""
    h = env.handle_pos(which)
    return h + np.array([0.0, 0.03 if which == "bottom" else 0.021, -0.005])


def pull_drawer(env, which="bottom", distance=0.14):
    """Hook the handle with a closed hand and, if the hand got into the gap, pull along -y.

    Returns the ee height reached at the handle (like the scripted policy, it only pulls
    once it is within reach of the hook point).
    """
    gap = hook_gap(env, which)
    step(env, gripper=-1)
    step(env, gripper=-1)
    move_to(env, gap + [0, 0, 0.07], gripper=-1)
    move_to(env, gap, gripper=-1)
    reached = env.arm.ee_pose()[0][2]
    if reached < gap[2] + 0.015:
        move_to(env, gap - [0, distance, 0], gripper=-1, max_steps=20)
    return reached


def grasp_and_lift(env, pos, lift=0.15):
    """Open, descend on `pos`, close, lift by `lift`; returns the last info."""
    move_to(env, np.asarray(pos) + [0, 0, 0.06], gripper=1)
    move_to(env, pos, gripper=1, tol=0.005)
    step(env, gripper=-1)
    step(env, gripper=-1)
    move_to(env, np.asarray(pos) + [0, 0, lift], gripper=-1)
    *_, info = step(env, gripper=-1)
    return info
