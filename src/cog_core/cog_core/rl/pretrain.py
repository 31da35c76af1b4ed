"""Train the `frozen` architecture's image encoder before it is frozen, from the datasets' images.

`autoencoder` needs no labels, so it runs on a real robot's data: the encoder's features must
let a small decoder redraw the (randomly cropped) image. Each pixel's squared error is weighted
by how much that pixel varies over the dataset, so the arm, the drawers and the objects, a few
percent of a 48x48 picture, count for more than the table and the wall that never change.
`contrastive` (the default) needs no labels either: the features of an image and of the next image of its
trajectory (each randomly cropped) must pick each other out of the batch (InfoNCE with a
bilinear similarity), so they must hold what tells states apart, the objects' positions included.
`oracle` regresses the simulator's privileged `lowdim` vector (robot state + object and drawer
poses) instead: an ablation that says what a perfectly informed encoder would give.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cog_core.data.transitions import Transitions
from cog_core.rl.augment import crop_offsets, random_crop
from cog_core.rl.config import TrainConfig
from cog_core.rl.device import to_device
from cog_core.rl.features import image_input


class ConvDecoder(nn.Module):
    """Features (B, F) -> an image (B, 3, S, S) in [0, 1]: linear to 32 x S/4 x S/4, two 2x upsamplings."""

    def __init__(self, feature_dim: int, image_size: int, channels: int = 32) -> None:
        super().__init__()
        if image_size % 4:
            raise ValueError(f"the decoder needs an image side divisible by 4, got {image_size}")
        self.side = image_size // 4
        self.channels = channels
        self.fc = nn.Linear(feature_dim, channels * self.side * self.side)
        self.up1 = nn.ConvTranspose2d(channels, channels, 4, stride=2, padding=1)
        self.up2 = nn.ConvTranspose2d(channels, 16, 4, stride=2, padding=1)
        self.out = nn.Conv2d(16, 3, 3, padding=1)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        """(B, F) -> (B, 3, S, S)."""
        x = F.relu(self.fc(feats)).view(-1, self.channels, self.side, self.side)
        x = F.relu(self.up1(x))
        x = F.relu(self.up2(x))
        return torch.sigmoid(self.out(x))


class MlpDecoder(nn.Module):
    """Features (B, F) -> a half-resolution image (B, 3, S/2, S/2) in [0, 1] through one hidden layer
    (a few times cheaper than `ConvDecoder`, whose transposed convolutions dominate pretraining)."""

    def __init__(self, feature_dim: int, image_size: int, hidden: int = 512) -> None:
        super().__init__()
        self.side = image_size // 2
        self.net = nn.Sequential(nn.Linear(feature_dim, hidden), nn.ReLU(), nn.Linear(hidden, 3 * self.side * self.side))

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        """(B, F) -> (B, 3, S/2, S/2)."""
        return torch.sigmoid(self.net(feats)).view(-1, 3, self.side, self.side)


def pixel_weights(images: np.ndarray, floor: float = 0.1, sample: int = 4096, seed: int = 0) -> np.ndarray:
    """(H, W) weights with mean 1: each pixel's std over (a sample of) the images, plus `floor`
    times the mean std so that unchanging pixels still count a little."""
    rng = np.random.default_rng(seed)
    pick = images[np.sort(rng.choice(len(images), size=min(sample, len(images)), replace=False))]
    std = pick.astype(np.float32).std(axis=0).mean(axis=-1)
    w = std + floor * std.mean()
    return (w / w.mean()).astype(np.float32)


def _images_of(parts: Sequence[Transitions]) -> np.ndarray:
    return np.concatenate([t.obs["image"] for t in parts])


def pretrain_encoder(trunk: nn.Module, parts: Sequence[Transitions], cfg: TrainConfig, seed: int,
                     progress: bool = False) -> dict[str, float]:
    """Train `trunk` on the images of `parts` with `cfg.encoder.objective` for `cfg.encoder.steps`
    steps (in place, on its device; images are cropped on the host and travel uint8); returns
    {"loss", "loss_first", "seconds"} (nothing for `random` / `e2e`)."""
    enc = cfg.encoder
    if enc.objective in ("random", "e2e") or enc.steps == 0:
        return {}
    images = _images_of(parts)
    image_size = images.shape[1]
    feature_dim = int(trunk.out_dim)
    gen = torch.Generator().manual_seed(seed + 7)
    rng = np.random.default_rng([seed, 0xE4C])
    if enc.objective == "autoencoder":
        head: nn.Module = ConvDecoder(feature_dim, image_size) if enc.decoder == "conv" else MlpDecoder(feature_dim, image_size)
        # One uint8 weight channel travels with the image through the random crop (zero-padded:
        # the padding carries no weight).
        w = pixel_weights(images, seed=seed)
        w_u8 = np.clip(np.round(w / w.max() * 255.0), 0, 255).astype(np.uint8)[None, :, :, None]
        w_scale = float(w.max()) / 255.0
        targets = None
    elif enc.objective == "contrastive":
        next_images = np.concatenate([t.next_obs["image"] for t in parts])
        head = nn.Linear(feature_dim, feature_dim, bias=False)  # the bilinear similarity z_a W z_p
        nn.init.eye_(head.weight)
        targets = None
    elif enc.objective == "oracle":
        lowdim = np.concatenate([t.obs["lowdim"] for t in parts]).astype(np.float32)
        mean, std = lowdim.mean(0), np.maximum(lowdim.std(0), 1e-3)
        targets = torch.from_numpy((lowdim - mean) / std)
        head = nn.Sequential(nn.Linear(feature_dim, 256), nn.ReLU(), nn.Linear(256, targets.shape[1]))
    else:
        raise ValueError(f"unknown encoder objective {enc.objective!r}")
    device = next(trunk.parameters()).device
    pad = cfg.data.crop_pad
    head.to(device)
    if targets is not None:
        targets = to_device(targets, device)

    def host_crop(batch: np.ndarray, offsets: torch.Tensor) -> torch.Tensor:
        return to_device(random_crop(torch.from_numpy(batch), pad, offsets), device)

    params = list(trunk.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=enc.lr)
    trunk.train()
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=enc.steps, unit="step", dynamic_ncols=True, desc=f"encoder ({enc.objective})")
    t0, first = time.perf_counter(), None
    recent: list[float] = []
    try:
        for step in range(enc.steps):
            idx = np.sort(rng.integers(0, len(images), size=enc.batch_size))
            offsets = crop_offsets(len(idx), pad, gen) if pad else torch.zeros(len(idx), 2, dtype=torch.int64)
            if enc.objective == "autoencoder":
                stacked = np.concatenate([images[idx], np.broadcast_to(w_u8, (len(idx), *w_u8.shape[1:]))], axis=-1)
                crop = host_crop(stacked, offsets)
                x = image_input(crop[..., :3].contiguous())
                weight = crop[..., 3].float().mul_(w_scale).unsqueeze(1)
                recon = head(trunk(x))
                if recon.shape[-1] != x.shape[-1]:  # a half-resolution decoder: compare with the pooled image
                    x, weight = F.avg_pool2d(x, 2), F.avg_pool2d(weight, 2)
                loss = (weight * (recon - x) ** 2).mean()
            elif enc.objective == "contrastive":
                x = image_input(host_crop(images[idx], offsets))
                offsets_next = crop_offsets(len(idx), pad, gen) if pad else offsets
                x_next = image_input(host_crop(next_images[idx], offsets_next))
                z, z_next = trunk(x), trunk(x_next)
                logits = head(z) @ z_next.T
                logits = logits - logits.max(dim=1, keepdim=True).values.detach()
                loss = F.cross_entropy(logits, torch.arange(len(idx), device=device))
            else:
                x = image_input(host_crop(images[idx], offsets))
                assert targets is not None
                loss = F.mse_loss(head(trunk(x)), targets[torch.from_numpy(idx).to(device)])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            value = float(loss.detach())
            first = value if first is None else first
            recent = (recent + [value])[-100:]
            if bar is not None:
                bar.update(1)
                if step % 50 == 0:
                    bar.set_postfix(loss=f"{np.mean(recent):.4g}", refresh=False)
    finally:
        if bar is not None:
            bar.close()
    return {"loss": float(np.mean(recent)), "loss_first": float(first or 0.0), "seconds": time.perf_counter() - t0}
