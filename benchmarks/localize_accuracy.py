"""Localizer and calibration accuracy against MuJoCo ground truth (issue 6 targets).

Run: .venv/bin/python benchmarks/localize_accuracy.py [--frames 60] [--noise 5]
Targets: median 3-D error < 1 cm, 95th percentile < 2 cm; median < 2 cm with light +-30% and
sensor noise; zero detections on empty frames; calibration from checkerboard renders within
1% focal length and 5 mm camera position.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("MUJOCO_GL", "egl")

import numpy as np  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402


def localization_rows(frames: int, noise: float) -> list[tuple[str, ...]]:
    """One table row per condition: errors of matched detections, misses, false detections."""
    from cog_core.vision import Localizer, LocalizerConfig
    from cog_core.vision.synthetic import WORKSPACE, TableScene

    scene = TableScene()
    rng = np.random.default_rng(0)
    loc = Localizer(scene.camera, LocalizerConfig(workspace=WORKSPACE))
    loc.set_background([scene.render(noise_sigma=noise, rng=rng) for _ in range(10)])
    rows = []
    for name, light, sigma in (("nominal light", 1.0, noise), ("light -30%", 0.7, noise + 2), ("light +30%", 1.3, noise + 2)):
        errors, missed, false, empty_false = [], 0, 0, 0
        for f in range(frames):
            placements = scene.random_placements(rng, 1 + f % 3)
            dets = loc.localize(scene.render(placements, light_scale=light, noise_sigma=sigma, rng=rng))
            used = set()
            for gt in scene.ground_truth(placements):
                d = [np.linalg.norm(x.position - gt) if i not in used else np.inf for i, x in enumerate(dets)]
                k = int(np.argmin(d)) if d else -1
                if k >= 0 and d[k] < 0.03:
                    used.add(k)
                    errors.append(d[k])
                else:
                    missed += 1
            false += len(dets) - len(used)
        for _ in range(max(5, frames // 4)):
            empty_false += len(loc.localize(scene.render(light_scale=light, noise_sigma=sigma, rng=rng)))
        e = np.array(errors) * 1000
        rows.append((name, f"{sigma:.0f}", str(len(errors) + missed), f"{np.median(e):.2f}", f"{np.percentile(e, 95):.2f}",
                     f"{e.max():.2f}", str(missed), str(false), f"{empty_false} / {max(5, frames // 4)}"))
    scene.close()
    return rows


def calibration_rows() -> list[tuple[str, ...]]:
    """Intrinsics from 14 board renders, then board-on-table and arm-marker extrinsics."""
    from cog_core.vision import calibration as C
    from cog_core.vision.synthetic import BoardScene, MarkerScene, random_board_poses, random_rotation_facing

    scene = BoardScene(9, 6, 0.03)
    truth = scene.camera
    images = [scene.render(T) for T in random_board_poses(scene, np.random.default_rng(0), 14)]
    res = C.calibrate_intrinsics(images, 9, 6, 0.03)
    intr = res.intrinsics
    rows = [("intrinsics (14 views)", f"fx {100 * (intr.fx / truth.intrinsics.fx - 1):+.3f}%  fy {100 * (intr.fy / truth.intrinsics.fy - 1):+.3f}%",
             f"cx {intr.K[0, 2] - truth.intrinsics.K[0, 2]:+.2f} px  cy {intr.K[1, 2] - truth.intrinsics.K[1, 2]:+.2f} px", f"{res.rms_px:.3f}")]
    for yaw in (20.0, 135.0):
        T = C.board_pose_on_table(0.33, 0.0, yaw, 0.002)
        ext = C.board_extrinsics(scene.render(T), intr, 9, 6, 0.03, T)
        ang = np.degrees(np.arccos(np.clip((np.trace(ext.pose.R.T @ truth.pose.R) - 1) / 2, -1, 1)))
        rows.append((f"board on table, yaw {yaw:.0f}", f"position {1000 * np.linalg.norm(ext.pose.t - truth.pose.t):.2f} mm",
                     f"rotation {ang:.3f} deg", f"{ext.rms_px:.3f}"))
    scene.close()
    ms = MarkerScene()
    rng = np.random.default_rng(1)
    pts, uvs = [], []
    while len(pts) < 10:
        p = rng.uniform([0.18, -0.2, 0.03], [0.48, 0.2, 0.3])
        T = np.eye(4)
        T[:3, 3] = p
        T[:3, :3] = random_rotation_facing(rng, ms.camera.pose.t - p, 0.6)
        if ms.fully_visible(T):
            uv = C.detect_marker_center(ms.render(T))
            if uv is not None:
                pts.append(p)
                uvs.append(uv)
    ext = C.solve_camera_pose(intr, pts, uvs, "arm", ransac_px=4.0)
    ang = np.degrees(np.arccos(np.clip((np.trace(ext.pose.R.T @ truth.pose.R) - 1) / 2, -1, 1)))
    rows.append(("arm marker, 10 poses", f"position {1000 * np.linalg.norm(ext.pose.t - truth.pose.t):.2f} mm",
                 f"rotation {ang:.3f} deg", f"{ext.rms_px:.3f}"))
    ms.close()
    return rows


def main() -> None:
    """Print the accuracy tables."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=60, help="frames per lighting condition (1-3 objects each)")
    ap.add_argument("--noise", type=float, default=4.0, help="Gaussian sensor noise sigma (grey levels)")
    args = ap.parse_args()
    console = Console()
    t0 = time.perf_counter()
    table = Table(title="Localization vs MuJoCo ground truth (640x480, errors in mm)")
    for col in ("condition", "noise", "objects", "median", "p95", "max", "missed", "false", "empty-frame dets"):
        table.add_column(col, justify="right")
    for row in localization_rows(args.frames, args.noise):
        table.add_row(*row)
    console.print(table)
    table = Table(title="Calibration from synthetic renders vs the sim camera (intrinsics calibrated, then used)")
    for col in ("step", "error", "", "RMS px"):
        table.add_column(col, justify="right")
    for row in calibration_rows():
        table.add_row(*row)
    console.print(table)
    console.print(f"took {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
