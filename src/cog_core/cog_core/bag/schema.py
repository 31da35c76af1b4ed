"""The cog_msgs message definitions, registered with rosbags from the one set of .msg files.

The ``.msg`` files in ``src/cog_msgs/msg`` are the only definition of the Step and
EpisodeSummary messages. Writing a bag needs them (rosbags serializes with them and embeds
their text in the bag); reading a bag does not (readers use the text embedded in the bag).

Where the files are looked up, first hit wins:

1. ``$COG_MSGS_DIR`` (a directory holding ``Step.msg`` and ``EpisodeSummary.msg``);
2. the source tree, ``src/cog_msgs/msg`` relative to this file (editable installs, checkouts);
3. ``<prefix>/share/cog_msgs/msg`` for every prefix in ``$AMENT_PREFIX_PATH`` (a colcon or
   ROS install of cog_msgs), then ``sys.prefix`` (a wheel that installs the files there).
"""

from __future__ import annotations

import os
import sys
from functools import lru_cache
from pathlib import Path

import numpy as np
from rosbags.typesys import Stores, get_typestore, get_types_from_msg
from rosbags.typesys.store import Typestore

PACKAGE = "cog_msgs"
STEP_TYPE = "cog_msgs/msg/Step"
SUMMARY_TYPE = "cog_msgs/msg/EpisodeSummary"
MESSAGE_NAMES = ("Step", "EpisodeSummary")
STEP_TOPIC = "/cog/step"
SUMMARY_TOPIC = "/cog/episode"


class MessageDefinitionsNotFound(FileNotFoundError):
    """The cog_msgs .msg files could not be found anywhere cog_core looks."""


def candidate_dirs() -> list[Path]:
    """Directories searched for the cog_msgs .msg files, in order."""
    dirs: list[Path] = []
    env = os.environ.get("COG_MSGS_DIR")
    if env:
        dirs.append(Path(env))
    # cog_core/cog_core/bag/schema.py -> parents[3] is the workspace's src/ directory.
    dirs.append(Path(__file__).resolve().parents[3] / PACKAGE / "msg")
    for prefix in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep):
        if prefix:
            dirs.append(Path(prefix) / "share" / PACKAGE / "msg")
    dirs.append(Path(sys.prefix) / "share" / PACKAGE / "msg")
    return dirs


def msg_dir() -> Path:
    """The directory whose Step.msg and EpisodeSummary.msg cog_core uses."""
    tried = candidate_dirs()
    for d in tried:
        if all((d / f"{name}.msg").is_file() for name in MESSAGE_NAMES):
            return d
    raise MessageDefinitionsNotFound(
        "cannot find the cog_msgs message files (Step.msg, EpisodeSummary.msg); looked in: "
        + ", ".join(str(d) for d in tried)
        + ". Set COG_MSGS_DIR to the src/cog_msgs/msg directory of a checkout, or source a "
        "workspace where cog_msgs is installed (AMENT_PREFIX_PATH)."
    )


def msg_texts() -> dict[str, str]:
    """Full type name -> the exact text of its .msg file."""
    d = msg_dir()
    return {f"{PACKAGE}/msg/{name}": (d / f"{name}.msg").read_text(encoding="utf-8") for name in MESSAGE_NAMES}


@lru_cache(maxsize=1)
def typestore() -> Typestore:
    """A Humble typestore with the cog_msgs types registered from their .msg files."""
    store = get_typestore(Stores.ROS2_HUMBLE)
    types = {}
    for name, text in msg_texts().items():
        types.update(get_types_from_msg(text, name))
    store.register(types)
    return store


def image_to_msg(store: Typestore, image: np.ndarray, stamp_ns: int, frame_id: str = "camera"):
    """A sensor_msgs/Image (rgb8) holding a uint8 (H, W, 3) array."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"observation must be uint8 (H, W, 3) RGB, got {image.dtype} {image.shape}")
    h, w = int(image.shape[0]), int(image.shape[1])
    Image = store.types["sensor_msgs/msg/Image"]
    return Image(
        header=header(store, stamp_ns, frame_id),
        height=h,
        width=w,
        encoding="rgb8",
        is_bigendian=0,
        step=w * 3,
        data=np.ascontiguousarray(image).reshape(-1),
    )


def msg_to_image(msg) -> np.ndarray:
    """The uint8 (H, W, 3) RGB array of a sensor_msgs/Image (rgb8, bgr8, rgba8 or bgra8)."""
    enc = str(msg.encoding).lower()
    channels = {"rgb8": 3, "bgr8": 3, "rgba8": 4, "bgra8": 4}.get(enc)
    if channels is None:
        raise ValueError(f"unsupported image encoding {msg.encoding!r} (expected rgb8 or bgr8)")
    h, w, step = int(msg.height), int(msg.width), int(msg.step)
    data = np.asarray(msg.data, dtype=np.uint8)
    if h <= 0 or w <= 0 or step < w * channels or data.size < h * step:
        raise ValueError(f"image data does not fit its header: {h}x{w}, step {step}, {data.size} bytes")
    img = data[: h * step].reshape(h, step)[:, : w * channels].reshape(h, w, channels)
    if enc.startswith("bgr"):
        img = img[:, :, [2, 1, 0]]
    else:
        img = img[:, :, :3]
    return np.ascontiguousarray(img)


def header(store: Typestore, stamp_ns: int, frame_id: str = ""):
    """A std_msgs/Header for a stamp in nanoseconds."""
    Time = store.types["builtin_interfaces/msg/Time"]
    Header = store.types["std_msgs/msg/Header"]
    return Header(stamp=Time(sec=int(stamp_ns // 1_000_000_000), nanosec=int(stamp_ns % 1_000_000_000)), frame_id=frame_id)
