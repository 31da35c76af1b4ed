"""Every hyperparameter of COG training and its baselines, as one dataclass config.

Defaults follow the paper's appendix A.3 and the original rlkit CQL code (see
shared/reference-facts.md, "Training"). Load with
``cog_core.config.load_config(TrainConfig, yaml_path, ["algo=bc", "sac.q_lr=1e-4"])``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

from cog_core.config import ConfigError
from cog_core.rl.device import DEVICE_HELP, DEVICE_PATTERN

ALGOS = ("cog", "bc", "bc-oracle", "bc-init", "no-prior", "sac")
OBS_MODES = ("image", "image+state", "state")

# Settings for runs of 20K-60K updates instead of the paper's ~1M, shared by `cogrl demo` and the
# `cpu` table preset. The paper's policy lr (1e-4) fits the single gripper-closing step of each
# grasp far too slowly in so few updates (bc-oracle 0/20 on drawer/open at 1e-4, 19/20 at 1e-3,
# 10K updates); with constant rates the final policies swung away from stitches found a few
# thousand updates earlier, so every rate decays (cosine) to 0 over the last third. The task's rows
# carry half of the actor's loss (the critic's batches stay uniform): over nine 60K-update drawer
# seeds every condition's mean rose, the bottle chain most (docs/results.md).
SHORT_RUN_OVERRIDES = ("sac.policy_lr=1e-3", "sac.lr_decay_from=0.67", "data.policy_task_share=0.5")
ARCHS = ("paper", "fast", "frozen")
# How the `frozen` architecture's encoder is trained before it is frozen (see EncoderConfig).
ENCODER_OBJECTIVES = ("autoencoder", "contrastive", "e2e", "oracle", "random")
# Which algorithms train a critic (the others only fit the policy by likelihood).
RL_ALGOS = ("cog", "bc-init", "no-prior", "sac")


@dataclass
class SacConfig:
    """Actor-critic (SAC-style) hyperparameters shared by every RL algorithm."""

    discount: float = 0.99  # gamma in the Bellman backup (paper A.3)
    tau: float = 0.005  # soft target update rate, every step (paper A.3)
    q_lr: float = 3e-4  # Adam learning rate of both Q-functions (paper A.3)
    policy_lr: float = 1e-4  # Adam learning rate of the policy (original code 1e-4; the paper says 3e-5)
    entropy_lr: float | None = None  # Adam lr of log(alpha_entropy); None = policy_lr (as the original)
    auto_entropy: bool = True  # tune the entropy temperature automatically (paper A.3)
    target_entropy: float | None = None  # None = -|A| = -8 (original code)
    init_log_alpha: float = 0.0  # initial log of the entropy temperature (alpha = 1)
    fixed_alpha: float = 1.0  # entropy temperature used when auto_entropy is false
    backup_entropy: bool | None = None  # subtract alpha*log pi(a'|s') in the target; None = only for sac
    log_std_min: float = -5.0  # lower clamp of the policy's log-std
    log_std_max: float = 2.0  # upper clamp of the policy's log-std
    bc_warmstart_steps: int = 10_000  # policy loss = alpha*logp - log pi(a_data|s) for this many steps (paper A.3)
    reward_scale: float = 1.0  # multiply rewards before the backup (original: 1)
    adam_eps: float = 1e-8  # Adam epsilon for every optimizer
    lr_decay_from: float | None = None  # fraction of the run after which every lr decays (cosine) to 0 at the last step; None = constant (original)
    policy_average_from: float | None = None  # fraction of the run after which the evaluated/exported policy is the running mean of the actor's weights; None = the last weights (original)


@dataclass
class CqlConfig:
    """CQL(H) regulariser (importance-sampled logsumexp, non-Lagrange)."""

    alpha: float = 1.0  # weight of the conservative term (paper A.3: 1.0, no Lagrange); sac forces 0
    temperature: float = 1.0  # logsumexp temperature (original: 1)
    num_actions: int = 1  # sampled actions of each kind: uniform, pi(s), pi(s') (paper A.3: 1)
    max_backup_actions: int = 1  # target = best of this many a' ~ pi(s') (CQL's max backup); 1 = one draw (paper, original)


@dataclass
class NetConfig:
    """Network shapes. `paper` = Fig. 8 (separate CNNs); `fast` = one shared CPU-sized encoder."""

    conv_channels: int = 16  # paper: 16 filters in each of the three 3x3 conv layers
    paper_q_hidden: tuple[int, ...] = (1024, 512, 256)  # paper: Q FC layers after the conv trunk
    paper_policy_fc: tuple[int, ...] = (1024, 512, 256)  # paper: policy FC layers after the trunk
    paper_policy_mlp: tuple[int, ...] = (256, 256, 256)  # paper: policy MLP before the mean/log-std heads
    fast_channels: tuple[int, ...] = (16, 32, 32)  # fast: conv channels (strides 2, 2, 1)
    fast_feature_dim: int = 64  # fast: encoder output size (linear + LayerNorm + tanh)
    fast_hidden: tuple[int, ...] = (256, 256)  # fast: critic and actor MLP widths
    frozen_hidden: tuple[int, ...] = (256, 128)  # frozen: critic and actor MLP widths on the cached features (128x128 lost the chains, 256x256 costs ~2.5x a state update: docs/results.md)
    state_hidden: tuple[int, ...] = (128, 128)  # state obs: critic and actor MLP widths (256,256 costs ~2x: ~15 ms/update)
    state_policy_hidden: tuple[int, ...] | None = None  # state obs: actor MLP widths when they differ from the critic's; None = state_hidden
    critic_layernorm: bool = True  # fast/state critics: layer norm before every hidden ReLU (stops Q divergence; the paper arch never has it)
    normalize_state: bool = True  # standardise state/lowdim vectors with dataset mean/std


@dataclass
class EncoderConfig:
    """The `frozen` architecture: how its image encoder is trained before it is frozen and cached.

    Objectives: `contrastive` (the default: tell each image's successor in its trajectory from the
    rest of the batch, no labels), `autoencoder` (reconstruct the datasets' own images, no labels), `e2e` (train
    end-to-end like `fast` for `e2e_steps`, then freeze), `oracle` (regress the simulator's
    privileged object and drawer poses: an ablation that a real robot's data cannot run),
    `random` (never trained: a floor for comparisons).
    """

    objective: str = "contrastive"  # contrastive | autoencoder | e2e | oracle | random (see the class docstring)
    steps: int = 4_000  # gradient steps of contrastive / autoencoder / oracle pretraining
    batch_size: int = 128  # images per pretraining step
    lr: float = 1e-3  # Adam learning rate of pretraining
    decoder: str = "mlp"  # autoencoder: mlp (one hidden layer, half resolution) | conv (transposed convs, full resolution; ~4x the cost)
    e2e_steps: int = 10_000  # e2e: end-to-end updates before the encoder is frozen
    crops: int = 8  # random crops cached per image (the first is the uncropped image); 1 = no augmentation
    encode_batch: int = 1024  # images per forward pass when caching features


@dataclass
class DataConfig:
    """Which rows each algorithm trains on, and how images are augmented."""

    image_size: int | None = None  # expected image side (48 sim, 64 real); None = take it from the data
    crop_pad: int = 4  # random-crop augmentation: zero-pad by this many pixels, crop back (0 = off)
    zero_prior_rewards: bool = True  # the prior data is unlabeled: its rewards are set to 0 (paper)
    oracle_success: str = "any"  # bc-oracle: an episode succeeded if its reward is >0 at 'any' step or at the 'final' step
    oracle_include_prior: bool = False  # bc-oracle: also clone prior episodes marked successful in meta
    bc_init_prior_steps: int = 10_000  # bc-init: BC steps on the prior data before CQL on the task data
    task_fraction: float | None = None  # cog/sac/bc: share of task rows in every batch; None = uniform over the union (original)
    policy_task_share: float | None = None  # cog/sac/bc: share of the policy's loss carried by each batch's task rows (reweighted; the critic's loss is not); None = as sampled (original)


@dataclass
class TrainConfig:
    """A whole training run: algorithm, observations, networks and schedule."""

    algo: str = "cog"  # cog | bc | bc-oracle | bc-init | no-prior | sac
    obs: str = "image"  # image | image+state | state (= privileged lowdim vector, sim only)
    arch: str = "frozen"  # frozen (an encoder trained first without labels, then frozen: updates on cached features, ~state cost) | fast (shared CPU-sized encoder, end to end) | paper (Fig. 8, separate CNNs); ignored for obs=state
    batch_size: int = 256  # transitions per gradient step (paper A.3)
    steps: int = 100_000  # total gradient steps (the original ran 3M)
    seed: int = 0  # seeds network init, batch sampling and every noise draw
    threads: int = 0  # torch intra-op threads; 0 = leave torch's default
    # Where networks, optimizer state, batches and cached features live: auto (CUDA when torch
    # sees a GPU, else CPU), cpu, cuda or cuda:N (`rl.device`). Checkpoints and exports hold CPU
    # tensors whatever it is, so `--resume --device ...` may move a run between machines.
    device: str = "auto"
    log_interval: int = 100  # steps between CSV/TensorBoard rows
    eval_interval: int = 10_000  # steps between evaluation callbacks (0 = never)
    ckpt_interval: int = 10_000  # steps between checkpoints (0 = only at the end)
    sac: SacConfig = field(default_factory=SacConfig)
    cql: CqlConfig = field(default_factory=CqlConfig)
    net: NetConfig = field(default_factory=NetConfig)
    data: DataConfig = field(default_factory=DataConfig)
    encoder: EncoderConfig = field(default_factory=EncoderConfig)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ConfigError for values outside their allowed set or range."""
        if self.algo not in ALGOS:
            raise ConfigError(f"algo={self.algo!r} is not one of {', '.join(ALGOS)}")
        if not isinstance(self.device, str) or not DEVICE_PATTERN.match(self.device):
            raise ConfigError(f"device={self.device!r} is not one of {DEVICE_HELP}")
        if self.obs not in OBS_MODES:
            raise ConfigError(f"obs={self.obs!r} is not one of {', '.join(OBS_MODES)}")
        if self.arch not in ARCHS:
            raise ConfigError(f"arch={self.arch!r} is not one of {', '.join(ARCHS)}")
        if self.encoder.decoder not in ("conv", "mlp"):
            raise ConfigError(f"encoder.decoder={self.encoder.decoder!r} is not one of conv, mlp")
        if self.encoder.objective not in ENCODER_OBJECTIVES:
            raise ConfigError(f"encoder.objective={self.encoder.objective!r} is not one of {', '.join(ENCODER_OBJECTIVES)}")
        for name, value in [("encoder.steps", self.encoder.steps), ("encoder.e2e_steps", self.encoder.e2e_steps)]:
            if value < 0:
                raise ConfigError(f"{name} must be >= 0, got {value}")
        for name, value in [("encoder.batch_size", self.encoder.batch_size), ("encoder.crops", self.encoder.crops),
                            ("encoder.encode_batch", self.encoder.encode_batch)]:
            if value < 1:
                raise ConfigError(f"{name} must be >= 1, got {value}")
        if self.encoder.lr <= 0:
            raise ConfigError(f"encoder.lr must be > 0, got {self.encoder.lr}")
        if self.data.oracle_success not in ("any", "final"):
            raise ConfigError(f"data.oracle_success={self.data.oracle_success!r} must be 'any' or 'final'")
        for name, value in [
            ("batch_size", self.batch_size),
            ("cql.num_actions", self.cql.num_actions),
            ("cql.max_backup_actions", self.cql.max_backup_actions),
        ]:
            if value < 1:
                raise ConfigError(f"{name} must be >= 1, got {value}")
        if self.steps < 0:
            raise ConfigError(f"steps must be >= 0, got {self.steps}")
        if not 0.0 < self.sac.tau <= 1.0:
            raise ConfigError(f"sac.tau must be in (0, 1], got {self.sac.tau}")
        if self.sac.lr_decay_from is not None and not 0.0 <= self.sac.lr_decay_from < 1.0:
            raise ConfigError(f"sac.lr_decay_from must be in [0, 1) (a fraction of the run), got {self.sac.lr_decay_from}")
        avg = self.sac.policy_average_from
        if avg is not None and not 0.0 <= avg < 1.0:
            raise ConfigError(f"sac.policy_average_from must be in [0, 1) (a fraction of the run) or null (the last weights), got {avg}")
        if not 0.0 <= self.sac.discount <= 1.0:
            raise ConfigError(f"sac.discount must be in [0, 1], got {self.sac.discount}")
        if self.cql.temperature <= 0:
            raise ConfigError(f"cql.temperature must be > 0, got {self.cql.temperature}")
        if self.sac.log_std_min >= self.sac.log_std_max:
            raise ConfigError("sac.log_std_min must be below sac.log_std_max")
        tf = self.data.task_fraction
        if tf is not None and not 0.0 < tf < 1.0:
            raise ConfigError(f"data.task_fraction must be in (0, 1) or null (uniform over prior + task), got {tf}")
        share = self.data.policy_task_share
        if share is not None and not 0.0 < share < 1.0:
            raise ConfigError(f"data.policy_task_share must be in (0, 1) or null (every row weighs the same), got {share}")
        if self.data.crop_pad < 0:
            raise ConfigError(f"data.crop_pad must be >= 0, got {self.data.crop_pad}")
        if self.data.image_size is not None and self.data.image_size < 16:
            raise ConfigError(f"data.image_size must be >= 16 (or null), got {self.data.image_size}")
        self._validate_ranges()

    def _validate_ranges(self) -> None:
        """Numbers that would only fail (or silently do nothing) once training runs: every float
        finite, rates and interval lengths positive, weights and counts non-negative."""
        for name, value in _numbers(self):
            if isinstance(value, float) and not math.isfinite(value):
                raise ConfigError(f"{name} must be a finite number, got {value}")
        positive = [("log_interval", self.log_interval), ("sac.q_lr", self.sac.q_lr), ("sac.policy_lr", self.sac.policy_lr),
                    ("sac.adam_eps", self.sac.adam_eps)]
        if self.sac.entropy_lr is not None:
            positive.append(("sac.entropy_lr", self.sac.entropy_lr))
        for name, value in positive:
            if not value > 0:
                raise ConfigError(f"{name} must be > 0, got {value}")
        for name, value in [("cql.alpha", self.cql.alpha), ("sac.fixed_alpha", self.sac.fixed_alpha), ("seed", self.seed),
                            ("threads", self.threads), ("eval_interval (0 = never)", self.eval_interval),
                            ("ckpt_interval (0 = only at the end)", self.ckpt_interval),
                            ("sac.bc_warmstart_steps", self.sac.bc_warmstart_steps),
                            ("data.bc_init_prior_steps", self.data.bc_init_prior_steps)]:
            if value < 0:
                raise ConfigError(f"{name} must be >= 0, got {value}")
        for name, value in _numbers(self.net):
            if isinstance(value, int) and not isinstance(value, bool) and value < 1:
                raise ConfigError(f"net.{name} must be >= 1 (a layer or feature size), got {value}")


    # Derived switches -------------------------------------------------------------
    @property
    def uses_critic(self) -> bool:
        """Whether this algorithm trains Q-functions at all."""
        return self.algo in RL_ALGOS

    @property
    def cql_alpha(self) -> float:
        """Weight of the conservative term (0 for offline SAC)."""
        return 0.0 if self.algo == "sac" else self.cql.alpha

    @property
    def backup_entropy(self) -> bool:
        """Whether the Bellman target carries the -alpha*log pi entropy term."""
        if self.sac.backup_entropy is None:
            return self.algo == "sac"
        return self.sac.backup_entropy

    @property
    def needs_prior(self) -> bool:
        """Whether the algorithm reads the prior dataset."""
        return self.algo in ("cog", "bc", "bc-init", "sac") or (
            self.algo == "bc-oracle" and self.data.oracle_include_prior
        )


def _numbers(config: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """(dotted name, value) of every number in a config, tuple entries included (`name[i]`)."""
    out: list[tuple[str, Any]] = []
    for f in fields(config):
        value = getattr(config, f.name)
        name = prefix + f.name
        if is_dataclass(value):
            out += _numbers(value, name + ".")
        elif isinstance(value, (tuple, list)):
            out += [(f"{name}[{i}]", v) for i, v in enumerate(value) if isinstance(v, (int, float))]
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out.append((name, value))
    return out
