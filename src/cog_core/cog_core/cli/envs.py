"""`cogrl envs`: list the simulator's scenes and named initial conditions."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `cogrl envs`."""
    p = sub.add_parser(
        "envs",
        help="list scenes and initial conditions of the built-in simulator",
        description="List the built-in MuJoCo simulator's scenes and named initial conditions.",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print a table of conditions."""
    from rich.console import Console
    from rich.table import Table

    from cog_core.robot.action import ActionLimits
    from cog_core.sim import CONDITIONS, CONTROL_HZ

    table = Table(title="COG simulator: initial conditions")
    table.add_column("condition", no_wrap=True)
    table.add_column("task data")
    table.add_column("max steps", justify="right")
    table.add_column("description")
    for c in CONDITIONS.values():
        table.add_row(c.name, "yes" if c.task_data else "", str(c.max_episode_steps), c.description)
    console = Console()
    console.print(table)
    lim = ActionLimits()
    console.print(
        f"Action: 8-D [dx,dy,dz,droll,dpitch,dyaw,gripper,neutral] in [-1,1]; "
        f"{lim.max_translation * 100:.0f} cm and {lim.max_rotation:.2f} rad per step at |a|=1; "
        f"control rate {CONTROL_HZ:.0f} Hz (sim time). Observation: image (48 or 64 px) + 9-D state.",
        markup=False,
    )
    return 0
