"""`cogrl table`: the paper's Table 1 and Figure 10 in the built-in simulator, in one command.

For each scene (drawer, pick-place) and training seed: collect (or reuse) that seed's prior and
task datasets (data seed derived from the training seed), train every method of Table 1 on them
(in-training evaluation on the `val` split gives the learning curves), evaluate each final policy
on every initial condition on the table's split (`test` for the table, `val` for probes), then
write the report (`table1.report`). Finished runs are kept: re-running the command resumes where
it stopped.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from cog_core.experiments.executors import LOCAL, ExecutorSpec, gpus_per_run, ray_session
from cog_core.experiments.pipeline import (
    CollectionMismatch,
    Job,
    cogrl_command,
    collect_datasets,
    convert_datasets,
    recorded_transitions,
    run_jobs,
    train_command,
)
from cog_core.experiments.table1.config import ALL_METHODS, SCENES, Scene, TableConfig, run_dir
from cog_core.experiments.table1.report import collect_report, final_split, write_report
from cog_core.rl.run_dir import RunDir


def bags_dir(out: Path, data_seed: int) -> Path:
    """Where the bags of data seed `data_seed` are collected (one folder per dataset preset below it)."""
    return out / "bags" / f"data_seed{data_seed}"


def data_dir(out: Path, data_seed: int) -> Path:
    """Where the HDF5 datasets of data seed `data_seed` go."""
    return out / "data" / f"data_seed{data_seed}"


def recorded_sizes(cfg: TableConfig, out: Path) -> dict[int, dict[str, int]]:
    """Transitions per data seed and dataset preset, from the collection summaries under OUT/bags (for --report-only)."""
    sizes: dict[int, dict[str, int]] = {}
    for seed in cfg.seeds:
        data_seed = cfg.data_seed_for(seed)
        for scene in (SCENES[s] for s in cfg.scenes):
            for preset in (scene.prior_preset, scene.task_preset):
                n = recorded_transitions(bags_dir(out, data_seed) / preset)
                if n is not None:
                    sizes.setdefault(data_seed, {})[preset] = n
    return sizes


def refuse_shared_data(out: Path, scenes: Sequence[str]) -> None:
    """A folder of the old protocol (one dataset shared by every seed, in OUT/bags/<preset>) cannot be
    resumed or reported again (its runs were evaluated before the val/test split): CollectionMismatch."""
    for scene in (SCENES[s] for s in scenes):
        for preset in (scene.prior_preset, scene.task_preset):
            if (out / "bags" / preset).is_dir():
                raise CollectionMismatch(f"{out} holds a table whose seeds share one dataset ({out / 'bags' / preset}), from before "
                                 "each training seed had its own and before the val/test split; give a new --out "
                                 "(its report stays as it was written)")


# -- running ----------------------------------------------------------------------------------


def _evaluated(run: RunDir, scene: Scene, episodes: int, split: str) -> bool:
    """Whether `run` has a final evaluation of every condition of `scene` with `episodes` episodes on `split`.
    (A finished run evaluated differently is evaluated again; its training resumes as a no-op.)"""
    final = run.final_results()
    return (final is not None and final_split(run) == split
            and all(c in final and final[c]["episodes"] == episodes for c in scene.conditions))


def _jobs(cfg: TableConfig, out: Path, scene: Scene, data: dict[int, dict[str, Path]]) -> list[Job]:
    jobs = []
    # Seed by seed, COG and no-prior first: an interrupted experiment has whole tables of early seeds.
    order = sorted(cfg.methods, key=lambda m: (m not in ("cog", "no-prior"), ALL_METHODS.index(m) if m != "cog" else -1))
    for seed in cfg.seeds:
        for method in order:
            run = run_dir(out, scene.name, method, seed)
            if _evaluated(run, scene, cfg.eval_episodes, cfg.split):
                continue
            resume = run.checkpoint.is_file()
            overrides = [*cfg.overrides_for(scene.name), f"eval_interval={cfg.curve_interval}", f"ckpt_interval={cfg.curve_interval}"]
            steps = cfg.steps_for(scene.name)
            algo, obs = cfg.algo_and_obs(method)
            train = train_command(algo, data[seed]["task"], data[seed]["prior"], obs, steps, seed, run.path, overrides,
                                  scene.conditions, cfg.curve_episodes, resume=resume, device=cfg.device)
            evaluate = cogrl_command("eval", "--run", str(run.path), "--conditions", ",".join(scene.conditions),
                                     "--episodes", str(cfg.eval_episodes), "--split", cfg.split, "--json", str(run.final_eval))
            if method == "cog" and seed == cfg.seeds[0] and cfg.videos:
                evaluate += ["--videos", str(cfg.videos), "--video-dir", str(out / "videos" / scene.name)]
            jobs.append(Job(f"{scene.name}/{method}/seed{seed}", [train, evaluate], run.path / "log.txt", run.path, steps))
    return jobs


def run_table(cfg: TableConfig, executor: ExecutorSpec = LOCAL) -> dict:
    """Collect, train, evaluate and report; returns the report dict (also written as results.json).
    `executor` runs the collection workers and the runs (train + evaluate, one GPU each under Ray
    when `cfg.device` asks for CUDA); the results do not depend on it."""
    cfg.validate()
    out = Path(cfg.out)
    refuse_shared_data(out, cfg.scenes)
    out.mkdir(parents=True, exist_ok=True)
    with ray_session(executor):
        return _run_table(cfg, out, executor)


def _run_table(cfg: TableConfig, out: Path, executor: ExecutorSpec) -> dict:
    gpus = gpus_per_run(cfg.device) if executor.is_ray else 0.0
    started = time.perf_counter()
    sizes: dict[int, dict[str, int]] = {}
    failures: list[str] = []
    for scene in (SCENES[s] for s in cfg.scenes):
        prior_scale, task_scale = cfg.scales[scene.name]
        data: dict[int, dict[str, Path]] = {}
        for seed in cfg.seeds:
            data_seed = cfg.data_seed_for(seed)
            print(f"\n== {scene.name}, training seed {seed}: data seed {data_seed} (prior x{prior_scale}, task x{task_scale} "
                  f"of the paper's size, prior profile {cfg.prior_profile})", flush=True)
            bags = bags_dir(out, data_seed)
            sizes.setdefault(data_seed, {}).update(collect_datasets(
                bags, [(scene.prior_preset, prior_scale), (scene.task_preset, task_scale)], data_seed, cfg.workers,
                cfg.prior_profile, executor))
            paths = convert_datasets(bags, data_dir(out, data_seed), [scene.prior_preset, scene.task_preset])
            data[seed] = {"prior": paths[scene.prior_preset], "task": paths[scene.task_preset]}
        jobs = _jobs(cfg, out, scene, data)
        print(f"== {scene.name}: {len(jobs)} runs to train or evaluate "
              f"({len(cfg.methods) * len(cfg.seeds) - len(jobs)} already done)", flush=True)
        for job in run_jobs(jobs, cfg.workers, f"{scene.name} runs", executor, gpus):
            if job.returncode:
                failures.append(f"{job.name} ({job.error or f'exit {job.returncode}'}, log {job.log})")
    report = collect_report(cfg, out, sizes, time.perf_counter() - started)
    write_report(report, out)
    if failures:
        print("failed runs:\n  " + "\n  ".join(failures))
    return report
