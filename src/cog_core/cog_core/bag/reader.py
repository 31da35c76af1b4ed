"""Read episodes back from rosbag2 bags written by this project (MCAP or sqlite3).

Accepts any mix of: a bag directory (holding metadata.yaml and/or .mcap/.db3 files), or a
run directory holding such bags (e.g. ``out/worker_00/bag_0000``) at any depth. Messages
are decoded with the definitions embedded in each bag (rosbags' AnyReader), so no ROS and
no cog_msgs checkout is needed. Damaged bags are recovered as far as possible
(:mod:`cog_core.bag.recovery`); everything dropped is reported as a :class:`Problem`
naming the bag, the episode and what is wrong.

Integrity: bags from cog_core's recorder (format version 2 on) list a CRC-32 of every Step
and of the EpisodeSummary itself in the summary (:mod:`cog_core.bag.integrity`); an episode
with a step or summary that fails its checksum is dropped, naming the file, the episode and
the steps, and every other episode is kept. A bag directory given twice (the same path, or a
folder and its subfolder) is read once, and an episode whose id was already read (a copied
bag) is dropped; both are reported with counts.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cog_core.bag import schema
from cog_core.bag.integrity import CHECKSUM_KEY, summary_crc
from cog_core.bag.recovery import iter_bag_messages, read_metadata
from cog_core.robot.action import ACTION_DIM

BAG_FILE_SUFFIXES = (".mcap", ".db3")


class BagInputError(ValueError):
    """An input path that is not a bag or a directory of bags."""


@dataclass
class Problem:
    """Something wrong in the input. `dropped` is True when data was lost because of it."""

    bag: str
    episode_id: str | None
    message: str
    dropped: bool = True

    def __str__(self) -> str:
        where = f"{self.bag}" + (f", episode {self.episode_id}" if self.episode_id else "")
        return f"{where}: {self.message}"


@dataclass
class Episode:
    """One episode as logged: T+1 steps (step T holds the final observation, zero action)."""

    episode_id: str
    bag: str
    task: str
    initial_condition: str
    policy: str
    images: np.ndarray  # uint8 (T+1, H, W, 3)
    states: np.ndarray  # float32 (T+1, S)
    lowdim: np.ndarray  # float32 (T+1, D), D = 0 when none was logged
    actions: np.ndarray  # float32 (T+1, 8), last row zeros
    rewards: np.ndarray  # float32 (T+1,), last entry 0
    is_terminal: np.ndarray  # bool (T+1,)
    stamps: np.ndarray  # int64 (T+1,) header stamps (ns)
    summary: dict[str, Any] | None = None  # the EpisodeSummary fields, JSON fields decoded

    @property
    def length(self) -> int:
        """Number of actions T (transitions)."""
        return int(self.actions.shape[0]) - 1

    @property
    def success(self) -> bool:
        """Success from the summary, else whether any reward was positive."""
        if self.summary is not None:
            return bool(self.summary["success"])
        return bool(np.any(self.rewards > 0))


@dataclass
class ReadStats:
    """Counters of one read."""

    bags: int = 0
    messages: int = 0
    episodes: int = 0
    aborted: int = 0
    ignored_messages: int = 0
    bytes: int = 0
    verified: int = 0  # episodes whose every step and summary matched its checksum
    duplicates: int = 0  # episodes dropped because their id was already read
    repeated_bags: int = 0  # bag directories given more than once (read once)


def find_bags(path: str | Path) -> list[Path]:
    """The bag directories under `path` (itself if it is one), sorted by name."""
    p = Path(path)
    if not p.exists():
        raise BagInputError(f"{p}: no such file or directory")
    if p.is_file():
        if p.suffix in BAG_FILE_SUFFIXES or p.name == "metadata.yaml":
            return [p.parent]
        raise BagInputError(f"{p}: not a rosbag2 bag (expected a bag directory, or a .mcap/.db3 file)")
    if _is_bag_dir(p):
        return [p]
    bags = sorted({d for d in p.rglob("*") if d.is_dir() and _is_bag_dir(d)})
    if not bags:
        raise BagInputError(f"{p}: no rosbag2 bag found (no directory holding metadata.yaml, .mcap or .db3 files)")
    return bags


def _is_bag_dir(d: Path) -> bool:
    return (d / "metadata.yaml").is_file() or any(f.suffix in BAG_FILE_SUFFIXES and f.is_file() for f in d.iterdir())


def _decode_json(text: str) -> Any:
    try:
        return json.loads(text) if text else {}
    except ValueError:
        return {"unparsed": text}


@dataclass
class _Partial:
    bag: str
    steps: dict[int, Any] = field(default_factory=dict)
    crcs: dict[int, int] = field(default_factory=dict)
    files: set[str] = field(default_factory=set)
    last_index: int | None = None
    summary: dict[str, Any] | None = None
    checksums: dict[str, Any] | None = None  # the summary's per-step and own CRCs
    broken: str | None = None


def _bag_format_version(bag: Path) -> int:
    """The cog format version a bag's metadata records (0 when unknown)."""
    meta = read_metadata(bag) or {}
    custom = meta.get("custom_data")
    if not isinstance(custom, dict):
        return 0
    try:
        return int(str(custom.get("cog.format_version", "0")))
    except ValueError:
        return 0


def _summary_checksums(info: Any, fields: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    """(the checksums a summary carries, or None; an error when they do not match its fields)."""
    if not isinstance(info, dict) or CHECKSUM_KEY not in info:
        return None, None
    sums = info.pop(CHECKSUM_KEY)
    if not isinstance(sums, dict) or not isinstance(sums.get("steps"), list) or not isinstance(sums.get("summary"), int):
        return None, "the summary's checksum entry is malformed"
    try:
        ok = summary_crc(fields, info, sums["steps"]) == sums["summary"]
    except (TypeError, ValueError):
        ok = False
    return sums, None if ok else "the EpisodeSummary fails its checksum (its bytes changed after recording)"


class BagReader:
    """Iterate over complete, valid episodes of several bags; collect problems on the way."""

    def __init__(self, paths: Iterable[str | Path], on_problem: Callable[[Problem], None] | None = None) -> None:
        self.paths = [Path(p) for p in paths]
        if not self.paths:
            raise BagInputError("no bag paths given")
        self.problems: list[Problem] = []
        self.stats = ReadStats()
        self._on_problem = on_problem
        self.runs = self._unique_runs([find_bags(p) for p in self.paths])  # validates every input up front
        self._seen: dict[str, str] = {}  # episode id -> the bag it was read from
        self._duplicates: dict[tuple[str, str], int] = {}  # (bag, bag of the first copy) -> count

    def _unique_runs(self, runs: list[list[Path]]) -> list[list[Path]]:
        """`runs` with every bag directory kept only where it first appears."""
        first: dict[Path, Path] = {}
        out = []
        for run, given in zip(runs, self.paths):
            kept = []
            for bag in run:
                key = bag.resolve()
                if key in first:
                    self.stats.repeated_bags += 1
                    self.problem(bag, None, f"this bag was given more than once (input {given}; already read as "
                                 f"{first[key]}); read once", dropped=False)
                    continue
                first[key] = bag
                kept.append(bag)
            if kept:
                out.append(kept)
        return out

    @property
    def bags(self) -> list[Path]:
        """Every bag directory that will be read."""
        return [b for run in self.runs for b in run]

    def problem(self, bag: str | Path, episode_id: str | None, message: str, dropped: bool = True) -> None:
        """Record a problem (and pass it to the callback)."""
        p = Problem(str(bag), episode_id, message, dropped)
        self.problems.append(p)
        if self._on_problem is not None:
            self._on_problem(p)

    @property
    def dropped_data(self) -> bool:
        """True when any problem lost data."""
        return any(p.dropped for p in self.problems)

    def episodes(self) -> Iterator[Episode]:
        """Yield every complete, valid episode, run by run, in recorded order; an episode whose
        id was already read is dropped (counted in `stats.duplicates` and reported per bag)."""
        for run in self.runs:
            for ep in self._read_run(run):
                first = self._seen.get(ep.episode_id)
                if first is not None:
                    key = (ep.bag, first)
                    self._duplicates[key] = self._duplicates.get(key, 0) + 1
                    self.stats.duplicates += 1
                    self.stats.episodes -= 1
                    continue
                self._seen[ep.episode_id] = ep.bag
                yield ep
        for (bag, first), n in self._duplicates.items():
            self.problem(bag, None, f"{n} episode(s) have the id of an episode already read from {first} (the same "
                         "recording given twice, or a copy of it); dropped", dropped=False)

    def _read_run(self, bags: list[Path]) -> Iterator[Episode]:
        partial: dict[str, _Partial] = {}
        done: set[str] = set()
        strict = False  # whether this run's summaries carry checksums (an episode without one is damaged)
        for bag in bags:
            self.stats.bags += 1
            strict = strict or _bag_format_version(bag) >= 2
            found_steps = False
            for kind, msg, nbytes, crc, fname in iter_bag_messages(bag, self.problem):
                self.stats.messages += 1
                self.stats.bytes += nbytes
                if kind is None:
                    self.stats.ignored_messages += 1
                    continue
                eid = str(msg.episode_id)
                if kind == "step":
                    found_steps = True
                    if eid in done:
                        self.problem(bag, eid, f"step {msg.step_index} arrived after the episode ended; ignored")
                        continue
                    part = partial.setdefault(eid, _Partial(str(bag)))
                    idx = int(msg.step_index)
                    if idx in part.steps:
                        part.broken = part.broken or f"step index {idx} appears twice"
                        continue
                    part.steps[idx] = msg
                    part.crcs[idx] = crc
                    part.files.add(fname)
                    if msg.is_last:
                        part.last_index = idx
                else:
                    fields: dict[str, Any] = {"episode_id": eid, "task": str(msg.task), "initial_condition": str(msg.initial_condition),
                              "policy": str(msg.policy), "policy_params_json": str(msg.policy_params_json),
                              "seed": int(msg.seed), "status": str(msg.status), "success": bool(msg.success),
                              "length": int(msg.length), "episode_return": float(msg.episode_return)}
                    info = _decode_json(str(msg.info_json))
                    checksums, damaged = _summary_checksums(info, fields)
                    strict = strict or checksums is not None
                    summary = {
                        "episode_id": eid,
                        "task": fields["task"],
                        "initial_condition": fields["initial_condition"],
                        "policy": fields["policy"],
                        "policy_params": _decode_json(fields["policy_params_json"]),
                        "seed": fields["seed"],
                        "status": fields["status"],
                        "success": fields["success"],
                        "length": fields["length"],
                        "return": fields["episode_return"],
                        "info": info,
                    }
                    if damaged is None and checksums is None and strict:
                        damaged = "the EpisodeSummary carries no checksums although this recording's others do (damaged?)"
                    if damaged is not None:
                        pending = partial.pop(eid, None)
                        done.add(eid)
                        where = f"{fname}: " if fname else ""
                        self.problem(bag, eid, f"{where}{damaged}; episode dropped" if pending is not None
                                     else f"{where}{damaged}; no steps of this episode were read")
                        continue
                    if summary["status"] == "aborted":
                        partial.pop(eid, None)
                        done.add(eid)
                        self.stats.aborted += 1
                        continue
                    pending = partial.get(eid)
                    if pending is None:
                        if eid not in done:
                            self.problem(bag, eid, "episode summary without any Step records; episode lost")
                        continue
                    pending.summary = summary
                    pending.checksums = checksums
                    if pending.last_index is not None:
                        done.add(eid)
                        ep = self._finish(eid, partial.pop(eid))
                        if ep is not None:
                            yield ep
            if not found_steps:
                self.problem(bag, None, f"no {schema.STEP_TYPE} messages in this bag (is it a bag written by cog_core or the cog_collect node?)", dropped=False)
            # Episodes whose last step came without a summary (e.g. a ROS recorder).
            for eid in [e for e, p in partial.items() if p.last_index is not None]:
                done.add(eid)
                part = partial.pop(eid)
                if strict:
                    self.problem(part.bag, eid, "the episode's EpisodeSummary is missing or unreadable, so its steps "
                                 "cannot be checked against their checksums; episode dropped")
                    continue
                ep = self._finish(eid, part)
                if ep is not None:
                    yield ep
        for eid, part in partial.items():
            n = len(part.steps)
            self.problem(part.bag, eid, f"episode has no last step ({n} steps logged; collector stopped mid-episode?); dropped")

    def _finish(self, eid: str, part: _Partial) -> Episode | None:
        """Validate and assemble one episode; None (and a problem) when it is unusable."""
        def bad(message: str) -> None:
            self.problem(part.bag, eid, message + "; episode dropped")

        if part.broken:
            bad(part.broken)
            return None
        last = part.last_index
        assert last is not None
        if part.checksums is not None:
            expected = part.checksums["steps"]
            files = ", ".join(sorted(f for f in part.files if f))
            where = f"{files}: " if files else ""
            if len(expected) != last + 1:
                bad(f"{where}the summary lists checksums of {len(expected)} steps but {last + 1} were logged")
                return None
            failed = sorted(i for i, c in part.crcs.items() if i < len(expected) and c != expected[i])
            if failed:
                shown = ", ".join(map(str, failed[:10])) + ("..." if len(failed) > 10 else "")
                bad(f"{where}step {shown} fail{'s' if len(failed) == 1 else ''} {'its' if len(failed) == 1 else 'their'} "
                    "checksum (the bytes changed after recording: disk or copy damage)")
                return None
        indices = sorted(part.steps)
        if indices != list(range(last + 1)):
            missing = sorted(set(range(last + 1)) - set(indices))
            extra = [i for i in indices if i > last]
            bad(f"steps missing {missing[:5]}{'...' if len(missing) > 5 else ''}" if missing else f"steps after the last step: {extra[:5]}")
            return None
        steps = [part.steps[i] for i in indices]
        if not steps[0].is_first or any(s.is_first for s in steps[1:]):
            bad("is_first is not set on exactly the first step")
            return None
        try:
            images = [schema.msg_to_image(s.observation) for s in steps]
        except ValueError as err:
            bad(f"bad observation image: {err}")
            return None
        shapes = {im.shape for im in images}
        if len(shapes) != 1:
            bad(f"image sizes differ within the episode: {sorted(shapes)}")
            return None
        try:
            states = np.stack([np.asarray(s.state, dtype=np.float32) for s in steps])
            lowdim = np.stack([np.asarray(s.lowdim, dtype=np.float32) for s in steps])
            actions = np.stack([np.asarray(s.action, dtype=np.float32) for s in steps])
        except ValueError:
            bad("state, lowdim or action lengths differ between steps")
            return None
        if actions.shape[1] != ACTION_DIM:
            bad(f"actions have {actions.shape[1]} dims, expected {ACTION_DIM}")
            return None
        rewards = np.array([s.reward for s in steps], dtype=np.float32)
        for name, arr in (("action", actions[:-1]), ("state", states), ("lowdim", lowdim), ("reward", rewards)):
            if not np.all(np.isfinite(arr)):
                t = int(np.argwhere((~np.isfinite(arr.reshape(len(arr), -1))).any(axis=1))[0][0])
                bad(f"{name} is NaN or inf at step {t}")
                return None
        first = steps[0]
        summary = part.summary
        if summary is not None and summary["length"] != last:
            self.problem(part.bag, eid, f"summary says {summary['length']} steps but {last} were logged", dropped=False)
        self.stats.episodes += 1
        if part.checksums is not None:
            self.stats.verified += 1
        return Episode(
            episode_id=eid,
            bag=part.bag,
            task=str(first.task),
            initial_condition=str(first.initial_condition),
            policy=str(first.policy),
            images=np.stack(images),
            states=states,
            lowdim=lowdim,
            actions=actions,
            rewards=rewards,
            is_terminal=np.array([bool(s.is_terminal) for s in steps]),
            stamps=np.array([int(s.header.stamp.sec) * 1_000_000_000 + int(s.header.stamp.nanosec) for s in steps], dtype=np.int64),
            summary=summary,
        )
