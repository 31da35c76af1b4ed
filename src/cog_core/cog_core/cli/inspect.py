"""`cogrl inspect`: statistics, a contact sheet and rollout clips of an HDF5 dataset."""

from __future__ import annotations

import argparse
from typing import Any
from pathlib import Path

from cog_core.cli import UserError
from cog_core.files import atomic_write


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register `inspect`."""
    p = subparsers.add_parser(
        "inspect", help="print statistics of an HDF5 dataset; write a contact sheet and clips",
        description="Print episodes, transitions, return and success per policy and initial condition, and "
        "action ranges; write a contact-sheet PNG of observations and a GIF or MP4 of a few episodes.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  cogrl inspect data/drawer_prior.h5 --episodes 4 --video gif",
    )
    p.add_argument("file", help="dataset written by `cogrl convert`")
    p.add_argument("--out-dir", help="where to write the PNG and clip (default: <file stem>_inspect next to the file)")
    p.add_argument("--episodes", type=int, default=4, help="episodes in the clip (default 4)")
    p.add_argument("--sheet", type=int, default=8, help="contact sheet: N x N episodes, frames along each row (default 8)")
    p.add_argument("--video", choices=["gif", "mp4", "none"], default="gif", help="clip format (default gif)")
    p.add_argument("--scale", type=int, default=3, help="pixel upscaling of the images (default 3)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the statistics tables and write the images."""
    from rich.console import Console
    from rich.table import Table

    from cog_core.data.dataset import DatasetError, dataset_stats, open_dataset

    path = Path(args.file)
    if args.episodes < 0 or args.sheet < 1 or args.scale < 1:
        raise UserError("--episodes must be >= 0, --sheet and --scale >= 1")
    try:
        h5 = open_dataset(path)
    except DatasetError as err:
        raise UserError(str(err)) from None
    console = Console()
    with h5:
        try:
            stats = dataset_stats(h5)
        except DatasetError as err:
            raise UserError(f"{path}: {err}") from None
        if stats["episodes"] == 0:
            raise UserError(f"{path} holds no episodes; convert bags that hold complete episodes into it")
        data = h5["data"]
        console.print(f"[bold]{path}[/bold]: role {stats['role']}, {stats['episodes']} episodes, {stats['transitions']} transitions, "
                      f"images {stats['image_shape']}, content hash {stats['content_hash'][:16]}…", highlight=False)
        table = Table(title="per policy and initial condition")
        for col in ("task", "initial condition", "policy", "episodes", "transitions", "mean length", "success", "mean return"):
            table.add_column(col, overflow="fold")
        for (task, cond, pol), g in sorted(stats["groups"].items()):
            table.add_row(task, cond, pol, str(g["episodes"]), str(g["transitions"]), f"{g['transitions'] / g['episodes']:.1f}",
                          f"{g['successes'] / g['episodes']:.0%}", f"{g['return'] / g['episodes']:.2f}")
        console.print(table)
        acts = Table(title="action ranges")
        for col in ("dim", "min", "max", "mean", "std"):
            acts.add_column(col)
        a = stats["actions"]
        for i, name in enumerate(a["names"]):
            acts.add_row(name, f"{a['min'][i]:+.3f}", f"{a['max'][i]:+.3f}", f"{a['mean'][i]:+.3f}", f"{a['std'][i]:.3f}")
        console.print(acts)

        out_dir = Path(args.out_dir) if args.out_dir else path.with_name(path.stem + "_inspect")
        out_dir.mkdir(parents=True, exist_ok=True)
        names = sorted(data.keys(), key=lambda n: int(n.split("_")[-1]))
        sheet = _contact_sheet(data, names[: args.sheet], args.sheet, args.scale)
        sheet_path = out_dir / "contact_sheet.png"
        _write_image(sheet_path, sheet)
        console.print(f"wrote {sheet_path}")
        if args.video != "none" and args.episodes > 0:
            clip_path = out_dir / f"episodes.{args.video}"
            _write_clip(clip_path, data, names[: args.episodes], args.scale)
            console.print(f"wrote {clip_path}")
    return 0


def _up(img, scale: int):
    import numpy as np

    return np.repeat(np.repeat(img, scale, axis=0), scale, axis=1)


def _contact_sheet(data, names, cols: int, scale: int):
    """Rows = episodes, columns = frames evenly spaced along the episode."""
    import numpy as np

    rows = []
    for n in names:
        imgs = data[n]["obs/image"]
        idx = np.linspace(0, len(imgs) - 1, cols).round().astype(int)
        frames = [imgs[int(i)] for i in idx]
        rows.append(np.concatenate([np.pad(_up(f, scale), ((1, 1), (1, 1), (0, 0))) for f in frames], axis=1))
    return np.concatenate(rows, axis=0)


def _write_image(path: Path, img) -> None:
    import imageio.v2 as imageio

    atomic_write(path, lambda tmp: imageio.imwrite(tmp, img, format="png"))


def _write_clip(path: Path, data, names, scale: int) -> None:
    """Episodes side by side; shorter ones hold their last frame."""
    import imageio.v2 as imageio
    import numpy as np

    eps = [np.concatenate([data[n]["obs/image"][:], data[n]["next_obs/image"][-1:]]) for n in names]
    T = max(len(e) for e in eps)
    frames: list[Any] = []
    for t in range(T):
        row = [np.pad(_up(e[min(t, len(e) - 1)], scale), ((1, 1), (1, 1), (0, 0))) for e in eps]
        frames.append(np.concatenate(row, axis=1))
    if path.suffix == ".mp4":  # codecs want sizes divisible by 16
        h, w = frames[0].shape[:2]
        frames = [np.pad(f, ((0, -h % 16), (0, -w % 16), (0, 0))) for f in frames]
    if path.suffix == ".gif":
        atomic_write(path, lambda tmp: imageio.mimsave(tmp, frames, format="GIF", duration=0.1, loop=0))
    else:
        atomic_write(path, lambda tmp: imageio.mimsave(tmp, frames, format="FFMPEG", fps=10))
