"""Where COG's episodes on `drawer/blocked_by_object` end: success, or the first stage they missed.

Rolls each run's final policy on the same episode seeds as `cogrl table`'s final evaluation
(the condition is the fourth of the drawer's four) and sorts every episode into one outcome.
With --prior, also counts the prior dataset's episodes, per scripted behaviour, that end with
the bottle knocked over.
Usage: python blocked_by_object_failures.py RUN_DIR [RUN_DIR ...] --episodes 250 --prior drawer_prior.h5 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os

os.environ.setdefault("MUJOCO_GL", "egl")

from cog_core.experiments.evaluate import episode_seed, policy_dir_for  # noqa: E402
from cog_core.stations.rollout import run_episode  # noqa: E402
from cog_core.rl.runtime import PolicyRuntime  # noqa: E402
from cog_core.sim import make_env  # noqa: E402

CONDITION, CONDITION_INDEX = "drawer/blocked_by_object", 3  # its index in the table's drawer conditions
OUTCOMES = ("success", "bottle knocked over", "bottle moved, drawer not opened", "drawer opened, object not grasped",
            "grasped, not held at the end")


def outcome(success: bool, reached: dict[str, int | None]) -> str:
    """The episode's outcome: success, else the first thing that went wrong."""
    if success:
        return OUTCOMES[0]
    if reached["blocker_fallen"] is not None:
        return OUTCOMES[1]
    if reached["drawer_opened"] is None:
        return OUTCOMES[2]
    if reached["grasped"] is None:
        return OUTCOMES[3]
    return OUTCOMES[4]


def classify(run: str, episodes: int, seed: int = 0) -> dict[str, int]:
    """Outcome counts of `episodes` evaluation episodes of the run's final policy, and how many
    episodes (successful or not) knocked the bottle over at some step."""
    counts = dict.fromkeys((*OUTCOMES, "knocked over, any outcome"), 0)
    with policy_dir_for(run) as policy_dir:
        runtime = PolicyRuntime.load(policy_dir)
        env = make_env(CONDITION)
        for i in range(episodes):
            reached: dict[str, int | None] = {}
            ok, _, _ = run_episode(env, runtime, episode_seed(seed, CONDITION_INDEX, i), reached=reached)
            counts[outcome(ok, reached)] += 1
            counts["knocked over, any outcome"] += reached["blocker_fallen"] is not None
    return counts


def prior_knockovers(path: str) -> dict[str, list[int]]:
    """Per behaviour of a converted prior dataset: [episodes, episodes ending with the bottle down]."""
    import h5py
    import numpy as np

    from cog_core.sim.layout import SCENES
    from cog_core.sim.tasks import blocker_fallen

    out: dict[str, list[int]] = {}
    with h5py.File(path, "r") as f:
        z = make_env("drawer/closed").lowdim_names.index("blocker_z")
        for demo in f["data"].values():
            key = f"{demo.attrs['policy']} @ {demo.attrs['initial_condition']}"
            last = np.asarray(demo["next_obs/lowdim"][-1])
            row = out.setdefault(key, [0, 0])
            row[0] += 1
            row[1] += blocker_fallen(np.array([0.0, 0.0, last[z]]), SCENES["drawer"])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--episodes", type=int, default=250)
    parser.add_argument("--prior", default=None, help="a converted drawer prior dataset (HDF5)")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    results = {run: classify(run, args.episodes) for run in args.runs}
    for run, counts in results.items():
        print(run, {k: f"{v / args.episodes:.3f}" for k, v in counts.items()})
    prior = prior_knockovers(args.prior) if args.prior else None
    for key, (n, down) in (prior or {}).items():
        if down:
            print(f"prior {key}: {down} of {n} episodes end with the bottle knocked over")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"episodes": args.episodes, "condition": CONDITION, "counts": results, "prior_knockovers": prior}, f, indent=2)


if __name__ == "__main__":
    main()
