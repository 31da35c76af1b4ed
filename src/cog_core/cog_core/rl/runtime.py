"""Load an exported policy and return deterministic actions (tanh of the mean) from obs dicts.

An export directory holds ``policy.pt`` (a plain state dict, ``torch.load(weights_only=True)``)
and ``policy.json`` (observation spec, action spec, architecture, provenance, and the SHA-256
of the weights). Loading refuses, with an `ExportError` that says what is wrong, an export
whose weights fail that digest or hold NaN/inf, whose metadata contradicts itself or the
weights, or that is not an export at all.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from cog_core.config import ConfigError, from_dict
from cog_core.rl.checkpoint import tree_digest
from cog_core.rl.config import TrainConfig
from cog_core.rl.data import obs_keys_for
from cog_core.rl.networks import ActorCritic, policy_parts, prepare_obs, vector_key
from cog_core.stations.policy_meta import EXPORT_FORMAT, EXPORT_FORMATS, META_FILE, WEIGHTS_FILE

DIGEST_KEY = "weights_sha256"


class ExportError(ValueError):
    """A policy export that cannot be loaded; the message names the file, the problem and the fix."""

# Keys of an averaged policy's state dict (torch.optim.swa_utils.AveragedModel around a
# ModuleDict of the actor's `encoder` and `head`) start with this.
AVERAGE_PREFIX = "module."


class PolicyNet(nn.Module):
    """Observation encoder + Gaussian head + vector standardisation: the deployable policy."""

    def __init__(self, cfg: TrainConfig, image_size: int | None, vec_dim: int, action_dim: int) -> None:
        super().__init__()
        self.obs_mode = cfg.obs
        self.encoder, self.head = policy_parts(cfg, image_size, vec_dim, action_dim)
        self.register_buffer("vec_mean", torch.zeros(vec_dim))
        self.register_buffer("vec_std", torch.ones(vec_dim))

    def distribution(self, obs: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Raw batch -> the pre-tanh Gaussian's (mean, log_std), each (B, A)."""
        x = prepare_obs(obs, self.obs_mode, self.vec_mean, self.vec_std)
        return self.head(self.encoder(x))

    def forward(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        """Raw batch (uint8 NHWC image, float vectors) -> deterministic actions (B, A)."""
        mean, _ = self.distribution(obs)
        return torch.tanh(mean)


def policy_state_dict(model: ActorCritic, average: Mapping[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
    """The PolicyNet state dict carved out of a trained ActorCritic (CPU copies, contiguous, whatever
    device the model trains on); with `average` (the state dict of the trainer's averaged policy),
    its averaged actor weights."""
    def cpu_copy(value: torch.Tensor) -> torch.Tensor:
        return value.detach().to("cpu", copy=True).contiguous()

    out = {}
    for key, value in model.state_dict().items():
        for src, dst in (("policy_encoder.", "encoder."), ("policy_head.", "head.")):
            if key.startswith(src):
                out[dst + key[len(src):]] = cpu_copy(value)
        if key in ("vec_mean", "vec_std"):
            out[key] = cpu_copy(value)
    if average is not None:
        for key, value in average.items():
            if key.startswith(AVERAGE_PREFIX) and key[len(AVERAGE_PREFIX):] in out:
                out[key[len(AVERAGE_PREFIX):]] = cpu_copy(value)
    return out


class PolicyRuntime:
    """A loaded policy: `act(obs)` -> float32 action in [-1, 1] (deterministic). It runs on the CPU
    (one observation at a time, where a GPU would only add transfers), whatever the run trained on."""

    def __init__(self, net: PolicyNet, meta: dict[str, Any]) -> None:
        self.net = net.eval()
        self.meta = meta
        self.obs_mode = meta["obs"]["mode"]
        self.keys: list[str] = list(meta["obs"]["keys"])
        self.image_size: int | None = meta["obs"]["image_size"]
        self.vec_dim: int = meta["obs"]["vec_dim"]
        self.action_dim: int = meta["action"]["dim"]

    @classmethod
    def load(cls, directory: str | Path) -> "PolicyRuntime":
        """Load an export directory written by `cogrl export` / `export_policy` (FileNotFoundError
        when it is not one; ExportError when it is damaged or inconsistent)."""
        directory = Path(directory)
        meta_path, weights_path = directory / META_FILE, directory / WEIGHTS_FILE
        if not meta_path.is_file() or not weights_path.is_file():
            raise FileNotFoundError(f"{directory} is not a policy export (needs {META_FILE} and {WEIGHTS_FILE})")
        fix = "re-export it with `cogrl export --run <run> --out <dir>`"
        try:
            meta = json.loads(meta_path.read_text())
        except (UnicodeDecodeError, ValueError) as err:
            raise ExportError(f"{meta_path} is not valid JSON ({err}); {fix}") from None
        if not isinstance(meta, dict) or meta.get("format") not in EXPORT_FORMATS:
            found = meta.get("format") if isinstance(meta, dict) else None
            raise ExportError(f"{meta_path}: format {found!r}, expected {EXPORT_FORMAT!r}; {fix}")
        cfg, dims = _checked_metadata(meta_path, meta, fix)
        try:
            weights = torch.load(weights_path, map_location="cpu", weights_only=True)
        except Exception as err:  # noqa: BLE001 - any unpickling failure means "not our weights"
            raise ExportError(f"{weights_path} does not load as weights ({err}); {fix}") from None
        if not isinstance(weights, dict) or not all(isinstance(v, torch.Tensor) for v in weights.values()):
            raise ExportError(f"{weights_path} is not a state dict of tensors; {fix}")
        if meta["format"] == EXPORT_FORMAT and meta.get(DIGEST_KEY) != tree_digest(weights):
            raise ExportError(f"{weights_path} fails the checksum in {META_FILE} (the files changed after export: "
                              f"disk or copy damage, or the two files come from different exports); {fix}")
        bad = [k for k, v in weights.items() if v.is_floating_point() and not torch.isfinite(v).all()]
        if bad:
            raise ExportError(f"{weights_path}: weights {bad[:3]} hold NaN or inf; {fix} from a run that did not diverge")
        net = PolicyNet(cfg, *dims)
        try:
            net.load_state_dict(weights)
        except RuntimeError as err:
            first = " ".join(line.strip() for line in str(err).strip().splitlines()[:2])[:300]
            raise ExportError(f"{weights_path} does not fit the network {META_FILE} describes ({first}); {fix}") from None
        return cls(net.to(memory_format=torch.channels_last), meta)

    @classmethod
    def from_model(cls, model: ActorCritic, cfg: TrainConfig, meta: dict[str, Any],
                   average: Mapping[str, torch.Tensor] | None = None) -> "PolicyRuntime":
        """A runtime sharing nothing with a live training model (weights copied), e.g. for evaluation;
        `average` as in `policy_state_dict`."""
        net = PolicyNet(cfg, meta["obs"]["image_size"], meta["obs"]["vec_dim"], meta["action"]["dim"])
        net.load_state_dict(policy_state_dict(model, average))
        return cls(net.to(memory_format=torch.channels_last), meta)

    def _batch(self, obs: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        missing = [k for k in self.keys if k not in obs]
        if missing:
            raise KeyError(f"policy needs observation key(s) {missing} (obs mode {self.obs_mode!r}); got {sorted(obs)}")
        out = {}
        for k in self.keys:
            x = np.asarray(obs[k])
            if k == "image":
                want = (self.image_size, self.image_size, 3)
                if x.shape != want or x.dtype != np.uint8:
                    raise ValueError(
                        f"policy expects uint8 images of shape {want}, got {x.dtype} {x.shape}; "
                        f"render or resize the camera image to {self.image_size}x{self.image_size}"
                    )
                out[k] = torch.from_numpy(np.ascontiguousarray(x))[None]
            else:
                if x.shape != (self.vec_dim,):
                    raise ValueError(f"policy expects {k!r} of shape ({self.vec_dim},), got {x.shape}")
                out[k] = torch.as_tensor(x, dtype=torch.float32)[None]
        return out

    @torch.inference_mode()
    def act(self, obs: Mapping[str, Any]) -> np.ndarray:
        """Deterministic action (tanh of the mean), float32 (action_dim,), for one observation dict."""
        return self.net(self._batch(obs))[0].numpy().astype(np.float32)

    @torch.inference_mode()
    def sample(self, obs: Mapping[str, Any], generator: torch.Generator) -> np.ndarray:
        """Stochastic action tanh(mean + std * eps), float32 (action_dim,): exploration while fine-tuning."""
        mean, log_std = self.net.distribution(self._batch(obs))
        eps = torch.randn(mean.shape, generator=generator)
        return torch.tanh(mean + log_std.exp() * eps)[0].numpy().astype(np.float32)


def _checked_metadata(meta_path: Path, meta: dict[str, Any], fix: str) -> tuple[TrainConfig, tuple[int | None, int, int]]:
    """The config and (image size, vector size, action size) of an export's metadata, after
    checking that its observation and action entries are there, typed, and agree with each other
    and with the config; ExportError otherwise."""
    def fail(what: str) -> ExportError:
        return ExportError(f"{meta_path}: {what}; {fix}")

    obs, action = meta.get("obs"), meta.get("action")
    if not isinstance(obs, dict) or not isinstance(action, dict) or not isinstance(meta.get("config"), dict):
        raise fail("the obs, action or config entry is missing")
    try:
        cfg = from_dict(TrainConfig, meta["config"])
    except (ConfigError, TypeError, ValueError) as err:
        raise fail(f"its config is not valid ({err})") from None
    size, vec_dim, dim = obs.get("image_size"), obs.get("vec_dim"), action.get("dim")
    if not (size is None or (type(size) is int and size > 0)) or type(vec_dim) is not int or vec_dim < 0 or type(dim) is not int or dim < 1:
        raise fail(f"obs.image_size {size!r}, obs.vec_dim {vec_dim!r} or action.dim {dim!r} is not a valid size")
    if obs.get("mode") != cfg.obs or obs.get("keys") != obs_keys_for(cfg.obs) or obs.get("vec_key") != vector_key(cfg.obs):
        raise fail(f"obs entry (mode {obs.get('mode')!r}, keys {obs.get('keys')!r}, vec_key {obs.get('vec_key')!r}) "
                   f"contradicts the config's obs={cfg.obs!r}, which observes {obs_keys_for(cfg.obs)}")
    if ("image" in obs_keys_for(cfg.obs)) != (size is not None) or (vector_key(cfg.obs) is None) != (vec_dim == 0):
        raise fail(f"obs.image_size {size!r} / obs.vec_dim {vec_dim!r} do not fit obs={cfg.obs!r}")
    return cfg, (size, vec_dim, dim)
