"""Training speed: ms per update at batch 256 for the paper / fast / state networks and the image
path of the table preset (`image-default`: the frozen, pretrained encoder on cached features),
where the time goes (profile), policy runtime latency, and a peer comparison with d3rlpy's CQL.

    .venv/bin/python benchmarks/train_speed.py                 # all, a few dozen updates each
    .venv/bin/python benchmarks/train_speed.py --which state,image-default
    .venv/bin/python benchmarks/train_speed.py --which image-default --cache-scale 10   # + memory at 10x the cpu preset's drawer data
    .venv/bin/python benchmarks/train_speed.py --which fast --updates 30 --profile
    .venv/bin/python benchmarks/train_speed.py --d3rlpy-python /tmp/d3venv/bin/python
    .venv/bin/python benchmarks/train_speed.py --which paper,fast,image-default --device cuda   # on a GPU

The machine is shared, so each figure is the median (and the minimum, the least disturbed
update) over the timed updates after a warm-up. Every update includes batch sampling from
uint8 arrays, random-crop augmentation and all optimizer steps; on a GPU (`--device cuda`) each
timed update ends with a device synchronisation, so the figure is the update's real duration
(the ms targets are the CPU's and are not checked there).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from cog_core.rl.config import TrainConfig
from cog_core.rl.data import TrainData, synthetic_transitions
from cog_core.rl.device import DEVICE_HELP, DeviceError, resolve_device
from cog_core.rl.features import FeatureCache
from cog_core.rl.malloc import keep_freed_memory
from cog_core.rl.networks import FastTrunk
from cog_core.rl.trainer import Trainer

SETUPS = {
    "paper": dict(obs="image", arch="paper"),
    "fast": dict(obs="image", arch="fast"),
    "state": dict(obs="state", arch="fast"),
    # d3rlpy's default vector networks are 256x256: the like-for-like peer comparison
    "state256": dict(obs="state", arch="fast"),
    # what the `cpu` table preset trains from images: camera image + arm state, the frozen encoder
    "image-default": dict(obs="image+state", arch="frozen"),
}
NET_OVERRIDES = {"state256": {"state_hidden": (256, 256)}}
TARGET_MS = {"paper": 500.0, "fast": 100.0, "state": 10.0, "state256": 10.0, "image-default": 20.0}
# Transitions in the `cpu` table preset's drawer datasets (500 prior + 200 task episodes, data seed 0).
CPU_DRAWER_TRANSITIONS = 15_249 + 6_000


def make_trainer(which: str, batch: int, image_size: int, objective: str | None = None,
                 frozen_hidden: tuple[int, ...] | None = None, device: str = "cpu") -> Trainer:
    """A COG trainer (past the BC warm start) on synthetic prior + task data, on `device`; `objective`
    and `frozen_hidden` replace the frozen encoder's default training objective and head widths."""
    cfg = TrainConfig(algo="cog", batch_size=batch, device=device, **SETUPS[which])
    cfg.sac.bc_warmstart_steps = 0
    if objective is not None:
        cfg.encoder.objective = objective
    if frozen_hidden is not None:
        cfg.net.frozen_hidden = frozen_hidden
    for key, value in NET_OVERRIDES.get(which, {}).items():
        setattr(cfg.net, key, value)
    task = synthetic_transitions(20, 50, image_size=image_size, seed=1)
    prior = synthetic_transitions(40, 50, image_size=image_size, is_task=False, seed=2)
    return Trainer(cfg, TrainData(cfg, task, prior))


def time_updates(trainer: Trainer, updates: int, warmup: int, cpu_times: list[float] | None = None) -> list[float]:
    """Wall seconds per update for `updates` timed updates after `warmup`; CPU seconds (all
    threads) are appended to `cpu_times` when given (less disturbed by other jobs)."""
    sync = torch.cuda.synchronize if trainer.device.type == "cuda" else (lambda: None)
    for _ in range(warmup):
        trainer.train_step()
    sync()
    times = []
    for _ in range(updates):
        t, c = time.perf_counter(), time.process_time()
        trainer.train_step()
        sync()
        times.append(time.perf_counter() - t)
        if cpu_times is not None:
            cpu_times.append(time.process_time() - c)
    return times


CATEGORIES = [
    ("conv bwd", ("convolution_backward",)),
    ("conv fwd", ("mkldnn_convolution", "aten::convolution", "aten::_convolution", "aten::conv2d")),
    ("matmul", ("aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm", "aten::matmul", "aten::linear")),
    ("pool", ("max_pool", "pool2d")),
    ("optimizer", ("adam", "Optimizer", "lerp")),
]


def profile(trainer: Trainer, updates: int) -> None:
    """Print where one update's time goes (self CPU time by category and the top ops)."""
    from torch.profiler import ProfilerActivity, profile as tprofile

    with tprofile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(updates):
            trainer.train_step()
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    cats = {name: 0.0 for name, _ in CATEGORIES}
    cats["other (elementwise, data, python)"] = 0.0
    for e in events:
        for name, keys in CATEGORIES:
            if any(k.lower() in e.key.lower() for k in keys):
                cats[name] += e.self_cpu_time_total
                break
        else:
            cats["other (elementwise, data, python)"] += e.self_cpu_time_total
    print("    profile (self CPU time, share):", ", ".join(f"{k} {100 * v / total:.0f}%" for k, v in cats.items()))
    top = sorted(events, key=lambda e: -e.self_cpu_time_total)[:6]
    print("    top ops:", ", ".join(f"{e.key} {100 * e.self_cpu_time_total / total:.0f}%" for e in top))


def encoder_costs(trainer: Trainer, e2e_sample: int = 20) -> dict[str, float]:
    """The frozen encoder's one-time costs, timed: its pretraining, or (objective e2e) its end-to-end
    phase estimated from `e2e_sample` end-to-end updates; then freezing and caching."""
    enc = trainer.cfg.encoder
    stats: dict[str, float] = {}
    if enc.objective == "e2e" and enc.e2e_steps > 0:
        for _ in range(3):  # warm-up
            trainer.train_step()
        t0 = time.perf_counter()
        for _ in range(e2e_sample):
            trainer.train_step()
        per_update = (time.perf_counter() - t0) / e2e_sample
        stats.update(e2e_ms_per_update=1e3 * per_update, pretrain_seconds=per_update * enc.e2e_steps)
        trainer.step = enc.e2e_steps  # the end-to-end phase is over: freeze and cache now
    t0 = time.perf_counter()
    stats.update(trainer.prepare_encoder())
    stats["total_seconds"] = time.perf_counter() - t0 + (stats["pretrain_seconds"] if "e2e_ms_per_update" in stats else 0.0)
    stats["images"] = float(2 * sum(len(t) for t in trainer.data.parts))
    return stats


def interleaved_ratio(a: Trainer, b: Trainer, rounds: int, per_round: int) -> tuple[float, float]:
    """Median ms/update of `a` and `b` timed in alternating blocks, so that both see the same machine load."""
    ta: list[float] = []
    tb: list[float] = []
    for _ in range(rounds):
        ta += time_updates(a, per_round, 0)
        tb += time_updates(b, per_round, 0)
    return statistics.median(ta) * 1e3, statistics.median(tb) * 1e3


def cache_memory(scale: float, image_size: int) -> None:
    """Build a feature cache for `scale` times the cpu preset's drawer data (synthetic images) and
    print its size, the time it took and the process's peak RSS."""
    cfg = TrainConfig(**SETUPS["image-default"])
    n_episodes = max(1, int(round(scale * CPU_DRAWER_TRANSITIONS / 30)))
    t0 = time.perf_counter()
    data = synthetic_transitions(n_episodes, 30, obs_keys=("image", "state"), image_size=image_size, seed=3)
    made = time.perf_counter() - t0
    trunk = FastTrunk(image_size, cfg.net.fast_channels, cfg.net.fast_feature_dim)
    t0 = time.perf_counter()
    cache = FeatureCache.build(trunk, [data], cfg.encoder.crops, cfg.data.crop_pad, seed=0, batch=cfg.encoder.encode_batch)
    took = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"          cache at {scale:g}x the cpu preset's drawer data ({len(data)} transitions, {2 * len(data)} images; "
          f"synthetic, made in {made:.0f} s): {cache.nbytes / 2**20:.0f} MiB of features ({cfg.encoder.crops} crops x "
          f"{cache.feature_dim} float32), built in {took:.0f} s; images {2 * data.obs['image'].nbytes / 2**20:.0f} MiB; "
          f"peak RSS {rss:.2f} GiB")


def runtime_latency(which: str, image_size: int) -> float:
    """ms per deterministic action with one thread, through an export + PolicyRuntime."""
    from cog_core.rl.export import export_policy
    from cog_core.rl.runtime import PolicyRuntime

    cfg = TrainConfig(algo="bc", batch_size=8, steps=1, log_interval=1, eval_interval=0, **SETUPS[which])
    cfg.encoder.steps = 2  # the frozen encoder's pretraining does not change the runtime's cost
    for key, value in NET_OVERRIDES.get(which, {}).items():
        setattr(cfg.net, key, value)
    task = synthetic_transitions(2, 10, image_size=image_size, seed=1)
    with tempfile.TemporaryDirectory() as tmp:
        t = Trainer(cfg, TrainData(cfg, task, task), Path(tmp) / "run")
        t.train(progress=False)
        rt = PolicyRuntime.load(export_policy(Path(tmp) / "run" / "checkpoint.pt", Path(tmp) / "pol"))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    obs = {"image": task.obs["image"][0], "state": task.obs["state"][0], "lowdim": task.obs["lowdim"][0]}
    for _ in range(5):
        rt.act(obs)
    times = []
    for _ in range(100):
        t0 = time.perf_counter()
        rt.act(obs)
        times.append(time.perf_counter() - t0)
    torch.set_num_threads(threads)
    return statistics.median(times) * 1e3


D3RLPY_SCRIPT = r"""
import json, sys, time
import numpy as np, torch, d3rlpy
which, batch, image_size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(0)
n = 3000
if which.startswith("state"):
    obs = rng.normal(size=(n, 12)).astype(np.float32)
else:  # d3rlpy wants channel-first uint8 images
    obs = rng.integers(0, 256, (n, 3, image_size, image_size), dtype=np.uint8)
acts = rng.uniform(-0.9, 0.9, (n, 8)).astype(np.float32)
rews = (rng.random(n) < 0.1).astype(np.float32)
terms = np.zeros(n); timeouts = np.zeros(n); timeouts[49::50] = 1
ds = d3rlpy.dataset.MDPDataset(obs, acts, rews, terms, timeouts=timeouts)
kw = dict(batch_size=batch, n_action_samples=1, alpha_learning_rate=0.0, conservative_weight=1.0,
          actor_learning_rate=1e-4, critic_learning_rate=3e-4, initial_alpha=1.0)
if not which.startswith("state"):
    kw["observation_scaler"] = d3rlpy.preprocessing.PixelObservationScaler()
algo = d3rlpy.algos.CQLConfig(**kw).create(device="cpu:0")
algo.build_with_dataset(ds)
buf = d3rlpy.dataset.ReplayBuffer(d3rlpy.dataset.InfiniteBuffer(), episodes=ds.episodes)
print(json.dumps({"ready": d3rlpy.__version__}), flush=True)
for line in sys.stdin:  # each line: how many updates to time; answer: their durations
    times = []
    for _ in range(int(line)):
        t = time.perf_counter()
        algo.update(buf.sample_transition_batch(batch))
        times.append(time.perf_counter() - t)
    print(json.dumps(times), flush=True)
"""


class D3rlpyPeer:
    """d3rlpy's CQL in a separate interpreter (its own environment), timed on request so that its
    updates interleave with ours and both see the same machine load."""

    def __init__(self, python: str, which: str, batch: int, image_size: int) -> None:
        self.proc = subprocess.Popen([python, "-c", D3RLPY_SCRIPT, which, str(batch), str(image_size)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.version = json.loads(self._reply('{"ready"'))["ready"]

    def time(self, updates: int) -> list[float]:
        """Durations of `updates` d3rlpy updates."""
        self.proc.stdin.write(f"{updates}\n")
        self.proc.stdin.flush()
        return json.loads(self._reply("["))

    def _reply(self, prefix: str) -> str:
        for line in self.proc.stdout:  # skip whatever the imports print (gym prints a notice)
            if line.startswith(prefix):
                return line
        raise RuntimeError("d3rlpy peer exited (is d3rlpy installed in that interpreter?)")

    def close(self) -> None:
        """Stop the peer process."""
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def main() -> int:
    """Run the benchmark and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--which", default="paper,fast,state,state256,image-default",
                    help="comma list of paper, fast, state, state256, image-default")
    ap.add_argument("--updates", type=int, default=0, help="timed updates (default: 8 paper, 30 fast, 200 state and image-default)")
    ap.add_argument("--encoder-objective", help="image-default: the frozen encoder's training objective "
                    "(default: TrainConfig's, the one the cpu table preset uses)")
    ap.add_argument("--frozen-hidden", help="image-default: the heads' MLP widths, e.g. 256,256 (default: TrainConfig's)")
    ap.add_argument("--cache-scale", type=float, default=0.0,
                    help="with image-default: also build a feature cache for this many times the cpu preset's drawer "
                         "data and print its size and the peak RSS (10 checks the memory target)")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--image-size", type=int, default=48)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's choice)")
    ap.add_argument("--device", default="cpu", help=f"where the trainers run: {DEVICE_HELP} (default cpu; the policy "
                    "runtime's latency is always measured on the CPU, where it runs)")
    ap.add_argument("--profile", action="store_true", help="profile a few updates of each")
    ap.add_argument("--d3rlpy-python", help="python of an environment with d3rlpy (kept out of the project venv)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        device = resolve_device(args.device)
    except DeviceError as err:
        ap.error(str(err))
    where = f"device {device}" + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else "")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {where}, batch {args.batch}, "
          f"{args.image_size}x{args.image_size} images")
    tuned = keep_freed_memory()
    print("allocator: " + ("glibc keeps freed memory (cog_core.rl.malloc; COG_DEFAULT_MALLOC=1 for the defaults)" if tuned
                           else "default (COG_DEFAULT_MALLOC=1, or not glibc)"))
    default_updates = {"paper": 8, "fast": 30, "state": 200, "state256": 200, "image-default": 200}
    medians: dict[str, float] = {}
    trainers: dict[str, Trainer] = {}
    for which in [w for w in args.which.split(",") if w]:
        if which not in SETUPS:
            ap.error(f"unknown setup {which!r}; valid: {', '.join(SETUPS)}")
        try:
            hidden = tuple(int(w) for w in args.frozen_hidden.split(",")) if args.frozen_hidden else None
        except ValueError:
            ap.error(f"--frozen-hidden takes comma-separated widths such as 256,128, got {args.frozen_hidden!r}")
        trainer = make_trainer(which, args.batch, args.image_size, args.encoder_objective, hidden, args.device)
        n = args.updates or default_updates[which]
        if which == "image-default":
            enc = trainer.cfg.encoder
            c = encoder_costs(trainer)
            per_image = 1e3 * c["cache_seconds"] / c["images"]
            what = (f"end-to-end phase ({enc.e2e_steps} updates at {c['e2e_ms_per_update']:.0f} ms, estimated)"
                    if "e2e_ms_per_update" in c else f"encoder pretraining ({enc.objective}, {enc.steps} steps)")
            print(f"          one-time: {c['total_seconds']:.1f} s = {what} "
                  f"{c.get('pretrain_seconds', 0.0):.1f} s + feature cache {c['cache_seconds']:.1f} s for {c['images']:.0f} images "
                  f"({enc.crops} crops; {per_image:.3f} ms/image, ~{per_image * 2 * CPU_DRAWER_TRANSITIONS / 1e3:.0f} s for the "
                  f"cpu preset's drawer data), {c['cache_bytes'] / 2**20:.1f} MiB")
        peer = None
        if args.d3rlpy_python:
            try:
                peer = D3rlpyPeer(args.d3rlpy_python, which, args.batch, args.image_size)
                peer.time(args.warmup)
            except (OSError, RuntimeError, ValueError) as err:
                print(f"        d3rlpy: not run ({err})")
                peer = None
        times = time_updates(trainer, 0, args.warmup)
        cpu: list[float] = []
        peer_times: list[float] = []
        rounds = 4 if peer is not None else 1
        for r in range(rounds):  # interleave blocks of ours and theirs
            k = n // rounds + (1 if r < n % rounds else 0)
            times += time_updates(trainer, k, 0, cpu)
            if peer is not None:
                peer_times += peer.time(k)
        med, low = statistics.median(times) * 1e3, min(times) * 1e3
        medians[which] = med
        target = TARGET_MS[which]
        if which == "image-default" and "state" in medians:
            target = 2.0 * medians["state"]  # the target: at most twice this run's state update
        ok = "meets" if med <= target else ("min meets" if low <= target else "MISSES")
        verdict = f"target <= {target:.0f} ms: {ok}" if device.type == "cpu" else "CPU targets not checked"
        print(f"{which:>8}: {med:8.1f} ms/update median, {low:8.1f} min over {n} "
              f"({verdict}); CPU time {statistics.median(cpu) * 1e3:.1f} ms median")
        if which == "image-default" and "state" in medians:
            print(f"          image-default / state = {med / medians['state']:.2f} (median; target <= 2)")
        if peer is not None:
            pmed, plow = statistics.median(peer_times) * 1e3, min(peer_times) * 1e3
            print(f"          d3rlpy {peer.version} CQL, same batch, 1 sampled action, its default networks, interleaved: "
                  f"{pmed:.1f} ms/update median, {plow:.1f} min -> ours/d3rlpy = {med / pmed:.2f} (median), {low / plow:.2f} (min)")
            peer.close()
        if args.profile:
            profile(trainer, max(2, min(n, 5 if which == "paper" else 20)))
        print(f"          runtime: {runtime_latency(which, args.image_size):.2f} ms/action (1 thread, deterministic)")
        if which in ("state", "image-default"):
            trainers[which] = trainer
        if which == "image-default" and args.cache_scale > 0:
            cache_memory(args.cache_scale, args.image_size)
    if len(trainers) == 2:
        state_ms, image_ms = interleaved_ratio(trainers["state"], trainers["image-default"], rounds=10, per_round=20)
        print(f"interleaved (10 rounds of 20 updates each, alternating): state {state_ms:.1f}, image-default {image_ms:.1f} "
              f"ms/update median -> image-default / state = {image_ms / state_ms:.2f} (target <= 2)")
    print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
