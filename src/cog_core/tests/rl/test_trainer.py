"""Resume exactness, Ctrl-C handling, checkpoints as plain data, and every algorithm's schedule."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest
import torch

from cog_core.rl.data import TrainData, phase_schedule, synthetic_transitions
from cog_core.rl.trainer import Trainer

from .helpers import tiny_config


@pytest.fixture(scope="module")
def datasets():
    task = synthetic_transitions(4, 10, image_size=16, seed=1)
    prior = synthetic_transitions(6, 10, image_size=16, is_task=False, seed=2)
    return task, prior


@pytest.mark.parametrize("algo,obs,arch", [("cog", "image", "fast"), ("cog", "image+state", "paper"), ("bc-init", "image", "fast")])
def test_resume_is_exact(tmp_path, datasets, algo, obs, arch):
    task, prior = datasets
    cfg = tiny_config(algo=algo, obs=obs, arch=arch, steps=6, bc_warmstart_steps=2, bc_init_prior_steps=3)
    data = TrainData(cfg, task, prior)
    straight = Trainer(cfg, data)
    stats_a = [straight.train_step() for _ in range(6)]

    first = Trainer(cfg, data, tmp_path / "run")
    first.train(progress=False, stop_after=3)
    assert first.step == 3
    # a fresh process-like trainer: different global RNG state, then restore
    torch.manual_seed(123)
    np.random.seed(5)
    resumed = Trainer.resume(tmp_path / "run", data)
    assert resumed.step == 3
    stats_b = [resumed.train_step() for _ in range(3)]
    for a, b in zip(stats_a[3:], stats_b):
        assert a == b  # bit-identical losses
    sa, sb = straight.model.state_dict(), resumed.model.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    oa = straight.agent.optimizers["q"].state_dict()["state"]
    ob = resumed.agent.optimizers["q"].state_dict()["state"]
    assert all(torch.equal(oa[i]["exp_avg"], ob[i]["exp_avg"]) for i in oa)


def test_checkpoint_is_plain_data(tmp_path, datasets):
    task, prior = datasets
    cfg = tiny_config(steps=2)
    t = Trainer(cfg, TrainData(cfg, task, prior), tmp_path)
    t.train(progress=False)
    doc = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert set(doc) >= {"model", "optimizers", "torch_noise_rng", "meta_json"}
    assert (tmp_path / "metrics.csv").read_text().count("\n") == 2  # header + 1 row (log_interval=2)
    assert any((tmp_path / "tb").iterdir())


def test_sigint_saves_and_stops(tmp_path, datasets):
    task, prior = datasets
    cfg = tiny_config(steps=50, eval_interval=4)
    calls = []

    def eval_fn(step, runtime):
        calls.append(step)
        a = runtime.act({"image": np.zeros((16, 16, 3), np.uint8)})
        assert a.shape == (8,) and np.all(np.abs(a) <= 1)
        os.kill(os.getpid(), signal.SIGINT)  # like Ctrl-C during training
        return {"dummy": 1.0}

    t = Trainer(cfg, TrainData(cfg, task, prior), tmp_path, eval_fn=eval_fn)
    result = t.train(progress=False)
    assert result["interrupted"] and result["step"] == 4 and calls == [4]
    resumed = Trainer.resume(tmp_path, TrainData(cfg, task, prior))
    assert resumed.step == 4
    assert '"dummy": 1.0' in (tmp_path / "eval.jsonl").read_text()


@pytest.mark.parametrize("algo", ["bc", "bc-oracle", "no-prior", "sac", "bc-init"])
def test_every_algorithm_trains(datasets, algo):
    task, prior = datasets
    cfg = tiny_config(algo=algo, obs="state", steps=4, bc_init_prior_steps=2)
    data = TrainData(cfg, task, prior if cfg.needs_prior else None)
    t = Trainer(cfg, data)
    stats = [t.train_step() for _ in range(4)]
    assert all(np.isfinite(v) for s in stats for v in s.values())
    critic = [phase_schedule(cfg, i)[1] for i in range(4)]
    assert critic == {"bc": [False] * 4, "bc-oracle": [False] * 4, "no-prior": [True] * 4,
                      "sac": [True] * 4, "bc-init": [False, False, True, True]}[algo]
    assert ("cql1" in stats[-1]) == (algo in ("no-prior", "bc-init"))


def test_row_sets(datasets):
    task, prior = datasets
    n_prior = len(prior)
    rows = TrainData(tiny_config(algo="no-prior"), task, prior).rows["main"]
    assert len(rows) == len(task)
    d = TrainData(tiny_config(algo="bc-init"), task, prior)
    assert len(d.rows["bc"]) == n_prior and len(d.rows["main"]) == len(task)
    b = d.sample("bc", 64, np.random.default_rng(0))
    assert float(b.rewards.abs().sum()) == 0.0  # prior rows only (rewards zeroed)
    oracle = TrainData(tiny_config(algo="bc-oracle"), task, None)
    # synthetic data: episodes 0 and 2 of 4 succeed (rewarded at their end)
    assert len(oracle.rows["main"]) == 20
    task2 = synthetic_transitions(4, 10, image_size=16, seed=1)
    task2.meta["episode_success"] = [False, False, False, True]
    assert len(TrainData(tiny_config(algo="bc-oracle"), task2, None).rows["main"]) == 10
    mixed = TrainData(tiny_config(algo="cog"), task, prior)
    batch = mixed.gather(np.array([0, n_prior - 1, n_prior, n_prior + len(task) - 1]))
    assert torch.equal(batch.obs["image"][1], torch.from_numpy(prior.obs["image"][-1]))
    assert torch.equal(batch.obs["image"][2], torch.from_numpy(task.obs["image"][0]))


def test_learning_rates_decay_to_zero_from_the_configured_fraction_and_survive_resume(tmp_path, datasets):
    task, prior = datasets
    cfg = tiny_config(steps=8)
    cfg.sac.lr_decay_from = 0.5
    cfg.validate()
    data = TrainData(cfg, task, prior)
    trainer = Trainer(cfg, data, tmp_path / "run")
    q_lr = lambda t: t.agent.optimizers["q"].param_groups[0]["lr"]  # noqa: E731
    rates = []
    for _ in range(8):
        trainer.train_step()
        rates.append(q_lr(trainer))
    assert rates[:4] == [cfg.sac.q_lr] * 4  # constant for the first half
    assert all(a > b for a, b in zip(rates[3:], rates[4:]))  # then strictly falling
    assert rates[-1] == 0.0  # and zero at the last step
    trainer.train(progress=False, stop_after=0)  # writes the checkpoint at step 8
    resumed = Trainer.resume(tmp_path / "run", data)
    resumed.agent.scale_learning_rates(1.0)
    assert q_lr(resumed) == cfg.sac.q_lr  # the configured rate, not the decayed one saved with the optimizer
    cfg.sac.lr_decay_from = 1.0
    with pytest.raises(Exception, match="lr_decay_from"):
        cfg.validate()


def test_the_deployed_policy_is_the_mean_of_the_actor_weights_from_the_configured_fraction(tmp_path, datasets):
    from cog_core.rl.export import export_policy
    from cog_core.rl.runtime import policy_state_dict

    task, prior = datasets
    cfg = tiny_config(steps=8)
    cfg.sac.policy_average_from = 0.5
    cfg.validate()
    data = TrainData(cfg, task, prior)
    trainer = Trainer(cfg, data, tmp_path / "run")
    actor = lambda sd: {k: v for k, v in sd.items() if k.startswith(("encoder.", "head."))}  # noqa: E731
    snapshots = []
    for _ in range(8):
        trainer.train_step()
        live = actor(policy_state_dict(trainer.model))
        deployed = actor(trainer.runtime().net.state_dict())
        if trainer.step <= 4:  # before the averaging starts the deployed policy is the live one
            assert all(torch.equal(live[k], deployed[k]) for k in live)
        else:
            snapshots.append(live)
    assert len(snapshots) == 4
    mean = {k: torch.stack([s[k] for s in snapshots]).mean(0) for k in snapshots[0]}
    assert all(torch.allclose(deployed[k], mean[k], atol=1e-6) for k in mean)
    assert not all(torch.equal(deployed[k], live[k]) for k in live)  # the mean, not the last weights

    trainer.train(progress=False, stop_after=0)  # checkpoint at step 8
    exported = actor(torch.load(export_policy(tmp_path / "run" / "checkpoint.pt", tmp_path / "export") / "policy.pt"))
    assert all(torch.equal(exported[k], deployed[k]) for k in deployed)

    resumed = Trainer.resume(tmp_path / "run", data)
    assert all(torch.equal(actor(resumed.runtime().net.state_dict())[k], deployed[k]) for k in deployed)
    resumed.adopt_averaged_policy()  # what fine-tuning starts from
    assert resumed.policy_average is None
    assert all(torch.equal(actor(policy_state_dict(resumed.model))[k], deployed[k]) for k in deployed)

    cfg.sac.policy_average_from = 1.0
    with pytest.raises(Exception, match="policy_average_from"):
        cfg.validate()


def test_policy_averaging_resumes_exactly(tmp_path, datasets):
    task, prior = datasets
    cfg = tiny_config(steps=8)
    cfg.sac.policy_average_from = 0.25
    data = TrainData(cfg, task, prior)
    straight = Trainer(cfg, data)
    for _ in range(8):
        straight.train_step()
    first = Trainer(cfg, data, tmp_path / "run")
    first.train(progress=False, stop_after=5)  # stops mid-average
    resumed = Trainer.resume(tmp_path / "run", data)
    for _ in range(3):
        resumed.train_step()
    a, b = straight.averaged_policy(), resumed.averaged_policy()
    assert int(a["n_averaged"]) == int(b["n_averaged"]) == 6
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_resuming_the_csv_log_drops_only_rows_after_the_checkpoint_and_a_torn_line(tmp_path):
    from cog_core.rl.logs import open_csv_log, trim_jsonl_log

    path = tmp_path / "metrics.csv"
    fields = ["step", "wall_s", "loss"]
    path.write_text("step,wall_s,loss\n" + "".join(f"{s},{s / 10},{s * 2}\n" for s in range(5, 45, 5)) + "45,4.")
    before = path.stat().st_ino
    with open_csv_log(path, fields, 30) as f:
        f.write("35,3.5,1\n")
    lines = path.read_text().splitlines()
    assert [int(line.split(",")[0]) for line in lines[1:]] == [5, 10, 15, 20, 25, 30, 35]
    assert path.stat().st_ino != before  # replaced whole (atomically), never truncated in place
    same = path.stat().st_ino
    open_csv_log(path, fields, 35).close()  # nothing to drop: the file is only appended to
    assert path.stat().st_ino == same
    evals = tmp_path / "eval.jsonl"
    evals.write_text('{"step": 10, "s": 1}\n{"step": 20, "s": 1}\n{"step": 30, "s"')
    trim_jsonl_log(evals, 15)
    assert evals.read_text() == '{"step": 10, "s": 1}\n'
