"""The `cogrl` command line: one entry point, one module per subcommand.

Each subcommand module exposes ``add_parser(subparsers)`` which registers its
arguments and sets ``func`` to a callable taking the parsed namespace and
returning an exit code.

Errors: a problem with the input or the machine (a `UserError`, a full disk, a path that
cannot be written) prints one line saying what is wrong and how to fix it, and exits 2;
``--debug`` or ``COG_DEBUG=1`` prints the traceback as well (for bug reports).
"""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from cog_core.files import DiskFull

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
    parser.add_argument("--debug", action="store_true", help="print tracebacks of errors (also COG_DEBUG=1)")
    sub = parser.add_subparsers(dest="command", metavar="<command>")
    sub.required = True
    for name in SUBCOMMANDS:
        importlib.import_module(f"cog_core.cli.{name}").add_parser(sub)
    return parser


# OSErrors that are about the machine, not a bug: each gets one line naming the path.
_PATH_ERRORS = {
    errno.ENOSPC: "disk full", errno.EDQUOT: "disk quota exceeded", errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied", errno.EPERM: "operation not permitted", errno.EISDIR: "is a directory",
    errno.ENOTDIR: "a part of the path is a file, not a directory", errno.EEXIST: "already exists",
}


def debugging(args: argparse.Namespace | None = None) -> bool:
    """Whether errors should show their tracebacks (`--debug` or COG_DEBUG=1)."""
    return bool(getattr(args, "debug", False)) or os.environ.get("COG_DEBUG", "") not in ("", "0")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except UserError as err:  # clear, expected problems: no traceback
        return _error(args, str(err))
    except OSError as err:
        if err.errno not in _PATH_ERRORS:
            raise
        if isinstance(err, DiskFull):
            return _error(args, str(err))
        where = err.filename or "a file"
        hint = "free some space there" if err.errno in (errno.ENOSPC, errno.EDQUOT) else "choose another location"
        return _error(args, f"cannot write {where}: {_PATH_ERRORS[err.errno]}; {hint}")


def _error(args: argparse.Namespace, message: str) -> int:
    """Print `message` as one error line (after the traceback when debugging); returns 2."""
    if debugging(args):
        traceback.print_exc()
    print(f"error: {message}", file=sys.stderr)
    return 2


class UserError(Exception):
    """A problem with the user's input that has a clear message and fix."""


def check_output_dir(path: str | os.PathLike, flag: str = "--out") -> None:
    """Raise UserError unless `path` is, or can be made as, a directory this process can write in."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise UserError(f"{flag} {p} is a file; give a directory (a new one, or an empty one)")
    _check_writable_parent(p if p.exists() else p.parent, flag, p)


def check_output_file(path: str | os.PathLike, flag: str = "--out") -> None:
    """Raise UserError unless `path` can be written as a file (not a directory; its folder writable)."""
    p = Path(path)
    if p.is_dir():
        raise UserError(f"{flag} {p} is a directory; give a file name (e.g. {p / 'out.h5'})")
    _check_writable_parent(p.parent, flag, p)


def _check_writable_parent(folder: Path, flag: str, target: Path) -> None:
    existing = folder.absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise UserError(f"{flag} {target}: {existing} is a file, not a directory; choose another path")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UserError(f"{flag} {target}: cannot write in {existing} (read-only or no permission); choose another path")


if __name__ == "__main__":
    sys.exit(main())
