"""Tanh-squashed diagonal Gaussian: sampling with given noise, log-probabilities, data log-likelihood."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
# Data actions are clipped this far inside (-1, 1) before atanh (as the original code does).
ATANH_CLIP = 0.999999


def _log_tanh_jacobian(u: torch.Tensor) -> torch.Tensor:
    """log(1 - tanh(u)^2), summed over the last axis, in a numerically stable form."""
    return (2.0 * (math.log(2.0) - u - F.softplus(-2.0 * u))).sum(-1)


def gaussian_log_prob(u: torch.Tensor, mean: torch.Tensor, log_std: torch.Tensor) -> torch.Tensor:
    """log N(u; mean, exp(log_std)) summed over the last axis."""
    z = (u - mean) * torch.exp(-log_std)
    return (-0.5 * z * z - log_std - _LOG_SQRT_2PI).sum(-1)


def tanh_gaussian_sample(
    mean: torch.Tensor, log_std: torch.Tensor, eps: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Reparameterised action tanh(mean + std*eps) and its log-probability.

    `mean`/`log_std` are (B, A); `eps` is (B, K, A) standard-normal noise, giving K actions
    per state: returns actions (B, K, A) and log-probs (B, K).
    """
    mean = mean.unsqueeze(1)
    log_std = log_std.unsqueeze(1)
    u = mean + torch.exp(log_std) * eps
    # log N(u) with z = eps exactly (saves the division), minus the tanh Jacobian.
    logp = (-0.5 * eps * eps - log_std - _LOG_SQRT_2PI).sum(-1) - _log_tanh_jacobian(u)
    return torch.tanh(u), logp


def tanh_gaussian_log_prob(actions: torch.Tensor, mean: torch.Tensor, log_std: torch.Tensor) -> torch.Tensor:
    """log pi(a|s) of given actions in (-1, 1) (clipped to +-ATANH_CLIP first); shapes (B, A) -> (B,)."""
    a = actions.clamp(-ATANH_CLIP, ATANH_CLIP)
    u = torch.atanh(a)
    return gaussian_log_prob(u, mean, log_std) - _log_tanh_jacobian(u)
