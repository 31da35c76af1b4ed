"""Collection throughput: transitions/s per worker with 48x48 rendering and rosbag2 logging.

Run: .venv/bin/python benchmarks/collect_speed.py [--episodes 200] [--workers 1 2]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")

from cog_core.experiments.collect import CollectConfig, collect  # noqa: E402


def main() -> None:
    """Print transitions/s for each worker count and storage."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--episodes", type=int, default=200)
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--preset", default="drawer-prior")
    p.add_argument("--storage", nargs="+", default=["mcap", "sqlite3"])
    args = p.parse_args()
    print(f"machine: {os.cpu_count()} CPUs; preset {args.preset}; {args.episodes} episodes per run")
    for storage in args.storage:
        for workers in args.workers:
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp) / "bags"
                s = collect(CollectConfig(preset=args.preset, out=str(out), episodes=args.episodes, workers=workers, storage=storage), progress=False)
                size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file()) / 2**20
                rate = s.transitions / s.seconds
                print(f"{storage:7s} workers={workers}: {rate:6.0f} transitions/s total, {rate / workers:6.0f} per worker "
                      f"({s.transitions} transitions, {size:.1f} MiB of bags, {s.seconds:.1f} s incl. worker start-up)")


if __name__ == "__main__":
    main()
