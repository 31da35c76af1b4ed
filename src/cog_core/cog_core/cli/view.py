"""`cogrl view`: save a picture of an initial condition (large view + the policy's observation)."""

from __future__ import annotations

import argparse
from pathlib import Path

from cog_core.files import atomic_write


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `cogrl view`."""
    p = sub.add_parser(
        "view",
        help="render an initial condition to a PNG",
        description=(
            "Reset the simulator in a named initial condition and write a PNG: a large render "
            "beside the policy's low-resolution observation (upscaled with nearest neighbour). "
            "Use --condition all to write one picture per condition into --out (a directory)."
        ),
    )
    p.add_argument("--condition", default="drawer/closed", help="condition name (see `cogrl envs`) or 'all'")
    p.add_argument("--out", default="scene.png", help="output PNG (a directory with --condition all)")
    p.add_argument("--seed", type=int, default=0, help="reset seed (object poses are randomised)")
    p.add_argument("--image-size", type=int, default=48, choices=(48, 64), help="observation size")
    p.add_argument("--size", type=int, default=480, help="size of the large render in pixels")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the picture(s)."""
    import imageio.v2 as imageio

    from cog_core.cli import UserError
    from cog_core.sim import CONDITIONS
    from cog_core.sim.render import render_condition

    if args.condition != "all" and args.condition not in CONDITIONS:
        raise UserError(f"unknown condition {args.condition!r}; run `cogrl envs` to list them ({', '.join(CONDITIONS)})")
    if args.condition == "all":
        out_dir = Path(args.out)
        out_dir.mkdir(parents=True, exist_ok=True)
        targets = [(c, out_dir / f"{c.replace('/', '__')}.png") for c in CONDITIONS]
    else:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        targets = [(args.condition, Path(args.out))]
    for cond, path in targets:
        image = render_condition(cond, args.seed, args.image_size, args.size)
        atomic_write(path, lambda tmp: imageio.imwrite(tmp, image, format="png"))
        print(f"{cond}: wrote {path}")
    return 0
