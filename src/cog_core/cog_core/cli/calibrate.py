"""`cogrl calibrate`: camera intrinsics and the camera's pose in the robot base frame.

See docs/calibration.md for the lab procedure.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from cog_core.cli.files import list_images, load_intrinsics, load_pose, parse_floats, read_rgb, write_rgb

def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `cogrl calibrate` and its sub-steps."""
    p = sub.add_parser(
        "calibrate",
        help="calibrate the camera (intrinsics, pose in the robot base frame)",
        description=(
            "Camera calibration for the object localizer. Step 1 `intrinsics`: checkerboard images -> "
            "ROS camera_info YAML. Step 2 `extrinsics`: the camera's pose in the robot base frame, from a "
            "board lying at a measured pose on the table (--board) or from a marker on the gripper seen at "
            "known arm poses (--from-arm). Step 3 `check`: the localization error to expect from the calibration, and "
            "the calibrated workspace drawn on an image. "
            "Lab procedure: docs/calibration.md."
        ),
    )
    steps = p.add_subparsers(dest="step", metavar="<step>")
    steps.required = True

    pi = steps.add_parser(
        "intrinsics",
        help="camera matrix and distortion from checkerboard images",
        description="Find the checkerboard in every image and run OpenCV calibrateCamera; writes a ROS camera_info YAML.",
    )
    pi.add_argument("--images", required=True, help="folder of images (png/jpg) or a glob like 'shots/*.png'")
    pi.add_argument("--board", required=True, help="inner corners COLSxROWS, e.g. 9x6 for a board of 10x7 squares")
    pi.add_argument("--square", type=float, required=True, help="square side in metres, measured on the print")
    pi.add_argument("--out", required=True, help="camera_info YAML to write")
    pi.add_argument("--camera-name", default="camera", help="camera_name written in the YAML")
    pi.add_argument("--k3", action="store_true", help="also fit the k3 radial term (default: fixed at 0)")
    pi.set_defaults(func=run_intrinsics)

    pe = steps.add_parser(
        "extrinsics",
        help="camera pose in the robot base frame (board on the table or arm marker)",
        description=(
            "Solve the camera pose in the robot base frame with solvePnP. --board: one image of a checkerboard "
            "lying flat on the table at a measured pose (--board-pose). --from-arm: a YAML listing images of "
            "the arm with an ArUco marker on the gripper and the joint angles (or marker positions) of each."
        ),
    )
    pe.add_argument("--camera", required=True, help="camera_info YAML (from `calibrate intrinsics` or ROS)")
    pe.add_argument("--out", required=True, help="camera pose YAML to write (the localizer's --extrinsics)")
    src = pe.add_mutually_exclusive_group(required=True)
    src.add_argument("--board", help="inner corners COLSxROWS of the board on the table, e.g. 9x6")
    src.add_argument("--from-arm", metavar="SAMPLES_YAML", help="arm samples file (see docs/calibration.md)")
    pe.add_argument("--square", type=float, help="(--board) square side in metres")
    pe.add_argument("--image", help="(--board) image of the board on the table")
    pe.add_argument(
        "--board-pose",
        help="(--board) X,Y,YAW_DEG: grid centre in the base frame (m) and the board x-axis angle from base x (deg)",
    )
    pe.add_argument("--board-thickness", type=float, default=0.0, help="(--board) board thickness in metres")
    pe.add_argument("--board-pose-sigma", default="0.002,0.5", metavar="METRES,DEG",
                    help="(--board) how well --board-pose was measured: position (m) and yaw (deg), 1 sigma; "
                         "stored in the pose's covariance for `calibrate check` (default 0.002,0.5)")
    pe.add_argument("--table-z", type=float, default=0.0, help="table surface height in the base frame (m)")
    pe.add_argument("--ransac-px", type=float, default=6.0, help="(--from-arm) outlier threshold in pixels")
    pe.set_defaults(func=run_extrinsics)

    pc = steps.add_parser(
        "check",
        help="the localization error a calibration allows; draw the base frame and workspace on an image",
        description=(
            "Say how far off the localizer can be because of the calibration alone: the reprojection error and "
            "the extrinsics' uncertainty (the pose file's pose_covariance, plus --rotation-sigma-deg / "
            "--translation-sigma-mm) are propagated to positions on the workspace. With --image and --out, also "
            "project the base-frame axes, a 5 cm table grid and the workspace box into the image."
        ),
    )
    pc.add_argument("--camera", required=True, help="camera_info YAML")
    pc.add_argument("--extrinsics", required=True, help="camera pose YAML")
    pc.add_argument("--image", help="an image from the camera (with --out: draw the check overlay)")
    pc.add_argument("--out", help="annotated PNG to write")
    pc.add_argument("--workspace", default="0.15,0.55,-0.30,0.30", help="X_MIN,X_MAX,Y_MIN,Y_MAX in metres")
    pc.add_argument("--object-height", type=float, default=0.04, help="full height of the objects (m)")
    pc.add_argument("--pixel-sigma", type=float, help="pixel error (px, 1 sigma); default the pose file's reprojection RMS")
    pc.add_argument("--rotation-sigma-deg", type=float, default=0.0,
                    help="extra camera rotation uncertainty (deg, 1 sigma), e.g. for a pose typed in by hand")
    pc.add_argument("--translation-sigma-mm", type=float, default=0.0,
                    help="extra camera position uncertainty (mm, 1 sigma)")
    pc.set_defaults(func=run_check)


# --------------------------------------------------------------------------- helpers


def parse_board(text: str) -> tuple[int, int]:
    """'9x6' -> (9, 6) inner corners."""
    from cog_core.cli import UserError

    try:
        cols, rows = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise UserError(f"--board {text!r} must look like COLSxROWS of inner corners, e.g. 9x6") from None
    if cols < 3 or rows < 3:
        raise UserError(f"--board {text!r}: a board needs at least 3x3 inner corners")
    return cols, rows


def _print_pose(pose: Any, rms: float, out: str) -> None:
    import numpy as np

    from cog_core.vision.camera import matrix_to_quat_xyzw

    view = pose.R[:, 2]
    down = np.degrees(np.arcsin(-view[2]))
    print(f"camera position in base frame: x={pose.t[0]:.4f} y={pose.t[1]:.4f} z={pose.t[2]:.4f} m")
    print(f"rotation (x, y, z, w): {np.round(matrix_to_quat_xyzw(pose.R), 5).tolist()}; looks {down:.1f} deg below horizontal")
    print(f"reprojection RMS: {rms:.3f} px")
    print(f"wrote {out}")


# --------------------------------------------------------------------------- steps


def run_intrinsics(args: argparse.Namespace) -> int:
    """Checkerboard intrinsics -> camera_info YAML."""
    from rich.console import Console
    from rich.table import Table
    from tqdm import tqdm

    from cog_core.cli import UserError
    from cog_core.vision.calibration import CalibrationError, calibrate_intrinsics

    cols, rows = parse_board(args.board)
    if args.square <= 0:
        raise UserError("--square must be the positive square side in metres (e.g. 0.025)")
    files = list_images(args.images)
    images = [read_rgb(f) for f in tqdm(files, desc="reading", unit="img", disable=len(files) < 10)]
    try:
        res = calibrate_intrinsics(images, cols, rows, args.square, camera_name=args.camera_name, fix_k3=not args.k3)
    except CalibrationError as err:
        raise UserError(str(err)) from None
    res.intrinsics.save(args.out)
    table = Table(title=f"board found in {len(res.used)}/{len(files)} images")
    table.add_column("image")
    table.add_column("RMS px", justify="right")
    for i, e in zip(res.used, res.per_view_rms_px):
        table.add_row(files[i].name, f"{e:.3f}")
    Console().print(table)
    K = res.intrinsics.K
    print(f"fx={K[0, 0]:.2f} fy={K[1, 1]:.2f} cx={K[0, 2]:.2f} cy={K[1, 2]:.2f} dist={res.intrinsics.dist.round(5).tolist()}")
    print(f"overall RMS reprojection error: {res.rms_px:.3f} px (good: < 0.5)")
    print(f"wrote {args.out}")
    return 0


def _arm_samples(path: str, base_dir: Path) -> tuple[list[Path], list[Any], list[Any], dict]:
    """Parse the --from-arm samples YAML -> image paths, 3-D points (base), manual pixels (or None)."""
    import numpy as np
    import yaml

    from cog_core.cli import UserError

    p = Path(path)
    if not p.is_file():
        raise UserError(f"arm samples file {p} does not exist (see docs/calibration.md for its layout)")
    try:
        data = yaml.safe_load(p.read_text())
    except yaml.YAMLError as err:
        raise UserError(f"arm samples file {p} is not valid YAML: {err}") from None
    if not isinstance(data, dict) or not isinstance(data.get("samples"), list):
        raise UserError(f"arm samples file {p} needs a 'samples:' list (see docs/calibration.md)")
    marker = data.get("marker") or {}
    offset = np.asarray(marker.get("offset", [0.0, 0.0, 0.0]), dtype=float)
    if offset.shape != (3,):
        raise UserError(f"{p}: marker.offset must be [x, y, z] (metres, in the ee_gripper_link frame)")
    images, points, pixels = [], [], []
    for i, s in enumerate(data["samples"]):
        if not isinstance(s, dict) or "image" not in s:
            raise UserError(f"{p}: sample {i} needs an 'image:' entry")
        if "position" in s:
            pt = np.asarray(s["position"], dtype=float)
            if pt.shape != (3,):
                raise UserError(f"{p}: sample {i} position must be [x, y, z]")
        elif "joints" in s:
            from cog_core.robot.kinematics import fk

            q = np.asarray(s["joints"], dtype=float)
            if q.shape != (6,):
                raise UserError(f"{p}: sample {i} joints must be 6 angles in radians (waist .. wrist_rotate)")
            T = fk(q)
            pt = T[:3, :3] @ offset + T[:3, 3]
        else:
            raise UserError(f"{p}: sample {i} needs 'joints:' (6 angles, rad) or 'position:' (marker centre, m)")
        img = Path(s["image"])
        images.append(img if img.is_absolute() else base_dir / img)
        points.append(pt)
        px = s.get("pixel")
        pixels.append(None if px is None else np.asarray(px, dtype=float))
    return images, points, pixels, marker


def run_extrinsics(args: argparse.Namespace) -> int:
    """Camera pose from a board on the table or from arm marker samples."""
    from cog_core.cli import UserError
    from cog_core.vision.calibration import (
        CalibrationError,
        board_extrinsics,
        board_pose_on_table,
        detect_marker_center,
        solve_camera_pose,
    )

    intr = load_intrinsics(args.camera)
    try:
        if args.board:
            cols, rows = parse_board(args.board)
            missing = [n for n in ("square", "image", "board_pose") if getattr(args, n) is None]
            if missing:
                raise UserError("--board also needs " + ", ".join("--" + m.replace("_", "-") for m in missing))
            x, y, yaw = parse_floats(args.board_pose, 3, "--board-pose")
            pos_sigma, yaw_sigma = parse_floats(args.board_pose_sigma, 2, "--board-pose-sigma")
            if pos_sigma < 0 or yaw_sigma < 0:
                raise UserError(f"--board-pose-sigma {args.board_pose_sigma!r}: both uncertainties must be >= 0")
            T = board_pose_on_table(x, y, yaw, args.table_z + args.board_thickness)
            res = board_extrinsics(read_rgb(args.image), intr, cols, rows, args.square, T, table_z=args.table_z,
                                   board_sigma=(pos_sigma, yaw_sigma))
        else:
            images, points, pixels, marker = _arm_samples(args.from_arm, Path(args.from_arm).parent)
            dictionary = str(marker.get("dictionary", "DICT_4X4_50"))
            marker_id = int(marker.get("id", 0))
            pts, uvs, names = [], [], []
            for img_path, pt, px in zip(images, points, pixels):
                if px is None:
                    px = detect_marker_center(read_rgb(img_path), dictionary, marker_id)
                    if px is None:
                        print(f"warning: marker {dictionary} id {marker_id} not found in {img_path}; sample skipped")
                        continue
                pts.append(pt)
                uvs.append(px)
                names.append(img_path.name)
            res = solve_camera_pose(intr, pts, uvs, method="arm", table_z=args.table_z, ransac_px=args.ransac_px)
            outliers = sorted(set(range(len(pts))) - set(res.inliers.tolist()))
            for k in outliers:
                print(f"warning: {names[k]} disagrees with the others by {res.errors_px[k]:.1f} px; left out")
            print(f"used {len(res.inliers)} of {len(images)} samples")
    except CalibrationError as err:
        raise UserError(str(err)) from None
    res.pose.save(args.out)
    _print_pose(res.pose, res.rms_px, args.out)
    if res.rms_px > 2.0:
        print("warning: reprojection error above 2 px; check the measurements (see docs/calibration.md)")
    from cog_core.vision.camera import CameraModel
    from cog_core.vision.localize import LocalizerConfig

    _print_error_estimate(CameraModel(intr, res.pose), LocalizerConfig().workspace, 0.04)
    return 0


def _print_error_estimate(cam: Any, workspace: Any, object_height: float, pixel_sigma: float | None = None,
                          rotation_sigma_deg: float = 0.0, translation_sigma_m: float = 0.0) -> Any:
    """Print the localization error the calibration allows (see `cog_core.vision.quality`)."""
    from cog_core.vision.quality import expected_localization_error

    est = expected_localization_error(cam, tuple(workspace), object_height, pixel_sigma, rotation_sigma_deg,
                                      translation_sigma_m)
    print(f"expected localization error from the calibration over the workspace: median {100 * est.median:.2f} cm, "
          f"95 % {100 * est.p95:.2f} cm")
    print(f"  from the pixel error ({est.pixel_sigma:.2f} px): 95 % {100 * est.pixels_p95:.2f} cm; from the extrinsics "
          f"(camera rotation +-{est.rotation_sigma_deg:.2f} deg, position +-{1000 * est.translation_sigma_m:.1f} mm): "
          f"95 % {100 * est.pose_p95:.2f} cm")
    for note in est.notes:
        print(f"  note: {note}")
    if est.p95 > 0.01:
        print("warning: the calibration alone may put objects more than 1 cm off; see docs/calibration.md "
              "(measure the board's pose more carefully, or calibrate from the arm)")
    return est


def run_check(args: argparse.Namespace) -> int:
    """Expected localization error; with --image/--out, base axes, a table grid and the workspace box drawn on it."""
    from cog_core.cli import UserError
    from cog_core.vision.camera import CameraModel

    if (args.image is None) != (args.out is None):
        raise UserError("--image and --out go together: the check overlay is drawn on --image and written to --out")
    for name in ("object_height", "pixel_sigma", "rotation_sigma_deg", "translation_sigma_mm"):
        value = getattr(args, name)
        if value is not None and value < 0:
            raise UserError(f"--{name.replace('_', '-')} must be >= 0, got {value}")
    cam = CameraModel(load_intrinsics(args.camera), load_pose(args.extrinsics))
    workspace = parse_floats(args.workspace, 4, "--workspace")
    try:
        _print_error_estimate(cam, workspace, args.object_height, args.pixel_sigma, args.rotation_sigma_deg,
                              args.translation_sigma_mm / 1000)
    except ValueError as err:
        raise UserError(str(err)) from None
    if args.image is not None:
        _draw_check(cam, args.image, args.out, workspace)
    return 0


def _draw_check(cam: Any, image: str, out: str, workspace: list[float]) -> None:
    """Draw base axes, a table grid and the workspace box onto the image and write it."""
    import cv2
    import numpy as np

    from cog_core.cli import UserError

    img = read_rgb(image)
    if (img.shape[1], img.shape[0]) != cam.intrinsics.size:
        raise UserError(f"{image} is {img.shape[1]}x{img.shape[0]} but the camera file is for {cam.intrinsics.width}x{cam.intrinsics.height}")
    x0, x1, y0, y1 = workspace
    z = cam.table_z

    def line(a: Any, b: Any, color: tuple[int, int, int], width: int = 1) -> None:
        pts = np.linspace(a, b, 30)
        uv, depth = cam.project(pts)
        uv = uv[depth > 0]
        if len(uv) > 1:
            cv2.polylines(img, [np.round(uv).astype(np.int32).reshape(-1, 1, 2)], False, color, width, cv2.LINE_AA)

    for gx in np.arange(np.ceil(x0 / 0.05) * 0.05, x1 + 1e-9, 0.05):
        line([gx, y0, z], [gx, y1, z], (200, 200, 200))
    for gy in np.arange(np.ceil(y0 / 0.05) * 0.05, y1 + 1e-9, 0.05):
        line([x0, gy, z], [x1, gy, z], (200, 200, 200))
    for a, b in (((x0, y0), (x1, y0)), ((x1, y0), (x1, y1)), ((x1, y1), (x0, y1)), ((x0, y1), (x0, y0))):
        line([*a, z], [*b, z], (255, 255, 0), 2)
    for axis, color in ((0, (255, 0, 0)), (1, (0, 255, 0)), (2, (0, 0, 255))):
        end = np.zeros(3)
        end[axis] = 0.1
        line([0, 0, z], end + [0, 0, z], color, 3)
    write_rgb(out, img)
    print(f"wrote {out}: base axes x red, y green, z blue (10 cm); 5 cm table grid; workspace in yellow")
