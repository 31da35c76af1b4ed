"""Checkpoints as plain data: state dicts, RNG state tensors and a JSON metadata string.

Everything loads with ``torch.load(path, weights_only=True)``; nothing is pickled as an object.
A checkpoint carries the SHA-256 of everything else in it (`tree_digest`: every tensor's
bytes, dtype and shape, every number and string, under its key path), which loading
recomputes: a file changed after it was written (one flipped bit is enough) is refused
instead of resuming or exporting from it. Checkpoints of format 1 (written before the digest)
still load, unverified.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from cog_core.config import ConfigError, from_dict
from cog_core.files import atomic_write
from cog_core.rl.config import TrainConfig

CHECKPOINT_FORMAT = "cog_core.rl.checkpoint/2"
UNVERIFIED_FORMATS = ("cog_core.rl.checkpoint/1",)  # older checkpoints: no digest, loaded as they are
DIGEST_KEY = "sha256"
# Entries a training checkpoint's metadata must hold, and their types.
META_FIELDS = {"step": int, "config": dict, "spec": dict}


class CheckpointError(ValueError):
    """A file that is not a readable training checkpoint of this package."""


def tree_digest(tree: Any) -> str:
    """SHA-256 (hex) of nested dicts / lists of tensors, numbers, strings and None, taking every
    key path, dtype, shape and byte into account (dict keys in sorted order)."""
    h = hashlib.sha256()

    def walk(node: Any, where: str) -> None:
        if isinstance(node, torch.Tensor):
            t = node.detach().cpu().contiguous()
            h.update(f"{where}:tensor:{t.dtype}:{tuple(t.shape)}\n".encode())
            h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
        elif isinstance(node, Mapping):
            h.update(f"{where}:dict:{len(node)}\n".encode())
            for key in sorted(node, key=repr):
                walk(node[key], f"{where}/{key!r}")
        elif isinstance(node, (list, tuple)):
            h.update(f"{where}:list:{len(node)}\n".encode())
            for i, item in enumerate(node):
                walk(item, f"{where}[{i}]")
        else:
            h.update(f"{where}:{type(node).__name__}:{node!r}\n".encode())

    walk(tree, "")
    return h.hexdigest()


def tensor_bytes(tree: Any) -> int:
    """Bytes of every tensor in nested dicts / lists (what a file of them needs, about)."""
    if isinstance(tree, torch.Tensor):
        return tree.numel() * tree.element_size()
    if isinstance(tree, Mapping):
        return sum(tensor_bytes(v) for v in tree.values())
    if isinstance(tree, (list, tuple)):
        return sum(tensor_bytes(v) for v in tree)
    return 0


def save_checkpoint(path: str | Path, payload: dict[str, Any], meta: dict[str, Any]) -> None:
    """Atomically write `payload` (tensors / state dicts) plus JSON-able `meta` to `path`, with
    the digest of both (a full disk raises `cog_core.files.DiskFull`; the old file stays)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = checkpoint_document(payload, meta)
    atomic_write(path, lambda tmp: torch.save(doc, tmp), size_hint=tensor_bytes(doc) + 2**20)


def checkpoint_document(payload: dict[str, Any], meta: dict[str, Any]) -> dict[str, Any]:
    """What `save_checkpoint` writes with `torch.save`: the payload, the format, the metadata as
    JSON and the digest of all three (for writers that replace it together with other files)."""
    doc = dict(payload, format=CHECKPOINT_FORMAT, meta_json=json.dumps(meta))
    doc[DIGEST_KEY] = tree_digest(doc)
    return doc


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint with weights_only=True, verify its digest and the shape of its metadata;
    its "meta" entry is the decoded JSON metadata. CheckpointError names what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        doc = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unpickling failure means "not ours"
        raise CheckpointError(f"{path}: not a loadable checkpoint ({err}); it is damaged or not from `cogrl train`") from None
    if not isinstance(doc, dict) or doc.get("format") not in (CHECKPOINT_FORMAT, *UNVERIFIED_FORMATS):
        raise CheckpointError(f"{path}: not a {CHECKPOINT_FORMAT} checkpoint (damaged, or not from `cogrl train`)")
    if doc["format"] == CHECKPOINT_FORMAT:
        recorded = doc.pop(DIGEST_KEY, None)
        if not isinstance(recorded, str) or tree_digest(doc) != recorded:
            raise CheckpointError(
                f"{path} fails its checksum (the file changed after it was written: disk or copy damage); "
                "resume from an earlier copy, or train again"
            )
    doc["meta"] = _decode_meta(path, doc.pop("meta_json", None))
    if not isinstance(doc.get("model"), Mapping):
        raise CheckpointError(f"{path}: has no model weights; not a checkpoint from `cogrl train`")
    return doc


def _decode_meta(path: Path, text: Any) -> dict[str, Any]:
    try:
        meta = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        meta = None
    if not isinstance(meta, dict):
        raise CheckpointError(f"{path}: its metadata is missing or not JSON; not a checkpoint from `cogrl train`")
    wrong = [k for k, kind in META_FIELDS.items() if not isinstance(meta.get(k), kind) or isinstance(meta.get(k), bool)]
    if wrong:
        raise CheckpointError(f"{path}: its metadata lacks or garbles {', '.join(wrong)}; not a checkpoint from `cogrl train`")
    return meta


def checkpoint_config(path: str | Path, meta: Mapping[str, Any]) -> TrainConfig:
    """The `TrainConfig` a checkpoint's metadata records; CheckpointError when it does not parse."""
    try:
        return from_dict(TrainConfig, meta["config"])
    except (ConfigError, TypeError, ValueError) as err:
        raise CheckpointError(f"{path}: the config it records is not valid ({err}); not a checkpoint from this version") from None
