"""`cogrl localize`: find objects in one camera frame by background subtraction."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `cogrl localize`."""
    p = sub.add_parser(
        "localize",
        help="locate objects on the table in a camera image (background subtraction)",
        description=(
            "Compare a frame with a background model built from images of the empty workspace, and report "
            "every object candidate as a 3-D point in the robot base frame (ranked, best first), or "
            "'nothing found' with the reason (too little contrast, hidden by the arm, several objects touching, "
            "...). Exit status: 0 when something was found, 1 when nothing was, 2 on bad input."
        ),
    )
    p.add_argument("--camera", required=True, help="camera_info YAML (intrinsics)")
    p.add_argument("--extrinsics", required=True, help="camera pose YAML (from `cogrl calibrate extrinsics`)")
    p.add_argument("--background", required=True, help="folder (or glob) of images of the empty workspace")
    p.add_argument("--image", required=True, help="the frame to search")
    p.add_argument("--out", help="write an annotated copy of the frame here (PNG)")
    p.add_argument("--object-height", type=float, help="full height of the object in metres (default from config)")
    p.add_argument("--objects", metavar="OBJECTS_YAML", help="per-object table: objects: {NAME: {height: M, size: M}}")
    p.add_argument("--object", metavar="NAME", help="the object of --objects to look for (its height and size)")
    p.add_argument("--config", help="LocalizerConfig YAML (workspace, thresholds, ...)")
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="config overrides, e.g. workspace=0.2,0.5,-0.2,0.2")
    p.add_argument("--exclude-mask", help="PNG, non-zero where pixels are to be ignored (e.g. the robot arm)")
    p.add_argument("--joints", help="6 arm joint angles (rad, comma-separated): exclude the arm drawn at this pose")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Localize and print; exit 1 when nothing is found."""
    import json

    import cv2
    import numpy as np
    from rich.console import Console
    from rich.table import Table

    from cog_core.cli import UserError
    from cog_core.cli.files import list_images, load_intrinsics, load_pose, parse_floats, read_rgb, write_rgb
    from cog_core.config import ConfigError, load_config
    from cog_core.vision.camera import CameraModel
    from cog_core.vision.localize import Localizer, LocalizerConfig, annotate
    from cog_core.vision.masks import capsule_mask, workspace_mask, wx250s_arm_segments

    cam = CameraModel(load_intrinsics(args.camera), load_pose(args.extrinsics))
    try:
        cfg = load_config(LocalizerConfig, args.config, args.set)
    except ConfigError as err:
        raise UserError(f"localizer config: {err}") from None
    if args.objects:
        cfg.objects_file = args.objects
    if args.object:
        cfg.object_name = args.object
    if args.object_height is not None and args.object_height < 0:
        raise UserError(f"--object-height must be >= 0 (metres), got {args.object_height}")
    size = cam.intrinsics.size
    bg_files = list_images(args.background)
    frames = []
    for f in bg_files:
        im = read_rgb(f)
        if (im.shape[1], im.shape[0]) != size:
            raise UserError(f"background image {f} is {im.shape[1]}x{im.shape[0]}; the camera file is for {size[0]}x{size[1]}")
        frames.append(im)
    frame = read_rgb(args.image)
    if (frame.shape[1], frame.shape[0]) != size:
        raise UserError(f"{args.image} is {frame.shape[1]}x{frame.shape[0]}; the camera file is for {size[0]}x{size[1]}")
    try:
        loc = Localizer(cam, cfg)
    except ValueError as err:  # includes ObjectTableError
        raise UserError(str(err)) from None
    loc.set_background(frames)
    exclude = None
    if args.exclude_mask:
        m = cv2.imread(args.exclude_mask, cv2.IMREAD_GRAYSCALE)
        if m is None:
            raise UserError(f"cannot read --exclude-mask {args.exclude_mask}")
        if (m.shape[1], m.shape[0]) != size:
            raise UserError(f"--exclude-mask is {m.shape[1]}x{m.shape[0]}; expected {size[0]}x{size[1]}")
        exclude = m > 0
    if args.joints:
        seg, rad = wx250s_arm_segments(np.array(parse_floats(args.joints, 6, "--joints")))
        arm = capsule_mask(cam, seg, rad)
        exclude = arm if exclude is None else (exclude | arm)
    result = loc.analyze(frame, exclude_mask=exclude, object_height=args.object_height)
    dets = result.detections

    if args.json:
        print(json.dumps(result.as_dict()))
    elif not dets:
        print(f"{result.summary()} (in {args.image}, background from {len(frames)} images)")
    else:
        table = Table(title=f"{len(dets)} candidate(s) in {args.image}, best first (base frame, metres)")
        for col in ("rank", "x", "y", "z", "pixel (u, v)", "bbox x,y,w,h", "area cm2", "hidden", "confidence"):
            table.add_column(col, justify="right")
        for i, d in enumerate(dets, 1):
            table.add_row(
                str(i), f"{d.position[0]:.4f}", f"{d.position[1]:.4f}", f"{d.position[2]:.4f}",
                f"{d.pixel[0]:.1f}, {d.pixel[1]:.1f}", ",".join(str(v) for v in d.bbox),
                f"{d.area_m2 * 1e4:.1f}", f"{100 * d.hidden_fraction:.0f} %", f"{d.confidence:.2f}",
            )
        Console().print(table)
        for w in result.withheld:
            print(f"withheld ({w.kind}): {w.reason}")
    if not args.json:
        for warning in dict.fromkeys(w for d in dets for w in d.warnings):
            print(f"warning: {warning}")
    if args.out:
        ws = workspace_mask(cam, cfg.workspace, (cam.table_z, cam.table_z), frame.shape[:2])
        img = annotate(frame, dets, ws, withheld=result.withheld)
        if exclude is not None:
            img[exclude] = (0.6 * img[exclude] + 0.4 * np.array([255, 0, 255])).astype(np.uint8)
        write_rgb(args.out, img)
        if not args.json:
            print(f"wrote {args.out}")
    return 0 if dets else 1
