"""Conversion speed (bags -> HDF5) versus the raw read speed of the same bags.

Usage: python benchmarks/convert_speed.py [--episodes 200] [--length 40] [--compression none]
MB are bytes of serialized Step/EpisodeSummary messages read from the bag, so the two
figures are directly comparable: the gap is decoding, validation and HDF5 writing.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from rosbags.highlevel import AnyReader

from cog_core.bag import BagRecorder
from cog_core.bag.reader import find_bags
from cog_core.bag.synthetic import make_episode, record_episode
from cog_core.data.convert import ConvertOptions, convert_bags


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--episodes", type=int, default=200)
    ap.add_argument("--length", type=int, default=40)
    ap.add_argument("--image-size", type=int, default=48)
    ap.add_argument("--storage", choices=["mcap", "sqlite3"], default="mcap")
    ap.add_argument("--compression", choices=["none", "gzip", "lzf"], default="none")
    args = ap.parse_args()
    eps = [make_episode(0, i, length=args.length, image_size=args.image_size) for i in range(min(args.episodes, 20))]
    with tempfile.TemporaryDirectory() as tmp:
        bags = Path(tmp) / "run"
        with BagRecorder(bags, storage=args.storage) as rec:
            for i in range(args.episodes):
                record_episode(rec, eps[i % len(eps)])
        t0 = time.perf_counter()
        nbytes = 0
        with AnyReader(find_bags(bags)) as r:
            for _c, _t, raw in r.messages():
                nbytes += len(raw)
        t_raw = time.perf_counter() - t0
        t0 = time.perf_counter()
        with AnyReader(find_bags(bags)) as r:
            for c, _t, raw in r.messages():
                r.deserialize(raw, c.msgtype)
        t_des = time.perf_counter() - t0
        comp = None if args.compression == "none" else args.compression
        res = convert_bags([bags], Path(tmp) / "out.h5", ConvertOptions(role="task", compression=comp))
        mb = nbytes / 1e6
        print(f"{args.episodes} episodes x {args.length} transitions, {args.image_size}x{args.image_size}, {args.storage}, "
              f"{mb:.1f} MB of messages")
        print(f"  raw bag read (rosbags, no decode): {mb / t_raw:8.1f} MB/s")
        print(f"  read + deserialize (rosbags):      {mb / t_des:8.1f} MB/s")
        print(f"  cogrl convert (-> HDF5, {args.compression}):    {res.bytes_read / 1e6 / res.seconds:8.1f} MB/s  "
              f"({res.transitions / res.seconds:.0f} transitions/s, output {res.bytes_written / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
