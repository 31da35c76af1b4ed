"""`cogrl world`: write a Gazebo world (SDF) generated from the simulator's scene layout."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `cogrl world`."""
    p = sub.add_parser(
        "world",
        help="generate the Gazebo world of a scene (same dimensions as the MuJoCo scene)",
        description=(
            "Write an SDF world for Gazebo holding the table, furniture, objects and the observation "
            "camera of a scene, generated from the same parts as the built-in MuJoCo scene. The robot "
            "is spawned separately by Interbotix's xsarm_gz_classic.launch.py at the origin."
        ),
    )
    p.add_argument("--scene", default="drawer", choices=("drawer", "pick_place"))
    p.add_argument("--out", required=True, help="output .world file")
    p.add_argument("--camera-size", type=int, nargs=2, default=(640, 480), metavar=("W", "H"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the world file."""
    from cog_core.sim.layout import SCENES
    from cog_core.sim.sdf import write_world

    path = write_world(SCENES[args.scene], args.out, camera_size=tuple(args.camera_size))
    print(f"wrote {path}")
    return 0
