"""`cogrl demo`: the main job, the COG pipeline end to end in the built-in simulator."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `cogrl demo`."""
    from cog_core.experiments.demo import DemoConfig
    from cog_core.scripted.policies import PRIOR_PROFILES

    d = DemoConfig()
    p = sub.add_parser(
        "demo",
        help="run the main job: collect, convert, train COG and no-prior, evaluate (small preset)",
        description=(
            "The main job, end to end in the built-in simulator: render every initial condition, collect a "
            "drawer prior and task dataset with the noisy scripted policies (rosbag2), convert them to HDF5 "
            "(prior rewards set to 0), train COG and the no-prior ablation side by side, evaluate both on every "
            "drawer condition and print a success table. Defaults finish in well under 20 minutes on 2 CPU "
            "cores, using state observations (robot state + privileged object poses). Re-running reuses "
            "collected bags in OUT/bags."
        ),
    )
    p.add_argument("--out", default=d.out, help=f"output directory (default {d.out})")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--steps", type=int, default=d.steps, help=f"gradient steps per method (default {d.steps})")
    p.add_argument("--obs", default=d.obs, choices=("state", "image"), help="observations (default state: fast)")
    p.add_argument("--prior-scale", type=float, default=d.prior_scale, help="prior size as a fraction of the paper's (a new size needs a new --out)")
    p.add_argument("--task-scale", type=float, default=d.task_scale, help="task size as a fraction of the paper's (a new size needs a new --out)")
    p.add_argument("--eval-episodes", type=int, default=d.eval_episodes, help="evaluation episodes per condition")
    p.add_argument("--workers", type=int, default=d.workers, help="worker processes for collection and evaluation")
    p.add_argument("--prior-profile", default=d.prior_profile, choices=sorted(PRIOR_PROFILES),
                   help=f"the scripted behaviours' settings (default {d.prior_profile}; see `cogrl collect --help`)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the demo."""
    from cog_core.cli import UserError
    from cog_core.experiments.demo import DemoConfig, run_demo
    from cog_core.experiments.pipeline import CollectionMismatch

    cfg = DemoConfig(
        out=args.out, seed=args.seed, steps=args.steps, obs=args.obs, prior_scale=args.prior_scale,
        task_scale=args.task_scale, eval_episodes=args.eval_episodes, workers=args.workers, prior_profile=args.prior_profile,
    )
    try:
        run_demo(cfg)
    except CollectionMismatch as err:
        raise UserError(str(err)) from None
    return 0
