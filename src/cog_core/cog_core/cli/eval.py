"""`cogrl eval`: success rates of a trained policy in the simulator, per initial condition."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `cogrl eval`."""
    from cog_core.cli.executor_args import add_executor_arguments
    from cog_core.seeds import MAX_EVAL_SEED, SPLITS

    p = sub.add_parser(
        "eval",
        help="evaluate a trained policy in the simulator (success at the final step, 95%% CI)",
        description=(
            "Roll the deterministic policy (tanh of the mean) out in the built-in simulator and report, "
            "per initial condition, the fraction of episodes that succeed at their final step, with a "
            "95% Wilson confidence interval. --run takes a run directory (its checkpoint is exported "
            "on the fly) or an export directory from `cogrl export`."
        ),
        epilog="example: cogrl eval --run runs/cog_drawer --conditions drawer/closed,drawer/open --episodes 250 --workers 2 --json results.json\n"
               "         cogrl eval --run runs/cog_drawer --conditions drawer/closed --episodes 2000 --workers 40 --executor ray --ray-address auto\n"
               "         cogrl eval --run runs/cog_drawer --conditions drawer/closed --split test --episodes 250    (final numbers only)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--run", required=True, help="run directory (checkpoint.pt) or policy export directory (policy.json)")
    p.add_argument("--conditions", required=True, help="comma-separated initial conditions (see `cogrl envs`)")
    p.add_argument("--episodes", type=int, default=50, help="episodes per condition (paper: 250)")
    p.add_argument("--workers", type=int, default=1, help="chunks the episodes are dealt to (worker processes or Ray tasks)")
    p.add_argument("--split", default="val", choices=SPLITS,
                   help="evaluation episodes: val (default) for everything done while developing, test for final "
                        "numbers only; both are disjoint from every training episode")
    p.add_argument("--seed", type=int, default=0,
                   help=f"evaluation seed within the split, 0-{MAX_EVAL_SEED - 1} (episode seeds derive from it)")
    p.add_argument("--json", default=None, help="write the results to this JSON file")
    p.add_argument("--videos", type=int, default=0, help="record this many rollout videos per condition")
    p.add_argument("--video-dir", default=None, help="where videos go (default: <run>/videos)")
    add_executor_arguments(p, "evaluation chunks")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Evaluate and print."""
    from pathlib import Path

    from cog_core.cli import UserError
    from cog_core.cli.executor_args import executor_session, executor_spec
    from cog_core.experiments.evaluate import evaluate, print_results, write_results

    conditions = [c.strip() for c in args.conditions.split(",") if c.strip()]
    video_dir = args.video_dir or (str(Path(args.run) / "videos") if args.videos else None)
    executor = executor_spec(args)
    try:
        with executor_session(executor, "nothing was written"):
            results = evaluate(args.run, conditions, args.episodes, args.workers, args.seed, video_dir, args.videos,
                               split=args.split, executor=executor)
    except (FileNotFoundError, KeyError, ValueError) as err:
        raise UserError(str(err).strip("'\"")) from None
    print_results(results, title=f"evaluation of {args.run} ({args.split} split, seed {args.seed})")
    if args.json:
        write_results(results, args.json, {"run": args.run, "episodes": args.episodes, "split": args.split, "seed": args.seed})
        print(f"wrote {args.json}")
    for r in results:
        for v in r.videos:
            print(f"video: {v}")
    return 0
