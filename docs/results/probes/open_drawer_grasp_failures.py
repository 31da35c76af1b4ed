"""Why COG's grasps from the open drawer fail: where each episode's reach comes down, against the object.

Rolls each run's final policy on the same episode seeds as `cogrl table`'s final evaluation of
`drawer/open` (the first of the drawer's conditions) and records, per episode, the object's start
position, the gripper's x-y where it first comes below REACH_Z (the reach), the lowest height it
gets to, how far the drawer gets pushed shut, and success. Prints, per run, the failure rate for
objects in the near part of the drawer and for the rest, and the slope of reach x on object x
(1.0: the reach follows the object). With --critic, also compares along the first steps the
policy's x action with the critic's best x action (the other action dimensions the policy's).
Usage: python open_drawer_grasp_failures.py RUN_DIR [RUN_DIR ...] --episodes 250 --json out.json --png out.png
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")

import numpy as np  # noqa: E402

from cog_core.experiments.evaluate import episode_seed, policy_dir_for  # noqa: E402
from cog_core.stations.rollout import policy_observation  # noqa: E402
from cog_core.rl.runtime import PolicyRuntime  # noqa: E402
from cog_core.sim import make_env  # noqa: E402

CONDITION, CONDITION_INDEX = "drawer/open", 0  # its index in the table's drawer conditions
REACH_Z = 0.07  # m: the gripper's height at which the reach counts as come down
NEAR_X = 0.35  # m: objects at smaller x lie in the near part of the drawer


def rollout(env, runtime: PolicyRuntime, seed: int) -> dict:
    """One episode: object start, reach point, lowest gripper height, drawer travel, success."""
    names = env.lowdim_names
    ix = {k: names.index(k) for k in ("x", "y", "z", "object_x", "object_y", "bottom_drawer_open")}
    obs, info = env.reset(seed=seed)
    start = info["lowdim"]
    reach, z_min, drawer_min = None, float("inf"), float("inf")
    while True:
        s = info["lowdim"]
        if reach is None and s[ix["z"]] < REACH_Z:
            reach = [float(s[ix["x"]] - s[ix["object_x"]]), float(s[ix["y"]] - s[ix["object_y"]])]
        z_min, drawer_min = min(z_min, float(s[ix["z"]])), min(drawer_min, float(s[ix["bottom_drawer_open"]]))
        obs, _, terminated, truncated, info = env.step(runtime.act(policy_observation(obs, info, runtime.keys)))
        if terminated or truncated:
            break
    return {"object_x": float(start[ix["object_x"]]), "object_y": float(start[ix["object_y"]]), "reach_offset": reach,
            "z_min": z_min, "drawer_min": drawer_min, "success": bool(info["success"])}


def critic_vs_policy(run: str, episodes: int, steps: int = 5, seed: int = 0) -> list[dict]:
    """Per episode and early step: the policy's dx and the dx on a grid that the critic (min of two Qs) rates best."""
    import torch

    from cog_core.rl.export import model_from_checkpoint
    from cog_core.rl.networks import prepare_obs

    model, cfg, _ = model_from_checkpoint(Path(run) / "checkpoint.pt")
    if cfg.obs != "state":
        raise SystemExit(f"--critic reads state-observation runs only; {run} has obs={cfg.obs!r}")
    grid = torch.linspace(-1, 1, 81)
    env, out = make_env(CONDITION), []
    for i in range(episodes):
        _, info = env.reset(seed=episode_seed(seed, CONDITION_INDEX, i))
        object_x = float(info["lowdim"][env.lowdim_names.index("object_x")])
        for t in range(steps):
            x = prepare_obs({"lowdim": torch.as_tensor(info["lowdim"], dtype=torch.float32)[None]}, "state",
                            model.vec_mean, model.vec_std)
            with torch.no_grad():
                action = model.act_deterministic(x)
                candidates = action.repeat(len(grid), 1)
                candidates[:, 0] = grid
                q = model.q_values(model.q_feat_parts(model.critic_features(x)), candidates[None]).min(0).values[0]
            out.append({"episode": i, "step": t, "object_x": object_x, "policy_dx": float(action[0, 0]),
                        "critic_dx": float(grid[q.argmax()])})
            _, _, _, _, info = env.step(action[0].numpy())
    return out


def summarize(rows: list[dict]) -> dict:
    """Failure rates near / far, reach-on-object slope, and the failures' reach offsets and heights."""
    ox = np.array([r["object_x"] for r in rows])
    ok = np.array([r["success"] for r in rows])
    came_down = np.array([r["reach_offset"] is not None for r in rows])
    reach_x = np.array([ox[i] + rows[i]["reach_offset"][0] if came_down[i] else np.nan for i in range(len(rows))])
    slope = float(np.polyfit(ox[came_down], reach_x[came_down], 1)[0])
    near = ox < NEAR_X
    fail = ~ok
    return {
        "episodes": len(rows), "success": float(ok.mean()), "reach_slope": slope,
        "near_share": float(near.mean()), "fail_near": float(fail[near].mean()), "fail_far": float(fail[~near].mean()),
        "failures_near_share": float(near[fail].mean()) if fail.any() else None,
        "reach_dx_success": float(np.nanmean(reach_x[ok] - ox[ok])),
        "reach_dx_failure": float(np.nanmean(reach_x[fail] - ox[fail])) if fail.any() else None,
        "z_min_success": float(np.mean([r["z_min"] for r in rows if r["success"]])),
        "z_min_failure": float(np.mean([r["z_min"] for r in rows if not r["success"]])) if fail.any() else None,
        "drawer_pushed_below_0.8_failure": float(np.mean([r["drawer_min"] < 0.8 for r in rows if not r["success"]])) if fail.any() else None,
    }


def plot(results: dict[str, list[dict]], path: str) -> None:
    """Reach x against object x, one panel per run, successes and failures apart."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(4 * len(results), 4), sharey=True, squeeze=False)
    for ax, (run, rows) in zip(axes[0], results.items()):
        for success, colour, label in ((True, "tab:green", "success"), (False, "tab:red", "failure")):
            pts = [(r["object_x"], r["object_x"] + r["reach_offset"][0]) for r in rows if r["success"] == success and r["reach_offset"]]
            if pts:
                ax.scatter(*zip(*pts), s=8, c=colour, label=label)
        lo, hi = min(r["object_x"] for r in rows), max(r["object_x"] for r in rows)
        ax.plot([lo, hi], [lo, hi], "k--", lw=1, label="reach = object")
        ax.axvline(NEAR_X, color="grey", lw=0.5)
        ax.set_title(f"{Path(run).parent.parent.parent.parent.name}/{Path(run).name}", fontsize=9)
        ax.set_xlabel("object x at the start (m)")
    axes[0][0].set_ylabel(f"gripper x when it comes below z={REACH_Z} m")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--episodes", type=int, default=250)
    parser.add_argument("--critic", type=int, default=0, help="episodes for the critic-vs-policy comparison (0: skip)")
    parser.add_argument("--json", default=None)
    parser.add_argument("--png", default=None)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    results, summaries, critic = {}, {}, {}
    for run in args.runs:
        with policy_dir_for(run) as policy_dir:
            runtime, env = PolicyRuntime.load(policy_dir), make_env(CONDITION)
            results[run] = [rollout(env, runtime, episode_seed(0, CONDITION_INDEX, i)) for i in range(args.episodes)]
        summaries[run] = summarize(results[run])
        print(run, {k: round(v, 4) if isinstance(v, float) else v for k, v in summaries[run].items()})
        if args.critic:
            critic[run] = critic_vs_policy(run, args.critic)
            for t in range(5):
                at = [c for c in critic[run] if c["step"] == t]
                for name, sel in (("near", lambda c: c["object_x"] < NEAR_X), ("far", lambda c: c["object_x"] >= NEAR_X)):
                    part = [c for c in at if sel(c)]
                    if part:
                        print(f"  step {t} {name}: policy dx {np.mean([c['policy_dx'] for c in part]):+.2f}, "
                              f"critic's best dx {np.mean([c['critic_dx'] for c in part]):+.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"condition": CONDITION, "episodes": args.episodes, "near_x": NEAR_X, "reach_z": REACH_Z,
                       "summary": summaries, "critic": critic, "episodes_detail": results}, f, indent=1)
    if args.png:
        plot(results, args.png)


if __name__ == "__main__":
    main()
