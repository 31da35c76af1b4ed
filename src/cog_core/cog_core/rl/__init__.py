"""Offline RL for COG: CQL(H) and the paper's baselines, training loop, export and runtime.

Entry points: :class:`cog_core.rl.config.TrainConfig`, :class:`cog_core.rl.data.TrainData`,
:class:`cog_core.rl.trainer.Trainer`, :func:`cog_core.rl.export.export_policy`,
:class:`cog_core.rl.runtime.PolicyRuntime`.
"""
