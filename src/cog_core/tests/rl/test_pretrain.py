"""Encoder pretraining for arch=frozen: each objective lowers its loss; the oracle needs sim poses."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cog_core.bag.synthetic import write_synthetic_run
from cog_core.config import ConfigError, load_config
from cog_core.data.convert import ConvertOptions, convert_bags
from cog_core.rl.config import TrainConfig
from cog_core.rl.data import DataMismatch, load_train_data, synthetic_transitions
from cog_core.rl.networks import FastTrunk
from cog_core.rl.pretrain import pixel_weights, pretrain_encoder

from .helpers import tiny_config


def _blob_images(n: int, rng: np.random.Generator) -> np.ndarray:
    """16x16 dark images, each with a coloured 3x3 square somewhere: position is what varies."""
    images = np.full((n, 16, 16, 3), 20, np.uint8)
    for i, (y, x) in enumerate(rng.integers(2, 12, size=(n, 2))):
        images[i, y : y + 3, x : x + 3] = (30, 60, 220)
    return images


@pytest.mark.parametrize("objective", ["autoencoder", "contrastive", "oracle"])
def test_pretraining_lowers_its_loss(objective):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    data = synthetic_transitions(8, 16, obs_keys=("image", "state", "lowdim"), image_size=16)
    data.obs["image"] = _blob_images(len(data), rng)
    data.next_obs["image"] = data.obs["image"]  # a still scene: each image's successor is itself
    cfg = tiny_config(arch="frozen", obs="image+state")
    cfg.encoder.objective, cfg.encoder.steps, cfg.encoder.batch_size, cfg.encoder.lr = objective, 80, 16, 3e-3
    cfg.data.crop_pad = 1
    if objective == "oracle":  # the poses to regress: the square's position
        data.obs["lowdim"] = np.stack([np.argwhere(im[..., 2] == 220).mean(0) for im in data.obs["image"]]).astype(np.float32)
    trunk = FastTrunk(16, cfg.net.fast_channels, cfg.net.fast_feature_dim)
    stats = pretrain_encoder(trunk, [data], cfg, seed=0)
    assert stats["loss"] < 0.7 * stats["loss_first"], stats


def test_random_and_e2e_do_not_pretrain():
    data = synthetic_transitions(2, 4, image_size=16)
    for objective in ("random", "e2e"):
        cfg = tiny_config(arch="frozen")
        cfg.encoder.objective = objective
        trunk = FastTrunk(16, cfg.net.fast_channels, cfg.net.fast_feature_dim)
        before = [p.clone() for p in trunk.parameters()]
        assert pretrain_encoder(trunk, [data], cfg, seed=0) == {}
        assert all(torch.equal(a, b) for a, b in zip(before, trunk.parameters()))


def test_pixel_weights_favour_what_changes():
    images = _blob_images(64, np.random.default_rng(1))
    w = pixel_weights(images)
    assert w.shape == (16, 16) and abs(w.mean() - 1.0) < 1e-5
    assert w[0, 0] < 0.2 < 1.0 < w[7, 7]  # the border never changes, the middle often does


def test_encoder_config_errors():
    with pytest.raises(ConfigError, match="encoder.objective='labels' is not one of"):
        load_config(TrainConfig, None, ["encoder.objective=labels"])
    with pytest.raises(ConfigError, match="encoder.crops must be >= 1, got 0"):
        load_config(TrainConfig, None, ["encoder.crops=0"])
    with pytest.raises(ConfigError, match="arch='frozen2' is not one of paper, fast, frozen"):
        load_config(TrainConfig, None, ["arch=frozen2"])


def test_oracle_objective_on_data_without_sim_poses_is_refused(tmp_path):
    write_synthetic_run(tmp_path / "bags", 2, seed=1, length=4, worker=0, run_id="r")
    h5 = tmp_path / "task.h5"
    convert_bags([tmp_path / "bags"], h5, ConvertOptions(role="task", lowdim=False))
    cfg = load_config(TrainConfig, None, ["algo=no-prior", "obs=image+state", "arch=frozen", "encoder.objective=oracle"])
    with pytest.raises(DataMismatch, match=r"encoder.objective=oracle regresses.*privileged poses.*encoder.objective=contrastive \(the default\)"):
        load_train_data(cfg, h5, None)
    cfg.encoder.objective = "contrastive"
    assert load_train_data(cfg, h5, None).spec.obs == "image+state"
