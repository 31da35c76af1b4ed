"""Message-level access to one bag directory, with recovery of damaged storage files.

The normal path is rosbags' AnyReader (definitions embedded in the bag; it verifies MCAP
chunk CRCs). When a bag does not open or breaks while being read (a writer killed mid-run
leaves an MCAP file without its summary and footer; a sqlite3 file may keep a hot journal or
be cut short; a chunk may fail its CRC), the storage files are read record by record
instead, keeping every message that can still be read:

- MCAP: the ``mcap`` package's StreamReader, chunk by chunk (a chunk that fails its CRC is
  reported, and its messages still go to the reader, whose per-step checksums find the
  damaged ones; an unreadable chunk costs only its own messages), decoding with the schemas
  embedded in the file;
- sqlite3: a private copy (with its journal, so sqlite rolls back the unfinished
  transaction) read with the sqlite3 module, row by row past damaged or missing pages.

Every message comes with the CRC-32 of its serialized bytes and its storage file's name, for
the reader's per-step checksums (:mod:`cog_core.bag.integrity`).
"""

from __future__ import annotations

import contextlib
import re
import shutil
import sqlite3
import struct
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import yaml
from rosbags.highlevel import AnyReader
from rosbags.typesys import Stores, get_typestore, get_types_from_msg
from rosbags.typesys.store import Typestore

from cog_core.bag import schema
from cog_core.bag.integrity import chunk_crc_ok, crc

ProblemFn = Callable[[Path, "str | None", str, bool], None]
KINDS = {schema.STEP_TYPE: "step", schema.SUMMARY_TYPE: "summary"}


class Item(NamedTuple):
    """One message of a bag: `kind` is "step", "summary" or None (a message we skip)."""

    kind: str | None
    msg: Any
    nbytes: int
    crc: int = 0  # CRC-32 of the serialized bytes
    file: str = ""  # name of the storage file it came from


def _natural_key(p: Path) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p.name)]


def read_metadata(bag: Path) -> dict | None:
    """The ``rosbag2_bagfile_information`` of a bag's metadata.yaml, None when missing or damaged."""
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
    meta = read_metadata(bag)
    files = _storage_files(bag, meta)
    only_file = files[0].name if len(files) == 1 else ""
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
                    yield Item(KINDS[conn.msgtype], msg, len(raw), crc(raw), only_file)
            return
        except Exception as err:  # noqa: BLE001 - any failure falls back to recovery
            failure = f"{type(err).__name__}: {err}"
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
            if item.kind is not None:
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
        from mcap.records import Channel, Chunk, Message, Schema
        from mcap.stream_reader import StreamReader, breakup_chunk
    except ImportError:
        problem(bag, None, f"{path.name} needs recovery, which needs the `mcap` package (pip install mcap)", True)
        return

    stores: dict[int, Typestore | None] = {}
    schemas: dict[int, Any] = {}
    channels: dict[int, tuple[str, int]] = {}
    _definitions_from_summary(path, schemas, channels)
    count = 0

    def decode(rec: Any) -> Item | None:
        ch = channels.get(rec.channel_id)
        sch = schemas.get(ch[1]) if ch else None
        if sch is None or sch.name not in KINDS:
            return Item(None, None, len(rec.data), 0, path.name)
        if sch.id not in stores:
            stores[sch.id] = _store_from_schema(sch, path, bag, problem)
        store = stores[sch.id]
        if store is None:
            return None
        data = bytes(rec.data)
        try:
            msg = store.deserialize_cdr(data, sch.name)
        except Exception as err:  # noqa: BLE001 - damaged bytes fail in any decoder
            problem(bag, None, f"{path.name}: undecodable {sch.name} message #{count}: {err}; skipped", True)
            return None
        return Item(KINDS[sch.name], msg, len(data), crc(data), path.name)

    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            for rec in StreamReader(fh, emit_chunks=True, record_size_limit=max(size, 1)).records:
                records: list[Any] = [rec]
                if isinstance(rec, Chunk):
                    if chunk_crc_ok(rec) is False:
                        problem(bag, None, f"{path.name}: the chunk of messages logged at {rec.message_start_time}-"
                                f"{rec.message_end_time} ns fails its CRC check; its messages are checked one by one", False)
                    try:
                        records = breakup_chunk(rec)
                    except Exception as err:  # noqa: BLE001 - damaged bytes fail in any decoder
                        problem(bag, None, f"{path.name}: the chunk of messages logged at {rec.message_start_time}-"
                                f"{rec.message_end_time} ns is unreadable ({type(err).__name__}: {err}); its messages "
                                "are lost, the chunks after it are read", True)
                        continue
                for r in records:
                    if isinstance(r, Schema):
                        schemas[r.id] = r
                    elif isinstance(r, Channel):
                        channels[r.id] = (r.topic, r.schema_id)
                    elif isinstance(r, Message):
                        count += 1
                        item = decode(r)
                        if item is not None:
                            yield item
        # A complete file ends with a footer; StreamReader stops there.
    except Exception as err:  # noqa: BLE001 - truncation or damage: keep what came before it
        problem(bag, None, f"{path.name} is truncated or damaged after {count} messages ({type(err).__name__}: {err or 'end of file'}); kept the messages before that point", False)


def _definitions_from_summary(path: Path, schemas: dict[int, Any], channels: dict[int, tuple[str, int]]) -> None:
    """Schemas and channels from the summary section of a complete file, so that messages whose
    chunk lost them still decode (a file without a summary gives nothing here)."""
    try:
        from mcap.reader import make_reader

        with path.open("rb") as fh:
            summary = make_reader(fh).get_summary()
    except Exception:  # noqa: BLE001 - no or damaged summary: the records in the data section are used
        return
    if summary is not None:
        schemas.update(summary.schemas)
        channels.update({cid: (c.topic, c.schema_id) for cid, c in summary.channels.items()})


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
    with tempfile.TemporaryDirectory(prefix="cog_recover_") as tmp:
        try:
            copy = Path(tmp) / path.name
            shutil.copyfile(path, copy)
            for suffix in ("-journal", "-wal", "-shm"):
                side = path.with_name(path.name + suffix)
                if side.exists():
                    shutil.copyfile(side, copy.with_name(copy.name + suffix))
            if _fit_header_to_length(copy):
                problem(bag, None, f"{path.name} is shorter than its header says (cut off?); reading the pages it still has", False)
            conn = sqlite3.connect(str(copy))  # read-write: a hot journal is rolled back here
        except Exception as err:  # noqa: BLE001 - damaged bytes fail in any decoder
            problem(bag, None, f"{path.name}: cannot open ({type(err).__name__}: {err})", True)
            return
        try:
            yield from _sqlite_messages(conn, copy, path, bag, problem)
        except Exception as err:  # noqa: BLE001 - damaged bytes fail in any decoder
            problem(bag, None, f"{path.name} is damaged ({type(err).__name__}: {err}); kept the messages read before that", True)
        finally:
            conn.close()


def _sqlite_messages(conn: sqlite3.Connection, copy: Path, path: Path, bag: Path, problem: ProblemFn) -> Iterator[Item]:
    store = _default_typestore()
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "message_definitions" in tables:
        custom = get_typestore(Stores.ROS2_HUMBLE)
        ok = True
        for name, _enc, text in conn.execute("SELECT topic_type, encoding, encoded_message_definition FROM message_definitions"):
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
    for count, (tid, data) in enumerate(_sqlite_rows(conn, copy, path, bag, problem), start=1):
        msgtype = topics.get(tid)
        if msgtype not in KINDS:
            yield Item(None, None, len(data), 0, path.name)
            continue
        data = bytes(data)
        try:
            msg = store.deserialize_cdr(data, msgtype)
        except Exception as err:  # noqa: BLE001 - damaged bytes fail in any decoder
            problem(bag, None, f"{path.name}: undecodable {msgtype} message #{count}: {err}; skipped", True)
            continue
        yield Item(KINDS[msgtype], msg, len(data), crc(data), path.name)


def _fit_header_to_length(db: Path) -> bool:
    """Make a cut-off sqlite3 file openable: cut it to whole pages and write that page count into
    its header (sqlite refuses a file shorter than its header's count). True when it changed."""
    with db.open("r+b") as fh:
        head = fh.read(100)
        if len(head) < 100 or not head.startswith(b"SQLite format 3\0"):
            return False
        page_size = struct.unpack(">H", head[16:18])[0]
        page_size = 65536 if page_size == 1 else page_size
        size = fh.seek(0, 2)
        pages = size // page_size
        if pages < 1 or struct.unpack(">I", head[28:32])[0] <= pages:
            return False
        fh.truncate(pages * page_size)
        fh.seek(28)
        fh.write(struct.pack(">I", pages))
    return True


def _sqlite_rows(conn: sqlite3.Connection, copy: Path, path: Path, bag: Path, problem: ProblemFn) -> Iterator[tuple[int, bytes]]:
    """(topic id, data) of every readable row of the messages table, in the order written: a
    scan by row id through sqlite, then, past a damaged or missing page, the rows after it read
    straight from the file's table pages (`raw_sqlite_rows`: sqlite itself cannot reach rows
    whose b-tree pages are gone)."""
    last = 0
    try:
        for rid, tid, data in conn.execute("SELECT id, topic_id, data FROM messages ORDER BY id"):
            last = rid
            yield tid, data
        return
    except sqlite3.DatabaseError as err:
        problem(bag, None, f"{path.name}: damaged after message row {last} ({err}); reading the table pages after it "
                "directly", False)
    for rid, tid, data in raw_sqlite_rows(copy):
        if rid > last:
            yield tid, data


def _varint(buf: bytes, at: int) -> tuple[int, int]:
    """An sqlite varint at `at`: (value, position after it)."""
    value = 0
    for i in range(9):
        byte = buf[at + i]
        if i == 8:
            return (value << 8) | byte, at + 9
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, at + i + 1
    raise ValueError("bad varint")


def raw_sqlite_rows(db: Path) -> Iterator[tuple[int, int, bytes]]:
    """(row id, topic id, data) of the rosbag2 messages rows found in the table pages of a
    damaged sqlite3 file, in row-id order, without its b-tree: every page is tried as a table
    leaf page (sqlite's file format: cells of payload size, row id and a record, long payloads
    continued on overflow pages), and the records that look like a messages row (NULL id, integer
    topic id and timestamp, a blob) are kept. What cannot be parsed is skipped; the reader's
    per-step checksums catch anything misread."""
    data = db.read_bytes()
    if len(data) < 100 or not data.startswith(b"SQLite format 3\0"):
        return
    page_size = struct.unpack(">H", data[16:18])[0]
    page_size = 65536 if page_size == 1 else page_size
    usable = page_size - data[20]
    found: dict[int, tuple[int, int]] = {}  # row id -> (page start, cell offset)
    for start in range(0, len(data) - page_size + 1, page_size):
        head = start + (100 if start == 0 else 0)
        if data[head] != 0x0D:  # not a table leaf page
            continue
        cells = struct.unpack(">H", data[head + 3:head + 5])[0]
        for i in range(cells):
            with contextlib.suppress(IndexError, ValueError, struct.error):
                offset = struct.unpack(">H", data[head + 8 + 2 * i:head + 10 + 2 * i])[0]
                _, at = _varint(data, start + offset)
                rid, _ = _varint(data, at)
                found.setdefault(rid, (start, offset))
    for rid in sorted(found):
        with contextlib.suppress(IndexError, ValueError, struct.error):
            row = _messages_row(data, *found[rid], page_size, usable)
            if row is not None:
                yield rid, row[0], row[1]


def _messages_row(data: bytes, start: int, offset: int, page_size: int, usable: int) -> tuple[int, bytes] | None:
    """(topic id, data) of the table leaf cell at `offset` of the page at `start`, if it holds a
    rosbag2 messages row, else None."""
    size, at = _varint(data, start + offset)
    _, at = _varint(data, at)  # the row id
    fits = usable - 35
    if size <= fits:
        payload = data[at:at + size]
    else:
        least = (usable - 12) * 32 // 255 - 23
        local = least + (size - least) % (usable - 4)
        local = local if local <= fits else least
        parts = [data[at:at + local]]
        page = struct.unpack(">I", data[at + local:at + local + 4])[0]
        got, hops = local, 0
        while got < size and page and hops < len(data) // page_size:
            first = (page - 1) * page_size
            if first + page_size > len(data):
                return None  # the rest of the payload was cut off
            take = min(usable - 4, size - got)
            parts.append(data[first + 4:first + 4 + take])
            got += take
            page = struct.unpack(">I", data[first:first + 4])[0]
            hops += 1
        payload = b"".join(parts)
        if len(payload) != size:
            return None
    head_size, at = _varint(payload, 0)
    types = []
    while at < head_size:
        t, at = _varint(payload, at)
        types.append(t)
    if len(types) != 4 or types[0] != 0 or not (1 <= types[1] <= 6 or types[1] in (8, 9)) or types[3] < 12 or types[3] % 2:
        return None
    widths = {1: 1, 2: 2, 3: 3, 4: 4, 5: 6, 6: 8, 8: 0, 9: 0}
    pos = head_size
    topic = int.from_bytes(payload[pos:pos + widths[types[1]]], "big", signed=True) if widths[types[1]] else types[1] - 8
    pos += widths[types[1]]
    if not (1 <= types[2] <= 6 or types[2] in (8, 9)):
        return None
    pos += widths[types[2]]
    blob = payload[pos:pos + (types[3] - 12) // 2]
    return (topic, blob) if len(blob) == (types[3] - 12) // 2 else None
