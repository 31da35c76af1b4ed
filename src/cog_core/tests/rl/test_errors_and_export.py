"""Bad configs and mismatched data give clear errors; train -> export -> runtime round trip (API and CLI)."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
import torch

from cog_core.cli import main as cli_main
from cog_core.config import ConfigError, apply_overrides, load_config
from cog_core.rl.config import TrainConfig
from cog_core.rl.data import DataMismatch, TrainData, synthetic_transitions
from cog_core.rl.export import export_policy
from cog_core.rl.networks import prepare_obs
from cog_core.rl.runtime import PolicyRuntime
from cog_core.rl.trainer import Trainer

from .helpers import tiny_config


def test_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="sac.qlr.*unknown key"):
        load_config(TrainConfig, None, ["sac.qlr=1"])
    with pytest.raises(ConfigError, match="algo='cql' is not one of"):
        load_config(TrainConfig, None, ["algo=cql"])
    with pytest.raises(ConfigError, match="obs='pixels'"):
        apply_overrides(TrainConfig(), ["obs=pixels"])
    with pytest.raises(ConfigError, match="cql.max_backup_actions must be >= 1, got 0"):
        load_config(TrainConfig, None, ["cql.max_backup_actions=0"])
    y = tmp_path / "c.yaml"
    y.write_text("algo: bc\nnet:\n  conv_chanels: 8\n")
    with pytest.raises(ConfigError, match="net.conv_chanels"):
        load_config(TrainConfig, y)
    y.write_text("algo: bc\nsac:\n  q_lr: 1.0e-3\n")
    cfg = load_config(TrainConfig, y, ["cql.alpha=5", "steps=10"])
    assert (cfg.algo, cfg.sac.q_lr, cfg.cql.alpha, cfg.steps, cfg.sac.discount) == ("bc", 1e-3, 5.0, 10, 0.99)


def test_data_mismatch_errors():
    task48 = synthetic_transitions(2, 5, obs_keys=("image", "state"), image_size=48)
    prior64 = synthetic_transitions(2, 5, obs_keys=("image", "state"), image_size=64, is_task=False)
    with pytest.raises(DataMismatch, match="obs='state' needs observation key.*lowdim.*sim only"):
        TrainData(tiny_config(obs="state"), task48, prior64)
    with pytest.raises(DataMismatch, match="image size mismatch: prior images are 64x64, task images 48x48"):
        TrainData(tiny_config(), task48, prior64)
    with pytest.raises(DataMismatch, match="data.image_size=64 but the data holds 48x48"):
        TrainData(load_config(TrainConfig, None, ["data.image_size=64"]), task48, None if False else synthetic_transitions(2, 5, obs_keys=("image",), image_size=48, is_task=False))
    with pytest.raises(DataMismatch, match="needs --prior|give a prior dataset"):
        TrainData(tiny_config(algo="cog"), task48, None)
    failing = synthetic_transitions(2, 5, obs_keys=("image",), image_size=48, success_every=99)
    failing.rewards[:] = 0
    with pytest.raises(DataMismatch, match="no successful task episodes"):
        TrainData(tiny_config(algo="bc-oracle"), failing, None)


def test_train_export_runtime_round_trip(tmp_path):
    cfg = tiny_config(obs="image+state", arch="paper", steps=4)
    task = synthetic_transitions(3, 8, image_size=16, seed=3)
    prior = synthetic_transitions(3, 8, image_size=16, is_task=False, seed=4)
    trainer = Trainer(cfg, TrainData(cfg, task, prior), tmp_path / "run")
    trainer.train(progress=False)
    out = export_policy(tmp_path / "run" / "checkpoint.pt", tmp_path / "policy")
    weights = torch.load(out / "policy.pt", weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in weights.values())
    meta = json.loads((out / "policy.json").read_text())
    assert meta["obs"] == {"mode": "image+state", "keys": ["image", "state"], "image_size": 16,
                           "image": "uint8 HxWx3 RGB", "vec_key": "state", "vec_dim": 9}
    assert meta["action"]["dim"] == 8 and meta["provenance"]["step"] == 4 and meta["arch"] == "paper"
    rt = PolicyRuntime.load(out)
    obs = {"image": task.obs["image"][0], "state": task.obs["state"][0]}
    a = rt.act(obs)
    with torch.no_grad():
        ref = trainer.model.act_deterministic(
            {"image": torch.from_numpy(obs["image"])[None].permute(0, 3, 1, 2).float() / 255,
             "vec": (torch.from_numpy(obs["state"])[None] - trainer.model.vec_mean) / trainer.model.vec_std})
    assert a.dtype == np.float32 and a.shape == (8,)
    assert np.allclose(a, ref[0].numpy(), atol=1e-6)
    with pytest.raises(ValueError, match="expects uint8 images of shape \\(16, 16, 3\\)"):
        rt.act({"image": np.zeros((48, 48, 3), np.uint8), "state": obs["state"]})
    with pytest.raises(KeyError, match="needs observation key"):
        rt.act({"image": obs["image"]})


def test_state_policy_wider_than_critic_round_trip(tmp_path):
    cfg = apply_overrides(tiny_config(obs="state", steps=3), ["net.state_policy_hidden=24,24,24"])
    task = synthetic_transitions(3, 8, seed=5)
    prior = synthetic_transitions(3, 8, is_task=False, seed=6)
    trainer = Trainer(cfg, TrainData(cfg, task, prior), tmp_path / "run")
    trainer.train(progress=False)
    actor = [m.out_features for m in trainer.model.policy_head.modules() if isinstance(m, torch.nn.Linear)]
    critic = [p.shape for n, p in trainer.model.qs.named_parameters() if p.dim() >= 2]
    assert actor[:3] == [24, 24, 24] and all(24 not in shape for shape in critic)
    rt = PolicyRuntime.load(export_policy(tmp_path / "run" / "checkpoint.pt", tmp_path / "policy"))
    obs = {"lowdim": task.obs["lowdim"][0]}
    m = trainer.model
    with torch.no_grad():
        ref = m.act_deterministic(prepare_obs({"lowdim": torch.from_numpy(obs["lowdim"])[None]}, "state", m.vec_mean, m.vec_std))
    assert np.allclose(rt.act(obs), ref[0].numpy(), atol=1e-6)


def _write_h5(path, t, role):
    """A dataset in the layout `cogrl convert` writes (the parts load_transitions reads)."""
    with h5py.File(path, "w") as h5:
        data = h5.create_group("data")
        data.attrs["role"] = role
        for e in np.unique(t.episode):
            rows = t.episode == e
            g = data.create_group(f"demo_{e}")
            for k in t.obs:
                g.create_dataset(f"obs/{k}", data=t.obs[k][rows])
                g.create_dataset(f"next_obs/{k}", data=t.next_obs[k][rows])
            g.create_dataset("actions", data=t.actions[rows])
            g.create_dataset("rewards", data=t.rewards[rows])
            g.create_dataset("dones", data=t.dones[rows].astype(np.uint8))
            g.attrs["success"] = bool(t.rewards[rows].max() > 0)


def test_cli_train_export(tmp_path, capsys):
    _write_h5(tmp_path / "task.h5", synthetic_transitions(3, 8, ("image", "state"), image_size=48, seed=1), "task")
    _write_h5(tmp_path / "prior.h5", synthetic_transitions(3, 8, ("image", "state"), image_size=48, is_task=False, seed=2), "prior")
    run = tmp_path / "run"
    small = ["--set", "net.fast_channels=4,8,8", "--set", "net.fast_hidden=16,16", "--set", "log_interval=1"]
    argv = ["train", "--algo", "cog", "--prior", str(tmp_path / "prior.h5"), "--task", str(tmp_path / "task.h5"),
            "--obs", "image", "--arch", "fast", "--steps", "3", "--batch-size", "8", "--out", str(run), "--quiet", *small]
    assert cli_main(argv) == 0
    assert cli_main(argv) == 2 and "already holds a run" in capsys.readouterr().err
    assert cli_main(["train", "--out", str(run), "--task", str(tmp_path / "task.h5"), "--prior", str(tmp_path / "prior.h5"),
                     "--resume", "--steps", "5", "--quiet"]) == 0
    assert torch.load(run / "checkpoint.pt", weights_only=True)["meta_json"].count('"step": 5') == 1
    # --resume alone: the datasets recorded in the checkpoint
    assert cli_main(["train", "--out", str(run), "--resume", "--steps", "6", "--quiet"]) == 0
    assert torch.load(run / "checkpoint.pt", weights_only=True)["meta_json"].count('"step": 6') == 1
    assert cli_main(argv[:-len(small)] + ["--set", "cql.alfa=2", "--force"]) == 2
    assert "unknown key" in capsys.readouterr().err
    assert cli_main(argv + ["--obs", "state", "--force"]) == 2
    assert "lowdim" in capsys.readouterr().err
    assert cli_main(["export", "--run", str(run), "--out", str(tmp_path / "pol"), "--check"]) == 0
    assert "ms/action" in capsys.readouterr().out
    rt = PolicyRuntime.load(tmp_path / "pol")
    action = rt.act({"image": np.zeros((48, 48, 3), np.uint8)})  # speed: benchmarks/train_speed.py
    assert action.shape == (8,) and np.all(np.abs(action) <= 1)


def test_cli_resume_keeps_evaluating_the_runs_conditions(tmp_path):
    _write_h5(tmp_path / "task.h5", synthetic_transitions(3, 8, ("image", "state"), image_size=48, seed=1), "task")
    run = tmp_path / "run"
    argv = ["train", "--algo", "no-prior", "--task", str(tmp_path / "task.h5"), "--obs", "image", "--arch", "fast", "--steps", "2",
            "--batch-size", "8", "--out", str(run), "--quiet", "--set", "net.fast_channels=4,8,8", "--set", "net.fast_hidden=16,16",
            "--set", "eval_interval=2", "--eval-conditions", "pick_place/object_in_gripper", "--eval-episodes", "1"]
    assert cli_main(argv) == 0
    assert cli_main(["train", "--out", str(run), "--resume", "--steps", "4", "--quiet"]) == 0
    steps = [json.loads(line)["step"] for line in (run / "eval.jsonl").read_text().splitlines()]
    assert steps == [2, 4]
