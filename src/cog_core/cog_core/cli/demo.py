"""`cogrl demo`: the main job, end to end in the built-in simulator.

Today it builds every scene, resets every initial condition and saves pictures (one PNG
per condition and a contact sheet). Later stages (collect, convert, train, evaluate)
hook in here as they land.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `cogrl demo`."""
    p = sub.add_parser(
        "demo",
        help="run the main job: the COG pipeline in the built-in simulator (small preset)",
        description=(
            "The main job. Stage 1: build the scenes and render every initial condition to "
            "OUT/scenes/*.png plus a contact sheet OUT/scenes.png."
        ),
    )
    p.add_argument("--out", default="out/demo", help="output directory (default: out/demo)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Render all conditions and a contact sheet."""
    import imageio.v2 as imageio
    import numpy as np

    from cog_core.cli.view import render_condition
    from cog_core.sim import CONDITIONS

    out = Path(args.out)
    scenes = out / "scenes"
    scenes.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    tiles = []
    for name in CONDITIONS:
        image = render_condition(name, args.seed, 48, 240)
        path = scenes / f"{name.replace('/', '__')}.png"
        imageio.imwrite(path, image)
        tiles.append(image)
        print(f"  {name:32s} -> {path}")
    rows = [np.concatenate(tiles[i : i + 2], axis=1) for i in range(0, len(tiles), 2)]
    sheet = out / "scenes.png"
    imageio.imwrite(sheet, np.concatenate(rows, axis=0))
    print(f"stage 1 (scenes): {len(tiles)} initial conditions rendered in {time.perf_counter() - t0:.1f} s; contact sheet {sheet}")
    return 0
