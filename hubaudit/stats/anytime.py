"""Anytime-valid shares for scans that stop when an interval is narrow enough, and fixed-n plans to compare.

:class:`LabelledShareSequences` holds simultaneous betting confidence sequences
(:class:`~hubaudit.stats.sequential.ConfidenceSequence`) for the K *labelled* shares
``q_k = P(annotator predicts k)``, one per indicator ``1[prediction == k]`` at Bonferroni level
``alpha / K`` (for K = 2 one sequence, the other share is its complement).

:class:`CorrectedConfidenceSequence` turns them into intervals for the *true* shares ``p``
(corrected for annotator error, see :mod:`hubaudit.stats.correction`) that hold at every
sample count at once. Alpha split: ``alpha / 2`` to the labelled-share sequences (as above),
``alpha / 2`` to exact Clopper-Pearson boxes ``[low_C, high_C]`` for the K x K calibration rates
``C[j, k] = P(predicted k | true j)`` (Bonferroni over the K^2 rates; over K for K = 2, where a
row's two rates are complements). On the event that the truth lies in every box and sequence
(probability >= 1 - alpha by Ville's inequality and the union bound), ``q_k = sum_j p_j C[j, k]``
puts ``p`` in the polytope

    {p in simplex : sum_j p_j low_C[j, k] <= q_high_k  and  sum_j p_j high_C[j, k] >= q_low_k  for all k}

(the rows of C need not sum to 1 there, which only enlarges it), so ``min / max p_k`` over it,
by linear programming, are simultaneous anytime-valid intervals. The point estimate is the
BBSE / Rogan-Gladen estimate of :func:`~hubaudit.stats.correction.corrected_shares` from the
running labelled shares, clipped into the interval.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog

from hubaudit.errors import InvalidData, InvalidStatisticsOption, TooFewSamples
from hubaudit.stats.correction import MAX_CONDITION, check_correctable, confusion_rates, project_onto_simplex
from hubaudit.stats.estimate import CountMatrix, ShareEstimate, validated_confidence, validated_counts, value_names
from hubaudit.stats.proportion import clopper_pearson_bounds, clopper_pearson_sample_size
from hubaudit.stats.sequential import ConfidenceSequence

_MAX_PLAN = 10**9  # largest fixed sample size fixed_n_plan searches


def _per_value_level(confidence: float, value_count: int) -> float:
    """Level of each of K labelled-share intervals that hold together: Bonferroni over K (none for K = 2)."""
    return 1.0 - (1.0 - confidence) / (value_count if value_count > 2 else 1)


class LabelledShareSequences:
    """Simultaneous anytime-valid confidence sequences for the K labelled shares, updated batch by batch.

    ``target_half_width`` only tunes the stakes (see :class:`ConfidenceSequence`).
    """

    def __init__(
        self,
        names: Sequence[str],
        *,
        confidence: float = 0.95,
        target_half_width: float | None = None,
        grid_size: int = 1001,
    ):
        if len(names) < 2:
            raise InvalidData(f"labelled shares need at least two values, got {list(names)}")
        self.names = value_names(names, len(names))
        self.confidence = validated_confidence(confidence)
        level = _per_value_level(self.confidence, len(self.names))
        self._tracked = [1] if len(self.names) == 2 else list(range(len(self.names)))
        self._sequences = [
            ConfidenceSequence(confidence=level, target_half_width=target_half_width, grid_size=grid_size)
            for _ in self._tracked
        ]
        self._counts = np.zeros(len(self.names), dtype=np.int64)

    @property
    def n(self) -> int:
        """Samples seen so far."""
        return int(self._counts.sum())

    def update(self, predicted_codes: np.ndarray) -> None:
        """Add a batch of the annotator's predicted value indices, int shape (b,), in sampling order."""
        codes = np.asarray(predicted_codes)
        if codes.ndim != 1 or (codes.size and codes.dtype.kind not in "iu"):
            raise InvalidData(f"predicted codes must be a vector of integers, got {codes.dtype} shape {codes.shape}")
        if codes.size and not (codes.min() >= 0 and codes.max() < len(self.names)):
            raise InvalidData(
                f"predicted codes must lie in 0..{len(self.names) - 1}, got {codes.min()}..{codes.max()}"
            )
        self._counts += np.bincount(codes, minlength=len(self.names))
        for value, sequence in zip(self._tracked, self._sequences):
            sequence.update((codes == value).astype(float))

    def shares(self) -> np.ndarray:
        """The running labelled shares, shape (K,); :class:`TooFewSamples` before any sample."""
        if self.n == 0:
            raise TooFewSamples("no predicted codes yet: update the sequences first")
        return self._counts / self.n

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Current simultaneous ``(low, high)`` of the labelled shares, each (K,); ``(0, 1)`` before any sample."""
        low, high = np.array([sequence.interval() for sequence in self._sequences]).T
        if len(self.names) == 2:
            return np.array([1.0 - high[0], low[0]]), np.array([1.0 - low[0], high[0]])
        return low, high

    @property
    def half_width(self) -> float:
        """The largest half-width over the K values."""
        low, high = self.bounds()
        return float(np.max(high - low)) / 2

    def admits(self, shares: np.ndarray) -> bool:
        """Whether labelled shares, shape (K,), lie in every current interval."""
        low, high = self.bounds()
        return bool(np.all((low <= shares) & (shares <= high)))

    def estimates(self) -> dict[str, ShareEstimate]:
        """Running labelled share of each value (clipped into its interval) with the simultaneous intervals."""
        shares = self.shares()
        low, high = self.bounds()
        level = _per_value_level(self.confidence, len(self.names))
        note = f"simultaneous over {len(self.names)} values, each at level {level:.4g}"
        return {
            name: ShareEstimate(
                min(max(shares[k], low[k]), high[k]),
                low[k],
                high[k],
                "betting-confidence-sequence",
                self.n,
                self.confidence,
                (note,),
            )
            for k, name in enumerate(self.names)
        }


@dataclass(frozen=True)
class _Calibration:
    """Calibration rates ``C`` (K, K), rows = true value, in simultaneous Clopper-Pearson boxes ``[low, high]``."""

    names: list[str]
    rates: np.ndarray
    low: np.ndarray
    high: np.ndarray
    sizes: np.ndarray  # calibration samples per true value, shape (K,)

    @classmethod
    def from_counts(
        cls, confusion: CountMatrix, *, names: Sequence[str] | None, confidence: float, max_condition: float
    ) -> _Calibration:
        """Boxes that hold together at ``confidence`` from calibration counts (K, K)."""
        counts = validated_counts(confusion, what="confusion matrix")
        rates = confusion_rates(counts, names=names)
        labels = value_names(names, rates.shape[0])
        check_correctable(rates, max_condition=max_condition)
        size = len(labels)
        entry_level = 1.0 - (1.0 - confidence) / (size * (size if size > 2 else 1))
        sizes = counts.sum(axis=1)
        low, high = clopper_pearson_bounds(counts, sizes[:, None], confidence=entry_level)
        return cls(labels, rates, low, high, sizes)

    def point(self, labelled: np.ndarray) -> np.ndarray:
        """BBSE / Rogan-Gladen shares from labelled shares (K,): ``C^T p = q`` solved, projected onto the simplex."""
        return project_onto_simplex(np.linalg.solve(self.rates.T, labelled))[0]

    def share_bounds(
        self, labelled_low: np.ndarray, labelled_high: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """``(min p, max p)``, each (K,), over the polytope of the module docstring; None when it is empty."""
        size = len(self.names)
        constraints = np.vstack([self.low.T, -self.high.T])  # (2K, K)
        limits = np.concatenate([labelled_high, -np.asarray(labelled_low)])
        bounds = np.empty((2, size))
        for k in range(size):
            for side, sign in ((0, 1.0), (1, -1.0)):
                result = linprog(
                    sign * np.eye(size)[k],
                    A_ub=constraints,
                    b_ub=limits,
                    A_eq=np.ones((1, size)),
                    b_eq=[1.0],
                    bounds=(0.0, 1.0),
                    method="highs",
                )
                if not result.success:
                    return None
                bounds[side, k] = sign * result.fun
        return np.clip(bounds[0], 0.0, 1.0), np.clip(bounds[1], 0.0, 1.0)

    def floor_half_width(self, labelled: np.ndarray) -> float:
        """Largest half-width left when the labelled shares are known exactly: those the point estimate implies.

        They are ``C_hat^T p_hat``: the observed shares (K,) themselves whenever the calibration
        allows them, so the polytope is never empty.
        """
        implied = self.rates.T @ self.point(labelled)
        bounds = self.share_bounds(implied, implied)
        return 0.5 if bounds is None else float(np.max(bounds[1] - bounds[0])) / 2

    def note(self) -> str:
        """The calibration sizes, for a :class:`ShareEstimate` note."""
        return "calibration per true value: " + ", ".join(f"{n}={int(s)}" for n, s in zip(self.names, self.sizes))


class CorrectedConfidenceSequence:
    """Anytime-valid simultaneous intervals for the true shares of K values, corrected for annotator error.

    ``confusion``: calibration counts (K, K), rows = true value, columns = predicted. Each
    :meth:`update` adds predicted codes; :meth:`estimates` holds at every sample count at once
    (see the module docstring), so a scan may stop when :attr:`half_width` is small enough.
    ``target_half_width`` tunes the labelled-share stakes at ``target / ||C^-T||_inf``, the
    labelled half-width that maps to it. Raises :class:`ClassifierNoBetterThanChance` when ``C``
    is too ill-conditioned to invert.
    """

    def __init__(
        self,
        confusion: CountMatrix,
        *,
        names: Sequence[str] | None = None,
        confidence: float = 0.95,
        target_half_width: float | None = None,
        max_condition: float = MAX_CONDITION,
        grid_size: int = 1001,
    ):
        self.confidence = validated_confidence(confidence)
        if target_half_width is not None and not 0.0 < target_half_width < 0.5:
            raise InvalidStatisticsOption(
                f"target_half_width must lie strictly between 0 and 0.5, got {target_half_width}"
            )
        half_level = 1.0 - (1.0 - self.confidence) / 2
        self._calibration = _Calibration.from_counts(
            confusion, names=names, confidence=half_level, max_condition=max_condition
        )
        labelled_target = (
            None
            if target_half_width is None
            else target_half_width / np.linalg.norm(np.linalg.inv(self._calibration.rates.T), np.inf)
        )
        self._labelled = LabelledShareSequences(
            self._calibration.names, confidence=half_level, target_half_width=labelled_target, grid_size=grid_size
        )
        self._cached: tuple[int, tuple[np.ndarray, np.ndarray] | None] | None = None

    @property
    def names(self) -> list[str]:
        """The K value names."""
        return self._calibration.names

    @property
    def n(self) -> int:
        """Samples seen so far."""
        return self._labelled.n

    def update(self, predicted_codes: np.ndarray) -> None:
        """Add a batch of the annotator's predicted value indices, int shape (b,), in sampling order."""
        self._labelled.update(predicted_codes)

    def _bounds(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The LP interval ``(low, high)``, each (K,), at the current sample count; None when the polytope is empty."""
        if self._cached is None or self._cached[0] != self.n:
            self._cached = (self.n, self._calibration.share_bounds(*self._labelled.bounds()))
        return self._cached[1]

    @property
    def half_width(self) -> float:
        """The largest half-width over the K values (0.5 when the polytope is empty)."""
        bounds = self._bounds()
        return 0.5 if bounds is None else float(np.max(bounds[1] - bounds[0])) / 2

    def admits(self, shares: np.ndarray) -> bool:
        """Whether true shares, shape (K,), lie in the current polytope (then every interval contains them)."""
        low, high = self._labelled.bounds()
        return bool(np.all(shares @ self._calibration.low <= high) and np.all(shares @ self._calibration.high >= low))

    def floor_half_width(self) -> float:
        """Half-width the calibration alone leaves at the running labelled shares (a smaller target is unreachable)."""
        return self._calibration.floor_half_width(self._labelled.shares())

    def estimates(self) -> dict[str, ShareEstimate]:
        """Corrected share of each value (clipped into its interval) with anytime-valid simultaneous intervals.

        Should the polytope be empty (probability <= alpha) every interval is ``[0, 1]``, said in the notes.
        """
        shares = self._calibration.point(self._labelled.shares())
        alpha = 1.0 - self.confidence
        notes = [
            f"alpha split: {alpha / 2:g} to the labelled-share confidence sequences, {alpha / 2:g} to "
            "Clopper-Pearson boxes of the calibration rates",
            self._calibration.note(),
        ]
        bounds = self._bounds()
        if bounds is None:
            notes.append(
                "no shares fit both the labelled-share sequences and the calibration boxes: interval set to [0, 1]"
            )
            bounds = np.zeros(len(shares)), np.ones(len(shares))
        low, high = bounds
        return {
            name: ShareEstimate(
                min(max(shares[k], low[k]), high[k]),
                low[k],
                high[k],
                "corrected-confidence-sequence",
                self.n,
                self.confidence,
                tuple(notes),
            )
            for k, name in enumerate(self.names)
        }


@dataclass(frozen=True)
class FixedSamplePlan:
    """Fixed sample sizes that reach a target half-width, to compare with stopping a sequence there.

    ``labelled``: Clopper-Pearson plan for the labelled shares at the observed shares;
    ``worst_case``: the same at share 0.5; ``corrected``: the plan for the corrected shares
    (None without a confusion matrix, or when the calibration floor is not below the target).
    """

    labelled: int
    worst_case: int
    corrected: int | None


def fixed_n_plan(
    half_width: float,
    *,
    labelled_shares: Sequence[float] | np.ndarray,
    confusion: CountMatrix | None = None,
    confidence: float = 0.95,
    max_condition: float = MAX_CONDITION,
) -> FixedSamplePlan:
    """Smallest fixed n whose (simultaneous) intervals reach ``half_width`` at the observed labelled shares (K,).

    The labelled plans use Clopper-Pearson at the level of :class:`LabelledShareSequences`. The
    corrected plan is the smallest n at which the LP of :class:`CorrectedConfidenceSequence`,
    with Clopper-Pearson boxes for ``q`` (counts ``round(q n)``, at the labelled shares the
    point estimate implies) in place of the sequences, reaches ``half_width``; found by doubling
    then bisection, as :func:`clopper_pearson_sample_size`.
    """
    confidence = validated_confidence(confidence)
    shares = np.asarray(labelled_shares, dtype=float)
    if shares.ndim != 1 or shares.size < 2 or np.any(shares < 0) or not math.isclose(shares.sum(), 1.0, abs_tol=1e-6):
        raise InvalidData(
            f"labelled shares must be a vector of two or more shares summing to 1, got {shares.tolist()}"
        )
    level = _per_value_level(confidence, shares.size)
    labelled = max(
        clopper_pearson_sample_size(half_width, confidence=level, anticipated_share=float(share)) for share in shares
    )
    worst_case = clopper_pearson_sample_size(half_width, confidence=level)
    if confusion is None:
        return FixedSamplePlan(labelled, worst_case, None)
    half_level = 1.0 - (1.0 - confidence) / 2
    calibration = _Calibration.from_counts(confusion, names=None, confidence=half_level, max_condition=max_condition)
    if shares.size != len(calibration.names):
        raise InvalidData(
            f"{shares.size} labelled shares do not fit a {len(calibration.names)}-value confusion matrix"
        )
    if calibration.floor_half_width(shares) >= half_width:
        return FixedSamplePlan(labelled, worst_case, None)
    implied = calibration.rates.T @ calibration.point(shares)
    labelled_level = _per_value_level(half_level, shares.size)

    def narrow_enough(n: int) -> bool:
        low, high = clopper_pearson_bounds(np.round(implied * n), np.array(n), confidence=labelled_level)
        bounds = calibration.share_bounds(low, high)
        return bounds is not None and float(np.max(bounds[1] - bounds[0])) / 2 <= half_width

    too_small, enough = 0, labelled
    while not narrow_enough(enough):
        if enough > _MAX_PLAN:
            return FixedSamplePlan(labelled, worst_case, None)
        too_small, enough = enough, 2 * enough
    while enough - too_small > 1:
        middle = (too_small + enough) // 2
        too_small, enough = (too_small, middle) if narrow_enough(middle) else (middle, enough)
    return FixedSamplePlan(labelled, worst_case, enough)
