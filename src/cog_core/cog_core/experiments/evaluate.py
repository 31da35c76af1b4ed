"""Policy evaluation in the simulator: success at the final step, per condition, with 95% CIs.

Episodes are spread over worker processes or Ray tasks (`executors`; each chunk loads the
exported policy once and pins torch to one thread). Episode seeds are fixed per (split, evaluation seed, condition, episode
index) (`cog_core.seeds`), so a result depends neither on the number of workers nor on which
other conditions are evaluated with it. The `val` split is for everything done while
developing, `test` for final numbers only; both are disjoint from every training episode.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import imageio.v2 as imageio
import numpy as np

from cog_core.experiments.executors import LOCAL, ExecutorSpec, Task, run_tasks
from cog_core.experiments.stats import wilson_interval
from cog_core.files import atomic_write_text
from cog_core.rl.export import export_policy
from cog_core.rl.run_dir import RunDir
from cog_core.seeds import SPLITS, eval_seed
from cog_core.stations.policy_meta import META_FILE
from cog_core.stations.rollout import TRACKED_FLAGS, run_episode

@dataclass
class ConditionResult:
    """Success statistics of one initial condition."""

    condition: str
    episodes: int
    successes: int
    success_rate: float
    ci95: tuple[float, float]
    mean_return: float
    mean_length: float
    videos: list[str] = field(default_factory=list)
    reached: dict[str, float] = field(default_factory=dict)
    """Per tracked flag that is false at the condition's reset (stages such as ``blocker_moved``,
    ``drawer_opened``, ``grasped``, or the mishap ``blocker_fallen``), the fraction of episodes
    in which it held at some step: where a multi-stage task breaks."""
    reached_step: dict[str, float] = field(default_factory=dict)
    """Per tracked flag, the median first step at which the episodes that reached it did so."""


def _write_video(frames: list[Any], path: Path, fps: int) -> Path:
    try:
        imageio.mimsave(path, frames, fps=fps, macro_block_size=1)
        return path
    except (ImportError, OSError, RuntimeError, ValueError):  # no ffmpeg (plugin or binary): fall back to a GIF
        gif = path.with_suffix(".gif")
        imageio.mimsave(gif, frames, duration=1 / fps)
        return gif


def _load_policy(files: dict[str, bytes]) -> Any:
    """A `PolicyRuntime` from an export's files (name -> bytes), checked as `PolicyRuntime.load` checks
    a directory: the chunks get the policy itself, not a path that only the driver can see."""
    from cog_core.rl.runtime import PolicyRuntime

    with tempfile.TemporaryDirectory(prefix="cog_eval_policy_") as tmp:
        for name, data in files.items():
            (Path(tmp) / name).write_bytes(data)
        return PolicyRuntime.load(tmp)


def _chunk_task(payload: tuple, report: Callable[[int], None]) -> list[dict[str, Any]]:
    """One evaluation chunk (an executor task): roll out its (condition, index, seed, record video)
    episodes with the policy of `files`, reporting each finished episode."""
    files, jobs, video_dir, video_size = payload
    os.environ.setdefault("MUJOCO_GL", "egl")
    import torch

    torch.set_num_threads(1)
    from cog_core.sim import CONTROL_HZ, make_env

    runtime = _load_policy(files)
    envs: dict[str, Any] = {}
    out = []
    for condition, index, seed, record in jobs:
        if condition not in envs:
            envs[condition] = make_env(condition, image_size=runtime.image_size or 48, render_size=video_size)
        frames: list | None = [] if record else None
        reached: dict[str, int | None] = {}
        success, ret, length = run_episode(envs[condition], runtime, seed, frames, reached)
        video = None
        if frames:
            name = f"{condition.replace('/', '__')}_{index:03d}_{'success' if success else 'failure'}.mp4"
            video = str(_write_video(frames, Path(video_dir) / name, int(CONTROL_HZ)))
        out.append({"condition": condition, "index": index, "success": success, "return": ret, "length": length, "video": video,
                    "reached": reached})
        report(len(out))
    for env in envs.values():
        env.close()
    return out


def _videos(records: list[dict[str, Any]]) -> list[Path]:
    """The videos a chunk says it wrote."""
    return [Path(r["video"]) for r in records if r["video"]]


def evaluation_seeds(conditions: list[str], episodes: int, seed: int = 0, split: str = "val") -> dict[str, list[int]]:
    """The reset seeds of every evaluation episode, per condition (`cog_core.seeds.eval_seed`)."""
    return {c: [eval_seed(split, seed, c, i) for i in range(episodes)] for c in conditions}


@contextlib.contextmanager
def policy_dir_for(path: str | Path) -> Iterator[Path]:
    """An export directory for `path`: itself if exported, else its run's checkpoint exported
    into a temporary directory that is removed on exit."""
    path = Path(path)
    if (path / META_FILE).is_file():
        yield path
        return
    ckpt = RunDir(path).checkpoint if path.is_dir() else path
    if not ckpt.is_file():
        raise FileNotFoundError(f"{path} is neither a policy export (policy.json) nor a run directory with checkpoint.pt")
    with tempfile.TemporaryDirectory(prefix="cog_eval_policy_") as tmp:
        yield export_policy(ckpt, tmp)


def evaluate(
    policy: str | Path,
    conditions: list[str],
    episodes: int,
    workers: int = 1,
    seed: int = 0,
    video_dir: str | Path | None = None,
    videos_per_condition: int = 0,
    video_size: int = 240,
    progress: bool = True,
    split: str = "val",
    executor: ExecutorSpec = LOCAL,
) -> list[ConditionResult]:
    """Evaluate an exported policy (or a run directory) on `conditions`, `episodes` each, on the
    episodes of evaluation seed `seed` of `split` ("val" while developing, "test" for final numbers).
    The episodes are dealt to `workers` chunks, run by `executor` (local processes or Ray tasks);
    `TaskFailed` (Ray) names a chunk that failed."""
    from cog_core.sim import get_condition

    conditions = list(dict.fromkeys(conditions))  # each condition once
    if not conditions:
        raise ValueError("give at least one initial condition to evaluate")
    for c in conditions:
        get_condition(c)  # clear error for unknown names
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; valid: {', '.join(SPLITS)}")
    if episodes < 1 or workers < 1:
        raise ValueError("episodes and workers must be >= 1")
    executor.validate()
    seeds = evaluation_seeds(conditions, episodes, seed, split)  # ValueError for a seed or count out of range
    if videos_per_condition and video_dir is None:
        raise ValueError("videos need a video directory")
    if video_dir is not None:
        Path(video_dir).mkdir(parents=True, exist_ok=True)
        video_dir = Path(video_dir).resolve()  # written by the chunks, whose working directories are not ours
    with policy_dir_for(policy) as policy_dir:
        from cog_core.rl.runtime import PolicyRuntime

        PolicyRuntime.load(policy_dir)  # a damaged or inconsistent export: one clear error before any rollout
        jobs = [
            (c, i, seeds[c][i], i < videos_per_condition)
            for c in conditions
            for i in range(episodes)
        ]
        chunks = [jobs[w::workers] for w in range(workers) if jobs[w::workers]]
        files = {p.name: p.read_bytes() for p in Path(policy_dir).iterdir() if p.is_file()}
        tasks = [Task(f"evaluation chunk {w}", _chunk_task, (files, chunk, str(video_dir) if video_dir else None, video_size),
                      units=len(chunk), outputs=_videos)
                 for w, chunk in enumerate(chunks)]
        records = [r for part in run_tasks(executor, tasks, "evaluate", "ep", progress and len(chunks) > 1) for r in part]
    results = []
    for c in conditions:
        rows = sorted((r for r in records if r["condition"] == c), key=lambda r: r["index"])
        k = sum(r["success"] for r in rows)
        results.append(
            ConditionResult(
                condition=c, episodes=len(rows), successes=k, success_rate=k / len(rows), ci95=wilson_interval(k, len(rows)),
                mean_return=float(np.mean([r["return"] for r in rows])), mean_length=float(np.mean([r["length"] for r in rows])),
                videos=[r["video"] for r in rows if r["video"]],
                reached=_reach_rates(rows), reached_step=_median_first_steps(rows),
            )
        )
    return results


def _reach_rates(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Per flag tracked in `rows` (episode records), the fraction of episodes that reached it."""
    out = {}
    for name in TRACKED_FLAGS:
        firsts = [r["reached"][name] for r in rows if name in r["reached"]]
        if firsts:
            out[name] = sum(t is not None for t in firsts) / len(firsts)
    return out


def _median_first_steps(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Per flag that some episode of `rows` reached, the median step at which those first did."""
    out = {}
    for name in TRACKED_FLAGS:
        firsts = [r["reached"][name] for r in rows if r["reached"].get(name) is not None]
        if firsts:
            out[name] = float(np.median(firsts))
    return out


def write_results(results: list[ConditionResult], path: str | Path, meta: dict[str, Any] | None = None) -> None:
    """Write results as JSON, atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps({"meta": meta or {}, "results": [asdict(r) for r in results]}, indent=2))


def print_results(results: list[ConditionResult], title: str = "evaluation") -> None:
    """Rich tables: success rates with 95% intervals, then the stages (and mishaps) the episodes reached."""
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(Console().width, 100))
    table = Table(title=title)
    table.add_column("condition", no_wrap=True)
    for col in ("episodes", "success", "95% CI", "mean return", "mean length"):
        table.add_column(col, justify="right")
    for r in results:
        table.add_row(r.condition, str(r.episodes), f"{r.success_rate:.2f}", f"[{r.ci95[0]:.2f}, {r.ci95[1]:.2f}]",
                      f"{r.mean_return:.1f}", f"{r.mean_length:.1f}")
    console.print(table)
    if not any(r.reached for r in results):
        return
    stages = Table(title="where the episodes went: stages and mishaps reached (those false at the reset)")
    stages.add_column("condition", no_wrap=True)
    stages.add_column("flag", no_wrap=True)
    stages.add_column("episodes reaching it", justify="right")
    stages.add_column("median first step", justify="right")
    for r in results:
        for name, rate in r.reached.items():
            step = r.reached_step.get(name)
            stages.add_row(r.condition, name, f"{rate:.2f}", "-" if step is None else f"{step:.0f}")
    console.print(stages)
