"""sensor_msgs/Image <-> numpy without cv_bridge (which Humble builds against NumPy 1 only).

The functions work on the message's plain fields (``height``, ``width``, ``encoding``,
``step``, ``data``), so this module never imports ROS: a node passes its message in, or a
dict of the fields comes out and the node copies it onto a message.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

# encoding -> (channels, dtype); the encodings a camera driver or our nodes produce.
ENCODINGS: dict[str, tuple[int, np.dtype]] = {
    "rgb8": (3, np.dtype(np.uint8)),
    "bgr8": (3, np.dtype(np.uint8)),
    "rgba8": (4, np.dtype(np.uint8)),
    "bgra8": (4, np.dtype(np.uint8)),
    "mono8": (1, np.dtype(np.uint8)),
    "8UC3": (3, np.dtype(np.uint8)),
}


class ImageEncodingError(ValueError):
    """An image message that cannot be turned into an RGB array, with the reason."""


def image_fields(rgb: np.ndarray, encoding: str = "rgb8") -> dict[str, Any]:
    """The sensor_msgs/Image fields (height, width, encoding, is_bigendian, step, data) of an RGB uint8 image."""
    img = np.asarray(rgb)
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise ImageEncodingError(f"expected an RGB uint8 image (H, W, 3), got {img.dtype} {img.shape}")
    if encoding == "bgr8":
        img = img[..., ::-1]
    elif encoding != "rgb8":
        raise ImageEncodingError(f"can only write rgb8 or bgr8 images, not {encoding!r}")
    img = np.ascontiguousarray(img)
    h, w = img.shape[:2]
    return {"height": h, "width": w, "encoding": encoding, "is_bigendian": 0, "step": w * 3, "data": img.tobytes()}


def fill_image_msg(msg: Any, rgb: np.ndarray, encoding: str = "rgb8") -> Any:
    """Copy an RGB uint8 image onto a sensor_msgs/Image-like object; returns it."""
    for key, value in image_fields(rgb, encoding).items():
        setattr(msg, key, value)
    return msg


def rgb_from_image_msg(msg: Any) -> np.ndarray:
    """An (H, W, 3) uint8 RGB copy of a sensor_msgs/Image (rgb8, bgr8, rgba8, bgra8, mono8)."""
    enc = str(msg.encoding)
    if enc not in ENCODINGS:
        raise ImageEncodingError(
            f"image encoding {enc!r} is not supported; publish one of {sorted(ENCODINGS)} "
            "(e.g. set the camera driver to rgb8 or bgr8)"
        )
    channels, dtype = ENCODINGS[enc]
    h, w, step = int(msg.height), int(msg.width), int(msg.step)
    row = w * channels * dtype.itemsize
    if h <= 0 or w <= 0:
        raise ImageEncodingError(f"image has size {w}x{h}")
    if step < row:
        raise ImageEncodingError(f"image step {step} is smaller than width x channels ({row})")
    buf = np.frombuffer(bytes(msg.data) if not isinstance(msg.data, (bytes, bytearray, memoryview)) else msg.data, np.uint8)
    if buf.size < step * h:
        raise ImageEncodingError(f"image data has {buf.size} bytes; {w}x{h} {enc} with step {step} needs {step * h}")
    img = buf[: step * h].reshape(h, step)[:, :row].reshape(h, w, channels)
    if enc in ("bgr8", "bgra8"):
        img = img[..., 2::-1]
    elif enc in ("rgba8",):
        img = img[..., :3]
    elif enc == "mono8":
        img = np.repeat(img, 3, axis=2)
    return np.ascontiguousarray(img)


def square_resize(rgb: np.ndarray, size: int) -> np.ndarray:
    """Centre-crop to a square and resize to (size, size) with area averaging (the policy's input)."""
    img = np.asarray(rgb)
    h, w = img.shape[:2]
    side = min(h, w)
    y0, x0 = (h - side) // 2, (w - side) // 2
    crop = img[y0 : y0 + side, x0 : x0 + side]
    if side == size:
        return np.ascontiguousarray(crop)
    interp = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    return cv2.resize(np.ascontiguousarray(crop), (size, size), interpolation=interp)
