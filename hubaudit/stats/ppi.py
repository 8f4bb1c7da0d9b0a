"""Prediction-powered shares: the annotator's labels of all generated samples, debiased by gold labels on a few.

A person labels ``m`` generated samples drawn uniformly at random (the *gold* labels); the
annotator labels all of them. PPI++ (Angelopoulos, Duchi & Zrnic 2023) estimates the share of
value k as ``lam * mean(f_k(unlabelled)) + mean(1[gold == k] - lam * f_k(gold))`` (computed by
ppi_py's ``ppi_mean_pointestimate``), with ``f_k`` the annotator's probability of k and ``lam`` in
[0, 1] tuned to minimise the variance (:func:`_power_tuning`: ppi_py's ``lam=None`` rule, the same
number). The gold term removes the annotator's bias on *generated* images, whatever its
errors, so unlike :mod:`hubaudit.stats.correction` nothing assumes the annotator errs on
generated images as on its calibration split.

Intervals are CLT intervals ``estimate +- z * se`` with ``se^2 = var(lam f_unlabelled) / N +
var(Y - lam f_gold) / m`` (sample variances), where the rectifier's variance is computed with four
pseudo gold labels added, one at each corner ``(Y, f) in {0, 1}^2`` (Agresti & Coull's "add two
successes and two failures" for a proportion, carried to the rectifier). The point estimate and
``lam`` use the real labels only. The interval is hubaudit's own, not ppi_py's ``ppi_mean_ci``
(:func:`_standard_error` says exactly how the two relate): that plain Wald interval undercovers
when the annotator's errors on the gold labels are rare events: 0.92 coverage at share 0.92 with
200 gold labels and an annotator 10 points worse on generated images, 0.88 with 100 gold labels
and a near-perfect one; the adjusted interval covers 0.95 and 0.97 there, 5-10% wider
(``benchmarks/pia.py``, ``tests/test_stats_ppi.py``). A value with few gold labels (under about
10, or all but 10) gets a note.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np
from scipy.stats import norm

from hubaudit.errors import InvalidData, TooFewSamples
from hubaudit.stats.estimate import ShareEstimate, validated_confidence, value_names

#: Fewer gold labels of a value (or of its complement) than this add an undercoverage note.
FEW_GOLD = 10


@dataclass(frozen=True)
class PredictionPoweredShares:
    """PPI++ shares of K values with simultaneous intervals, beside the gold labels alone.

    ``shares``: the PPI++ estimates; ``gold_only``: the CLT interval on the gold labels alone
    (``lam = 0``, the same pseudo-label adjustment), at the same per-value level; ``power_tuning``: each value's ``lam`` in [0, 1]
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
        raise InvalidData(
            f"{what} must be a (samples, values) array with at least two values, got shape {array.shape}"
        )
    if not np.all((array >= 0) & (array <= 1)):  # also rejects nan
        raise InvalidData(f"{what} must lie in [0, 1]")
    return array


def _power_tuning(gold_truth: np.ndarray, gold_predicted: np.ndarray, unlabelled_predicted: np.ndarray) -> float:
    """PPI++'s variance-minimising ``lam`` for a mean, clipped to [0, 1]: ppi_py's ``lam=None`` rule
    ``cov(Y, f) / ((1 + m/N) var(f))`` (``cov`` over the gold labels divided by m, ``var`` over gold and unlabelled
    together divided by m + N - 1, as ppi_py's ``_calc_lam_glm``); 0 when ``f`` is constant (where ppi_py divides by
    zero). ``tests/test_stats_ppi.py`` checks it against ppi_py's choice."""
    m, unlabelled = gold_predicted.size, unlabelled_predicted.size
    variance = np.var(np.concatenate([gold_predicted, unlabelled_predicted]), ddof=1)
    if variance == 0:
        return 0.0
    covariance = np.mean((gold_truth - gold_truth.mean()) * (gold_predicted - gold_predicted.mean()))
    return float(np.clip(covariance / ((1 + m / unlabelled) * variance), 0.0, 1.0))


PSEUDO_GOLD = (np.array([0.0, 0.0, 1.0, 1.0]), np.array([0.0, 1.0, 0.0, 1.0]))
"""The four pseudo gold labels ``(Y, f)`` the rectifier's variance is computed with: one at each corner of [0, 1]^2."""


def _standard_error(
    gold_truth: np.ndarray, gold_predicted: np.ndarray, unlabelled_predicted: np.ndarray, lam: float
) -> float:
    """The standard error of the PPI estimate with weight ``lam`` (0: the gold labels alone): the imputed term's
    ``var(lam f) / N`` plus the rectifier's ``var(Y - lam f) / m``, the latter over the m gold labels and
    :data:`PSEUDO_GOLD` (m + 4 values, still divided by m); both sample variances (divisor n - 1).

    ppi_py's ``ppi_mean_ci`` at the same ``lam`` has ``se_ppi^2 = I^2 + R^2`` with ``np.std`` (divisor n) and no pseudo
    labels; in its terms this is exactly ``se^2 = N/(N-1) I^2 + (m+4)^2/(m(m+3)) R_4^2``, ``R_4`` being ppi_py's
    rectifier term on the padded labels (``tests/test_stats_ppi.py`` checks the identity)."""
    truth = np.concatenate([gold_truth, PSEUDO_GOLD[0]])
    predicted = np.concatenate([gold_predicted, PSEUDO_GOLD[1]])
    imputed = (
        lam**2 * np.var(unlabelled_predicted, ddof=1) / unlabelled_predicted.size
        if unlabelled_predicted.size > 1
        else 0.0
    )
    return float(np.sqrt(imputed + np.var(truth - lam * predicted, ddof=1) / gold_truth.size))


def _clipped(center: float, low: float, high: float) -> tuple[float, float, float]:
    return tuple(float(np.clip(bound, 0.0, 1.0)) for bound in (center, low, high))


def _complement(estimate: ShareEstimate) -> ShareEstimate:
    bounds = (1 - estimate.value, 1 - estimate.high, 1 - estimate.low)
    return ShareEstimate(*bounds, estimate.method, estimate.n, estimate.confidence, estimate.notes)


@dataclass(frozen=True)
class GoldStratum:
    """One condition's data for :func:`ppi_shares`.

    Attributes:
        gold_codes: int (m,), the true value code (0 .. K-1) of each gold-labelled sample, m >= 2.
        gold_probabilities: float (m, K), the annotator's probabilities on those same samples.
        unlabelled_probabilities: float (N, K), the annotator's probabilities on the generated
            samples *without* a gold label, N >= 1. Leave the gold-labelled samples out: PPI's
            variance ``var(lam f)/N + var(Y - lam f)/m`` assumes the two sets independent, which
            a uniformly random gold subset and the rest are; counting the gold samples in both
            adds a covariance the interval ignores, and dropping them loses only m of N.
    """

    gold_codes: np.ndarray
    gold_probabilities: np.ndarray
    unlabelled_probabilities: np.ndarray

    def validated(self) -> GoldStratum:
        """This stratum as checked arrays, or :class:`InvalidData` / :class:`TooFewSamples`."""
        gold_probabilities = _validated_probabilities(self.gold_probabilities, what="gold probabilities")
        unlabelled_probabilities = _validated_probabilities(
            self.unlabelled_probabilities, what="unlabelled probabilities"
        )
        m, value_count = gold_probabilities.shape
        gold_codes = _validated_codes(self.gold_codes, value_count, what="gold codes")
        if unlabelled_probabilities.shape[1] != value_count or gold_codes.size != m:
            raise InvalidData(
                f"gold codes (shape {gold_codes.shape}), gold probabilities (shape {gold_probabilities.shape}) and "
                f"unlabelled probabilities (shape {unlabelled_probabilities.shape}) do not match"
            )
        if m < 2:
            raise TooFewSamples(f"prediction-powered inference needs at least two gold labels, got {m}")
        if unlabelled_probabilities.shape[0] < 1:
            raise TooFewSamples(
                "prediction-powered inference needs at least one generated sample without a gold label"
            )
        return GoldStratum(gold_codes, gold_probabilities, unlabelled_probabilities)


def ppi_shares(
    gold_codes: Sequence[int] | np.ndarray,
    gold_probabilities: np.ndarray,
    unlabelled_probabilities: np.ndarray,
    *,
    names: Sequence[str] | None = None,
    confidence: float = 0.95,
) -> PredictionPoweredShares:
    """PPI++ shares of K values from gold labels on a random subset of one condition's generated samples.

    The arguments are those of one :class:`GoldStratum` (shapes there); ``names``: K value names
    (default ``"0" .. "K-1"``); ``confidence``: the level at which all K intervals hold together
    (each value gets ``1 - (1 - confidence) / K`` for K > 2, Bonferroni; for K = 2 value 0 is the
    complement of value 1, so both hold at ``confidence``). Every estimate has ``n = m``.
    """
    return pooled_ppi_shares(
        [GoldStratum(np.asarray(gold_codes), gold_probabilities, unlabelled_probabilities)],
        names=names,
        confidence=confidence,
    )


def pooled_ppi_shares(
    strata: Sequence[GoldStratum], *, names: Sequence[str] | None = None, confidence: float = 0.95
) -> PredictionPoweredShares:
    """PPI++ shares of K values pooled over C conditions drawn in equal numbers: the mean of the C conditions'
    estimates, with standard error ``sqrt(sum se_c^2) / C`` (the conditions' samples are independent).

    Each stratum has its own gold labels (a uniform draw from its samples) and its own ``lam``;
    ``power_tuning`` reports their mean. Every estimate has ``n`` = all gold labels; levels as :func:`ppi_shares`.
    """
    confidence = validated_confidence(confidence)
    if not strata:
        raise TooFewSamples("prediction-powered inference needs at least one condition with gold labels")
    strata = [stratum.validated() for stratum in strata]
    value_count = strata[0].gold_probabilities.shape[1]
    if any(stratum.gold_probabilities.shape[1] != value_count for stratum in strata):
        raise InvalidData("every condition's probabilities must have the same number of values")
    labels = value_names(names, value_count)
    level = confidence if value_count == 2 else 1 - (1 - confidence) / value_count
    z = float(norm.ppf(0.5 + level / 2))
    m = sum(stratum.gold_codes.size for stratum in strata)
    unlabelled = sum(stratum.unlabelled_probabilities.shape[0] for stratum in strata)
    ppi_py = _ppi_py()

    def one_value(k: int) -> tuple[ShareEstimate, ShareEstimate, float, float]:
        values, errors, gold_values, gold_errors, lams, gold_counts = [], [], [], [], [], []
        for stratum in strata:
            truth = (stratum.gold_codes == k).astype(float)
            predicted, predicted_unlabelled = stratum.gold_probabilities[:, k], stratum.unlabelled_probabilities[:, k]
            lam = _power_tuning(truth, predicted, predicted_unlabelled)
            values.append(float(ppi_py.ppi_mean_pointestimate(truth, predicted, predicted_unlabelled, lam=lam)[0]))
            errors.append(_standard_error(truth, predicted, predicted_unlabelled, lam))
            gold_values.append(truth.mean())
            gold_errors.append(_standard_error(truth, predicted, predicted_unlabelled, 0.0))
            lams.append(lam)
            gold_counts.append(int(truth.sum()))
        value, gold_value = float(np.mean(values)), float(np.mean(gold_values))
        half_width = z * float(np.sqrt(np.sum(np.square(errors)))) / len(strata)
        gold_half_width = z * float(np.sqrt(np.sum(np.square(gold_errors)))) / len(strata)
        effective = m * (gold_half_width / half_width) ** 2 if half_width > 0 else float(m)
        caveats = [f"per-value level {level:.4g} (Bonferroni over {value_count} values)"] if value_count > 2 else []
        gold_count = sum(gold_counts)
        if min(gold_count, m - gold_count) < FEW_GOLD:
            caveats.append(f"{gold_count} of {m} gold labels are {labels[k]!r}: the CLT interval may undercover")
        lam = float(np.mean(lams))
        sizes = f"{m} gold labels, {unlabelled} unlabelled samples, lambda={lam:.3f}"
        if len(strata) > 1:
            sizes += f" (mean over {len(strata)} conditions, each with its own)"
        ppi = ShareEstimate(
            *_clipped(value, value - half_width, value + half_width), "ppi++", m, confidence, [sizes, *caveats]
        )
        gold = ShareEstimate(
            *_clipped(gold_value, gold_value - gold_half_width, gold_value + gold_half_width),
            "gold-clt",
            m,
            confidence,
            caveats,
        )
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
