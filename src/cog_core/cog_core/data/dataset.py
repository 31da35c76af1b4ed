"""Load HDF5 datasets written by `cogrl convert` into Transitions, and mix prior + task data.

COG samples prior and task transitions uniformly from their union (the default here);
:class:`MixedSampler` also offers a fixed task fraction per batch.

Loading checks every demo before training sees it: the arrays the layout needs are there,
with one row per transition, uint8 images, 1-D rewards and finite numbers; and each array
matches the CRC-32 `cogrl convert` recorded for it (datasets of format version 2 on), so a
file damaged on disk is refused, naming the demo and the array, instead of training on it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import h5py
import numpy as np

from cog_core.bag.integrity import crc
from cog_core.data.transitions import Transitions

OBS_KEYS = ("image", "state", "lowdim")
CHECKSUMS_FROM_VERSION = 2  # format_version from which every demo records its arrays' CRCs


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
    names = [n for n in data.keys() if n.startswith("demo_")]
    bad = [n for n in names if not n[len("demo_"):].isdigit()]
    if bad:
        raise DatasetError(f"data/{bad[0]} is not named demo_<number>; the file was not written by `cogrl convert`")
    return sorted(names, key=lambda n: int(n.split("_")[-1]))


def dataset_role(path: str | Path) -> str:
    """The role ("prior" or "task") that `cogrl convert --role` recorded in a dataset."""
    with open_dataset(path) as h5:
        return str(h5["data"].attrs["role"])


def check_roles(task: str | Path, prior: str | Path | None) -> None:
    """Refuse a task dataset given as the prior or the reverse (by the role `cogrl convert`
    recorded), and one file given as both; DatasetError says which flag to fix."""
    if prior is not None and Path(prior).resolve() == Path(task).resolve():
        raise DatasetError(f"--task and --prior are the same file ({task}); give the task dataset as --task and "
                           "the prior dataset as --prior")
    for flag, path in (("task", task), ("prior", prior)):
        if path is None:
            continue
        role = dataset_role(path)
        if role != flag:
            raise DatasetError(
                f"{path} was converted as the {role} dataset (`cogrl convert --role {role}`) but is given as --{flag}; "
                f"pass it as --{role}, or convert the {flag} bags with --role {flag}"
            )


def format_version(data: h5py.Group) -> int:
    """The dataset format version of an open file's data group (0 when absent or unreadable)."""
    try:
        return int(data.attrs.get("format_version", 0))
    except (TypeError, ValueError):
        return 0


def _read_demo(path: Path, g: h5py.Group, name: str, keys: Sequence[str], verify: bool) -> dict[str, np.ndarray]:
    """A demo's arrays ("obs/<k>", "next_obs/<k>", "actions", "rewards", "dones"), checked
    against the layout and (with `verify`) against their recorded CRCs; DatasetError otherwise."""
    where = f"{path}: data/{name}"
    wanted = [f"{s}/{k}" for s in ("obs", "next_obs") for k in keys] + ["actions", "rewards", "dones"]
    missing = [k for k in wanted if k not in g or not isinstance(g[k], h5py.Dataset)]
    if missing:
        raise DatasetError(f"{where} lacks {', '.join(missing)}; convert the bags again with `cogrl convert`")
    try:
        arrays = {k: g[k][()] for k in wanted}
    except (OSError, KeyError, ValueError) as err:  # h5py's errors for unreadable chunks or filters
        raise DatasetError(f"{where} cannot be read ({err}); the file is damaged: convert the bags again") from None
    if verify:
        try:
            recorded = json.loads(str(g.attrs["checksums"]))
        except (KeyError, ValueError):
            raise DatasetError(f"{where} has no readable checksums although its format records them (damaged?); "
                               "convert the bags again, or pass --no-verify to load it unchecked") from None
        for k in wanted:
            if k in recorded and crc(np.ascontiguousarray(arrays[k]).data.cast("B")) != recorded[k]:
                raise DatasetError(f"{where}/{k} fails its checksum (the file changed after `cogrl convert` wrote it: "
                                   "disk or copy damage); convert the bags again, or pass --no-verify to load it unchecked")
            if k not in recorded:
                raise DatasetError(f"{where}/{k} has no recorded checksum (damaged?); convert the bags again, "
                                   "or pass --no-verify to load it unchecked")
    rows = len(arrays["actions"]) if arrays["actions"].ndim else -1
    for k, a in arrays.items():
        if a.ndim == 0 or len(a) != rows:
            raise DatasetError(f"{where}/{k} has shape {a.shape}, but actions has {rows} rows; every array holds one row per transition")
    if arrays["actions"].ndim != 2:
        raise DatasetError(f"{where}/actions has shape {arrays['actions'].shape}; expected (T, action_dim)")
    for k in ("rewards", "dones"):
        if arrays[k].ndim != 1:
            raise DatasetError(f"{where}/{k} has shape {arrays[k].shape}; expected one value per transition ({rows},)")
    for s in ("obs", "next_obs"):
        if "image" in keys:
            im = arrays[f"{s}/image"]
            if im.dtype != np.uint8 or im.ndim != 4 or im.shape[3] != 3:
                raise DatasetError(f"{where}/{s}/image is {im.dtype} {im.shape}; expected uint8 (T, H, W, 3) RGB images")
        for k in keys:
            if k != "image" and (arrays[f"{s}/{k}"].ndim != 2 or not np.issubdtype(arrays[f"{s}/{k}"].dtype, np.floating)):
                raise DatasetError(f"{where}/{s}/{k} is {arrays[f'{s}/{k}'].dtype} {arrays[f'{s}/{k}'].shape}; expected float (T, D)")
    for k, a in arrays.items():
        if np.issubdtype(a.dtype, np.floating) and not np.all(np.isfinite(a)):
            row = int(np.argwhere((~np.isfinite(a.reshape(len(a), -1))).any(axis=1))[0][0])
            raise DatasetError(f"{where}/{k} holds NaN or inf (row {row}); the file is damaged or was not written by `cogrl convert`")
        if not (np.issubdtype(a.dtype, np.number) or a.dtype == np.bool_):
            raise DatasetError(f"{where}/{k} has dtype {a.dtype}; expected numbers")
    return arrays


def load_transitions(path: str | Path, *, obs_keys: Sequence[str] | None = None, is_task: bool | None = None,
                     role: str | None = None, verify: bool = True) -> Transitions:
    """One dataset file as Transitions; `is_task` defaults to the file's role == "task".

    With `role`, a file whose recorded role differs is refused (a task file given as the prior,
    or the reverse). With `verify` (the default) every array is checked against its recorded
    CRC-32; ``meta["verified"]`` says whether it was (False for files older than checksums).
    """
    path = Path(path)
    with open_dataset(path) as h5:
        data = h5["data"]
        recorded_role = str(data.attrs["role"])
        if role is not None and recorded_role != role:
            raise DatasetError(
                f"{path} was converted as the {recorded_role} dataset (`cogrl convert --role {recorded_role}`) but is given "
                f"as the {role} dataset; pass it as --{recorded_role}, or convert the {role} bags with --role {role}"
            )
        names = _demo_names(data)
        if not names:
            raise DatasetError(f"{path}: holds no episodes; convert bags that hold complete episodes")
        available = [k for k in OBS_KEYS if f"obs/{k}" in data[names[0]]]
        keys = list(available if obs_keys is None else obs_keys)
        missing = [k for k in keys if k not in available]
        if missing:
            raise DatasetError(f"{path}: has no obs key(s) {missing}; it has {available}")
        checked = verify and format_version(data) >= CHECKSUMS_FROM_VERSION
        obs: dict[str, list[np.ndarray]] = {k: [] for k in keys}
        nxt: dict[str, list[np.ndarray]] = {k: [] for k in keys}
        acts, rews, dones, eps = [], [], [], []
        for i, n in enumerate(names):
            arrays = _read_demo(path, data[n], n, keys, checked)
            for k in keys:
                obs[k].append(arrays[f"obs/{k}"])
                nxt[k].append(arrays[f"next_obs/{k}"])
            acts.append(arrays["actions"])
            rews.append(arrays["rewards"])
            dones.append(arrays["dones"])
            eps.append(np.full(len(arrays["actions"]), i, np.int64))
        shapes = {k: {a.shape[1:] for a in obs[k]} for k in keys} | {"actions": {a.shape[1:] for a in acts}}
        mixed = [k for k, v in shapes.items() if len(v) > 1]
        if mixed:
            raise DatasetError(f"{path}: {mixed[0]} shapes differ between demos ({sorted(shapes[mixed[0]])}); convert the bags again")
        n_rows = sum(len(a) for a in acts)
        task = (recorded_role == "task") if is_task is None else bool(is_task)
        t = Transitions(
            obs={k: np.concatenate(v) for k, v in obs.items()},
            next_obs={k: np.concatenate(v) for k, v in nxt.items()},
            actions=np.concatenate(acts).astype(np.float32),
            rewards=np.concatenate(rews).astype(np.float32),
            dones=np.concatenate(dones).astype(np.float32),
            is_task=np.full(n_rows, task, bool),
            episode=np.concatenate(eps),
            meta={"file": str(path), "role": recorded_role, "content_hash": str(data.attrs.get("content_hash", "")),
                  "episodes": len(names), "verified": checked},
        )
    try:
        t.validate()
    except ValueError as err:
        raise DatasetError(f"{path}: {err}") from None
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
        if not all(k in g and isinstance(g[k], h5py.Dataset) for k in ("actions", "rewards", "obs/image")):
            raise DatasetError(f"data/{name} lacks actions, rewards or obs/image; the file is damaged or was not written by `cogrl convert`")
        a = g["actions"][:].astype(np.float64)
        if a.ndim != 2 or len(a) == 0:
            raise DatasetError(f"data/{name}/actions has shape {a.shape}; expected (T, action_dim) with T >= 1")
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
