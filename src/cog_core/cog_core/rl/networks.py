"""Actor-critic networks: the paper's separate CNNs, a CPU-sized shared encoder, and state MLPs.

Every model exposes the same interface to the CQL trainer so that each network's observation
trunk runs once per batch and its features are reused for every sampled action: the first
fully-connected layer of each Q-function is split into a feature part (computed once per
state) and an action part (computed per action).

Inputs are dicts of float tensors prepared by :func:`prepare_obs`: ``"image"`` (B, 3, H, W)
in [0, 1] in channels_last memory, ``"vec"`` (B, D) standardised state or lowdim vector.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from cog_core.rl.config import NetConfig, TrainConfig


class PaperTrunk(nn.Module):
    """Fig. 8 conv trunk: three 3x3/16 convs, 2x2 max-pool after the first two, ReLU.

    Max-pool runs before ReLU (they commute, pooling first is cheaper; the original does the
    same). Features are flattened in HWC order, a fixed permutation of the usual CHW order.
    """

    def __init__(self, image_size: int, channels: int = 16) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv3 = nn.Conv2d(channels, channels, 3, padding=1)
        self.out_dim = channels * (image_size // 4) ** 2

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) float -> (B, out_dim) features."""
        # In-place ReLUs: neither max-pool's nor conv's backward needs its output.
        x = F.relu(F.max_pool2d(self.conv1(image), 2), inplace=True)
        x = F.relu(F.max_pool2d(self.conv2(x), 2), inplace=True)
        x = F.relu(self.conv3(x), inplace=True)
        return x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)


class FastTrunk(nn.Module):
    """CPU-sized encoder: strided 3x3 convs, then linear + LayerNorm + tanh to a small vector."""

    def __init__(self, image_size: int, channels: Sequence[int], feature_dim: int) -> None:
        super().__init__()
        strides = [2, 2] + [1] * (len(channels) - 2)
        layers, c_in, side = [], 3, image_size
        for c, s in zip(channels, strides):
            layers.append(nn.Conv2d(c_in, c, 3, stride=s, padding=1))
            c_in, side = c, (side + 2 - 3) // s + 1
        self.convs = nn.ModuleList(layers)
        self.fc = nn.Linear(c_in * side * side, feature_dim)
        self.norm = nn.LayerNorm(feature_dim)
        self.out_dim = feature_dim

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) float -> (B, feature_dim) features in [-1, 1]."""
        x = image
        for conv in self.convs:
            x = F.relu(conv(x), inplace=True)
        x = x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)
        return torch.tanh(self.norm(self.fc(x)))


class ObsEncoder(nn.Module):
    """Image trunk (optional) with the state vector (optional) concatenated after flattening."""

    def __init__(self, trunk: nn.Module | None, vec_dim: int) -> None:
        super().__init__()
        self.trunk = trunk
        self.vec_dim = vec_dim
        self.out_dim = (trunk.out_dim if trunk is not None else 0) + vec_dim

    def forward(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        """Prepared obs dict -> (B, out_dim) features.

        A ``"feat"`` entry (the trunk's output computed earlier, see `rl.features`) stands in for
        running the trunk on ``"image"``.
        """
        parts = []
        if "feat" in obs:
            parts.append(obs["feat"])
        elif self.trunk is not None:
            parts.append(self.trunk(obs["image"]))
        if self.vec_dim:
            parts.append(obs["vec"])
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)


class EnsembleQ(nn.Module):
    """`n` Q(features, action) MLPs evaluated together with batched matmuls.

    The first layer is split into a feature part (computed once per state) and an action part
    (per action); together they equal one linear layer on the concatenation [features, action].
    Parameters are stacked on a leading ensemble axis; initialisation matches nn.Linear's.
    With `layernorm`, every hidden pre-activation is layer-normalised (no affine) before its ReLU,
    which bounds how far Q can extrapolate outside the data.
    """

    def __init__(self, n: int, feat_dim: int, action_dim: int, hidden: Sequence[int], layernorm: bool = False) -> None:
        super().__init__()
        self.n = n
        self.layernorm = layernorm
        h0 = hidden[0]
        fan0 = feat_dim + action_dim
        self.w_feat = nn.Parameter(self._uniform((n, feat_dim, h0), fan0))
        self.w_act = nn.Parameter(self._uniform((n, action_dim, h0), fan0))
        self.b_first = nn.Parameter(self._uniform((n, 1, h0), fan0))
        dims = [*hidden, 1]
        self.weights = nn.ParameterList(nn.Parameter(self._uniform((n, a, b), a)) for a, b in zip(dims[:-1], dims[1:]))
        self.biases = nn.ParameterList(nn.Parameter(self._uniform((n, 1, b), a)) for a, b in zip(dims[:-1], dims[1:]))

    @staticmethod
    def _uniform(shape: tuple[int, ...], fan_in: int) -> torch.Tensor:
        bound = 1.0 / fan_in**0.5
        return torch.empty(shape).uniform_(-bound, bound)

    def feat_part(self, feats: torch.Tensor) -> torch.Tensor:
        """State-dependent first-layer pre-activations: feats (n, B, F) -> (n, B, H0), bias included."""
        return torch.baddbmm(self.b_first, feats, self.w_feat)

    def forward(self, h_feat: torch.Tensor, actions: torch.Tensor, detach_params: bool = False) -> torch.Tensor:
        """Q-values (n, B, K) for K actions per state: `h_feat` (n, B, H0), `actions` (B, K, A).

        With `detach_params` the gradient flows only to the inputs (used by the policy loss).
        """
        d = (lambda p: p.detach()) if detach_params else (lambda p: p)  # noqa: E731
        n, b, h0 = h_feat.shape
        k = actions.shape[1]
        act = torch.matmul(actions.reshape(1, b * k, -1), d(self.w_act)).view(n, b, k, h0)
        h = self._act(h_feat.unsqueeze(2) + act).view(n, b * k, h0)
        last = len(self.weights) - 1
        for i, (w, bias) in enumerate(zip(self.weights, self.biases)):
            h = torch.baddbmm(d(bias), h, d(w))
            if i < last:
                h = self._act(h)
        return h.view(n, b, k)

    def _act(self, pre: torch.Tensor) -> torch.Tensor:
        """Hidden-layer activation: ReLU, after a layer norm when enabled."""
        if self.layernorm:
            pre = F.layer_norm(pre, pre.shape[-1:])
        return F.relu(pre)

    def member(self, i: int, feat: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """Reference form: member i on concatenated [feat, action] rows (N, F+A) -> (N,). For tests."""
        w0 = torch.cat([self.w_feat[i], self.w_act[i]], dim=0)
        h = self._act(torch.cat([feat, action], dim=1) @ w0 + self.b_first[i])
        last = len(self.weights) - 1
        for j, (w, bias) in enumerate(zip(self.weights, self.biases)):
            h = h @ w[i] + bias[i]
            if j < last:
                h = self._act(h)
        return h[:, 0]


class GaussianHead(nn.Module):
    """MLP from features to a tanh-Gaussian's mean and clamped log-std."""

    def __init__(self, in_dim: int, hidden: Sequence[int], action_dim: int, log_std_bounds: tuple[float, float]) -> None:
        super().__init__()
        dims = [in_dim, *hidden]
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))
        self.mean = nn.Linear(dims[-1], action_dim)
        self.log_std = nn.Linear(dims[-1], action_dim)
        self.log_std_bounds = log_std_bounds

    def forward(self, feat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, in_dim) -> mean (B, A), log_std (B, A)."""
        h = feat
        for layer in self.hidden:
            h = F.relu(layer(h))
        lo, hi = self.log_std_bounds
        return self.mean(h), self.log_std(h).clamp(lo, hi)


class ActorCritic(nn.Module):
    """Policy, two Q-functions and their targets behind one feature-reusing interface.

    Subclasses set `policy_encoder`, `policy_head`, `q_encoders` (two, possibly the same
    module), `qs` (an EnsembleQ of two) and build targets with :meth:`_make_targets`.
    """

    shared_encoder: bool = False

    def __init__(self, vec_dim: int, action_dim: int) -> None:
        super().__init__()
        self.action_dim = action_dim
        self.register_buffer("vec_mean", torch.zeros(vec_dim))
        self.register_buffer("vec_std", torch.ones(vec_dim))
        self.log_alpha = nn.Parameter(torch.zeros(()))

    # -- construction helpers --------------------------------------------------------
    def _make_targets(self) -> None:
        self.target_q_encoders = copy.deepcopy(self.q_encoders)
        self.target_qs = copy.deepcopy(self.qs)
        for p in list(self.target_q_encoders.parameters()) + list(self.target_qs.parameters()):
            p.requires_grad_(False)

    def policy_parameters(self) -> list[nn.Parameter]:
        """Parameters stepped by the policy optimizer."""
        params = list(self.policy_head.parameters())
        if not self.shared_encoder:
            params += list(self.policy_encoder.parameters())
        return params

    def critic_parameters(self) -> list[nn.Parameter]:
        """Parameters stepped by the Q optimizer (both Q-functions and their encoders)."""
        return list(self.q_encoders.parameters()) + list(self.qs.parameters())

    def target_pairs(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """(online, target) parameter pairs for the soft update."""
        online = list(self.q_encoders.parameters()) + list(self.qs.parameters())
        target = list(self.target_q_encoders.parameters()) + list(self.target_qs.parameters())
        return zip(online, target)

    # -- forward pieces ----------------------------------------------------------------
    def critic_features(self, obs: dict[str, torch.Tensor], target: bool = False) -> torch.Tensor:
        """Per-Q features (2, B, F) of a batch, each trunk run once (a shared encoder once in total)."""
        encoders = self.target_q_encoders if target else self.q_encoders
        if self.shared_encoder:
            z = encoders[0](obs)
            return z.unsqueeze(0).expand(2, *z.shape)
        return torch.stack([enc(obs) for enc in encoders])

    def policy_features(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        """Policy features of a batch."""
        return self.policy_encoder(obs)

    def policy_features_from_critic(self, critic_feats: torch.Tensor) -> torch.Tensor | None:
        """Detached policy features reusable from the critic pass (shared encoder only)."""
        return critic_feats[0].detach() if self.shared_encoder else None

    def q_values(
        self, h_feats: torch.Tensor, actions: torch.Tensor, target: bool = False, detach_params: bool = False
    ) -> torch.Tensor:
        """Both Q-functions (2, B, K) at (B, K, A) actions given their first-layer feature parts."""
        return (self.target_qs if target else self.qs)(h_feats, actions, detach_params)

    def q_feat_parts(self, feats: torch.Tensor, target: bool = False) -> torch.Tensor:
        """First-layer feature parts (2, B, H0) of both Q-functions."""
        return (self.target_qs if target else self.qs).feat_part(feats)

    def act_deterministic(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        """tanh(mean) of the policy, (B, A)."""
        mean, _ = self.policy_head(self.policy_features(obs))
        return torch.tanh(mean)


class PaperModel(ActorCritic):
    """Fig. 8: separate CNN trunks for the policy, Q1, Q2 (and the targets' copies)."""

    def __init__(self, cfg: TrainConfig, image_size: int, vec_dim: int, action_dim: int) -> None:
        super().__init__(vec_dim, action_dim)
        n = cfg.net
        self.policy_encoder, self.policy_head = policy_parts(cfg, image_size, vec_dim, action_dim)
        self.q_encoders = nn.ModuleList(ObsEncoder(PaperTrunk(image_size, n.conv_channels), vec_dim) for _ in range(2))
        self.qs = EnsembleQ(2, self.q_encoders[0].out_dim, action_dim, n.paper_q_hidden)
        self._make_targets()


class FastModel(ActorCritic):
    """One shared conv encoder trained by the critics; the actor reads its detached features."""

    shared_encoder = True

    def __init__(self, cfg: TrainConfig, image_size: int, vec_dim: int, action_dim: int) -> None:
        super().__init__(vec_dim, action_dim)
        n = cfg.net
        encoder, self.policy_head = policy_parts(cfg, image_size, vec_dim, action_dim)
        self.q_encoders = nn.ModuleList([encoder])
        self.policy_encoder = encoder
        self.qs = EnsembleQ(2, encoder.out_dim, action_dim, self.head_widths(n), n.critic_layernorm)
        self._make_targets()

    @staticmethod
    def head_widths(net: NetConfig) -> Sequence[int]:
        """The critics' MLP widths."""
        return net.fast_hidden


class FrozenModel(FastModel):
    """The `fast` encoder trained first and then frozen; actor and critics are MLPs on its features.

    Until :meth:`freeze_encoder` the model trains like `FastModel` (the critics train the shared
    encoder): that is the end-to-end phase of `encoder.objective=e2e`. Once frozen, the encoder's
    features of every dataset image can be computed once (`rl.features.FeatureCache`) and the
    updates run on them; given images instead, the frozen trunk computes the same features.
    """

    def __init__(self, cfg: TrainConfig, image_size: int, vec_dim: int, action_dim: int) -> None:
        super().__init__(cfg, image_size, vec_dim, action_dim)
        self.register_buffer("encoder_frozen", torch.zeros((), dtype=torch.bool))

    @staticmethod
    def head_widths(net: NetConfig) -> Sequence[int]:
        """The critics' MLP widths."""
        return net.frozen_hidden

    @property
    def trunk(self) -> nn.Module:
        """The image trunk whose features are cached once frozen."""
        trunk = self.policy_encoder.trunk
        assert trunk is not None
        return trunk

    def freeze_encoder(self) -> None:
        """Stop training the trunk; the targets' copy becomes the online one (one cache serves both)."""
        with torch.no_grad():
            self.target_q_encoders[0].trunk.load_state_dict(self.trunk.state_dict())
        for p in list(self.trunk.parameters()) + list(self.target_q_encoders.parameters()):
            p.requires_grad_(False)
        self.encoder_frozen.fill_(True)

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        """As nn.Module's, re-freezing the trunk when the saved model had frozen it."""
        result = super().load_state_dict(state_dict, strict=strict, assign=assign)
        if bool(self.encoder_frozen):
            self.freeze_encoder()
        return result


class StateModel(ActorCritic):
    """MLPs on the standardised state/lowdim vector (no encoder)."""

    shared_encoder = True

    def __init__(self, cfg: TrainConfig, vec_dim: int, action_dim: int) -> None:
        super().__init__(vec_dim, action_dim)
        n = cfg.net
        encoder, self.policy_head = policy_parts(cfg, None, vec_dim, action_dim)
        self.q_encoders = nn.ModuleList([encoder])
        self.policy_encoder = encoder
        self.qs = EnsembleQ(2, vec_dim, action_dim, n.state_hidden, n.critic_layernorm)
        self._make_targets()


def policy_parts(cfg: TrainConfig, image_size: int | None, vec_dim: int, action_dim: int) -> tuple[ObsEncoder, GaussianHead]:
    """The policy's observation encoder and Gaussian head for `cfg` (shared by training and runtime)."""
    n = cfg.net
    bounds = (cfg.sac.log_std_min, cfg.sac.log_std_max)
    if cfg.obs == "state":
        encoder = ObsEncoder(None, vec_dim)
        return encoder, GaussianHead(vec_dim, n.state_policy_hidden or n.state_hidden, action_dim, bounds)
    if image_size is None:
        raise ValueError("image observations need an image size")
    if cfg.arch == "paper":
        encoder = ObsEncoder(PaperTrunk(image_size, n.conv_channels), vec_dim)
        hidden: Sequence[int] = [*n.paper_policy_fc, *n.paper_policy_mlp]
    else:
        encoder = ObsEncoder(FastTrunk(image_size, n.fast_channels, n.fast_feature_dim), vec_dim)
        hidden = n.frozen_hidden if cfg.arch == "frozen" else n.fast_hidden
    return encoder, GaussianHead(encoder.out_dim, hidden, action_dim, bounds)


def build_model(cfg: TrainConfig, image_size: int | None, vec_dim: int, action_dim: int) -> ActorCritic:
    """The model for `cfg.obs` / `cfg.arch`; images need `image_size`, vectors `vec_dim`."""
    if cfg.obs == "state":
        model: ActorCritic = StateModel(cfg, vec_dim, action_dim)
    else:
        if image_size is None:
            raise ValueError("image observations need an image size")
        cls = {"paper": PaperModel, "fast": FastModel, "frozen": FrozenModel}[cfg.arch]
        model = cls(cfg, image_size, vec_dim, action_dim)
    with torch.no_grad():
        model.log_alpha.fill_(cfg.sac.init_log_alpha)
    return model.to(memory_format=torch.channels_last)


def prepare_obs(
    obs: dict[str, torch.Tensor], obs_mode: str, vec_mean: torch.Tensor, vec_std: torch.Tensor
) -> dict[str, torch.Tensor]:
    """Raw batch tensors (uint8 NHWC image, float vectors) -> the networks' float inputs."""
    out: dict[str, torch.Tensor] = {}
    if "feat" in obs:  # cached encoder features stand in for the image
        out["feat"] = obs["feat"]
    elif obs_mode in ("image", "image+state"):
        img = obs["image"]
        # NHWC uint8 -> logical NCHW float: the permute of an NHWC tensor is channels_last already.
        out["image"] = img.permute(0, 3, 1, 2).float().div_(255.0)
    if obs_mode == "image+state":
        out["vec"] = (obs["state"].float() - vec_mean) / vec_std
    elif obs_mode == "state":
        out["vec"] = (obs["lowdim"].float() - vec_mean) / vec_std
    return out


def vector_key(obs_mode: str) -> str | None:
    """Which Transitions observation key feeds the vector input (None for image only)."""
    return {"image": None, "image+state": "state", "state": "lowdim"}[obs_mode]
