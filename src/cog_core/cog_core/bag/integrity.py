"""Checksums that let a reader tell whether a bag still holds the bytes the recorder wrote.

Two layers, both CRC-32 (zlib):

- **Per message.** Every EpisodeSummary carries, in its ``info_json`` under
  `CHECKSUM_KEY`, the CRC of each of the episode's serialized Step messages (in step order)
  and a CRC of its own fields. The reader recomputes them, so a changed byte in any step or
  summary is found in MCAP and sqlite3 bags alike, and named by episode and step.
- **Per MCAP chunk.** rosbags writes every chunk's CRC as 0 ("not computed");
  `store_chunk_crcs` makes its writer store the real one, which rosbags' reader, the `mcap`
  tools and our recovery verify.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

CHECKSUM_KEY = "cog.checksums"
# Where an MCAP Chunk record keeps the CRC of its records: after the opcode (1 byte), the
# record length (8), message start and end time (8 + 8) and the uncompressed size (8).
_CHUNK_CRC_OFFSET = 1 + 8 + 8 + 8 + 8


def crc(data: bytes | bytearray | memoryview) -> int:
    """CRC-32 of serialized bytes."""
    return zlib.crc32(data) & 0xFFFFFFFF


def summary_crc(fields: Mapping[str, Any], user_info: Mapping[str, Any], step_crcs: Sequence[int]) -> int:
    """CRC-32 of an EpisodeSummary's fields: `fields` holds episode_id, task, initial_condition,
    policy, policy_params_json, seed, status, success, length and episode_return; `user_info` is
    its info without the checksums; `step_crcs` the per-step CRCs it lists."""
    doc = [
        str(fields["episode_id"]), str(fields["task"]), str(fields["initial_condition"]), str(fields["policy"]),
        str(fields["policy_params_json"]), int(fields["seed"]), str(fields["status"]), bool(fields["success"]),
        int(fields["length"]), repr(float(fields["episode_return"])),
        json.dumps(user_info, sort_keys=True), [int(c) for c in step_crcs],
    ]
    return crc(json.dumps(doc, separators=(",", ":")).encode())


def store_chunk_crcs(storage: Any) -> None:
    """Make a rosbags MCAP storage writer (`Writer.storage`) write each chunk's CRC-32.

    Its `close_chunk` is wrapped on the instance (rosbags calls it through the instance: when a
    chunk grows past 1 MiB, at the recorder's per-episode commit and on close): the chunk's
    records are checksummed before they are written, and the CRC is patched into the Chunk
    record's header once it is on its way to the file.
    """
    close_chunk = storage.close_chunk

    def close_chunk_with_crc() -> None:
        records = storage.chunk.bio.getbuffer()
        value = crc(records)
        size = len(records)
        del records  # a live buffer export would stop the BytesIO from being replaced
        start = storage.bio.tell()
        close_chunk()
        end = storage.bio.tell()
        if end - start < _CHUNK_CRC_OFFSET + 4 + size:
            raise RuntimeError("unexpected MCAP chunk layout from rosbags; chunk CRCs cannot be written")
        storage.bio.seek(start + _CHUNK_CRC_OFFSET)
        storage.bio.write(struct.pack("<I", value))
        storage.bio.seek(end)

    storage.close_chunk = close_chunk_with_crc


def chunk_crc_ok(chunk: Any) -> bool | None:
    """Whether an `mcap` Chunk record's records match its CRC (None when it stores none)."""
    if not chunk.uncompressed_crc:
        return None
    if chunk.compression:
        from mcap.stream_reader import get_chunk_data_stream

        stream, _ = get_chunk_data_stream(chunk)
        data = stream.read(chunk.uncompressed_size)
    else:
        data = chunk.data
    return crc(data) == chunk.uncompressed_crc
