#!/usr/bin/env python3
"""Success rate of every scripted behaviour of the dataset presets, per prior profile.

Runs each (behaviour, initial condition) entry of every preset's mix for --episodes episodes
through the collection loop itself (`ScriptedRunner` on the simulator; nothing is recorded), and
prints each entry's rate of its behaviour's own goal with a 95 % Wilson interval, then the rates
the paper reports, pooled over the entries as the presets mix them (weights = mix weights, so
the pooled rate is what a collection of that preset holds):

    drawer opening / closing (paper: 40-50 %), grasping in the drawer scene (~70 %), the drawer
    task's grasps (~70 %), the pick-place prior's grasps (~50 %; ~40 % in the paper's main text),
    the pick-place task's places (> 90 %).

Run: .venv/bin/python scripts/measure_prior.py --profile paper --episodes 200 --workers 2 [--json out.json]
     (--set FIELD=VALUE changes a `PolicyConfig` field of the profile, for probing)
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

os.environ.setdefault("MUJOCO_GL", "egl")

# The paper's rates (Section 5 and Appendix A.1) and the preset entries they pool: (preset,
# behaviours without the "weak_" prefix, conditions where the behaviour can succeed).
PAPER_RATES: list[tuple[str, str, str, tuple[str, ...], tuple[str, ...]]] = [
    ("drawer opening", "40-50 %", "drawer-prior", ("open_bottom", "open_top"), ("drawer/closed",)),
    ("drawer closing", "40-50 %", "drawer-prior", ("close_bottom", "close_top"), ("drawer/open", "drawer/blocked_by_top_drawer")),
    ("grasping in the drawer scene (the bottle)", "~70 %", "drawer-prior", ("grasp_blocker",), ("drawer/closed", "drawer/open")),
    ("drawer task: grasp from the open drawer", "~70 %", "drawer-task", ("grasp",), ("drawer/open",)),
    ("pick-place prior: grasps", "~50 % (~40 % in the main text)", "pick-place-prior", ("grasp_high",), ("pick_place/object_on_table",)),
    ("pick-place task: place", "> 90 %", "pick-place-task", ("place",), ("pick_place/object_in_gripper",)),
]


class _Discard:
    """A `Recorder` that keeps nothing (the measurement needs only the runner's outcome)."""

    def __init__(self) -> None:
        self.t = 0

    def begin_episode(self, task: str, initial_condition: str, policy: str, *,
                      policy_params: dict[str, Any] | None = None, seed: int = 0) -> str:
        self.t = 0
        return "episode"

    def add_step(self, observation: Any, state: Any, action: Any, reward: float = 0.0, *, lowdim: Any = None) -> int:
        self.t += 1
        return self.t - 1

    def end_episode(self, final_observation: Any, final_state: Any, *, success: bool, final_lowdim: Any = None,
                    info: dict[str, Any] | None = None) -> str:
        return "episode"

    def abort_episode(self, reason: str = "") -> None:
        pass


def _measure(job: tuple[str, int, str, dict[str, Any], int, int]) -> dict[str, Any]:
    """Run `episodes` episodes of one preset entry; return its counts."""
    from cog_core.scripted.policies import PolicyConfig
    from cog_core.scripted.presets import Preset, get_preset
    from cog_core.stations.base import Recorder
    from cog_core.stations.scripted_runner import RunnerConfig, ScriptedRunner
    from cog_core.stations.sim import SimStation

    preset_name, index, profile, config, episodes, seed = job
    preset = get_preset(preset_name)
    entry = preset.mix[index]
    one = Preset(f"{preset.name}[{index}]", preset.role, preset.task, episodes, (entry,), preset.description, preset.min_steps)
    station = SimStation(entry.condition)
    run_cfg = RunnerConfig(preset=preset.name, episodes=episodes, seed=seed, stream=index, prior_profile=profile)
    runner = ScriptedRunner(station, _Discard(), run_cfg, preset=one, policy_config=PolicyConfig(**config))
    assert isinstance(runner.recorder, Recorder)
    ok = task_ok = steps = 0
    try:
        while runner.remaining:
            runner.begin()
            done = False
            while not done:
                _, done = runner.step()
            ep = runner.finish()
            ok += ep.behaviour_success
            task_ok += ep.success
            steps += ep.steps
    finally:
        station.close()
    return {"preset": preset.name, "behaviour": entry.behaviour, "condition": entry.condition, "weight": entry.weight,
            "episodes": episodes, "successes": ok, "task_successes": task_ok, "mean_length": steps / episodes}


def main() -> None:
    """Measure every entry, print the per-entry and pooled tables, optionally write JSON."""
    from cog_core.config import apply_overrides
    from cog_core.experiments.stats import wilson_interval
    from cog_core.scripted.policies import PRIOR_PROFILES, profile_config
    from cog_core.scripted.presets import PRESETS

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--profile", default="paper", choices=sorted(PRIOR_PROFILES))
    p.add_argument("--episodes", type=int, default=200, help="episodes per preset entry")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--presets", default=",".join(PRESETS), help="comma-separated presets to measure")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help="change a PolicyConfig field (probes)")
    p.add_argument("--json", default=None, help="write the measurements here")
    args = p.parse_args()

    config = apply_overrides(profile_config(args.profile), args.set) if args.set else profile_config(args.profile)
    jobs = [(name, i, args.profile, asdict(config), args.episodes, args.seed)
            for name in args.presets.split(",") for i in range(len(PRESETS[name].mix))]
    t0 = time.perf_counter()
    with mp.get_context("spawn").Pool(args.workers) as pool:
        rows = pool.map(_measure, jobs, chunksize=1)
    seconds = time.perf_counter() - t0
    print(f"profile {args.profile}: " + ", ".join(f"{k}={v}" for k, v in asdict(config).items())
          + f"; {args.episodes} episodes per entry, seed {args.seed}, {seconds:.0f} s")
    print("\n| preset | behaviour @ condition | mix weight | success | 95% CI |\n|---|---|---|---|---|")
    for r in rows:
        low, high = wilson_interval(r["successes"], r["episodes"])
        print(f"| {r['preset']} | {r['behaviour']} @ {r['condition']} | {r['weight']:g} | "
              f"{r['successes'] / r['episodes']:.2f} | [{low:.2f}, {high:.2f}] |")
    print("\n| what the paper reports | paper | here (pooled as the preset mixes it) |\n|---|---|---|")
    pooled = {}
    for title, paper, preset, behaviours, conditions in PAPER_RATES:
        chosen = [r for r in rows if r["preset"] == preset and r["behaviour"].removeprefix("weak_") in behaviours
                  and r["condition"] in conditions]
        if not chosen:
            continue
        rate = sum(r["weight"] * r["successes"] / r["episodes"] for r in chosen) / sum(r["weight"] for r in chosen)
        pooled[title] = rate
        parts = ", ".join(f"{r['behaviour']} {r['successes'] / r['episodes']:.2f}" for r in chosen)
        print(f"| {title} | {paper} | {rate:.2f} ({parts}) |")
    if args.json:
        record = {"profile": args.profile, "config": asdict(config), "episodes": args.episodes, "seed": args.seed,
                  "seconds": seconds, "entries": rows, "pooled": pooled}
        Path(args.json).write_text(json.dumps(record, indent=2))
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
