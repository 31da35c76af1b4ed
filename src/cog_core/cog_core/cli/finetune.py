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
            "written; OUT/finetune.jsonl and OUT/finetune.png hold success vs online episodes. "
            "Ctrl-C stops after the current episode and saves; --resume OUT continues exactly where the "
            "last save left off (a killed run loses the episodes since its last evaluation)."
        ),
        epilog=(
            "examples:\n"
            "  cogrl finetune --run runs/cog_drawer --condition drawer/closed --episodes 2000 --out runs/cog_drawer_ft\n"
            "  cogrl finetune --run runs/cog_drawer --episodes 1200 --out runs/cog_drawer_ft_all \\\n"
            "      --condition drawer/closed,drawer/blocked_by_top_drawer,drawer/blocked_by_object\n"
            "  cogrl finetune --run runs/cog_drawer --episodes 600 --lr-decay-from 0.5 --out runs/cog_drawer_ft_settled \\\n"
            "      --condition drawer/closed,drawer/blocked_by_top_drawer,drawer/blocked_by_object\n"
            "  cogrl finetune --resume runs/cog_drawer_ft_settled      # after Ctrl-C, a crash or a reboot"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    start = p.add_mutually_exclusive_group(required=True)
    start.add_argument("--run", help="offline run directory (with checkpoint.pt)")
    start.add_argument("--resume", metavar="OUT",
                       help="continue the fine-tuning in OUT with its own settings (OUT/finetune_config.json)")
    p.add_argument("--out", default=None, help="output run directory (default: <run>_finetune_<condition>)")
    # The fine-tuning settings default to None so that --resume can tell which were given.
    p.add_argument("--condition", default=None,
                   help=f"initial condition of the online episodes; several, comma-separated (one scene), take turns (default {d.condition})")
    p.add_argument("--episodes", type=int, default=None, help=f"online episodes (default {d.episodes})")
    p.add_argument("--online-fraction", type=float, default=None, help=f"share of online rows per batch (default {d.online_fraction})")
    p.add_argument("--updates-per-step", type=float, default=None, help=f"gradient steps per env step (default {d.updates_per_step})")
    p.add_argument("--eval-interval", type=int, default=None,
                   help=f"episodes between evaluations and checkpoints (default {d.eval_interval})")
    p.add_argument("--eval-episodes", type=int, default=None, help=f"episodes per evaluation (default {d.eval_episodes})")
    p.add_argument("--lr-decay-from", type=float, default=None, metavar="FRACTION",
                   help="after this fraction of the episodes every learning rate decays (cosine) to 0 at the last "
                        "episode, so the final policy settles (default: constant rates, as the paper)")
    p.add_argument("--prior", default=None, help="prior dataset (default: the one the run was trained on)")
    p.add_argument("--task", default=None, help="task dataset (default: the one the run was trained on)")
    p.add_argument("--seed", type=int, default=None, help=f"seeds the exploration and the online episodes (default {d.seed})")
    p.add_argument("--device", default=None, help=f"where to train: {DEVICE_HELP} (default: the run's setting, normally auto)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


# FinetuneConfig fields and the flags that set them.
SETTINGS = {"condition": "--condition", "episodes": "--episodes", "online_fraction": "--online-fraction",
            "updates_per_step": "--updates-per-step", "eval_interval": "--eval-interval",
            "eval_episodes": "--eval-episodes", "lr_decay_from": "--lr-decay-from", "seed": "--seed"}


def finetune_config(args: argparse.Namespace):
    """The FinetuneConfig to run: the flags over the defaults, or (with --resume) OUT's own
    settings, refusing flags that would change them."""
    import json
    from pathlib import Path

    from cog_core.cli import UserError
    from cog_core.config import ConfigError, from_dict
    from cog_core.rl.finetune import CONFIG_FILE, FinetuneConfig

    given = {field: getattr(args, field) for field in SETTINGS if getattr(args, field) is not None}
    if args.resume is None:
        return FinetuneConfig(**given)
    if given or args.out is not None:
        flags = [SETTINGS[f] for f in given] + (["--out"] if args.out is not None else [])
        raise UserError(f"--resume continues with the run's own settings; drop {', '.join(flags)}")
    path = Path(args.resume) / CONFIG_FILE
    try:
        return from_dict(FinetuneConfig, json.loads(path.read_text()))
    except FileNotFoundError:
        raise UserError(f"{path}: not found; --resume takes the --out directory of a `cogrl finetune` run") from None
    except (ValueError, ConfigError) as err:
        raise UserError(f"{path}: {err}") from None


def run(args: argparse.Namespace) -> int:
    """Fine-tune (or resume fine-tuning) and print the curve."""
    from pathlib import Path

    from cog_core.cli import UserError
    from cog_core.data.dataset import DatasetError, check_roles
    from cog_core.rl.checkpoint import CheckpointError, checkpoint_config, load_checkpoint
    from cog_core.rl.data import DataMismatch, load_train_data, run_dataset
    from cog_core.rl.device import resolve_device
    from cog_core.rl.finetune import Finetuner
    from cog_core.rl.run_dir import RunDir
    from cog_core.rl.trainer import Trainer

    ft_cfg = finetune_config(args)
    run_dir = Path(args.resume or args.run)
    ckpt = RunDir(run_dir).checkpoint
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
        what = "a `cogrl finetune` output directory" if args.resume else "a `cogrl train` run directory"
        raise UserError(f"{ckpt}: {err}; --{'resume' if args.resume else 'run'} must be {what}") from None
    try:
        paths = {role: run_dataset(meta, role, given) for role, given in (("task", args.task), ("prior", args.prior))}
    except FileNotFoundError as err:
        raise UserError(str(err)) from None
    if paths["task"] is None or (cfg.needs_prior and paths["prior"] is None):
        raise UserError("the run does not record its dataset files; pass --task (and --prior)")
    condition = ft_cfg.condition
    out = run_dir if args.resume else Path(args.out or f"{run_dir}_finetune_{condition.replace('/', '_').replace(',', '+')}")
    try:
        check_roles(paths["task"], paths["prior"] if cfg.needs_prior else None)
        data = load_train_data(cfg, paths["task"], paths["prior"])
        trainer = Trainer(cfg, data, out)
        trainer.load(ckpt)
        finetuner = Finetuner(trainer, data, ft_cfg, out)
        if args.resume:
            finetuner.restore()
    except (DatasetError, DataMismatch, CheckpointError, ValueError, FileNotFoundError) as err:
        raise UserError(str(err)) from None
    if args.resume:
        print(f"resuming the fine-tuning in {out} after {finetuner.episode} of {ft_cfg.episodes} online episodes "
              f"(step {trainer.step}, {cfg.algo}, obs={cfg.obs}) on {condition}")
    else:
        print(f"fine-tuning {run_dir} (step {trainer.step}, {cfg.algo}, obs={cfg.obs}) online on {condition} -> {out}")
    rows = finetuner.run(progress=not args.quiet)
    for r in rows:
        detail = "".join(f"  {c} {v:.2f}" for c, v in r.get("eval_by_condition", {}).items())
        print(f"  episode {r['episode']:5d}  env steps {r['env_steps']:7d}  eval success {r['eval_success']:.2f}{detail}")
    if finetuner.interrupted:
        print(f"interrupted after online episode {finetuner.episode} of {ft_cfg.episodes} (saved); continue with: "
              f"cogrl finetune --resume {out}")
        return 130
    print(f"wrote {out / 'finetune.jsonl'}, {out / 'finetune.png'}, {out / 'checkpoint.pt'}")
    return 0
