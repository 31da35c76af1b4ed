"""CQL(H) loss terms against hand-computed values, and the tanh-Gaussian maths."""

from __future__ import annotations

import math

import numpy as np
import torch

from cog_core.rl.config import TrainConfig
from cog_core.rl.cql import Batch, Noise, bellman_target, compute_losses, cql_penalty
from cog_core.rl.distributions import tanh_gaussian_log_prob, tanh_gaussian_sample
from cog_core.rl.networks import StateModel


def test_cql_penalty_by_hand():
    q_data = torch.tensor([1.0, 2.0])
    q_unif = torch.tensor([[0.5], [1.0]])
    q_pi_s, logp_s = torch.tensor([[0.2], [0.3]]), torch.tensor([[-1.0], [-2.0]])
    q_pi_n, logp_n = torch.tensor([[0.1], [0.4]]), torch.tensor([[-0.5], [0.5]])
    for temp in (1.0, 2.0):
        got = cql_penalty(q_data, q_unif, q_pi_s, logp_s, q_pi_n, logp_n, action_dim=2, temperature=temp)
        # log density of uniform on [-1, 1]^2 is log(0.25); rows: [q_u - log .25, q_n - logp_n, q_s - logp_s]
        row0 = [0.5 - math.log(0.25), 0.1 + 0.5, 0.2 + 1.0]
        row1 = [1.0 - math.log(0.25), 0.4 - 0.5, 0.3 + 2.0]
        lse = [temp * math.log(sum(math.exp(v / temp) for v in row)) for row in (row0, row1)]
        want = (lse[0] + lse[1]) / 2 - 1.5
        assert abs(float(got) - want) < 1e-6


def test_bellman_target_by_hand():
    r, d = torch.tensor([0.0, 1.0, 1.0]), torch.tensor([0.0, 0.0, 1.0])
    q1, q2 = torch.tensor([2.0, 3.0, 5.0]), torch.tensor([2.5, 1.0, 7.0])
    y = bellman_target(r, d, q1, q2, discount=0.9)
    assert torch.allclose(y, torch.tensor([0.9 * 2.0, 1.0 + 0.9 * 1.0, 1.0]))
    y = bellman_target(r, d, q1, q2, discount=0.9, reward_scale=2.0, entropy_bonus=torch.tensor([0.5, -1.0, 3.0]))
    assert torch.allclose(y, torch.tensor([0.9 * 1.5, 2.0 + 0.9 * 2.0, 2.0]))

    # N sampled next actions (max backup): the best of each row's per-draw targets.
    q1n, q2n = torch.tensor([[2.0, 4.0], [3.0, 0.0], [5.0, 9.0]]), torch.tensor([[2.5, 1.0], [1.0, 6.0], [7.0, 8.0]])
    y = bellman_target(r, d, q1n, q2n, discount=0.9)
    assert torch.allclose(y, torch.tensor([0.9 * 2.0, 1.0 + 0.9 * 1.0, 1.0]))


def _tiny_losses_on_rows(b: int, draws: int, seed: int, **batch_kw):
    """A tiny double-precision state model with one fixed batch and noise; returns (cfg, losses) where
    losses(rows, draws, bc) runs compute_losses on those rows and backup draws and returns floats."""
    torch.manual_seed(0)
    cfg = TrainConfig(obs="state")
    cfg.net.state_hidden = (8,)
    model = StateModel(cfg, vec_dim=3, action_dim=2).double()
    with torch.no_grad():
        for p in model.target_qs.parameters():
            p.add_(0.3 * torch.randn_like(p))
    g = torch.Generator().manual_seed(seed)
    rnd = lambda k: torch.randn(b, k, 2, generator=g, dtype=torch.float64)  # noqa: E731
    obs = {"vec": torch.randn(b, 3, generator=g, dtype=torch.float64)}
    nxt = {"vec": torch.randn(b, 3, generator=g, dtype=torch.float64)}
    batch = Batch(obs={}, next_obs={}, actions=torch.rand(b, 2, generator=g, dtype=torch.float64) * 2 - 1, **batch_kw)
    noise = Noise(None, None, eps_pi=rnd(1), eps_target=rnd(draws), eps_cql_s=rnd(1), eps_cql_next=rnd(1), uniform=rnd(1))
    unit_alpha = lambda logp: torch.tensor(1.0, dtype=torch.float64)  # noqa: E731

    def losses(rows: slice = slice(None), target_draws: slice = slice(None), bc: bool = False) -> dict[str, float]:
        sub = Batch(obs={}, next_obs={}, actions=batch.actions[rows], rewards=batch.rewards[rows], dones=batch.dones[rows],
                    is_task=None if batch.is_task is None else batch.is_task[rows])
        nz = Noise(None, None, *(t[rows] for t in (noise.eps_pi, noise.eps_target[:, target_draws], noise.eps_cql_s,
                                                  noise.eps_cql_next, noise.uniform)))
        out = compute_losses(model, cfg, {"vec": obs["vec"][rows]}, {"vec": nxt["vec"][rows]}, sub, nz,
                             train_critic=True, bc_policy_loss=bc, alpha_step=unit_alpha)
        return {k: float(v) for k, v in out.items()}

    return cfg, losses


def test_max_backup_target_is_the_best_single_draw_target_per_row():
    """With cql.max_backup_actions=N the target of each row is the max of its N one-draw targets."""
    b, n = 4, 5
    _, losses = _tiny_losses_on_rows(b, n, seed=1, rewards=torch.tensor([0.0, 1.0, 0.0, 1.0], dtype=torch.float64),
                                     dones=torch.tensor([0.0, 0.0, 1.0, 0.0], dtype=torch.float64))
    target = lambda rows, draws: losses(rows, draws)["target"]  # noqa: E731

    per_draw = np.array([[target(slice(i, i + 1), slice(k, k + 1)) for k in range(n)] for i in range(b)])
    assert np.ptp(per_draw[[0, 1, 3]], axis=1).min() > 1e-6  # the draws disagree, so the max is a real choice
    for i in range(b):
        assert abs(target(slice(i, i + 1), slice(0, n)) - per_draw[i].max()) < 1e-12
    assert abs(target(slice(0, b), slice(0, n)) - per_draw.max(axis=1).mean()) < 1e-12
    assert per_draw[2].max() == per_draw[2].min() == 0.0  # a terminal row's target is its reward alone


def test_tanh_gaussian_matches_torch_distributions():
    torch.manual_seed(0)
    mean, log_std = torch.randn(5, 3, dtype=torch.float64), torch.randn(5, 3, dtype=torch.float64) * 0.5
    eps = torch.randn(5, 2, 3, dtype=torch.float64)
    a, logp = tanh_gaussian_sample(mean, log_std, eps)
    dist = torch.distributions.TransformedDistribution(
        torch.distributions.Independent(torch.distributions.Normal(mean, log_std.exp()), 1),
        [torch.distributions.TanhTransform()],
    )
    ref = dist.log_prob(a.transpose(0, 1)).transpose(0, 1)
    assert torch.allclose(a, torch.tanh(mean[:, None] + log_std.exp()[:, None] * eps))
    assert torch.allclose(logp, ref, atol=1e-8)
    # log pi(a_data|s) of the same actions agrees as well
    assert torch.allclose(tanh_gaussian_log_prob(a[:, 0], mean, log_std), ref[:, 0], atol=1e-6)


def _np_mlp(x, weights, biases):
    h = x
    for i, (w, b) in enumerate(zip(weights, biases)):
        h = h @ w + b
        if i < len(weights) - 1:
            h = np.maximum(h, 0)
    return h


def test_full_cql_losses_by_hand_with_tiny_fixed_networks():
    """compute_losses on a 2-D state, 2-D action model with fixed weights, redone in numpy."""
    cfg = TrainConfig(obs="state")
    cfg.net.state_hidden = (3,)
    cfg.net.critic_layernorm = False  # the hand computation below is a plain ReLU MLP
    cfg.sac.discount = 0.5
    model = StateModel(cfg, vec_dim=2, action_dim=2).double()
    # Fixed, distinct parameter values (a deterministic pattern instead of random init).
    with torch.no_grad():
        for i, p in enumerate(model.parameters()):
            p.copy_(torch.linspace(-0.6, 0.7, p.numel(), dtype=torch.float64).reshape(p.shape) * (1 + 0.1 * i))
        model.target_qs.load_state_dict(model.qs.state_dict())
        model.target_qs.w_feat.mul_(0.5)  # make targets differ from the online critics
    b, k = 2, 1
    obs = {"vec": torch.tensor([[0.1, -0.2], [0.3, 0.4]], dtype=torch.float64)}
    nxt = {"vec": torch.tensor([[0.0, 0.5], [-0.3, 0.2]], dtype=torch.float64)}
    actions = torch.tensor([[0.5, -0.5], [0.2, 0.9]], dtype=torch.float64)
    batch = Batch(obs={}, next_obs={}, actions=actions, rewards=torch.tensor([0.0, 1.0], dtype=torch.float64),
                  dones=torch.zeros(2, dtype=torch.float64))
    g = torch.Generator().manual_seed(3)
    noise = Noise(None, None, *(torch.randn(b, k, 2, generator=g, dtype=torch.float64) for _ in range(4)),
                  uniform=torch.rand(b, k, 2, generator=g, dtype=torch.float64) * 2 - 1)
    alpha = 0.7
    out = compute_losses(model, cfg, obs, nxt, batch, noise, train_critic=True, bc_policy_loss=False,
                         alpha_step=lambda logp: torch.tensor(alpha, dtype=torch.float64))

    P = {n: p.detach().numpy() for n, p in model.named_parameters()}
    T = {n: p.detach().numpy() for n, p in model.target_qs.named_parameters()}

    def policy(s):
        h = np.maximum(s @ P["policy_head.hidden.0.weight"].T + P["policy_head.hidden.0.bias"], 0)
        mean = h @ P["policy_head.mean.weight"].T + P["policy_head.mean.bias"]
        log_std = np.clip(h @ P["policy_head.log_std.weight"].T + P["policy_head.log_std.bias"], -5, 2)
        return mean, log_std

    def sample(mean, log_std, eps):
        u = mean + np.exp(log_std) * eps
        logp = np.sum(-0.5 * eps**2 - log_std - 0.5 * math.log(2 * math.pi), -1) - np.sum(np.log(1 - np.tanh(u) ** 2), -1)
        return np.tanh(u), logp

    def q(params, i, s, a, prefix):
        w0 = np.concatenate([params[prefix + "w_feat"][i], params[prefix + "w_act"][i]], 0)
        ws = [w0] + [params[f"{prefix}weights.{j}"][i] for j in range(1)]
        bs = [params[prefix + "b_first"][i][0]] + [params[f"{prefix}biases.{j}"][i][0] for j in range(1)]
        return _np_mlp(np.concatenate([s, a], -1), ws, bs)[..., 0]

    s, s2, a = obs["vec"].numpy(), nxt["vec"].numpy(), actions.numpy()
    e = {n: getattr(noise, n).numpy()[:, 0] for n in ("eps_pi", "eps_target", "eps_cql_s", "eps_cql_next", "uniform")}
    mean, log_std = policy(s)
    mean2, log_std2 = policy(s2)
    a_pi, logp_pi = sample(mean, log_std, e["eps_pi"])
    a_next, _ = sample(mean2, log_std2, e["eps_target"])
    a_cs, logp_cs = sample(mean, log_std, e["eps_cql_s"])
    a_cn, logp_cn = sample(mean2, log_std2, e["eps_cql_next"])
    y = np.array([0.0, 1.0]) + 0.5 * np.minimum(q(T, 0, s2, a_next, ""), q(T, 1, s2, a_next, ""))
    for i in range(2):
        qd = q(P, i, s, a, "qs.")
        td = np.mean((qd - y) ** 2)
        cat = np.stack([q(P, i, s, e["uniform"], "qs.") - 2 * math.log(0.5),
                        q(P, i, s, a_cn, "qs.") - logp_cn,
                        q(P, i, s, a_cs, "qs.") - logp_cs], 1)
        pen = np.mean(np.log(np.exp(cat).sum(1))) - qd.mean()
        assert abs(float(out[f"td{i + 1}"]) - td) < 1e-9
        assert abs(float(out[f"cql{i + 1}"]) - pen) < 1e-9
        assert abs(float(out[f"q{i + 1}_loss"]) - (td + 1.0 * pen)) < 1e-9
    q_pi = np.minimum(q(P, 0, s, a_pi, "qs."), q(P, 1, s, a_pi, "qs."))
    assert abs(float(out["policy_loss"].detach()) - np.mean(alpha * logp_pi - q_pi)) < 1e-9
    # BC warm start: alpha*logp - log pi(a_data|s)
    out_bc = compute_losses(model, cfg, obs, nxt, batch, noise, train_critic=True, bc_policy_loss=True,
                            alpha_step=lambda logp: torch.tensor(alpha, dtype=torch.float64))
    u_data = np.arctanh(a)
    z = (u_data - mean) / np.exp(log_std)
    data_logp = np.sum(-0.5 * z**2 - log_std - 0.5 * math.log(2 * math.pi) - np.log(1 - a**2), -1)
    assert abs(float(out_bc["policy_loss"].detach()) - np.mean(alpha * logp_pi - data_logp)) < 1e-9


def test_policy_task_share_reweights_the_policy_loss_and_leaves_the_critic_alone():
    """With data.policy_task_share=f the policy loss is f * (task rows' mean) + (1 - f) * (prior rows' mean)."""
    b = 5
    is_task = torch.tensor([True, False, False, True, False])
    cfg, row_losses = _tiny_losses_on_rows(b, 1, seed=2, rewards=torch.tensor([1.0, 0.0, 0.0, 0.0, 0.0], dtype=torch.float64),
                                           dones=torch.zeros(b, dtype=torch.float64), is_task=is_task)

    def losses(share: float | None, rows=slice(None), bc: bool = False) -> dict[str, float]:
        cfg.data.policy_task_share = share
        return row_losses(rows, bc=bc)

    for bc in (False, True):
        per_row = np.array([losses(None, slice(i, i + 1), bc)["policy_loss"] for i in range(b)])
        task, prior = per_row[is_task.numpy()].mean(), per_row[~is_task.numpy()].mean()
        assert abs(task - prior) > 1e-3  # the two kinds of row differ, so the weighting shows
        assert abs(losses(None, bc=bc)["policy_loss"] - per_row.mean()) < 1e-12
        assert abs(losses(0.8, bc=bc)["policy_loss"] - (0.8 * task + 0.2 * prior)) < 1e-12
    plain, shared = losses(None), losses(0.8)
    assert plain["q1_loss"] == shared["q1_loss"] and plain["q2_loss"] == shared["q2_loss"]
    # One kind of row only: the share cannot apply and the loss is the plain mean.
    assert losses(0.8, slice(1, 3))["policy_loss"] == losses(None, slice(1, 3))["policy_loss"]
