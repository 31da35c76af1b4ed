"""Training data: prior + task `Transitions`, checked against the config, sampled per algorithm.

Which rows each algorithm sees:
- cog, sac, bc: prior and task rows, uniformly from one buffer (as the original), or with a
  fixed share of task rows per batch (`data.task_fraction`);
- no-prior: task rows; bc-oracle: rows of successful task episodes (see `episode_success`);
- bc-init: prior rows for the BC phase, then task rows for the CQL phase.
The arrays are not concatenated (a 1.5M-transition prior would be copied otherwise):
row indices address the parts through offsets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from cog_core.data.transitions import Transitions
from cog_core.rl.config import TrainConfig
from cog_core.rl.cql import Batch
from cog_core.rl.device import to_device
from cog_core.rl.features import FeatureCache
from cog_core.rl.networks import vector_key


class DataMismatch(ValueError):
    """Datasets that do not fit the config (missing keys, wrong image size, bad shapes)."""


def obs_keys_for(obs_mode: str) -> list[str]:
    """Transitions observation keys an observation mode reads."""
    return {"image": ["image"], "image+state": ["image", "state"], "state": ["lowdim"]}[obs_mode]


def episode_success(t: Transitions, rule: str = "any") -> np.ndarray:
    """Per-row bool: did the row's episode succeed?

    Hook for the data layer: if ``t.meta["episode_success"]`` exists it wins; it is a
    sequence indexed by the part's episode id, or a mapping {episode id: bool}. Otherwise an
    episode succeeded if its reward is > 0 at any step (`rule="any"`) or at its last row
    (`rule="final"`, success at the final step as in evaluation).
    """
    episodes = t.episode
    flags = t.meta.get("episode_success") if isinstance(t.meta, Mapping) else None
    if flags is not None:
        if isinstance(flags, Mapping):
            lookup = {int(k): bool(v) for k, v in flags.items()}
            return np.array([lookup.get(int(e), False) for e in episodes], dtype=bool)
        arr = np.asarray(flags, dtype=bool)
        if len(episodes) and episodes.max() >= len(arr):
            raise DataMismatch(f"meta['episode_success'] has {len(arr)} entries but episode ids reach {episodes.max()}")
        return arr[episodes]
    uniq, inverse = np.unique(episodes, return_inverse=True)
    if rule == "any":
        per_ep = np.zeros(len(uniq), bool)
        np.logical_or.at(per_ep, inverse, t.rewards > 0)
    else:
        last_row = np.zeros(len(uniq), np.int64)
        np.maximum.at(last_row, inverse, np.arange(len(episodes)))
        per_ep = t.rewards[last_row] > 0
    return per_ep[inverse]


@dataclass
class DataSpec:
    """What the networks see: used to build them and recorded in checkpoints and exports."""

    obs: str
    image_size: int | None
    vec_key: str | None
    vec_dim: int
    action_dim: int

    def to_dict(self) -> dict:
        """JSON-able form."""
        return dict(obs=self.obs, image_size=self.image_size, vec_key=self.vec_key, vec_dim=self.vec_dim, action_dim=self.action_dim)


class TrainData:
    """Prior and task transitions plus the row sets each training phase samples from."""

    def __init__(self, cfg: TrainConfig, task: Transitions, prior: Transitions | None = None) -> None:
        self.cfg = cfg
        if prior is None and cfg.needs_prior:
            raise DataMismatch(f"algo {cfg.algo!r} trains on prior data: give a prior dataset (--prior)")
        parts: list[tuple[str, Transitions]] = [("task", task)]
        if prior is not None and cfg.needs_prior:
            parts.insert(0, ("prior", prior))
        keys = obs_keys_for(cfg.obs)
        image_size = None
        action_dim = None
        for name, t in parts:
            try:
                t.validate()
            except ValueError as err:
                raise DataMismatch(f"{name} data: {err}") from None
            if len(t) == 0:
                raise DataMismatch(f"{name} data holds no transitions")
            missing = [k for k in keys if k not in t.obs]
            if missing:
                hint = " (obs=state needs the privileged lowdim vector, recorded in sim only)" if "lowdim" in missing else ""
                raise DataMismatch(
                    f"obs={cfg.obs!r} needs observation key(s) {missing} but the {name} data has {sorted(t.obs)}{hint}; "
                    f"choose obs= one of the modes those keys allow"
                )
            if "image" in keys:
                shape = t.obs["image"].shape[1:]
                if len(shape) != 3 or shape[0] != shape[1] or shape[2] != 3:
                    raise DataMismatch(f"{name} images have shape {shape}; expected square RGB (S, S, 3)")
                if image_size is not None and shape[0] != image_size:
                    raise DataMismatch(
                        f"image size mismatch: prior images are {image_size}x{image_size}, {name} images "
                        f"{shape[0]}x{shape[0]}; convert both datasets at the same size"
                    )
                image_size = shape[0]
            if action_dim is not None and t.actions.shape[1] != action_dim:
                raise DataMismatch(f"action sizes differ: {action_dim} vs {t.actions.shape[1]} in the {name} data")
            action_dim = t.actions.shape[1]
        if image_size is not None and cfg.data.image_size is not None and image_size != cfg.data.image_size:
            raise DataMismatch(
                f"image size mismatch: the config says data.image_size={cfg.data.image_size} but the data holds "
                f"{image_size}x{image_size} images; set data.image_size={image_size} (or null) or convert at that size"
            )
        vkey = vector_key(cfg.obs)
        vec_dim = 0
        if vkey is not None:
            dims = {t.obs[vkey].shape[1] for _, t in parts}
            if len(dims) != 1:
                raise DataMismatch(f"{vkey} vectors differ in size between prior and task data: {sorted(dims)}")
            vec_dim = dims.pop()
        self.spec = DataSpec(cfg.obs, image_size, vkey, vec_dim, int(action_dim))

        self.parts = [t for _, t in parts]
        self.names = [n for n, _ in parts]
        self.offsets = np.cumsum([0] + [len(t) for t in self.parts])
        self.rewards = [
            np.zeros_like(t.rewards) if (n == "prior" and cfg.data.zero_prior_rewards) else t.rewards.astype(np.float32)
            for n, t in parts
        ]
        self.rows = self._row_sets()
        # Frozen-encoder features standing in for the images once attached (`attach_features`).
        self.features: FeatureCache | None = None
        # (task rows, prior rows) of the main phase when batches mix them at a fixed ratio.
        self.task_fraction = cfg.data.task_fraction if len(self.parts) == 2 and cfg.algo in ("cog", "sac", "bc") else None
        self._mix = (self._global("task"), self._global("prior")) if self.task_fraction is not None else None
        for phase, rows in self.rows.items():
            if len(rows) == 0:
                raise DataMismatch(
                    f"algo {cfg.algo!r}, phase {phase!r} has no rows to train on"
                    + (" (bc-oracle found no successful task episodes)" if cfg.algo == "bc-oracle" else "")
                )

    def _global(self, name: str, local: np.ndarray | None = None) -> np.ndarray:
        i = self.names.index(name)
        local = np.arange(len(self.parts[i])) if local is None else local
        return (self.offsets[i] + local).astype(np.int64)

    def _row_sets(self) -> dict[str, np.ndarray]:
        algo = self.cfg.algo
        all_rows = np.arange(self.offsets[-1], dtype=np.int64)
        if algo in ("cog", "sac", "bc"):
            return {"main": all_rows}
        if algo == "no-prior":
            return {"main": self._global("task")}
        if algo == "bc-init":
            return {"bc": self._global("prior"), "main": self._global("task")}
        # bc-oracle: successful task episodes (plus successful prior ones when asked).
        rows = []
        for name, t in zip(self.names, self.parts):
            if name == "prior" and not ("episode_success" in t.meta):
                raise DataMismatch("data.oracle_include_prior needs meta['episode_success'] in the prior data")
            rows.append(self._global(name, np.flatnonzero(episode_success(t, self.cfg.data.oracle_success))))
        return {"main": np.concatenate(rows)}

    def attach_features(self, cache: FeatureCache | None) -> None:
        """Sample cached encoder features (a random one of each image's cached crops) instead of
        images from now on; None goes back to images."""
        if cache is not None and [len(a) for a in cache.obs] != [len(t) for t in self.parts]:
            raise DataMismatch("the feature cache was built for other datasets")
        self.features = cache

    def vec_stats(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and std (floored at 1e-3) of the vector input over the rows used for training."""
        if self.spec.vec_key is None:
            return np.zeros(0, np.float32), np.ones(0, np.float32)
        x = np.concatenate([t.obs[self.spec.vec_key] for t in self.parts]).astype(np.float64)
        return x.mean(0).astype(np.float32), np.maximum(x.std(0), 1e-3).astype(np.float32)

    def sample(self, phase: str, batch_size: int, rng: np.random.Generator) -> Batch:
        """A minibatch (with replacement) from the phase's rows, as torch tensors: host tensors
        except cached features, which are gathered on their device (the update moves the rest).

        Uniform over the rows, except that the main phase of cog/sac/bc draws
        round(task_fraction * batch_size) task rows and the rest prior rows when
        `data.task_fraction` is set.
        """
        if phase == "main" and self._mix is not None:
            assert self.task_fraction is not None
            task_rows, prior_rows = self._mix
            n_task = int(round(self.task_fraction * batch_size))
            idx = np.concatenate(
                [
                    task_rows[rng.integers(0, len(task_rows), size=n_task)],
                    prior_rows[rng.integers(0, len(prior_rows), size=batch_size - n_task)],
                ]
            )
        else:
            rows = self.rows[phase]
            idx = rows[rng.integers(0, len(rows), size=batch_size)]
        crops = rng.integers(0, self.features.crops, size=(2, len(idx))) if self.features is not None else None
        return self.gather(idx, crops)

    def gather(self, idx: np.ndarray, crops: np.ndarray | None = None) -> Batch:
        """The rows `idx` (global indices) as a Batch. With features attached, ``"feat"`` replaces
        ``"image"``: row i's s and s' features are those of cached crops `crops[0, i]` and `crops[1, i]`
        (default: the uncropped image)."""
        keys = obs_keys_for(self.cfg.obs)
        if self.features is not None:
            keys = [k for k in keys if k != "image"]
        if len(self.parts) == 1:
            pieces = [(0, idx, None)]
            is_task = np.full(len(idx), self.names[0] == "task")
        else:
            part_of = np.searchsorted(self.offsets, idx, side="right") - 1
            is_task = part_of == self.names.index("task")
            pieces = [(p, idx[part_of == p] - self.offsets[p], np.flatnonzero(part_of == p)) for p in range(len(self.parts))]

        def take(get) -> np.ndarray:
            arrays = [(get(p)[local], where) for p, local, where in pieces]
            if len(arrays) == 1:
                return arrays[0][0]
            first = arrays[0][0]
            out = np.empty((len(idx),) + first.shape[1:], first.dtype)
            for arr, where in arrays:
                out[where] = arr
            return out

        obs = {k: torch.from_numpy(take(lambda p, k=k: self.parts[p].obs[k])) for k in keys}
        nxt = {k: torch.from_numpy(take(lambda p, k=k: self.parts[p].next_obs[k])) for k in keys}
        if self.features is not None:  # gathered where the cache lives (the training device)
            f = self.features
            crops = np.zeros((2, len(idx)), np.int64) if crops is None else crops
            for d, arrays, which in ((obs, f.obs, crops[0]), (nxt, f.next_obs, crops[1])):
                feat = torch.empty((len(idx), f.feature_dim), dtype=torch.float32, device=f.device)
                for p, local, where in pieces:
                    rows = slice(None) if where is None else where
                    pick = [to_device(torch.from_numpy(np.ascontiguousarray(a)), f.device) for a in (local, which[rows])]
                    if where is None:
                        feat[:] = arrays[p][pick[0], pick[1]]
                    else:
                        feat[to_device(torch.from_numpy(where), f.device)] = arrays[p][pick[0], pick[1]]
                d["feat"] = feat
        for d in (obs, nxt):
            for k in d:
                if k != "image":
                    d[k] = d[k].float()
        return Batch(
            obs=obs,
            next_obs=nxt,
            actions=torch.from_numpy(take(lambda p: self.parts[p].actions)).float(),
            rewards=torch.from_numpy(take(lambda p: self.rewards[p])).float(),
            dones=torch.from_numpy(take(lambda p: self.parts[p].dones)).float(),
            is_task=torch.from_numpy(is_task),
        )

    def provenance(self) -> dict:
        """JSON-able description of the data (files, hashes, sizes) for checkpoints and exports."""
        out = {}
        for name, t in zip(self.names, self.parts):
            meta = {k: v for k, v in t.meta.items() if isinstance(v, (str, int, float, bool))} if isinstance(t.meta, Mapping) else {}
            out[name] = {"transitions": len(t), "episodes": int(len(np.unique(t.episode))), **meta}
        out["rows_per_phase"] = {k: int(len(v)) for k, v in self.rows.items()}
        return out


def run_dataset(meta: dict, role: str, given: str | None = None) -> str | None:
    """The dataset for `role` ("task" or "prior") of a checkpoint's run: `given`, else the file it recorded.

    Raises FileNotFoundError naming the fix when the recorded file is gone.
    """
    if given is not None:
        return given
    recorded = meta.get("data", {}).get(role, {}).get("file")
    if recorded and not Path(recorded).is_file():
        raise FileNotFoundError(f"the run was trained on {recorded}, which is gone; pass --{role} with its new path")
    return recorded


def load_train_data(cfg: TrainConfig, task_path: str | Path, prior_path: str | Path | None,
                    verify: bool = True) -> TrainData:
    """Load the task (and, if the algorithm uses it, the prior) dataset for `cfg` as TrainData;
    `verify` checks every array against its recorded checksum.

    Raises DatasetError for unreadable or damaged files and DataMismatch for data that do not fit `cfg`.
    """
    from cog_core.data.dataset import DatasetError, load_transitions

    keys = obs_keys_for(cfg.obs)
    oracle = cfg.obs != "state" and cfg.arch == "frozen" and cfg.encoder.objective == "oracle"
    if oracle:
        keys = [*keys, "lowdim"]  # the oracle encoder regresses the privileged poses

    def load(path: str | Path, is_task: bool) -> Transitions:
        try:
            return load_transitions(path, obs_keys=keys, is_task=is_task, verify=verify)
        except DatasetError as err:
            if oracle and "lowdim" in str(err):
                raise DataMismatch(
                    f"encoder.objective=oracle regresses the simulator's privileged poses ('lowdim'), which {path} does "
                    f"not hold (a real robot's data has none); use encoder.objective=contrastive (the default)") from None
            raise

    task = load(task_path, True)
    prior = load(prior_path, False) if (prior_path and cfg.needs_prior) else None
    return TrainData(cfg, task, prior)


def phase_schedule(cfg: TrainConfig, step: int) -> tuple[str, bool, bool]:
    """(row set, train the critic?, BC policy loss?) for gradient step `step`."""
    if cfg.algo in ("bc", "bc-oracle"):
        return "main", False, True
    if cfg.algo == "bc-init":
        if step < cfg.data.bc_init_prior_steps:
            return "bc", False, True
        return "main", True, False  # the policy is already BC-initialised: no warm start
    return "main", True, step < cfg.sac.bc_warmstart_steps


def synthetic_transitions(
    n_episodes: int,
    length: int,
    obs_keys: Sequence[str] = ("image", "state", "lowdim"),
    image_size: int = 48,
    is_task: bool = True,
    seed: int = 0,
    success_every: int = 2,
) -> Transitions:
    """Small random Transitions (for tests and benchmarks): every `success_every`-th episode ends rewarded."""
    rng = np.random.default_rng(seed)
    n = n_episodes * length
    def obs_arrays() -> dict[str, np.ndarray]:
        out = {}
        if "image" in obs_keys:
            out["image"] = rng.integers(0, 256, (n, image_size, image_size, 3), dtype=np.uint8)
        if "state" in obs_keys:
            out["state"] = rng.normal(size=(n, 9)).astype(np.float32)
        if "lowdim" in obs_keys:
            out["lowdim"] = rng.normal(size=(n, 12)).astype(np.float32)
        return out
    episode = np.repeat(np.arange(n_episodes), length).astype(np.int64)
    rewards = np.zeros(n, np.float32)
    for e in range(0, n_episodes, success_every):
        rewards[(e + 1) * length - 3 : (e + 1) * length] = 1.0
    return Transitions(
        obs=obs_arrays(),
        next_obs=obs_arrays(),
        actions=rng.uniform(-0.9, 0.9, (n, 8)).astype(np.float32),
        rewards=rewards if is_task else np.zeros(n, np.float32),
        dones=np.zeros(n, np.float32),
        is_task=np.full(n, is_task),
        episode=episode,
        meta={"file": "synthetic", "role": "task" if is_task else "prior"},
    )
