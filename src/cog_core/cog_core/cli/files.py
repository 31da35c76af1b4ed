"""File helpers that `cogrl calibrate` and `cogrl localize` share: images in and out, camera
files, number lists; every problem becomes a `UserError` with the fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cog_core.cli import UserError
from cog_core.files import atomic_write

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


def parse_floats(text: str, n: int, what: str) -> list[float]:
    """Comma-separated floats, exactly n of them."""
    try:
        vals = [float(v) for v in text.split(",")]
    except ValueError:
        raise UserError(f"{what} {text!r} must be {n} comma-separated numbers") from None
    if len(vals) != n:
        raise UserError(f"{what} {text!r} must be {n} comma-separated numbers, got {len(vals)}")
    return vals


def list_images(spec: str) -> list[Path]:
    """Image files in a folder, or matching a glob, sorted by name."""
    import glob

    p = Path(spec)
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
    else:
        files = sorted(Path(f) for f in glob.glob(spec) if Path(f).suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise UserError(f"no images (png/jpg/bmp/tif) found at {spec!r}")
    return files


def read_rgb(path: str | Path) -> Any:
    """An image file as an RGB uint8 array; UserError if it cannot be read."""
    import cv2

    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise UserError(f"cannot read image {path} (missing or not an image file)")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def write_rgb(path: str | Path, image: Any) -> None:
    """Write an RGB image atomically (format from the suffix)."""
    import cv2

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)

    def write(tmp: Path) -> None:
        if not cv2.imwrite(str(tmp), cv2.cvtColor(image, cv2.COLOR_RGB2BGR)):
            raise OSError(f"could not write {path}")

    atomic_write(path, write, suffix=path.suffix or ".png")


def load_intrinsics(path: str) -> Any:
    """CameraIntrinsics from a camera_info YAML, with file problems as UserError."""
    from cog_core.vision.camera import CalibrationFileError, CameraIntrinsics

    try:
        return CameraIntrinsics.load(path)
    except CalibrationFileError as err:
        raise UserError(str(err)) from None


def load_pose(path: str) -> Any:
    """CameraPose from a camera-pose YAML, with file problems as UserError."""
    from cog_core.vision.camera import CalibrationFileError, CameraPose

    try:
        return CameraPose.load(path)
    except CalibrationFileError as err:
        raise UserError(str(err)) from None
