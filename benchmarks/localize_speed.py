"""Localizer speed per 640x480 frame (target < 5 ms), single thread and OpenCV default threads.

Run: .venv/bin/python benchmarks/localize_speed.py [--repeats 300]

Frames: 0-3 coloured objects, 1-3 neutral objects (black, grey, white, table-coloured: the
table-coloured ones take the silhouette fit), and one object under the hovering arm with
the arm masked.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("MUJOCO_GL", "egl")

import cv2  # noqa: E402
import numpy as np  # noqa: E402


def main() -> None:
    """Time Localizer.analyze on rendered frames."""
    from cog_core.vision import Localizer, LocalizerConfig
    from cog_core.vision.masks import capsule_mask
    from cog_core.vision.synthetic import DEFAULT_OBJECTS, NEUTRAL_OBJECTS, WORKSPACE, TableScene

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=300)
    args = ap.parse_args()
    scene = TableScene(DEFAULT_OBJECTS)
    neutral = TableScene(tuple(NEUTRAL_OBJECTS.values()))  # same table and camera, other objects
    rng = np.random.default_rng(0)
    bg = [scene.render(noise_sigma=4, rng=rng) for _ in range(10)]
    kinds: dict[str, list[tuple[np.ndarray, np.ndarray | None]]] = {"coloured 0-3": [], "neutral 1-3": [], "hovering arm": []}
    for k in (0, 1, 2, 3):
        kinds["coloured 0-3"].append((scene.render(scene.random_placements(rng, k), noise_sigma=4, rng=rng), None))
    for k in (1, 2, 3):
        kinds["neutral 1-3"].append((neutral.render(neutral.random_placements(rng, k), noise_sigma=4, rng=rng), None))
    for _ in range(3):
        p = scene.random_placements(rng, 1)[0]
        arm = scene.hover_arm_pose(p.x, p.y, scene.objects[p.slot].height, rng.uniform(0.04, 0.1))
        seg, rad = scene.arm_segments(arm)
        kinds["hovering arm"].append((scene.render([p], noise_sigma=4, rng=rng, arm_pose=arm),
                                      capsule_mask(scene.camera, seg, rad, margin=0.01)))
    scene_cam = scene.camera
    scene.close()
    neutral.close()
    for ds in (2, 1):
        loc = Localizer(scene_cam, LocalizerConfig(workspace=WORKSPACE, downscale=ds))
        t0 = time.perf_counter()
        loc.set_background(bg)
        t_bg = time.perf_counter() - t0
        for threads in (1, cv2.getNumberOfCPUs()):
            cv2.setNumThreads(threads)
            parts = []
            for name, frames in kinds.items():
                for f, m in frames:
                    loc.analyze(f, m)  # warm-up
                times = []
                for i in range(args.repeats):
                    f, m = frames[i % len(frames)]
                    t0 = time.perf_counter()
                    loc.analyze(f, m)
                    times.append(time.perf_counter() - t0)
                t = np.array(times) * 1000
                parts.append(f"{name}: median {np.median(t):.2f} ms, p95 {np.percentile(t, 95):.2f} ms")
            print(f"downscale={ds} opencv_threads={threads}: " + "; ".join(parts)
                  + f" per 640x480 frame (background model from 10 frames: {1000 * t_bg:.0f} ms)")
    cv2.setNumThreads(-1)


if __name__ == "__main__":
    main()
