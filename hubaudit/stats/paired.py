"""The difference of two shares measured on the same samples (paired): Bonett-Price adjusted Wald interval.

For paired 0/1 outcomes ``first[i]``, ``second[i]`` of n samples, the difference of the shares is
``(n10 - n01) / n`` with n10, n01 the discordant counts. Bonett and Price (2012, "Adjusted Wald
confidence interval for a difference of binomial proportions based on paired data", J. Educ.
Behav. Stat. 37(4)) add one to each discordant count: ``p10 = (n10 + 1) / (n + 2)``, ``p01 = (n01 + 1) / (n + 2)``,
``d = p10 - p01``, ``se = sqrt((p10 + p01 - d^2) / (n + 2))``, interval ``d -/+ z se``. Unlike the plain
Wald interval it does not collapse to a point when no sample is discordant; its coverage is
checked by simulation in tests/test_stats_paired.py.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

from hubaudit.errors import InvalidData
from hubaudit.stats.estimate import ShareEstimate, validated_confidence


def paired_difference_interval(first: np.ndarray, second: np.ndarray, *, confidence: float = 0.95) -> ShareEstimate:
    """The share of ``first`` minus the share of ``second`` (0/1 or bool arrays ``[n]`` over the same samples),
    with a Bonett-Price interval clipped to [-1, 1]; ``value`` is the observed difference."""
    first, second = np.asarray(first, dtype=bool), np.asarray(second, dtype=bool)
    if first.shape != second.shape or first.ndim != 1 or first.size == 0:
        raise InvalidData(
            f"paired outcomes must be two non-empty vectors of one length, got {first.shape} and {second.shape}"
        )
    n = first.size
    only_first, only_second = int(np.sum(first & ~second)), int(np.sum(~first & second))
    p10, p01 = (only_first + 1) / (n + 2), (only_second + 1) / (n + 2)
    adjusted = p10 - p01
    z = norm.ppf(0.5 + validated_confidence(confidence) / 2)
    half_width = z * np.sqrt(max(p10 + p01 - adjusted**2, 0.0) / (n + 2))
    return ShareEstimate(
        (only_first - only_second) / n,
        max(-1.0, adjusted - half_width),
        min(1.0, adjusted + half_width),
        "bonett-price-paired",
        n,
        confidence,
    )
