#!/usr/bin/env python3
"""Several seeds' online fine-tuning curves in one figure and one Markdown table.

Reads each `cogrl finetune` output's `finetune.jsonl` (its evaluations, on the `val` episodes) and
prints, per condition, the mean success over the seeds at every evaluated episode count that all
of them reached (with the per-seed rates at the last one), then draws each condition's mean
(solid) and each seed (thin) against online episodes.

A seed fine-tuned in rounds (`cogrl finetune --run ft/seed0 --out ft/seed0_more ...`) is given as
its outputs joined by "+": each later round's episodes count on from the round before, whose final
evaluation stands for the later round's episode 0.

Run: .venv/bin/python scripts/finetune_seeds.py ft/seed0+ft/seed0_more ft/seed1 ft/seed2 --png docs/results/ft.png [--every 100]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np


def load_rows(run: Path) -> list[dict[str, Any]]:
    """The evaluations of one fine-tuning output, in episode order."""
    path = run / "finetune.jsonl"
    if not path.is_file():
        raise SystemExit(f"error: {path}: not found; pass `cogrl finetune` output directories")
    return sorted((json.loads(line) for line in path.read_text().splitlines() if line.strip()), key=lambda r: r["episode"])


def load_chain(spec: str) -> list[dict[str, Any]]:
    """The evaluations of one seed's rounds ("a+b+c"), episodes counted on across the rounds."""
    rows: list[dict[str, Any]] = []
    for part in spec.split("+"):
        offset = rows[-1]["episode"] if rows else 0
        more = load_rows(Path(part))
        rows += [dict(r, episode=r["episode"] + offset) for r in (more[1:] if rows else more)]
    return rows


def by_condition(row: dict[str, Any]) -> dict[str, float]:
    """A row's success per condition (one condition: the row's own rate under the name "all")."""
    return row.get("eval_by_condition") or {"all": row["eval_success"]}


def main() -> int:
    """Print the table and write the figure."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", help="`cogrl finetune` output directories, one per seed (rounds joined by +)")
    ap.add_argument("--png", type=Path, help="write the figure here")
    ap.add_argument("--every", type=int, default=100, help="table columns every this many episodes (default 100)")
    args = ap.parse_args()

    seeds = [{r["episode"]: r for r in load_chain(run)} for run in args.runs]
    common = sorted(set.intersection(*(set(s) for s in seeds)))
    columns = [e for e in common if e % args.every == 0] or common
    conditions = list(by_condition(seeds[0][common[0]]))
    print(f"{len(seeds)} seeds; mean success of fine-tuning's own evaluations by online episodes (per seed at {columns[-1]})\n")
    print("| online episodes | " + " | ".join(str(e) for e in columns) + " |")
    print("|---|" + "---|" * len(columns))
    for cond in conditions:
        means = [np.mean([by_condition(s[e])[cond] for s in seeds]) for e in columns]
        last = ", ".join(f"{by_condition(s[columns[-1]])[cond]:.2f}" for s in seeds)
        cells = [f"{m:.2f}" for m in means]
        cells[-1] += f" ({last})"
        print(f"| `{cond}` | " + " | ".join(cells) + " |")

    if args.png:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 3.8))
        for i, cond in enumerate(conditions):
            color = f"C{i}"
            for s in seeds:
                eps = sorted(s)
                ax.plot(eps, [by_condition(s[e])[cond] for e in eps], color=color, alpha=0.25, linewidth=0.8)
            ax.plot(common, [np.mean([by_condition(s[e])[cond] for s in seeds]) for e in common], "o-", color=color,
                    markersize=3, label=cond.split("/", 1)[-1])
        ax.set_xlabel("online episodes")
        ax.set_ylabel("success (its evaluations)")
        ax.set_ylim(-0.03, 1.03)
        ax.set_title(f"online fine-tuning, {len(seeds)} seeds (thin: each seed)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        args.png.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.png, dpi=110)
        print(f"\nwrote {args.png}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
