"""FrameSource: still images, looping video files, bad sources."""

import cv2
import numpy as np
import pytest

from cog_core.vision.capture import CaptureError, FrameSource


def test_still_image_is_rgb_and_resized(tmp_path):
    bgr = np.zeros((30, 40, 3), np.uint8)
    bgr[..., 0] = 255  # blue
    cv2.imwrite(str(tmp_path / "a.png"), bgr)
    src = FrameSource(str(tmp_path / "a.png"), 20, 15)
    f = src.read()
    assert f.shape == (15, 20, 3) and f[0, 0].tolist() == [0, 0, 255]
    assert src.read() is not None and src.frames_read == 2


def test_video_loops_or_ends(tmp_path):
    path = tmp_path / "v.avi"
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (32, 24))
    for _ in range(3):
        vw.write(np.full((24, 32, 3), 128, np.uint8))
    vw.release()
    looping = FrameSource(str(path))
    assert all(looping.read() is not None for _ in range(7))
    once = FrameSource(str(path), loop=False)
    frames = [once.read() for _ in range(5)]
    assert sum(f is not None for f in frames) == 3 and frames[-1] is None
    once.close()


@pytest.mark.parametrize("source,match", [("", "empty"), ("/nope/cam.avi", "neither a device"), ("/nope/x.png", "cannot read image")])
def test_bad_sources(source, match):
    with pytest.raises(CaptureError, match=match):
        FrameSource(source)
