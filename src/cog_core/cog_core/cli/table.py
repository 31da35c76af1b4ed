"""`cogrl table`: the paper's Table 1 (and Figure 10's learning curves) in the built-in simulator."""

from __future__ import annotations

import argparse
from pathlib import Path


def _csv(text: str | None) -> tuple[str, ...] | None:
    return None if text is None else tuple(t.strip() for t in text.split(",") if t.strip())


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `cogrl table`."""
    from cog_core.cli.executor_args import add_executor_arguments
    from cog_core.rl.config import OBS_MODES
    from cog_core.rl.device import DEVICE_HELP
    from cog_core.experiments.table1.config import ALL_METHODS, ORACLE_METHOD, SCENES, TABLE_PRESETS
    from cog_core.scripted.policies import PRIOR_PROFILES
    from cog_core.seeds import SPLITS

    p = sub.add_parser(
        "table",
        help="reproduce Table 1: every method, both scenes, every seed; report, curves and videos",
        description=(
            "Collect (or reuse) the prior and task datasets of each scene, train every method of the paper's "
            "Table 1 on every seed, evaluate each final policy on every initial condition and write "
            "OUT/results.md (mean and std over seeds, pooled 95% intervals, the paper's numbers beside ours and COG's "
            "tested against them), "
            "OUT/results.json, learning curves OUT/curves_<scene>.png and COG rollout videos in OUT/videos. "
            "Finished runs are kept: running the command again resumes. Presets: "
            + "; ".join(f"{k}: {v.obs} obs, {v.steps_text()}, seeds {list(v.seeds)}, {v.eval_episodes} eval episodes"
                        for k, v in TABLE_PRESETS.items())
        ),
        epilog="example: cogrl table --preset cpu --out results/ --headline docs/results/table_image.json    (the table: test split)\n"
               "         cogrl table --preset cpu --seeds 3,4 --split val --out probes/share60 --set drawer:data.policy_task_share=0.6    (a probe)\n"
               "         cogrl table --preset paper --out /shared/results_paper --device cuda --executor ray --ray-address auto    "
               "(a Ray cluster of GPU machines: one GPU per run; docs/scaling.md)\n"
               "         cogrl table --report-only --out probes/drawer --merge probes/both/results.json    (a merged probe)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--preset", default="cpu", choices=list(TABLE_PRESETS), help="experiment size (default cpu)")
    p.add_argument("--out", default="results", help="output directory (default results)")
    p.add_argument("--scenes", default=None, help=f"comma-separated subset of {','.join(SCENES)}")
    p.add_argument("--methods", default=None,
                   help=f"comma-separated subset of {','.join(ALL_METHODS)} (default from the preset; {ORACLE_METHOD} "
                        "is COG on privileged state from the same data, the oracle row of a table from images)")
    p.add_argument("--seeds", default=None, help="comma-separated training seeds (default from the preset)")
    p.add_argument("--obs", default=None, choices=OBS_MODES,
                   help="observations of every run (default from the preset; images use the default frozen-encoder networks unless the preset says otherwise)")
    p.add_argument("--steps", default=None, metavar="N|SCENE=N,...",
                   help="gradient steps per run: N for every scene (replacing the preset's per-scene counts), "
                        "SCENE=N for one scene, or both, e.g. 20000,pick-place=30000 (default from the preset)")
    p.add_argument("--scale", default=None, metavar="SCENE=PRIOR[:TASK],...",
                   help="dataset sizes as fractions of the paper's, per scene, e.g. drawer=0.1:0.02 "
                        "(default from the preset; a missing TASK keeps the preset's). A new size needs a new --out: "
                        "finished collections are reused only at the size they were made")
    p.add_argument("--eval-episodes", type=int, default=None, help="final evaluation episodes per condition")
    p.add_argument("--workers", type=int, default=None,
                   help="collection workers, and runs trained at once with the local executor, one CPU thread each "
                        "(default 2; under Ray as many runs train at once as the cluster has CPUs, or GPUs with --device cuda). "
                        "Each collection worker draws its own episodes, so the datasets, and the table, depend on it")
    p.add_argument("--device", default=None, help=f"where every run trains: {DEVICE_HELP} (default auto)")
    p.add_argument("--set", action="append", default=[], metavar="[SCENE:]KEY=VALUE",
                   help="override a training config field of every run, after the preset's own (repeatable), "
                        "e.g. --set sac.policy_lr=3e-4; prefix a scene to change only its runs, "
                        "e.g. --set drawer:data.policy_task_share=0.55")
    p.add_argument("--split", default=None, choices=SPLITS,
                   help="episodes of the final evaluation: test (the preset's default) for the table that is reported, "
                        "val for probes and tuning; learning curves are always on val")
    p.add_argument("--prior-profile", default=None, choices=sorted(PRIOR_PROFILES),
                   help="the scripted behaviours' settings for the collections (default from the preset; state-table: "
                        "what the state Table 1 of docs/results/table_cpu.json used; docs/collection.md)")
    p.add_argument("--headline", default=None, metavar="PATH.json",
                   help="also write the report as a headline table to PATH.json and PATH.md (e.g. "
                        "docs/results/table_image.json); refused for merged reports, probes on val and tables with "
                        "missing runs")
    p.add_argument("--report-only", action="store_true", help="only rebuild the report from finished runs in OUT")
    add_executor_arguments(p, "collection workers and the runs (train + evaluate)")
    p.add_argument("--merge", default=None, metavar="RESULTS_JSON",
                   help="with --report-only: take the scenes' methods that have no finished run in OUT from an earlier "
                        "report of the same settings and split (checked). The result is a probe, labelled "
                        "\"probe: merged\", and never a headline table (--headline refuses it)")
    p.set_defaults(func=run)


def _load_report(path: Path) -> dict:
    """An earlier `cogrl table` results.json, or a UserError that says what is wrong with it."""
    import json

    from cog_core.cli import UserError

    try:
        report = json.loads(path.read_text())
    except FileNotFoundError:
        raise UserError(f"--merge {path}: no such file; give the results.json of an earlier `cogrl table`") from None
    except json.JSONDecodeError as err:
        raise UserError(f"--merge {path}: not JSON ({err}); give the results.json of an earlier `cogrl table`") from None
    if not isinstance(report, dict) or not {"config", "cells", "curves"} <= report.keys():
        raise UserError(f"--merge {path}: not a `cogrl table` report (no config, cells and curves)")
    return report


def run(args: argparse.Namespace) -> int:
    """Run (or resume) the experiment and write the report."""
    import time

    from cog_core.cli import UserError
    from cog_core.cli.executor_args import executor_session, executor_spec
    from cog_core.experiments.executors import ExecutorError, check_ray_device
    from cog_core.experiments.pipeline import CollectionMismatch
    from cog_core.rl.device import DeviceError, resolve_device
    from cog_core.experiments.table1.config import parse_scales, parse_steps, table_config
    from cog_core.experiments.table1.report import collect_report, merge_report, write_headline, write_report
    from cog_core.experiments.table1.run import recorded_sizes, refuse_shared_data, run_table

    seeds = _csv(args.seeds)
    try:
        steps, scene_steps = parse_steps(args.steps) if args.steps is not None else (None, {})
        cfg = table_config(
            args.preset, out=args.out, scenes=_csv(args.scenes), methods=_csv(args.methods),
            seeds=None if seeds is None else tuple(int(s) for s in seeds), obs=args.obs, steps=steps, scene_steps=scene_steps,
            scene_scales=parse_scales(args.scale) if args.scale is not None else None,
            eval_episodes=args.eval_episodes, workers=args.workers, extra_overrides=tuple(args.set),
            split=args.split, prior_profile=args.prior_profile, device=args.device,
        )
    except ValueError as err:
        raise UserError(str(err)) from None
    executor = executor_spec(args)
    try:
        if executor.is_ray:
            check_ray_device(cfg.device)
        elif not args.report_only:
            resolve_device(cfg.device)  # the runs train here: a missing GPU is one line now, not a failed run each
    except (DeviceError, ExecutorError) as err:
        raise UserError(str(err)) from None
    if args.merge and not args.report_only:
        raise UserError("--merge only rebuilds a report: add --report-only (a full run trains every missing run itself)")
    headline = Path(args.headline) if args.headline else None
    if headline is not None:
        if args.merge:
            raise UserError("--merge makes a probe, never a headline table: drop --headline (or --merge and train the runs)")
        if headline.suffix != ".json":
            raise UserError(f"--headline takes a .json path (its .md is written beside it), not {headline}")
        if cfg.split != "test":
            raise UserError("a headline table is evaluated on the test split: drop --split val (probes) or --headline")
    if args.report_only:
        out = Path(cfg.out)
        if not (out / "runs").is_dir():
            raise UserError(f"{out} holds no runs; run `cogrl table --out {out}` first")
        try:
            refuse_shared_data(out, cfg.scenes)
        except CollectionMismatch as err:
            raise UserError(str(err)) from None
        report = collect_report(cfg, out, recorded_sizes(cfg, out), 0.0)
        if args.merge:
            try:
                report = merge_report(report, _load_report(Path(args.merge)), args.merge)
            except ValueError as err:
                raise UserError(str(err)) from None
        write_report(report, out)
    else:
        t = time.perf_counter()
        try:
            with executor_session(executor, f"finished runs are kept in {cfg.out}: run the command again to resume"):
                report = run_table(cfg, executor)
        except CollectionMismatch as err:
            raise UserError(str(err)) from None
        print(f"total {(time.perf_counter() - t) / 60:.1f} min")
    if headline is not None:
        try:
            write_headline(report, headline)
        except ValueError as err:
            raise UserError(str(err)) from None
    return 0
