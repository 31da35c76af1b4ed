"""Dataset presets: which scripted behaviours run from which initial conditions, and how many.

Episode counts are given at paper scale (`scale=1.0`); `--scale` multiplies them. The
paper's sizes: pick-place prior 10K grasp attempts, task 5K place attempts; drawer prior
1.5M transitions, task 300K transitions. Every episode lasts at least `min_steps` (30): a
behaviour that is done early holds still near the neutral pose (grasps hold the object), as
the original fixed-length episodes do, so success states (an object held at neutral) carry
reward for many steps and the neutral pose where behaviours meet is well covered. 50K and 10K
episodes of ~30 steps match the paper's drawer sizes.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MixEntry:
    """One behaviour run from one initial condition, with a sampling weight."""

    behaviour: str  # a name in scripted.policies.BEHAVIOURS, optionally "weak_"-prefixed
    condition: str
    weight: float = 1.0


@dataclass(frozen=True)
class Preset:
    """A dataset recipe."""

    name: str
    role: str  # "prior" (rewards dropped at conversion) or "task"
    task: str  # the scene's task name logged in every Step
    paper_episodes: int
    mix: tuple[MixEntry, ...]
    description: str
    min_steps: int = 30  # episodes last at least this long: after its neutral move the behaviour holds still

    def episodes(self, scale: float) -> int:
        """Episode count at `scale` (at least 1)."""
        return max(1, int(round(self.paper_episodes * scale)))


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "pick-place-prior",
            "prior",
            "pick_place",
            10_000,
            (MixEntry("weak_grasp_high", "pick_place/object_on_table"),),
            "Grasp attempts of the object on the table, lifted to ~0.20 m, where the place task "
            "starts (weak: half aim at a random point).",
        ),
        Preset(
            "pick-place-task",
            "task",
            "pick_place",
            5_000,
            (MixEntry("place", "pick_place/object_in_gripper"),),
            "Place attempts into the tray, starting with the object in the gripper.",
            min_steps=25,
        ),
        Preset(
            "drawer-prior",
            "prior",
            "drawer",
            50_000,
            (
                MixEntry("open_bottom", "drawer/closed", 3.0),
                MixEntry("weak_open_bottom", "drawer/closed", 1.0),
                MixEntry("open_bottom", "drawer/blocked_by_top_drawer", 0.5),
                MixEntry("open_bottom", "drawer/blocked_by_object", 0.5),
                MixEntry("close_bottom", "drawer/open", 1.5),
                MixEntry("open_top", "drawer/closed", 1.0),
                MixEntry("close_top", "drawer/blocked_by_top_drawer", 2.0),
                MixEntry("weak_close_top", "drawer/blocked_by_top_drawer", 0.5),
                MixEntry("remove_blocker", "drawer/blocked_by_object", 2.0),
                MixEntry("weak_remove_blocker", "drawer/blocked_by_object", 0.5),
                MixEntry("grasp_blocker", "drawer/closed", 1.0),
                MixEntry("weak_grasp_blocker", "drawer/open", 0.5),
                MixEntry("pick_place_blocker", "drawer/closed", 1.0),
                MixEntry("block_drawer", "drawer/closed", 1.0),
            ),
            "Drawer open/close (both drawers), grasping and pick-and-place of the bottle, removing it "
            "from and putting it in front of the drawer; never touches the object in the drawer.",
        ),
        Preset(
            "drawer-task",
            "task",
            "drawer",
            10_000,
            (MixEntry("grasp", "drawer/open"),),
            "Grasping the object from the open drawer and lifting it out.",
        ),
    )
}


def get_preset(name: str) -> Preset:
    """Look up a preset with a clear error."""
    try:
        return PRESETS[name]
    except KeyError:
        raise KeyError(f"unknown preset {name!r}; valid: {', '.join(PRESETS)}") from None
