"""The `cogrl` command line: one entry point, one module per subcommand.

Each subcommand module exposes ``add_parser(subparsers)`` which registers its
arguments and sets ``func`` to a callable taking the parsed namespace and
returning an exit code.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Subcommand modules, in the order `cogrl --help` lists them.
SUBCOMMANDS: tuple[str, ...] = (
    "envs",
    "view",
    "world",
    "collect",
    "convert",
    "inspect",
    "train",
    "export",
    "eval",
    "calibrate",
    "localize",
    "demo",
    "table",
    "finetune",
)

DESCRIPTION = """\
COG: connect new skills to past experience with offline RL (Singh et al., CoRL 2020),
on a simulated or real WidowX 250. Run `cogrl <command> --help` for details."""


def build_parser() -> argparse.ArgumentParser:
    """Return the top-level parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="cogrl", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    from cog_core import __version__

    parser.add_argument("--version", action="version", version=f"cogrl {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="<command>")
    sub.required = True
    for name in SUBCOMMANDS:
        importlib.import_module(f"cog_core.cli.{name}").add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except UserError as err:  # clear, expected problems: no traceback
        print(f"error: {err}", file=sys.stderr)
        return 2


class UserError(Exception):
    """A problem with the user's input that has a clear message and fix."""


if __name__ == "__main__":
    sys.exit(main())
