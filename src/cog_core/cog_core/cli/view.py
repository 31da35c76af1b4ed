"""`cogrl view`: save a picture of an initial condition (large view + the policy's observation)."""

from __future__ import annotations

import argparse
from pathlib import Path


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


def render_condition(condition: str, seed: int, image_size: int, size: int):
    """Return an RGB array: the large render beside the upscaled observation."""
    import numpy as np

    from cog_core.sim import make_env

    env = make_env(condition, image_size=image_size, render_size=size)
    try:
        obs, _ = env.reset(seed=seed)
        big = env.render()
    finally:
        env.close()
    scale = size // image_size
    small = np.kron(obs["image"], np.ones((scale, scale, 1), dtype=np.uint8))
    pad = np.full((size, size, 3), 255, np.uint8)
    pad[: small.shape[0], : small.shape[1]] = small
    gap = np.full((size, 8, 3), 255, np.uint8)
    return np.concatenate([big, gap, pad], axis=1)


def run(args: argparse.Namespace) -> int:
    """Write the picture(s)."""
    import imageio.v2 as imageio

    from cog_core.cli import UserError
    from cog_core.sim import CONDITIONS

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
        tmp = path.with_name(path.name + ".tmp.png")
        imageio.imwrite(tmp, image)
        tmp.replace(path)
        print(f"{cond}: wrote {path}")
    return 0


def render_scenes(out_dir: Path, seed: int = 0, size: int = 240) -> Path:
    """One PNG per initial condition in `out_dir`, plus a contact sheet next to it; returns the sheet."""
    import imageio.v2 as imageio
    import numpy as np

    from cog_core.sim import CONDITIONS

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tiles = []
    for name in CONDITIONS:
        image = render_condition(name, seed, 48, size)
        imageio.imwrite(out_dir / f"{name.replace('/', '__')}.png", image)
        tiles.append(image)
    rows = [np.concatenate(tiles[i : i + 2], axis=1) for i in range(0, len(tiles), 2)]
    sheet = out_dir.with_suffix(".png")
    imageio.imwrite(sheet, np.concatenate(rows, axis=0))
    print(f"  {len(tiles)} initial conditions -> {out_dir}/, contact sheet {sheet}")
    return sheet
