"""The change test against the background model, on hand-made images with known answers."""

import numpy as np
import pytest

from cog_core.vision.background import BackgroundModel, ChangeThresholds, colour_share


def model_of(colour, n=4, noise=1.0, shape=(20, 30)):
    rng = np.random.default_rng(0)
    frames = [np.clip(np.full((*shape, 3), colour, np.float32) + rng.normal(0, noise, (*shape, 3)), 0, 255).astype(np.float32)
              for _ in range(n)]
    return BackgroundModel(frames, ChangeThresholds())


def test_shadows_are_faint_dark_and_coloured_changes_are_kept():
    table = (180.0, 150.0, 115.0)
    bg = model_of(table)
    frame = np.tile(np.array(table, np.float32), (20, 30, 1))
    frame[:, :10] *= 0.6  # a shadow: darker, same colour
    frame[:, 10:20] = (20, 20, 20)  # black: much darker
    frame[:, 20:] = (60, 90, 200)  # blue: a colour change
    maps = bg.change(frame, np.ones(3, np.float32))
    assert not maps.changed[:, :10].any() and maps.faint(bg)[:, :10].all()
    assert maps.changed[:, 10:].all() and not maps.faint(bg)[:, 10:].any()
    rows, cols = np.nonzero(np.ones((20, 10), bool))
    black = maps.strength(rows, cols + 10, bg)
    assert np.all(black > 1.0)  # kept by darkening, and its strength says so (not 0 as a colour-only score would)
    assert colour_share(maps, rows, cols + 10, bg) < 0.5 and colour_share(maps, rows, cols + 20, bg) > 0.5


def test_a_shadow_on_a_clipped_background_is_no_colour_change():
    """Red and green clipped at 255: the shadowed table's true colour (brown) shows, which against the
    clipped background looks like a colour change; the clipped channels may only have been brighter."""
    clipped = (255.0, 255.0, 229.0)
    bg = model_of(clipped, noise=0.0)
    assert bg.clipped_fraction == 1.0
    frame = np.tile(np.array(clipped, np.float32), (20, 30, 1))
    frame[:, :15] = (178, 150, 115)  # the shadow: a brown the clipped image never showed
    frame[:, 15:] = (60, 90, 200)  # a blue object: the clipped red channel became much darker
    maps = bg.change(frame, np.ones(3, np.float32))
    assert not maps.changed[:, :15].any()
    assert maps.changed[:, 15:].all()


def test_fully_clipped_pixels_see_no_colour_change_and_the_measured_ratio():
    bg = model_of((255.0, 255.0, 255.0), noise=0.0)
    frame = np.full((20, 30, 3), (200, 170, 120), np.float32)  # darker, and differently coloured
    maps = bg.change(frame, np.ones(3, np.float32))
    assert np.allclose(maps.color_sq, 0.0)
    assert np.allclose(maps.ratio, (200 + 170 + 120) / 765, atol=1e-5)


def test_background_needs_frames():
    with pytest.raises(ValueError, match="at least one frame"):
        BackgroundModel([], ChangeThresholds())
