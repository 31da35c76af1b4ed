"""Failed `drawer/open` episodes: does the gripper never close on the object, or hold it and lose it?

Rolls each run's final policy on the first N of `cogrl table`'s evaluation start states for
`drawer/open` and records, per episode, the first step at which the object counts as held (the
`grasped` flag: the gripper closed with the object within 5 cm of it), how many steps it is held,
and the object's highest point (the task needs it above 0.10 m and held at the last step).
The table's `reached: grasped` counts an episode that held the object at any one step, so a
grasp that slips at once counts as reached; this script separates the two.
Usage: python held_then_lost.py RUN_DIR [RUN_DIR ...] --episodes 100 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os

os.environ.setdefault("MUJOCO_GL", "egl")

import gymnasium  # noqa: E402
import numpy as np  # noqa: E402

from cog_core.experiments.evaluate import episode_seed, policy_dir_for  # noqa: E402
from cog_core.stations.rollout import run_episode  # noqa: E402
from cog_core.rl.runtime import PolicyRuntime  # noqa: E402
from cog_core.sim import make_env  # noqa: E402

CONDITION, CONDITION_INDEX = "drawer/open", 0


class HoldRecorder(gymnasium.Wrapper):
    """Records, per step, whether the object is held and how high it is."""

    def reset(self, **kwargs):
        self.held, self.heights = [], []
        return self.env.reset(**kwargs)

    def step(self, action):
        out = self.env.step(action)
        self.held.append(bool(out[-1]["grasped"]))
        self.heights.append(float(out[-1]["object_height"]))
        return out


def rollout(env: HoldRecorder, runtime: PolicyRuntime, seed: int) -> dict:
    """One episode: success, first held step (counted from 1, as the table's stages), steps held, highest point."""
    success, _, _ = run_episode(env, runtime, seed)
    held = env.held
    return {"success": success, "first_held": held.index(True) + 1 if any(held) else None,
            "held_steps": int(sum(held)), "max_object_height": max(env.heights)}


def summarize(rows: list[dict]) -> dict:
    """Success, and for the failures: the share that ever held the object, median first-held step and hold length."""
    ok = [r for r in rows if r["success"]]
    bad = [r for r in rows if not r["success"]]

    def median(rs: list[dict], key: str) -> float | None:
        vals = [r[key] for r in rs if r[key] is not None]
        return float(np.median(vals)) if vals else None

    return {"episodes": len(rows), "success": len(ok) / len(rows),
            "failures_that_held": float(np.mean([r["first_held"] is not None for r in bad])) if bad else None,
            "first_held_step_success": median(ok, "first_held"), "first_held_step_failure": median(bad, "first_held"),
            "held_steps_failure": median(bad, "held_steps"), "max_object_height_failure": median(bad, "max_object_height")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="run directories (with checkpoint.pt) or exported policies")
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--json", help="write every episode and the summaries here")
    args = parser.parse_args()
    out = {}
    for run in args.runs:
        with policy_dir_for(run) as policy_dir:
            runtime, env = PolicyRuntime.load(policy_dir), HoldRecorder(make_env(CONDITION))
            rows = [rollout(env, runtime, episode_seed(0, CONDITION_INDEX, i)) for i in range(args.episodes)]
        out[run] = {"summary": summarize(rows), "episodes": rows}
        print(run, json.dumps(out[run]["summary"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
