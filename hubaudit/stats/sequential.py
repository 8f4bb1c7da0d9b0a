"""Sequential scanning: an anytime-valid confidence sequence for a [0, 1] mean (e.g. a Bernoulli share).

The interval after every sample holds *simultaneously* for all sample counts, so an audit may
sample batch by batch and stop as soon as the interval is narrow enough, with no penalty for
looking. Construction: the hedged-capital betting confidence sequence of Waudby-Smith & Ramdas
(2023, JRSS-B, Thm 3). For each candidate mean ``m`` on a grid, two gamblers bet for and against
``m`` with predictable stakes; their average wealth

    K_t(m) = 1/2 prod_i (1 + lambda+_i(m) (x_i - m)) + 1/2 prod_i (1 - lambda-_i(m) (x_i - m))

is a non-negative martingale with mean 1 when ``m`` is the true mean, so by Ville's inequality
``{m : K_t(m) < 1/alpha}`` misses the truth at *some* t with probability at most ``alpha``.
Stakes: ``lambda_i = sqrt(2 ln(2/alpha) / (var_{i-1} i ln(1+i)))`` (their default), or, when a
target half-width ``eps`` is given, ``lambda_i = eps / var_{i-1}``, which bets at the size that
rejects means ``eps`` away fastest; ``var_{i-1}`` is a running variance from the first
``i - 1`` outcomes only, and stakes are truncated to ``c/m`` and ``c/(1-m)`` with ``c = 1/2``.
The set at each time spans the accepted grid points widened by one grid step (so it contains
every accepted mean between grid points); the reported interval is the running intersection of
these sets, which is valid for the same reason and never widens.
"""

from __future__ import annotations

import math

import numpy as np

from hubaudit.errors import InvalidData, InvalidStatisticsOption
from hubaudit.stats.estimate import ShareEstimate, validated_confidence

_STAKE_CAP = 0.5  # the truncation constant c of Waudby-Smith & Ramdas
_CHUNK = 2048  # outcomes processed per (chunk x grid) array, to bound memory


class ConfidenceSequence:
    """Anytime-valid confidence sequence for the mean of [0, 1] outcomes, updated batch by batch.

    ``target_half_width`` only tunes the stakes (the sequence is valid whatever it is);
    ``grid_size`` candidate means are tracked, so interval ends are resolved to ``1/(grid_size-1)``.
    """

    def __init__(self, *, confidence: float = 0.95, target_half_width: float | None = None, grid_size: int = 1001):
        self.confidence = validated_confidence(confidence)
        if target_half_width is not None and not 0.0 < target_half_width < 0.5:
            raise InvalidStatisticsOption(
                f"target_half_width must lie strictly between 0 and 0.5, got {target_half_width}"
            )
        if grid_size < 3:
            raise InvalidStatisticsOption(f"grid_size must be at least 3, got {grid_size}")
        self.target_half_width = target_half_width
        self._grid = np.linspace(0.0, 1.0, grid_size)
        self._log_threshold = math.log(1.0 / (1.0 - self.confidence))
        with np.errstate(divide="ignore"):
            self._cap_for = _STAKE_CAP / self._grid  # stake cap of the gambler betting the mean is above m
            self._cap_against = _STAKE_CAP / (1.0 - self._grid)
        self._log_wealth_for = np.zeros(grid_size)
        self._log_wealth_against = np.zeros(grid_size)
        self._sum = 0.0  # sum of outcomes
        self._sum_squared_residuals = 0.0  # sum of (x_i - running mean_i)^2
        self._lows: list[np.ndarray] = []
        self._highs: list[np.ndarray] = []

    @property
    def n(self) -> int:
        """Outcomes seen so far."""
        return sum(len(lows) for lows in self._lows)

    def interval(self) -> tuple[float, float]:
        """The current interval ``(low, high)``; ``(0, 1)`` before any outcome."""
        if not self._lows:
            return 0.0, 1.0
        return float(self._lows[-1][-1]), float(self._highs[-1][-1])

    @property
    def half_width(self) -> float:
        """Half the current interval's length."""
        low, high = self.interval()
        return (high - low) / 2

    def estimate(self) -> ShareEstimate:
        """The running mean (clipped into the interval) with the current interval."""
        low, high = self.interval()
        mean = self._sum / self.n if self.n else 0.5
        value = min(max(mean, low), high)
        return ShareEstimate(value, low, high, "betting-confidence-sequence", self.n, self.confidence)

    def half_widths(self) -> np.ndarray:
        """Half-width after each outcome, shape (n,)."""
        if not self._lows:
            return np.zeros(0)
        return (np.concatenate(self._highs) - np.concatenate(self._lows)) / 2

    def intervals(self) -> tuple[np.ndarray, np.ndarray]:
        """``(lows, highs)`` after each outcome, each shape (n,)."""
        if not self._lows:
            return np.zeros(0), np.zeros(0)
        return np.concatenate(self._lows), np.concatenate(self._highs)

    def samples_to_reach(self, half_width: float) -> int | None:
        """The first sample count at which the half-width was ``<= half_width``, or None if not yet."""
        reached = np.flatnonzero(self.half_widths() <= half_width)
        return int(reached[0]) + 1 if reached.size else None

    def update(self, outcomes: np.ndarray) -> ShareEstimate:
        """Add a batch of outcomes in [0, 1], shape (b,), in sampling order; return :meth:`estimate`."""
        outcomes = np.asarray(outcomes, dtype=float).ravel()
        if not np.all((outcomes >= 0.0) & (outcomes <= 1.0)):
            raise InvalidData("confidence-sequence outcomes must lie in [0, 1]")
        for start in range(0, outcomes.size, _CHUNK):
            self._update_chunk(outcomes[start : start + _CHUNK])
        return self.estimate()

    def _stakes(self, outcomes: np.ndarray) -> np.ndarray:
        """Predictable stake per outcome: uses only the outcomes before it (and updates the running sums)."""
        seen = self.n
        times = seen + np.arange(1, outcomes.size + 1)  # 1-based index i of each outcome
        running_means = (0.5 + self._sum + np.cumsum(outcomes)) / (times + 1)
        residuals = np.cumsum((outcomes - running_means) ** 2)
        variances = (0.25 + self._sum_squared_residuals + residuals) / (times + 1)
        previous_variances = np.concatenate([[(0.25 + self._sum_squared_residuals) / (seen + 1)], variances[:-1]])
        self._sum += float(outcomes.sum())
        self._sum_squared_residuals += float(residuals[-1])
        if self.target_half_width is None:
            log_term = math.log(2.0 / (1.0 - self.confidence))
            return np.sqrt(2.0 * log_term / (previous_variances * times * np.log1p(times)))
        return self.target_half_width / previous_variances

    def _update_chunk(self, outcomes: np.ndarray) -> None:
        if outcomes.size == 0:
            return
        stakes = self._stakes(outcomes)[:, None]
        deviations = outcomes[:, None] - self._grid[None, :]
        log_for = self._log_wealth_for + np.cumsum(np.log1p(np.minimum(stakes, self._cap_for) * deviations), axis=0)
        log_against = self._log_wealth_against + np.cumsum(
            np.log1p(-np.minimum(stakes, self._cap_against) * deviations), axis=0
        )
        self._log_wealth_for, self._log_wealth_against = log_for[-1], log_against[-1]
        log_wealth = np.logaddexp(log_for, log_against) - math.log(2.0)  # (chunk, grid)
        accepted = log_wealth < self._log_threshold
        # Never empty: keep the best-supported mean when every grid point is rejected.
        accepted[np.arange(len(accepted)), np.argmin(log_wealth, axis=1)] = True
        last = self._grid.size - 1
        lows = self._grid[np.maximum(np.argmax(accepted, axis=1) - 1, 0)]
        highs = self._grid[np.minimum(last - np.argmax(accepted[:, ::-1], axis=1) + 1, last)]
        # Running intersection over all times so far; should it ever be empty (probability at most
        # alpha) the sequence has already failed, and the current set is reported instead.
        running_lows = np.maximum.accumulate(np.concatenate([[self.interval()[0]], lows]))[1:]
        running_highs = np.minimum.accumulate(np.concatenate([[self.interval()[1]], highs]))[1:]
        empty = running_lows > running_highs
        self._lows.append(np.where(empty, lows, running_lows))
        self._highs.append(np.where(empty, highs, running_highs))


def samples_to_half_width(
    outcomes: np.ndarray,
    *,
    half_width: float,
    confidence: float = 0.95,
    tuned: bool = True,
    grid_size: int = 1001,
) -> int | None:
    """How many of ``outcomes`` (in order) a confidence sequence needed to reach ``half_width``; None if never.

    ``tuned`` sets the stakes for that half-width (see :class:`ConfidenceSequence`).
    """
    sequence = ConfidenceSequence(
        confidence=confidence, target_half_width=half_width if tuned else None, grid_size=grid_size
    )
    sequence.update(outcomes)
    return sequence.samples_to_reach(half_width)
