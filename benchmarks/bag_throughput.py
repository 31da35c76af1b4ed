"""Write and read throughput of the bag layer for 48x48 Step records.

Usage: python benchmarks/bag_throughput.py [--episodes 200] [--length 40] [--storage mcap]
Prints msgs/s and MB/s for BagRecorder (write, including per-episode flush) and for
BagReader (read + decode + episode assembly), plus rosbags' raw read speed for reference.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from rosbags.highlevel import AnyReader

from cog_core.bag import BagRecorder
from cog_core.bag.reader import BagReader, find_bags
from cog_core.bag.synthetic import make_episode, record_episode


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--episodes", type=int, default=200)
    ap.add_argument("--length", type=int, default=40)
    ap.add_argument("--image-size", type=int, default=48)
    ap.add_argument("--storage", choices=["mcap", "sqlite3"], default="mcap")
    args = ap.parse_args()
    eps = [make_episode(0, i, length=args.length, image_size=args.image_size) for i in range(min(args.episodes, 20))]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        t0 = time.perf_counter()
        with BagRecorder(out, storage=args.storage) as rec:
            for i in range(args.episodes):
                record_episode(rec, eps[i % len(eps)])
        tw = time.perf_counter() - t0
        msgs = rec.steps_written + rec.episodes_written
        mb = rec.bytes_written / 1e6
        print(f"write ({args.storage}, {args.image_size}x{args.image_size}, {args.episodes} episodes x {args.length + 1} steps):")
        print(f"  {msgs / tw:10.0f} msgs/s  {mb / tw:8.1f} MB/s  ({msgs} msgs, {mb:.1f} MB, {tw:.2f} s)")

        t0 = time.perf_counter()
        n = nbytes = 0
        with AnyReader(find_bags(out)) as r:
            for c, _, raw in r.messages():
                r.deserialize(raw, c.msgtype)
                n += 1
                nbytes += len(raw)
        tr = time.perf_counter() - t0
        print(f"raw rosbags read+deserialize:\n  {n / tr:10.0f} msgs/s  {nbytes / 1e6 / tr:8.1f} MB/s")

        t0 = time.perf_counter()
        reader = BagReader([out])
        steps = sum(e.length + 1 for e in reader.episodes())
        te = time.perf_counter() - t0
        print(f"BagReader (decode + validate + assemble episodes):\n  {reader.stats.messages / te:10.0f} msgs/s  "
              f"{reader.stats.bytes / 1e6 / te:8.1f} MB/s  ({steps} steps, {reader.stats.episodes} episodes)")


if __name__ == "__main__":
    main()
