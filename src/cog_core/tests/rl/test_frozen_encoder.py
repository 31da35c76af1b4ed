"""The frozen-encoder path (arch=frozen): cached features give exactly the image update, the
encoder stays frozen, and the exported policy acts as the trained one does on camera images."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cog_core.rl.augment import random_crop
from cog_core.rl.cql import Batch, compute_losses, draw_noise
from cog_core.rl.data import DataMismatch, TrainData, synthetic_transitions
from cog_core.rl.export import export_policy
from cog_core.rl.features import FeatureCache
from cog_core.rl.networks import FrozenModel, build_model, prepare_obs
from cog_core.rl.runtime import PolicyRuntime
from cog_core.rl.trainer import Trainer

from .helpers import tiny_config


def _data(cfg, seed=0):
    task = synthetic_transitions(3, 10, image_size=16, seed=seed + 1)
    prior = synthetic_transitions(4, 10, image_size=16, is_task=False, seed=seed + 2)
    return TrainData(cfg, task, prior)


def _frozen_setup(obs="image+state"):
    torch.manual_seed(0)
    cfg = tiny_config(algo="cog", obs=obs, arch="frozen", batch_size=12, num_actions=2)
    data = _data(cfg)
    model = build_model(cfg, 16, data.spec.vec_dim, data.spec.action_dim)
    assert isinstance(model, FrozenModel)
    model.freeze_encoder()
    with torch.no_grad():  # a non-trivial standardisation, to check it applies on both paths
        model.vec_mean.uniform_(-0.5, 0.5)
        model.vec_std.uniform_(0.5, 2.0)
    cache = FeatureCache.build(model.trunk, data.parts, crops=3, pad=cfg.data.crop_pad, seed=0)
    return cfg, data, model, cache


def _image_batch(data, cache, idx, crops) -> Batch:
    """The rows `idx` with their images cropped at the cached crops `crops` (the image path)."""
    batch = data.gather(idx)
    part_of = np.searchsorted(data.offsets, idx, side="right") - 1
    local = idx - data.offsets[part_of]
    pad = data.cfg.data.crop_pad
    for key, offsets, which in (("obs", cache.obs_offsets, crops[0]), ("next_obs", cache.next_offsets, crops[1])):
        off = np.stack([offsets[p][i, c] for p, i, c in zip(part_of, local, which)])
        d = getattr(batch, key)
        d["image"] = random_crop(d["image"], pad, torch.from_numpy(off))
    return batch


def _losses_and_grads(model, cfg, batch, noise):
    obs_s = prepare_obs(batch.obs, cfg.obs, model.vec_mean, model.vec_std)
    obs_n = prepare_obs(batch.next_obs, cfg.obs, model.vec_mean, model.vec_std)
    model.zero_grad(set_to_none=True)
    out = compute_losses(model, cfg, obs_s, obs_n, batch, noise, train_critic=True, bc_policy_loss=False,
                         alpha_step=lambda logp: torch.tensor(0.3))
    out["loss"].backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    return {k: v.detach() for k, v in out.items()}, grads


@pytest.mark.parametrize("obs", ["image+state", "image"])
def test_cached_update_equals_frozen_image_update(obs):
    cfg, data, model, cache = _frozen_setup(obs)
    rng = np.random.default_rng(3)
    idx = rng.integers(0, data.offsets[-1], size=12)
    crops = rng.integers(0, cache.crops, size=(2, 12))
    noise = draw_noise(12, 8, cfg.cql.num_actions, 0, False, torch.Generator().manual_seed(5))

    image_batch = _image_batch(data, cache, idx, crops)
    assert "image" in image_batch.obs  # the model's own frozen trunk runs on the cropped images
    image_out, image_grads = _losses_and_grads(model, cfg, image_batch, noise)
    data.attach_features(cache)
    cached_batch = data.gather(idx, crops)
    assert "image" not in cached_batch.obs and "feat" in cached_batch.obs
    cached_out, cached_grads = _losses_and_grads(model, cfg, cached_batch, noise)

    for key in ("policy_loss", "q1_loss", "q2_loss", "cql1", "cql2", "td1", "target", "loss"):
        torch.testing.assert_close(cached_out[key], image_out[key], rtol=1e-5, atol=1e-5, msg=key)
    assert set(cached_grads) == set(image_grads)
    assert not any(n.startswith(("policy_encoder.trunk", "q_encoders.0.trunk")) for n in image_grads), "the trunk trained"
    for name in image_grads:
        torch.testing.assert_close(cached_grads[name], image_grads[name], rtol=1e-4, atol=1e-5, msg=name)


def test_uncropped_cache_entry_is_what_the_deployed_trunk_sees():
    cfg, data, model, cache = _frozen_setup()
    with torch.no_grad():
        direct = model.trunk(prepare_obs({"image": torch.from_numpy(data.parts[1].obs["image"][:5])}, "image",
                                         model.vec_mean, model.vec_std)["image"])
    np.testing.assert_allclose(cache.obs[1][:5, 0], direct.numpy(), rtol=1e-5, atol=1e-6)
    assert (cache.obs_offsets[1][:, 0] == cfg.data.crop_pad).all()
    assert len({tuple(o) for o in cache.obs_offsets[0][:, 1:].reshape(-1, 2)}) > 1, "no random crops cached"


@pytest.mark.parametrize("objective", ["autoencoder", "e2e"])
def test_training_freezes_the_encoder_and_exports_it(tmp_path, objective):
    cfg = tiny_config(algo="cog", obs="image+state", arch="frozen", steps=8, ckpt_interval=0)
    cfg.encoder.objective, cfg.encoder.steps, cfg.encoder.e2e_steps, cfg.encoder.crops = objective, 5, 4, 2
    data = _data(cfg)
    trainer = Trainer(cfg, data, tmp_path / "run")
    before = {k: v.clone() for k, v in trainer.model.trunk.state_dict().items()}
    trainer.train(progress=False, stop_after=4 if objective == "e2e" else 1)
    trained = {k: v.clone() for k, v in trainer.model.trunk.state_dict().items()}
    assert any(not torch.equal(before[k], trained[k]) for k in before), "the encoder was never trained"
    assert bool(trainer.model.encoder_frozen) and data.features is not None
    trainer.train(progress=False)
    after = trainer.model.trunk.state_dict()
    assert all(torch.equal(trained[k], after[k]) for k in trained), "the frozen encoder changed"
    assert trainer.step == 8

    runtime = PolicyRuntime.load(export_policy(tmp_path / "run" / "checkpoint.pt", tmp_path / "policy"))
    obs = {"image": data.parts[0].obs["image"][3], "state": data.parts[0].obs["state"][3]}
    with torch.no_grad():
        prepared = prepare_obs({k: torch.from_numpy(v)[None] for k, v in obs.items()}, cfg.obs,
                               trainer.model.vec_mean, trainer.model.vec_std)
        expected = trainer.model.act_deterministic(prepared)[0].numpy()
    np.testing.assert_allclose(runtime.act(obs), expected, rtol=1e-5, atol=1e-6)

    resumed = Trainer.resume(tmp_path / "run", _data(cfg), steps=10)
    assert bool(resumed.model.encoder_frozen)
    resumed.train(progress=False)
    assert all(torch.equal(trained[k], v) for k, v in resumed.model.trunk.state_dict().items())


def test_resume_continues_exactly(tmp_path):
    """A resumed frozen-encoder run rebuilds the same cache and continues bit for bit."""
    cfg = tiny_config(algo="cog", obs="image+state", arch="frozen", steps=8, ckpt_interval=4)
    cfg.encoder.steps, cfg.encoder.crops = 3, 2
    straight = Trainer(cfg, _data(cfg), tmp_path / "a")
    straight.train(progress=False)
    first = Trainer(cfg, _data(cfg), tmp_path / "b")
    first.train(progress=False, stop_after=4)
    second = Trainer.resume(tmp_path / "b", _data(cfg))
    second.train(progress=False)
    for (name, p), q in zip(straight.model.state_dict().items(), second.model.state_dict().values()):
        assert torch.equal(p, q), name


def test_foreign_cache_is_refused():
    cfg, data, model, cache = _frozen_setup()
    with pytest.raises(DataMismatch, match="other datasets"):
        TrainData(cfg, synthetic_transitions(3, 10, image_size=16, seed=1),
                  synthetic_transitions(5, 10, image_size=16, is_task=False)).attach_features(cache)
