"""Table and bar chart of the frozen-encoder probes (issue 37) from the `cogrl eval --json` files here.

    .venv/bin/python docs/results/probes/frozen_encoder/summarize.py    # prints the markdown table, writes val.png
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

HERE = Path(__file__).parent
CONDITIONS = ["drawer/open", "drawer/closed", "drawer/blocked_by_top_drawer", "drawer/blocked_by_object"]
# (label, run names): each run's evaluation is HERE / f"{run}.val.json"
GROUPS = [
    ("contrastive, 256x128 heads (the default)", ["cmix_s0", "cmix_s1", "cmix_s2"]),
    ("the default, seed 0 again with 2 threads (the timed run)", ["timed2t_s0"]),
    ("contrastive, 128x128 heads", ["c128_s0", "c128_s1", "c128_s2"]),
    ("contrastive, 256x256 heads", ["con_s0", "con_s1", "c256_s2"]),
    ("e2e: 10K end-to-end updates, then frozen, 256x256", ["e2e_s0", "e2e_s1"]),
    ("e2e: 5K, then frozen, 256x256", ["e2e5k_s0"]),
    ("autoencoder (conv decoder), 256x256", ["ae_s0"]),
    ("oracle: regress privileged poses (ablation), 256x256", ["oracle_s0"]),
]
PAPER = {"drawer/open": 0.98, "drawer/closed": 0.68, "drawer/blocked_by_top_drawer": 0.78, "drawer/blocked_by_object": 0.76}


def rates(run: str) -> dict[str, float] | None:
    """Success rate per condition of one run, or None when it has no evaluation here."""
    path = HERE / f"{run}.val.json"
    if not path.exists():
        return None
    return {r["condition"]: r["success_rate"] for r in json.loads(path.read_text())["results"]}


def main() -> None:
    """Print the table (mean ± sample std over seeds, then each seed) and draw the chart."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    print("| encoder | seeds | " + " | ".join(c.split("/")[1] for c in CONDITIONS) + " |")
    print("|---|---|" + "---|" * len(CONDITIONS))
    means = []
    for label, runs in GROUPS:
        found = [r for r in (rates(run) for run in runs) if r is not None]
        if not found:
            continue
        cells = []
        for c in CONDITIONS:
            v = [r[c] for r in found]
            each = " / ".join(f"{x:.2f}" for x in v)
            cells.append(f"{statistics.mean(v):.2f} ± {statistics.stdev(v):.2f} ({each})" if len(v) > 1 else each)
        print(f"| {label} | {len(found)} | " + " | ".join(cells) + " |")
        means.append((label, len(found), [statistics.mean(r[c] for r in found) for c in CONDITIONS]))
    fig, ax = plt.subplots(figsize=(13, 4))
    width = 0.8 / (len(means) + 1)
    for i, (label, n, m) in enumerate(means):
        ax.bar([k + i * width for k in range(len(CONDITIONS))], m, width, label=f"{label} ({n} seed{'s' if n > 1 else ''})")
    ax.bar([k + len(means) * width for k in range(len(CONDITIONS))], [PAPER[c] for c in CONDITIONS], width,
           color="black", alpha=0.3, label="paper (COG, images)")
    ax.set_xticks([k + 0.4 - width / 2 for k in range(len(CONDITIONS))], [c.split("/")[1] for c in CONDITIONS])
    ax.set_ylabel("success rate (val split, 100 episodes)")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title("Drawer COG from image + arm state, 60K updates: which frozen encoder")
    fig.tight_layout()
    fig.savefig(HERE / "val.png", dpi=110)


if __name__ == "__main__":
    main()
