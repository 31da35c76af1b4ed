"""`--device`: resolution, every training tensor on the resolved device, CPU checkpoints and exports,
and resuming on another device setting. There is no GPU here: these run the device code path on
the CPU (cpu and auto); the CUDA branch itself is untested (docs/training.md)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch

from cog_core.config import ConfigError
from cog_core.rl.cql import draw_noise
from cog_core.rl.data import TrainData, synthetic_transitions
from cog_core.rl.device import DeviceError, cpu_tree, resolve_device, to_device
from cog_core.rl.export import export_policy
from cog_core.rl.trainer import Trainer

from .helpers import tiny_config

DEVICES = ("cpu", "auto")


@pytest.fixture(scope="module")
def datasets():
    keys = ("image", "state", "lowdim")
    return (synthetic_transitions(4, 10, obs_keys=keys, image_size=16, seed=1),
            synthetic_transitions(6, 10, obs_keys=keys, image_size=16, is_task=False, seed=2))


def _tensors(tree, where: str = "") -> Iterator[tuple[str, torch.Tensor]]:
    if isinstance(tree, torch.Tensor):
        yield where, tree
    elif isinstance(tree, dict):
        for k, v in tree.items():
            yield from _tensors(v, f"{where}/{k}")
    elif isinstance(tree, (list, tuple)):
        for i, v in enumerate(tree):
            yield from _tensors(v, f"{where}[{i}]")


def test_device_names_resolve_or_fail_with_the_fix():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto") == (torch.device("cuda", 0) if torch.cuda.is_available() else torch.device("cpu"))
    for bad in ("gpu", "cuda:", "cuda:x", "CPU", ""):
        with pytest.raises(DeviceError, match="auto .*cpu, cuda or cuda:N"):
            resolve_device(bad)
        with pytest.raises(ConfigError, match="device="):
            tiny_config(device=bad)
    if not torch.cuda.is_available():
        for name in ("cuda", "cuda:1"):
            with pytest.raises(DeviceError, match="sees no CUDA device on this machine; use --device cpu"):
                resolve_device(name)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("obs,arch", [("state", "fast"), ("image+state", "frozen"), ("image", "fast")])
def test_every_training_tensor_lives_on_the_resolved_device_and_checkpoints_hold_cpu_tensors(tmp_path, datasets, device, obs, arch):
    task, prior = datasets
    cfg = tiny_config(obs=obs, arch=arch, device=device, steps=4, bc_warmstart_steps=1)
    cfg.sac.policy_average_from = 0.5
    data = TrainData(cfg, task, prior)
    trainer = Trainer(cfg, data, tmp_path / "run")
    trainer.train(progress=False)
    want = resolve_device(device)
    assert trainer.device == want and trainer.agent.device == want
    state = {"model": dict(trainer.model.state_dict()),
             "optimizers": {k: o.state_dict()["state"] for k, o in trainer.agent.optimizers.items()},
             "average": trainer.policy_average.state_dict() if trainer.policy_average is not None else {}}
    found = list(_tensors(state))
    assert len(found) > 20 and any("exp_avg" in name for name, _ in found)
    for name, t in found:
        assert t.device == want, name
    if arch == "frozen":
        assert data.features is not None and data.features.device == want
        assert all(a.device == want for a in (*data.features.obs, *data.features.next_obs))
    batch = data.sample("main", 8, np.random.default_rng(0))
    noise = draw_noise(8, 8, 1, cfg.data.crop_pad, "image" in batch.obs, torch.Generator().manual_seed(0))
    for prepared in trainer.agent.prepare(batch, noise):
        assert all(t.device == want for t in prepared.values())
    moved = batch.to(want)
    assert all(t.device == want for _, t in _tensors([moved.obs, moved.next_obs, moved.actions, moved.rewards, moved.dones]))
    assert noise.to(want).eps_pi.device == want
    doc = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)  # no map_location: tensors as saved
    saved = list(_tensors(doc))
    assert saved and all(t.device.type == "cpu" for _, t in saved)
    export = export_policy(tmp_path / "run" / "checkpoint.pt", tmp_path / "export")
    weights = torch.load(export / "policy.pt", weights_only=True)
    assert all(t.device.type == "cpu" for t in weights.values())


def test_a_run_resumes_exactly_under_another_device_setting(tmp_path, datasets):
    task, prior = datasets
    cfg = tiny_config(obs="image+state", arch="fast", device="auto", steps=6)
    data = TrainData(cfg, task, prior)
    straight = Trainer(cfg, data)
    expected = [straight.train_step() for _ in range(6)]
    Trainer(cfg, data, tmp_path / "run").train(progress=False, stop_after=3)
    resumed = Trainer.resume(tmp_path / "run", data, device="cpu")
    assert resumed.cfg.device == "cpu" and resumed.step == 3
    assert [resumed.train_step() for _ in range(3)] == expected[3:]


def test_moving_tensors_keeps_them_when_already_there_and_cpu_tree_copies_everything():
    t = torch.arange(4)
    assert to_device(t, torch.device("cpu")) is t
    tree = {"a": [t, (t.float(), 3)], "b": "text"}
    out = cpu_tree(tree)
    assert out["b"] == "text" and out["a"][1][1] == 3 and isinstance(out["a"][1], tuple)
    assert torch.equal(out["a"][0], t)
