"""sensor_msgs/Image <-> numpy by hand (no cv_bridge, no ROS)."""

from types import SimpleNamespace

import numpy as np
import pytest

from cog_core.vision.imagemsg import ImageEncodingError, fill_image_msg, image_fields, rgb_from_image_msg, square_resize


def _rgb(h=5, w=7):
    return np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize("enc", ["rgb8", "bgr8"])
def test_round_trip(enc):
    img = _rgb()
    msg = fill_image_msg(SimpleNamespace(), img, enc)
    assert msg.step == 21 and msg.encoding == enc and len(msg.data) == 5 * 21
    assert np.array_equal(rgb_from_image_msg(msg), img)


def test_bgr8_really_swaps_channels():
    img = np.zeros((1, 1, 3), np.uint8)
    img[0, 0] = (255, 0, 0)
    assert image_fields(img, "bgr8")["data"] == bytes([0, 0, 255])


def test_padded_rows_alpha_and_mono():
    img = _rgb(3, 4)
    padded = np.zeros((3, 4 * 4 + 3), np.uint8)  # rgba8 with 3 bytes of row padding
    rgba = np.concatenate([img, np.full((3, 4, 1), 9, np.uint8)], axis=2)
    padded[:, :16] = rgba.reshape(3, 16)
    msg = SimpleNamespace(height=3, width=4, encoding="rgba8", step=19, data=padded.tobytes())
    assert np.array_equal(rgb_from_image_msg(msg), img)
    mono = SimpleNamespace(height=2, width=2, encoding="mono8", step=2, data=bytes([1, 2, 3, 4]))
    out = rgb_from_image_msg(mono)
    assert out.shape == (2, 2, 3) and out[1, 1].tolist() == [4, 4, 4]


def test_array_data_as_rclpy_delivers_it():
    import array

    img = _rgb()
    fields = image_fields(img)
    msg = SimpleNamespace(**{**fields, "data": array.array("B", fields["data"])})
    assert np.array_equal(rgb_from_image_msg(msg), img)


@pytest.mark.parametrize("change,match", [
    ({"encoding": "16UC1"}, "not supported"),
    ({"step": 3}, "smaller than width"),
    ({"data": b"\x00" * 10}, "needs"),
])
def test_bad_messages_are_named(change, match):
    msg = SimpleNamespace(**{**image_fields(_rgb()), **change})
    with pytest.raises(ImageEncodingError, match=match):
        rgb_from_image_msg(msg)


def test_square_resize_crops_the_centre():
    img = np.zeros((40, 60, 3), np.uint8)
    img[:, 10:50] = 200  # the centre square
    out = square_resize(img, 20)
    assert out.shape == (20, 20, 3) and out.min() == 200
