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
    lies strictly below it with probability at most ``alpha``. Raises ValueError when the rank is 0."""
    rank = lower_rank(len(scores), alpha)
    if rank < 1:
        raise ValueError(
            f"{len(scores)} scores cannot calibrate a threshold at {alpha:g}: need {calibration_size(alpha)}"
        )
    return float(np.partition(np.asarray(scores, dtype=float), rank - 1)[rank - 1]), rank
