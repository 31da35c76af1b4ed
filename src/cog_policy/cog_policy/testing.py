"""Test helpers: a small but real policy export (weights + metadata) for node and launch tests."""

from __future__ import annotations

from pathlib import Path


def export_small_policy(out: Path, image_size: int = 48, obs: str = "image+state") -> Path:
    """A real export (policy.pt state dict + policy.json) of a tiny randomly initialised network."""
    import torch

    from cog_core.rl.config import NetConfig, TrainConfig
    from cog_core.rl.export import policy_metadata, write_export
    from cog_core.rl.runtime import PolicyNet

    net = NetConfig(conv_channels=4, paper_q_hidden=(16, 8, 8), paper_policy_fc=(16, 8, 8), paper_policy_mlp=(8, 8, 8),
                    fast_channels=(4, 8, 8), fast_feature_dim=8, fast_hidden=(16, 16), state_hidden=(16, 16))
    cfg = TrainConfig(net=net, obs=obs, arch="fast")
    torch.manual_seed(0)
    model = PolicyNet(cfg, image_size, 9, 8)
    with torch.no_grad():  # make the actions large so the limits matter
        for p in model.parameters():
            p.mul_(4.0)
    out.mkdir(parents=True)
    spec = {"image_size": image_size, "vec_key": "state", "vec_dim": 9, "action_dim": 8}
    return write_export(out, model.state_dict(), policy_metadata(cfg, spec, 0, {"run": "test"}))
