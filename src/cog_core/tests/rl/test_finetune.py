"""Online fine-tuning: mixed batches, episodes from the real simulator, logs and checkpoints."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from cog_core.rl.data import TrainData, synthetic_transitions
from cog_core.rl.finetune import FinetuneConfig, Finetuner, OnlineBuffer, concat_batches
from cog_core.rl.trainer import Trainer

from .helpers import tiny_config


def _trainer(tmp_path, algo="cog"):
    # Synthetic lowdim vectors are 12-D, the pick-place scene's privileged state size.
    task = synthetic_transitions(3, 10, obs_keys=("lowdim",))
    prior = synthetic_transitions(3, 10, obs_keys=("lowdim",), is_task=False, seed=1)
    cfg = tiny_config(algo=algo, obs="state", steps=4)
    data = TrainData(cfg, task, prior)
    trainer = Trainer(cfg, data, tmp_path / "offline")
    trainer.train(progress=False)
    return trainer, data


def test_online_buffer_and_mixed_batches():
    buf = OnlineBuffer(["lowdim"])
    for i in range(5):
        buf.add({"lowdim": np.full(12, i, np.float32)}, np.full(8, 0.5, np.float32), 1.0, {"lowdim": np.zeros(12, np.float32)}, False)
    online = buf.sample(6, np.random.default_rng(0))
    assert online.obs["lowdim"].shape == (6, 12) and torch.all(online.rewards == 1.0)
    offline = synthetic_transitions(1, 4, obs_keys=("lowdim",))
    data = TrainData(tiny_config(algo="no-prior", obs="state"), offline)
    mixed = concat_batches(data.sample("main", 2, np.random.default_rng(0)), online)
    assert mixed.actions.shape == (8, 8) and torch.all(mixed.actions[2:] == 0.5)


def test_online_batches_weigh_every_row_the_same_whatever_the_offline_task_share(tmp_path):
    trainer, data = _trainer(tmp_path)
    trainer.cfg.data.policy_task_share = 0.5
    assert data.sample("main", 8, np.random.default_rng(0)).is_task is not None  # offline batches know their rows
    finetuner = Finetuner(trainer, data, FinetuneConfig(condition="pick_place/object_in_gripper"), tmp_path / "ft")
    assert finetuner._batch().is_task is None  # before the online buffer holds a batch
    for _ in range(trainer.cfg.batch_size):
        finetuner.buffer.add({"lowdim": np.zeros(12, np.float32)}, np.zeros(8, np.float32), 0.0, {"lowdim": np.zeros(12, np.float32)}, False)
    assert finetuner._batch().is_task is None  # offline and online rows mixed


def test_finetune_collects_sim_episodes_trains_and_logs(tmp_path):
    trainer, data = _trainer(tmp_path)
    start = trainer.step
    cfg = FinetuneConfig(condition="pick_place/object_in_gripper", episodes=2, eval_interval=1, eval_episodes=1,
                         updates_per_step=0.25)
    rows = Finetuner(trainer, data, cfg, tmp_path / "ft").run(progress=False)
    horizon = 40  # pick-place episodes
    assert [r["episode"] for r in rows] == [0, 1, 2]
    assert rows[-1]["env_steps"] == 2 * horizon
    assert trainer.step == start + 2 * horizon // 4  # 0.25 updates per collected step
    logged = [json.loads(line) for line in (tmp_path / "ft" / "finetune.jsonl").read_text().splitlines()]
    assert logged == rows
    assert (tmp_path / "ft" / "checkpoint.pt").is_file() and (tmp_path / "ft" / "finetune.png").is_file()


def test_learning_rates_can_decay_over_the_online_episodes(tmp_path):
    trainer, data = _trainer(tmp_path)
    cfg = FinetuneConfig(condition="pick_place/object_in_gripper", episodes=4, eval_interval=2, eval_episodes=1,
                         updates_per_step=0.05, lr_decay_from=0.5)
    finetuner = Finetuner(trainer, data, cfg, tmp_path / "ft")
    assert [finetuner.lr_factor(ep) for ep in (1, 2)] == [1.0, 1.0]
    assert 0.0 < finetuner.lr_factor(3) < 1.0 and finetuner.lr_factor(4) == pytest.approx(0.0)
    rows = finetuner.run(progress=False)
    assert [r["lr_factor"] for r in rows] == [1.0, 1.0, pytest.approx(0.0)]
    base = trainer.agent.base_lrs
    for name, opt in trainer.agent.optimizers.items():  # the last episode's updates ran at rate 0
        assert all(g["lr"] == pytest.approx(0.0, abs=1e-12) for g in opt.param_groups) and base[name][0] > 0
    with pytest.raises(ValueError, match="lr_decay_from"):
        FinetuneConfig(lr_decay_from=1.0).validate()


def test_finetune_refuses_runs_without_a_critic(tmp_path):
    trainer, data = _trainer(tmp_path, algo="bc")
    with pytest.raises(ValueError, match="trains no critic"):
        Finetuner(trainer, data, FinetuneConfig(condition="pick_place/object_in_gripper"), tmp_path / "ft")
    with pytest.raises(ValueError, match="online_fraction"):
        FinetuneConfig(online_fraction=1.5).validate()


def test_several_conditions_take_turns_and_are_evaluated_each(tmp_path):
    trainer, data = _trainer(tmp_path)
    cfg = FinetuneConfig(condition="pick_place/object_in_gripper, pick_place/object_on_table", episodes=2,
                         eval_interval=2, eval_episodes=1, updates_per_step=0.05)
    finetuner = Finetuner(trainer, data, cfg, tmp_path / "ft")
    from cog_core.sim import make_env

    env = make_env("pick_place/object_in_gripper")
    for index, expected in ((1, "pick_place/object_in_gripper"), (2, "pick_place/object_on_table"), (3, "pick_place/object_in_gripper")):
        finetuner.collect_episode(env, index)
        assert env.condition.name == expected
    rows = Finetuner(trainer, data, cfg, tmp_path / "ft2").run(progress=False)
    by_cond = rows[-1]["eval_by_condition"]
    assert set(by_cond) == {"pick_place/object_in_gripper", "pick_place/object_on_table"}
    assert rows[-1]["eval_success"] == pytest.approx(np.mean(list(by_cond.values())))


def test_conditions_from_different_scenes_are_refused():
    with pytest.raises(ValueError, match="share one scene"):
        FinetuneConfig(condition="drawer/closed,pick_place/object_on_table").validate()
    with pytest.raises(KeyError, match="unknown initial condition"):
        FinetuneConfig(condition="drawer/closed,drawer/nope").validate()


def _frozen_trainer(tmp_path):
    task = synthetic_transitions(3, 10, obs_keys=("image", "state"), image_size=48)
    prior = synthetic_transitions(3, 10, obs_keys=("image", "state"), image_size=48, is_task=False, seed=1)
    cfg = tiny_config(algo="cog", obs="image+state", arch="frozen", steps=4)
    cfg.encoder.steps, cfg.encoder.crops = 2, 2
    data = TrainData(cfg, task, prior)
    trainer = Trainer(cfg, data, tmp_path / "offline")
    trainer.train(progress=False)
    return trainer, data


def test_finetune_from_a_frozen_encoder_run_keeps_the_encoder_frozen_and_updates_on_features(tmp_path):
    """arch=frozen: offline and online rows reach the updates as cached trunk features."""
    from cog_core.rl.features import image_input
    from cog_core.rl.augment import random_crop

    trainer, data = _frozen_trainer(tmp_path)
    assert data.features is not None
    trunk = {k: v.clone() for k, v in trainer.model.trunk.state_dict().items()}
    ft = FinetuneConfig(condition="pick_place/object_in_gripper", episodes=1, eval_interval=1, eval_episodes=1,
                        updates_per_step=0.25)
    finetuner = Finetuner(trainer, data, ft, tmp_path / "ft")
    rows = finetuner.run(progress=False)
    assert rows[-1]["env_steps"] == 40 and trainer.step > 4
    assert all(torch.equal(trunk[k], v) for k, v in trainer.model.trunk.state_dict().items())
    assert data.features is not None  # the offline cache stays attached

    batch = finetuner._batch()  # half offline, half online (the buffer holds more than a batch)
    assert "image" not in batch.obs and batch.obs["feat"].shape == (trainer.cfg.batch_size, data.features.feature_dim)
    # an online row's cached feature is the trunk's output on its image at that row's crop offset
    online = finetuner.buffer
    images, offsets = online.arrays()["next/image"], online.features.row_offsets(5, 6)[0, 1]
    with torch.no_grad():
        trainer.model.trunk.eval()
        expected = trainer.model.trunk(image_input(random_crop(torch.from_numpy(images[5:6]), 4, torch.from_numpy(offsets[1:2]))))
    _, got = online.features.gather(np.array([5]), np.array([[0], [1]]))
    torch.testing.assert_close(got, expected)

def _resumed(out, data):
    """A fresh trainer and finetuner restored from fine-tuning output `out` (what `--resume` builds)."""
    from cog_core.rl.checkpoint import checkpoint_config, load_checkpoint
    from cog_core.rl.finetune import CONFIG_FILE

    data.attach_features(None)  # as loaded from disk: a frozen run's feature cache is built again
    ckpt = out / "checkpoint.pt"
    trainer = Trainer(checkpoint_config(ckpt, load_checkpoint(ckpt)["meta"]), data, out)
    trainer.load(ckpt)
    cfg = FinetuneConfig(**json.loads((out / CONFIG_FILE).read_text()))
    finetuner = Finetuner(trainer, data, cfg, out)
    finetuner.restore()
    return finetuner


@pytest.mark.parametrize(("obs", "stop_at"), [("state", 2), ("state", 3), ("frozen image", 3)])  # on an evaluation, between two
def test_a_stopped_finetuning_resumes_exactly(tmp_path, obs, stop_at):
    cfg = FinetuneConfig(condition="pick_place/object_in_gripper,pick_place/object_on_table", episodes=4, eval_interval=2,
                         eval_episodes=1, updates_per_step=0.1, lr_decay_from=0.5)
    make = _trainer if obs == "state" else _frozen_trainer
    trainer_a, data_a = make(tmp_path / "a")
    whole = Finetuner(trainer_a, data_a, cfg, tmp_path / "a" / "ft")
    rows_a = whole.run(progress=False)

    trainer_b, data_b = make(tmp_path / "b")
    out = tmp_path / "b" / "ft"
    first = Finetuner(trainer_b, data_b, cfg, out)
    first.run(progress=False, stop_after=stop_at)
    assert first.episode == stop_at and not first.interrupted
    assert (out / "finetune_state.npz").is_file()

    resumed = _resumed(out, data_b)
    assert resumed.episode == stop_at and len(resumed.buffer) == len(first.buffer)
    # a save killed half-way leaves a temporary named after a process that is gone: removed on resume
    stale = out / ".finetune_state.npz.999999999-0badc0de.tmp.npz"
    stale.write_bytes(b"half a state")
    rows_b = resumed.run(progress=False)
    assert not stale.exists()
    assert rows_b == rows_a
    assert [json.loads(line) for line in (out / "finetune.jsonl").read_text().splitlines()] == rows_a
    assert resumed.trainer.step == trainer_a.step and resumed.recent == whole.recent
    for key, value in trainer_a.model.state_dict().items():
        assert torch.equal(resumed.trainer.model.state_dict()[key], value), key
    for name, arr in whole.buffer.arrays().items():
        assert np.array_equal(resumed.buffer.arrays()[name], arr), name


def test_resuming_refuses_other_settings_and_a_missing_or_damaged_state(tmp_path):
    from cog_core.rl.checkpoint import CheckpointError

    trainer, data = _trainer(tmp_path)
    cfg = FinetuneConfig(condition="pick_place/object_in_gripper", episodes=2, eval_interval=1, eval_episodes=1,
                         updates_per_step=0.1)
    out = tmp_path / "ft"
    with pytest.raises(FileNotFoundError, match="no fine-tuning state"):
        Finetuner(trainer, data, cfg, out).restore()
    Finetuner(trainer, data, cfg, out).run(progress=False, stop_after=1)
    with pytest.raises(ValueError, match="other settings \\(episodes\\)"):
        Finetuner(trainer, data, replace(cfg, episodes=3), out).restore()
    state = out / "finetune_state.npz"
    raw = bytearray(state.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    state.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="damaged"):
        _resumed(out, data)
