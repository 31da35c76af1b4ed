"""Replacing files atomically: a reader sees the old file or the new one, never half of one.

Every module that replaces a file (checkpoints, exports, reports, images, bag metadata, camera
files) goes through `atomic_write`: the new content is written to a temporary file with a
unique name beside the target, flushed to disk, then renamed over the target; if anything
fails, the temporary is removed and the target is left as it was. A write that fails because
the file system is full raises `DiskFull`, which names the path and the space it needed;
`remove_stale_temporaries` deletes the temporaries of writers that were killed.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path

# errno values of a full file system or an exhausted quota.
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
# What libraries that drop the errno say instead (sqlite3, HDF5, torch's zip writer).
_DISK_FULL_TEXT = re.compile(r"no space left|disk is full|disk quota|errno = 28\b", re.IGNORECASE)
_TEMP_NAME = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)-[0-9a-f]{8}\.tmp")


class DiskFull(OSError):
    """Writing `path` failed because its file system is full (or the quota is spent)."""

    def __init__(self, path: str | Path, needed: int | None = None, free: int | None = None, note: str = "") -> None:
        super().__init__(errno.ENOSPC, "disk full", str(path))
        self.path = Path(path)
        self.needed = needed
        self.free = free_bytes(self.path) if free is None else free
        self.note = note  # what was kept, e.g. "12 finished episodes are complete in out/"

    def __str__(self) -> str:
        need = f"needs about {format_bytes(self.needed)}, " if self.needed else ""
        note = f"; {self.note}" if self.note else ""
        return (f"disk full: could not write {self.path} ({need}{format_bytes(self.free)} free there){note}; "
                "free some space or choose another location, then run the command again")


def format_bytes(n: int | None) -> str:
    """`n` bytes as a short human-readable size ("12.3 MB")."""
    if n is None:
        return "an unknown amount"
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def free_bytes(path: str | Path) -> int:
    """Bytes free for an unprivileged writer on the file system holding `path` (or its nearest
    existing parent)."""
    p = Path(path).absolute()
    while not p.exists() and p != p.parent:
        p = p.parent
    try:
        return shutil.disk_usage(p).free
    except OSError:
        return 0


def is_disk_full(err: BaseException, path: str | Path | None = None, written: int = 0) -> bool:
    """Whether `err` (or an error it was raised from) means the file system is full: an errno
    that says so, a message that says so (libraries that drop the errno: sqlite3, HDF5), or,
    given the `path` being written and the `written` bytes of a removed temporary, a write that
    had taken all the space left there (torch's writer reports only "iostream error")."""
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in DISK_FULL_ERRNOS:
            return True
        if _DISK_FULL_TEXT.search(str(seen)):
            return True
        seen = seen.__cause__ or seen.__context__
    return path is not None and written > 0 and written + 2**16 >= free_bytes(path)


def process_alive(pid: int) -> bool:
    """Whether a process with id `pid` exists (owned by anyone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


def remove_stale_temporaries(path: str | Path) -> list[Path]:
    """Delete the temporaries of `path` (from `temporary_path`) whose writing process no longer
    runs, e.g. a checkpoint write killed half-way; returns what was removed."""
    path = Path(path)
    removed: list[Path] = []
    if not path.parent.is_dir():
        return removed
    for tmp in path.parent.glob(f".{path.name}.*.tmp*"):
        m = _TEMP_NAME.match(tmp.name)
        if m and m["name"] == path.name and int(m["pid"]) != os.getpid() and not process_alive(int(m["pid"])):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


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
                 suffix: str | None = None, size_hint: int | None = None) -> Path:
    """Replace `path` with what `write(tmp)` writes into a temporary file (see `temporary_path`;
    `suffix` as there); the temporary is removed if `write` or the rename fails. Returns `path`.
    The parent directory must exist. A full file system raises `DiskFull` (needing about
    `size_hint` bytes, when given)."""
    path = Path(path)
    tmp = temporary_path(path, suffix)
    try:
        write(tmp)
        replace_with(tmp, path, durable=durable)
    except BaseException as err:
        written = tmp.stat().st_size if tmp.exists() else 0
        tmp.unlink(missing_ok=True)
        if isinstance(err, Exception) and not isinstance(err, DiskFull) and is_disk_full(err, path.parent, written):
            raise DiskFull(path, max(size_hint or 0, written) or None) from err
        raise
    return path


def atomic_write_all(writes: Mapping[Path, Callable[[Path], object]], *, durable: bool = True,
                     size_hint: int | None = None) -> None:
    """Replace several files that belong together (an export's weights and metadata): every
    temporary is written first, then all are renamed, so a failed write (a full disk: `DiskFull`)
    leaves every old file in place and no temporary behind."""
    tmps: dict[Path, Path] = {}
    try:
        for path, write in writes.items():
            tmps[path] = temporary_path(Path(path))
            write(tmps[path])
        for path, tmp in tmps.items():
            replace_with(tmp, Path(path), durable=durable)
    except BaseException as err:
        written = sum(t.stat().st_size for t in tmps.values() if t.exists())
        for tmp in tmps.values():
            tmp.unlink(missing_ok=True)
        first = next(iter(writes))
        if isinstance(err, Exception) and not isinstance(err, DiskFull) and is_disk_full(err, Path(first).parent, written):
            raise DiskFull(first, max(size_hint or 0, written) or None) from err
        raise


def atomic_write_text(path: str | Path, text: str, *, durable: bool = True) -> Path:
    """Replace `path` with `text` (UTF-8), atomically."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), durable=durable)
