"""P(S | Y), P(Y=1 | S) and the demographic-parity gap corrected for annotator errors, condition by condition.

Y is the label of the condition (class or prompt) a sample was drawn for, so the samples per
condition, ``n_c``, are fixed by design; S is annotated. An annotator whose errors depend on the
condition biases the annotated P(S | c) differently for each c and can shrink a gap or invent one.
Each condition is corrected with its own confusion counts ``M_c`` (rows true S, columns annotated S):
the annotator's calibration records of that class, gold labels on the condition's own samples, or
its one overall matrix; a condition whose counts are the true S values (gold labels alone), or are
taken as such (no correction), uses them as they are.

**Joint draws.** Per condition, ``B`` draws of the annotated shares, Dirichlet(counts + 1/2), and of
each confusion row, Dirichlet(row + 1/2), and BBSE on each draw, ``p_c = proj(M_c^-T q_c)``
(Rogan-Gladen for two groups), so every draw carries the sample and the calibration uncertainty
together. Per draw, ``P(s | y) = sum_{c in y} n_c p_c[s] / n_y`` and
``P(Y=1 | s) = n_1 P(s|1) / (n_0 P(s|0) + n_1 P(s|1))`` (undefined, NaN, where both shares are 0).
The gap ``max_s - min_s`` of the rates is the largest signed difference ``d_st = P(Y=1|s) - P(Y=1|t)``;
with the ``U = G(G-1)/2`` unordered pairs' percentile intervals at level ``1 - alpha/U`` (two-sided,
Bonferroni; no adjustment for two groups), ``gap in [max(0, max_st low_st), max(0, max_st high_st)]``
whenever all of them hold. A test that the gap exceeds a margin (:func:`gap_excess_p_value`) uses
the same draws, so its p-value is below alpha exactly when that interval lies above the margin; the
equivalence side, that it lies within (:func:`gap_within_p_value`), too.

**Shared calibration is drawn once.** Conditions corrected with the same calibration (the annotator's
one overall matrix, or one label's records: ``ConditionCounts.calibration_key``) use one draw of its
rates in each joint draw: its error is common to them and must not average away over conditions.

**Label balance.** A demographic-parity gap depends on P(Y): it is taken at the samples per label
value (``CorrectedGap.label_sizes``). A baseline is compared at the same P(Y):
:func:`table_rate_draws` with ``label_sizes`` moves a reference table there (through P(S | Y)), and
:func:`rates_at_label_share` moves declared rates (every group's odds scale by one factor).

**Upper bounds of the shares** (:attr:`CorrectedGap.share_upper_bounds`, for groups the model may
not generate): the exact (Clopper-Pearson) confidence distributions of every count, each on the side
that raises the share, as in :func:`~hubaudit.stats.correction.corrected_binary_share`; a label with
one condition whose counts are taken as they are gets the exact Clopper-Pearson bound
(0 of N: ``1 - alpha^(1/N)``). More than two groups with a correction: the joint draws.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from scipy.stats import beta, binom

from hubaudit.errors import InvalidData, TooFewSamples
from hubaudit.stats.correction import (
    MAX_CONDITION,
    check_correctable,
    confidence_distribution_draws,
    confusion_rates,
    project_onto_simplex,
    rogan_gladen,
)
from hubaudit.stats.estimate import ShareEstimate, validated_confidence, validated_counts, value_names

METHOD = "joint-draws"
"""``method`` of every estimate here."""


@dataclass(frozen=True)
class ConditionCounts:
    """One condition's S counts for :func:`corrected_parity_gap`.

    Attributes:
        name: the condition in messages (e.g. ``"class 2"``).
        label: its Y value, 0 or 1.
        weight: its samples ``n_c``: its weight in P(S | Y = label).
        counts: ``int [G]`` annotated S values of the samples the correction uses (with ``confusion``),
            or true S values (without: gold labels alone, or annotations taken as they are).
        confusion: ``int [G, G]`` confusion counts (rows true S, columns annotated S), or None.
        calibration_key: conditions with the same key share one calibration (the annotator's overall
            matrix, or one label's records): every draw uses ONE draw of it for all of them, since its
            error is common to them. None: the condition's calibration is its own.
    """

    name: str
    label: int
    weight: int
    counts: np.ndarray
    confusion: np.ndarray | None = None
    calibration_key: str | None = None


@dataclass(frozen=True)
class CorrectedGap:
    """Corrected P(S | Y = y), P(Y = 1 | S = s) and the parity gap of one (S, Y) pair, with their joint draws.

    ``shares_by_label[y]``: group -> P(S = s | Y = y) (level ``1 - alpha/2``; ``1 - alpha/(2G)`` for
    G > 2 groups); ``positive_rates``: the groups whose rate is defined (Bonferroni over groups), taken at
    ``label_sizes`` (the samples per label value, so at P(Y=1) = ``label_share``);
    ``undefined_groups``: those whose corrected share is 0 under both label values (no defined rate);
    ``dp_gap`` is the gap over the defined groups (a lower bound of the gap over all of them when some
    are undefined; None with fewer than two defined); ``share_upper_bounds[s][y]``: the one-sided upper
    bound of P(S = s | Y = y) at ``confidence``. ``rate_draws`` ``float [B, G]`` (NaN where undefined),
    ``share_draws`` ``float [B, 2, G]`` and ``share_upper_draws`` ``float [2, B, G]`` feed the tests;
    ``exact_counts[y][s]`` is ``(successes, n)`` where the share's bounds are the exact Clopper-Pearson ones.
    """

    group_names: tuple[str, ...]
    shares_by_label: tuple[dict[str, ShareEstimate], ...]
    positive_rates: dict[str, ShareEstimate]
    dp_gap: ShareEstimate | None
    undefined_groups: tuple[str, ...]
    share_upper_bounds: dict[str, dict[str, float]]
    confidence: float
    label_sizes: tuple[int, int]
    rate_draws: np.ndarray = field(repr=False)
    share_draws: np.ndarray = field(repr=False)
    share_upper_draws: np.ndarray = field(repr=False)
    exact_counts: list[list[tuple[int, int] | None]] = field(default_factory=list, repr=False)

    @property
    def label_share(self) -> float:
        """P(Y = 1) at which the rates and the gap are taken: the label's share of the samples."""
        return self.label_sizes[1] / sum(self.label_sizes)

    @property
    def defined_positions(self) -> np.ndarray:
        """``int [D]`` positions of the groups whose rate is defined."""
        return np.array([k for k, name in enumerate(self.group_names) if name not in self.undefined_groups], dtype=int)

    @property
    def undefined(self) -> str | None:
        """Which groups the gap leaves out and why, or None when it covers every group."""
        if not self.undefined_groups:
            return None
        return (
            f"the corrected share of group(s) {', '.join(map(repr, self.undefined_groups))} is 0 under both label values, "
            "so P(Y=1 | S) is undefined there: the gap is over the other groups (a lower bound of the gap over all)"
        )

    def under_representation_p_value(self, group: str, min_share: float) -> float:
        """p-value of "P(S = group | Y = y) >= min_share for some y" (intersection-union: the larger of the two
        labels' one-sided p-values); small when the group is below ``min_share`` under every label value."""
        position = self.group_names.index(group)
        by_label = []
        for label in (0, 1):
            exact = self.exact_counts[label][position]
            if exact is not None:  # P(Binomial(n, min_share) <= successes)
                by_label.append(float(binom.cdf(exact[0], exact[1], min_share)))
            else:
                by_label.append(draw_p_value(self.share_upper_draws[label][:, position] >= min_share))
        return float(max(by_label))

    def representation_p_value(self, group: str, min_share: float) -> float:
        """p-value of "P(S = group | Y = y) < min_share for every y" (the group is under-represented): small when
        some label value's share is shown at or above ``min_share`` (Bonferroni over the two label values)."""
        position = self.group_names.index(group)
        by_label = []
        for label in (0, 1):
            exact = self.exact_counts[label][position]
            if exact is not None:  # P(Binomial(n, min_share) >= successes)
                by_label.append(float(binom.sf(exact[0] - 1, exact[1], min_share)))
            else:
                by_label.append(draw_p_value(self.share_draws[:, label, position] < min_share))
        return float(min(1.0, 2 * min(by_label)))

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form; ``shares_by_label`` keyed ``"0"``, ``"1"``."""
        out = {
            "shares_by_label": {
                str(label): {name: estimate.to_dict() for name, estimate in shares.items()}
                for label, shares in enumerate(self.shares_by_label)
            },
            "share_upper_bounds": self.share_upper_bounds,
            "label_share": self.label_share,
            "positive_rates": {name: estimate.to_dict() for name, estimate in self.positive_rates.items()},
            "dp_gap": self.dp_gap.to_dict() if self.dp_gap is not None else None,
            "absent_groups": list(self.undefined_groups),
        }
        if self.undefined is not None:
            out["dp_gap_undefined" if self.dp_gap is None else "dp_gap_left_out"] = self.undefined
        return out


def _validated_conditions(
    conditions: Sequence[ConditionCounts], groups: int | None
) -> tuple[list[ConditionCounts], int]:
    """The conditions with validated counts, and the group count G; :class:`InvalidData` or :class:`TooFewSamples`."""
    checked = []
    for condition in conditions:
        counts = validated_counts(condition.counts, what=f"{condition.name}: S counts")
        groups = counts.size if groups is None else groups
        if counts.shape != (groups,) or groups < 2:
            raise InvalidData(f"{condition.name}: expected counts of {groups} (>= 2) groups, got shape {counts.shape}")
        if counts.sum() < 1:
            raise TooFewSamples(f"{condition.name}: no samples to estimate P(S) from")
        confusion = None
        if condition.confusion is not None:
            confusion = validated_counts(condition.confusion, what=f"{condition.name}: confusion matrix")
            if confusion.shape != (groups, groups):
                raise InvalidData(
                    f"{condition.name}: expected a ({groups}, {groups}) confusion matrix, got shape {confusion.shape}"
                )
        if condition.label not in (0, 1) or int(condition.weight) < 1:
            raise InvalidData(f"{condition.name}: label must be 0 or 1 and weight at least 1")
        checked.append(replace(condition, weight=int(condition.weight), counts=counts, confusion=confusion))
    return checked, groups


class _CalibrationDraws:
    """Draws of the confusion rates, ONE per shared calibration (``ConditionCounts.calibration_key``), reused by
    every condition that shares it; a condition without a key gets draws of its own."""

    def __init__(self, n_draws: int, rng: np.random.Generator):
        self.n_draws, self.rng, self._drawn = n_draws, rng, {}

    def _cached(self, condition: ConditionCounts, what: tuple, draw) -> np.ndarray:
        if condition.calibration_key is None:
            return draw()
        key = (condition.calibration_key, *what)
        if key not in self._drawn:
            self._drawn[key] = draw()
        return self._drawn[key]

    def jeffreys_rows(self, condition: ConditionCounts) -> np.ndarray:
        """``float [B, G, G]`` Dirichlet(row + 1/2) draws of the rows of the confusion rates."""
        return self._cached(
            condition,
            ("rows",),
            lambda: np.stack([self.rng.dirichlet(row + 0.5, self.n_draws) for row in condition.confusion], axis=1),
        )

    def bounding_rates(self, condition: ConditionCounts, group: int) -> tuple[np.ndarray, np.ndarray]:
        """(tpr, fpr) ``float [B]`` with ``group`` as the positive value, each from the exact confidence distribution
        on the side that raises the corrected share (two groups)."""
        order = [1 - group, group]
        (true_negatives, false_positives), (false_negatives, true_positives) = condition.confusion[
            np.ix_(order, order)
        ]
        return self._cached(
            condition,
            ("bounding", group),
            lambda: (
                confidence_distribution_draws(
                    int(true_positives),
                    int(true_positives + false_negatives),
                    upper=False,
                    size=self.n_draws,
                    rng=self.rng,
                ),
                confidence_distribution_draws(
                    int(false_positives),
                    int(false_positives + true_negatives),
                    upper=False,
                    size=self.n_draws,
                    rng=self.rng,
                ),
            ),
        )


def condition_share_draws(
    condition: ConditionCounts, calibrations: _CalibrationDraws, max_condition: float = MAX_CONDITION
) -> tuple[np.ndarray, np.ndarray]:
    """Point shares ``float [G]`` and Jeffreys joint draws ``float [B, G]`` of one condition's true P(S)."""
    counts, rng, n_draws = condition.counts, calibrations.rng, calibrations.n_draws
    predicted = rng.dirichlet(counts + 0.5, n_draws)
    if condition.confusion is None:
        return counts / counts.sum(), predicted
    rates = confusion_rates(condition.confusion)
    check_correctable(rates, max_condition=max_condition)
    point = project_onto_simplex(np.linalg.solve(rates.T, counts / counts.sum()))[0]
    rate_draws = calibrations.jeffreys_rows(condition)
    if counts.size == 2:  # Rogan-Gladen, the same solution without a batched pseudo-inverse
        false_positive, true_positive = rate_draws[:, 0, 1], rate_draws[:, 1, 1]
        informedness = true_positive - false_positive
        share = np.clip((predicted[:, 1] - false_positive) / np.where(informedness == 0, 1.0, informedness), 0.0, 1.0)
        return point, np.stack([1 - share, share], axis=1)
    return point, project_onto_simplex(
        (np.linalg.pinv(np.transpose(rate_draws, (0, 2, 1))) @ predicted[:, :, None])[:, :, 0]
    )


def _upper_share_draws(
    condition: ConditionCounts, jeffreys: np.ndarray, calibrations: _CalibrationDraws
) -> np.ndarray:
    """Draws ``float [B, G]`` whose upper quantiles bound each group's share: exact confidence distributions on the
    side that raises it (two groups, or no correction), the Jeffreys joint draws otherwise."""
    counts, total = condition.counts, int(condition.counts.sum())
    rng, n_draws = calibrations.rng, calibrations.n_draws
    if condition.confusion is None:
        return np.stack(
            [confidence_distribution_draws(int(k), total, upper=True, size=n_draws, rng=rng) for k in counts], axis=1
        )
    if counts.size > 2:
        return jeffreys
    columns = []
    for group in (0, 1):  # group as the "positive" value
        true_positive, false_positive = calibrations.bounding_rates(condition, group)
        columns.append(
            rogan_gladen(
                confidence_distribution_draws(int(counts[group]), total, upper=True, size=n_draws, rng=rng),
                true_positive,
                false_positive,
                if_undefined=1.0,
            )
        )
    return np.stack(columns, axis=1)


def positive_rates_at(shares: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """``P(Y=1 | s)`` from ``shares [..., 2, G]`` (P(s | y)) at samples per label ``sizes [2]`` (so at
    P(Y=1) = ``sizes[1] / sizes.sum()``); NaN where undefined."""
    weighted = shares * np.asarray(sizes, dtype=float)[:, None]
    total = weighted.sum(axis=-2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, weighted[..., 1, :] / np.where(total > 0, total, 1.0), np.nan)


def rates_at_label_share(rates: np.ndarray, *, label_share: float, target_label_share: float) -> np.ndarray:
    """P(Y=1 | s) ``float [..., G]`` taken at P(Y=1) = ``label_share``, moved to P(Y=1) = ``target_label_share``
    with P(S | Y) unchanged: every group's odds are multiplied by the same factor (Bayes), so P(S) is not needed."""
    rates = np.asarray(rates, dtype=float)
    positive = target_label_share * rates / label_share
    negative = (1 - target_label_share) * (1 - rates) / (1 - label_share)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(
            positive + negative > 0, positive / np.where(positive + negative > 0, positive + negative, 1.0), np.nan
        )


def ordered_differences(rate_draws: np.ndarray) -> np.ndarray:
    """``d[b, s, t] = rate[b, s] - rate[b, t]``, ``float [B, G, G]`` (NaN where a rate is undefined)."""
    return rate_draws[:, :, None] - rate_draws[:, None, :]


def _percentile(draws: np.ndarray, level: float, *, undefined_as: float) -> np.ndarray:
    """The ``level`` quantile along axis 0, with NaN draws counted as ``undefined_as`` (a conservative extreme)."""
    return np.quantile(np.where(np.isnan(draws), undefined_as, draws), level, axis=0)


def corrected_parity_gap(
    conditions: Sequence[ConditionCounts],
    *,
    group_names: Sequence[str] | None = None,
    confidence: float = 0.95,
    n_draws: int = 4000,
    max_condition: float = MAX_CONDITION,
    random_state: int | np.random.Generator = 0,
) -> CorrectedGap:
    """Corrected P(S | Y), positive rates and parity gap (module docstring) from per-condition counts.

    Args:
        conditions: every scanned condition (both label values), each with its counts and confusion.
        group_names: the G groups' names (default ``"0" .. "G-1"``).
        confidence: the level of every interval (and the one-sided level of the share upper bounds).

    Raises:
        InvalidData: shapes that do not fit, a label other than 0/1.
        TooFewSamples: a condition without samples, a label value without conditions, or a confusion
            row without calibration records.
        ClassifierNoBetterThanChance: a confusion matrix too close to singular to invert.
    """
    conditions, groups = _validated_conditions(conditions, len(group_names) if group_names is not None else None)
    labels = {condition.label for condition in conditions}
    if labels != {0, 1}:
        raise TooFewSamples(f"a gap needs conditions of both label values, got label(s) {sorted(labels)}")
    names = value_names(group_names, groups)
    confidence = validated_confidence(confidence)
    alpha = 1.0 - confidence
    calibrations = _CalibrationDraws(n_draws, np.random.default_rng(random_state))
    sizes = np.array([sum(c.weight for c in conditions if c.label == label) for label in (0, 1)], dtype=float)
    point_shares, share_draws, upper_draws = (
        np.zeros((2, groups)),
        np.zeros((n_draws, 2, groups)),
        np.zeros((2, n_draws, groups)),
    )
    for condition in conditions:
        point, draws = condition_share_draws(condition, calibrations, max_condition)
        weight = condition.weight / sizes[condition.label]
        point_shares[condition.label] += weight * point
        share_draws[:, condition.label] += weight * draws
        upper_draws[condition.label] += weight * _upper_share_draws(condition, draws, calibrations)
    share_level = alpha / 2 if groups == 2 else alpha / (2 * groups)
    shares_by_label = tuple(
        {
            name: ShareEstimate(
                point_shares[label, k],
                min(point_shares[label, k], low),
                max(point_shares[label, k], high),
                METHOD,
                int(sizes[label]),
                confidence,
            )
            for k, (name, low, high) in enumerate(
                zip(names, *np.quantile(share_draws[:, label], [share_level / 2, 1 - share_level / 2], axis=0))
            )
        }
        for label in (0, 1)
    )
    exact = _exact_counts(conditions, groups)
    upper_bounds = np.quantile(upper_draws, confidence, axis=1)  # [2, G]; exact Clopper-Pearson where it applies:
    for label, by_group in enumerate(exact):
        for k, (successes, n) in ((k, counts) for k, counts in enumerate(by_group) if counts is not None):
            upper_bounds[label, k] = beta.ppf(confidence, successes + 1, n - successes) if successes < n else 1.0
    rate_draws = positive_rates_at(share_draws, sizes)
    point_rates = positive_rates_at(point_shares, sizes)
    n = int(sizes.sum())
    rate_tail = alpha / (2 * groups)
    rate_lows = _percentile(rate_draws, rate_tail, undefined_as=0.0)
    rate_highs = _percentile(rate_draws, 1 - rate_tail, undefined_as=1.0)
    rates = {
        name: ShareEstimate(
            point_rates[k],
            min(rate_lows[k], point_rates[k]),
            max(rate_highs[k], point_rates[k]),
            METHOD,
            n,
            confidence,
        )
        for k, name in enumerate(names)
        if not np.isnan(point_rates[k])
    }
    undefined = tuple(name for k, name in enumerate(names) if np.isnan(point_rates[k]))
    defined = np.flatnonzero(~np.isnan(point_rates))
    gap = None
    if len(defined) >= 2:
        gap = _gap_estimate(
            point_rates[defined],
            rate_draws[:, defined],
            [names[k] for k in defined],
            alpha=alpha,
            n=n,
            sizes=sizes,
            confidence=confidence,
            left_out=undefined,
        )
    return CorrectedGap(
        tuple(names),
        shares_by_label,
        rates,
        gap,
        undefined,
        {name: {str(label): float(upper_bounds[label, k]) for label in (0, 1)} for k, name in enumerate(names)},
        confidence,
        (int(sizes[0]), int(sizes[1])),
        rate_draws,
        share_draws,
        upper_draws,
        exact,
    )


def weighted_shares(
    conditions: Sequence[ConditionCounts],
    *,
    weights: Sequence[float],
    group_names: Sequence[str] | None = None,
    confidence: float = 0.95,
    n_draws: int = 4000,
    max_condition: float = MAX_CONDITION,
    random_state: int | np.random.Generator = 0,
) -> dict[str, ShareEstimate]:
    """P(S = s) pooled over conditions as ``sum_c w_c P(S = s | c)``, ``weights`` ``[C]`` summing to 1 (e.g. the
    training set's condition shares), each condition corrected as in :func:`corrected_parity_gap` (shared
    calibration drawn once); percentile intervals of the joint draws at level ``1 - alpha`` (``1 - alpha/G``
    per group for G > 2). ``ConditionCounts.label`` and ``weight`` are not used."""
    conditions, groups = _validated_conditions(conditions, len(group_names) if group_names is not None else None)
    weights = np.asarray(weights, dtype=float)
    if weights.shape != (len(conditions),) or (weights < 0).any() or not np.isclose(weights.sum(), 1.0):
        raise InvalidData(
            f"expected {len(conditions)} non-negative condition weights summing to 1, got {weights.tolist()}"
        )
    names = value_names(group_names, groups)
    alpha = 1.0 - validated_confidence(confidence)
    calibrations = _CalibrationDraws(n_draws, np.random.default_rng(random_state))
    point, draws = np.zeros(groups), np.zeros((n_draws, groups))
    for condition, weight in zip(conditions, weights):
        condition_point, condition_draws = condition_share_draws(condition, calibrations, max_condition)
        point += weight * condition_point
        draws += weight * condition_draws
    tail = alpha / 2 if groups == 2 else alpha / (2 * groups)
    lows, highs = np.quantile(draws, [tail, 1 - tail], axis=0)
    n = int(sum(condition.counts.sum() for condition in conditions))
    note = "conditions weighted " + ", ".join(
        f"{condition.name}: {weight:.3f}" for condition, weight in zip(conditions, weights)
    )
    return {
        name: ShareEstimate(point[k], min(point[k], lows[k]), max(point[k], highs[k]), METHOD, n, 1.0 - alpha, (note,))
        for k, name in enumerate(names)
    }


def _exact_counts(conditions: list[ConditionCounts], groups: int) -> list[list[tuple[int, int] | None]]:
    """Per label and group, ``(successes, n)`` when the label has one condition whose counts are taken as they are
    (its share's bounds are then the exact Clopper-Pearson ones), else None."""
    exact = []
    for label in (0, 1):
        own = [condition for condition in conditions if condition.label == label]
        single = own[0] if len(own) == 1 and own[0].confusion is None else None
        exact.append(
            [(int(single.counts[k]), int(single.counts.sum())) if single is not None else None for k in range(groups)]
        )
    return exact


def _gap_estimate(
    point_rates: np.ndarray,
    rate_draws: np.ndarray,
    names: list[str],
    *,
    alpha: float,
    n: int,
    sizes: np.ndarray,
    confidence: float,
    left_out: tuple[str, ...],
) -> ShareEstimate:
    """The gap ``max - min`` of ``point_rates`` with the simultaneous-pairs interval of the module docstring."""
    groups = len(names)
    pairs = groups * (groups - 1) // 2
    differences = ordered_differences(rate_draws)
    lows = _percentile(differences, alpha / (2 * pairs), undefined_as=-1.0)
    highs = _percentile(differences, 1 - alpha / (2 * pairs), undefined_as=1.0)
    off_diagonal = ~np.eye(groups, dtype=bool)
    gap = float(point_rates.max() - point_rates.min())
    low, high = max(0.0, float(lows[off_diagonal].max())), max(0.0, float(highs[off_diagonal].max()))
    highest, lowest = int(np.argmax(point_rates)), int(np.argmin(point_rates))
    notes = [
        f"highest rate: {names[highest]} ({point_rates[highest]:.3f}); lowest: {names[lowest]} ({point_rates[lowest]:.3f}); "
        f"taken at P(Y=1) = {sizes[1] / sizes.sum():.3f} (samples per label {int(sizes[0])}, {int(sizes[1])})"
    ]
    if left_out:
        notes.append(
            f"over the groups with a defined rate; left out: {', '.join(map(repr, left_out))} (corrected share 0 "
            "under both label values): a lower bound of the gap over all groups"
        )
    return ShareEstimate(gap, min(low, gap), max(high, gap), METHOD, n, confidence, tuple(notes))


def _baseline_differences(baseline: np.ndarray | None) -> np.ndarray:
    """``float [B or 1, G(G-1)]`` ordered differences of a baseline's rates (``[G]`` exact or ``[B, G]`` draws); zeros
    for no baseline."""
    if baseline is None:
        return np.zeros((1, 1))
    base = np.atleast_2d(np.asarray(baseline, dtype=float))
    return ordered_differences(base)[:, ~np.eye(base.shape[1], dtype=bool)]


def gap_excess_p_value(rate_draws: np.ndarray, *, margin: float, baseline: np.ndarray | None = None) -> float:
    """One-sided p-value of "the gap exceeds the baseline's gap by at most ``margin``" from joint rate draws.

    ``rate_draws``: ``float [B, G]`` draws of P(Y=1 | s) (NaN: undefined, counted against the finding);
    ``baseline``: the baseline's rates, ``float [G]`` (exact, e.g. declared) or ``float [B, G]`` draws
    (e.g. of a reference table, independent of ``rate_draws``), taken at the same P(Y=1); None: a baseline gap of 0.

    The gap exceeds the baseline's by more than ``margin`` when some ordered pair's difference ``d_st``
    exceeds every baseline difference ``b_uv`` by more: per (s, t) the larger of the draw shares
    ``P*(d_st - b_uv <= margin)`` over (u, v) (intersection-union), the smallest over (s, t), times the
    ``G(G-1)`` ordered pairs (Bonferroni), capped at 1. Without a baseline it is below alpha exactly
    when :func:`corrected_parity_gap`'s gap interval at level ``1 - alpha`` lies above ``margin``.
    """
    differences = ordered_differences(rate_draws)  # [B, G, G]
    groups = differences.shape[1]
    off_diagonal = ~np.eye(groups, dtype=bool)
    base = _baseline_differences(baseline)
    excess = differences[:, :, :, None] - base[:, None, None, :]  # [B, G, G, pairs]
    at_most = draw_p_value(~(excess > margin))  # NaN compares False: counted as no excess
    per_pair = at_most.max(axis=-1)[off_diagonal]
    return float(min(1.0, groups * (groups - 1) * per_pair.min()))


def gap_within_p_value(rate_draws: np.ndarray, *, margin: float, baseline: np.ndarray | None = None) -> float:
    """One-sided p-value of "the gap exceeds the baseline's gap by ``margin`` or more": small when the gap is shown
    within the margin (the equivalence side of :func:`gap_excess_p_value`; same arguments).

    Per draw the gap ``max_s rate - min_s rate`` minus the baseline draw's gap (an exact baseline: its gap); the
    share of draws at or above ``margin`` (a draw with an undefined rate counts against: its gap is unknown).
    The gap of a draw is the largest of its ordered differences, so this is at least the intersection-union
    p-value over the pairs, ``max_st P*(d_st - base >= margin)``: conservative.
    """
    draws = np.asarray(rate_draws, dtype=float)
    gap = np.where(np.isnan(draws).any(axis=1), np.inf, np.nanmax(draws, axis=1) - np.nanmin(draws, axis=1))
    base = _baseline_differences(baseline).max(axis=1) if baseline is not None else np.zeros(1)
    if len(base) > 1:
        base = base[: len(gap)]
    return float(draw_p_value(gap - base >= margin))


def draw_p_value(against: np.ndarray) -> np.ndarray | float:
    """``(k + 1) / (B + 1)`` along axis 0, k the draws (of ``B``) that speak against the alternative: a p-value from
    draws that is never 0."""
    return (np.sum(against, axis=0) + 1) / (len(against) + 1)


def table_rate_draws(
    table: np.ndarray,
    *,
    label_sizes: Sequence[float] | None = None,
    n_draws: int = 4000,
    random_state: int | np.random.Generator = 0,
) -> np.ndarray:
    """Jeffreys draws ``float [B, G]`` of P(Y=1 | s) from a ``[G, 2]`` table of true S and Y (e.g. reference data):
    at the table's own P(Y=1), or, with ``label_sizes`` (samples per label value), at P(Y=1) = sizes[1] / sum:
    P(S | Y = y) drawn from each label column, Dirichlet(column + 1/2), and the rates taken at that balance."""
    counts = validated_counts(table, what="contingency table")
    rng = np.random.default_rng(random_state)
    if label_sizes is None:
        return np.stack([rng.beta(row[1] + 0.5, row[0] + 0.5, n_draws) for row in counts], axis=1)
    shares = np.stack([rng.dirichlet(counts[:, y] + 0.5, n_draws) for y in (0, 1)], axis=1)  # [B, 2, G]
    return positive_rates_at(shares, np.asarray(label_sizes, dtype=float))
