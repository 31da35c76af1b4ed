"""Camera frames from a device, a video or image file, or a stream URL (OpenCV), as RGB arrays.

`FrameSource` is what the ROS camera node wraps; it does no ROS and no timing.

Sources: ``"0"`` / ``"2"`` (device index), ``"/dev/video0"``, a video file (looped when
``loop``), a still image file (the same frame every time: handy for tests and dry runs), or a
URL (``rtsp://``, ``http://``, ...).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}


class CaptureError(RuntimeError):
    """A camera source that cannot be opened or read, with what to check."""


class FrameSource:
    """Reads RGB uint8 frames from `source`; optional resize to `width` x `height`."""

    def __init__(self, source: str, width: int = 0, height: int = 0, loop: bool = True) -> None:
        self.source = str(source).strip()
        if not self.source:
            raise CaptureError("camera source is empty; give a device index (0), /dev/videoN, a file or a URL")
        self.size = (int(width), int(height)) if width and height else None
        self.loop = loop
        self.frames_read = 0
        self._still: np.ndarray | None = None
        self._cap = None
        path = Path(self.source)
        if path.suffix.lower() in IMAGE_SUFFIXES:
            bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if bgr is None:
                raise CaptureError(f"cannot read image file {path} (missing or not an image)")
            self._still = self._fit(bgr)
            return
        target: int | str = int(self.source) if self.source.isdigit() else self.source
        if isinstance(target, str) and "://" not in target and not path.exists():
            raise CaptureError(f"camera source {self.source!r} is neither a device index, an existing file nor a URL")
        self._cap = cv2.VideoCapture(target)
        if not self._cap.isOpened():
            raise CaptureError(f"OpenCV cannot open camera source {self.source!r} (check the device/file/URL and permissions)")
        if self.size is not None and isinstance(target, int):
            self._cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.size[0])
            self._cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.size[1])
        self._is_file = isinstance(target, str) and "://" not in target

    def _fit(self, bgr: np.ndarray) -> np.ndarray:
        if self.size is not None and (bgr.shape[1], bgr.shape[0]) != self.size:
            bgr = cv2.resize(bgr, self.size, interpolation=cv2.INTER_AREA)
        return np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))

    def read(self) -> np.ndarray | None:
        """The next RGB frame, or None when a non-looping file is exhausted or a live source dropped one."""
        if self._still is not None:
            self.frames_read += 1
            return self._still.copy()
        assert self._cap is not None  # opened in __init__ unless the source is a still image
        ok, bgr = self._cap.read()
        if not ok and self._is_file and self.loop:
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, bgr = self._cap.read()
        if not ok or bgr is None:
            return None
        self.frames_read += 1
        return self._fit(bgr)

    def close(self) -> None:
        """Release the device/file."""
        if self._cap is not None:
            self._cap.release()
            self._cap = None
