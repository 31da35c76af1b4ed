"""A run's logs, durable across crashes and resumes: append-only files, trimmed atomically.

`metrics.csv` and `eval.jsonl` are only ever appended to. Resuming from a checkpoint drops the
rows logged after its step (and a torn last line) by writing the kept rows to a temporary and
renaming it over the file, so a crash at any moment leaves either the old file or the trimmed
one, never a truncated one.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

from cog_core.files import atomic_write_text


def open_csv_log(path: Path, fields: list[str], step: int) -> io.TextIOWrapper:
    """`path` opened for appending CSV rows with header `fields`, after dropping (atomically) the
    rows of steps after `step` and any torn last line; a new file gets the header."""
    if path.is_file():
        text = path.read_text(encoding="utf-8", errors="replace")
        lines = text.splitlines(keepends=True)
        kept: list[str] = []
        torn = bool(lines) and not lines[-1].endswith("\n")
        header_ok = bool(lines) and lines[0].rstrip("\r\n") == ",".join(fields)
        for line in lines[1:len(lines) - int(torn)]:
            try:
                row_step = int(float(line.split(",", 1)[0]))
            except ValueError:
                continue
            if row_step <= step:
                kept.append(line)
        if not header_ok or torn or len(kept) != len(lines) - 1:
            header = ",".join(fields) + "\n"
            if not header_ok and lines:  # another layout: keep each row's values under the new header
                old = csv.DictReader(io.StringIO("".join(lines[:len(lines) - int(torn)])))
                buf = io.StringIO()
                writer = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore")
                writer.writerows(r for r in old if _row_step(r) <= step)
                kept = [buf.getvalue()]
            atomic_write_text(path, header + "".join(kept))
    else:
        atomic_write_text(path, ",".join(fields) + "\n")
    return path.open("a", newline="", encoding="utf-8")


def _row_step(row: dict[str, str]) -> float:
    """A CSV row's step (inf when unreadable, so that trimming drops the row)."""
    try:
        return int(float(row.get("step") or ""))
    except ValueError:
        return math.inf


def trim_jsonl_log(path: Path, step: int, key: str = "step") -> None:
    """Drop (atomically) the lines of a JSON-lines log whose `key` ("step") is after `step`, and a torn last line."""
    if not path.is_file():
        return
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)
    kept = []
    for line in lines:
        try:
            entry = json.loads(line) if line.endswith("\n") else None
        except ValueError:
            entry = None
        if isinstance(entry, dict) and int(entry.get(key, 0)) <= step:
            kept.append(line)
    if len(kept) != len(lines):
        atomic_write_text(path, "".join(kept))
