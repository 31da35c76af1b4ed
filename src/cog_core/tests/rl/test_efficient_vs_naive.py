"""The feature-reusing update equals the naive per-(state, action) maths: losses and gradients."""

from __future__ import annotations

import math

import pytest
import torch

from cog_core.rl.augment import random_crop
from cog_core.rl.cql import Agent, Batch, compute_losses, cql_penalty, draw_noise
from cog_core.rl.distributions import tanh_gaussian_log_prob, tanh_gaussian_sample
from cog_core.rl.networks import build_model

from .helpers import tiny_config


def _naive_losses(model, cfg, obs_s, obs_n, batch, noise, alpha):
    """Per-pair forward passes: every Q(s, a) runs its whole network (trunk included) on its own."""
    A = model.action_dim
    k = noise.uniform.shape[1]
    shared = model.shared_encoder

    def rows(obs, i):  # one state's inputs as a batch of 1
        return {key: v[i : i + 1] for key, v in obs.items()}

    def q_full(j, obs1, a, target=False):
        enc = (model.target_q_encoders if target else model.q_encoders)[0 if shared else j]
        qs = model.target_qs if target else model.qs
        return qs.member(j, enc(obs1), a.view(1, A))[0]

    def policy(obs1, detach_feat):
        f = model.policy_encoder(obs1)
        return model.policy_head(f.detach() if detach_feat else f)

    n = batch.actions.shape[0]
    critic = [torch.zeros(()) .double() for _ in range(2)]
    policy_terms, ys = [], []
    for i in range(n):
        s1, n1 = rows(obs_s, i), rows(obs_n, i)
        mean, log_std = policy(s1, detach_feat=shared)
        a_pi, logp_pi = tanh_gaussian_sample(mean, log_std, noise.eps_pi[i : i + 1])
        q_pi = torch.min(*[q_full(j, {kk: v.detach() for kk, v in s1.items()}, a_pi[0, 0]) for j in range(2)])
        policy_terms.append(alpha * logp_pi[0, 0] - q_pi)
        with torch.no_grad():
            mean2, log_std2 = policy(n1, detach_feat=False)
            a2, _ = tanh_gaussian_sample(mean2, log_std2, noise.eps_target[i : i + 1])
            y = batch.rewards[i] + (1 - batch.dones[i]) * cfg.sac.discount * torch.min(
                *[q_full(j, n1, a2[0, 0], target=True) for j in range(2)])
            a_cs, lp_cs = tanh_gaussian_sample(mean, log_std, noise.eps_cql_s[i : i + 1])
            a_cn, lp_cn = tanh_gaussian_sample(mean2, log_std2, noise.eps_cql_next[i : i + 1])
        ys.append(y)
        for j in range(2):
            qd = q_full(j, s1, batch.actions[i])
            qu = torch.stack([q_full(j, s1, noise.uniform[i, m]) for m in range(k)])
            qs_ = torch.stack([q_full(j, s1, a_cs[0, m]) for m in range(k)])
            qn = torch.stack([q_full(j, s1, a_cn[0, m]) for m in range(k)])
            critic[j] = critic[j] + (qd - y) ** 2 / n + cfg.cql.alpha * (
                cql_penalty(qd.view(1), qu.view(1, k), qs_.view(1, k), lp_cs, qn.view(1, k), lp_cn, A, cfg.cql.temperature))/n
    return critic, torch.stack(policy_terms).mean()


@pytest.mark.parametrize(
    "obs,arch,layernorm",
    [("image", "paper", False), ("image+state", "paper", False), ("image", "fast", False), ("state", "fast", False),
     ("image", "fast", True), ("state", "fast", True)],
)
def test_efficient_update_equals_naive(obs, arch, layernorm):
    torch.manual_seed(0)
    cfg = tiny_config(obs=obs, arch=arch, num_actions=2)
    cfg.net.critic_layernorm = layernorm
    vec_dim = 0 if obs == "image" else 5
    model = build_model(cfg, 16 if obs != "state" else None, vec_dim, 8).double()
    with torch.no_grad():  # targets different from the online nets
        for p in list(model.target_qs.parameters()) + list(model.target_q_encoders.parameters()):
            p.add_(0.01 * torch.randn_like(p))
    b = 4
    g = torch.Generator().manual_seed(1)
    raw = lambda: {"image": torch.randint(0, 256, (b, 16, 16, 3), dtype=torch.uint8, generator=g),  # noqa: E731
                   "state": torch.randn(b, vec_dim, generator=g, dtype=torch.float64),
                   "lowdim": torch.randn(b, vec_dim, generator=g, dtype=torch.float64)}
    batch = Batch(raw(), raw(), torch.rand(b, 8, generator=g, dtype=torch.float64) * 1.8 - 0.9,
                  torch.tensor([0.0, 1.0, 0.0, 1.0], dtype=torch.float64), torch.tensor([0.0, 0.0, 1.0, 0.0], dtype=torch.float64))
    noise = draw_noise(b, 8, 2, 4, obs != "state", g)
    noise.__dict__.update({k: v.double() for k, v in noise.__dict__.items() if v is not None and v.is_floating_point()})
    agent = Agent(model, cfg, obs, 0)
    obs_s, obs_n = agent.prepare(batch, noise)
    obs_s = {k: v.double() for k, v in obs_s.items()}
    obs_n = {k: v.double() for k, v in obs_n.items()}
    alpha = torch.tensor(0.3, dtype=torch.float64)

    out = compute_losses(model, cfg, obs_s, obs_n, batch, noise, True, False, lambda lp: alpha)
    params = [p for p in model.parameters() if p.requires_grad]
    model.zero_grad(set_to_none=True)
    out["loss"].backward()
    fast_grads = {id(p): (p.grad.clone() if p.grad is not None else torch.zeros_like(p)) for p in params}

    critic, pol = _naive_losses(model, cfg, obs_s, obs_n, batch, noise, alpha)
    assert torch.allclose(out["q1_loss"], critic[0], rtol=1e-10, atol=1e-10)
    assert torch.allclose(out["q2_loss"], critic[1], rtol=1e-10, atol=1e-10)
    assert torch.allclose(out["policy_loss"], pol, rtol=1e-10, atol=1e-10)
    # Naive gradients: critic losses w.r.t. critic parameters, policy loss w.r.t. policy parameters.
    crit_p, pol_p = model.critic_parameters(), model.policy_parameters()
    gc = torch.autograd.grad(critic[0] + critic[1], crit_p, allow_unused=True)
    gp = torch.autograd.grad(pol, pol_p, allow_unused=True)
    checked = 0
    for plist, grads in ((crit_p, gc), (pol_p, gp)):
        for p, gnaive in zip(plist, grads):
            gnaive = torch.zeros_like(p) if gnaive is None else gnaive
            assert torch.allclose(fast_grads[id(p)], gnaive, rtol=1e-8, atol=1e-10), p.shape
            checked += int(gnaive.abs().sum() > 0)
    assert checked >= 6  # real, non-zero gradients were compared


def test_random_crop_matches_pad_and_slice():
    g = torch.Generator().manual_seed(0)
    imgs = torch.randint(1, 256, (5, 12, 10, 3), dtype=torch.uint8, generator=g)
    offs = torch.randint(0, 9, (5, 2), generator=g)
    out = random_crop(imgs, 4, offs)
    for i in range(5):
        padded = torch.zeros(20, 18, 3, dtype=torch.uint8)
        padded[4:16, 4:14] = imgs[i]
        dy, dx = offs[i].tolist()
        assert torch.equal(out[i], padded[dy : dy + 12, dx : dx + 10])
    assert (out == 0).any()  # some zero padding showed up


def test_bc_log_likelihood_uses_data_actions():
    mean, log_std = torch.zeros(1, 2), torch.zeros(1, 2)
    a = torch.tensor([[0.0, 0.0]])
    # at a = 0: log N(0; 0, 1) per dim, Jacobian 1
    assert torch.allclose(tanh_gaussian_log_prob(a, mean, log_std), torch.tensor([-math.log(2 * math.pi)]))


def test_critic_layernorm_bounds_q_far_from_the_data():
    from cog_core.rl.networks import EnsembleQ

    torch.manual_seed(0)
    plain, normed = EnsembleQ(2, 6, 8, (16, 16)), EnsembleQ(2, 6, 8, (16, 16), layernorm=True)
    normed.load_state_dict(plain.state_dict())
    feats, actions = torch.randn(2, 32, 6), torch.rand(32, 3, 8) * 2 - 1
    for scale in (1.0, 1e3):
        h_plain = plain.feat_part(feats * scale)
        h_normed = normed.feat_part(feats * scale)
        q_plain, q_normed = plain(h_plain, actions), normed(h_normed, actions)
        if scale > 1:
            assert q_plain.abs().max() > 100  # a plain MLP extrapolates linearly
            # |Q| <= ||w_last||_1 * max|h| + |b| with h a normalised 16-vector (|h_i| <= 4).
            bound = (normed.weights[-1].abs().sum(dim=(1, 2)) * 4 + normed.biases[-1].abs().flatten()).max()
            assert q_normed.abs().max() <= bound
