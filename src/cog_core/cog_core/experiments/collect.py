"""Scripted data collection in the simulator, logged step by step to rosbag2.

Work is split over worker processes; each worker owns one bag directory
(`<out>/worker_NN`), so a crash or kill loses at most the episode each worker had in
progress (the recorder makes every finished episode durable). Progress flows back to the
parent through a queue; the parent prints a progress bar and a summary table and writes
`<out>/collection_summary.json`.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import queue
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cog_core.files import atomic_write_text
from cog_core.scripted.policies import DEFAULT_PROFILE, profile_config
from cog_core.scripted.presets import get_preset


@dataclass
class CollectConfig:
    """Everything a collection run needs."""

    preset: str = "drawer-prior"
    out: str = "data/bags/drawer_prior"
    scale: float = 0.01  # fraction of the paper-scale episode count
    episodes: int | None = None  # overrides preset x scale when set
    workers: int = 1
    seed: int = 0
    prior_profile: str = DEFAULT_PROFILE  # the behaviours' settings (`cog_core.scripted.policies.PRIOR_PROFILES`)
    noise_std: float | None = None  # scripted action noise; None = the profile's (paper 0.2, original code 0.1)
    image_size: int = 48
    storage: str = "mcap"  # or "sqlite3"
    max_steps: int = 60  # cap on one scripted episode
    split_size_mb: int = 512  # bag file rotation size


@dataclass
class EpisodeResult:
    """What the parent hears about each finished episode."""

    worker: int
    behaviour: str
    condition: str
    steps: int
    behaviour_success: bool
    task_success: bool


@dataclass
class CollectionSummary:
    """Totals of a collection run."""

    preset: str
    prior_profile: str = DEFAULT_PROFILE
    episodes: int = 0
    transitions: int = 0
    seconds: float = 0.0
    per_behaviour: dict[str, dict[str, float]] = field(default_factory=dict)
    bag_dirs: list[str] = field(default_factory=list)


def _split(n: int, workers: int) -> list[int]:
    base, extra = divmod(n, workers)
    return [base + (1 if w < extra else 0) for w in range(workers)]


def _worker(cfg: CollectConfig, worker: int, n_episodes: int, results: Any) -> None:
    """Collect `n_episodes` into `<out>/worker_NN`, reporting each episode on `results`."""
    os.environ.setdefault("MUJOCO_GL", "egl")
    from cog_core.bag import BagRecorder
    from cog_core.stations.scripted_runner import RunnerConfig, ScriptedRunner
    from cog_core.stations.sim import SimStation

    preset = get_preset(cfg.preset)
    station = SimStation(preset.mix[0].condition, image_size=cfg.image_size)
    out = Path(cfg.out) / f"worker_{worker:02d}"
    run_cfg = RunnerConfig(preset=cfg.preset, episodes=n_episodes, seed=cfg.seed, prior_profile=cfg.prior_profile,
                           noise_std=cfg.noise_std, max_steps=cfg.max_steps, stream=worker)
    try:
        with BagRecorder(out, storage=cfg.storage, worker=worker, split_size_bytes=cfg.split_size_mb * 2**20,
                         custom_data={"cog.preset": preset.name, "cog.role": preset.role,
                                      "cog.prior_profile": cfg.prior_profile}) as recorder:
            runner = ScriptedRunner(station, recorder, run_cfg)
            while runner.remaining:
                runner.begin()
                done = False
                while not done:
                    _, done = runner.step()
                ep = runner.finish()
                results.put(EpisodeResult(worker, ep.behaviour, ep.condition, ep.steps, ep.behaviour_success, ep.success))
    finally:
        station.close()


def collect(cfg: CollectConfig, progress: bool = True) -> CollectionSummary:
    """Run a collection; returns the summary (also written to `<out>/collection_summary.json`)."""
    preset = get_preset(cfg.preset)
    profile_config(cfg.prior_profile, cfg.noise_std)  # KeyError naming the valid profiles
    if cfg.noise_std is not None and cfg.noise_std < 0:
        raise ValueError(f"noise must be >= 0, got {cfg.noise_std}")
    if cfg.workers < 1:
        raise ValueError(f"workers must be >= 1, got {cfg.workers}")
    if cfg.image_size not in (48, 64):
        raise ValueError(f"image_size must be 48 or 64, got {cfg.image_size}")
    out = Path(cfg.out)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"output directory {out} is not empty; choose a new --out (bags are never overwritten)")
    total = cfg.episodes if cfg.episodes is not None else preset.episodes(cfg.scale)
    counts = [c for c in _split(total, cfg.workers) if c > 0]
    ctx = mp.get_context("spawn")
    results = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(cfg, w, n, results), daemon=True) for w, n in enumerate(counts)]
    for p in procs:
        p.start()
    stats: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # episodes, behaviour ok, task ok, steps
    summary = CollectionSummary(preset=preset.name, prior_profile=cfg.prior_profile)
    t0 = time.perf_counter()
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=total, unit="ep", desc=f"collect {preset.name}", dynamic_ncols=True, mininterval=0.5)
    ok_total = 0
    try:
        while summary.episodes < total:
            try:
                r: EpisodeResult = results.get(timeout=1.0)
            except queue.Empty:
                dead = [p for p in procs if not p.is_alive() and p.exitcode not in (0, None)]
                if dead:
                    raise RuntimeError(
                        f"collector worker(s) {[procs.index(p) for p in dead]} died (exit code "
                        f"{[p.exitcode for p in dead]}); finished episodes are safe in {out}"
                    ) from None
                if all(not p.is_alive() for p in procs) and results.empty():
                    break
                continue
            s = stats[(r.behaviour, r.condition)]
            s[0] += 1
            s[1] += int(r.behaviour_success)
            s[2] += int(r.task_success)
            s[3] += r.steps
            summary.episodes += 1
            summary.transitions += r.steps
            ok_total += int(r.behaviour_success)
            if bar is not None:
                elapsed = time.perf_counter() - t0
                bar.set_postfix(trans_s=f"{summary.transitions / max(elapsed, 1e-9):.0f}", success=f"{ok_total / summary.episodes:.2f}")
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
        for p in procs:
            p.join(timeout=30)
    summary.seconds = time.perf_counter() - t0
    summary.bag_dirs = [str(out / f"worker_{w:02d}") for w in range(len(counts))]
    for (beh, cond), (n, ok, task_ok, steps) in sorted(stats.items()):
        summary.per_behaviour[f"{beh} @ {cond}"] = {
            "episodes": n,
            "behaviour_success_rate": ok / n,
            "task_success_rate": task_ok / n,
            "mean_length": steps / n,
        }
    record = {"config": asdict(cfg), **asdict(summary)}
    atomic_write_text(out / "collection_summary.json", json.dumps(record, indent=2))
    return summary


def print_summary(summary: CollectionSummary) -> None:
    """A rich table of per-behaviour success rates."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"collection summary: {summary.preset} (prior profile {summary.prior_profile})")
    table.add_column("behaviour @ condition", no_wrap=True)
    for col in ("episodes", "behaviour success", "task success", "mean length"):
        table.add_column(col, justify="right")
    for key, row in summary.per_behaviour.items():
        table.add_row(key, str(row["episodes"]), f"{row['behaviour_success_rate']:.2f}", f"{row['task_success_rate']:.2f}", f"{row['mean_length']:.1f}")
    console = Console(width=max(Console().width, 110))
    console.print(table)
    rate = summary.transitions / max(summary.seconds, 1e-9)
    console.print(f"{summary.episodes} episodes, {summary.transitions} transitions in {summary.seconds:.1f} s ({rate:.0f} transitions/s); bags: {', '.join(summary.bag_dirs)}")
