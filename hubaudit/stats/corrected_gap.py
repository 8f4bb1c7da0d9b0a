"""The demographic-parity gap corrected for annotator errors that may differ by label value.

Y is the label of the condition a sample was drawn for, so the sample counts per label value,
``n_0`` and ``n_1``, are fixed by design; S is annotated. An annotator whose errors depend on Y
(more greens called red among the samples of one class than of the other) biases the measured
P(S | Y = y) differently for each y, and can shrink a gap or invent one. The correction:

1. per label value y, the annotated S counts of the ``n_y`` samples and the annotator's
   confusion matrix *for records with Y = y* give corrected shares P(S = s | Y = y) with
   :func:`~hubaudit.stats.correction.corrected_shares` (Rogan-Gladen or BBSE; the intervals
   carry the calibration split's size), at level ``1 - alpha/2`` each (Bonferroni over the two
   label values), so that all ``2G`` intervals hold together at ``1 - alpha``;
2. ``P(Y=1 | S=s) = n_1 P(s|1) / (n_0 P(s|0) + n_1 P(s|1))`` rises with ``P(s|1)`` and falls
   with ``P(s|0)``, so its interval is ``[f(high_0, low_1), f(low_0, high_1)]`` (corners);
3. the gap ``max_s - min_s`` of rates that lie in those intervals lies in
   ``[max(0, max_s low_s - min_s high_s), max(0, max_{s != t} (high_s - low_t))]``, the exact
   range over the intervals. For two groups, where ``P(b|y) = 1 - P(a|y)`` and both rates'
   extremes come from the same corner, this is the exact range of ``|gap|`` over the two
   shares' intervals; for more groups it ignores that the shares of one y sum to 1, so it is
   conservative.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from hubaudit.errors import InvalidData
from hubaudit.stats.correction import MAX_CONDITION, corrected_shares
from hubaudit.stats.estimate import (
    CountMatrix,
    ShareEstimate,
    validated_confidence,
    validated_counts,
    value_names,
)

METHOD = "corrected-corners"
"""``method`` of the corrected positive rates and gap."""


@dataclass(frozen=True)
class CorrectedGap:
    """Corrected P(S | Y = y), P(Y = 1 | S = s) and the parity gap of one S x Y table.

    ``shares_by_label[y]`` maps each group to P(S = s | Y = y) (level ``1 - alpha/2``);
    ``absent_groups`` are those whose corrected share is 0 under both label values (their
    annotated counts are no more than the annotator's errors explain), whose P(Y = 1 | S = s)
    is undefined; ``positive_rates`` covers the other groups, and ``dp_gap`` is None when a
    group is absent.
    """

    shares_by_label: tuple[dict[str, ShareEstimate], ...]
    positive_rates: dict[str, ShareEstimate]
    dp_gap: ShareEstimate | None
    absent_groups: tuple[str, ...] = ()

    @property
    def undefined(self) -> str | None:
        """Why ``dp_gap`` is None, or None when it is defined."""
        if not self.absent_groups:
            return None
        return (
            f"the corrected share of group(s) {', '.join(map(repr, self.absent_groups))} is 0 under both label values, "
            "so P(Y=1 | S) is undefined there"
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form; ``shares_by_label`` keyed ``"0"``, ``"1"``."""
        out = {
            "shares_by_label": {
                str(label): {name: estimate.to_dict() for name, estimate in shares.items()}
                for label, shares in enumerate(self.shares_by_label)
            },
            "positive_rates": {name: estimate.to_dict() for name, estimate in self.positive_rates.items()},
            "dp_gap": self.dp_gap.to_dict() if self.dp_gap is not None else None,
            "absent_groups": list(self.absent_groups),
        }
        if self.undefined is not None:
            out["dp_gap_undefined"] = self.undefined
        return out


def _positive_rate(share_0: float, share_1: float, n_0: int, n_1: int, *, if_undefined: float) -> float:
    """``n_1 share_1 / (n_0 share_0 + n_1 share_1)``; ``if_undefined`` when both shares are 0."""
    weight = n_0 * share_0 + n_1 * share_1
    return n_1 * share_1 / weight if weight > 0 else if_undefined


def corrected_parity_gap(
    table: CountMatrix,
    confusions: Sequence[CountMatrix] | np.ndarray,
    *,
    group_names: Sequence[str] | None = None,
    confidence: float = 0.95,
    n_draws: int = 4000,
    max_condition: float = MAX_CONDITION,
    random_state: int | np.random.Generator = 0,
) -> CorrectedGap:
    """Corrected P(S | Y), positive rates and parity gap (module docstring) from an annotated (G, 2) table.

    Args:
        table: annotated counts ``[G, 2]``, rows = groups, columns = Y = 0, 1; column y sums to
            ``n_y >= 1``, the samples drawn with label y.
        confusions: the annotator's confusion counts for records of each label value, ``[2, G, G]``
            (rows = true group, columns = annotated group); the same matrix twice when its
            errors are taken not to depend on Y.
        confidence: joint level of all intervals (each label value's shares get ``1 - alpha/2``).

    Raises:
        InvalidData: shapes that do not fit.
        TooFewSamples: a label value with no samples, or a confusion row with no calibration records.
        ClassifierNoBetterThanChance: a confusion matrix too close to singular to invert.
    """
    counts = validated_counts(table, what="contingency table")
    if counts.ndim != 2 or counts.shape[1] != 2 or counts.shape[0] < 2:
        raise InvalidData(f"a corrected gap needs a (groups, 2) table with at least two groups, got shape {counts.shape}")
    groups = counts.shape[0]
    names = value_names(group_names, groups)
    matrices = np.asarray(confusions)
    if matrices.shape != (2, groups, groups):
        raise InvalidData(f"expected one ({groups}, {groups}) confusion matrix per label value, got shape {matrices.shape}")
    confidence = validated_confidence(confidence)
    rng = np.random.default_rng(random_state)
    per_label = 1.0 - (1.0 - confidence) / 2
    shares_by_label = tuple(
        corrected_shares(
            counts[:, label], confusion=matrices[label], names=names, confidence=per_label,
            n_draws=n_draws, max_condition=max_condition, random_state=rng,
        )
        for label in (0, 1)
    )
    n_0, n_1 = (int(total) for total in counts.sum(axis=0))
    n = n_0 + n_1
    rates, lows, highs, absent = {}, [], [], []
    for name in names:
        share_0, share_1 = (shares[name] for shares in shares_by_label)
        low = _positive_rate(share_0.high, share_1.low, n_0, n_1, if_undefined=0.0)
        high = _positive_rate(share_0.low, share_1.high, n_0, n_1, if_undefined=1.0)
        lows.append(low)
        highs.append(high)
        if share_0.value + share_1.value == 0:
            absent.append(name)
            continue
        value = _positive_rate(share_0.value, share_1.value, n_0, n_1, if_undefined=0.0)
        rates[name] = ShareEstimate(value, min(low, value), max(high, value), METHOD, n, confidence)
    if absent:
        return CorrectedGap(shares_by_label, rates, None, tuple(absent))
    values = np.array([rates[name].value for name in names])
    lows, highs = np.array(lows), np.array(highs)
    spread = highs[:, None] - lows[None, :]
    np.fill_diagonal(spread, 0.0)
    gap = float(values.max() - values.min())
    low, high = max(0.0, lows.max() - highs.min()), max(0.0, float(spread.max()))
    highest, lowest = names[int(values.argmax())], names[int(values.argmin())]
    note = f"highest rate: {highest} ({values.max():.3f}); lowest: {lowest} ({values.min():.3f}); samples per label {n_0}, {n_1}"
    return CorrectedGap(shares_by_label, rates, ShareEstimate(gap, min(low, gap), max(high, gap), METHOD, n, confidence, (note,)))
