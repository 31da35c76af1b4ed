"""Stages shared by the one-command experiments (`cogrl demo`, `cogrl table`).

Collect scripted datasets (reusing finished collections), convert them to HDF5, and run
training/evaluation jobs as parallel `cogrl` subprocesses (one torch thread each) with one
combined progress bar, on this machine or as Ray tasks (`executors`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from cog_core.data.convert import ConvertOptions, convert_bags
from cog_core.experiments.collect import CollectConfig, collect, print_summary, sigterm_on_parent_death
from cog_core.experiments.executors import LOCAL, SHARED_PATH_HINT, ExecutorSpec, Task, TaskFailed, run_tasks
from cog_core.rl.run_dir import RunDir
from cog_core.scripted.policies import DEFAULT_PROFILE, LEGACY_PROFILE
from cog_core.scripted.presets import get_preset


class CollectionMismatch(ValueError):
    """A finished collection that would be reused was made at another size, seed or prior profile than the one asked for."""


def _summary(bag_dir: Path) -> dict | None:
    """The summary a finished collection in `bag_dir` wrote, or None if it did not finish."""
    summary_file = bag_dir / "collection_summary.json"
    return json.loads(summary_file.read_text()) if summary_file.is_file() else None


def recorded_transitions(bag_dir: Path) -> int | None:
    """Transitions of a finished collection in `bag_dir` (from its summary), or None if it did not finish."""
    summary = _summary(bag_dir)
    return None if summary is None else int(summary["transitions"])


def recorded_scale(bag_dir: Path) -> float | None:
    """The scale a finished collection in `bag_dir` was made at (None if unfinished, or sized by an
    explicit episode count instead)."""
    config = (_summary(bag_dir) or {}).get("config", {})
    return None if config.get("episodes") is not None or config.get("scale") is None else float(config["scale"])


def collect_datasets(bags: Path, requests: Sequence[tuple[str, float]], seed: int, workers: int,
                     prior_profile: str = DEFAULT_PROFILE, executor: ExecutorSpec = LOCAL) -> dict[str, int]:
    """Collect each (preset, scale) into bags/<preset> with collection seed `seed` and the scripted
    behaviours of `prior_profile`, in `workers` workers run by `executor`; a finished collection is
    reused (CollectionMismatch if it was made at another scale, seed or profile). Returns
    transitions per preset."""
    sizes = {}
    for preset, scale in requests:
        target = bags / preset
        done = recorded_transitions(target)
        if done is not None:
            made_at = recorded_scale(target)
            if made_at is not None and abs(made_at - scale) > 1e-12:
                raise CollectionMismatch(
                    f"{target} was collected at scale {made_at:g} but this run asks for {scale:g}; "
                    f"use another output directory, or delete {target} to collect it again")
            config = (_summary(target) or {}).get("config", {})
            # summaries from before profiles existed were collected with today's "state-table" behaviours
            made = {"seed": config.get("seed"), "prior profile": config.get("prior_profile", LEGACY_PROFILE)}
            for what, value in made.items():
                asked = seed if what == "seed" else prior_profile
                if value != asked:
                    raise CollectionMismatch(
                        f"{target} was collected with {what} {value} but this run asks for {asked}; "
                        f"use another output directory, or delete {target} to collect it again")
            print(f"  reusing {target}")
            sizes[preset] = done
            continue
        if target.exists():  # an interrupted collection: start it again
            shutil.rmtree(target)
        summary = collect(CollectConfig(preset=preset, out=str(target), scale=scale, workers=workers, seed=seed,
                                        prior_profile=prior_profile), executor=executor)
        print_summary(summary)
        sizes[preset] = summary.transitions
    return sizes


def dataset_path(data_dir: Path, preset: str) -> Path:
    """Where the HDF5 of a preset goes: data_dir/<preset with underscores>.h5."""
    return data_dir / f"{preset.replace('-', '_')}.h5"


def convert_datasets(bags: Path, data_dir: Path, presets: Sequence[str]) -> dict[str, Path]:
    """Convert bags/<preset> to HDF5 with the preset's role (prior rewards are dropped). Returns paths per preset."""
    out = {}
    for preset in presets:
        h5 = dataset_path(data_dir, preset)
        result = convert_bags([bags / preset], h5, ConvertOptions(role=get_preset(preset).role, compression="lzf"))
        print(f"  {h5}: {result.episodes} episodes, {result.transitions} transitions")
        out[preset] = h5
    return out


def cogrl_command(*args: str) -> list[str]:
    """A `cogrl` command line that runs with this interpreter."""
    return [sys.executable, "-m", "cog_core", *args]


def train_command(
    algo: str,
    task: Path,
    prior: Path | None,
    obs: str,
    steps: int,
    seed: int,
    out: Path,
    overrides: Sequence[str] = (),
    eval_conditions: Sequence[str] = (),
    eval_episodes: int = 10,
    resume: bool = False,
    device: str | None = None,
) -> list[str]:
    """`cogrl train` for one run on one thread (on `device` when given); in-training evaluation only
    if conditions are given."""
    cmd = cogrl_command("train", "--algo", algo, "--task", str(task), "--obs", obs, "--steps", str(steps),
                        "--seed", str(seed), "--threads", "1", "--quiet", "--out", str(out))
    if device is not None:
        cmd += ["--device", device]
    if prior is not None:
        cmd += ["--prior", str(prior)]
    cmd += ["--resume"] if resume else ["--force"]
    if eval_conditions:
        cmd += ["--eval-conditions", ",".join(eval_conditions), "--eval-episodes", str(eval_episodes)]
    else:
        cmd += ["--set", "eval_interval=0"]
    for o in overrides:
        cmd += ["--set", o]
    return cmd


@dataclass
class Job:
    """Commands run one after the other in one process slot, logging to `log`; `run_dir` shows training progress."""

    name: str
    commands: list[list[str]]
    log: Path
    run_dir: Path
    steps: int
    returncode: int | None = None
    seconds: float = 0.0
    error: str | None = None  # why the job could not run to an exit status (a Ray task that failed)
    _next: int = field(default=0, repr=False)

    def progress(self) -> int:
        """Training steps done so far (from the run directory), at most `steps`."""
        return min(RunDir(self.run_dir).steps_done(), self.steps)


def _job_task(payload: tuple[Job, str], report: Callable[[int], None]) -> tuple[int, float]:
    """One job as an executor task: its commands one after the other, run by this node's Python in
    the driver's working directory `cwd` (a shared path), its training steps reported as progress.
    Returns (exit status of the first command that failed, else 0; seconds)."""
    job, cwd = payload
    if not Path(cwd).is_dir():
        raise FileNotFoundError(f"the driver's working directory {cwd} is not on this node; {SHARED_PATH_HINT}")
    began = time.perf_counter()
    log_path = Path(cwd) / job.log
    log_path.parent.mkdir(parents=True, exist_ok=True)
    located = replace(job, run_dir=Path(cwd) / job.run_dir)
    done = threading.Event()

    def poll() -> None:
        while not done.wait(1.0):
            report(located.progress())

    threading.Thread(target=poll, name="job-progress", daemon=True).start()
    before_exec = sigterm_on_parent_death()  # a killed Ray worker leaves no training behind
    try:
        for cmd in job.commands:
            if cmd[1:3] == ["-m", "cog_core"]:
                cmd = [sys.executable, *cmd[1:]]  # this node's interpreter, not the driver's path
            with open(log_path, "a") as log:
                log.write("$ " + " ".join(cmd) + "\n")
                log.flush()
                code = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=cwd, preexec_fn=before_exec).returncode
            if code != 0:
                return code, time.perf_counter() - began
        return 0, time.perf_counter() - began
    finally:
        done.set()


def run_jobs(jobs: Sequence[Job], parallel: int, desc: str, executor: ExecutorSpec = LOCAL, gpus: float = 0.0) -> list[Job]:
    """Run `jobs` with at most `parallel` at a time (locally; Ray runs as many as the cluster's
    resources allow, `gpus` per job); returns them with return codes (a failed command ends its job;
    a Ray task that failed past its retries sets `error`)."""
    if executor.is_ray:
        return _run_jobs_on(executor, jobs, desc, gpus)
    from tqdm import tqdm

    pending = list(jobs)
    running: dict[str, tuple[Job, subprocess.Popen, object, float]] = {}
    finished: list[Job] = []
    # Steps resumed runs did before this call start the bar, so that its rate and ETA count new work only.
    resumed = {j.name: j.progress() for j in jobs}
    bar = tqdm(total=sum(j.steps for j in jobs), initial=sum(resumed.values()), unit="upd", desc=desc, mininterval=1.0)

    def start(job: Job) -> None:
        job.log.parent.mkdir(parents=True, exist_ok=True)
        log = open(job.log, "a")  # noqa: SIM115 (closed when the command ends)
        cmd = job.commands[job._next]
        log.write("$ " + " ".join(cmd) + "\n")
        log.flush()
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        began = running[job.name][3] if job.name in running else time.perf_counter()
        running[job.name] = (job, proc, log, began)

    try:
        while pending or running:
            while pending and len(running) < parallel:
                start(pending.pop(0))
            time.sleep(1.0)
            for name, (job, proc, log, began) in list(running.items()):
                if proc.poll() is None:
                    continue
                log.close()  # type: ignore[attr-defined]
                job._next += 1
                if proc.returncode == 0 and job._next < len(job.commands):
                    start(job)
                    continue
                job.returncode, job.seconds = proc.returncode, time.perf_counter() - began
                del running[name]
                finished.append(job)
                if proc.returncode != 0:
                    tqdm.write(f"  {job.name} failed (exit {proc.returncode}); see {job.log}")
            done = (sum(j.steps for j in finished) + sum(j.progress() for j, *_ in running.values())
                    + sum(resumed[j.name] for j in pending))
            bar.update(max(0, done - bar.n))
    except KeyboardInterrupt:
        for _, proc, _, _ in running.values():
            proc.terminate()
        raise
    finally:
        bar.close()
    return finished


def _run_jobs_on(executor: ExecutorSpec, jobs: Sequence[Job], desc: str, gpus: float) -> list[Job]:
    """`run_jobs` on a Ray executor: one task per job (1 CPU, `gpus` GPUs), one progress bar of training steps."""
    cwd = os.getcwd()
    tasks = [Task(job.name, _job_task, (job, cwd), cpus=1.0, gpus=gpus, units=job.steps, units_done=job.progress(),
                  outputs=lambda result, job=job: [job.run_dir] if result[0] == 0 else [])  # type: ignore[misc]
             for job in jobs]
    try:
        results = run_tasks(executor, tasks, desc, "upd")
        failed: dict[str, str] = {}
    except TaskFailed as err:
        results, failed = err.results, err.failures
    for job, result in zip(jobs, results):
        if job.name in failed:
            job.error = failed[job.name]
            job.returncode = -1
        else:
            job.returncode, job.seconds = result
            if job.returncode:
                print(f"  {job.name} failed (exit {job.returncode}); see {job.log}")
    for name, why in failed.items():
        print(f"  {name} failed on Ray: {why}")
    return list(jobs)
