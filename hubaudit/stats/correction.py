"""Shares corrected for annotator error with its confusion matrix (adjusted classify-and-count).

The annotator labels each generated sample; its confusion matrix, estimated on a labelled
calibration split, has rows = true value and columns = predicted value (counts). Under prior
shift (the annotator errs on generated images as it did on the calibration split) the
predicted shares ``q`` and the true shares ``p`` satisfy ``q = M^T p`` with ``M`` the
row-normalised confusion matrix, so ``p`` is recovered by solving that system (Rogan-Gladen
for two values, black-box shift estimation, BBSE, Lipton et al. 2018, for K values) and
projecting onto the probability simplex.

Intervals carry the uncertainty of *both* the sample counts and the finite calibration split:

* two values: a confidence-distribution bootstrap. ``p = (q - fpr) / (tpr - fpr)`` rises with
  ``q`` and falls with ``tpr`` and ``fpr``, so the lower bound draws each rate from the side of
  its exact (Clopper-Pearson) confidence distribution that pulls ``p`` down, the upper bound
  from the side that pulls it up. Coverage >= 95% in every simulated setting (docs/statistics.md).
* K >= 3 values: draws from the Jeffreys (Dirichlet(counts + 1/2)) posteriors of the predicted
  shares and of each confusion-matrix row, percentile intervals at Bonferroni level ``alpha/K``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import chi2_contingency, fisher_exact

from hubaudit.errors import ClassifierNoBetterThanChance, InvalidData, TooFewSamples
from hubaudit.stats.estimate import (
    CountMatrix,
    ShareEstimate,
    validated_confidence,
    validated_count,
    validated_counts,
    value_names,
)

#: Default largest condition number of the row-normalised confusion matrix that is still corrected.
MAX_CONDITION = 20.0


def confusion_rates(confusion: CountMatrix, *, names: Sequence[str] | None = None) -> np.ndarray:
    """Row-normalised (K, K) confusion matrix ``M[i, j] = P(predicted j | true i)`` from counts.

    Raises :class:`TooFewSamples` naming the value whose calibration row has no samples.
    """
    counts = validated_counts(confusion, what="confusion matrix")
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1] or counts.shape[0] < 2:
        raise InvalidData(f"the confusion matrix must be square with at least two values, got shape {counts.shape}")
    labels = value_names(names, counts.shape[0])
    row_totals = counts.sum(axis=1)
    for label, total in zip(labels, row_totals):
        if total == 0:
            raise TooFewSamples(f"the calibration split has no samples whose true value is {label!r}")
    return counts / row_totals[:, None]


def check_correctable(rates: np.ndarray, *, max_condition: float = MAX_CONDITION) -> None:
    """Raise :class:`ClassifierNoBetterThanChance` when ``rates`` is singular or too ill-conditioned to invert."""
    condition = float(np.linalg.cond(rates))
    if not condition <= max_condition:  # also catches inf / nan
        raise ClassifierNoBetterThanChance(
            f"the annotator's confusion matrix is too close to singular (condition number {condition:.3g} > "
            f"{max_condition:g}): its predictions carry too little information to correct its errors; "
            "use a better annotator or a larger calibration split"
        )


def project_onto_simplex(points: np.ndarray) -> np.ndarray:
    """Euclidean projection of each row of a (B, K) array onto the probability simplex.

    The sort-based algorithm of Wang & Carreira-Perpinan (2013).
    """
    points = np.atleast_2d(points)
    size = points.shape[1]
    descending = -np.sort(-points, axis=1)
    shifted_cumsum = np.cumsum(descending, axis=1) - 1.0
    positions = np.arange(1, size + 1)
    support = descending - shifted_cumsum / positions > 0
    last = size - 1 - np.argmax(support[:, ::-1], axis=1)
    threshold = shifted_cumsum[np.arange(points.shape[0]), last] / (last + 1)
    return np.maximum(points - threshold[:, None], 0.0)


def confidence_distribution_draws(
    successes: int, n: int, *, upper: bool, size: int, rng: np.random.Generator
) -> np.ndarray:
    """Draws from the exact (Clopper-Pearson) upper or lower confidence distribution of a binomial share."""
    a, b = (successes + 1, n - successes) if upper else (successes, n - successes + 1)
    if a == 0:
        return np.zeros(size)
    if b == 0:
        return np.ones(size)
    return rng.beta(a, b, size)


def rogan_gladen(predicted: np.ndarray, tpr: np.ndarray, fpr: np.ndarray, *, if_undefined: float) -> np.ndarray:
    """``clip((q - fpr) / (tpr - fpr), 0, 1)``; ``if_undefined`` where ``tpr <= fpr``."""
    informedness = tpr - fpr
    defined = informedness > 0
    share = (predicted - fpr) / np.where(defined, informedness, 1.0)
    return np.where(defined, np.clip(share, 0.0, 1.0), if_undefined)


def corrected_binary_share(
    positive_count: int,
    n: int,
    *,
    confusion: CountMatrix,
    confidence: float = 0.95,
    n_draws: int = 4000,
    max_condition: float = MAX_CONDITION,
    random_state: int | np.random.Generator = 0,
) -> ShareEstimate:
    """Rogan-Gladen share of a binary property, ``(q - fpr) / (tpr - fpr)`` clipped to [0, 1].

    ``positive_count`` of ``n`` generated samples were predicted positive; ``confusion`` is the
    2x2 calibration count matrix ``[[tn, fp], [fn, tp]]`` (rows = true absent/present). The
    interval accounts for the calibration split's size (see the module docstring).
    """
    positive_count, n = validated_count(positive_count, n)
    confidence = validated_confidence(confidence)
    counts = validated_counts(confusion, what="confusion matrix")
    if counts.shape != (2, 2):
        raise InvalidData(f"a binary confusion matrix must be 2x2, got shape {counts.shape}")
    rates = confusion_rates(counts, names=["absent", "present"])
    tpr, fpr = rates[1, 1], rates[0, 1]
    if not tpr > fpr:
        raise ClassifierNoBetterThanChance(
            f"the annotator is no better than chance on the calibration split (tpr={tpr:.3f} <= fpr={fpr:.3f})"
        )
    check_correctable(rates, max_condition=max_condition)
    rng = np.random.default_rng(random_state)
    negatives, positives = (int(total) for total in counts.sum(axis=1))
    false_positives, true_positives = (int(count) for count in counts[:, 1])

    def draws(upper: bool) -> np.ndarray:
        return rogan_gladen(
            confidence_distribution_draws(positive_count, n, upper=upper, size=n_draws, rng=rng),
            confidence_distribution_draws(true_positives, positives, upper=not upper, size=n_draws, rng=rng),
            confidence_distribution_draws(false_positives, negatives, upper=not upper, size=n_draws, rng=rng),
            if_undefined=1.0 if upper else 0.0,
        )

    alpha = 1.0 - confidence
    share = float(rogan_gladen(np.array(positive_count / n), tpr, fpr, if_undefined=0.0))
    low = min(share, float(np.quantile(draws(upper=False), alpha / 2)))
    high = max(share, float(np.quantile(draws(upper=True), 1 - alpha / 2)))
    note = f"calibration: {positives} present (tpr={tpr:.3f}), {negatives} absent (fpr={fpr:.3f})"
    return ShareEstimate(share, low, high, "rogan-gladen", n, confidence, (note,))


def corrected_shares(
    predicted_counts: Sequence[int] | np.ndarray,
    *,
    confusion: CountMatrix,
    names: Sequence[str] | None = None,
    confidence: float = 0.95,
    n_draws: int = 4000,
    max_condition: float = MAX_CONDITION,
    random_state: int | np.random.Generator = 0,
) -> dict[str, ShareEstimate]:
    """BBSE shares of K values with simultaneous intervals; ``predicted_counts`` shape (K,), ``confusion`` (K, K).

    For K = 2 this is :func:`corrected_binary_share` for value 1 (value 0 gets the complement).
    """
    predicted_counts = validated_counts(predicted_counts, what="predicted counts")
    counts = validated_counts(confusion, what="confusion matrix")
    size = predicted_counts.size
    labels = value_names(names, size)
    if predicted_counts.ndim != 1 or counts.shape != (size, size):
        raise InvalidData(
            f"predicted counts (shape {predicted_counts.shape}) and confusion matrix (shape {counts.shape}) "
            "do not match"
        )
    n = int(predicted_counts.sum())
    options = dict(confidence=confidence, n_draws=n_draws, max_condition=max_condition, random_state=random_state)
    if size == 2:
        present = corrected_binary_share(int(predicted_counts[1]), n, confusion=counts, **options)
        absent = ShareEstimate(
            1 - present.value, 1 - present.high, 1 - present.low, present.method, n, present.confidence, present.notes
        )
        return {labels[0]: absent, labels[1]: present}
    if n < 1:
        raise TooFewSamples("a corrected estimate needs at least one generated sample, all counts are 0")
    confidence = validated_confidence(confidence)
    rates = confusion_rates(counts, names=labels)
    check_correctable(rates, max_condition=max_condition)
    rng = np.random.default_rng(random_state)
    predicted_draws = rng.dirichlet(predicted_counts + 0.5, n_draws)  # (B, K)
    rate_draws = np.stack([rng.dirichlet(row + 0.5, n_draws) for row in counts], axis=1)  # (B, K, K)
    share_draws = project_onto_simplex(
        (np.linalg.pinv(np.transpose(rate_draws, (0, 2, 1))) @ predicted_draws[:, :, None])[:, :, 0]
    )
    shares = project_onto_simplex(np.linalg.solve(rates.T, predicted_counts / n))[0]
    tail = (1.0 - confidence) / (2 * size)
    low, high = np.quantile(share_draws, [tail, 1 - tail], axis=0)
    sizes = ", ".join(f"{label}={int(total)}" for label, total in zip(labels, counts.sum(axis=1)))
    note = f"calibration per true value: {sizes}"
    return {
        label: ShareEstimate(
            shares[k], min(shares[k], low[k]), max(shares[k], high[k]), "bbse", n, confidence, (note,)
        )
        for k, label in enumerate(labels)
    }


def confusion_shift_p_value(observed: CountMatrix, calibration: CountMatrix) -> float | None:
    """p-value of "the annotator errs on the ``observed`` samples (e.g. gold-labelled generated images) as on its
    ``calibration`` records": per true value, a test that its two rows (``int [K, K]`` counts, rows true value,
    columns predicted) share one distribution (Fisher's exact test for two values, else the G-test), Bonferroni
    over the rows both matrices have records in; None when no row has records in both."""
    observed = validated_counts(observed, what="confusion matrix")
    calibration = validated_counts(calibration, what="confusion matrix")
    if observed.shape != calibration.shape:
        raise InvalidData(f"confusion matrices of shapes {observed.shape} and {calibration.shape} cannot be compared")
    p_values = []
    for row_observed, row_calibration in zip(observed, calibration):
        if row_observed.sum() == 0 or row_calibration.sum() == 0:
            continue
        table = np.stack([row_observed, row_calibration])
        table = table[:, table.sum(axis=0) > 0]
        if table.shape[1] < 2:
            p_values.append(1.0)
        elif table.shape[1] == 2:
            p_values.append(float(fisher_exact(table).pvalue))
        else:
            p_values.append(float(chi2_contingency(table, lambda_="log-likelihood").pvalue))
    return min(1.0, len(p_values) * min(p_values)) if p_values else None


def shifted_confusion(confusion: np.ndarray, false_positive_shift: float, false_negative_shift: float) -> np.ndarray:
    """The 2 x 2 calibration counts ``[[tn, fp], [fn, tp]]`` with the false-positive and false-negative rates moved
    by the given shifts (clipped to [0, 1]), each row's total kept."""
    negatives, positives = (int(total) for total in confusion.sum(axis=1))
    false_positives = round(float(np.clip(confusion[0, 1] / negatives + false_positive_shift, 0, 1)) * negatives)
    false_negatives = round(float(np.clip(confusion[1, 0] / positives + false_negative_shift, 0, 1)) * positives)
    return np.array([[negatives - false_positives, false_positives], [false_negatives, positives - false_negatives]])
