"""Scripted data collection in the simulator, logged step by step to rosbag2.

Work is split over worker processes; each worker owns one bag directory
(`<out>/worker_NN`), so a crash or kill loses at most the episode each worker had in
progress (the recorder makes every finished episode durable). Progress flows back to the
parent through a queue; the parent prints a progress bar and a summary table and writes
`<out>/collection_summary.json`.

Stopping. The workers share the parent's process group (a terminal's Ctrl-C, or
``kill -- -PGID``, reaches them all) and ignore SIGINT themselves: the parent decides.
- SIGINT (Ctrl-C) to the parent: every worker finishes the episode it is in, then stops; the
  parent reports how many episodes finished (`CollectionSummary.interrupted`). A second
  SIGINT stops at once.
- SIGTERM or SIGHUP to the parent, or a second SIGINT: the workers abort their episode in
  progress at the next step, close their bags and exit; the parent waits for them.
- The parent killed outright (SIGKILL, a crash): each worker watches its parent (Linux
  PR_SET_PDEATHSIG, plus a poll of getppid() elsewhere) and stops as on SIGTERM.
- A full disk in any worker stops them all; `collect` raises `DiskFull` naming the worker's
  bag and the space the rest of the collection needs.
"""

from __future__ import annotations

import ctypes
import json
import math
import multiprocessing as mp
import os
import queue
import shutil
import signal
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from cog_core.experiments.executors import LOCAL, ExecutorSpec, Task, run_tasks
from cog_core.files import DiskFull, atomic_write_text
from cog_core.scripted.policies import DEFAULT_PROFILE, PRIOR_PROFILES
from cog_core.scripted.presets import get_preset

# Seconds between a worker's checks that its parent still runs (where prctl is unavailable),
# and how long a worker told to stop may take to close its bag before it exits regardless.
PARENT_POLL_S = 0.5
STOP_GRACE_S = 30.0
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


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

    def validate(self) -> None:
        """Raise ValueError naming the first setting that cannot work (and the fix)."""
        get_preset(self.preset)
        if self.episodes is not None and self.episodes < 1:
            raise ValueError(f"--episodes must be >= 1, got {self.episodes}")
        if self.episodes is None and not (math.isfinite(self.scale) and self.scale > 0):
            raise ValueError(f"--scale must be a positive number, got {self.scale}")
        if self.workers < 1:
            raise ValueError(f"--workers must be >= 1, got {self.workers}")
        if self.seed < 0:
            raise ValueError(f"--seed must be >= 0, got {self.seed}")
        if self.prior_profile not in PRIOR_PROFILES:
            raise ValueError(f"--prior-profile must be one of {', '.join(PRIOR_PROFILES)}, got {self.prior_profile!r}")
        if self.noise_std is not None and not (math.isfinite(self.noise_std) and self.noise_std >= 0):
            raise ValueError(f"--noise must be a finite number >= 0 (0 = no noise), got {self.noise_std}")
        if self.max_steps < 1:
            raise ValueError(f"--max-steps must be >= 1, got {self.max_steps}")
        if self.image_size not in (48, 64):
            raise ValueError(f"--image-size must be 48 or 64, got {self.image_size}")
        if self.storage not in ("mcap", "sqlite3"):
            raise ValueError(f"--storage must be mcap or sqlite3, got {self.storage!r}")
        if self.split_size_mb < 1:
            raise ValueError(f"split_size_mb must be >= 1, got {self.split_size_mb}")


@dataclass
class EpisodeResult:
    """What the parent hears about each finished episode."""

    worker: int
    behaviour: str
    condition: str
    steps: int
    behaviour_success: bool
    task_success: bool
    bytes: int = 0  # bag bytes of the episode


@dataclass
class WorkerFailure:
    """What the parent hears when a worker cannot go on (a full disk)."""

    worker: int
    path: str
    needed: int | None


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
    requested: int = 0  # episodes asked for
    interrupted: str | None = None  # "SIGINT", "SIGTERM"...: why the collection stopped early


def _split(n: int, workers: int) -> list[int]:
    base, extra = divmod(n, workers)
    return [base + (1 if w < extra else 0) for w in range(workers)]


class _StopRequest:
    """Set (from a signal handler or a watcher thread) when a worker must stop now."""

    def __init__(self) -> None:
        self.reason: str | None = None

    def set(self, reason: str) -> None:
        self.reason = self.reason or reason


def sigterm_on_parent_death() -> Callable[[], None] | None:
    """A call (Linux) after which the calling process gets SIGTERM when its parent dies, e.g. a
    subprocess `preexec_fn`; None where the kernel offers none. libc is looked up here, so that a
    forked child only makes the call."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return lambda: prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def _die_with_parent(parent_pid: int, stop: _StopRequest) -> None:
    """Make this worker stop when its parent goes, however it goes: SIGTERM handled as a stop
    request, the kernel sending SIGTERM when the parent dies (Linux), and a thread polling
    getppid() (everywhere) that also enforces `STOP_GRACE_S` once a stop was asked for."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's Ctrl-C reaches us too: the parent decides
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: stop.set(signal.Signals(signum).name))  # noqa: ARG005
    arm = sigterm_on_parent_death()
    if arm is not None:  # elsewhere the poll below still works
        arm()
    if os.getppid() != parent_pid:  # the parent died before the watch was set up
        stop.set("parent gone")

    def watch() -> None:
        since: float | None = None
        while True:
            time.sleep(PARENT_POLL_S)
            if os.getppid() != parent_pid:
                stop.set("parent gone")
            if stop.reason is not None:
                since = since or time.monotonic()
                if time.monotonic() - since > STOP_GRACE_S:
                    os._exit(1)  # could not close the bag in time: what was committed is safe

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _record_episodes(cfg: CollectConfig, worker: int, n_episodes: int, on_episode: Callable[[EpisodeResult], None],
                     finish: Callable[[], bool] = lambda: False, stop: Callable[[], str | None] = lambda: None) -> None:
    """Collect worker `worker`'s `n_episodes` into `<out>/worker_NN` (the episodes of seed stream
    `worker`: the same whichever executor runs it), calling `on_episode` after each is durable; stop
    after the current episode once `finish()` is true, or at the next step once `stop()` gives a
    reason (the episode in progress is aborted). DiskFull when the disk fills."""
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
            while runner.remaining and not finish() and stop() is None:
                before = recorder.bytes_written
                runner.begin()
                done = False
                while not done and stop() is None:
                    _, done = runner.step()
                if not done:
                    runner.abort(f"collector stopped ({stop()})")
                    break
                ep = runner.finish()
                on_episode(EpisodeResult(worker, ep.behaviour, ep.condition, ep.steps, ep.behaviour_success, ep.success,
                                         recorder.bytes_written - before))
    finally:
        station.close()


def _worker(cfg: CollectConfig, worker: int, n_episodes: int, results: Any, finish: Any, parent_pid: int) -> None:
    """A local worker process: `_record_episodes`, reporting each episode on `results`; stop after
    the current episode once `finish` is set, or at the next step on SIGTERM / parent death."""
    stop = _StopRequest()
    _die_with_parent(parent_pid, stop)
    try:
        _record_episodes(cfg, worker, n_episodes, results.put, finish.is_set, lambda: stop.reason)
    except DiskFull as err:
        results.put(WorkerFailure(worker, str(err.path), err.needed))
        sys.exit(3)
    finally:
        if stop.reason == "parent gone":
            results.cancel_join_thread()  # nobody reads the queue any more: do not wait to flush it


def _collect_task(payload: tuple[CollectConfig, int, int], report: Callable[[int], None]) -> list[EpisodeResult]:
    """One collection worker as an executor task (`executors.run_tasks`): its episode range into its
    own bag directory, started again from scratch when an earlier attempt of it left one."""
    cfg, worker, n_episodes = payload
    out = Path(cfg.out) / f"worker_{worker:02d}"
    if out.exists():  # an attempt that was killed (Ray retries it): its bags would hold the range twice
        shutil.rmtree(out)
    episodes: list[EpisodeResult] = []

    def on_episode(result: EpisodeResult) -> None:
        episodes.append(result)
        report(len(episodes))

    _record_episodes(cfg, worker, n_episodes, on_episode)
    return episodes


@contextmanager
def _parent_signals(on_signal: Any) -> Iterator[None]:
    """Route SIGINT, SIGTERM and SIGHUP to `on_signal(name)` while collecting (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    sigs = [signal.SIGINT, signal.SIGTERM] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])
    old = {s: signal.signal(s, lambda signum, frame: on_signal(signal.Signals(signum).name)) for s in sigs}  # noqa: ARG005
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


def collect(cfg: CollectConfig, progress: bool = True, executor: ExecutorSpec = LOCAL) -> CollectionSummary:
    """Run a collection; returns the summary (also written to `<out>/collection_summary.json`).
    See the module docstring for what signals to the parent do; a full disk raises `DiskFull`.
    With a Ray `executor` each worker is a Ray task (`_collect_task`) that writes the same bags;
    Ray retries a worker whose process died, from the start of its range; `TaskFailed` when one
    still fails (the other workers' bags are complete)."""
    cfg.validate()
    executor.validate()
    preset = get_preset(cfg.preset)
    out = Path(cfg.out)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"output directory {out} is not empty; choose a new --out (bags are never overwritten)")
    total = cfg.episodes if cfg.episodes is not None else max(1, preset.episodes(cfg.scale))
    counts = [c for c in _split(total, cfg.workers) if c > 0]
    stats: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # episodes, behaviour ok, task ok, steps
    summary = CollectionSummary(preset=preset.name, requested=total, prior_profile=cfg.prior_profile)
    episode_bytes = 0

    def tally(r: EpisodeResult) -> None:
        nonlocal episode_bytes
        s = stats[(r.behaviour, r.condition)]
        s[0] += 1
        s[1] += int(r.behaviour_success)
        s[2] += int(r.task_success)
        s[3] += r.steps
        summary.episodes += 1
        summary.transitions += r.steps
        episode_bytes += r.bytes

    t0 = time.perf_counter()
    signals: list[str] = []
    failure: WorkerFailure | None = None
    if executor.is_ray:
        on_nodes = replace(cfg, out=str(out.resolve()))  # the tasks' working directories are not ours
        tasks = [Task(f"collection worker {w}", _collect_task, (on_nodes, w, n), units=n,
                      outputs=lambda _, w=w: [out / f"worker_{w:02d}"])  # type: ignore[misc]
                 for w, n in enumerate(counts)]
        for episodes in run_tasks(executor, tasks, f"collect {preset.name}", "ep", progress):
            for r in episodes:
                tally(r)
    else:
        failure = _collect_locally(cfg, counts, tally, signals, progress, lambda: summary)
    summary.seconds = time.perf_counter() - t0
    summary.bag_dirs = [str(out / f"worker_{w:02d}") for w in range(len(counts))]
    if signals and summary.episodes < total:
        summary.interrupted = signals[0]
    for (beh, cond), (n, ok, task_ok, steps) in sorted(stats.items()):
        summary.per_behaviour[f"{beh} @ {cond}"] = {
            "episodes": n,
            "behaviour_success_rate": ok / n,
            "task_success_rate": task_ok / n,
            "mean_length": steps / n,
        }
    if failure is not None:
        per_episode = episode_bytes // max(summary.episodes, 1) or (failure.needed or 0)
        raise DiskFull(failure.path, max(failure.needed or 0, per_episode * (total - summary.episodes)) or None,
                       note=f"the {summary.episodes} episodes finished before are complete in {out}")
    record = {"config": asdict(cfg), **asdict(summary)}
    atomic_write_text(out / "collection_summary.json", json.dumps(record, indent=2))
    return summary


def _collect_locally(cfg: CollectConfig, counts: list[int], tally: Callable[[EpisodeResult], None], signals: list[str],
                     progress: bool, so_far: Callable[[], CollectionSummary]) -> WorkerFailure | None:
    """The local executor: one spawned worker process per entry of `counts`, each episode passed to
    `tally` as it arrives; the signals received are appended to `signals`. Returns the first
    worker's disk failure, if any (RuntimeError when a worker died otherwise)."""
    out = Path(cfg.out)
    ctx = mp.get_context("spawn")
    results = ctx.Queue()
    finish = ctx.Event()  # workers stop after their current episode
    procs = [ctx.Process(target=_worker, args=(cfg, w, n, results, finish, os.getpid()), daemon=True)
             for w, n in enumerate(counts)]
    failure: WorkerFailure | None = None

    def stop_now() -> None:
        finish.set()
        for p in procs:
            if p.is_alive() and p.pid is not None:
                os.kill(p.pid, signal.SIGTERM)

    def on_signal(name: str) -> None:
        signals.append(name)
        finish.set()
        if name != "SIGINT" or signals.count("SIGINT") > 1:
            stop_now()

    t0 = time.perf_counter()
    bar = None
    ok_total = 0
    with _parent_signals(on_signal):
        for p in procs:
            p.start()
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=sum(counts), unit="ep", desc=f"collect {cfg.preset}", dynamic_ncols=True, mininterval=0.5)
        try:
            while True:
                try:
                    r = results.get(timeout=0.5)
                except queue.Empty:
                    if all(not p.is_alive() for p in procs) and results.empty():
                        break
                    dead = [p for p in procs if not p.is_alive() and p.exitcode not in (0, None)]
                    if dead and failure is None and not signals:
                        stop_now()
                        raise RuntimeError(
                            f"collector worker(s) {[procs.index(p) for p in dead]} died (exit code "
                            f"{[p.exitcode for p in dead]}); finished episodes are safe in {out}"
                        ) from None
                    continue
                if isinstance(r, WorkerFailure):
                    failure = failure or r
                    stop_now()
                    continue
                tally(r)
                ok_total += int(r.behaviour_success)
                if bar is not None:
                    summary = so_far()
                    elapsed = time.perf_counter() - t0
                    bar.set_postfix(trans_s=f"{summary.transitions / max(elapsed, 1e-9):.0f}", success=f"{ok_total / summary.episodes:.2f}")
                    bar.update(1)
        finally:
            if bar is not None:
                bar.close()
            for p in procs:
                p.join(timeout=STOP_GRACE_S + 5)
            for p in procs:
                if p.is_alive():
                    p.kill()
                    p.join(timeout=5)
    return failure


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
    if summary.interrupted:
        console.print(f"interrupted ({summary.interrupted}): {summary.episodes} of {summary.requested} episodes finished "
                      "and are complete in the bags; the rest were not collected")
    console.print(f"{summary.episodes} episodes, {summary.transitions} transitions in {summary.seconds:.1f} s ({rate:.0f} transitions/s); bags: {', '.join(summary.bag_dirs)}")
