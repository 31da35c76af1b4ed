"""Named initial conditions: which scene, how it starts, and the randomisation ranges.

Ranges are uniform intervals in metres (base frame) unless noted, applied at every reset.
"""

from __future__ import annotations

from dataclasses import dataclass

# "Aside" (the bottle blocks nothing) is where the remove-blocker behaviour puts it.
from cog_core.scripted.policies import BLOCKER_ASIDE_X as BLOCKER_ASIDE_X
from cog_core.scripted.policies import BLOCKER_ASIDE_Y as BLOCKER_ASIDE_Y


@dataclass(frozen=True)
class Condition:
    """One named initial condition of a scene."""

    name: str  # "<scene>/<condition>"
    scene: str
    description: str
    max_episode_steps: int
    bottom_drawer_open: tuple[float, float] = (0.0, 0.0)  # fraction of travel
    top_drawer_open: tuple[float, float] = (0.0, 0.0)  # fraction of travel
    blocker: str = "aside"  # "aside" (somewhere on the free table) or "blocking" (in front of the bottom handle)
    object_place: str = "drawer"  # "drawer", "table" or "gripper" (grasped from the table at reset)
    task_data: bool = False  # the condition the task dataset is collected from

    @property
    def short(self) -> str:
        """Condition name without the scene prefix."""
        return self.name.split("/", 1)[1]


# Randomisation ranges shared by the conditions (documented in docs/simulator.md).
OBJECT_IN_DRAWER_X = (-0.02, 0.02)  # offset from the drawer centre line
OBJECT_IN_DRAWER_Y = (0.026, 0.032)  # distance behind the drawer front panel (clear of the top handle)
OBJECT_ON_TABLE_X = (0.22, 0.36)
OBJECT_ON_TABLE_Y = (-0.06, 0.10)
BLOCKER_FRONT_JITTER_X = (-0.003, 0.003)
BLOCKER_FRONT_JITTER_Y = (-0.002, 0.002)
YAW = (-0.6, 0.6)  # rad, object yaw
# "gripper" starts: at reset the scripted `grasp_high` picks the object up from the table, and
# the episode begins where it ends, so the place task starts where the prior's grasps end (as
# the original starts from a state saved after a grasp). It runs with the `state-table` prior
# profile's settings whatever profile a collection uses, so that the condition stays fixed.
RESET_GRASP_BEHAVIOUR = "grasp_high"
RESET_GRASP_PROFILE = "state-table"
RESET_GRASP_MAX_STEPS = 40
RESET_GRASP_ATTEMPTS = 10

_DRAWER_STEPS = 80
CONDITIONS: dict[str, Condition] = {
    c.name: c
    for c in (
        Condition(
            "drawer/open",
            "drawer",
            "Bottom drawer open (95-100%), object inside; the task-data condition.",
            max_episode_steps=50,
            bottom_drawer_open=(0.95, 1.0),
            task_data=True,
        ),
        Condition(
            "drawer/closed",
            "drawer",
            "Bottom drawer closed with the object inside: open it first.",
            max_episode_steps=_DRAWER_STEPS,
        ),
        Condition(
            "drawer/blocked_by_top_drawer",
            "drawer",
            "Bottom drawer closed; the open top drawer covers its handle: close the top drawer first.",
            max_episode_steps=_DRAWER_STEPS,
            top_drawer_open=(0.85, 1.0),
        ),
        Condition(
            "drawer/blocked_by_object",
            "drawer",
            "Bottom drawer closed; a bottle stands in front of it, in the handle's hook gap: move it first.",
            max_episode_steps=_DRAWER_STEPS,
            blocker="blocking",
        ),
        Condition(
            "pick_place/object_in_gripper",
            "pick_place",
            "The arm holds the object, just lifted from the table by a grasp; the task-data condition.",
            max_episode_steps=40,
            object_place="gripper",
            task_data=True,
        ),
        Condition(
            "pick_place/object_on_table",
            "pick_place",
            "The object lies on the table: pick it first, then place it in the tray.",
            max_episode_steps=40,
            object_place="table",
        ),
    )
}

SCENE_NAMES = ("drawer", "pick_place")


def get_condition(name: str) -> Condition:
    """Look up a condition by name, with a clear error listing the valid names."""
    try:
        return CONDITIONS[name]
    except KeyError:
        raise KeyError(f"unknown initial condition {name!r}; valid: {', '.join(CONDITIONS)}") from None
