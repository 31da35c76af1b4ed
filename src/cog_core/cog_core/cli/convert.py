"""`cogrl convert`: rosbag2 bags -> one HDF5 training dataset."""

from __future__ import annotations

import argparse
import sys

from cog_core.cli import UserError

EPILOG = """\
examples:
  cogrl convert data/bags/drawer_prior --role prior -o data/drawer_prior.h5
  cogrl convert data/bags/drawer_task --role task -o data/drawer_task.h5 --condition 'drawer/open'
  cogrl convert station_a/ station_b/ --role task --resize 64 64 --success yes -o real_task.h5

Inputs may be bag directories or directories holding bags (e.g. one per collection
worker). --role prior sets every reward to 0 (COG's relabelling); --role task keeps the
logged rewards. Filters take shell-style patterns ('drawer/*') and may repeat.
Every step and episode summary is checked against the checksums the recorder wrote; a
damaged one drops its episode (named), the rest are kept. A bag given twice is read once;
episodes read twice are written once (both are counted).
Exit status: 0 ok; 1 data was dropped (damaged bags or episodes; the output holds
everything recovered) unless --skip-bad; 2 bad arguments, nothing to convert, or a full disk
(nothing written)."""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register `convert`."""
    p = subparsers.add_parser(
        "convert", help="convert rosbag2 bags of episodes into an HDF5 dataset",
        description=__doc__.split(":", 1)[1].strip(), epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("bags", nargs="+", help="bag directories, or directories holding bags")
    p.add_argument("--role", required=True, choices=["prior", "task"], help="prior: rewards set to 0; task: logged rewards kept")
    p.add_argument("-o", "--output", required=True, help="output .h5 file (written atomically)")
    p.add_argument("--resize", nargs=2, type=int, metavar=("H", "W"), help="resize every image to H x W (e.g. 48 48)")
    p.add_argument("--task", action="append", default=[], help="keep only episodes of this task (pattern; repeatable)")
    p.add_argument("--condition", action="append", default=[], help="keep only this initial condition (pattern; repeatable)")
    p.add_argument("--policy", action="append", default=[], help="keep only this scripted policy (pattern; repeatable)")
    p.add_argument("--success", choices=["yes", "no", "any"], default="any", help="keep successful / failed / all episodes")
    p.add_argument("--no-lowdim", action="store_true", help="leave the privileged object poses (obs/lowdim) out")
    p.add_argument("--compression", choices=["none", "gzip", "lzf"], default="none", help="HDF5 compression of the arrays")
    p.add_argument("--skip-bad", action="store_true", help="exit 0 even when damaged data was dropped")
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Convert; print problems, a summary table, and return the exit code."""
    from pathlib import Path

    from rich.console import Console
    from rich.table import Table
    from tqdm import tqdm

    from cog_core.bag.reader import BagInputError
    from cog_core.cli import check_output_file
    from cog_core.data.convert import ConvertOptions, NothingToConvert, convert_bags

    out = Path(args.output)
    check_output_file(out, "-o")
    if out.exists() and not args.force:
        raise UserError(f"{out} exists; pass --force to overwrite it or choose another -o")
    if out.suffix not in (".h5", ".hdf5"):
        raise UserError(f"output {out} should end in .h5 or .hdf5")
    try:
        options = ConvertOptions(
            role=args.role, resize=tuple(args.resize) if args.resize else None, tasks=args.task,
            conditions=args.condition, policies=args.policy,
            success={"yes": True, "no": False, "any": None}[args.success], lowdim=not args.no_lowdim,
            compression=None if args.compression == "none" else args.compression,
        )
    except ValueError as err:
        raise UserError(str(err)) from None
    err_console = Console(stderr=True)
    bar = tqdm(desc="converting", unit="ep", disable=args.quiet, file=sys.stderr)

    def on_problem(p) -> None:
        tag = "[red]dropped[/red]" if p.dropped else "[yellow]note[/yellow]"
        bar.clear()
        err_console.print(f"{tag} {p}", highlight=False)
        bar.refresh()

    def on_episode(res) -> None:
        bar.update(1)
        bar.set_postfix(transitions=res.transitions, refresh=False)

    try:
        result = convert_bags(args.bags, out, options, on_problem=on_problem, on_episode=on_episode)
    except BagInputError as e:
        raise UserError(str(e)) from None
    except NothingToConvert as e:
        raise UserError(f"{e}; nothing written") from None
    finally:
        bar.close()
    table = Table(title=f"{out} ({args.role}): {result.episodes} episodes, {result.transitions} transitions")
    for col in ("task", "initial condition", "policy", "episodes", "transitions", "success"):
        table.add_column(col, justify="right" if col in ("episodes", "transitions", "success") else "left")
    for (task, cond, pol), g in sorted(result.groups.items()):
        table.add_row(task, cond, pol, str(g["episodes"]), str(g["transitions"]), f"{g['successes'] / g['episodes']:.0%}")
    console = Console()
    console.print(table)
    mb = result.bytes_read / 1e6
    console.print(
        f"read {mb:.1f} MB of messages in {result.seconds:.1f} s ({mb / max(result.seconds, 1e-9):.1f} MB/s); "
        f"wrote {result.bytes_written / 1e6:.1f} MB; filtered out {result.filtered_out}, aborted by the collector "
        f"{result.aborted}, without actions {result.empty}, duplicates dropped {result.duplicates}; "
        f"content hash {result.content_hash[:16]}…",
        highlight=False,
    )
    dropped = result.dropped
    if dropped:
        msg = f"{len(dropped)} problem(s) dropped data (listed above); {out} holds everything that was recovered"
        if args.skip_bad:
            err_console.print(f"[yellow]warning:[/yellow] {msg} (--skip-bad)", highlight=False)
            return 0
        err_console.print(f"[red]error:[/red] {msg}; pass --skip-bad to accept this", highlight=False)
        return 1
    return 0
