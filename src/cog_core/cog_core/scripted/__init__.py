"""Noisy scripted policies (the paper's Appendix A.1) and the dataset presets built from them."""

from cog_core.scripted.policies import BEHAVIOURS, ScriptedPolicy, make_policy

__all__ = ["BEHAVIOURS", "ScriptedPolicy", "make_policy"]
