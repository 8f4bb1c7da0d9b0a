"""Conformal thresholds: a cut-off from ``m`` scores of reference cases, with a false-positive rate guarantee.

For a fresh score exchangeable with the ``m`` reference scores, the ``k``-th smallest reference score with
``k = floor(alpha (m + 1))`` exceeds it with probability at most ``alpha`` (and the ``ceil((1 - alpha)(m + 1))``-th
smallest falls below it with probability at most ``alpha``): the rank of the fresh score among the ``m + 1`` is
uniform. The guarantee is marginal (over the draw of the reference scores too), and needs ``m`` at least
:func:`calibration_size`.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from hubaudit.errors import TooFewSamples

_ROUNDING = 1e-9
"""Slack for ``alpha (m + 1)`` computed in floating point (0.01 x 100 must give rank 1)."""


def calibration_size(alpha: float) -> int:
    """The fewest reference scores that allow a threshold at false-positive rate ``alpha``: ``ceil(1/alpha) - 1``."""
    return math.ceil(1 / alpha - _ROUNDING) - 1


def lower_rank(m: int, alpha: float) -> int:
    """``floor(alpha (m + 1))``: the rank (1-based, smallest first) of the lower threshold; 0 when ``m`` is too few."""
    return math.floor(alpha * (m + 1) + _ROUNDING)


def lower_threshold(scores: np.ndarray, alpha: float) -> tuple[float, int]:
    """(threshold, rank): the ``lower_rank``-th smallest of ``scores`` (``float [m]``). A fresh exchangeable score
    lies strictly below it with probability at most ``alpha``. Raises TooFewSamples when the rank is 0."""
    rank = lower_rank(len(scores), alpha)
    if rank < 1:
        raise TooFewSamples(
            f"{len(scores)} scores cannot calibrate a threshold at {alpha:g}: need {calibration_size(alpha)}"
        )
    return float(np.partition(np.asarray(scores, dtype=float), rank - 1)[rank - 1]), rank


def quantile_rank_bounds(m: int, alpha: float, error: float) -> tuple[int, int]:
    """Ranks ``(l, u)`` (1-based; ``l = 0`` meaning minus infinity, ``u = m + 1`` plus infinity) such that the
    ``alpha``-quantile ``q`` of a continuous distribution lies between the ``l``-th and ``u``-th smallest of ``m``
    draws from it with probability at least ``1 - error``, ``error / 2`` on each side.

    The number of draws at or below ``q`` is Binomial(m, alpha): the ``l``-th smallest exceeds ``q`` when fewer than
    ``l`` are, and the ``u``-th smallest falls below ``q`` when ``u`` or more are (distribution-free order-statistic
    bounds).
    """
    cdf = stats.binom.cdf(np.arange(m + 1), m, alpha)
    lower = int(np.searchsorted(cdf, error / 2, side="right"))  # the most l with P(X <= l - 1) <= error/2
    upper = int(np.searchsorted(cdf, 1 - error / 2, side="left")) + 1  # the fewest u with P(X >= u) <= error/2
    return lower, upper


def quantile_bound_size(alpha: float, error: float) -> int:
    """The fewest draws whose smallest is, with probability at least ``1 - error / 2``, at or below the
    ``alpha``-quantile (so :func:`quantile_rank_bounds` gives ``l >= 1``): ``ceil(log(error / 2) / log(1 - alpha))``."""
    return math.ceil(math.log(error / 2) / math.log(1 - alpha) - _ROUNDING)
