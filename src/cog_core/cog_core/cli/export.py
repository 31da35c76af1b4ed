"""`cogrl export`: a training run's policy -> weights + JSON metadata for the runtime and the robot."""

from __future__ import annotations

import argparse
from typing import cast

from cog_core.cli import UserError

EPILOG = """\
examples:
  cogrl export --run runs/cog_drawer --out policy/
  cogrl export --run runs/cog_drawer/checkpoint.pt --out policy/ --check

Writes policy/policy.pt (a plain state dict: torch.load(..., weights_only=True)) and
policy/policy.json (observation spec, image size, action spec and scaling, architecture,
config, training provenance). Load it with cog_core.rl.runtime.PolicyRuntime.load(dir)."""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register `export`."""
    p = subparsers.add_parser(
        "export", help="export a trained policy (weights + JSON metadata)",
        description=__doc__.split(":", 1)[1].strip(), epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--run", required=True, help="run directory (or its checkpoint.pt)")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--check", action="store_true", help="load the export and time one action")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Export; print what was written."""
    import time
    from pathlib import Path

    import numpy as np

    from cog_core.cli import check_output_dir
    from cog_core.rl.checkpoint import CheckpointError
    from cog_core.rl.export import export_policy
    from cog_core.rl.run_dir import RunDir
    from cog_core.rl.runtime import ExportError, PolicyRuntime

    src = Path(args.run)
    ckpt = RunDir(src).checkpoint if src.is_dir() else src
    if not ckpt.is_file():
        raise UserError(f"{ckpt} does not exist; point --run at a run directory made by `cogrl train`")
    check_output_dir(args.out)
    try:
        out = export_policy(ckpt, args.out)
        rt = PolicyRuntime.load(out)
    except (CheckpointError, ExportError) as err:
        raise UserError(str(err)) from None
    meta = rt.meta
    print(f"exported {meta['provenance']['algo']} policy (step {meta['provenance']['step']}, obs {rt.obs_mode}, "
          f"image {rt.image_size}, arch {meta['arch']}) to {out}")
    if args.check:
        obs = {}
        for k in rt.keys:
            size = cast(int, rt.image_size)  # set whenever the policy observes images
            obs[k] = np.zeros((size, size, 3), np.uint8) if k == "image" else np.zeros(rt.vec_dim, np.float32)
        rt.act(obs)
        t = time.perf_counter()
        for _ in range(50):
            a = rt.act(obs)
        print(f"runtime check: action {np.round(a.astype(float), 3).tolist()}, {(time.perf_counter() - t) / 50 * 1e3:.2f} ms/action")
    return 0
