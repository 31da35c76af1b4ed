"""Message-level access to one bag directory, with recovery of damaged storage files.

The normal path is rosbags' AnyReader (definitions embedded in the bag). When a bag does
not open or breaks while being read (a writer killed mid-run leaves an MCAP file without
its summary and footer; a sqlite3 file may keep a hot journal), the storage files are read
record by record instead, keeping every message before the damage:

- MCAP: the ``mcap`` package's StreamReader, decoding with the schemas embedded in the file;
- sqlite3: a private copy (with its journal, so sqlite rolls back the unfinished
  transaction) read with the sqlite3 module.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml
from rosbags.highlevel import AnyReader
from rosbags.typesys import Stores, get_typestore, get_types_from_msg
from rosbags.typesys.store import Typestore

from cog_core.bag import schema

ProblemFn = Callable[[Path, "str | None", str, bool], None]
# (kind, decoded message, raw size): kind is "step", "summary" or None (a message we skip).
Item = tuple["str | None", Any, int]
KINDS = {schema.STEP_TYPE: "step", schema.SUMMARY_TYPE: "summary"}


def _natural_key(p: Path) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p.name)]


def _metadata(bag: Path) -> dict | None:
    try:
        info = yaml.safe_load((bag / "metadata.yaml").read_text(encoding="utf-8"))["rosbag2_bagfile_information"]
        return info if isinstance(info, dict) else None
    except Exception:  # noqa: BLE001 - missing or damaged metadata: treated as absent
        return None


def _storage_files(bag: Path, meta: dict | None) -> list[Path]:
    files = sorted((f for f in bag.iterdir() if f.suffix in (".mcap", ".db3") and f.is_file()), key=_natural_key)
    if meta and isinstance(meta.get("relative_file_paths"), list):
        order = {Path(str(x)).name: i for i, x in enumerate(meta["relative_file_paths"])}
        files.sort(key=lambda f: (order.get(f.name, len(order)), _natural_key(f)))
    return files


def _default_typestore() -> Typestore:
    try:
        return schema.typestore()
    except schema.MessageDefinitionsNotFound:
        return get_typestore(Stores.ROS2_HUMBLE)


def _check_fields(store: Typestore, msgtype: str) -> str | None:
    """None if `msgtype` in `store` has every field cog_core reads, else a message."""
    ours = _default_typestore()
    if msgtype not in ours.fielddefs:
        return None
    want = {name for name, _ in ours.fielddefs[msgtype][1]}
    have = {name for name, _ in store.fielddefs.get(msgtype, ((), ()))[1]}
    missing = sorted(want - have)
    if missing:
        return f"{msgtype} in this bag lacks fields {missing} (written by an incompatible version)"
    return None


def iter_bag_messages(bag: Path, problem: ProblemFn) -> Iterator[Item]:
    """Yield the messages of one bag directory in recorded order, recovering damage."""
    meta = _metadata(bag)
    yielded = 0
    failure: str | None = None
    if meta is not None:
        try:
            with AnyReader([bag], default_typestore=_default_typestore()) as reader:
                conns = [c for c in reader.connections if c.msgtype in KINDS]
                ignored = sorted({f"{c.topic} ({c.msgtype})" for c in reader.connections if c.msgtype not in KINDS})
                if ignored:
                    problem(bag, None, f"ignored topics not written by cog_core: {', '.join(ignored)}", False)
                for msgtype in {c.msgtype for c in conns}:
                    err = _check_fields(reader.typestore, msgtype)
                    if err:
                        problem(bag, None, err + "; its messages are skipped", True)
                        conns = [c for c in conns if c.msgtype != msgtype]
                if not conns:
                    return
                for conn, _ts, raw in reader.messages(connections=conns):
                    yielded += 1
                    try:
                        msg = reader.deserialize(raw, conn.msgtype)
                    except Exception as err:  # noqa: BLE001 - damaged payload: skip this message only
                        problem(bag, None, f"undecodable {conn.msgtype} message #{yielded}: {err}; skipped", True)
                        continue
                    yield KINDS[conn.msgtype], msg, len(raw)
            return
        except Exception as err:  # noqa: BLE001 - any failure falls back to recovery
            failure = f"{type(err).__name__}: {err}"
    files = _storage_files(bag, meta)
    if not files:
        problem(bag, None, "bag has no .mcap or .db3 storage file", True)
        return
    if failure:
        problem(bag, None, f"could not be read normally ({failure}); recovering record by record", False)
    else:
        problem(bag, None, "has no usable metadata.yaml (writer stopped early?); recovering record by record", False)
    recovered = 0
    skip = yielded
    for f in files:
        recover = _recover_mcap if f.suffix == ".mcap" else _recover_sqlite
        for item in recover(f, bag, problem):
            if item[0] is not None:
                recovered += 1
                if skip:  # already yielded by the normal path before it failed
                    skip -= 1
                    continue
            yield item
    expected = int(meta.get("message_count", 0)) if meta else 0
    if meta and recovered < expected:
        problem(bag, None, f"recovered {recovered} of the {expected} messages metadata.yaml lists", True)


def _recover_mcap(path: Path, bag: Path, problem: ProblemFn) -> Iterator[Item]:
    try:
        from mcap.records import Channel, Message, Schema
        from mcap.stream_reader import StreamReader
    except ImportError:
        problem(bag, None, f"{path.name} needs recovery, which needs the `mcap` package (pip install mcap)", True)
        return

    stores: dict[int, Typestore | None] = {}
    schemas: dict[int, Any] = {}
    channels: dict[int, tuple[str, int]] = {}
    count = 0
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            for rec in StreamReader(fh, record_size_limit=max(size, 1)).records:
                if isinstance(rec, Schema):
                    schemas[rec.id] = rec
                elif isinstance(rec, Channel):
                    channels[rec.id] = (rec.topic, rec.schema_id)
                elif isinstance(rec, Message):
                    count += 1
                    ch = channels.get(rec.channel_id)
                    sch = schemas.get(ch[1]) if ch else None
                    if sch is None or sch.name not in KINDS:
                        yield None, None, len(rec.data)
                        continue
                    if sch.id not in stores:
                        stores[sch.id] = _store_from_schema(sch, path, bag, problem)
                    store = stores[sch.id]
                    if store is None:
                        continue
                    try:
                        msg = store.deserialize_cdr(bytes(rec.data), sch.name)
                    except Exception as err:  # noqa: BLE001 - damaged bytes fail in any decoder
                        problem(bag, None, f"{path.name}: undecodable {sch.name} message #{count}: {err}; skipped", True)
                        continue
                    yield KINDS[sch.name], msg, len(rec.data)
        # A complete file ends with a footer; StreamReader stops there.
    except Exception as err:  # noqa: BLE001 - truncation or damage: keep what came before it
        problem(bag, None, f"{path.name} is truncated or damaged after {count} messages ({type(err).__name__}: {err or 'end of file'}); kept the messages before that point", False)


def _store_from_schema(sch: Any, path: Path, bag: Path, problem: ProblemFn) -> Typestore | None:
    try:
        if sch.encoding != "ros2msg":
            raise ValueError(f"schema encoding {sch.encoding!r} is not ros2msg")
        store = get_typestore(Stores.ROS2_HUMBLE)
        store.register(get_types_from_msg(bytes(sch.data).decode("utf-8"), sch.name))
    except Exception as err:  # noqa: BLE001 - damaged bytes fail in any decoder
        problem(bag, None, f"{path.name}: the embedded definition of {sch.name} is unusable ({err}); its messages are skipped", True)
        return None
    mismatch = _check_fields(store, sch.name)
    if mismatch:
        problem(bag, None, mismatch + "; its messages are skipped", True)
        return None
    return store


def _recover_sqlite(path: Path, bag: Path, problem: ProblemFn) -> Iterator[Item]:
    count = 0
    with tempfile.TemporaryDirectory(prefix="cog_recover_") as tmp:
        try:
            copy = Path(tmp) / path.name
            shutil.copyfile(path, copy)
            for suffix in ("-journal", "-wal", "-shm"):
                side = path.with_name(path.name + suffix)
                if side.exists():
                    shutil.copyfile(side, copy.with_name(copy.name + suffix))
            conn = sqlite3.connect(str(copy))  # read-write: a hot journal is rolled back here
        except Exception as err:  # noqa: BLE001 - damaged bytes fail in any decoder
            problem(bag, None, f"{path.name}: cannot open ({type(err).__name__}: {err})", True)
            return
        try:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            store = _default_typestore()
            if "message_definitions" in tables:
                custom = get_typestore(Stores.ROS2_HUMBLE)
                ok = True
                for name, enc, text in conn.execute("SELECT topic_type, encoding, encoded_message_definition FROM message_definitions"):
                    if name in KINDS:
                        try:
                            custom.register(get_types_from_msg(text, name))
                        except Exception:  # noqa: BLE001 - damaged bytes fail in any decoder
                            ok = False
                if ok:
                    store = custom
            topics = {tid: ttype for tid, ttype in conn.execute("SELECT id, type FROM topics")}
            for msgtype in set(topics.values()) & set(KINDS):
                mismatch = _check_fields(store, msgtype)
                if mismatch:
                    problem(bag, None, mismatch + "; its messages are skipped", True)
                    topics = {k: v for k, v in topics.items() if v != msgtype}
            for tid, _ts, data in conn.execute("SELECT topic_id, timestamp, data FROM messages ORDER BY timestamp, id"):
                count += 1
                msgtype = topics.get(tid)
                if msgtype not in KINDS:
                    yield None, None, len(data)
                    continue
                try:
                    msg = store.deserialize_cdr(bytes(data), msgtype)
                except Exception as err:  # noqa: BLE001 - damaged bytes fail in any decoder
                    problem(bag, None, f"{path.name}: undecodable {msgtype} message #{count}: {err}; skipped", True)
                    continue
                yield KINDS[msgtype], msg, len(data)
        except Exception as err:  # noqa: BLE001 - damaged bytes fail in any decoder
            problem(bag, None, f"{path.name} is damaged after {count} messages ({type(err).__name__}: {err}); kept the messages before that point", True)
        finally:
            conn.close()
