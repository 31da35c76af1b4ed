"""`cogrl collect`: scripted data collection in the simulator, logged to rosbag2."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `cogrl collect`."""
    from cog_core.cli.executor_args import add_executor_arguments
    from cog_core.scripted.policies import DEFAULT_PROFILE, PRIOR_PROFILES
    from cog_core.scripted.presets import PRESETS

    presets = "\n".join(f"  {p.name:18s} {p.role:5s} {p.paper_episodes:>6d} eps at scale 1: {p.description}" for p in PRESETS.values())
    p = sub.add_parser(
        "collect",
        help="collect a scripted dataset in the simulator into rosbag2 bags",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Run noisy scripted behaviours in the built-in simulator and log every control step as a "
            "cog_msgs/Step to rosbag2 (one bag directory per worker under --out).\n\npresets:\n" + presets
        ),
        epilog="example: cogrl collect --preset drawer-prior --scale 0.01 --workers 2 --out data/bags/drawer_prior\n"
               "         cogrl collect --preset drawer-prior --scale 1 --workers 64 --executor ray --ray-address auto "
               "--out /shared/bags/drawer_prior    (a Ray cluster; --out on a shared filesystem)",
    )
    p.add_argument("--preset", required=True, choices=sorted(PRESETS), help="dataset recipe")
    p.add_argument("--out", required=True, help="output directory (must be new or empty)")
    p.add_argument("--scale", type=float, default=0.01, help="fraction of the paper-scale episode count (default 0.01)")
    p.add_argument("--episodes", type=int, default=None, help="exact episode count (overrides --scale)")
    p.add_argument("--workers", type=int, default=1, help="workers (processes or Ray tasks), one bag directory each")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--prior-profile", default=DEFAULT_PROFILE, choices=sorted(PRIOR_PROFILES),
                   help=f"how competent the scripted behaviours are (default {DEFAULT_PROFILE}: the paper's noise and rules, "
                        "success rates in the paper's ranges; state-table: what the state Table 1 was collected with; "
                        "docs/collection.md)")
    p.add_argument("--noise", type=float, default=None,
                   help="Gaussian action noise std (default: the profile's; paper 0.2, original code 0.1)")
    p.add_argument("--image-size", type=int, default=48, choices=(48, 64))
    p.add_argument("--storage", default="mcap", choices=("mcap", "sqlite3"), help="rosbag2 storage plugin")
    p.add_argument("--max-steps", type=int, default=60, help="cap on one scripted episode's length")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_executor_arguments(p, "collection workers")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Collect and print the summary; 130 / 143 when SIGINT / SIGTERM stopped it early (every
    episode counted as finished is complete in the bags)."""
    import signal

    from cog_core.cli import UserError, check_output_dir
    from cog_core.cli.executor_args import executor_session, executor_spec
    from cog_core.experiments.collect import CollectConfig, collect, print_summary

    cfg = CollectConfig(
        preset=args.preset, out=args.out, scale=args.scale, episodes=args.episodes, workers=args.workers,
        seed=args.seed, prior_profile=args.prior_profile, noise_std=args.noise, image_size=args.image_size, storage=args.storage, max_steps=args.max_steps,
    )
    try:
        cfg.validate()
    except ValueError as err:
        raise UserError(str(err)) from None
    check_output_dir(args.out)
    executor = executor_spec(args)
    try:
        with executor_session(executor, f"the bags of the workers that finished are complete in {args.out}"):
            summary = collect(cfg, progress=not args.quiet, executor=executor)
    except FileExistsError as err:
        raise UserError(str(err)) from None
    print_summary(summary)
    if summary.interrupted:
        return 128 + int(getattr(signal, summary.interrupted, signal.SIGINT))
    return 0
