"""Classify-and-count intervals for a share, soft (probability-averaging) intervals, sample-size plans.

Inputs are counts from a *trusted* labelling (or the annotator's raw counts, in which case the
interval is for the annotator's *predicted* share; see :mod:`hubaudit.stats.correction` for the
share corrected for annotator error). All intervals are clipped to [0, 1].
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
from statsmodels.stats.proportion import multinomial_proportions_confint, proportion_confint

from hubaudit.errors import InvalidData, InvalidStatisticsOption, TooFewSamples
from hubaudit.stats.estimate import (
    ShareEstimate,
    validated_confidence,
    validated_count,
    validated_counts,
    value_names,
)


def hoeffding_half_width(n: int | np.ndarray, *, confidence: float = 0.95) -> float | np.ndarray:
    """Hoeffding's two-sided half-width ``sqrt(ln(2/delta) / (2 n))`` for a [0, 1] mean, ``delta = 1 - confidence``."""
    delta = 1.0 - validated_confidence(confidence)
    return np.sqrt(math.log(2.0 / delta) / (2.0 * np.asarray(n, dtype=float)))


def hoeffding_interval(successes: int, n: int, *, confidence: float = 0.95) -> ShareEstimate:
    """Share ``successes / n`` with Hoeffding's distribution-free interval (the paper's bound)."""
    successes, n = validated_count(successes, n)
    share = successes / n
    eps = float(hoeffding_half_width(n, confidence=confidence))
    return ShareEstimate(share, max(0.0, share - eps), min(1.0, share + eps), "hoeffding", n, confidence)


def clopper_pearson_bounds(
    successes: np.ndarray, n: np.ndarray, *, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Clopper-Pearson) two-sided bounds, statsmodels' ``proportion_confint(method="beta")``; arrays
    broadcast elementwise.

    ``low = Beta(alpha/2; k, n-k+1)`` (0 when ``k = 0``), ``high = Beta(1-alpha/2; k+1, n-k)``
    (1 when ``k = n``), with ``alpha = 1 - confidence``; ``(0, 1)`` where ``n = 0``.
    """
    alpha = 1.0 - validated_confidence(confidence)
    successes, n = np.broadcast_arrays(np.asarray(successes, dtype=float), np.asarray(n, dtype=float))
    successes, n = successes.copy(), n.copy()  # statsmodels asks broadcast views to be writable
    with np.errstate(invalid="ignore", divide="ignore"):
        low, high = proportion_confint(successes, n, alpha=alpha, method="beta")
    return np.where(n > 0, low, 0.0), np.where(n > 0, high, 1.0)


def clopper_pearson_interval(successes: int, n: int, *, confidence: float = 0.95) -> ShareEstimate:
    """Share ``successes / n`` with the exact Clopper-Pearson interval (coverage >= confidence for every share)."""
    successes, n = validated_count(successes, n)
    low, high = clopper_pearson_bounds(np.array(successes), np.array(n), confidence=confidence)
    return ShareEstimate(successes / n, low, high, "clopper-pearson", n, confidence)


def simultaneous_intervals(
    counts: Sequence[int] | np.ndarray,
    *,
    names: Sequence[str] | None = None,
    confidence: float = 0.95,
    method: Literal["bonferroni", "goodman"] = "bonferroni",
) -> dict[str, ShareEstimate]:
    """Shares of K values from their counts, shape (K,), with intervals that hold *simultaneously*.

    ``"bonferroni"``: Clopper-Pearson at level ``1 - alpha/K`` per value (exact, conservative; for
    K = 2 the two shares determine each other, so no adjustment is needed). ``"goodman"``:
    Goodman's asymptotic chi-square intervals (statsmodels); use only when every count is >= 5.
    """
    counts = validated_counts(counts)
    confidence = validated_confidence(confidence)
    if counts.ndim != 1 or counts.size < 2:
        raise InvalidData(f"counts must be a vector of at least two values, got shape {counts.shape}")
    total = int(counts.sum())
    if total < 1:
        raise TooFewSamples("simultaneous intervals need at least one sample, all counts are 0")
    labels = value_names(names, counts.size)
    if method == "goodman":
        bounds = multinomial_proportions_confint(counts, alpha=1.0 - confidence, method="goodman")
        low, high = bounds[:, 0], bounds[:, 1]
    elif method == "bonferroni":
        per_value = 1.0 - (1.0 - confidence) / (counts.size if counts.size > 2 else 1)
        low, high = clopper_pearson_bounds(counts, np.full(counts.size, total), confidence=per_value)
        method = "bonferroni-clopper-pearson"
    else:
        raise InvalidStatisticsOption(f"unknown method {method!r}; expected 'bonferroni' or 'goodman'")
    return {
        label: ShareEstimate(counts[k] / total, max(0.0, low[k]), min(1.0, high[k]), method, total, confidence)
        for k, label in enumerate(labels)
    }


def _soft_half_widths(probabilities: np.ndarray, delta: float, method: str) -> np.ndarray:
    """Per-column two-sided half-widths, each at error ``delta``, for means of [0, 1] columns of an (n, K) array."""
    n = probabilities.shape[0]
    log_term = math.log(2.0 / delta)
    if method == "hoeffding":
        return np.full(probabilities.shape[1], math.sqrt(log_term / (2.0 * n)))
    if method == "bernstein":
        if n < 2:
            raise TooFewSamples("the empirical-Bernstein interval needs at least two samples")
        # Maurer & Pontil (2009), Thm 4, applied to each side at delta/2.
        variance = probabilities.var(axis=0, ddof=1)
        log_term = math.log(4.0 / delta)
        return np.sqrt(2.0 * variance * log_term / n) + 7.0 * log_term / (3.0 * (n - 1))
    raise InvalidStatisticsOption(f"unknown method {method!r}; expected 'hoeffding' or 'bernstein'")


def _validated_probabilities(probabilities: np.ndarray, ndim: int) -> np.ndarray:
    array = np.asarray(probabilities, dtype=float)
    if array.ndim != ndim or array.shape[0] < 1:
        raise TooFewSamples(f"expected a non-empty {ndim}-D array of probabilities, got shape {array.shape}")
    if not np.all((array >= 0) & (array <= 1)):
        raise InvalidData("probabilities must lie in [0, 1]")
    return array


def soft_share_interval(
    probabilities: np.ndarray,
    *,
    confidence: float = 0.95,
    method: Literal["hoeffding", "bernstein"] = "hoeffding",
) -> ShareEstimate:
    """Mean of per-sample probabilities, shape (n,), with an interval valid for any [0, 1]-bounded variable.

    This estimates the annotator's *mean probability*, which equals the share only for a
    calibrated annotator. ``"bernstein"`` (empirical Bernstein) is tighter than Hoeffding
    when the probabilities vary little (e.g. a confident annotator) and n is in the hundreds.
    """
    probabilities = _validated_probabilities(probabilities, ndim=1)
    confidence = validated_confidence(confidence)
    mean = float(probabilities.mean())
    eps = float(_soft_half_widths(probabilities[:, None], 1.0 - confidence, method)[0])
    n = probabilities.size
    return ShareEstimate(mean, max(0.0, mean - eps), min(1.0, mean + eps), f"soft-{method}", n, confidence)


def soft_share_intervals(
    probabilities: np.ndarray,
    *,
    names: Sequence[str] | None = None,
    confidence: float = 0.95,
    method: Literal["hoeffding", "bernstein"] = "hoeffding",
) -> dict[str, ShareEstimate]:
    """Per-value mean probabilities of an (n, K) array with simultaneous (Bonferroni over K) intervals."""
    probabilities = _validated_probabilities(probabilities, ndim=2)
    confidence = validated_confidence(confidence)
    labels = value_names(names, probabilities.shape[1])
    means = probabilities.mean(axis=0)
    eps = _soft_half_widths(probabilities, (1.0 - confidence) / len(labels), method)
    n = probabilities.shape[0]
    return {
        label: ShareEstimate(
            means[k], max(0.0, means[k] - eps[k]), min(1.0, means[k] + eps[k]), f"soft-{method}", n, confidence
        )
        for k, label in enumerate(labels)
    }


def hoeffding_sample_size(half_width: float, *, confidence: float = 0.95) -> int:
    """Samples Hoeffding needs for a given half-width: ``ceil(ln(2/delta) / (2 eps^2))`` (0.03 at 95%: 2,050)."""
    delta = 1.0 - validated_confidence(confidence)
    if not 0.0 < half_width < 1.0:
        raise InvalidStatisticsOption(f"half_width must lie strictly between 0 and 1, got {half_width}")
    return math.ceil(math.log(2.0 / delta) / (2.0 * half_width**2))


def clopper_pearson_sample_size(half_width: float, *, confidence: float = 0.95, anticipated_share: float = 0.5) -> int:
    """Smallest n whose Clopper-Pearson half-width at ``round(anticipated_share * n)`` is <= ``half_width``.

    The default share 0.5 is the worst case, so the plan holds whatever the true share is
    (0.03 at 95%: about 1,100). Found by bisection up to the Hoeffding plan, which always suffices.
    """
    if not 0.0 <= anticipated_share <= 1.0:
        raise InvalidStatisticsOption(f"anticipated_share must lie in [0, 1], got {anticipated_share}")

    def narrow_enough(n: int) -> bool:
        low, high = clopper_pearson_bounds(np.array(round(anticipated_share * n)), np.array(n), confidence=confidence)
        return float(high - low) / 2 <= half_width

    too_small, enough = 0, hoeffding_sample_size(half_width, confidence=confidence)
    while enough - too_small > 1:
        middle = (too_small + enough) // 2
        too_small, enough = (too_small, middle) if narrow_enough(middle) else (middle, enough)
    return enough
