"""Checkpoints as plain data: state dicts, RNG state tensors and a JSON metadata string.

Everything loads with ``torch.load(path, weights_only=True)``; nothing is pickled as an object.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from cog_core.files import atomic_write

CHECKPOINT_FORMAT = "cog_core.rl.checkpoint/1"


class CheckpointError(ValueError):
    """A file that is not a readable training checkpoint of this package."""


def save_checkpoint(path: str | Path, payload: dict[str, Any], meta: dict[str, Any]) -> None:
    """Atomically write `payload` (tensors / state dicts) plus JSON-able `meta` to `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = dict(payload, format=CHECKPOINT_FORMAT, meta_json=json.dumps(meta))
    atomic_write(path, lambda tmp: torch.save(doc, tmp))


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint with weights_only=True; its "meta" entry is the decoded JSON metadata."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        doc = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unpickling failure means "not ours"
        raise CheckpointError(f"{path}: not a loadable checkpoint ({err})") from None
    if not isinstance(doc, dict) or doc.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: not a {CHECKPOINT_FORMAT} checkpoint")
    doc["meta"] = json.loads(doc.pop("meta_json"))
    return doc
