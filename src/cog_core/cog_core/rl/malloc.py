"""Keep freed memory in the process on glibc, so each update's tensors do not fault pages in anew.

A training update allocates and frees the same few megabyte-sized tensors every step. With
glibc's defaults, memory freed at the top of the heap is returned to the kernel once more than
a few MB are free (and large blocks are mmap'ed), so the next update touches fresh pages and
pays a page fault per 4 KB. Raising the trim and mmap thresholds keeps that memory for reuse;
on this 2-core machine it halved the median state-obs update under load (benchmarks/train_speed.py).
The process then holds its peak memory instead of giving it back between updates.
Set COG_DEFAULT_MALLOC=1 to keep glibc's defaults.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's ceiling for this setting on 64-bit
TRIM_THRESHOLD = 1024 * 1024 * 1024

_tuned: bool | None = None


def keep_freed_memory() -> bool:
    """Raise glibc's trim/mmap thresholds once per process; False where not glibc or disabled."""
    global _tuned
    if _tuned is not None:
        return _tuned
    _tuned = False
    if os.environ.get("COG_DEFAULT_MALLOC") == "1":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (macOS, musl without mallopt)
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    _tuned = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return _tuned
