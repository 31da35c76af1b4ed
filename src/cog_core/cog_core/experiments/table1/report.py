"""Table 1's report: every run's final evaluation and learning curve gathered, and written as
results.json, a Table-1-style results.md (mean and sample std over seeds, pooled 95% Wilson
intervals, the paper's numbers beside ours, COG's tested against them with Welch's t-test) and
learning-curve PNGs.

A report says which evaluation split its final numbers come from (`"split"`: "test" for the table,
"val" for probes). One filled from an earlier report (`merge_report`) is a probe (`"probe":
"merged"`) and can never be written as a headline table (`write_headline`)."""

from __future__ import annotations

import json
import math
import os
import platform
import warnings
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np

from cog_core.config import apply_overrides
from cog_core.experiments.stats import welch_test, wilson_interval
from cog_core.experiments.table1.config import (
    ALL_METHODS,
    METHOD_TITLES,
    ORACLE_METHOD,
    PAPER_SEEDS,
    PAPER_TABLE1,
    SCENES,
    TableConfig,
    command_line,
    run_dir,
)
from cog_core.files import atomic_write, atomic_write_text
from cog_core.rl.config import TrainConfig
from cog_core.rl.run_dir import RunDir
from cog_core.scripted.policies import LEGACY_PROFILE
from cog_core.stations.rollout import TRACKED_FLAGS


def _pooled_reach_rates(results: list[dict]) -> dict[str, float]:
    """Each tracked flag's fraction of all the episodes of `results` (one condition's final
    evaluations, one per seed) that reached it, over the evaluations that tracked it."""
    out = {}
    for name in TRACKED_FLAGS:
        tracked = [r for r in results if name in r.get("reached", {})]
        if tracked:
            out[name] = sum(r["reached"][name] * r["episodes"] for r in tracked) / sum(r["episodes"] for r in tracked)
    return out


def sample_std(rates: Sequence[float]) -> float | None:
    """The sample standard deviation (ddof=1) of per-seed rates; None for fewer than two seeds."""
    return float(np.std(rates, ddof=1)) if len(rates) >= 2 else None


def final_split(run: RunDir) -> str | None:
    """The split of the run's final evaluation (None when it has none, or one from before splits existed)."""
    if not run.final_eval.is_file():
        return None
    return json.loads(run.final_eval.read_text()).get("meta", {}).get("split")


def collect_report(cfg: TableConfig, out: Path, sizes: dict[int, dict[str, int]], seconds: float) -> dict:
    """Gather every run's final evaluation (on the table's split only) and learning curve into one
    JSON-able dict; `sizes` holds the transitions of each data seed's datasets."""
    cells: dict[str, dict[str, dict]] = {}
    curves: dict[str, dict[str, dict]] = {}
    train_s: list[float] = []
    other_split: list[str] = []
    for scene in (SCENES[s] for s in cfg.scenes):
        for method in cfg.methods:
            finals, runs_curves = {}, {}
            for seed in cfg.seeds:
                run = run_dir(out, scene.name, method, seed)
                final = run.final_results()
                if final is not None and final_split(run) != cfg.split:
                    other_split.append(f"{scene.name}/{method}/seed{seed}")
                elif final is not None:
                    finals[seed] = final
                curve = run.eval_curve()
                if curve:
                    runs_curves[seed] = curve
                t = run.train_seconds()
                if t is not None:
                    train_s.append(t)
            for cond in scene.conditions:
                rates = [finals[s][cond]["success_rate"] for s in finals]
                k = sum(finals[s][cond]["successes"] for s in finals)
                n = sum(finals[s][cond]["episodes"] for s in finals)
                cells.setdefault(cond, {})[method] = {
                    "seeds": sorted(finals), "rates": rates,
                    "mean": float(np.mean(rates)) if rates else None,
                    "std": sample_std(rates),
                    "pooled_ci95": list(wilson_interval(k, n)) if n else None, "episodes": n,
                    "reached": _pooled_reach_rates([finals[s][cond] for s in finals]),
                }
                steps = sorted({row["step"] for c in runs_curves.values() for row in c})
                curves.setdefault(cond, {})[method] = {
                    "steps": steps,
                    "per_seed": {str(s): [next((r[f"success/{cond}"] for r in c if r["step"] == st and f"success/{cond}" in r), None)
                                          for st in steps] for s, c in runs_curves.items()},
                }
    presets = sorted({p for per_seed in sizes.values() for p in per_seed})
    mean_sizes = {p: int(round(np.mean([s[p] for s in sizes.values() if p in s]))) for p in presets}
    return {
        "config": {**asdict(cfg), "scales": {k: list(v) for k, v in cfg.scales.items()}},
        "split": cfg.split,
        "data_seeds": {str(seed): cfg.data_seed_for(seed) for seed in cfg.seeds},
        "machine": {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
                    "cpus": os.cpu_count()},
        # per preset, the mean over the training seeds' datasets; each data seed's own below
        "dataset_transitions": mean_sizes,
        "dataset_transitions_per_data_seed": {str(k): v for k, v in sorted(sizes.items())},
        "not_on_this_split": other_split,
        "cells": cells, "curves": curves,
        "seconds": {"total_this_call": seconds, "train_sum": float(sum(train_s)), "train_mean": float(np.mean(train_s)) if train_s else None},
    }


def _flat(tree: dict, prefix: str = "") -> dict:
    """A nested dict's leaves under dotted keys ("data.policy_task_share")."""
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _scene_settings(cfg: dict, scene: str) -> dict:
    """What decides the runs of `scene` in a report's config: observations, steps, data, seeds,
    evaluation and every training setting (under dotted keys)."""
    table = TableConfig(preset=cfg["preset"], steps=cfg["steps"], scene_steps=cfg.get("scene_steps", {}),
                        train_overrides=tuple(cfg["train_overrides"]),
                        scene_overrides={k: tuple(v) for k, v in cfg.get("scene_overrides", {}).items()})
    return {
        **_flat(asdict(apply_overrides(TrainConfig(), table.overrides_for(scene)))),  # the table's own below set steps, obs, seed
        "obs": cfg["obs"], "steps": table.steps_for(scene),
        "scales": list(cfg["scales"].get(scene, [])), "seeds": list(cfg["seeds"]),
        **{key: cfg.get(key) for key in ("data_seed", "eval_episodes", "curve_interval", "curve_episodes")},  # None if older
        "split": cfg.get("split"), "prior_profile": cfg.get("prior_profile", LEGACY_PROFILE),  # older: no split, today's behaviours
    }


def merge_report(report: dict, earlier: dict, source: str) -> dict:
    """`report` with each (scene, method) that has no finished run in it taken from `earlier`, a
    report of the same settings for that scene (ValueError naming the difference otherwise).
    The merged cells are listed under report["merged"], and the report becomes a probe
    (`"probe": "merged"`) that `write_headline` refuses; training time stays this report's own."""
    cfg = report["config"]
    if earlier.get("split") != report.get("split"):
        raise ValueError(f"{source} was evaluated on the {earlier.get('split') or 'old (pre-split)'} episodes and this "
                         f"report on the {report.get('split')} split, so its cells cannot stand in it")
    merged: dict[str, list[str]] = {}
    for scene in (SCENES[s] for s in cfg["scenes"]):
        missing = [m for m in cfg["methods"] if not any(report["cells"][c][m]["seeds"] for c in scene.conditions)]
        available = [m for m in missing if all(m in earlier["cells"].get(c, {}) for c in scene.conditions)]
        if not available:
            continue
        ours, theirs = _scene_settings(cfg, scene.name), _scene_settings(earlier["config"], scene.name)
        different = [f"{k} {ours[k]} here, {theirs[k]} there" for k in ours if ours[k] != theirs[k]]
        if different:
            raise ValueError(f"{source} trained {scene.name} differently ({', '.join(different)}), so its cells cannot "
                             f"stand in this table; merge a report made with this table's settings, or train the runs")
        for method in available:
            for cond in scene.conditions:
                report["cells"][cond][method] = earlier["cells"][cond][method]
                report["curves"][cond][method] = earlier["curves"][cond][method]
        for preset in (scene.prior_preset, scene.task_preset):
            if preset not in report["dataset_transitions"] and preset in earlier["dataset_transitions"]:
                report["dataset_transitions"][preset] = earlier["dataset_transitions"][preset]
        merged[scene.name] = available
    report["merged"] = {"from": source, "cells": merged}
    report["probe"] = "merged"
    return report


def _fmt(cell: dict | None, seeds: int) -> str:
    """mean ± std, with the seed count when some seeds have no finished run."""
    if not cell or cell["mean"] is None:
        return "-"
    partial = f" ({len(cell['seeds'])} of {seeds} seeds)" if len(cell["seeds"]) < seeds else ""
    spread = f" ± {cell['std']:.2f}" if cell.get("std") is not None else ""
    return f"{cell['mean']:.2f}{spread}{partial}"


def _vs_paper_lines(report: dict, method: str) -> list[str]:
    """Markdown rows comparing `method` with the paper per condition (Welch's t-test over seeds)."""
    cfg = report["config"]
    rows = []
    for scene in (SCENES[s] for s in cfg["scenes"]):
        for cond in scene.conditions:
            cell = report["cells"][cond].get(method)
            mean, std = PAPER_TABLE1.get(cond, {}).get(method) or (None, None)
            if not cell or len(cell["rates"]) < 2 or mean is None or std is None:
                continue
            diff, p = welch_test(cell["rates"], mean, std, PAPER_SEEDS)
            ours = f"{cell['mean']:.2f} ({sample_std(cell['rates']):.2f}, {len(cell['rates'])} seeds)"
            rows.append(f"| {cond} | {ours} | {mean:.2f} ({std:.2f}) | {diff:+.2f} | {'-' if math.isnan(p) else f'{p:.2f}'} |")
    if not rows:
        return []
    return ["", f"{METHOD_TITLES[method]} against the paper: mean (sample std, seeds) of the per-seed success rates, the "
            f"paper's mean (std over its {PAPER_SEEDS} seeds, taken as a sample std), their difference and the two-sided p "
            "of Welch's t-test (a small p: the gap is larger than the seeds' spread explains).", "",
            "| initial condition | ours | paper | difference | p |", "|---|---|---|---|---|", *rows]


def _protocol_lines(report: dict) -> list[str]:
    """What the final numbers were evaluated on, and whether the report is a probe."""
    split = report.get("split")
    if split is None:
        lines = ["Evaluated under the old protocol: every seed on one shared dataset, final and development "
                 "evaluations on the same episodes (evaluation seed 0, before the val/test split; docs/results.md)."]
    elif split == "val":
        lines = ["Probe: final evaluation on the `val` split (development episodes), not a Table 1 result."]
    else:
        lines = ["Final evaluation on the `test` split (held-out episodes); learning curves on `val`."]
    if report.get("probe") == "merged":
        lines.append(f"Probe: merged. Some cells come from `{report['merged']['from']}` (listed under Setup), so this "
                     "is not the output of one command and not a headline table.")
    return [*lines, ""]


def _data_line(report: dict) -> str:
    """The datasets: transitions, each training seed's data seed, scales and the prior profile."""
    cfg = report["config"]
    per_seed = report.get("data_seeds")
    line = "- Data (transitions" + (", mean over the training seeds' datasets" if per_seed else "") + "): " + ", ".join(
        f"{k} {v}" for k, v in report["dataset_transitions"].items())
    if per_seed:
        line += "; data seed of each training seed: " + ", ".join(f"{s} -> {d}" for s, d in per_seed.items())
    else:
        line += f"; one dataset (data seed {cfg.get('data_seed', 0)}) shared by every training seed"
    line += "; scales (prior, task) of the paper's sizes: " + ", ".join(f"{k} {tuple(v)}" for k, v in cfg["scales"].items())
    return line + f"; prior profile `{cfg.get('prior_profile', LEGACY_PROFILE)}`"


def markdown_report(report: dict) -> str:
    """The Table-1-style markdown: ours (mean ± sample std over seeds) with the paper's value in brackets."""
    cfg = report["config"]
    methods = [m for m in ALL_METHODS if m in cfg["methods"]]
    lines = [
        f"# Table 1 in the built-in simulator (preset `{cfg['preset']}`)", "",
        *_protocol_lines(report),
        "Success at the final step of the episode, mean ± sample std over seeds "
        f"({', '.join(map(str, cfg['seeds']))}), {cfg['eval_episodes']} episodes per seed and condition; "
        "the paper's value in brackets. Conditions marked * are not in the task data."
        + (f" {METHOD_TITLES[ORACLE_METHOD]}: COG trained on the same datasets from privileged state (object and drawer "
           "poses), an oracle that shows what learning from the camera costs, not a policy a robot can run."
           if ORACLE_METHOD in cfg["methods"] and cfg["obs"] != "state" else ""), "",
        "| scene / initial condition | " + " | ".join(METHOD_TITLES[m] for m in methods) + " |",
        "|---|" + "---|" * len(methods),
    ]
    for scene in (SCENES[s] for s in cfg["scenes"]):
        for i, cond in enumerate(scene.conditions):
            row = []
            for m in methods:
                paper = PAPER_TABLE1.get(cond, {}).get(m)
                row.append(_fmt(report["cells"][cond].get(m), len(cfg["seeds"])) + (f" ({paper[0]:.2f})" if paper else ""))
            lines.append(f"| {cond}{'' if i == 0 else ' *'} | " + " | ".join(row) + " |")
    lines += ["", "Pooled 95% Wilson intervals (all seeds' episodes together):", "",
              "| initial condition | " + " | ".join(METHOD_TITLES[m] for m in methods) + " |", "|---|" + "---|" * len(methods)]
    for scene in (SCENES[s] for s in cfg["scenes"]):
        for cond in scene.conditions:
            cells = [report["cells"][cond].get(m) for m in methods]
            lines.append(f"| {cond} | " + " | ".join(
                f"[{c['pooled_ci95'][0]:.2f}, {c['pooled_ci95'][1]:.2f}]" if c and c["pooled_ci95"] else "-" for c in cells) + " |")
    lines += _vs_paper_lines(report, "cog")
    flag_rows = [(cond, name) for scene in (SCENES[s] for s in cfg["scenes"]) for cond in scene.conditions
                 for name in TRACKED_FLAGS if any(name in (c or {}).get("reached", {}) for c in report["cells"][cond].values())]
    if flag_rows:
        lines += ["", "Where the episodes stop: the fraction (all seeds' episodes together) that reached each stage of "
                  "the task at some step, for the stages a condition starts without (`blocker_fallen`: the bottle "
                  "was knocked over):", "",
                  "| initial condition | stage | " + " | ".join(METHOD_TITLES[m] for m in methods) + " |",
                  "|---|---|" + "---|" * len(methods)]
        for cond, name in flag_rows:
            cells = [(report["cells"][cond].get(m) or {}).get("reached", {}) for m in methods]
            lines.append(f"| {cond} | {name} | " + " | ".join(f"{c[name]:.2f}" if name in c else "-" for c in cells) + " |")
    sec = report["seconds"]
    lines += [
        "", "## Setup", "",
        f"- Command: `{command_line(cfg)}`",
        f"- Observations: `{cfg['obs']}`; gradient steps per run: "
        + ", ".join(f"{s} {cfg.get('scene_steps', {}).get(s, cfg['steps'])}" for s in cfg["scenes"]) + "; overrides: "
        + (", ".join([f"`{o}`" for o in cfg["train_overrides"]]
                     + [f"`{o}` ({s} only)" for s, settings in cfg.get("scene_overrides", {}).items() for o in settings]) or "none"),
        _data_line(report),
        f"- Learning curves: {cfg['curve_episodes']} episodes per condition every {cfg['curve_interval']} steps"
        + (" on the `val` split" if report.get("split") else "") + " (`curves_<scene>.png`).",
        f"- Machine: {report['machine']['platform']}, {report['machine']['cpus']} CPUs; "
        f"training time {sec['train_sum'] / 3600:.2f} CPU-hours in all"
        + (f" ({sec['train_mean'] / 60:.1f} min per run)" if sec["train_mean"] else "") + ".",
    ]
    if report.get("not_on_this_split"):
        lines.append(f"- Left out, evaluated on another split than `{report['split']}`: "
                     + ", ".join(report["not_on_this_split"]) + ".")
    merged = report.get("merged", {}).get("cells")
    if merged:
        lines.append(f"- Taken from `{report['merged']['from']}` (the same settings; their runs are not in this folder, "
                     "and the training time above leaves them out): "
                     + "; ".join(f"{scene}: {', '.join(METHOD_TITLES[m] for m in methods)}" for scene, methods in merged.items()) + ".")
    return "\n".join(lines) + "\n"


def plot_curves(report: dict, out: Path) -> list[Path]:
    """One PNG per scene: success vs updates per condition, a line per method (mean over seeds, min-max band)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    cfg = report["config"]
    for scene in (SCENES[s] for s in cfg["scenes"]):
        fig, axes = plt.subplots(1, len(scene.conditions), figsize=(4.2 * len(scene.conditions), 3.4), squeeze=False)
        for ax, cond in zip(axes[0], scene.conditions):
            for m in (m for m in ALL_METHODS if m in cfg["methods"]):
                c = report["curves"][cond][m]
                if not c["steps"]:
                    continue
                ys = np.array([[np.nan if v is None else v for v in vals] for vals in c["per_seed"].values()], dtype=float)
                steps = np.array(c["steps"])
                with warnings.catch_warnings():  # steps that no seed evaluated stay NaN (gaps in the line)
                    warnings.simplefilter("ignore", RuntimeWarning)
                    mean, low, high = np.nanmean(ys, axis=0), np.nanmin(ys, axis=0), np.nanmax(ys, axis=0)
                ax.plot(steps, mean, label=METHOD_TITLES[m], lw=2 if m == "cog" else 1.2, ls="--" if m == ORACLE_METHOD else "-")
                ax.fill_between(steps, low, high, alpha=0.15)
            ax.set_title(cond, fontsize=10)
            ax.set_xlabel("gradient steps")
            ax.set_ylim(-0.03, 1.03)
            ax.grid(alpha=0.3)
        axes[0][0].set_ylabel("success rate")
        axes[0][-1].legend(fontsize=8, loc="upper left")
        fig.tight_layout()
        path = out / f"curves_{scene.name}.png"
        atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110))
        plt.close(fig)
        paths.append(path)
    return paths


def headline_problems(report: dict) -> list[str]:
    """Why `report` cannot be a headline table (empty when it can): it must be one command's own
    output, evaluated on the test split, with every run of every (scene, method, seed) it names."""
    problems = []
    if report.get("probe") == "merged" or report.get("merged"):
        problems.append(f"it is merged from {report.get('merged', {}).get('from', 'an earlier report')} (a probe)")
    if report.get("split") != "test":
        problems.append(f"its final evaluation is on the {report.get('split') or 'old (pre-split)'} episodes, not the test split")
    cfg = report["config"]
    missing = sorted({f"{cond} {m}" for scene in (SCENES[s] for s in cfg["scenes"]) for cond in scene.conditions
                      for m in cfg["methods"] if len((report["cells"][cond].get(m) or {}).get("seeds", [])) < len(cfg["seeds"])})
    if missing:
        problems.append(f"runs are missing for {len(missing)} cells (e.g. {missing[0]})")
    return problems


def write_headline(report: dict, path: Path) -> None:
    """Write `report` as a headline table: `path` (JSON) and the same name with .md; ValueError when
    it is not one (`headline_problems`)."""
    problems = headline_problems(report)
    if problems:
        raise ValueError(f"{path} would be a headline table, but " + "; ".join(problems)
                         + ": write probes to their own --out only")
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(report, indent=2))
    atomic_write_text(path.with_suffix(".md"), markdown_report(report))
    print(f"wrote the headline table {path} and {path.with_suffix('.md')}")


def write_report(report: dict, out: Path) -> None:
    """results.json, results.md and the curve PNGs in `out` (written atomically); prints the table."""
    for name, text in (("results.json", json.dumps(report, indent=2)), ("results.md", markdown_report(report))):
        atomic_write_text(out / name, text)
    pngs = plot_curves(report, out)
    print("\n" + markdown_report(report))
    print(f"wrote {out / 'results.md'}, {out / 'results.json'}, " + ", ".join(str(p) for p in pngs))
