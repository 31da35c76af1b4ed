"""Replacing files atomically: a reader sees the old file or the new one, never half of one.

Every module that replaces a file (checkpoints, exports, reports, images, bag metadata, camera
files) goes through `atomic_write`: the new content is written to a temporary file with a
unique name beside the target, flushed to disk, then renamed over the target; if anything
fails, the temporary is removed and the target is left as it was.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path


def temporary_path(path: Path, suffix: str | None = None) -> Path:
    """A new, empty file beside `path` with a unique hidden name that ends in `suffix` (default:
    `path`'s own suffix, so writers that pick a format from the name still do)."""
    end = path.suffix if suffix is None else suffix
    while True:
        tmp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp{end}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies, as for any new file
        except FileExistsError:
            continue
        os.close(fd)
        return tmp


def replace_with(tmp: Path, path: Path, *, durable: bool = True) -> None:
    """Rename the finished temporary `tmp` over `path`; with `durable`, flush `tmp` to disk first
    and the directory entry after, so the new file survives a power cut."""
    if durable:
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
    os.replace(tmp, path)
    if durable and hasattr(os, "O_DIRECTORY"):
        fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write(path: str | Path, write: Callable[[Path], object], *, durable: bool = True,
                 suffix: str | None = None) -> Path:
    """Replace `path` with what `write(tmp)` writes into a temporary file (see `temporary_path`;
    `suffix` as there); the temporary is removed if `write` or the rename fails. Returns `path`.
    The parent directory must exist."""
    path = Path(path)
    tmp = temporary_path(path, suffix)
    try:
        write(tmp)
        replace_with(tmp, path, durable=durable)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | Path, text: str, *, durable: bool = True) -> Path:
    """Replace `path` with `text` (UTF-8), atomically."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), durable=durable)
