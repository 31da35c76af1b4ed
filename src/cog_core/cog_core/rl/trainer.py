"""The training loop: sampling, updates, logs (CSV + TensorBoard), evaluation hook, checkpoints.

A run directory holds ``config.yaml``, ``metrics.csv``, ``eval.jsonl``, ``tb/`` and
``checkpoint.pt`` (the latest state; resuming from it continues exactly as if never stopped).
Logs are appended, flushed every row and synced to disk with every checkpoint; a resumed run
drops only the rows logged after its checkpoint's step (rewriting the file atomically), so a
crash at any moment never loses a row the checkpoint covers. Checkpoint temporaries left by a
killed run are removed when training starts, and the checkpoint of a step is written before
that step's evaluation.
"""

from __future__ import annotations

import csv
import json
import math
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from torch import nn
from torch.optim.swa_utils import AveragedModel

from cog_core.config import to_dict
from cog_core.files import DiskFull, atomic_write_text, is_disk_full, remove_stale_temporaries
from cog_core.rl.checkpoint import CheckpointError, checkpoint_config, load_checkpoint, save_checkpoint
from cog_core.rl.config import TrainConfig
from cog_core.rl.cql import Agent
from cog_core.rl.data import DataMismatch, TrainData, phase_schedule
from cog_core.rl.device import cpu_tree, resolve_device
from cog_core.rl.logs import open_csv_log, trim_jsonl_log
from cog_core.rl.resume import RESUME_CHANGEABLE, data_changes
from cog_core.rl.export import policy_metadata
from cog_core.rl.features import FeatureCache
from cog_core.rl.malloc import keep_freed_memory
from cog_core.rl.networks import ActorCritic, FrozenModel, build_model
from cog_core.rl.pretrain import pretrain_encoder
from cog_core.rl.run_dir import RunDir
from cog_core.rl.runtime import PolicyRuntime

# An evaluation hook: (step, deterministic policy) -> scalar metrics to log.
EvalFn = Callable[[int, PolicyRuntime], dict[str, float]]

METRIC_KEYS = (
    "policy_loss", "logp", "alpha_ent", "bc_logp", "q1_loss", "q2_loss", "td1", "td2",
    "cql1", "cql2", "q1_data", "q2_data", "target", "loss",
)


def cosine_decay(index: int, total: int, start: float | None) -> float:
    """1 until fraction `start` of `total` iterations, then a cosine down to 0 at iteration
    `total - 1` (0-based `index`); always 1 when `start` is None."""
    if start is None or total <= 0:
        return 1.0
    first = int(start * total)
    if index < first:
        return 1.0
    progress = min(1.0, (index - first + 1) / max(1, total - first))
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def average_start(cfg: TrainConfig) -> int | None:
    """The first step whose actor weights enter the averaged policy (`sac.policy_average_from`), or None."""
    frac = cfg.sac.policy_average_from
    return None if frac is None else int(frac * cfg.steps) + 1


def actor_modules(model: ActorCritic) -> nn.ModuleDict:
    """The actor's encoder and head, named as in an exported PolicyNet."""
    return nn.ModuleDict({"encoder": model.policy_encoder, "head": model.policy_head})


def lr_factor(cfg: TrainConfig, step: int) -> float:
    """Multiplier of every learning rate at `step`: 1, or (with `sac.lr_decay_from`) a cosine
    from 1 at that fraction of the run down to 0 at its last step."""
    return cosine_decay(step, cfg.steps, cfg.sac.lr_decay_from)


class Trainer:
    """Owns the model, the agent and the RNGs; `train()` runs until `cfg.steps`."""

    def __init__(self, cfg: TrainConfig, data: TrainData, run_dir: str | Path | None = None,
                 eval_fn: EvalFn | None = None) -> None:
        self.cfg = cfg
        self.data = data
        self.spec = data.spec
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.eval_fn = eval_fn
        if cfg.threads > 0:
            torch.set_num_threads(cfg.threads)
        keep_freed_memory()
        self.device = resolve_device(cfg.device)  # DeviceError for a CUDA device this machine lacks
        torch.manual_seed(cfg.seed)
        # Built (and initialised from the seed) on the CPU, then moved: the same initial weights on every device.
        self.model = build_model(cfg, self.spec.image_size, self.spec.vec_dim, self.spec.action_dim)
        mean, std = data.vec_stats()
        if cfg.net.normalize_state and self.spec.vec_dim:
            self.model.vec_mean.copy_(torch.from_numpy(mean))
            self.model.vec_std.copy_(torch.from_numpy(std))
        self.model.to(self.device)
        self.agent = Agent(self.model, cfg, cfg.obs, cfg.seed)
        if data.features is not None and data.features.device != self.device:
            data.attach_features(None)  # built on another device: cached again on this one when due
        # The running mean of the actor's weights from `sac.policy_average_from` on: the policy
        # that is evaluated and exported once it holds any step.
        self.policy_average = (
            AveragedModel(actor_modules(self.model), device=self.device, use_buffers=True)
            if cfg.sac.policy_average_from is not None else None
        )
        self.rng = np.random.default_rng(cfg.seed)
        self.step = 0
        self._stop = False
        self._tb = None

    # -- one step -------------------------------------------------------------------
    def train_step(self) -> dict[str, float]:
        """Sample a batch for the current phase and run one gradient step (arch=frozen: first trains,
        freezes and caches the encoder when that is due, see `prepare_encoder`)."""
        if self.data.features is None and self._frozen_model() is not None:
            self.prepare_encoder()
        phase, critic, bc = phase_schedule(self.cfg, self.step)
        self.agent.scale_learning_rates(lr_factor(self.cfg, self.step))
        batch = self.data.sample(phase, self.cfg.batch_size, self.rng)
        stats = self.agent.update(batch, train_critic=critic, bc_policy_loss=bc)
        self.step += 1
        if self._frozen_model() is not None and self.step == self.cfg.encoder.e2e_steps:
            self.prepare_encoder()  # e2e: the end-to-end phase is over
        start = average_start(self.cfg)
        if self.policy_average is not None and start is not None and self.step >= start:
            self.policy_average.update_parameters(actor_modules(self.model))
        return stats

    # -- the frozen encoder (arch=frozen) ------------------------------------------------
    def _frozen_model(self) -> FrozenModel | None:
        return self.model if isinstance(self.model, FrozenModel) else None

    def prepare_encoder(self, progress: bool = False) -> dict[str, float]:
        """arch=frozen: train the encoder as `encoder.objective` says (unless a checkpoint already
        froze it), freeze it, and cache its features of every dataset image so that the updates
        run on them. Before `encoder.e2e_steps` updates of an `e2e` run it does nothing (the
        encoder still trains end to end). Returns timings and sizes; {} when there is nothing to do."""
        model = self._frozen_model()
        if model is None:
            return {}
        enc = self.cfg.encoder
        stats: dict[str, float] = {}
        if not bool(model.encoder_frozen):
            if enc.objective == "e2e" and self.step < enc.e2e_steps:
                return {}
            pre = pretrain_encoder(model.trunk, self.data.parts, self.cfg, self.cfg.seed, progress)
            stats.update({f"pretrain_{k}": v for k, v in pre.items()})
            model.freeze_encoder()
            if self.run_dir is not None and pre:
                self.save(RunDir(self.run_dir).checkpoint)  # a crash from here on keeps the trained encoder
        if self.data.features is None:
            t0 = time.perf_counter()
            cache = FeatureCache.build(model.trunk, self.data.parts, enc.crops, self.cfg.data.crop_pad, self.cfg.seed,
                                       enc.encode_batch, progress)
            self.data.attach_features(cache)
            stats.update(cache_seconds=time.perf_counter() - t0, cache_bytes=float(cache.nbytes))
        if self.run_dir is not None and stats:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            with RunDir(self.run_dir).encoder_log.open("a") as f:
                f.write(json.dumps({"step": self.step, "objective": enc.objective, **stats}) + "\n")
        return stats

    def averaged_policy(self) -> dict[str, torch.Tensor] | None:
        """The averaged policy's state dict once it holds at least one step, else None."""
        if self.policy_average is None or int(self.policy_average.n_averaged) == 0:
            return None
        return self.policy_average.state_dict()

    def adopt_averaged_policy(self) -> None:
        """Copy the averaged actor weights (if any) into the live actor and stop averaging, so that
        further training (online fine-tuning) continues from the policy that was deployed."""
        if self.averaged_policy() is not None:
            assert self.policy_average is not None
            with torch.no_grad():
                live = actor_modules(self.model).state_dict()
                for key, value in self.policy_average.module.state_dict().items():
                    live[key].copy_(value)
        self.policy_average = None

    # -- state -----------------------------------------------------------------------
    def meta(self) -> dict[str, Any]:
        """JSON-able description of the run at this step."""
        return {
            "step": self.step,
            "config": to_dict(self.cfg),
            "spec": self.spec.to_dict(),
            "data": self.data.provenance(),
        }

    def save(self, path: str | Path) -> None:
        """Write a checkpoint that resumes exactly (weights, optimizers, every RNG state), of CPU
        tensors whatever the device (it resumes on any)."""
        save_checkpoint(path, *self.checkpoint_contents())

    def checkpoint_contents(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The (payload, metadata) that `save` writes, after flushing the logs they cover."""
        self._sync_logs()  # every row up to this step is on disk before the checkpoint that covers it
        payload = {
            "model": self.model.state_dict(),
            "optimizers": {k: o.state_dict() for k, o in self.agent.optimizers.items()},
            "torch_noise_rng": self.agent.gen.get_state(),
            "torch_global_rng": torch.get_rng_state(),
        }
        if self.policy_average is not None:
            payload["policy_average"] = self.policy_average.state_dict()
        payload = cpu_tree(payload)
        meta = self.meta()
        meta["numpy_rng"] = self.rng.bit_generator.state
        return payload, meta

    def load(self, path: str | Path, allow_data_change: bool = False) -> None:
        """Restore a checkpoint written by `save` with the same config, data spec and (unless
        `allow_data_change`) the same datasets, by content hash."""
        ckpt = load_checkpoint(path)
        meta = ckpt["meta"]
        if meta["spec"] != self.spec.to_dict():
            raise DataMismatch(f"checkpoint {path} was trained on data {meta['spec']}, these data are {self.spec.to_dict()}")
        saved = checkpoint_config(path, meta)
        mine, theirs = to_dict(self.cfg), to_dict(saved)
        for key in RESUME_CHANGEABLE:
            mine.pop(key), theirs.pop(key)
        if mine != theirs:
            diff = sorted(k for k in mine if mine[k] != theirs.get(k))
            raise DataMismatch(f"checkpoint {path} has a different config (sections {diff}); resume with its config")
        changed = data_changes(meta.get("data", {}), self.data.provenance())
        if changed and not allow_data_change:
            raise DataMismatch(
                f"checkpoint {path} was trained on other data: {'; '.join(changed)}. Resume with the run's datasets, "
                "or pass --allow-data-change to continue training on these"
            )
        try:
            self.model.load_state_dict(ckpt["model"])
            if self.policy_average is not None and "policy_average" in ckpt:
                self.policy_average.load_state_dict(ckpt["policy_average"])
            for k, opt in self.agent.optimizers.items():
                opt.load_state_dict(ckpt["optimizers"][k])
            self.agent.gen.set_state(ckpt["torch_noise_rng"])
            torch.set_rng_state(ckpt["torch_global_rng"])
            self.rng.bit_generator.state = meta["numpy_rng"]
        except (KeyError, TypeError, ValueError, RuntimeError) as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise CheckpointError(f"{path}: its state does not fit this run ({first}); not a checkpoint of this "
                                  "version of `cogrl train`") from None
        self.step = int(meta["step"])

    @classmethod
    def resume(cls, run_dir: str | Path, data: TrainData, eval_fn: EvalFn | None = None, steps: int | None = None,
               allow_data_change: bool = False, **changes: Any) -> "Trainer":
        """A trainer restored from `run_dir/checkpoint.pt` (optionally with a new total `steps`, and
        new values of the other `RESUME_CHANGEABLE` settings); see `load` for `allow_data_change`."""
        ckpt = RunDir(run_dir).checkpoint
        meta = load_checkpoint(ckpt)["meta"]
        cfg = checkpoint_config(ckpt, meta)
        if steps is not None:
            cfg.steps = steps
        unknown = sorted(set(changes) - set(RESUME_CHANGEABLE))
        if unknown:
            raise ValueError(f"cannot change {unknown} on resume; only {list(RESUME_CHANGEABLE)}")
        for key, value in changes.items():
            setattr(cfg, key, value)
        cfg.validate()
        trainer = cls(cfg, data, run_dir, eval_fn)
        trainer.load(ckpt, allow_data_change)
        return trainer

    def runtime(self) -> PolicyRuntime:
        """A deterministic-policy runtime holding a copy of the current policy weights (the averaged
        ones once `sac.policy_average_from` has started averaging)."""
        meta = policy_metadata(self.cfg, self.spec.to_dict(), self.step, {"data": self.data.provenance()})
        return PolicyRuntime.from_model(self.model, self.cfg, meta, self.averaged_policy())

    # -- logging ---------------------------------------------------------------------
    def _open_logs(self) -> None:
        assert self.run_dir is not None
        self.run_dir.mkdir(parents=True, exist_ok=True)
        files = RunDir(self.run_dir)
        for path in (files.checkpoint, files.config, files.metrics, files.eval_log):
            remove_stale_temporaries(path)  # left by a run killed while it replaced the file
        atomic_write_text(files.config, yaml.safe_dump(to_dict(self.cfg), sort_keys=False))
        fields = ["step", "wall_s", "updates_per_s", *METRIC_KEYS]
        self._csv_file = open_csv_log(files.metrics, fields, self.step)
        self._csv = csv.DictWriter(self._csv_file, fieldnames=fields, extrasaction="ignore")
        trim_jsonl_log(files.eval_log, self.step)
        try:
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(str(files.tensorboard), purge_step=self.step)
        except ImportError:  # tensorboard is a declared dependency; degrade to CSV only if absent
            self._tb = None

    def _sync_logs(self) -> None:
        """Push the metrics rows written so far to disk (before a checkpoint that covers them)."""
        log = getattr(self, "_csv_file", None)
        if log is not None and not log.closed:
            try:
                log.flush()
                os.fsync(log.fileno())
            except OSError as err:
                if is_disk_full(err):
                    raise DiskFull(log.name, 2**16) from err
                raise

    def _log(self, sums: dict[str, float], count: int, rate: float, wall: float) -> None:
        means = {k: v / count for k, v in sums.items()}
        if self.run_dir is not None:
            try:
                self._csv.writerow({"step": self.step, "wall_s": round(wall, 3), "updates_per_s": round(rate, 3), **means})
                self._csv_file.flush()
            except OSError as err:
                if is_disk_full(err):
                    raise DiskFull(self._csv_file.name, 2**16) from err
                raise
            if self._tb is not None:
                for k, v in means.items():
                    self._tb.add_scalar(f"train/{k}", v, self.step)
                self._tb.add_scalar("train/updates_per_s", rate, self.step)

    def _evaluate(self) -> dict[str, float]:
        assert self.eval_fn is not None
        results = self.eval_fn(self.step, self.runtime())
        if self.run_dir is not None:
            with RunDir(self.run_dir).eval_log.open("a") as f:
                f.write(json.dumps({"step": self.step, **results}) + "\n")
            if self._tb is not None:
                for k, v in results.items():
                    self._tb.add_scalar(f"eval/{k}", v, self.step)
        return results

    # -- the loop ----------------------------------------------------------------------
    def _on_sigint(self, signum, frame) -> None:  # noqa: ARG002
        if self._stop:  # second Ctrl-C: give up immediately
            raise KeyboardInterrupt
        self._stop = True

    def train(self, progress: bool = True, stop_after: int | None = None) -> dict[str, Any]:
        """Train until `cfg.steps` (or `stop_after` more steps); Ctrl-C stops after the current
        update and saves. Returns {"step", "interrupted", "last": mean stats of the last interval}."""
        cfg = self.cfg
        end = cfg.steps if stop_after is None else min(cfg.steps, self.step + stop_after)
        start = self.step
        if self.run_dir is not None:
            self._open_logs()
        encoder_stats = self.prepare_encoder(progress)
        if progress and encoder_stats:
            print("encoder: " + ", ".join(f"{k}={v:.4g}" for k, v in encoder_stats.items()), flush=True)
        old_handler = None
        if threading.current_thread() is threading.main_thread():
            old_handler = signal.signal(signal.SIGINT, self._on_sigint)
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=cfg.steps, initial=self.step, unit="upd", dynamic_ncols=True, desc=cfg.algo)
        sums: dict[str, float] = {}
        count, t0, last = 0, time.perf_counter(), {}
        t_int = t0
        try:
            while self.step < end and not self._stop:
                stats = self.train_step()
                for k, v in stats.items():
                    sums[k] = sums.get(k, 0.0) + v
                count += 1
                if bar is not None:
                    bar.update(1)
                if self.step % cfg.log_interval == 0 or self.step == end:
                    now = time.perf_counter()
                    rate = count / max(now - t_int, 1e-9)
                    self._log(sums, count, rate, now - t0)
                    last = {k: v / count for k, v in sums.items()}
                    finite_or_raise(last)
                    if bar is not None:
                        shown = {k: last[k] for k in ("q1_loss", "cql1", "policy_loss", "alpha_ent") if k in last}
                        bar.set_postfix({k: f"{v:.3g}" for k, v in shown.items()}, refresh=False)
                    sums, count, t_int = {}, 0, now
                # The checkpoint first: an evaluation that fails loses no updates. (Updates never
                # draw from torch's global RNG, which building the evaluated policy does.)
                if self.run_dir is not None and cfg.ckpt_interval and self.step % cfg.ckpt_interval == 0:
                    self.save(RunDir(self.run_dir).checkpoint)
                if self.eval_fn is not None and cfg.eval_interval and self.step % cfg.eval_interval == 0:
                    res = self._evaluate()
                    if bar is not None:
                        bar.write(f"step {self.step}: eval " + ", ".join(f"{k}={v:.3g}" for k, v in res.items()))
            if self.run_dir is not None:
                self.save(RunDir(self.run_dir).checkpoint)
        finally:
            if old_handler is not None:
                signal.signal(signal.SIGINT, old_handler)
            if bar is not None:
                bar.close()
            if self.run_dir is not None:
                self._csv_file.close()
                if self._tb is not None:
                    self._tb.close()
        interrupted = self._stop
        self._stop = False
        if not last and sums:
            last = {k: v / count for k, v in sums.items()}
        return {"step": self.step, "steps_done": self.step - start, "interrupted": interrupted, "last": last,
                "seconds": time.perf_counter() - t0}


def finite_or_raise(stats: dict[str, float]) -> None:
    """Raise FloatingPointError naming the first non-finite statistic."""
    for k, v in stats.items():
        if not math.isfinite(v):
            raise FloatingPointError(f"training diverged: {k} = {v}")
