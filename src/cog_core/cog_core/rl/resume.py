"""What `--resume` may change about a run, and how to tell that its datasets changed."""

from __future__ import annotations

from typing import Any

# Settings that `--resume` may change: how long, how often to log, evaluate and checkpoint, the
# thread count and the device; none changes what an update computes (beyond float rounding on
# another device).
RESUME_CHANGEABLE = ("steps", "threads", "log_interval", "eval_interval", "ckpt_interval", "device")


def data_changes(saved: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """How the datasets in `current` (a `TrainData.provenance()`) differ, by content hash, from
    those a checkpoint recorded in `saved`; [] when they are the same (or a side has no hash)."""
    out = []
    for role in ("task", "prior"):
        old, new = saved.get(role) or {}, current.get(role) or {}
        a, b = str(old.get("content_hash", "")), str(new.get("content_hash", ""))
        if a and b and a != b:
            out.append(f"its {role} dataset had content hash {a[:12]} ({old.get('file', '?')}), "
                       f"the given one has {b[:12]} ({new.get('file', '?')})")
    return out
