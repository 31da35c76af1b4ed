"""Pictures of the initial conditions: a large render beside the policy's low-resolution view."""

from __future__ import annotations

from pathlib import Path

import imageio.v2 as imageio
import numpy as np

from cog_core.sim import CONDITIONS, make_env


def render_condition(condition: str, seed: int, image_size: int, size: int) -> np.ndarray:
    """Return an RGB array: the large render beside the upscaled observation."""
    env = make_env(condition, image_size=image_size, render_size=size)
    try:
        obs, _ = env.reset(seed=seed)
        big = env.render()
    finally:
        env.close()
    scale = size // image_size
    small = np.kron(obs["image"], np.ones((scale, scale, 1), dtype=np.uint8))
    pad = np.full((size, size, 3), 255, np.uint8)
    pad[: small.shape[0], : small.shape[1]] = small
    gap = np.full((size, 8, 3), 255, np.uint8)
    return np.concatenate([big, gap, pad], axis=1)


def render_scenes(out_dir: Path, seed: int = 0, size: int = 240) -> Path:
    """One PNG per initial condition in `out_dir`, plus a contact sheet next to it; returns the sheet."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tiles = []
    for name in CONDITIONS:
        image = render_condition(name, seed, 48, size)
        imageio.imwrite(out_dir / f"{name.replace('/', '__')}.png", image)
        tiles.append(image)
    rows = [np.concatenate(tiles[i : i + 2], axis=1) for i in range(0, len(tiles), 2)]
    sheet = out_dir.with_suffix(".png")
    imageio.imwrite(sheet, np.concatenate(rows, axis=0))
    print(f"  {len(tiles)} initial conditions -> {out_dir}/, contact sheet {sheet}")
    return sheet
