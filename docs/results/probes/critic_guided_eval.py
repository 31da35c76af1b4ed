"""Does the critic know what the actor misses? Evaluate COG runs with the critic choosing each action.

A diagnostic, not a method of the paper. At every step it draws N actions from the run's own
policy (its tanh-Gaussian), adds the deterministic action, and executes the one that the
critic (the minimum of the two Q-functions) rates highest. Episodes, seeds and success are the
same as in `cogrl table`'s final evaluation, so the numbers compare one-to-one with each run's
`final_eval.json` (the policy alone). If the critic's choice succeeds where the actor fails, the
missing precision is the actor's, not the value function's.
Usage: python critic_guided_eval.py RUN_DIR [RUN_DIR ...] --samples 16 --episodes 250 --json out.json
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")

import numpy as np  # noqa: E402

CONDITIONS = ("drawer/open", "drawer/closed", "drawer/blocked_by_top_drawer", "drawer/blocked_by_object")


class CriticGuidedPolicy:
    """`.act(obs)`: the best of the deterministic action and `samples` policy draws under min(Q1, Q2)."""

    keys = ["lowdim"]

    def __init__(self, run: str, samples: int, seed: int) -> None:
        import torch

        from cog_core.rl.export import model_from_checkpoint

        self.model, cfg, _ = model_from_checkpoint(Path(run) / "checkpoint.pt")
        if cfg.obs != "state":
            raise SystemExit(f"{run}: this probe reads state-observation runs only (obs={cfg.obs!r})")
        self.samples = samples
        self.generator = torch.Generator().manual_seed(seed)

    def act(self, obs: dict) -> np.ndarray:
        import torch

        from cog_core.rl.networks import prepare_obs

        m = self.model
        with torch.no_grad():
            x = prepare_obs({"lowdim": torch.as_tensor(obs["lowdim"], dtype=torch.float32)[None]}, "state",
                            m.vec_mean, m.vec_std)
            mean, log_std = m.policy_head(m.policy_features(x))
            eps = torch.randn((self.samples, mean.shape[1]), generator=self.generator)
            candidates = torch.cat([torch.tanh(mean), torch.tanh(mean + log_std.exp() * eps)])
            q = m.q_values(m.q_feat_parts(m.critic_features(x)), candidates[None]).min(0).values[0]
            return candidates[q.argmax()].numpy().astype(np.float32)


def evaluate_condition(job: tuple[str, int, str, int, int]) -> dict:
    """Success of the critic-guided policy of one run on one condition (table's episode seeds)."""
    import torch

    from cog_core.experiments.evaluate import episode_seed
    from cog_core.stations.rollout import run_episode
    from cog_core.sim import make_env

    torch.set_num_threads(1)
    run, ci, condition, episodes, samples = job
    policy, env = CriticGuidedPolicy(run, samples, seed=ci), make_env(condition)
    wins, stages = [], []
    try:
        for i in range(episodes):
            reached: dict = {}
            wins.append(bool(run_episode(env, policy, episode_seed(0, ci, i), reached=reached)[0]))
            stages.append(reached)
    finally:
        env.close()
    reached_share = {k: float(np.mean([s[k] is not None for s in stages])) for k in stages[0]} if stages else {}
    return {"run": run, "condition": condition, "episodes": episodes, "success_rate": float(np.mean(wins)),
            "reached": reached_share}


def policy_alone(run: str) -> dict[str, float]:
    """The run's own final evaluation (deterministic policy), by condition."""
    path = Path(run) / "final_eval.json"
    if not path.is_file():
        return {}
    return {r["condition"]: r["success_rate"] for r in json.loads(path.read_text())["results"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="COG run directories (state observations) with checkpoint.pt")
    parser.add_argument("--samples", type=int, default=16, help="policy draws per step besides the deterministic action")
    parser.add_argument("--episodes", type=int, default=250)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--conditions", default=None, help="comma-separated subset of the four (default: all)")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    wanted = args.conditions.split(",") if args.conditions else CONDITIONS
    unknown = set(wanted) - set(CONDITIONS)
    if unknown:
        raise SystemExit(f"unknown condition(s) {sorted(unknown)}; choose from {', '.join(CONDITIONS)}")
    jobs = [(run, ci, c, args.episodes, args.samples) for run in args.runs
            for ci, c in enumerate(CONDITIONS) if c in wanted]
    with mp.get_context("spawn").Pool(args.workers) as pool:
        rows = pool.map(evaluate_condition, jobs, chunksize=1)
    for run in args.runs:
        alone = policy_alone(run)
        cells = [f"{c.split('/')[1]} {alone.get(c, float('nan')):.2f} -> {r['success_rate']:.2f}"
                 for c in wanted for r in rows if r["run"] == run and r["condition"] == c]
        print(run, " | ".join(cells))
    if args.json:
        out = {"samples": args.samples, "episodes": args.episodes, "conditions": list(wanted),
               "results": [dict(r, policy_alone=policy_alone(r["run"]).get(r["condition"])) for r in rows]}
        Path(args.json).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
