"""Localizer speed per 640x480 frame (target < 5 ms), single thread and OpenCV default threads.

Run: .venv/bin/python benchmarks/localize_speed.py [--repeats 300]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("MUJOCO_GL", "egl")

import cv2  # noqa: E402
import numpy as np  # noqa: E402


def main() -> None:
    """Time Localizer.localize on rendered frames with 0-3 objects."""
    from cog_core.vision import Localizer, LocalizerConfig
    from cog_core.vision.synthetic import WORKSPACE, TableScene

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=300)
    args = ap.parse_args()
    scene = TableScene()
    rng = np.random.default_rng(0)
    bg = [scene.render(noise_sigma=4, rng=rng) for _ in range(10)]
    frames = [scene.render(scene.random_placements(rng, k), noise_sigma=4, rng=rng) for k in (0, 1, 2, 3)]
    scene_cam = scene.camera
    scene.close()
    for ds in (2, 1):
        loc = Localizer(scene_cam, LocalizerConfig(workspace=WORKSPACE, downscale=ds))
        t0 = time.perf_counter()
        loc.set_background(bg)
        t_bg = time.perf_counter() - t0
        for threads in (1, cv2.getNumberOfCPUs()):
            cv2.setNumThreads(threads)
            for f in frames:
                loc.localize(f)  # warm-up
            times = []
            for i in range(args.repeats):
                f = frames[i % len(frames)]
                t0 = time.perf_counter()
                loc.localize(f)
                times.append(time.perf_counter() - t0)
            t = np.array(times) * 1000
            print(f"downscale={ds} opencv_threads={threads}: median {np.median(t):.2f} ms, p95 {np.percentile(t, 95):.2f} ms "
                  f"per 640x480 frame (background model from 10 frames: {1000 * t_bg:.0f} ms)")
    cv2.setNumThreads(-1)


if __name__ == "__main__":
    main()
