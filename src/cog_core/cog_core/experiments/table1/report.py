"""Table 1's report: every run's final evaluation and learning curve gathered, and written as
results.json, a Table-1-style results.md (mean and std over seeds, pooled 95% Wilson intervals,
the paper's numbers beside ours, COG's tested against them with Welch's t-test) and
learning-curve PNGs."""

from __future__ import annotations

import json
import math
import os
import platform
import warnings
from dataclasses import asdict
from pathlib import Path

import numpy as np

from cog_core.config import apply_overrides
from cog_core.experiments.stats import welch_test, wilson_interval
from cog_core.experiments.table1.config import (
    METHOD_TITLES,
    METHODS,
    PAPER_SEEDS,
    PAPER_TABLE1,
    SCENES,
    TableConfig,
    command_line,
    run_dir,
)
from cog_core.files import atomic_write, atomic_write_text
from cog_core.rl.config import TrainConfig
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


def collect_report(cfg: TableConfig, out: Path, sizes: dict[str, int], seconds: float) -> dict:
    """Gather every run's final evaluation and learning curve into one JSON-able dict."""
    cells: dict[str, dict[str, dict]] = {}
    curves: dict[str, dict[str, dict]] = {}
    train_s: list[float] = []
    for scene in (SCENES[s] for s in cfg.scenes):
        for method in cfg.methods:
            finals, runs_curves = {}, {}
            for seed in cfg.seeds:
                run = run_dir(out, scene.name, method, seed)
                final = run.final_results()
                if final is not None:
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
                    "std": float(np.std(rates)) if rates else None,
                    "pooled_ci95": list(wilson_interval(k, n)) if n else None, "episodes": n,
                    "reached": _pooled_reach_rates([finals[s][cond] for s in finals]),
                }
                steps = sorted({row["step"] for c in runs_curves.values() for row in c})
                curves.setdefault(cond, {})[method] = {
                    "steps": steps,
                    "per_seed": {str(s): [next((r[f"success/{cond}"] for r in c if r["step"] == st and f"success/{cond}" in r), None)
                                          for st in steps] for s, c in runs_curves.items()},
                }
    return {
        "config": {**asdict(cfg), "scales": {k: list(v) for k, v in cfg.scales.items()}},
        "machine": {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
                    "cpus": os.cpu_count()},
        "dataset_transitions": sizes, "cells": cells, "curves": curves,
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
    }


def merge_report(report: dict, earlier: dict, source: str) -> dict:
    """`report` with each (scene, method) that has no finished run in it taken from `earlier`, a
    report of the same settings for that scene (ValueError naming the difference otherwise).
    The merged cells are listed under report["merged"]; training time stays this report's own."""
    cfg = report["config"]
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
    return report


def _fmt(cell: dict | None, seeds: int) -> str:
    """mean ± std, with the seed count when some seeds have no finished run."""
    if not cell or cell["mean"] is None:
        return "-"
    partial = f" ({len(cell['seeds'])} of {seeds} seeds)" if len(cell["seeds"]) < seeds else ""
    return f"{cell['mean']:.2f} ± {cell['std']:.2f}{partial}"


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
            ours = f"{cell['mean']:.2f} ({np.std(cell['rates'], ddof=1):.2f}, {len(cell['rates'])} seeds)"
            rows.append(f"| {cond} | {ours} | {mean:.2f} ({std:.2f}) | {diff:+.2f} | {'-' if math.isnan(p) else f'{p:.2f}'} |")
    if not rows:
        return []
    return ["", f"{METHOD_TITLES[method]} against the paper: mean (sample std, seeds) of the per-seed success rates, the "
            f"paper's mean (std over its {PAPER_SEEDS} seeds, taken as a sample std), their difference and the two-sided p "
            "of Welch's t-test (a small p: the gap is larger than the seeds' spread explains).", "",
            "| initial condition | ours | paper | difference | p |", "|---|---|---|---|---|", *rows]


def markdown_report(report: dict) -> str:
    """The Table-1-style markdown: ours (mean ± std over seeds) with the paper's value in brackets."""
    cfg = report["config"]
    methods = [m for m in METHODS if m in cfg["methods"]]
    lines = [
        f"# Table 1 in the built-in simulator (preset `{cfg['preset']}`)", "",
        "Success at the final step of the episode, mean ± std over seeds "
        f"({', '.join(map(str, cfg['seeds']))}), {cfg['eval_episodes']} episodes per seed and condition; "
        "the paper's value in brackets. Conditions marked * are not in the task data.", "",
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
        "- Data (transitions): " + ", ".join(f"{k} {v}" for k, v in report["dataset_transitions"].items())
        + "; scales (prior, task) of the paper's sizes: " + ", ".join(f"{k} {tuple(v)}" for k, v in cfg["scales"].items()),
        f"- Learning curves: {cfg['curve_episodes']} episodes per condition every {cfg['curve_interval']} steps "
        "(`curves_<scene>.png`).",
        f"- Machine: {report['machine']['platform']}, {report['machine']['cpus']} CPUs; "
        f"training time {sec['train_sum'] / 3600:.2f} CPU-hours in all"
        + (f" ({sec['train_mean'] / 60:.1f} min per run)" if sec["train_mean"] else "") + ".",
    ]
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
            for m in (m for m in METHODS if m in cfg["methods"]):
                c = report["curves"][cond][m]
                if not c["steps"]:
                    continue
                ys = np.array([[np.nan if v is None else v for v in vals] for vals in c["per_seed"].values()], dtype=float)
                steps = np.array(c["steps"])
                with warnings.catch_warnings():  # steps that no seed evaluated stay NaN (gaps in the line)
                    warnings.simplefilter("ignore", RuntimeWarning)
                    mean, low, high = np.nanmean(ys, axis=0), np.nanmin(ys, axis=0), np.nanmax(ys, axis=0)
                ax.plot(steps, mean, label=METHOD_TITLES[m], lw=2 if m == "cog" else 1.2)
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


def write_report(report: dict, out: Path) -> None:
    """results.json, results.md and the curve PNGs in `out` (written atomically); prints the table."""
    for name, text in (("results.json", json.dumps(report, indent=2)), ("results.md", markdown_report(report))):
        atomic_write_text(out / name, text)
    pngs = plot_curves(report, out)
    print("\n" + markdown_report(report))
    print(f"wrote {out / 'results.md'}, {out / 'results.json'}, " + ", ".join(str(p) for p in pngs))
