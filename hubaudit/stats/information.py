"""Dependence between a sensitive attribute S and a label Y from an S x Y contingency table of counts.

Tables have one row per sensitive group and one column per label value (counts, shape (S, Y));
``group_names`` name the rows in messages and results. Mutual information and the independence
test accept rows (and columns) with no samples; positive rates and the parity gap, undefined for
an empty group, raise :class:`EmptyGroup`. A table too small for a chi-square approximation gets
an exact test instead (Boschloo's or Fisher's).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep

from hubaudit.errors import EmptyGroup, InvalidData
from hubaudit.stats.estimate import (
    CountMatrix,
    ShareEstimate,
    validated_confidence,
    validated_counts,
    value_names,
)
from hubaudit.stats.proportion import clopper_pearson_bounds


def contingency_table(
    sensitive: np.ndarray, label: np.ndarray, *, groups: int | None = None, label_values: int | None = None
) -> np.ndarray:
    """Counts of each (S, Y) pair from integer codes, shape (groups, label_values).

    ``sensitive`` and ``label`` are equal-length integer arrays of codes ``0..groups-1`` and
    ``0..label_values-1`` (by default one more than the largest code seen); :class:`InvalidData` when empty.
    """
    if np.asarray(sensitive).size == 0 or np.asarray(label).size == 0:
        raise InvalidData("a contingency table needs at least one sample, got no codes")
    sensitive = validated_counts(sensitive, what="sensitive codes")
    label = validated_counts(label, what="label codes")
    if sensitive.ndim != 1 or sensitive.shape != label.shape:
        raise InvalidData(
            f"sensitive and label codes must be vectors of one length, got {sensitive.shape}, {label.shape}"
        )
    groups = int(sensitive.max()) + 1 if groups is None else groups
    label_values = int(label.max()) + 1 if label_values is None else label_values
    if sensitive.max() >= groups or label.max() >= label_values:
        raise InvalidData(f"codes exceed the stated sizes ({groups} groups, {label_values} label values)")
    return np.bincount(sensitive * label_values + label, minlength=groups * label_values).reshape(groups, label_values)


#: Boschloo's test enumerates ``(n_0 + 1)(n_1 + 1)`` tables of a 2x2 table with column totals n_0, n_1;
#: above this many, Fisher's (conditional, faster, more conservative) test is used instead.
BOSCHLOO_MAX_TABLES = 10_000
#: Tables drawn with the observed margins for the Monte Carlo Fisher test of a table larger than 2x2.
MONTE_CARLO_TABLES = 9_999


def _validated_table(table: CountMatrix, group_names: Sequence[str] | None) -> tuple[np.ndarray, list[str]]:
    counts = validated_counts(table, what="contingency table")
    if counts.ndim != 2 or min(counts.shape) < 2:
        raise InvalidData(
            f"a contingency table needs at least two groups and two label values, got shape {counts.shape}"
        )
    return counts, value_names(group_names, counts.shape[0])


def _nonempty_table(table: CountMatrix, group_names: Sequence[str] | None) -> tuple[np.ndarray, list[str]]:
    """The validated table, or :class:`EmptyGroup` naming the first group without samples."""
    counts, names = _validated_table(table, group_names)
    for name, total in zip(names, counts.sum(axis=1)):
        if total == 0:
            raise EmptyGroup(f"sensitive group {name!r} has no samples")
    return counts, names


def mutual_information(
    table: CountMatrix,
    *,
    bias_correction: bool = True,
    bits: bool = False,
    group_names: Sequence[str] | None = None,
) -> float:
    """I(S; Y) of the table's empirical distribution, in nats (bits if ``bits``).

    Plug-in ``H(S) + H(Y) - H(S, Y)``; with ``bias_correction`` each entropy gets the Miller-Madow
    term ``(m - 1) / (2 N)`` (m = occupied cells), which removes the plug-in's upward bias of about
    ``(S-1)(Y-1) / (2N)`` under independence; the result is clipped at 0.
    """
    counts, _ = _validated_table(table, group_names)
    total = counts.sum()
    row, column, joint = counts.sum(axis=1), counts.sum(axis=0), counts.ravel()
    information = stats.entropy(row) + stats.entropy(column) - stats.entropy(joint)
    if bias_correction:
        occupied = [np.count_nonzero(part) - 1 for part in (row, column, joint)]
        information += (occupied[0] + occupied[1] - occupied[2]) / (2 * total)
    information = max(0.0, float(information))
    return information / math.log(2) if bits else information


@dataclass(frozen=True)
class IndependenceTest:
    """A test of S independent of Y on one table; ``p_value`` is the test's, ``method`` names it.

    ``method`` is ``"g-test"`` (likelihood ratio; the Pearson chi-square is given beside it) when
    the table meets Cochran's rule, else ``"boschloo-exact"`` or ``"fisher-exact"`` (2x2) or
    ``"fisher-exact-monte-carlo"`` (larger), and ``"none"`` (``p_value`` 1) when S or Y takes a
    single value. The chi-square and G fields are None unless the table meets Cochran's rule.
    Empty rows and columns are dropped first; ``degrees_of_freedom`` is that of the rest.
    """

    method: str
    p_value: float
    degrees_of_freedom: int
    n: int
    chi_square: float | None = None
    chi_square_p_value: float | None = None
    g_statistic: float | None = None
    g_p_value: float | None = None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form."""
        return asdict(self)


def meets_cochrans_rule(table: np.ndarray) -> bool:
    """Whether every expected count of a table without empty rows or columns is >= 1 and at most 20% are below 5."""
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    return bool(expected.min() >= 1 and np.mean(expected < 5) <= 0.2)


def independence_tests(
    table: CountMatrix, *, group_names: Sequence[str] | None = None, random_state: int = 0
) -> IndependenceTest:
    """Test S independent of Y: chi-square and G tests (no Yates correction; ``G = 2 N I_plugin(S; Y)`` in nats)
    when the table meets Cochran's rule, an exact test otherwise.

    Exact tests condition on what the sampling fixes: Boschloo's (unconditional, the column totals
    fixed, as when Y is the condition a sample was drawn for) for a 2x2 table of at most
    :data:`BOSCHLOO_MAX_TABLES` tables, Fisher's beyond; Fisher's with :data:`MONTE_CARLO_TABLES`
    random tables of the observed margins (``random_state`` seeds them) for larger tables.
    """
    counts, _ = _validated_table(table, group_names)
    total = int(counts.sum())
    reduced = counts[counts.sum(axis=1) > 0][:, counts.sum(axis=0) > 0]
    if min(reduced.shape) < 2:
        which = "S" if reduced.shape[0] < 2 else "Y"
        return IndependenceTest("none", 1.0, 0, total, note=f"{which} takes one value in the {total} samples: no test")
    dof = (reduced.shape[0] - 1) * (reduced.shape[1] - 1)
    if meets_cochrans_rule(reduced):
        pearson = stats.chi2_contingency(reduced, correction=False)
        likelihood_ratio = stats.chi2_contingency(reduced, correction=False, lambda_="log-likelihood")
        return IndependenceTest(
            "g-test",
            float(likelihood_ratio.pvalue),
            dof,
            total,
            float(pearson.statistic),
            float(pearson.pvalue),
            float(likelihood_ratio.statistic),
            float(likelihood_ratio.pvalue),
        )
    note = (
        f"the table of {total} samples is too sparse for a chi-square test (Cochran's rule: every expected count >= 1, "
        "at most 20% below 5)"
    )
    if reduced.shape == (2, 2):
        n_0, n_1 = reduced.sum(axis=0)
        if (n_0 + 1) * (n_1 + 1) <= BOSCHLOO_MAX_TABLES:
            return IndependenceTest(
                "boschloo-exact", float(stats.boschloo_exact(reduced).pvalue), dof, total, note=note
            )
        return IndependenceTest("fisher-exact", float(stats.fisher_exact(reduced).pvalue), dof, total, note=note)
    method = stats.MonteCarloMethod(n_resamples=MONTE_CARLO_TABLES, rng=np.random.default_rng(random_state))
    p_value = float(stats.fisher_exact(reduced, method=method).pvalue)
    return IndependenceTest(
        "fisher-exact-monte-carlo", p_value, dof, total, note=f"{note}; {MONTE_CARLO_TABLES} random tables"
    )


def benjamini_hochberg(
    p_values: Sequence[float] | np.ndarray, *, false_discovery_rate: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    """Benjamini-Hochberg step-up: ``(rejected, adjusted_p_values)``, both shape (m,)."""
    p_values = np.asarray(p_values, dtype=float)
    if p_values.ndim != 1 or p_values.size == 0 or not np.all((p_values >= 0) & (p_values <= 1)):
        raise InvalidData("p-values must be a non-empty vector of numbers in [0, 1]")
    rejected, adjusted, _, _ = multipletests(p_values, alpha=false_discovery_rate, method="fdr_bh")
    return rejected, adjusted


def holm(p_values: Sequence[float] | np.ndarray, *, family_wise_error: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Holm's step-down: ``(rejected, adjusted_p_values)``, both shape (m,); the chance of any false rejection is at
    most ``family_wise_error`` whatever the dependence between the p-values."""
    p_values = np.asarray(p_values, dtype=float)
    if p_values.ndim != 1 or p_values.size == 0 or not np.all((p_values >= 0) & (p_values <= 1)):
        raise InvalidData("p-values must be a non-empty vector of numbers in [0, 1]")
    # by hand: statsmodels' multipletests(method="holm") runs gc.collect() on every call (0.2 s each)
    order = np.argsort(p_values)
    steps = (len(p_values) - np.arange(len(p_values))) * p_values[order]
    adjusted = np.empty_like(p_values)
    adjusted[order] = np.minimum(1.0, np.maximum.accumulate(steps))
    return adjusted <= family_wise_error, adjusted


def _binary_label_table(table: CountMatrix, group_names: Sequence[str] | None) -> tuple[np.ndarray, list[str]]:
    counts, names = _nonempty_table(table, group_names)
    if counts.shape[1] != 2:
        raise InvalidData(f"positive rates need a binary label (two columns: Y=0, Y=1), got {counts.shape[1]} columns")
    return counts, names


def positive_rates(
    table: CountMatrix,
    *,
    group_names: Sequence[str] | None = None,
    confidence: float = 0.95,
    simultaneous: bool = True,
) -> dict[str, ShareEstimate]:
    """P(Y=1 | S=s) per group from an (S, 2) table, with Clopper-Pearson intervals.

    With ``simultaneous`` the intervals hold together (Bonferroni over the S groups).
    """
    counts, names = _binary_label_table(table, group_names)
    confidence = validated_confidence(confidence)
    per_group = 1.0 - (1.0 - confidence) / len(names) if simultaneous else confidence
    totals = counts.sum(axis=1)
    low, high = clopper_pearson_bounds(counts[:, 1], totals, confidence=per_group)
    method = "bonferroni-clopper-pearson" if simultaneous else "clopper-pearson"
    return {
        name: ShareEstimate(counts[k, 1] / totals[k], low[k], high[k], method, totals[k], confidence)
        for k, name in enumerate(names)
    }


def demographic_parity_gap(
    table: CountMatrix,
    *,
    group_names: Sequence[str] | None = None,
    confidence: float = 0.95,
) -> ShareEstimate:
    """Demographic-parity gap ``max_s P(Y=1|S=s) - min_s P(Y=1|S=s)`` from an (S, 2) table, with an interval.

    Two groups: Newcombe's hybrid-score interval for the difference (statsmodels), folded to
    the absolute difference. More groups: simultaneous (Bonferroni) Clopper-Pearson intervals
    per group give ``[max(0, max low - min high), max high - min low]`` (conservative).
    """
    counts, names = _binary_label_table(table, group_names)
    confidence = validated_confidence(confidence)
    totals = counts.sum(axis=1)
    rates = counts[:, 1] / totals
    highest, lowest = int(np.argmax(rates)), int(np.argmin(rates))
    gap = rates[highest] - rates[lowest]
    note = f"highest rate: {names[highest]} ({rates[highest]:.3f}); lowest: {names[lowest]} ({rates[lowest]:.3f})"
    if len(names) == 2:
        low, high = confint_proportions_2indep(
            counts[0, 1], totals[0], counts[1, 1], totals[1], method="newcomb", compare="diff", alpha=1.0 - confidence
        )
        low, high = (low, high) if low >= 0 else (-high, -low) if high <= 0 else (0.0, max(-low, high))
        method = "newcombe"
    else:
        group_rates = positive_rates(counts, group_names=names, confidence=confidence)
        lows = np.array([estimate.low for estimate in group_rates.values()])
        highs = np.array([estimate.high for estimate in group_rates.values()])
        low, high = max(0.0, lows.max() - highs.min()), highs.max() - lows.min()
        method = "bonferroni-clopper-pearson"
    return ShareEstimate(gap, min(low, gap), max(high, gap), method, int(totals.sum()), confidence, (note,))
