"""Features of a frozen image encoder, computed once for every dataset image and random crop.

With the `frozen` architecture the convolutional trunk stops training before the RL updates
begin, so its output for a given (image, crop) never changes: running it on every sample of
every update (what `fast` does) is wasted work. `FeatureCache.build` runs it once over the
datasets' `obs` and `next_obs` images at `crops` random crop offsets per image (the first is the
uncropped image the deployed policy sees), and the updates look features up instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from cog_core.data.transitions import Transitions
from cog_core.rl.augment import random_crop
from cog_core.rl.device import to_device


def cache_offsets(n: int, crops: int, pad: int, rng: np.random.Generator) -> np.ndarray:
    """(n, crops, 2) int64 crop offsets: column 0 is the centre (pad, pad), the rest uniform in [0, 2*pad]."""
    offsets = rng.integers(0, 2 * pad + 1, size=(n, crops, 2), dtype=np.int64)
    offsets[:, 0] = pad
    return offsets


def image_input(images: torch.Tensor) -> torch.Tensor:
    """uint8 NHWC images -> the trunk's float NCHW input in [0, 1] (channels_last), as `prepare_obs` makes it."""
    return images.permute(0, 3, 1, 2).float().div_(255.0)


@torch.no_grad()  # not inference mode: the cache's tensors feed the networks' autograd later
def encode_images(trunk: nn.Module, images: np.ndarray, offsets: np.ndarray, pad: int, batch: int = 1024,
                  progress: object | None = None) -> torch.Tensor:
    """Trunk features (N, K, F) float32 of uint8 (N, H, W, 3) host `images`, each cropped at its K
    `offsets`, on the trunk's device (images are cropped on the host and travel uint8).

    `progress` (a tqdm bar) is advanced by the number of images encoded.
    """
    device = next(trunk.parameters()).device
    n, crops = offsets.shape[:2]
    out: torch.Tensor | None = None
    for start in range(0, n, batch):
        chunk = torch.from_numpy(np.ascontiguousarray(images[start : start + batch]))
        for k in range(crops):
            off = torch.from_numpy(offsets[start : start + len(chunk), k])
            feats = trunk(image_input(to_device(random_crop(chunk, pad, off), device)))
            if out is None:
                out = torch.empty((n, crops, feats.shape[1]), dtype=torch.float32, device=device)
            out[start : start + len(chunk), k] = feats
        if progress is not None:
            progress.update(len(chunk))  # type: ignore[attr-defined]
    assert out is not None, "no images to encode"
    return out


@dataclass
class FeatureCache:
    """Per dataset part (as `TrainData.parts`): features (N, K, F) of its obs and next_obs images, on
    the device of the trunk that computed them (batches gather them there), and the crop offsets
    (N, K, 2) they were computed at (host arrays)."""

    obs: list[torch.Tensor]
    next_obs: list[torch.Tensor]
    obs_offsets: list[np.ndarray]
    next_offsets: list[np.ndarray]

    @property
    def crops(self) -> int:
        """Cached crops per image (K)."""
        return int(self.obs[0].shape[1])

    @property
    def feature_dim(self) -> int:
        """Features per crop (F)."""
        return int(self.obs[0].shape[2])

    @property
    def device(self) -> torch.device:
        """Where the features live."""
        return self.obs[0].device

    @property
    def nbytes(self) -> int:
        """Memory held by the feature arrays."""
        return sum(a.numel() * a.element_size() for a in (*self.obs, *self.next_obs))

    @classmethod
    def build(cls, trunk: nn.Module, parts: Sequence[Transitions], crops: int, pad: int, seed: int,
              batch: int = 1024, progress: bool = False) -> "FeatureCache":
        """Encode every obs / next_obs image of `parts` at `crops` offsets drawn from `seed`, on `trunk`'s device."""
        rng = np.random.default_rng([seed, 0xFEA7])
        total = 2 * sum(len(t) for t in parts)
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=total, unit="img", dynamic_ncols=True, desc=f"caching features ({crops} crops)")
        was_training = trunk.training
        trunk.eval()
        try:
            fields: dict[str, list] = {"obs": [], "next_obs": [], "obs_offsets": [], "next_offsets": []}
            for t in parts:
                for images, feat_key, off_key in ((t.obs["image"], "obs", "obs_offsets"),
                                                  (t.next_obs["image"], "next_obs", "next_offsets")):
                    offsets = cache_offsets(len(images), crops, pad, rng)
                    fields[feat_key].append(encode_images(trunk, images, offsets, pad, batch, bar))
                    fields[off_key].append(offsets)
        finally:
            trunk.train(was_training)
            if bar is not None:
                bar.close()
        return cls(**fields)
