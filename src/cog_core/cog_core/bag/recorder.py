"""Record episodes as cog_msgs/Step messages into rosbag2 bags (no ROS needed).

One recorder writes one *run directory* (one per collection worker). The run directory
holds numbered *segments*, each a complete rosbag2 bag (metadata version 8, MCAP by
default): ``<out_dir>/bag_0000/{bag_0000.mcap, metadata.yaml}``, ``bag_0001/``, ...
A new segment starts at the first episode boundary after the current one exceeds
``split_size_bytes``; an episode never spans two segments.

Crash safety: at the end of every episode the recorder pushes everything written so far
to the file (MCAP: closes the pending chunk and flushes; sqlite3: commits) and atomically
rewrites the segment's metadata.yaml. A process killed at any moment therefore loses at
most the episode in progress; :mod:`cog_core.bag.reader` recovers the rest. A full disk
raises `cog_core.files.DiskFull` and leaves every finished episode readable.

Integrity: every EpisodeSummary lists the CRC-32 of each of its episode's Step messages and
of itself, and MCAP chunks carry real CRCs (:mod:`cog_core.bag.integrity`); the reader
verifies both.

``on_message(topic, msgtype, cdr_bytes)`` sees every message as it is written (the ROS nodes
publish these very bytes on the live topics, so a recording of the topics holds the same
messages as the bag).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import yaml
from rosbags.rosbag2 import StoragePlugin, Writer

from cog_core import __version__
from cog_core.bag import integrity, schema
from cog_core.files import DiskFull, atomic_write_text, is_disk_full
from cog_core.robot.action import ACTION_DIM

STORAGES = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}
FORMAT_VERSION = "2"  # 2: summaries carry per-step checksums, MCAP chunks real CRCs
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_RUN_ID_RE = re.compile(r"^[A-Za-z0-9_.]+$")


def default_run_id() -> str:
    """A fresh run id: UTC time plus 4 random hex digits (e.g. ``20250101T120000Z_ab12``)."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "_" + secrets.token_hex(2)


def make_episode_id(run_id: str, worker: int, index: int) -> str:
    """The episode id format: ``<run_id>-w<worker:02d>-<index:06d>``."""
    return f"{run_id}-w{worker:02d}-{index:06d}"


@dataclass
class _OpenEpisode:
    episode_id: str
    task: str
    initial_condition: str
    policy: str
    policy_params_json: str
    seed: int
    steps: int = 0
    ret: float = 0.0
    image_shape: tuple[int, ...] | None = None
    state_dim: int | None = None
    lowdim_dim: int | None = None
    step_crcs: list[int] = field(default_factory=list)
    bytes: int = 0


class BagRecorder:
    """Write episodes to rosbag2 segments under `out_dir`; use as a context manager.

    Call order per episode: ``begin_episode(...)``, then ``add_step(...)`` once per action
    taken (observation before the action, the action, the reward after it), then
    ``end_episode(final_observation, final_state, success=...)`` which writes the last
    Step (final observation, zero action) and the EpisodeSummary, then makes the episode
    durable. ``abort_episode(reason)`` discards an episode in progress.
    """

    def __init__(
        self,
        out_dir: str | os.PathLike,
        *,
        storage: str = "mcap",
        split_size_bytes: int = 512 * 2**20,
        run_id: str | None = None,
        worker: int = 0,
        fsync: bool = False,
        custom_data: dict[str, str] | None = None,
        on_message: Callable[[str, str, bytes], None] | None = None,
    ) -> None:
        if storage not in STORAGES:
            raise ValueError(f"storage must be one of {sorted(STORAGES)}, got {storage!r}")
        if split_size_bytes <= 0:
            raise ValueError(f"split_size_bytes must be positive, got {split_size_bytes}")
        run_id = run_id or default_run_id()
        if not _RUN_ID_RE.match(run_id):
            raise ValueError(f"run_id {run_id!r} may only hold letters, digits, '_' and '.'")
        if worker < 0:
            raise ValueError(f"worker must be >= 0, got {worker}")
        self.out_dir = Path(out_dir)
        if self.out_dir.exists() and (not self.out_dir.is_dir() or any(self.out_dir.iterdir())):
            raise FileExistsError(f"{self.out_dir} exists and is not an empty directory; choose a new output directory")
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.storage = storage
        self.split_size_bytes = int(split_size_bytes)
        self.run_id = run_id
        self.worker = int(worker)
        self.fsync = fsync
        self.custom_data = {
            "cog.format_version": FORMAT_VERSION,
            "cog.run_id": run_id,
            "cog.worker": str(worker),
            "cog.writer": f"cog_core {__version__}",
            **(custom_data or {}),
        }
        self.on_message = on_message
        self._store = schema.typestore()
        self._Step = self._store.types[schema.STEP_TYPE]
        self._Summary = self._store.types[schema.SUMMARY_TYPE]
        self._writer: Writer | None = None
        self._conn_step: Any = None  # rosbags Connections of the open segment
        self._conn_summary: Any = None
        self._seg_index = -1
        self._seg_path: Path | None = None
        self._seg_counts = {"step": 0, "summary": 0}
        self._seg_t0 = 0
        self._seg_t1 = 0
        self._last_ts = 0
        self._episode: _OpenEpisode | None = None
        self._closed = False
        self._failed = False  # a write failed (disk full): no more writes, close() abandons the segment
        self.segments: list[Path] = []
        self.episodes_written = 0
        self.episodes_aborted = 0
        self.steps_written = 0
        self.bytes_written = 0

    # ------------------------------------------------------------------ context manager
    def __enter__(self) -> BagRecorder:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    # ------------------------------------------------------------------ episodes
    @property
    def in_episode(self) -> bool:
        """True between begin_episode and end_episode/abort_episode."""
        return self._episode is not None

    def begin_episode(
        self,
        task: str,
        initial_condition: str,
        policy: str,
        *,
        policy_params: dict[str, Any] | None = None,
        seed: int = 0,
        episode_id: str | None = None,
    ) -> str:
        """Start an episode; returns its id (unique across runs and workers)."""
        self._check_open()
        if self._episode is not None:
            raise RuntimeError(f"episode {self._episode.episode_id} is still open; call end_episode or abort_episode first")
        if self._writer is None:
            self._open_segment()
        index = self.episodes_written + self.episodes_aborted
        eid = episode_id or make_episode_id(self.run_id, self.worker, index)
        self._episode = _OpenEpisode(
            episode_id=eid,
            task=str(task),
            initial_condition=str(initial_condition),
            policy=str(policy),
            policy_params_json=json.dumps(policy_params or {}, sort_keys=True, default=_json_default),
            seed=int(seed),
        )
        return eid

    def add_step(
        self,
        observation: np.ndarray,
        state: np.ndarray,
        action: np.ndarray,
        reward: float = 0.0,
        *,
        lowdim: np.ndarray | None = None,
        stamp_ns: int | None = None,
    ) -> int:
        """Log o_t, a_t and r_t (the reward received after a_t); returns t."""
        ep = self._need_episode()
        action = np.asarray(action, dtype=np.float32).reshape(-1)
        if action.shape != (ACTION_DIM,) or not np.all(np.isfinite(action)):
            raise ValueError(f"action must be {ACTION_DIM} finite numbers, got {action!r}")
        reward = float(reward)
        if not np.isfinite(reward):
            raise ValueError(f"reward must be finite, got {reward}")
        self._write_step(ep, observation, state, lowdim, action, reward, last=False, terminal=False, stamp_ns=stamp_ns)
        ep.ret += reward
        return ep.steps - 1

    def end_episode(
        self,
        final_observation: np.ndarray,
        final_state: np.ndarray,
        *,
        success: bool,
        final_lowdim: np.ndarray | None = None,
        is_terminal: bool = False,
        info: dict[str, Any] | None = None,
        stamp_ns: int | None = None,
    ) -> str:
        """Log the last Step (o_T, zero action) and the summary, then make the episode durable."""
        ep = self._need_episode()
        zero = np.zeros(ACTION_DIM, dtype=np.float32)
        self._write_step(ep, final_observation, final_state, final_lowdim, zero, 0.0, last=True, terminal=bool(is_terminal), stamp_ns=stamp_ns)
        self._write_summary(ep, "complete", bool(success), info or {})
        self._episode = None
        self.episodes_written += 1
        self._commit()
        return ep.episode_id

    def abort_episode(self, reason: str = "") -> None:
        """Discard the episode in progress (readers skip it); no-op when none is open."""
        ep = self._episode
        if ep is None:
            return
        self._write_summary(ep, "aborted", False, {"reason": reason})
        self._episode = None
        self.episodes_aborted += 1
        self._commit()

    def close(self) -> None:
        """Abort any open episode, finish the current segment and write its final metadata.
        After a failed write (disk full) the segment is left as its last commit made it."""
        if self._closed:
            return
        try:
            if not self._failed:
                if self._episode is not None and self._writer is not None:
                    self.abort_episode("recorder closed while the episode was in progress")
                self._close_segment()
        finally:
            if self._failed:
                self._abandon_segment()
            self._closed = True

    # ------------------------------------------------------------------ internals
    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the recorder is closed")
        if self._failed:
            raise RuntimeError("an earlier write failed (disk full); close the recorder")

    def _need_episode(self) -> _OpenEpisode:
        self._check_open()
        if self._episode is None:
            raise RuntimeError("no episode in progress; call begin_episode first")
        return self._episode

    def _stamp(self) -> int:
        """A strictly increasing log time (ns), so the bag order is the write order."""
        ts = max(time.time_ns(), self._last_ts + 1)
        self._last_ts = ts
        return ts

    def _write_step(self, ep, observation, state, lowdim, action, reward, *, last, terminal, stamp_ns) -> None:
        observation = np.asarray(observation)
        if observation.dtype != np.uint8 or observation.ndim != 3 or observation.shape[2] != 3:
            raise ValueError(f"observation must be a uint8 (H, W, 3) RGB image, got {observation.dtype} {observation.shape}")
        if ep.image_shape is None:
            ep.image_shape = observation.shape
        elif observation.shape != ep.image_shape:
            raise ValueError(f"observation shape {observation.shape} differs from this episode's {ep.image_shape}")
        state = np.asarray(state, dtype=np.float32).reshape(-1)
        if not np.all(np.isfinite(state)):
            raise ValueError("state contains NaN or inf")
        if ep.state_dim is None:
            ep.state_dim = state.size
        elif state.size != ep.state_dim:
            raise ValueError(f"state has {state.size} values, this episode's earlier steps had {ep.state_dim}")
        lowdim = np.zeros(0, np.float32) if lowdim is None else np.asarray(lowdim, dtype=np.float32).reshape(-1)
        if ep.lowdim_dim is None:
            ep.lowdim_dim = lowdim.size
        elif lowdim.size != ep.lowdim_dim:
            raise ValueError(f"lowdim has {lowdim.size} values, this episode's earlier steps had {ep.lowdim_dim}")
        ts = self._stamp()
        stamp = ts if stamp_ns is None else int(stamp_ns)
        msg = self._Step(
            header=schema.header(self._store, stamp, "cog"),
            episode_id=ep.episode_id,
            step_index=ep.steps,
            observation=schema.image_to_msg(self._store, observation, stamp),
            state=state,
            lowdim=lowdim,
            action=action,
            reward=float(reward),
            is_first=ep.steps == 0,
            is_last=bool(last),
            is_terminal=bool(terminal),
            task=ep.task,
            initial_condition=ep.initial_condition,
            policy=ep.policy,
        )
        data = self._store.serialize_cdr(msg, schema.STEP_TYPE)
        self._write(self._conn_step, ts, data, "step")
        ep.step_crcs.append(integrity.crc(data))
        ep.bytes += len(data)
        ep.steps += 1
        self.steps_written += 1

    def _write_summary(self, ep: _OpenEpisode, status: str, success: bool, info: dict) -> None:
        ts = self._stamp()
        fields: dict[str, Any] = dict(
            episode_id=ep.episode_id,
            task=ep.task,
            initial_condition=ep.initial_condition,
            policy=ep.policy,
            policy_params_json=ep.policy_params_json,
            seed=ep.seed & (2**64 - 1),
            status=status,
            success=success,
            length=max(ep.steps - 1, 0),
            episode_return=float(ep.ret),
        )
        user_info = json.loads(json.dumps(info, sort_keys=True, default=_json_default))  # as a reader decodes it
        if integrity.CHECKSUM_KEY in user_info:
            raise ValueError(f"info may not hold the key {integrity.CHECKSUM_KEY!r} (the recorder's checksums)")
        checksums = {"steps": ep.step_crcs, "summary": integrity.summary_crc(fields, user_info, ep.step_crcs)}
        msg = self._Summary(
            header=schema.header(self._store, ts, "cog"),
            info_json=json.dumps({**user_info, integrity.CHECKSUM_KEY: checksums}, sort_keys=True),
            **fields,
        )
        self._write(self._conn_summary, ts, self._store.serialize_cdr(msg, schema.SUMMARY_TYPE), "summary")

    def _write(self, conn, ts: int, data, kind: str) -> None:
        assert self._writer is not None
        with self._failing_on_full_disk():
            self._writer.write(conn, ts, data)
        self._seg_counts[kind] += 1
        self._seg_t0 = ts if self._seg_t0 == 0 else min(self._seg_t0, ts)
        self._seg_t1 = max(self._seg_t1, ts)
        self.bytes_written += len(data)
        if self.on_message is not None:
            self.on_message(conn.topic, conn.msgtype, bytes(data))

    def _open_segment(self) -> None:
        self._seg_index += 1
        name = f"bag_{self._seg_index:04d}"
        path = self.out_dir / name
        writer = Writer(path, version=8, storage_plugin=STORAGES[self.storage])
        for key, value in self.custom_data.items():
            writer.set_custom_data(key, str(value))
        with self._failing_on_full_disk(path):
            writer.open()
        _check_flush_support(writer, self.storage)
        if self.storage == "mcap":
            integrity.store_chunk_crcs(writer.storage)
        if self.storage == "sqlite3":
            # Keep an episode's pages in memory until commit, so a crash never leaves
            # half-written pages in the database file.
            storage: Any = writer.storage  # rosbags' sqlite3 plugin (internals, checked by _check_flush_support)
            storage.conn.execute("PRAGMA cache_size=-131072")
        self._conn_step = writer.add_connection(schema.STEP_TOPIC, schema.STEP_TYPE, typestore=self._store)
        self._conn_summary = writer.add_connection(schema.SUMMARY_TOPIC, schema.SUMMARY_TYPE, typestore=self._store)
        self._writer = writer
        self._seg_path = path
        self._seg_counts = {"step": 0, "summary": 0}
        self._seg_t0 = self._seg_t1 = 0
        self.segments.append(path)

    def _close_segment(self) -> None:
        if self._writer is None:
            return
        with self._failing_on_full_disk():
            self._writer.close()  # writes the final index and metadata.yaml (atomically)
        self._writer = None
        self._seg_path = None

    def _abandon_segment(self) -> None:
        """Drop the open segment's unwritten data after a failed write; what the last commit
        made durable stays readable (the reader recovers a file without its index)."""
        writer, self._writer, self._seg_path = self._writer, None, None
        if writer is None:
            return
        try:
            writer.storage.abort()  # type: ignore[union-attr]  # closes the file / rolls back
        except Exception:  # noqa: BLE001 - still no space to flush into; the file stays as it is
            pass

    @contextmanager
    def _failing_on_full_disk(self, where: Path | None = None) -> Iterator[None]:
        """Turn a full-disk error inside the block into `DiskFull` (naming the segment and about
        one episode's bytes) and stop writing."""
        try:
            yield
        except DiskFull:
            self._failed = True
            raise
        except Exception as err:
            if not is_disk_full(err):
                raise
            self._failed = True
            ep = self._episode
            per_episode = self.bytes_written // max(self.episodes_written, 1)
            needed = max(ep.bytes if ep else 0, per_episode) or None
            raise DiskFull(where or self._seg_path or self.out_dir, needed) from err

    def _commit(self) -> None:
        """Make everything written so far durable and readable, then maybe rotate."""
        assert self._writer is not None and self._seg_path is not None
        st: Any = self._writer.storage  # rosbags' storage plugin (internals, checked by _check_flush_support)
        with self._failing_on_full_disk():
            if self.storage == "mcap":
                if st.chunk.bio.tell():
                    st.close_chunk()
                st.bio.flush()
                if self.fsync:
                    os.fsync(st.bio.fileno())
                size = st.bio.tell()
            else:
                st.conn.commit()
                size = st.path.stat().st_size
            self._write_metadata()
        if size >= self.split_size_bytes:
            self._close_segment()

    def _write_metadata(self) -> None:
        """Atomically write a provisional metadata.yaml describing what is durable now."""
        assert self._writer is not None and self._seg_path is not None
        w = self._writer
        storage: Any = w.storage
        fname = storage.path.name
        count = sum(self._seg_counts.values())
        duration = max(0, self._seg_t1 - self._seg_t0)
        topics = []
        for conn, kind in ((self._conn_step, "step"), (self._conn_summary, "summary")):
            topics.append(
                {
                    "topic_metadata": {
                        "name": conn.topic,
                        "type": conn.msgtype,
                        "serialization_format": "cdr",
                        "offered_qos_profiles": "",
                        "type_description_hash": conn.digest,
                    },
                    "message_count": self._seg_counts[kind],
                }
            )
        info = {
            "version": 8,
            "storage_identifier": self.storage,
            "relative_file_paths": [fname],
            "duration": {"nanoseconds": duration},
            "starting_time": {"nanoseconds_since_epoch": self._seg_t0},
            "message_count": count,
            "topics_with_message_count": topics,
            "compression_format": "",
            "compression_mode": "",
            "files": [
                {
                    "path": fname,
                    "starting_time": {"nanoseconds_since_epoch": self._seg_t0},
                    "duration": {"nanoseconds": duration},
                    "message_count": count,
                }
            ],
            "custom_data": dict(self.custom_data),
            "ros_distro": "rosbags",
        }
        target = self._seg_path / "metadata.yaml"
        text = yaml.dump({"rosbag2_bagfile_information": info}, Dumper=_DUMPER, sort_keys=False)
        atomic_write_text(target, text, durable=self.fsync)


def _check_flush_support(writer: Writer, storage: str) -> None:
    """Fail early if this rosbags version lacks the hooks the per-episode flush relies on."""
    st = writer.storage
    ok = (
        (hasattr(st, "close_chunk") and hasattr(st, "chunk") and hasattr(st, "bio"))
        if storage == "mcap"
        else hasattr(st, "conn")
    )
    if not ok:
        writer.abort()
        raise RuntimeError(
            f"this rosbags version's {storage} writer lacks the flush hooks cog_core uses for crash "
            "safety; install a rosbags release this project was tested with (0.10 - 0.11)"
        )


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    return str(obj)
