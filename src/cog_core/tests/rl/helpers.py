"""Small configs and data shared by the rl tests."""

from __future__ import annotations

from pathlib import Path

from cog_core.rl.config import CqlConfig, DataConfig, EncoderConfig, NetConfig, SacConfig, TrainConfig


def tiny_config(**kw) -> TrainConfig:
    """A TrainConfig with tiny networks so that tests run in well under a second per update."""
    net = NetConfig(
        conv_channels=4, paper_q_hidden=(16, 8, 8), paper_policy_fc=(16, 8, 8), paper_policy_mlp=(8, 8, 8),
        fast_channels=(4, 8, 8), fast_feature_dim=8, fast_hidden=(16, 16), frozen_hidden=(16, 16), state_hidden=(16, 16),
    )
    sac = SacConfig(bc_warmstart_steps=kw.pop("bc_warmstart_steps", 2))
    data = DataConfig(bc_init_prior_steps=kw.pop("bc_init_prior_steps", 2))
    cql = CqlConfig(num_actions=kw.pop("num_actions", 1))
    base = dict(batch_size=8, steps=6, log_interval=2, eval_interval=0, ckpt_interval=0)
    base.update(kw)
    encoder = EncoderConfig(steps=kw.pop("encoder_steps", 4), batch_size=8, crops=2)
    return TrainConfig(net=net, sac=sac, data=data, cql=cql, encoder=encoder, **base)


def tiny_bc_run(out: Path, steps: int = 1) -> Path:
    """A finished BC run (the real trainer and checkpoint) on pick-place's 12-D lowdim, in `out`."""
    from cog_core.rl.data import TrainData, synthetic_transitions
    from cog_core.rl.trainer import Trainer

    task = synthetic_transitions(2, 10, obs_keys=("lowdim",))
    cfg = tiny_config(algo="bc", obs="state", steps=steps)
    Trainer(cfg, TrainData(cfg, task, task), out).train(progress=False)
    return out
