"""Export a training run's policy: weights (plain state dict) + JSON metadata."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import torch

from cog_core.config import to_dict
from cog_core.files import atomic_write_all
from cog_core.robot.action import ACTION_DIM, ACTION_NAMES
from cog_core.rl.checkpoint import CheckpointError, checkpoint_config, load_checkpoint, tensor_bytes, tree_digest
from cog_core.rl.config import TrainConfig
from cog_core.rl.data import obs_keys_for
from cog_core.rl.networks import ActorCritic, build_model
from cog_core.rl.runtime import DIGEST_KEY, EXPORT_FORMAT, META_FILE, WEIGHTS_FILE, policy_state_dict


def policy_metadata(cfg: TrainConfig, spec: dict[str, Any], step: int, provenance: dict[str, Any]) -> dict[str, Any]:
    """The JSON metadata that travels with exported weights."""
    import cog_core

    action_names = list(ACTION_NAMES) if spec["action_dim"] == ACTION_DIM else None
    return {
        "format": EXPORT_FORMAT,
        "obs": {
            "mode": cfg.obs,
            "keys": obs_keys_for(cfg.obs),
            "image_size": spec["image_size"],
            "image": "uint8 HxWx3 RGB" if spec["image_size"] else None,
            "vec_key": spec["vec_key"],
            "vec_dim": spec["vec_dim"],
        },
        "action": {
            "dim": spec["action_dim"],
            "names": action_names,
            "range": [-1.0, 1.0],
            "scaling": "normalised actions of cog_core.robot.action: the arm backend scales them to per-step limits",
            "deterministic": "tanh(mean)",
        },
        "arch": cfg.arch if cfg.obs != "state" else "mlp",
        "config": to_dict(cfg),
        "provenance": {
            "algo": cfg.algo,
            "step": step,
            "seed": cfg.seed,
            "data": provenance.get("data", {}),
            "run": provenance.get("run"),
            "exported_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "cog_core_version": cog_core.__version__,
            "torch_version": torch.__version__,
        },
    }


def model_from_checkpoint(checkpoint: str | Path) -> tuple[ActorCritic, TrainConfig, dict[str, Any]]:
    """The trained actor-critic of a checkpoint (eval mode), its config and the checkpoint's metadata."""
    return _model_from(load_checkpoint(checkpoint), checkpoint)


def _model_from(ckpt: dict[str, Any], path: str | Path) -> tuple[ActorCritic, TrainConfig, dict[str, Any]]:
    meta = ckpt["meta"]
    cfg = checkpoint_config(path, meta)
    spec = meta["spec"]
    try:
        model = build_model(cfg, spec["image_size"], spec["vec_dim"], spec["action_dim"])
        model.load_state_dict(ckpt["model"])
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(f"{path}: its weights do not fit the network its metadata describes ({first}); "
                              "not a checkpoint from this version of `cogrl train`") from None
    return model.eval(), cfg, meta


def averaged_policy(ckpt: dict[str, Any]) -> dict[str, torch.Tensor] | None:
    """A loaded checkpoint's averaged policy (`sac.policy_average_from`) if it holds any step, else None."""
    average = ckpt.get("policy_average")
    if average is None or int(average.get("n_averaged", 0)) == 0:
        return None
    return average


def export_policy(checkpoint: str | Path, out_dir: str | Path) -> Path:
    """Write policy.pt + policy.json for the checkpoint's deployed policy (its averaged actor
    weights when the run averages them, else the last ones) into `out_dir`; returns it."""
    ckpt = load_checkpoint(checkpoint)
    model, cfg, meta = _model_from(ckpt, checkpoint)
    spec = meta["spec"]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    weights = policy_state_dict(model, averaged_policy(ckpt))
    doc = policy_metadata(cfg, spec, meta["step"], {"data": meta.get("data", {}), "run": str(Path(checkpoint).resolve())})
    return write_export(out, weights, doc)


def write_export(out_dir: str | Path, weights: dict[str, torch.Tensor], meta: dict[str, Any]) -> Path:
    """Write policy.pt (`weights`) and policy.json (`meta` plus the weights' SHA-256) into
    `out_dir`, both or neither (a full disk raises `DiskFull` and keeps an earlier export)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    text = json.dumps({**meta, DIGEST_KEY: tree_digest(weights)}, indent=2) + "\n"
    atomic_write_all({out / WEIGHTS_FILE: lambda tmp: torch.save(weights, tmp),
                      out / META_FILE: lambda tmp: tmp.write_text(text, encoding="utf-8")},
                     size_hint=tensor_bytes(weights) + len(text) + 2**16)
    return out
