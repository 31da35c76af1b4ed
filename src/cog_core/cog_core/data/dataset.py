"""Load HDF5 datasets written by `cogrl convert` into Transitions, and mix prior + task data.

COG samples prior and task transitions uniformly from their union (the default here);
:class:`MixedSampler` also offers a fixed task fraction per batch.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import h5py
import numpy as np

from cog_core.data.transitions import Transitions

OBS_KEYS = ("image", "state", "lowdim")


class DatasetError(ValueError):
    """A file that is not a dataset written by `cogrl convert`, or is inconsistent."""


def open_dataset(path: str | Path) -> h5py.File:
    """Open a dataset read-only, checking it is one of ours."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such file")
    try:
        h5 = h5py.File(path, "r")
    except OSError as err:
        raise DatasetError(f"{path}: not a readable HDF5 file ({err})") from None
    if "data" not in h5 or "role" not in h5["data"].attrs:
        h5.close()
        raise DatasetError(f"{path}: not a dataset written by `cogrl convert` (no data group with a role attribute)")
    return h5


def _demo_names(data: h5py.Group) -> list[str]:
    return sorted((n for n in data.keys() if n.startswith("demo_")), key=lambda n: int(n.split("_")[-1]))


def load_transitions(path: str | Path, *, obs_keys: Sequence[str] | None = None, is_task: bool | None = None) -> Transitions:
    """One dataset file as Transitions; `is_task` defaults to the file's role == "task"."""
    with open_dataset(path) as h5:
        data = h5["data"]
        role = str(data.attrs["role"])
        names = _demo_names(data)
        if not names:
            raise DatasetError(f"{path}: holds no episodes")
        available = [k for k in OBS_KEYS if f"obs/{k}" in data[names[0]]]
        keys = list(available if obs_keys is None else obs_keys)
        missing = [k for k in keys if k not in available]
        if missing:
            raise DatasetError(f"{path}: has no obs key(s) {missing}; it has {available}")
        obs: dict[str, list[np.ndarray]] = {k: [] for k in keys}
        nxt: dict[str, list[np.ndarray]] = {k: [] for k in keys}
        acts, rews, dones, eps = [], [], [], []
        for i, n in enumerate(names):
            g = data[n]
            for k in keys:
                obs[k].append(g[f"obs/{k}"][:])
                nxt[k].append(g[f"next_obs/{k}"][:])
            acts.append(g["actions"][:])
            rews.append(g["rewards"][:])
            dones.append(g["dones"][:])
            eps.append(np.full(len(g["actions"]), i, np.int64))
        n_rows = sum(len(a) for a in acts)
        task = (role == "task") if is_task is None else bool(is_task)
        t = Transitions(
            obs={k: np.concatenate(v) for k, v in obs.items()},
            next_obs={k: np.concatenate(v) for k, v in nxt.items()},
            actions=np.concatenate(acts).astype(np.float32),
            rewards=np.concatenate(rews).astype(np.float32),
            dones=np.concatenate(dones).astype(np.float32),
            is_task=np.full(n_rows, task, bool),
            episode=np.concatenate(eps),
            meta={"file": str(path), "role": role, "content_hash": str(data.attrs.get("content_hash", "")),
                  "episodes": len(names)},
        )
    t.validate()
    return t


def load_datasets(paths: Iterable[str | Path], *, obs_keys: Sequence[str] | None = None) -> Transitions:
    """Several dataset files (e.g. prior + task) as one Transitions; is_task from each file's role.

    With ``obs_keys=None`` the keys every file has are kept (e.g. lowdim is dropped when one
    file lacks it).
    """
    paths = [Path(p) for p in paths]
    if not paths:
        raise DatasetError("no dataset files given")
    if obs_keys is None:
        common = None
        for p in paths:
            with open_dataset(p) as h5:
                names = _demo_names(h5["data"])
                have = {k for k in OBS_KEYS if names and f"obs/{k}" in h5["data"][names[0]]}
            common = have if common is None else common & have
        obs_keys = [k for k in OBS_KEYS if k in (common or set())]
    parts = [load_transitions(p, obs_keys=obs_keys) for p in paths]
    return parts[0] if len(parts) == 1 else Transitions.concatenate(parts)


class MixedSampler:
    """Batch indices into Transitions: uniform over all rows, or a fixed task fraction.

    ``task_fraction=None`` is COG's choice (one buffer, uniform). With a fraction f,
    each batch holds round(f * batch) task rows and the rest prior rows.
    """

    def __init__(self, transitions: Transitions, *, task_fraction: float | None = None, seed: int | None = None) -> None:
        self.n = len(transitions)
        if self.n == 0:
            raise ValueError("cannot sample from an empty dataset")
        self.task_rows = np.flatnonzero(transitions.is_task)
        self.prior_rows = np.flatnonzero(~transitions.is_task)
        if task_fraction is not None:
            if not 0.0 <= task_fraction <= 1.0:
                raise ValueError(f"task_fraction must be in [0, 1], got {task_fraction}")
            if task_fraction > 0 and len(self.task_rows) == 0:
                raise ValueError("task_fraction > 0 but the data holds no task rows")
            if task_fraction < 1 and len(self.prior_rows) == 0:
                raise ValueError("task_fraction < 1 but the data holds no prior rows")
        self.task_fraction = task_fraction
        self.rng = np.random.default_rng(seed)

    def sample(self, batch_size: int) -> np.ndarray:
        """Row indices (int64) of one batch."""
        if self.task_fraction is None:
            return self.rng.integers(0, self.n, size=batch_size)
        k = int(round(self.task_fraction * batch_size))
        idx = np.concatenate([
            self.task_rows[self.rng.integers(0, len(self.task_rows), size=k)] if k else np.zeros(0, np.int64),
            self.prior_rows[self.rng.integers(0, len(self.prior_rows), size=batch_size - k)] if batch_size - k else np.zeros(0, np.int64),
        ])
        return idx.astype(np.int64)


def dataset_stats(h5: h5py.File) -> dict:
    """Counts, per-(task, condition, policy) success/return and action ranges of an open dataset."""
    data = h5["data"]
    names = _demo_names(data)
    groups: dict[tuple[str, str, str], dict] = {}
    amin = amax = None
    s1 = s2 = None
    n = 0
    for name in names:
        g = data[name]
        a = g["actions"][:].astype(np.float64)
        key = (str(g.attrs.get("task", "")), str(g.attrs.get("initial_condition", "")), str(g.attrs.get("policy", "")))
        st = groups.setdefault(key, {"episodes": 0, "transitions": 0, "successes": 0, "return": 0.0})
        st["episodes"] += 1
        st["transitions"] += len(a)
        st["successes"] += int(bool(g.attrs.get("success", False)))
        st["return"] += float(g["rewards"][:].sum())
        amin = a.min(0) if amin is None else np.minimum(amin, a.min(0))
        amax = a.max(0) if amax is None else np.maximum(amax, a.max(0))
        s1 = a.sum(0) if s1 is None else s1 + a.sum(0)
        s2 = (a**2).sum(0) if s2 is None else s2 + (a**2).sum(0)
        n += len(a)
    mean = s1 / max(n, 1) if s1 is not None else np.zeros(0)
    std = np.sqrt(np.maximum(s2 / max(n, 1) - mean**2, 0)) if s2 is not None else np.zeros(0)
    prov = json.loads(data.attrs.get("cog", "{}"))
    return {
        "role": str(data.attrs["role"]),
        "episodes": len(names),
        "transitions": n,
        "image_shape": tuple(data[names[0]]["obs/image"].shape[1:]) if names else (),
        "content_hash": str(data.attrs.get("content_hash", "")),
        "groups": groups,
        "actions": {"names": prov.get("action_names", [f"a{i}" for i in range(len(mean))]),
                    "min": amin, "max": amax, "mean": mean, "std": std},
        "provenance": prov,
    }
