"""Random-crop augmentation (zero-pad, crop back to size) on uint8 NHWC image batches."""

from __future__ import annotations

import numpy as np
import torch


def crop_offsets(batch: int, pad: int, generator: torch.Generator) -> torch.Tensor:
    """Random (dy, dx) offsets in [0, 2*pad] per image, int64 (B, 2)."""
    return torch.randint(0, 2 * pad + 1, (batch, 2), generator=generator)


def random_crop(images: torch.Tensor, pad: int, offsets: torch.Tensor) -> torch.Tensor:
    """Pad (B, H, W, C) uint8 host images with `pad` zero pixels per side and crop H x W at `offsets`
    (host tensors too): images are cropped before they travel to the training device.

    Done in NumPy on a sliding-window view (one gather copy): ~40x faster on CPU than torch's
    advanced indexing of uint8 tensors.
    """
    if pad == 0:
        return images
    b, h, w, c = images.shape
    padded = np.zeros((b, h + 2 * pad, w + 2 * pad, c), np.uint8)
    padded[:, pad : pad + h, pad : pad + w] = images.numpy()
    windows = np.lib.stride_tricks.sliding_window_view(padded, (h, w), axis=(1, 2))  # (B, Y, X, C, h, w)
    off = offsets.numpy()
    crops = windows[np.arange(b), off[:, 0], off[:, 1]]  # (B, C, h, w), a copy
    return torch.from_numpy(np.ascontiguousarray(crops.transpose(0, 2, 3, 1)))
