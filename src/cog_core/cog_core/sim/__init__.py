"""The built-in MuJoCo simulator of the WidowX 250 and the paper's scenes.

Rendering is headless: MUJOCO_GL defaults to EGL (set MUJOCO_GL=osmesa to use
OSMesa instead). Import this package before anything imports `mujoco` for the default
to take effect.
"""

from __future__ import annotations

import os

os.environ.setdefault("MUJOCO_GL", "egl")

from cog_core.sim.conditions import CONDITIONS, SCENE_NAMES, Condition, get_condition  # noqa: E402
from cog_core.sim.env import CONTROL_HZ, CogEnv  # noqa: E402


def make_env(condition: str = "drawer/open", image_size: int = 48, seed: int | None = None, **kwargs) -> CogEnv:
    """Create a `CogEnv` for a named initial condition (reset it once with `seed` if given)."""
    env = CogEnv(condition=condition, image_size=image_size, **kwargs)
    if seed is not None:
        env.reset(seed=seed)
    return env


__all__ = ["CONDITIONS", "CONTROL_HZ", "SCENE_NAMES", "CogEnv", "Condition", "get_condition", "make_env"]


def _register() -> None:
    import gymnasium as gym

    for env_id, condition in (("cog/Drawer-v0", "drawer/open"), ("cog/PickPlace-v0", "pick_place/object_in_gripper")):
        if env_id not in gym.registry:
            gym.register(env_id, entry_point="cog_core.sim.env:CogEnv", kwargs={"condition": condition})


_register()
