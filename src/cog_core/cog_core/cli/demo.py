"""`cogrl demo`: the main job, the COG pipeline end to end in the built-in simulator."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `cogrl demo`."""
    from cog_core.experiments.demo import DEFAULT_STEPS, DemoConfig
    from cog_core.scripted.policies import PRIOR_PROFILES

    d = DemoConfig()
    p = sub.add_parser(
        "demo",
        help="run the main job: collect, convert, train COG and no-prior from images, evaluate, deploy (small preset)",
        description=(
            "The main job, end to end in the built-in simulator: render every initial condition, collect a "
            "drawer prior and task dataset with the noisy scripted policies (rosbag2), convert them to HDF5 "
            "(prior rewards set to 0), train COG and the no-prior ablation side by side, evaluate both on every "
            "drawer condition (with rollout videos of COG) and print a success table, then export COG's policy to "
            "OUT/policy and run it through the policy node's own decision loop on the sim camera, so the demo ends "
            "with a model `ros2 launch cog_policy run.launch.py` accepts. By default it learns from what a robot "
            "sees (the 48x48 camera image and the arm's state) and finishes in about 16 minutes on 2 CPU cores; "
            "--obs state learns from privileged object poses instead (faster, sim only). Re-running reuses "
            "collected bags in OUT/bags."
        ),
    )
    p.add_argument("--out", default=d.out, help=f"output directory (default {d.out})")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--steps", type=int, default=None,
                   help="gradient steps per method (default " + ", ".join(f"{v} for {k}" for k, v in DEFAULT_STEPS.items()) + ")")
    p.add_argument("--obs", default=d.obs, choices=("image+state", "image", "state"),
                   help=f"observations (default {d.obs}: camera image + arm state; state: privileged poses, faster, sim only)")
    p.add_argument("--videos", type=int, default=d.videos, help=f"COG rollout videos per condition (default {d.videos})")
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
        videos=args.videos,
    )
    try:
        cfg.validate()
    except ValueError as err:
        raise UserError(f"{err} (see `cogrl demo --help`)") from None
    try:
        run_demo(cfg)
    except CollectionMismatch as err:
        raise UserError(str(err)) from None
    return 0
