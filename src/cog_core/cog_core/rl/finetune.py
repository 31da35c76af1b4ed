"""Online fine-tuning (the paper's Figure 5): continue CQL from an offline run while collecting
episodes in the simulator, mixing the offline data with the growing online buffer.

Each online episode is rolled out with the stochastic policy (tanh-Gaussian samples) from an
initial condition (several conditions of one scene take turns, so that fine-tuning on one does
not make the policy forget another), its transitions (with the sim's true rewards) join the
online buffer, and `updates_per_step` gradient steps per collected env step follow; each batch draws
`online_fraction` of its rows from the online buffer once it holds a batch. Online rows are
neither task nor prior data, so every row weighs the same in the policy's loss here
(`data.policy_task_share` shapes the offline run only). Every
`eval_interval` episodes the deterministic policy is evaluated (on the `val` split's episodes:
fine-tuning is development) and a checkpoint is written, so `cogrl eval --run OUT` and
`cogrl export --run OUT` work on the fine-tuned policy. The online episodes are training
episodes (`cog_core.seeds.finetune_seed`), never an evaluation's.

From a frozen-encoder run (`arch=frozen`) the updates run on cached trunk features, as offline:
the offline rows' cache is rebuilt with the offline run's crop offsets, and each online image is
encoded once at as many crops (`OnlineFeatures`), so an update costs what an offline one does
instead of running the trunk over every sampled image.

Fine-tuning resumes exactly: with every checkpoint (and when Ctrl-C stops it after the current
episode) `OUT/finetune_state.npz` is replaced together with `OUT/checkpoint.pt`; it holds the
online buffer, the episode count, the exploration and sampling RNG states and the config, so
`Finetuner.restore` continues as if never stopped.
"""

from __future__ import annotations

import json
import signal
import threading
import zipfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from cog_core.files import atomic_write, atomic_write_all, atomic_write_text, remove_stale_temporaries
from cog_core.rl.checkpoint import CheckpointError, checkpoint_document, tensor_bytes
from cog_core.rl.cql import Batch
from cog_core.rl.data import TrainData, obs_keys_for
from cog_core.rl.evaluation import rollout_success
from cog_core.rl.features import cache_offsets, encode_images
from cog_core.rl.logs import trim_jsonl_log
from cog_core.rl.networks import FrozenModel
from cog_core.rl.run_dir import RunDir
from cog_core.rl.trainer import Trainer, cosine_decay, finite_or_raise
from cog_core.seeds import finetune_seed
from cog_core.stations.rollout import policy_observation

STATE_FILE = "finetune_state.npz"  # in OUT, beside checkpoint.pt: what resuming needs besides the trainer
CONFIG_FILE = "finetune_config.json"
LOG_FILE = "finetune.jsonl"


@dataclass
class FinetuneConfig:
    """How online fine-tuning collects, mixes and evaluates."""

    condition: str = "drawer/closed"  # initial condition(s) of the episodes, comma-separated: they take turns
    episodes: int = 2000  # online episodes to collect
    updates_per_step: float = 1.0  # gradient updates per collected env step
    online_fraction: float = 0.5  # share of each batch drawn from the online buffer
    eval_interval: int = 100  # episodes between evaluations (and checkpoints)
    eval_episodes: int = 20  # deterministic episodes per evaluation
    seed: int = 0  # seeds the exploration noise and the episode seeds
    # Fraction of the episodes after which every learning rate decays (cosine) to 0 at the last
    # episode, so that the final policy settles; None keeps them constant (the paper).
    lr_decay_from: float | None = None

    def validate(self) -> None:
        """Raise ValueError for values out of range."""
        if self.episodes < 1 or self.eval_interval < 1 or self.eval_episodes < 1:
            raise ValueError("episodes, eval_interval and eval_episodes must be >= 1")
        if not 0.0 <= self.online_fraction <= 1.0:
            raise ValueError(f"online_fraction must be in [0, 1], got {self.online_fraction}")
        if self.updates_per_step <= 0:
            raise ValueError(f"updates_per_step must be > 0, got {self.updates_per_step}")
        if self.lr_decay_from is not None and not 0.0 <= self.lr_decay_from < 1.0:
            raise ValueError(f"lr_decay_from must be in [0, 1) (a fraction of the episodes), got {self.lr_decay_from}")
        finetune_seed(self.seed, self.episodes)  # every online episode's seed among the training seeds
        from cog_core.sim import get_condition

        scenes = {get_condition(c).scene for c in self.conditions}  # KeyError names unknown ones
        if len(scenes) != 1:
            raise ValueError(f"fine-tuning conditions must share one scene, got {self.condition!r} (scenes {sorted(scenes)})")

    @property
    def conditions(self) -> tuple[str, ...]:
        """The initial conditions, in the order their episodes take turns."""
        names = tuple(c.strip() for c in self.condition.split(",") if c.strip())
        if not names:
            raise ValueError("no fine-tuning condition given")
        return names


def _write_rows(store: dict[str, Any], name: str, start: int, rows: Any) -> None:
    """Write `rows` (numpy or torch, leading axis = rows) from row `start` of the growing array
    `store[name]`, created like them; its capacity doubles as often as needed."""
    arr = store.get(name)
    stop = start + len(rows)
    if arr is None or stop > len(arr):
        capacity = max(1024, len(arr) if arr is not None else 0)
        while capacity < stop:
            capacity *= 2
        if isinstance(rows, torch.Tensor):
            grown = torch.empty((capacity, *rows.shape[1:]), dtype=rows.dtype, device=rows.device)
        else:
            grown = np.empty((capacity, *rows.shape[1:]), rows.dtype)
        if arr is not None:
            grown[:start] = arr[:start]
        arr = grown
    arr[start:stop] = rows
    store[name] = arr


class OnlineFeatures:
    """The frozen trunk's features of the online rows' images at `crops` crop offsets each (the
    first uncropped), as `FeatureCache` holds them for the offline rows, so that online updates run
    on features too. Row i's offsets come from (seed, i) alone: a resumed buffer recomputes the
    same features."""

    def __init__(self, trunk: nn.Module, crops: int, pad: int, seed: int) -> None:
        self.trunk, self.crops, self.pad, self.seed = trunk, crops, pad, seed
        self.n = 0  # rows encoded
        self._store: dict[str, torch.Tensor] = {}

    def row_offsets(self, start: int, stop: int) -> np.ndarray:
        """(stop - start, 2, crops, 2) crop offsets of rows start..stop-1: [:, 0] for s, [:, 1] for s'."""
        return np.stack([cache_offsets(2, self.crops, self.pad, np.random.default_rng([self.seed, 0x0F1E, i]))
                         for i in range(start, stop)])

    def update(self, obs_images: np.ndarray, next_images: np.ndarray) -> None:
        """Encode the rows of these (all the buffer's) images after the `n` already encoded."""
        stop = len(obs_images)
        if stop <= self.n:
            return
        offsets = self.row_offsets(self.n, stop)
        was_training = self.trunk.training
        self.trunk.eval()
        try:
            for name, images, k in (("obs", obs_images, 0), ("next", next_images, 1)):
                _write_rows(self._store, name, self.n, encode_images(self.trunk, images[self.n : stop], offsets[:, k], self.pad))
        finally:
            self.trunk.train(was_training)
        self.n = stop

    def gather(self, idx: np.ndarray, crops: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """Features of rows `idx` at cached crops `crops[0]` (s) and `crops[1]` (s'), on the trunk's device."""
        device = self._store["obs"].device
        rows = torch.from_numpy(idx).to(device)
        return (self._store["obs"][rows, torch.from_numpy(crops[0]).to(device)],
                self._store["next"][rows, torch.from_numpy(crops[1]).to(device)])


class OnlineBuffer:
    """Growing arrays of online transitions, sampled uniformly into `Batch`es. With `features` (a
    frozen encoder's), batches carry the cached trunk features ("feat") instead of images."""

    def __init__(self, keys: list[str], features: OnlineFeatures | None = None) -> None:
        self.keys = keys
        self.features = features
        self._n = 0
        self._arrays: dict[str, Any] = {}  # names as `arrays()` returns them, each of some capacity >= len

    def __len__(self) -> int:
        return self._n

    def add(self, obs: dict[str, np.ndarray], action: np.ndarray, reward: float, next_obs: dict[str, np.ndarray], done: bool) -> None:
        """Append one transition (observation dicts hold at least `keys`)."""
        row = {**{f"obs/{k}": obs[k] for k in self.keys}, **{f"next/{k}": next_obs[k] for k in self.keys},
               "actions": np.asarray(action, np.float32), "rewards": np.float32(reward), "dones": np.float32(done)}
        for name, value in row.items():
            _write_rows(self._arrays, name, self._n, np.asarray(value)[None])
        self._n += 1

    def arrays(self) -> dict[str, np.ndarray]:
        """Every transition as stacked arrays (views), named "obs/<key>", "next/<key>", "actions",
        "rewards", "dones" (nothing while empty)."""
        return {name: arr[: self._n] for name, arr in self._arrays.items()}

    @classmethod
    def from_arrays(cls, keys: list[str], arrays: dict[str, np.ndarray], features: OnlineFeatures | None = None) -> OnlineBuffer:
        """A buffer holding the transitions `arrays()` returned (an empty one without them)."""
        buf = cls(keys, features)
        if "actions" in arrays:
            buf._arrays = {name: np.array(arrays[name]) for name in [*(f"{w}/{k}" for k in keys for w in ("obs", "next")),
                                                                     "actions", "rewards", "dones"]}
            buf._n = len(buf._arrays["actions"])
        return buf

    def sample(self, n: int, rng: np.random.Generator) -> Batch:
        """`n` rows drawn uniformly with replacement."""
        p = self.arrays()
        idx = rng.integers(0, len(self), size=n)
        keys = self.keys
        if self.features is not None:
            self.features.update(p["obs/image"], p["next/image"])
            crops = rng.integers(0, self.features.crops, size=(2, n))
            keys = [k for k in keys if k != "image"]

        def tensors(side: str) -> dict[str, torch.Tensor]:
            return {k: torch.from_numpy(p[f"{side}/{k}"][idx]) if k == "image" else torch.from_numpy(p[f"{side}/{k}"][idx]).float()
                    for k in keys}

        obs, nxt = tensors("obs"), tensors("next")
        if self.features is not None:
            obs["feat"], nxt["feat"] = self.features.gather(idx, crops)
        return Batch(obs=obs, next_obs=nxt, actions=torch.from_numpy(p["actions"][idx]),
                     rewards=torch.from_numpy(p["rewards"][idx]), dones=torch.from_numpy(p["dones"][idx]))


def concat_batches(a: Batch, b: Batch) -> Batch:
    """Rows of `a` followed by rows of `b`."""
    return Batch(
        obs={k: torch.cat([a.obs[k], b.obs[k]]) for k in a.obs},
        next_obs={k: torch.cat([a.next_obs[k], b.next_obs[k]]) for k in a.next_obs},
        actions=torch.cat([a.actions, b.actions]), rewards=torch.cat([a.rewards, b.rewards]), dones=torch.cat([a.dones, b.dones]),
    )


class Finetuner:
    """An offline run's trainer plus an online buffer and a simulator: `run()` collects and trains."""

    def __init__(self, trainer: Trainer, data: TrainData, cfg: FinetuneConfig, out: Path) -> None:
        cfg.validate()
        if not trainer.cfg.uses_critic:
            raise ValueError(f"fine-tuning continues CQL; run's algo {trainer.cfg.algo!r} trains no critic (use cog, no-prior, bc-init or sac)")
        self.trainer, self.data, self.cfg, self.out = trainer, data, cfg, out
        self.keys = obs_keys_for(trainer.cfg.obs)
        trainer.agent.scale_learning_rates(1.0)  # online updates run at the configured rates, whatever the offline schedule left
        trainer.adopt_averaged_policy()  # start from the policy the offline run deployed; no averaging online
        self.buffer = OnlineBuffer(self.keys, self._online_features())
        self.gen = torch.Generator().manual_seed(cfg.seed)
        self.rng = np.random.default_rng(cfg.seed)
        self._owed = 0.0  # fractional updates carried between episodes
        self.episode = 0  # online episodes collected (and trained on) so far
        self.rows: list[dict[str, Any]] = []  # the evaluations so far (finetune.jsonl)
        self.recent: list[bool] = []  # every online episode's success
        self.interrupted = False  # set when Ctrl-C ended `run` early
        self._stop = False

    def _online_features(self) -> OnlineFeatures | None:
        """With a frozen encoder, the offline rows' feature cache (built now if the trainer has none,
        with the offline run's offsets) and an online one, so that updates run on features; None
        (and images for every row) otherwise."""
        model = self.trainer.model
        if not (isinstance(model, FrozenModel) and bool(model.encoder_frozen)):
            self.data.attach_features(None)
            return None
        self.trainer.prepare_encoder()
        cfg = self.trainer.cfg
        return OnlineFeatures(model.trunk, cfg.encoder.crops, cfg.data.crop_pad, self.cfg.seed)

    # -- saving and resuming -----------------------------------------------------------
    def save(self) -> None:
        """Replace OUT/checkpoint.pt and OUT/finetune_state.npz together (all temporaries are
        written before either is renamed): the run resumes from episode `self.episode`."""
        payload, meta = self.trainer.checkpoint_contents()
        doc = checkpoint_document(payload, meta)
        state: dict[str, np.ndarray] = {
            **self.buffer.arrays(),
            "episode": np.asarray(self.episode, np.int64),
            "updates": np.asarray(self.trainer.step, np.int64),
            "owed": np.asarray(self._owed, np.float64),
            "recent": np.asarray(self.recent, bool),
            "exploration_rng": self.gen.get_state().numpy(),
            "batch_rng": np.asarray(json.dumps(self.rng.bit_generator.state)),
            "config": np.asarray(json.dumps(asdict(self.cfg))),
        }

        def write_state(tmp: Path) -> None:
            with tmp.open("wb") as f:
                np.savez(f, **state)

        size = tensor_bytes(doc) + sum(a.nbytes for a in state.values()) + 2**20
        atomic_write_all({RunDir(self.out).checkpoint: lambda tmp: torch.save(doc, tmp), self.out / STATE_FILE: write_state},
                         size_hint=size)

    def restore(self) -> None:
        """Continue OUT's fine-tuning where its last save left it. The trainer must hold
        OUT/checkpoint.pt, and this config must be the one OUT was started with."""
        path = self.out / STATE_FILE
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no fine-tuning state to resume from (written with every checkpoint); "
                                    "start the fine-tuning again without --resume")
        try:
            with np.load(path, allow_pickle=False) as z:
                state = {k: z[k] for k in z.files}
            saved_cfg = json.loads(str(state["config"]))
            batch_rng = json.loads(str(state["batch_rng"]))
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as err:
            raise CheckpointError(f"{path}: unreadable fine-tuning state ({err}); it is damaged: start the fine-tuning "
                                  "again without --resume") from None
        mine = json.loads(json.dumps(asdict(self.cfg)))  # as the state file holds it (tuples as lists)
        if saved_cfg != mine:
            diff = sorted(k for k in saved_cfg.keys() | mine.keys() if saved_cfg.get(k) != mine.get(k))
            raise ValueError(f"{path}: this fine-tuning was started with other settings ({', '.join(diff)}); "
                             f"resume with those of {self.out / CONFIG_FILE}")
        if int(state["updates"]) != self.trainer.step:
            raise CheckpointError(f"{path} (after {int(state['updates'])} updates) does not belong to "
                                  f"{RunDir(self.out).checkpoint} (after {self.trainer.step}); start the fine-tuning again")
        self.buffer = OnlineBuffer.from_arrays(self.keys, state, self.buffer.features)
        self.episode = int(state["episode"])
        self._owed = float(state["owed"])
        self.recent = [bool(x) for x in state["recent"]]
        self.gen.set_state(torch.from_numpy(state["exploration_rng"]))
        self.rng.bit_generator.state = batch_rng
        log = self.out / LOG_FILE
        trim_jsonl_log(log, self.episode, key="episode")  # evaluations logged after the state was saved
        self.rows = [json.loads(line) for line in log.read_text().splitlines()] if log.is_file() else []

    def _on_sigint(self, signum, frame) -> None:  # noqa: ARG002
        if self._stop:  # second Ctrl-C: give up immediately
            raise KeyboardInterrupt
        self._stop = True

    def _batch(self) -> Batch:
        size = self.trainer.cfg.batch_size
        n_online = int(round(self.cfg.online_fraction * size)) if len(self.buffer) >= size else 0
        parts = []
        if n_online < size:
            parts.append(self.data.sample("main", size - n_online, self.trainer.rng))
        if n_online:
            parts.append(self.buffer.sample(n_online, self.rng))
        batch = parts[0] if len(parts) == 1 else concat_batches(*parts)
        return replace(batch, is_task=None)  # online rows are neither task nor prior: every row weighs the same

    def collect_episode(self, env, index: int) -> tuple[bool, int]:
        """One stochastic-policy episode into the buffer; returns (success at the final step, length)."""
        policy = self.trainer.runtime()
        conditions = self.cfg.conditions
        condition = conditions[(index - 1) % len(conditions)]
        obs, info = env.reset(seed=finetune_seed(self.cfg.seed, index), options={"condition": condition})
        cur = policy_observation(obs, info, self.keys)
        steps = 0
        while True:
            action = policy.sample(cur, self.gen)
            obs, reward, terminated, truncated, info = env.step(action)
            nxt = policy_observation(obs, info, self.keys)
            self.buffer.add(cur, action, reward, nxt, bool(terminated))
            cur, steps = nxt, steps + 1
            if terminated or truncated:
                return bool(info["success"]), steps

    def lr_factor(self, episode: int) -> float:
        """Multiplier of every learning rate for the updates after online episode `episode` (1-based; 0 gives 1)."""
        return cosine_decay(episode - 1, self.cfg.episodes, self.cfg.lr_decay_from)

    def train(self, updates: int) -> dict[str, float]:
        """`updates` gradient steps on mixed batches; returns the mean statistics."""
        sums: dict[str, float] = {}
        for _ in range(updates):
            stats = self.trainer.agent.update(self._batch(), train_critic=True, bc_policy_loss=False)
            self.trainer.step += 1
            for k, v in stats.items():
                sums[k] = sums.get(k, 0.0) + v
        means = {k: v / max(updates, 1) for k, v in sums.items()}
        finite_or_raise(means)
        return means

    def run(self, progress: bool = True, stop_after: int | None = None) -> list[dict[str, Any]]:
        """Collect episodes up to `episodes` (from `self.episode`, which `restore` sets), training
        after each; evaluate and save every `eval_interval`. Ctrl-C (or `stop_after` more episodes)
        stops after the current episode and saves; Ctrl-C sets `self.interrupted`. Returns the log rows."""
        from cog_core.sim import make_env

        self.out.mkdir(parents=True, exist_ok=True)
        for path in (RunDir(self.out).checkpoint, self.out / STATE_FILE, self.out / LOG_FILE):
            remove_stale_temporaries(path)  # left by a run killed while it replaced the file (the state: up to GBs)
        log_path = self.out / LOG_FILE
        fresh = self.episode == 0 and not self.rows
        if fresh:
            atomic_write_text(self.out / CONFIG_FILE, json.dumps(asdict(self.cfg), indent=2))
            atomic_write_text(log_path, "")
        conditions = self.cfg.conditions
        env = make_env(conditions[0], image_size=self.trainer.spec.image_size or 48)
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=self.cfg.episodes, initial=self.episode, unit="ep", desc=f"finetune {self.cfg.condition}")
        recent = self.recent

        def evaluate(episode: int) -> None:
            runtime = self.trainer.runtime()
            by_condition = {c: rollout_success(runtime, c, self.cfg.eval_episodes, split="val") for c in conditions}
            rate = float(np.mean(list(by_condition.values())))
            row = {"episode": episode, "env_steps": len(self.buffer), "updates": self.trainer.step,
                   "lr_factor": self.lr_factor(episode), "eval_success": rate,
                   "train_success_recent": float(np.mean(recent[-self.cfg.eval_interval:])) if recent else None}
            if len(conditions) > 1:
                row["eval_by_condition"] = by_condition
            self.rows.append(row)
            with log_path.open("a") as f:
                f.write(json.dumps(row) + "\n")
            self.save()
            if bar is not None:
                detail = "" if len(conditions) == 1 else " (" + ", ".join(f"{c}: {r:.2f}" for c, r in by_condition.items()) + ")"
                bar.write(f"episode {episode}: eval success {rate:.2f}{detail}, {self.cfg.eval_episodes} episodes each")

        old_handler = None
        if threading.current_thread() is threading.main_thread():
            old_handler = signal.signal(signal.SIGINT, self._on_sigint)
        try:
            if fresh:
                evaluate(0)
            last = self.cfg.episodes if stop_after is None else min(self.cfg.episodes, self.episode + stop_after)
            for ep in range(self.episode + 1, last + 1):
                success, length = self.collect_episode(env, ep)
                recent.append(success)
                self._owed += length * self.cfg.updates_per_step
                n = int(self._owed)
                self._owed -= n
                self.trainer.agent.scale_learning_rates(self.lr_factor(ep))
                stats = self.train(n)
                self.episode = ep
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix({"recent": f"{np.mean(recent[-50:]):.2f}", "q": f"{stats.get('q1_data', 0):.3g}"}, refresh=False)
                if ep % self.cfg.eval_interval == 0 or ep == self.cfg.episodes:
                    evaluate(ep)
                elif self._stop or ep == last:
                    self.save()
                if self._stop:
                    self.interrupted = True
                    break
        finally:
            if old_handler is not None:
                signal.signal(signal.SIGINT, old_handler)
            env.close()
            if bar is not None:
                bar.close()
        self._stop = False
        plot_finetune(self.rows, self.out / "finetune.png", self.cfg.condition)
        return self.rows


def plot_finetune(rows: list[dict[str, Any]], path: Path, condition: str) -> None:
    """Success vs online episodes (evaluation, and the exploring policy's recent episodes)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    eps = [r["episode"] for r in rows]
    per_condition = rows[0].get("eval_by_condition", {}) if rows else {}
    for i, cond in enumerate(per_condition):  # markers differ so that overlapping curves stay visible
        ax.plot(eps, [r["eval_by_condition"][cond] for r in rows], "^v<>d"[i % 5] + "-", alpha=0.8, label=f"eval: {cond.split('/', 1)[-1]}")
    mean_label = "deterministic policy (eval, mean)" if per_condition else "deterministic policy (eval)"
    ax.plot(eps, [r["eval_success"] for r in rows], "o-", color="black" if per_condition else None, label=mean_label)
    train = [(r["episode"], r["train_success_recent"]) for r in rows if r["train_success_recent"] is not None]
    if train:
        ax.plot(*zip(*train), "s--", alpha=0.7, label="exploring policy (recent episodes)")
    ax.set_xlabel("online episodes")
    ax.set_ylabel("success rate")
    ax.set_ylim(-0.03, 1.03)
    names = [c.strip() for c in condition.split(",")]
    title = names[0] if len(names) == 1 else f"{len(names)} {names[0].split('/')[0]} conditions taking turns"
    ax.set_title(f"online fine-tuning: {title}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110), suffix=".png")
    plt.close(fig)
