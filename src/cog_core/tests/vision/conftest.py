"""Shared fixtures: one MuJoCo table scene (renders with known camera) per test session."""

import os

import numpy as np
import pytest

os.environ.setdefault("MUJOCO_GL", "egl")


@pytest.fixture(scope="session")
def table_scene():
    from cog_core.vision.synthetic import TableScene

    scene = TableScene()
    yield scene
    scene.close()


@pytest.fixture(scope="session")
def noisy_background(table_scene):
    """Ten empty-workspace frames with sensor noise sigma=4 grey levels."""
    rng = np.random.default_rng(123)
    return [table_scene.render(noise_sigma=4.0, rng=rng) for _ in range(10)]


@pytest.fixture(scope="session")
def neutral_scene():
    """The same table and camera with black, grey, white and table-coloured 4 cm objects, then the tall ones."""
    from cog_core.vision.synthetic import NEUTRAL_OBJECTS, TALL_OBJECTS, TableScene

    scene = TableScene(tuple(NEUTRAL_OBJECTS.values()) + tuple(TALL_OBJECTS.values()))
    yield scene
    scene.close()
