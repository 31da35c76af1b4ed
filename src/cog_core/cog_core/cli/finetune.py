"""`cogrl finetune`: online fine-tuning of an offline run in the simulator (the paper's Figure 5)."""

from __future__ import annotations

import argparse
import textwrap


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `cogrl finetune`."""
    from cog_core.rl.device import DEVICE_HELP
    from cog_core.rl.finetune import FinetuneConfig

    d = FinetuneConfig()
    p = sub.add_parser(
        "finetune",
        help="continue CQL online in the simulator, mixing offline and online data (Figure 5)",
        description=textwrap.fill(
            "Load an offline run (its checkpoint and, unless given, the datasets it was trained on), then "
            "repeatedly collect one episode from --condition (several take turns) with the stochastic policy, add it to an online "
            "buffer (true sim rewards) and take gradient steps on batches mixing offline and online rows. "
            "Every --eval-interval episodes the deterministic policy is evaluated and OUT/checkpoint.pt is "
            "written; OUT/finetune.jsonl and OUT/finetune.png hold success vs online episodes."
        ),
        epilog=(
            "examples:\n"
            "  cogrl finetune --run runs/cog_drawer --condition drawer/closed --episodes 2000 --out runs/cog_drawer_ft\n"
            "  cogrl finetune --run runs/cog_drawer --episodes 1200 --out runs/cog_drawer_ft_all \\\n"
            "      --condition drawer/closed,drawer/blocked_by_top_drawer,drawer/blocked_by_object\n"
            "  cogrl finetune --run runs/cog_drawer --episodes 600 --lr-decay-from 0.5 --out runs/cog_drawer_ft_settled \\\n"
            "      --condition drawer/closed,drawer/blocked_by_top_drawer,drawer/blocked_by_object"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--run", required=True, help="offline run directory (with checkpoint.pt)")
    p.add_argument("--out", default=None, help="output run directory (default: <run>_finetune_<condition>)")
    p.add_argument("--condition", default=d.condition,
                   help=f"initial condition of the online episodes; several, comma-separated (one scene), take turns (default {d.condition})")
    p.add_argument("--episodes", type=int, default=d.episodes, help=f"online episodes (default {d.episodes})")
    p.add_argument("--online-fraction", type=float, default=d.online_fraction, help="share of online rows per batch")
    p.add_argument("--updates-per-step", type=float, default=d.updates_per_step, help="gradient steps per env step")
    p.add_argument("--eval-interval", type=int, default=d.eval_interval, help="episodes between evaluations")
    p.add_argument("--eval-episodes", type=int, default=d.eval_episodes, help="episodes per evaluation")
    p.add_argument("--lr-decay-from", type=float, default=d.lr_decay_from, metavar="FRACTION",
                   help="after this fraction of the episodes every learning rate decays (cosine) to 0 at the last "
                        "episode, so the final policy settles (default: constant rates, as the paper)")
    p.add_argument("--prior", default=None, help="prior dataset (default: the one the run was trained on)")
    p.add_argument("--task", default=None, help="task dataset (default: the one the run was trained on)")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--device", default=None, help=f"where to train: {DEVICE_HELP} (default: the run's setting, normally auto)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Fine-tune and print the curve."""
    from pathlib import Path

    from cog_core.cli import UserError
    from cog_core.data.dataset import DatasetError, check_roles
    from cog_core.rl.checkpoint import CheckpointError, checkpoint_config, load_checkpoint
    from cog_core.rl.data import DataMismatch, load_train_data, run_dataset
    from cog_core.rl.device import resolve_device
    from cog_core.rl.finetune import FinetuneConfig, Finetuner
    from cog_core.rl.run_dir import RunDir
    from cog_core.rl.trainer import Trainer

    run_dir = Path(args.run)
    ckpt = RunDir(run_dir).checkpoint
    ft_cfg = FinetuneConfig(condition=args.condition, episodes=args.episodes, updates_per_step=args.updates_per_step,
                            online_fraction=args.online_fraction, eval_interval=args.eval_interval,
                            eval_episodes=args.eval_episodes, seed=args.seed, lr_decay_from=args.lr_decay_from)
    try:
        ft_cfg.validate()
        meta = load_checkpoint(ckpt)["meta"]
        cfg = checkpoint_config(ckpt, meta)
        if args.device is not None:
            cfg.device = args.device
            cfg.validate()
        resolve_device(cfg.device)  # DeviceError (a ValueError) for a GPU this machine lacks
    except KeyError as err:
        raise UserError(str(err).strip("'\"")) from None
    except ValueError as err:
        raise UserError(str(err)) from None
    except (FileNotFoundError, CheckpointError) as err:
        raise UserError(f"{ckpt}: {err}; --run must be a `cogrl train` run directory") from None
    try:
        paths = {role: run_dataset(meta, role, given) for role, given in (("task", args.task), ("prior", args.prior))}
    except FileNotFoundError as err:
        raise UserError(str(err)) from None
    if paths["task"] is None or (cfg.needs_prior and paths["prior"] is None):
        raise UserError("the run does not record its dataset files; pass --task (and --prior)")
    try:
        check_roles(paths["task"], paths["prior"] if cfg.needs_prior else None)
        data = load_train_data(cfg, paths["task"], paths["prior"])
        out = Path(args.out or f"{run_dir}_finetune_{args.condition.replace('/', '_').replace(',', '+')}")
        trainer = Trainer(cfg, data, out)
        trainer.load(ckpt)
        finetuner = Finetuner(trainer, data, ft_cfg, out)
    except (DatasetError, DataMismatch, CheckpointError, ValueError, FileNotFoundError) as err:
        raise UserError(str(err)) from None
    print(f"fine-tuning {run_dir} (step {trainer.step}, {cfg.algo}, obs={cfg.obs}) online on {args.condition} -> {out}")
    rows = finetuner.run(progress=not args.quiet)
    for r in rows:
        detail = "".join(f"  {c} {v:.2f}" for c, v in r.get("eval_by_condition", {}).items())
        print(f"  episode {r['episode']:5d}  env steps {r['env_steps']:7d}  eval success {r['eval_success']:.2f}{detail}")
    print(f"wrote {out / 'finetune.jsonl'}, {out / 'finetune.png'}, {out / 'checkpoint.pt'}")
    return 0
