"""Bags -> HDF5 training dataset (robomimic-compatible layout). See docs/data-format.md.

Each complete episode with T >= 1 actions becomes ``data/demo_<i>`` holding T transitions:
``obs/{image,state[,lowdim]}`` (steps 0..T-1), ``next_obs/...`` (steps 1..T), ``actions``,
``rewards`` (zeros for role "prior": the COG relabelling) and ``dones`` (is_terminal of the
next step). Provenance, counts and a content hash go into ``data.attrs``; each demo's
``checksums`` attribute holds the CRC-32 of each of its arrays, which loading verifies.
Episodes read twice (the same bag given twice, a folder and its subfolder, a copied bag) are
written once. A full disk raises `cog_core.files.DiskFull` before HDF5 runs out of space
(HDF5 itself crashes the process when a write fails), and no temporary is left behind.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import h5py
import numpy as np

from cog_core import __version__
from cog_core.bag.integrity import crc
from cog_core.bag.reader import BagReader, Problem
from cog_core.files import DiskFull, free_bytes, is_disk_full, process_alive, replace_with
from cog_core.robot.action import ACTION_NAMES, STATE_NAMES

ROLES = ("prior", "task")
FORMAT = "cog_widowx_hdf5"
FORMAT_VERSION = 2  # 2: every demo records the CRC-32 of each array ("checksums")
# Free space kept in hand while converting: HDF5's own bookkeeping and the final flush.
DISK_RESERVE = 2**20


@dataclass
class ConvertOptions:
    """What to convert and how."""

    role: str
    resize: tuple[int, int] | None = None  # (height, width) of the stored images
    tasks: Sequence[str] = ()  # glob patterns; empty = all
    conditions: Sequence[str] = ()
    policies: Sequence[str] = ()
    success: bool | None = None  # keep only successful (True) / failed (False) episodes
    lowdim: bool = True  # store obs/lowdim when the episodes carry it
    compression: str | None = None  # None, "gzip" or "lzf"

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, got {self.role!r}")
        if self.resize is not None and (len(self.resize) != 2 or min(self.resize) < 1):
            raise ValueError(f"resize must be (height, width) >= 1, got {self.resize}")
        if self.compression not in (None, "gzip", "lzf"):
            raise ValueError(f"compression must be gzip, lzf or none, got {self.compression!r}")


@dataclass
class ConvertResult:
    """What a conversion did."""

    output: Path
    episodes: int = 0
    transitions: int = 0
    filtered_out: int = 0
    empty: int = 0
    aborted: int = 0
    duplicates: int = 0  # episodes read more than once (dropped)
    problems: list[Problem] = field(default_factory=list)
    bytes_read: int = 0
    bytes_written: int = 0
    seconds: float = 0.0
    content_hash: str = ""
    groups: dict[tuple[str, str, str], dict] = field(default_factory=dict)  # (task, condition, policy) -> stats

    @property
    def dropped(self) -> list[Problem]:
        """Problems that lost data."""
        return [p for p in self.problems if p.dropped]


class NothingToConvert(ValueError):
    """No episode survived reading and filtering."""


def _matches(value: str, patterns: Sequence[str]) -> bool:
    return not patterns or any(fnmatch.fnmatchcase(value, p) for p in patterns)


def _resize(images: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    h, w = hw
    if images.shape[1:3] == (h, w):
        return images
    interp = cv2.INTER_AREA if h < images.shape[1] else cv2.INTER_LINEAR
    return np.stack([cv2.resize(im, (w, h), interpolation=interp) for im in images])


def _temp_prefix(output: Path) -> str:
    """Name prefix of `output`'s temporaries; the writing process's id follows it."""
    return f".{output.name}.tmp-"


def remove_stale_temp_files(output: Path) -> list[Path]:
    """Delete half-written temporaries of `output` left by conversions that were killed; returns them.

    A temporary belongs to a conversion by its process id, so one whose process still runs is kept.
    """
    removed = []
    prefix = _temp_prefix(output)
    for tmp in output.parent.glob(prefix + "*"):
        pid = tmp.name[len(prefix):]
        if pid.isdigit() and int(pid) != os.getpid() and not process_alive(int(pid)):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


def _estimate_total(written: int, read: int, source: int) -> int:
    """Bytes the whole output will take: what was written so far, scaled by the share of the
    bags read (twice the bags' size before anything was written: images appear as obs and next_obs)."""
    if written <= 0 or read <= 0:
        return 2 * source + DISK_RESERVE
    return int(written * max(source, read) / read) + DISK_RESERVE


def _check_space(tmp: Path, output: Path, episode_bytes: int, read: int, source: int) -> None:
    """Raise DiskFull (naming `output` and the whole output's estimated size) before writing an
    episode of `episode_bytes` that would not fit beside the reserve."""
    if free_bytes(tmp) < episode_bytes + DISK_RESERVE:
        raise DiskFull(output, _estimate_total(tmp.stat().st_size, read, source))


def convert_bags(
    paths: Iterable[str | Path],
    output: str | Path,
    options: ConvertOptions,
    *,
    on_problem: Callable[[Problem], None] | None = None,
    on_episode: Callable[[ConvertResult], None] | None = None,
) -> ConvertResult:
    """Convert the episodes of the given bags into one HDF5 file, written atomically."""
    paths = [Path(p) for p in paths]
    output = Path(output)
    result = ConvertResult(output=output)

    def problem(p: Problem) -> None:
        result.problems.append(p)
        if on_problem is not None:
            on_problem(p)

    reader = BagReader(paths, on_problem=problem)  # raises BagInputError for bad paths
    output.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temp_files(output)
    tmp = output.with_name(f"{_temp_prefix(output)}{os.getpid()}")
    hasher = hashlib.sha256()
    t0 = time.perf_counter()
    shape: dict[str, tuple] = {}
    first: str = ""
    comp = {"compression": options.compression} if options.compression else {}
    source_bytes = sum(f.stat().st_size for b in reader.bags for f in b.iterdir() if f.is_file())
    try:
        # No chunk cache: every chunk is written when its dataset is created, so a write error
        # surfaces there (with a cache it surfaces while HDF5 tears the file down, and crashes).
        with h5py.File(tmp, "w", rdcc_nbytes=0) as h5:
            data = h5.create_group("data")
            success_names: list[str] = []
            failure_names: list[str] = []
            profiles: set[str] = set()  # the scripted behaviours' prior profiles ("unrecorded" in older bags)
            for ep in reader.episodes():
                if not (_matches(ep.task, options.tasks) and _matches(ep.initial_condition, options.conditions)
                        and _matches(ep.policy, options.policies)
                        and (options.success is None or ep.success == options.success)):
                    result.filtered_out += 1
                    continue
                if ep.length < 1:
                    result.empty += 1
                    continue
                images = _resize(ep.images, options.resize) if options.resize else ep.images
                lowdim = ep.lowdim if options.lowdim else ep.lowdim[:, :0]
                this = {"image": images.shape[1:], "state": ep.states.shape[1:], "lowdim": lowdim.shape[1:]}
                if not shape:
                    shape, first = this, f"episode {ep.episode_id} of {ep.bag}"
                mismatch = [k for k in this if this[k] != shape[k]]
                if mismatch:
                    k = mismatch[0]
                    hint = {"image": "pass --resize H W to convert all images to one size",
                            "lowdim": "pass --no-lowdim to leave the privileged poses out",
                            "state": "convert robots with different state layouts into separate files"}[k]
                    problem(Problem(ep.bag, ep.episode_id, f"{k} shape {this[k]} differs from {shape[k]} of the dataset's first {first}; {hint}; episode dropped"))
                    continue
                name = f"demo_{result.episodes}"
                g = data.create_group(name)
                T = ep.length
                rewards = np.zeros(T, np.float32) if options.role == "prior" else ep.rewards[:-1].astype(np.float32)
                dones = ep.is_terminal[1:].astype(np.uint8)
                arrays = {"obs/image": images[:-1], "next_obs/image": images[1:],
                          "obs/state": ep.states[:-1], "next_obs/state": ep.states[1:]}
                if lowdim.shape[1] > 0:
                    arrays["obs/lowdim"] = lowdim[:-1]
                    arrays["next_obs/lowdim"] = lowdim[1:]
                arrays.update({"actions": ep.actions[:-1], "rewards": rewards, "dones": dones})
                _check_space(tmp, output, sum(a.nbytes for a in arrays.values()), reader.stats.bytes, source_bytes)
                checksums = {}
                for key, arr in arrays.items():
                    arr = np.ascontiguousarray(arr)
                    chunks = (min(T, 256),) + arr.shape[1:] if (comp or arr.ndim > 1) else None
                    g.create_dataset(key, data=arr, chunks=chunks, **comp)
                    hasher.update(f"{name}/{key}:{arr.dtype.str}:{arr.shape}".encode())
                    hasher.update(arr.tobytes())
                    checksums[key] = crc(arr.data.cast("B"))
                summary = ep.summary or {}
                params = summary.get("policy_params")
                profiles.add(str(params.get("prior_profile", "unrecorded")) if isinstance(params, dict) else "unrecorded")
                attrs = {
                    "num_samples": T, "episode_id": ep.episode_id, "task": ep.task,
                    "initial_condition": ep.initial_condition, "policy": ep.policy, "success": bool(ep.success),
                    "logged_return": float(ep.rewards.sum()), "seed": int(summary.get("seed", -1)),
                    "policy_params": json.dumps(summary.get("policy_params", {}), sort_keys=True),
                    "info": json.dumps(summary.get("info", {}), sort_keys=True), "source_bag": ep.bag,
                    "checksums": json.dumps(checksums, sort_keys=True),
                }
                g.attrs.update(attrs)
                (success_names if ep.success else failure_names).append(name)
                result.episodes += 1
                result.transitions += T
                group = (ep.task, ep.initial_condition, ep.policy)
                grp = result.groups.setdefault(group, {"episodes": 0, "transitions": 0, "successes": 0, "return": 0.0})
                grp["episodes"] += 1
                grp["transitions"] += T
                grp["successes"] += int(ep.success)
                grp["return"] += float(rewards.sum())
                if on_episode is not None:
                    on_episode(result)
            result.aborted = reader.stats.aborted
            result.duplicates = reader.stats.duplicates
            result.bytes_read = reader.stats.bytes
            if result.episodes == 0:
                raise NothingToConvert(
                    f"no episodes to write: {reader.stats.episodes} complete episodes read from {len(reader.bags)} bag(s), "
                    f"{result.filtered_out} filtered out, {result.empty} without actions, {len(result.dropped)} dropped"
                )
            mask = h5.create_group("mask")
            for mname, names in (("success", success_names), ("failure", failure_names)):
                mask.create_dataset(mname, data=np.array(names, dtype="S"))
            result.content_hash = hasher.hexdigest()
            env_args = {"env_name": sorted({k[0] for k in result.groups})[0] if result.groups else "", "type": FORMAT,
                        "env_kwargs": {"tasks": sorted({k[0] for k in result.groups})}}
            provenance = {
                "format": FORMAT, "format_version": FORMAT_VERSION, "role": options.role,
                "created_unix": time.time(), "writer": f"cog_core {__version__}",
                "source_bags": [str(b) for b in reader.bags], "inputs": [str(p) for p in paths],
                "options": {k: (list(v) if isinstance(v, (tuple, list)) else v) for k, v in asdict(options).items()},
                "counts": {"episodes": result.episodes, "transitions": result.transitions, "filtered_out": result.filtered_out,
                           "empty": result.empty, "aborted": result.aborted, "duplicates": result.duplicates,
                           "dropped_problems": len(result.dropped)},
                "image_shape": list(shape["image"]), "state_names": list(STATE_NAMES), "action_names": list(ACTION_NAMES),
                "lowdim_dim": int(shape["lowdim"][0]) if shape["lowdim"] else 0,
                "content_hash": result.content_hash, "prior_profiles": sorted(profiles),
            }
            data.attrs.update({
                "total": result.transitions, "env_args": json.dumps(env_args), "role": options.role,
                "content_hash": result.content_hash, "num_episodes": result.episodes,
                "cog": json.dumps(provenance, sort_keys=True), "format": FORMAT, "format_version": FORMAT_VERSION,
            })
        replace_with(tmp, output)
    except Exception as err:
        if isinstance(err, DiskFull) or not is_disk_full(err, output.parent):
            raise
        written = tmp.stat().st_size if tmp.exists() else 0
        raise DiskFull(output, _estimate_total(written, reader.stats.bytes, source_bytes)) from None
    finally:
        if tmp.exists():
            tmp.unlink()
    result.seconds = time.perf_counter() - t0
    result.bytes_written = output.stat().st_size
    return result
