"""`cogrl train`: offline RL (COG = CQL on prior + task data) or a baseline, from HDF5 datasets."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cog_core.cli import UserError

if TYPE_CHECKING:
    from cog_core.rl.config import TrainConfig

EPILOG = """\
examples:
  cogrl train --algo cog --prior data/drawer_prior.h5 --task data/drawer_task.h5 \\
      --obs image+state --steps 60000 --out runs/cog_drawer      # frozen, pretrained encoder (default)
  cogrl train ... --obs image+state --arch fast ...             # end to end (for a GPU)
  cogrl train --algo no-prior --task data/drawer_task.h5 --obs state --steps 20000 --out runs/np
  cogrl train --config my.yaml --set sac.policy_lr=3e-5 --set cql.alpha=5 ... --out runs/x
  cogrl train --out runs/cog_drawer --resume            # continue after Ctrl-C or a crash
  cogrl train ... --eval-conditions drawer/closed,drawer/open --eval-episodes 10

algos: cog (CQL on prior+task), no-prior (CQL on task only), bc (BC on all data),
bc-oracle (BC on successful task episodes), bc-init (BC on prior, then CQL on task), sac
(offline SAC, no conservatism). obs: image (as the original), image+state, state
(privileged sim poses, fast). Every hyperparameter is a TrainConfig field: set it with
--set section.key=value or a YAML --config. Ctrl-C stops after the current update, saves
the checkpoint and exits; --resume continues exactly where it stopped. --resume refuses flags
that contradict the run (another --algo, --obs, --set cql.alpha=...) and datasets whose
content differs from the run's (--allow-data-change accepts them); --steps, --threads,
--device, --eval-conditions/--eval-episodes and --set log_interval/eval_interval/ckpt_interval=N
are applied, and said. The datasets' checksums are verified on load (--no-verify skips that).
The run directory gets config.yaml, metrics.csv, eval.jsonl, tb/ (TensorBoard), checkpoint.pt."""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register `train`."""
    from cog_core.rl.config import ALGOS, ARCHS, OBS_MODES
    from cog_core.rl.device import DEVICE_HELP

    p = subparsers.add_parser(
        "train", help="train COG (CQL) or a baseline policy offline from datasets",
        description=__doc__.split(":", 1)[1].strip(), epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", required=True, help="run directory (created)")
    p.add_argument("--task", help="task dataset (.h5 from `cogrl convert --role task`; with --resume: the run's)")
    p.add_argument("--prior", help="prior dataset (.h5, rewards ignored); needed by cog, bc, bc-init, sac (with --resume: the run's)")
    p.add_argument("--algo", choices=ALGOS, help="algorithm (default cog)")
    p.add_argument("--obs", choices=OBS_MODES, help="observations (default image)")
    p.add_argument("--arch", choices=ARCHS, help="image networks: frozen (default; an encoder pretrained on the datasets' own "
                        "images by temporal contrast, then frozen: updates on cached features at about the cost of state "
                        "updates; --set encoder.objective=contrastive|autoencoder|e2e|oracle|random), fast (one shared "
                        "encoder trained end to end, ~10x slower on a CPU) or paper (Fig. 8, separate CNNs; for a GPU)")
    p.add_argument("--steps", type=int, help="total gradient steps")
    p.add_argument("--seed", type=int, help="random seed")
    p.add_argument("--batch-size", type=int, help="batch size (default 256)")
    p.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    p.add_argument("--device", help=f"where to train: {DEVICE_HELP} (default auto; --resume may move a run to another device)")
    p.add_argument("--config", help="YAML file of TrainConfig fields")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config field (repeatable)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    p.add_argument("--force", action="store_true", help="start over even if --out already holds a run")
    p.add_argument("--eval-conditions", help="comma-separated sim conditions to evaluate every eval_interval steps (--resume reuses the run's)")
    p.add_argument("--eval-episodes", type=int, default=None, help="episodes per condition per evaluation (default 10)")
    p.add_argument("--allow-data-change", action="store_true", help="with --resume: continue on datasets whose content differs from the run's")
    p.add_argument("--no-verify", action="store_true", help="load the datasets without checking their checksums (faster; damage goes unnoticed)")
    p.add_argument("--print-config", action="store_true", help="print the resolved config as YAML and exit")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _overrides(args: argparse.Namespace) -> list[str]:
    out = []
    for flag, key in (("algo", "algo"), ("obs", "obs"), ("arch", "arch"), ("steps", "steps"), ("seed", "seed"),
                      ("batch_size", "batch_size"), ("threads", "threads"), ("device", "device")):
        value = getattr(args, flag)
        if value is not None:
            out.append(f"{key}={value}")
    return out + list(args.set)


def _resume_defaults(args: argparse.Namespace, meta: dict, out: Path) -> str | None:
    """Fill what --resume was not given from the run: its datasets and evaluation settings.
    Returns a note when the evaluation settings given replace the run's."""
    from cog_core.rl.data import run_dataset
    from cog_core.rl.run_dir import RunDir

    for role in ("task", "prior"):
        try:
            setattr(args, role, run_dataset(meta, role, getattr(args, role)))
        except FileNotFoundError as err:
            raise UserError(str(err)) from None
    settings = RunDir(out).eval_settings
    if not settings.is_file():
        return None
    try:
        saved = json.loads(settings.read_text())
        conditions, episodes = str(saved["conditions"]), int(saved["episodes"])
    except (ValueError, KeyError, TypeError):
        if args.eval_conditions is None:
            raise UserError(f"{settings} is damaged; pass --eval-conditions (and --eval-episodes) again") from None
        return None
    if args.eval_conditions is None:
        args.eval_conditions = conditions
        if args.eval_episodes is None:
            args.eval_episodes = episodes
        return None
    given = (args.eval_conditions, args.eval_episodes if args.eval_episodes is not None else episodes)
    if given != (conditions, episodes):
        return f"evaluating {given[0]} x {given[1]} episodes from now on (the run evaluated {conditions} x {episodes})"
    return None


def _resume_config(args: argparse.Namespace, ckpt: Path, meta: dict) -> tuple[TrainConfig, dict[str, Any]]:
    """The run's config with what --resume may change applied, and those changes; UserError
    naming every flag that contradicts the run."""
    import yaml

    from cog_core.config import ConfigError, apply_overrides, from_dict, to_dict
    from cog_core.rl.checkpoint import checkpoint_config
    from cog_core.rl.config import TrainConfig
    from cog_core.rl.resume import RESUME_CHANGEABLE

    saved = checkpoint_config(ckpt, meta)
    wanted = to_dict(saved)
    if args.config:
        try:
            loaded = yaml.safe_load(Path(args.config).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as err:
            raise ConfigError(f"config file {args.config} cannot be read as YAML ({err})") from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"config file {args.config} must hold a mapping at the top level")
        wanted.update(loaded)
    new = apply_overrides(from_dict(TrainConfig, wanted), _overrides(args))
    before, after = to_dict(saved), to_dict(new)
    conflicts = _differences(before, after, set(RESUME_CHANGEABLE))
    if conflicts:
        raise UserError(
            f"--resume continues {args.out} as it was configured, but {', '.join(conflicts)}; drop "
            f"{'that flag' if len(conflicts) == 1 else 'those flags'}, or start a new run (another --out, or --force)"
        )
    return new, {k: after[k] for k in RESUME_CHANGEABLE if after[k] != before[k]}


def _differences(before: dict, after: dict, allowed: set[str], prefix: str = "") -> list[str]:
    """'key=new (the run has old)' for every value that differs, outside `allowed`."""
    out = []
    for key, old in before.items():
        if prefix + key in allowed:
            continue
        new = after.get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            out += _differences(old, new, allowed, prefix + key + ".")
        elif new != old:
            out.append(f"{prefix}{key}={new} contradicts the run's {old}")
    return out


def run(args: argparse.Namespace) -> int:
    """Train; print a summary; return 0, or 130 after Ctrl-C (checkpoint saved)."""
    from rich.console import Console
    from rich.table import Table

    from cog_core.cli import check_output_dir
    from cog_core.config import ConfigError, load_config
    from cog_core.data.dataset import DatasetError, check_roles
    from cog_core.rl.checkpoint import CheckpointError, load_checkpoint
    from cog_core.rl.config import TrainConfig
    from cog_core.rl.data import DataMismatch, load_train_data
    from cog_core.rl.device import DeviceError, resolve_device
    from cog_core.rl.evaluation import sim_eval_fn
    from cog_core.files import atomic_write_text
    from cog_core.rl.run_dir import RunDir
    from cog_core.rl.trainer import Trainer
    from cog_core.sim.conditions import CONDITIONS

    out = Path(args.out)
    check_output_dir(out)
    run = RunDir(out)
    ckpt = run.checkpoint
    console = Console(stderr=True)
    changes: dict[str, Any] = {}
    eval_note = None
    try:
        if args.resume:
            if not ckpt.is_file():
                raise UserError(f"--resume: {ckpt} does not exist; start a new run without --resume")
            meta = load_checkpoint(ckpt)["meta"]
            cfg, changes = _resume_config(args, ckpt, meta)
            eval_note = _resume_defaults(args, meta, out)
        else:
            if ckpt.exists() and not args.force:
                raise UserError(f"{out} already holds a run; pass --resume to continue it or --force to start over")
            if args.allow_data_change:
                raise UserError("--allow-data-change only applies with --resume")
            cfg = load_config(TrainConfig, args.config, _overrides(args))
    except (ConfigError, CheckpointError) as err:
        raise UserError(str(err)) from None
    eval_conditions = [c.strip() for c in (args.eval_conditions or "").split(",") if c.strip()]
    unknown = [c for c in eval_conditions if c not in CONDITIONS]
    if unknown:
        raise UserError(f"--eval-conditions: unknown condition(s) {unknown}; valid: {', '.join(CONDITIONS)}")
    if args.eval_episodes is None:
        args.eval_episodes = 10
    if args.eval_episodes < 1:
        raise UserError(f"--eval-episodes must be >= 1, got {args.eval_episodes}")
    if args.print_config:
        import yaml

        from cog_core.config import to_dict

        print(yaml.safe_dump(to_dict(cfg), sort_keys=False), end="")
        return 0
    try:
        resolve_device(cfg.device)  # before any data is loaded: a missing GPU is one clear line
    except DeviceError as err:
        raise UserError(str(err)) from None
    if args.task is None:
        raise UserError("--task is required (the task dataset .h5)")
    if cfg.needs_prior and args.prior is None:
        raise UserError(f"algo {cfg.algo!r} trains on prior data: pass --prior data/<prior>.h5")
    try:
        check_roles(args.task, args.prior if cfg.needs_prior else None)
        data = load_train_data(cfg, args.task, args.prior, verify=not args.no_verify)
    except (DatasetError, DataMismatch) as err:
        raise UserError(str(err)) from None
    unverified = [n for n, part in zip(data.names, data.parts) if not part.meta.get("verified", True)]
    if unverified and not args.no_verify:
        console.print(f"note: the {' and '.join(unverified)} dataset(s) predate checksums and were loaded unverified; "
                      "convert them again to have them checked")
    eval_fn = None
    if eval_conditions:
        eval_fn = sim_eval_fn(eval_conditions, args.eval_episodes)
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(run.eval_settings, json.dumps({"conditions": ",".join(eval_conditions), "episodes": args.eval_episodes}))
    try:
        if args.resume:
            trainer = Trainer.resume(out, data, eval_fn, allow_data_change=args.allow_data_change, **changes)
        else:
            if args.force and ckpt.exists():
                ckpt.unlink()
                run.metrics.unlink(missing_ok=True)
                run.eval_log.unlink(missing_ok=True)
            trainer = Trainer(cfg, data, out, eval_fn)
    except (DataMismatch, CheckpointError) as err:
        raise UserError(str(err)) from None
    if changes:
        console.print("resuming with " + ", ".join(f"{k}={v}" for k, v in changes.items()) + " (the rest as the run was configured)")
    if eval_note:
        console.print(eval_note)
    if args.resume and args.allow_data_change:
        console.print("--allow-data-change: continuing on the datasets given, whatever the run was trained on")
    prov = data.provenance()
    console.print(
        f"[bold]{cfg.algo}[/] obs={cfg.obs} arch={cfg.arch if cfg.obs != 'state' else 'mlp'} device={trainer.device} "
        f"rows={prov['rows_per_phase']} from step {trainer.step} to {cfg.steps}"
    )
    result = trainer.train(progress=not args.quiet)
    table = Table(title=f"cogrl train: {out}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_row("steps", str(result["step"]))
    table.add_row("updates/s", f"{result['steps_done'] / max(result['seconds'], 1e-9):.2f}")
    for k in ("q1_loss", "cql1", "td1", "policy_loss", "alpha_ent", "q1_data"):
        if k in result["last"]:
            table.add_row(k, f"{result['last'][k]:.4g}")
    table.add_row("checkpoint", str(ckpt))
    console.print(table)
    if result["interrupted"]:
        console.print(f"interrupted at step {result['step']}; checkpoint saved. Continue with: cogrl train --out {out} --resume")
        return 130
    return 0
