"""CQL(H) with importance sampling on a SAC-style actor-critic, plus the BC / SAC variants.

The maths follows the original rlkit CQL used by COG:
- Bellman target y = r + (1 - d) * gamma * min(Q1'(s', a'), Q2'(s', a')), a' ~ pi(s'), with no
  entropy term (deterministic backup) unless `backup_entropy` (offline SAC). With
  `cql.max_backup_actions` = N > 1 the target takes the best of N draws a' ~ pi(s') (CQL's
  "max backup", used for long-horizon stitching such as AntMaze; COG's original: one draw).
- CQL term per Q: T * logsumexp_j([Q(s, a_unif) - log(0.5^|A|), Q(s, a~pi(s')) - log pi(a|s'),
  Q(s, a~pi(s)) - log pi(a|s)] / T) averaged over the batch, minus mean Q(s, a_data); times alpha.
- Policy loss alpha_ent * log pi(a|s) - min_i Q_i(s, a), or during BC warm start
  alpha_ent * log pi(a|s) - log pi(a_data|s); averaged over the batch, or with
  `data.policy_task_share` = f the batch's task rows carry f of it and the prior rows 1 - f.
  Entropy temperature tuned towards -|A|.
Sampled CQL actions and their log-probs are constants for the critic (no_grad), as in the
original, where the critic's loss never steps the policy.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F

from cog_core.rl.augment import crop_offsets, random_crop
from cog_core.rl.config import TrainConfig
from cog_core.rl.device import to_device
from cog_core.rl.distributions import tanh_gaussian_log_prob, tanh_gaussian_sample
from cog_core.rl.networks import ActorCritic, prepare_obs


@dataclass
class Batch:
    """One sampled minibatch as torch tensors (images stay uint8 NHWC)."""

    obs: dict[str, torch.Tensor]
    next_obs: dict[str, torch.Tensor]
    actions: torch.Tensor  # (B, A) float32
    rewards: torch.Tensor  # (B,) float32
    dones: torch.Tensor  # (B,) float32
    is_task: torch.Tensor | None = None  # (B,) bool: the row comes from the task data (None: unknown)

    def to(self, device: torch.device, observations: bool = True) -> "Batch":
        """This batch on `device` (`rl.device.to_device`); without `observations` the obs dicts are
        left out (empty), for an update that moved its prepared observations itself."""
        def move(d: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
            return {k: to_device(v, device) for k, v in d.items()} if observations else {}

        return Batch(obs=move(self.obs), next_obs=move(self.next_obs), actions=to_device(self.actions, device),
                     rewards=to_device(self.rewards, device), dones=to_device(self.dones, device),
                     is_task=None if self.is_task is None else to_device(self.is_task, device))


@dataclass
class Noise:
    """Every random draw of one update, drawn up front so that updates are reproducible."""

    crop_s: torch.Tensor | None  # (B, 2) crop offsets for s
    crop_n: torch.Tensor | None  # (B, 2) crop offsets for s'
    eps_pi: torch.Tensor  # (B, 1, A) policy-loss action noise
    eps_target: torch.Tensor  # (B, N, A) backup actions a' ~ pi(s'); N = cql.max_backup_actions (1 = one draw)
    eps_cql_s: torch.Tensor  # (B, K, A) CQL actions ~ pi(s)
    eps_cql_next: torch.Tensor  # (B, K, A) CQL actions ~ pi(s')
    uniform: torch.Tensor  # (B, K, A) CQL uniform actions in [-1, 1]

    def to(self, device: torch.device) -> "Noise":
        """The action draws on `device`; crop offsets stay on the host, where images are cropped."""
        return replace(self, eps_pi=to_device(self.eps_pi, device), eps_target=to_device(self.eps_target, device),
                       eps_cql_s=to_device(self.eps_cql_s, device), eps_cql_next=to_device(self.eps_cql_next, device),
                       uniform=to_device(self.uniform, device))


def draw_noise(
    batch: int,
    action_dim: int,
    num_actions: int,
    crop_pad: int,
    images: bool,
    gen: torch.Generator,
    backup_actions: int = 1,
) -> Noise:
    """Draw the noise of one update from `gen` (`backup_actions` draws of a' for the target), on
    `gen`'s device (the CPU in training: `Noise.to` moves the draws)."""
    crops = (crop_offsets(batch, crop_pad, gen), crop_offsets(batch, crop_pad, gen)) if images and crop_pad else (None, None)
    k = num_actions
    return Noise(
        crop_s=crops[0],
        crop_n=crops[1],
        eps_pi=torch.randn(batch, 1, action_dim, generator=gen),
        eps_target=torch.randn(batch, backup_actions, action_dim, generator=gen),
        eps_cql_s=torch.randn(batch, k, action_dim, generator=gen),
        eps_cql_next=torch.randn(batch, k, action_dim, generator=gen),
        uniform=torch.rand(batch, k, action_dim, generator=gen) * 2.0 - 1.0,
    )


def bellman_target(
    rewards: torch.Tensor,
    dones: torch.Tensor,
    q1_next: torch.Tensor,
    q2_next: torch.Tensor,
    discount: float,
    reward_scale: float = 1.0,
    entropy_bonus: torch.Tensor | None = None,
) -> torch.Tensor:
    """y = scale*r + (1-d)*gamma*(min(Q1', Q2') - entropy_bonus); entropy_bonus = alpha*log pi(a'|s') or None.

    Q-args are (B,) for one next action, or (B, N) for N sampled next actions, of which the
    target takes the best (max backup); an entropy bonus then has the same shape.
    """
    v = torch.min(q1_next, q2_next)
    if entropy_bonus is not None:
        v = v - entropy_bonus
    if v.dim() == 2:
        v = v.max(dim=1).values
    return reward_scale * rewards + (1.0 - dones) * discount * v


def cql_penalty(
    q_data: torch.Tensor,
    q_uniform: torch.Tensor,
    q_pi_s: torch.Tensor,
    logp_pi_s: torch.Tensor,
    q_pi_next: torch.Tensor,
    logp_pi_next: torch.Tensor,
    action_dim: int,
    temperature: float = 1.0,
) -> torch.Tensor:
    """CQL(H) importance-sampled term: T*mean_b logsumexp(.../T) - mean Q(s, a_data). Q-args (B, K), q_data (B,)."""
    log_uniform_density = action_dim * math.log(0.5)
    cat = torch.cat([q_uniform - log_uniform_density, q_pi_next - logp_pi_next, q_pi_s - logp_pi_s], dim=1)
    return torch.logsumexp(cat / temperature, dim=1).mean() * temperature - q_data.mean()


def policy_row_weights(is_task: torch.Tensor | None, task_share: float | None) -> torch.Tensor | None:
    """Per-row weights (summing to 1) that give the task rows `task_share` of the policy loss.

    None (a plain mean) when no share is set, the rows' origin is unknown, or the batch holds
    only one kind of row.
    """
    if task_share is None or is_task is None:
        return None
    n_task = int(is_task.sum())
    n = is_task.numel()
    if n_task in (0, n):
        return None
    weights = torch.full((n,), (1.0 - task_share) / (n - n_task), dtype=torch.float64, device=is_task.device)
    weights[is_task] = task_share / n_task
    return weights


def compute_losses(
    model: ActorCritic,
    cfg: TrainConfig,
    obs_s: dict[str, torch.Tensor],
    obs_n: dict[str, torch.Tensor],
    batch: Batch,
    noise: Noise,
    train_critic: bool,
    bc_policy_loss: bool,
    alpha_step: Callable[[torch.Tensor], torch.Tensor],
) -> dict[str, torch.Tensor]:
    """All losses of one update on prepared observations. `alpha_step(logp)` returns alpha_ent.

    Returns a dict with "loss" (the sum to back-propagate: the gradients of its parts reach
    disjoint parameter sets) and detached statistics.
    """
    out: dict[str, torch.Tensor] = {}
    h_q = None
    if train_critic:
        critic_feats = model.critic_features(obs_s)
        h_q = model.q_feat_parts(critic_feats)
        pf = model.policy_features_from_critic(critic_feats)
        if pf is None:
            pf = model.policy_features(obs_s)
    else:
        pf = model.policy_features(obs_s)
    mean, log_std = model.policy_head(pf)
    a_pi, logp_pi = tanh_gaussian_sample(mean, log_std, noise.eps_pi)
    alpha = alpha_step(logp_pi.detach())
    if bc_policy_loss:
        data_logp = tanh_gaussian_log_prob(batch.actions, mean, log_std)
        per_row = alpha * logp_pi[:, 0] - data_logp
        out["bc_logp"] = data_logp.detach().mean()
    else:
        assert h_q is not None, "the Q policy loss needs the critic"
        q_pi = model.q_values(h_q.detach(), a_pi, detach_params=True)
        per_row = alpha * logp_pi[:, 0] - torch.min(q_pi[0], q_pi[1])[:, 0]
    weights = policy_row_weights(batch.is_task, cfg.data.policy_task_share)
    policy_loss = per_row.mean() if weights is None else (weights.to(per_row) * per_row).sum()
    out["policy_loss"] = policy_loss
    out["logp"] = logp_pi.detach().mean()
    out["alpha_ent"] = alpha.detach()
    loss = policy_loss
    if train_critic:
        assert h_q is not None
        cql_alpha = cfg.cql_alpha
        with torch.no_grad():
            mean_n, log_std_n = model.policy_head(model.policy_features(obs_n))
            a_next, logp_next = tanh_gaussian_sample(mean_n, log_std_n, noise.eps_target)
            h_t = model.q_feat_parts(model.critic_features(obs_n, target=True), target=True)
            q1_t, q2_t = model.q_values(h_t, a_next, target=True).unbind(0)
            bonus = alpha * logp_next if cfg.backup_entropy else None
            y = bellman_target(batch.rewards, batch.dones, q1_t, q2_t, cfg.sac.discount, cfg.sac.reward_scale, bonus)
            if cql_alpha > 0:
                a_cs, logp_cs = tanh_gaussian_sample(mean.detach(), log_std.detach(), noise.eps_cql_s)
                a_cn, logp_cn = tanh_gaussian_sample(mean_n, log_std_n, noise.eps_cql_next)
        k = noise.uniform.shape[1]
        if cql_alpha > 0:
            all_actions = torch.cat([batch.actions.unsqueeze(1), noise.uniform, a_cs, a_cn], dim=1)
        else:
            all_actions = batch.actions.unsqueeze(1)
        q_all = model.q_values(h_q, all_actions)
        for i, q in enumerate(q_all, start=1):
            q_data = q[:, 0]
            td = F.mse_loss(q_data, y)
            q_loss = td
            out[f"td{i}"] = td.detach()
            if cql_alpha > 0:
                pen = cql_penalty(
                    q_data,
                    q_uniform=q[:, 1 : 1 + k],
                    q_pi_s=q[:, 1 + k : 1 + 2 * k],
                    logp_pi_s=logp_cs,
                    q_pi_next=q[:, 1 + 2 * k :],
                    logp_pi_next=logp_cn,
                    action_dim=model.action_dim,
                    temperature=cfg.cql.temperature,
                )
                q_loss = q_loss + cql_alpha * pen
                out[f"cql{i}"] = pen.detach()
            out[f"q{i}_loss"] = q_loss.detach()
            out[f"q{i}_data"] = q_data.detach().mean()
            loss = loss + q_loss
        out["target"] = y.mean()
    out["loss"] = loss
    return out


class Agent:
    """Model + optimizers + noise generator: `update(batch, step)` runs one gradient step on the
    model's device (batches arrive on the host or there; noise is drawn on the CPU and moved)."""

    def __init__(self, model: ActorCritic, cfg: TrainConfig, obs_mode: str, seed: int) -> None:
        self.model = model
        self.cfg = cfg
        self.obs_mode = obs_mode
        self.device = model.log_alpha.device
        # A CPU generator on every device: the same draws, and a checkpoint's RNG state that resumes anywhere.
        self.gen = torch.Generator().manual_seed(seed + 1)
        s = cfg.sac
        opt = lambda params, lr: torch.optim.Adam(params, lr=lr, eps=s.adam_eps, fused=True)  # noqa: E731
        self.optimizers: dict[str, torch.optim.Optimizer] = {
            "policy": opt(model.policy_parameters(), s.policy_lr),
            "q": opt(model.critic_parameters(), s.q_lr),
            "alpha": opt([model.log_alpha], s.entropy_lr if s.entropy_lr is not None else s.policy_lr),
        }
        if model.shared_encoder and any(True for _ in model.q_encoders.parameters()):
            # A shared encoder is trained by the critic in RL, and by the policy in pure BC phases.
            self.optimizers["bc_encoder"] = opt(list(model.q_encoders.parameters()), s.policy_lr)
        self.base_lrs = {k: [g["lr"] for g in o.param_groups] for k, o in self.optimizers.items()}
        self.target_entropy = s.target_entropy if s.target_entropy is not None else -float(model.action_dim)
        self._targets = [t for _, t in model.target_pairs()]
        self._onlines = [o for o, _ in model.target_pairs()]

    def _alpha_step(self, logp: torch.Tensor) -> torch.Tensor:
        """One Adam step on log(alpha_ent) (before the policy uses it, as the original); returns alpha."""
        if not self.cfg.sac.auto_entropy:
            return torch.tensor(self.cfg.sac.fixed_alpha, device=self.device)
        opt = self.optimizers["alpha"]
        # alpha_loss = -(log_alpha * (logp + target_entropy)).mean(); its gradient, written out
        # (saves an autograd pass per update):
        self.model.log_alpha.grad = -(logp + self.target_entropy).mean().reshape(())
        opt.step()
        return self.model.log_alpha.detach().exp()

    def prepare(self, batch: Batch, noise: Noise) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """Crop (if images; on the host) and convert s and s' batches to network inputs on the model's device."""
        obs, nxt = dict(batch.obs), dict(batch.next_obs)
        if noise.crop_s is not None:
            obs["image"] = random_crop(obs["image"], self.cfg.data.crop_pad, noise.crop_s)
            nxt["image"] = random_crop(nxt["image"], self.cfg.data.crop_pad, noise.crop_n)
        obs = {k: to_device(v, self.device) for k, v in obs.items()}  # uint8 images travel, then become floats there
        nxt = {k: to_device(v, self.device) for k, v in nxt.items()}
        m = self.model
        return prepare_obs(obs, self.obs_mode, m.vec_mean, m.vec_std), prepare_obs(nxt, self.obs_mode, m.vec_mean, m.vec_std)

    def scale_learning_rates(self, factor: float) -> None:
        """Set every optimizer's learning rate to `factor` times its configured value."""
        for name, opt in self.optimizers.items():
            for group, base in zip(opt.param_groups, self.base_lrs[name]):
                group["lr"] = base * factor

    def update(self, batch: Batch, train_critic: bool, bc_policy_loss: bool) -> dict[str, float]:
        """One gradient step; returns scalar statistics."""
        b = batch.actions.shape[0]
        noise = draw_noise(
            b,
            self.model.action_dim,
            self.cfg.cql.num_actions,
            self.cfg.data.crop_pad,
            "image" in batch.obs,  # cached features (arch=frozen) come cropped already
            self.gen,
            backup_actions=self.cfg.cql.max_backup_actions,
        )
        obs_s, obs_n = self.prepare(batch, noise)
        batch, noise = batch.to(self.device, observations=False), noise.to(self.device)
        for name, opt in self.optimizers.items():
            if name != "alpha":
                opt.zero_grad(set_to_none=True)
        out = compute_losses(
            self.model, self.cfg, obs_s, obs_n, batch, noise, train_critic, bc_policy_loss, self._alpha_step
        )
        out["loss"].backward()
        self.optimizers["policy"].step()
        if train_critic:
            self.optimizers["q"].step()
            with torch.no_grad():
                torch._foreach_lerp_(self._targets, self._onlines, self.cfg.sac.tau)
        elif "bc_encoder" in self.optimizers:
            self.optimizers["bc_encoder"].step()
        # One device-to-host copy for every statistic (on a GPU each float() would wait for the device).
        values = torch.stack([v.detach().float().reshape(()) for v in out.values()]).cpu().tolist()
        return dict(zip(out, values))
