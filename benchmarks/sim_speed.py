"""Simulator throughput: env steps/s with 48x48 rendering, reset time, and worker scaling.

Run: .venv/bin/python benchmarks/sim_speed.py [--steps 2000] [--workers 1 2]
Target (issue 2): >= 300 steps/s per core including rendering; cheap resets.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import time

os.environ.setdefault("MUJOCO_GL", "egl")

import numpy as np  # noqa: E402


def run_worker(args: tuple[str, int, int, int]) -> tuple[float, float, float]:
    """Return (steps/s incl. render, steps/s physics+control only, mean reset ms) for one process."""
    from cog_core.sim import make_env

    condition, steps, image_size, seed = args
    env = make_env(condition, image_size=image_size)
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    actions = rng.uniform(-1, 1, (steps, 8))
    actions[:, 7] = -1  # no move-to-neutral (it is a 4x longer step)
    t0 = time.perf_counter()
    for a in actions:
        env.step(a)
    with_render = steps / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for a in actions[: steps // 2]:
        env.arm.apply(a)
    no_render = (steps // 2) / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    n_resets = 50
    for i in range(n_resets):
        env.reset(seed=seed + i)
    reset_ms = 1000 * (time.perf_counter() - t0) / n_resets
    env.close()
    return with_render, no_render, reset_ms


def main() -> None:
    """Print the figures."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--condition", default="drawer/closed")
    p.add_argument("--image-size", type=int, default=48)
    args = p.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, MUJOCO_GL={os.environ['MUJOCO_GL']}, condition {args.condition}, {args.image_size}px")
    for n in args.workers:
        ctx = mp.get_context("spawn")
        with ctx.Pool(n) as pool:
            t0 = time.perf_counter()
            results = pool.map(run_worker, [(args.condition, args.steps, args.image_size, i) for i in range(n)])
            wall = time.perf_counter() - t0
        per = np.array(results)
        print(
            f"workers={n}: per-process {per[:, 0].mean():7.1f} steps/s with rendering "
            f"({per[:, 1].mean():7.1f} without), total {per[:, 0].sum():7.1f} steps/s; "
            f"reset {per[:, 2].mean():5.2f} ms; wall {wall:5.1f} s"
        )


if __name__ == "__main__":
    main()
