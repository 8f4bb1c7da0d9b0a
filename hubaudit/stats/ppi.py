"""Prediction-powered shares: the annotator's labels of all generated samples, debiased by gold labels on a few.

A person labels ``m`` generated samples drawn uniformly at random (the *gold* labels); the
annotator labels all of them. PPI++ (Angelopoulos, Duchi & Zrnic 2023, via ``ppi_py``) estimates
the share of value k as ``lam * mean(f_k(unlabelled)) + mean(1[gold == k] - lam * f_k(gold))``,
with ``f_k`` the annotator's probability of k and ``lam`` in [0, 1] tuned to minimise the
variance. The gold term removes the annotator's bias on *generated* images, whatever its
errors, so unlike :mod:`hubaudit.stats.correction` nothing assumes the annotator errs on
generated images as on its calibration split. Intervals are CLT (Wald) intervals: valid as m
grows; a value with few gold labels (under about 10, or all but 10) may undercover.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Sequence

import numpy as np

from hubaudit.errors import InvalidData, TooFewSamples
from hubaudit.stats.estimate import ShareEstimate, validated_confidence, value_names

#: Fewer gold labels of a value (or of its complement) than this add an undercoverage note.
FEW_GOLD = 10


@dataclass(frozen=True)
class PredictionPoweredShares:
    """PPI++ shares of K values with simultaneous intervals, beside the gold labels alone.

    ``shares``: the PPI++ estimates; ``gold_only``: the classical CLT interval on the gold
    labels alone, at the same per-value level; ``power_tuning``: each value's ``lam`` in [0, 1]
    (0: the annotator is ignored, 1: plain PPI); ``effective_gold``: how many gold labels alone
    would give PPI's width, ``m * (gold-only half-width / PPI half-width)^2`` (before clipping;
    ``m`` when PPI's interval has zero width).
    """

    shares: dict[str, ShareEstimate]
    gold_only: dict[str, ShareEstimate]
    power_tuning: dict[str, float]
    effective_gold: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form: each estimate as :meth:`ShareEstimate.to_dict`."""
        return {
            "shares": {value: share.to_dict() for value, share in self.shares.items()},
            "gold_only": {value: share.to_dict() for value, share in self.gold_only.items()},
            "power_tuning": dict(self.power_tuning),
            "effective_gold": dict(self.effective_gold),
        }


def _ppi_py() -> ModuleType:
    """``ppi_py``, imported on first use (it pulls numba); its import runs ``warnings.simplefilter("ignore")``
    for the whole process, so the import runs inside ``catch_warnings``, which restores the filters."""
    with warnings.catch_warnings():
        import ppi_py
    return ppi_py


def _validated_codes(codes: Sequence[int] | np.ndarray, value_count: int, *, what: str) -> np.ndarray:
    """A 1-D array of whole value codes in ``0 .. value_count - 1`` as int64, or :class:`InvalidData`."""
    array = np.asarray(codes)
    if array.ndim != 1 or array.dtype.kind not in "biuf":
        raise InvalidData(f"{what} must be a vector of numeric codes, got shape {array.shape}, dtype {array.dtype}")
    whole = np.all(np.isfinite(array)) and np.all(array == np.round(array))
    if array.size and not (whole and array.min() >= 0 and array.max() < value_count):
        raise InvalidData(f"{what} must be whole numbers from 0 to {value_count - 1}")
    return array.astype(np.int64)


def _validated_probabilities(probabilities: np.ndarray, *, what: str) -> np.ndarray:
    """A 2-D float array of probabilities in [0, 1] with at least two columns, or :class:`InvalidData`."""
    array = np.asarray(probabilities, dtype=float)
    if array.ndim != 2 or array.shape[1] < 2:
        raise InvalidData(f"{what} must be a (samples, values) array with at least two values, got shape {array.shape}")
    if not np.all((array >= 0) & (array <= 1)):  # also rejects nan
        raise InvalidData(f"{what} must lie in [0, 1]")
    return array


def _power_tuning(gold_truth: np.ndarray, gold_predicted: np.ndarray, unlabelled_predicted: np.ndarray) -> float:
    """PPI++'s variance-minimising ``lam`` for a mean, clipped to [0, 1]: ppi_py's ``lam=None`` rule
    ``cov(Y, f) / ((1 + m/N) var(f))`` (``var`` over gold and unlabelled together); 0 when ``f`` is constant."""
    m, unlabelled = gold_predicted.size, unlabelled_predicted.size
    variance = np.var(np.concatenate([gold_predicted, unlabelled_predicted]), ddof=1)
    if variance == 0:
        return 0.0
    covariance = np.mean((gold_truth - gold_truth.mean()) * (gold_predicted - gold_predicted.mean()))
    return float(np.clip(covariance / ((1 + m / unlabelled) * variance), 0.0, 1.0))


def _clipped(center: float, low: float, high: float) -> tuple[float, float, float]:
    return tuple(float(np.clip(bound, 0.0, 1.0)) for bound in (center, low, high))


def _complement(estimate: ShareEstimate) -> ShareEstimate:
    bounds = (1 - estimate.value, 1 - estimate.high, 1 - estimate.low)
    return ShareEstimate(*bounds, estimate.method, estimate.n, estimate.confidence, estimate.notes)


def ppi_shares(
    gold_codes: Sequence[int] | np.ndarray,
    gold_probabilities: np.ndarray,
    unlabelled_probabilities: np.ndarray,
    *,
    names: Sequence[str] | None = None,
    confidence: float = 0.95,
) -> PredictionPoweredShares:
    """PPI++ shares of K values from gold labels on a random subset of the generated samples.

    Args:
        gold_codes: int (m,), the true value code (0 .. K-1) of each gold-labelled sample, m >= 2.
        gold_probabilities: float (m, K), the annotator's probabilities on those same samples.
        unlabelled_probabilities: float (N, K), the annotator's probabilities on the generated
            samples *without* a gold label, N >= 1. Leave the gold-labelled samples out: PPI's
            variance ``var(lam f)/N + var(Y - lam f)/m`` assumes the two sets independent, which
            a uniformly random gold subset and the rest are; counting the gold samples in both
            adds a covariance the interval ignores, and dropping them loses only m of N.
        names: K value names (default ``"0" .. "K-1"``).
        confidence: the level at which all K intervals hold together; each value gets
            ``1 - (1 - confidence) / K`` for K > 2 (Bonferroni). For K = 2 value 0 is the
            complement of value 1, so both hold at ``confidence``.

    Returns:
        :class:`PredictionPoweredShares`; every estimate has ``n = m`` and ``confidence``.
    """
    confidence = validated_confidence(confidence)
    gold_probabilities = _validated_probabilities(gold_probabilities, what="gold probabilities")
    unlabelled_probabilities = _validated_probabilities(unlabelled_probabilities, what="unlabelled probabilities")
    m, value_count = gold_probabilities.shape
    unlabelled = unlabelled_probabilities.shape[0]
    gold_codes = _validated_codes(gold_codes, value_count, what="gold codes")
    if unlabelled_probabilities.shape[1] != value_count or gold_codes.size != m:
        raise InvalidData(
            f"gold codes (shape {gold_codes.shape}), gold probabilities (shape {gold_probabilities.shape}) and "
            f"unlabelled probabilities (shape {unlabelled_probabilities.shape}) do not match"
        )
    if m < 2:
        raise TooFewSamples(f"prediction-powered inference needs at least two gold labels, got {m}")
    if unlabelled < 1:
        raise TooFewSamples("prediction-powered inference needs at least one generated sample without a gold label")
    labels = value_names(names, value_count)
    level = confidence if value_count == 2 else 1 - (1 - confidence) / value_count
    ppi_py = _ppi_py()

    def one_value(k: int) -> tuple[ShareEstimate, ShareEstimate, float, float]:
        truth = (gold_codes == k).astype(float)
        predicted, predicted_unlabelled = gold_probabilities[:, k], unlabelled_probabilities[:, k]
        lam = _power_tuning(truth, predicted, predicted_unlabelled)
        value = float(ppi_py.ppi_mean_pointestimate(truth, predicted, predicted_unlabelled, lam=lam)[0])
        interval = ppi_py.ppi_mean_ci(truth, predicted, predicted_unlabelled, alpha=1 - level, lam=lam)
        low, high = (float(bound[0]) for bound in interval)
        gold_low, gold_high = (float(bound) for bound in ppi_py.classical_mean_ci(truth, alpha=1 - level))
        effective = m * ((gold_high - gold_low) / (high - low)) ** 2 if high > low else float(m)
        caveats = [f"per-value level {level:.4g} (Bonferroni over {value_count} values)"] if value_count > 2 else []
        gold_count = int(truth.sum())
        if min(gold_count, m - gold_count) < FEW_GOLD:
            caveats.append(f"{gold_count} of {m} gold labels are {labels[k]!r}: the CLT interval may undercover")
        sizes = f"{m} gold labels, {unlabelled} unlabelled samples, lambda={lam:.3f}"
        ppi = ShareEstimate(*_clipped(value, low, high), "ppi++", m, confidence, [sizes, *caveats])
        gold = ShareEstimate(*_clipped(truth.mean(), gold_low, gold_high), "gold-clt", m, confidence, caveats)
        return ppi, gold, lam, effective

    if value_count == 2:
        present = one_value(1)
        results = [(_complement(present[0]), _complement(present[1]), *present[2:]), present]
    else:
        results = [one_value(k) for k in range(value_count)]
    by_value = [{label: result[field] for label, result in zip(labels, results)} for field in range(4)]
    return PredictionPoweredShares(*by_value)


def gold_confusion(
    gold_codes: Sequence[int] | np.ndarray, predicted_codes: Sequence[int] | np.ndarray, *, value_count: int
) -> np.ndarray:
    """The annotator's confusion on *generated* samples: int (K, K) counts, rows = gold value, columns = its argmax.

    ``gold_codes`` and ``predicted_codes``: int (m,), codes 0 .. ``value_count - 1``, m >= 1.
    """
    if int(value_count) < 2:
        raise InvalidData(f"a confusion matrix needs at least two values, got value_count={value_count}")
    value_count = int(value_count)
    gold_codes = _validated_codes(gold_codes, value_count, what="gold codes")
    predicted_codes = _validated_codes(predicted_codes, value_count, what="predicted codes")
    if gold_codes.size != predicted_codes.size:
        raise InvalidData(f"{gold_codes.size} gold codes but {predicted_codes.size} predicted codes")
    if gold_codes.size < 1:
        raise TooFewSamples("a confusion matrix needs at least one gold-labelled sample")
    cells = np.bincount(gold_codes * value_count + predicted_codes, minlength=value_count * value_count)
    return cells.reshape(value_count, value_count)
