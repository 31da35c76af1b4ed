"""Statistics of success rates: Wilson intervals for one rate, Welch's test against a reported one.

Spreads over seeds are sample standard deviations (ddof=1) throughout: the report's "±", our side
of Welch's test, and the paper's reported std (taken as one).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (well-behaved at 0 and 1)."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def welch_test(ours: Sequence[float], ref_mean: float, ref_std: float, ref_n: int) -> tuple[float, float]:
    """(difference of means, two-sided p) of Welch's t-test: our per-seed rates against a reported
    mean and std over `ref_n` seeds (taken as a sample std). p is nan when neither side varies."""
    from scipy.stats import ttest_ind_from_stats  # scipy.stats takes a second to load: only when asked

    rates = np.asarray(ours, dtype=float)
    if rates.size < 2 or ref_n < 2:
        raise ValueError(f"Welch's test needs at least 2 seeds on each side, got {rates.size} and {ref_n}")
    diff = float(rates.mean() - ref_mean)
    ours_std = float(rates.std(ddof=1))  # the sample std, as the report's "±" and as the paper's std is taken
    if ours_std == 0 and ref_std == 0:
        return diff, float("nan")
    res = ttest_ind_from_stats(rates.mean(), ours_std, rates.size, ref_mean, ref_std, ref_n, equal_var=False)
    return diff, float(res.pvalue)
