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
the same draws, so its p-value is below alpha exactly when that interval lies above the margin.

**Upper bounds of the shares** (:attr:`CorrectedGap.share_upper_bounds`, for groups the model may
not generate): the exact (Clopper-Pearson) confidence distributions of every count, each on the side
that raises the share, as in :func:`~hubaudit.stats.correction.corrected_binary_share`; a label with
one condition whose counts are taken as they are gets the exact Clopper-Pearson bound
(0 of N: ``1 - alpha^(1/N)``). More than two groups with a correction: the joint draws.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

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
    """

    name: str
    label: int
    weight: int
    counts: np.ndarray
    confusion: np.ndarray | None = None


@dataclass(frozen=True)
class CorrectedGap:
    """Corrected P(S | Y = y), P(Y = 1 | S = s) and the parity gap of one (S, Y) pair, with their joint draws.

    ``shares_by_label[y]``: group -> P(S = s | Y = y) (level ``1 - alpha/2``; ``1 - alpha/(2G)`` for
    G > 2 groups); ``positive_rates``: the groups whose rate is defined (Bonferroni over groups);
    ``undefined_groups``: those whose corrected share is 0 under both label values (no defined rate;
    ``dp_gap`` is then None); ``share_upper_bounds[s][y]``: the one-sided upper bound of P(S = s | Y = y)
    at ``confidence``. ``rate_draws`` ``float [B, G]`` (NaN where undefined) and ``share_upper_draws``
    ``float [2, B, G]`` feed the tests; ``exact_counts[y][s]`` is ``(successes, n)`` where
    the upper bound is the exact Clopper-Pearson one.
    """

    group_names: tuple[str, ...]
    shares_by_label: tuple[dict[str, ShareEstimate], ...]
    positive_rates: dict[str, ShareEstimate]
    dp_gap: ShareEstimate | None
    undefined_groups: tuple[str, ...]
    share_upper_bounds: dict[str, dict[str, float]]
    confidence: float
    rate_draws: np.ndarray = field(repr=False)
    share_upper_draws: np.ndarray = field(repr=False)
    exact_counts: list[list[tuple[int, int] | None]] = field(default_factory=list, repr=False)

    @property
    def undefined(self) -> str | None:
        """Why ``dp_gap`` is None, or None when it is defined."""
        if not self.undefined_groups:
            return None
        return (
            f"the corrected share of group(s) {', '.join(map(repr, self.undefined_groups))} is 0 under both label values, "
            "so P(Y=1 | S) is undefined there"
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

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form; ``shares_by_label`` keyed ``"0"``, ``"1"``."""
        out = {
            "shares_by_label": {
                str(label): {name: estimate.to_dict() for name, estimate in shares.items()}
                for label, shares in enumerate(self.shares_by_label)
            },
            "share_upper_bounds": self.share_upper_bounds,
            "positive_rates": {name: estimate.to_dict() for name, estimate in self.positive_rates.items()},
            "dp_gap": self.dp_gap.to_dict() if self.dp_gap is not None else None,
            "absent_groups": list(self.undefined_groups),
        }
        if self.undefined is not None:
            out["dp_gap_undefined"] = self.undefined
        return out


def _validated_conditions(conditions: Sequence[ConditionCounts], groups: int | None) -> tuple[list[ConditionCounts], int]:
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
                raise InvalidData(f"{condition.name}: expected a ({groups}, {groups}) confusion matrix, got shape {confusion.shape}")
        if condition.label not in (0, 1) or int(condition.weight) < 1:
            raise InvalidData(f"{condition.name}: label must be 0 or 1 and weight at least 1")
        checked.append(ConditionCounts(condition.name, condition.label, int(condition.weight), counts, confusion))
    labels = {condition.label for condition in checked}
    if labels != {0, 1}:
        raise TooFewSamples(f"a gap needs conditions of both label values, got label(s) {sorted(labels)}")
    return checked, groups


def _share_draws(condition: ConditionCounts, n_draws: int, rng: np.random.Generator, max_condition: float) -> tuple[np.ndarray, np.ndarray]:
    """Point shares ``float [G]`` and Jeffreys joint draws ``float [B, G]`` of one condition's true P(S)."""
    counts = condition.counts
    predicted = rng.dirichlet(counts + 0.5, n_draws)
    if condition.confusion is None:
        return counts / counts.sum(), predicted
    rates = confusion_rates(condition.confusion)
    check_correctable(rates, max_condition=max_condition)
    point = project_onto_simplex(np.linalg.solve(rates.T, counts / counts.sum()))[0]
    if counts.size == 2:  # Rogan-Gladen, the same solution without a batched pseudo-inverse
        false_positive, true_positive = (rng.beta(row[1] + 0.5, row[0] + 0.5, n_draws) for row in condition.confusion)
        informedness = true_positive - false_positive
        share = np.clip((predicted[:, 1] - false_positive) / np.where(informedness == 0, 1.0, informedness), 0.0, 1.0)
        return point, np.stack([1 - share, share], axis=1)
    rate_draws = np.stack([rng.dirichlet(row + 0.5, n_draws) for row in condition.confusion], axis=1)  # [B, G, G]
    return point, project_onto_simplex((np.linalg.pinv(np.transpose(rate_draws, (0, 2, 1))) @ predicted[:, :, None])[:, :, 0])


def _upper_share_draws(condition: ConditionCounts, jeffreys: np.ndarray, n_draws: int, rng: np.random.Generator) -> np.ndarray:
    """Draws ``float [B, G]`` whose upper quantiles bound each group's share: exact confidence distributions on the
    side that raises it (two groups, or no correction), the Jeffreys joint draws otherwise."""
    counts, total = condition.counts, int(condition.counts.sum())
    if condition.confusion is None:
        return np.stack([confidence_distribution_draws(int(k), total, upper=True, size=n_draws, rng=rng) for k in counts], axis=1)
    if counts.size > 2:
        return jeffreys
    columns = []
    for group in (0, 1):  # group as the "positive" value: reorder so that it is value 1
        order = [1 - group, group]
        confusion = condition.confusion[np.ix_(order, order)]
        (true_negatives, false_positives), (false_negatives, true_positives) = confusion
        columns.append(rogan_gladen(
            confidence_distribution_draws(int(counts[group]), total, upper=True, size=n_draws, rng=rng),
            confidence_distribution_draws(int(true_positives), int(true_positives + false_negatives), upper=False, size=n_draws, rng=rng),
            confidence_distribution_draws(int(false_positives), int(false_positives + true_negatives), upper=False, size=n_draws, rng=rng),
            if_undefined=1.0,
        ))
    return np.stack(columns, axis=1)


def _positive_rates(shares: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """``P(Y=1 | s)`` from ``shares [..., 2, G]`` (P(s | y)) and samples per label ``sizes [2]``; NaN where undefined."""
    weighted = shares * sizes[:, None]
    total = weighted.sum(axis=-2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, weighted[..., 1, :] / np.where(total > 0, total, 1.0), np.nan)


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
    names = value_names(group_names, groups)
    confidence = validated_confidence(confidence)
    alpha = 1.0 - confidence
    rng = np.random.default_rng(random_state)
    sizes = np.array([sum(c.weight for c in conditions if c.label == label) for label in (0, 1)], dtype=float)
    point_shares, share_draws, upper_draws = np.zeros((2, groups)), np.zeros((n_draws, 2, groups)), np.zeros((2, n_draws, groups))
    for condition in conditions:
        point, draws = _share_draws(condition, n_draws, rng, max_condition)
        weight = condition.weight / sizes[condition.label]
        point_shares[condition.label] += weight * point
        share_draws[:, condition.label] += weight * draws
        upper_draws[condition.label] += weight * _upper_share_draws(condition, draws, n_draws, rng)
    share_level = alpha / 2 if groups == 2 else alpha / (2 * groups)
    shares_by_label = tuple(
        {
            name: ShareEstimate(
                point_shares[label, k], min(point_shares[label, k], low), max(point_shares[label, k], high),
                METHOD, int(sizes[label]), confidence,
            )
            for k, (name, low, high) in enumerate(zip(names, *np.quantile(share_draws[:, label], [share_level / 2, 1 - share_level / 2], axis=0)))
        }
        for label in (0, 1)
    )
    exact = _exact_upper_counts(conditions, groups)
    upper_bounds = np.quantile(upper_draws, confidence, axis=1)  # [2, G]; exact Clopper-Pearson where it applies:
    for label, by_group in enumerate(exact):
        for k, (successes, n) in ((k, counts) for k, counts in enumerate(by_group) if counts is not None):
            upper_bounds[label, k] = beta.ppf(confidence, successes + 1, n - successes) if successes < n else 1.0
    rate_draws = _positive_rates(share_draws, sizes)
    point_rates = _positive_rates(point_shares, sizes)
    n = int(sizes.sum())
    rate_tail = alpha / (2 * groups)
    rate_lows = _percentile(rate_draws, rate_tail, undefined_as=0.0)
    rate_highs = _percentile(rate_draws, 1 - rate_tail, undefined_as=1.0)
    rates = {
        name: ShareEstimate(point_rates[k], min(rate_lows[k], point_rates[k]), max(rate_highs[k], point_rates[k]), METHOD, n, confidence)
        for k, name in enumerate(names)
        if not np.isnan(point_rates[k])
    }
    undefined = tuple(name for k, name in enumerate(names) if np.isnan(point_rates[k]))
    gap = None if undefined else _gap_estimate(point_rates, rate_draws, names, alpha=alpha, n=n, sizes=sizes, confidence=confidence)
    return CorrectedGap(
        tuple(names), shares_by_label, rates, gap, undefined,
        {name: {str(label): float(upper_bounds[label, k]) for label in (0, 1)} for k, name in enumerate(names)},
        confidence, rate_draws, upper_draws, exact,
    )


def _exact_upper_counts(conditions: list[ConditionCounts], groups: int) -> list[list[tuple[int, int] | None]]:
    """Per label and group, ``(successes, n)`` when the label has one condition whose counts are taken as they are
    (its share's upper bound is then the exact Clopper-Pearson one), else None."""
    exact = []
    for label in (0, 1):
        own = [condition for condition in conditions if condition.label == label]
        single = own[0] if len(own) == 1 and own[0].confusion is None else None
        exact.append([(int(single.counts[k]), int(single.counts.sum())) if single is not None else None for k in range(groups)])
    return exact


def _gap_estimate(
    point_rates: np.ndarray, rate_draws: np.ndarray, names: list[str], *, alpha: float, n: int, sizes: np.ndarray, confidence: float
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
    note = (f"highest rate: {names[highest]} ({point_rates[highest]:.3f}); lowest: {names[lowest]} ({point_rates[lowest]:.3f}); "
            f"samples per label {int(sizes[0])}, {int(sizes[1])}")
    return ShareEstimate(gap, min(low, gap), max(high, gap), METHOD, n, confidence, (note,))


def gap_excess_p_value(
    rate_draws: np.ndarray, *, margin: float, baseline: np.ndarray | None = None
) -> float:
    """One-sided p-value of "the gap exceeds the baseline's gap by at most ``margin``" from joint rate draws.

    ``rate_draws``: ``float [B, G]`` draws of P(Y=1 | s) (NaN: undefined, counted against the finding);
    ``baseline``: the baseline's rates, ``float [G]`` (exact, e.g. declared) or ``float [B, G]`` draws
    (e.g. of a reference table, independent of ``rate_draws``); None: a baseline gap of 0.

    The gap exceeds the baseline's by more than ``margin`` when some ordered pair's difference ``d_st``
    exceeds every baseline difference ``b_uv`` by more: per (s, t) the larger of the draw shares
    ``P*(d_st - b_uv <= margin)`` over (u, v) (intersection-union), the smallest over (s, t), times the
    ``G(G-1)`` ordered pairs (Bonferroni), capped at 1. Without a baseline it is below alpha exactly
    when :func:`corrected_parity_gap`'s gap interval at level ``1 - alpha`` lies above ``margin``.
    """
    differences = ordered_differences(rate_draws)  # [B, G, G]
    groups = differences.shape[1]
    off_diagonal = ~np.eye(groups, dtype=bool)
    if baseline is None:
        base = np.zeros((1, 1))
    else:
        base_differences = ordered_differences(np.atleast_2d(np.asarray(baseline, dtype=float)))
        base = base_differences[:, off_diagonal]  # [B or 1, G(G-1)]
    excess = differences[:, :, :, None] - base[:, None, None, :]  # [B, G, G, pairs]
    at_most = draw_p_value(~(excess > margin))  # NaN compares False: counted as no excess
    per_pair = at_most.max(axis=-1)[off_diagonal]
    return float(min(1.0, groups * (groups - 1) * per_pair.min()))


def draw_p_value(against: np.ndarray) -> np.ndarray | float:
    """``(k + 1) / (B + 1)`` along axis 0, k the draws (of ``B``) that speak against the alternative: a p-value from
    draws that is never 0."""
    return (np.sum(against, axis=0) + 1) / (len(against) + 1)


def table_rate_draws(table: np.ndarray, *, n_draws: int = 4000, random_state: int | np.random.Generator = 0) -> np.ndarray:
    """Jeffreys draws ``float [B, G]`` of P(Y=1 | s) from a ``[G, 2]`` table of true S and Y (e.g. reference data)."""
    counts = validated_counts(table, what="contingency table")
    rng = np.random.default_rng(random_state)
    return np.stack([rng.beta(row[1] + 0.5, row[0] + 0.5, n_draws) for row in counts], axis=1)
