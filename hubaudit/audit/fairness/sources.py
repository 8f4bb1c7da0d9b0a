"""The S x Y statistics of one source of the fairness signature: the generated samples or the reference data.

Per source: the S x Y table, P(Y=1 | S=s) per group, the demographic-parity gap with an interval,
I(S;Y) and the independence test (exact when the table is sparse). The generated samples may
lack a group (a finding of :mod:`hubaudit.audit.fairness.signature`, whose rate and gap are then
undefined); the reference data, the trusted baseline, may not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hubaudit.annotate.base import value_labels
from hubaudit.data import LabelledImages
from hubaudit.errors import EmptyGroup
from hubaudit.stats import (
    IndependenceTest,
    ShareEstimate,
    clopper_pearson_interval,
    contingency_table,
    demographic_parity_gap,
    independence_tests,
    mutual_information,
    positive_rates,
)


@dataclass(frozen=True)
class SourceSignature:
    """S x Y statistics of one source (generated samples or reference data); table is counts ``[G, 2]``.

    ``empty_groups`` names the groups without samples; ``positive_rates`` covers the others, and
    ``dp_gap`` is None when a group is empty (its rate, so the gap over all groups, is undefined).
    """

    table: np.ndarray
    group_names: tuple[str, ...]
    positive_rates: dict[str, ShareEstimate]
    dp_gap: ShareEstimate | None
    mutual_information_nats: float
    tests: IndependenceTest

    @property
    def empty_groups(self) -> list[str]:
        return [name for name, total in zip(self.group_names, self.table.sum(axis=1)) if total == 0]

    def to_dict(self) -> dict:
        out = {
            "n": int(self.table.sum()),
            "table": self.table.tolist(),
            "empty_groups": self.empty_groups,
            "positive_rates": {name: estimate.to_dict() for name, estimate in self.positive_rates.items()},
            "dp_gap": self.dp_gap.to_dict() if self.dp_gap is not None else None,
            "mutual_information_nats": self.mutual_information_nats,
            "independence_test": {"method": self.tests.method, "p_value": self.tests.p_value, "note": self.tests.note},
            "g_test_p_value": self.tests.g_p_value,
            "chi2_p_value": self.tests.chi_square_p_value,
        }
        if self.dp_gap is None:
            out["dp_gap_undefined"] = f"sensitive group(s) {', '.join(map(repr, self.empty_groups))} have no samples"
        return out


def source_signature(
    sensitive: np.ndarray, labels: np.ndarray, *, group_names: Sequence[str], confidence: float, seed: int = 0
) -> SourceSignature:
    """Statistics of codes ``sensitive`` (0..G-1) and ``labels`` (0/1), both ``int64 [N]``.

    A group without records gets no positive rate and leaves the gap undefined (None); a sparse
    table gets an exact independence test (:func:`hubaudit.stats.independence_tests`; ``seed`` seeds
    its Monte Carlo tables when it is larger than 2x2).
    """
    group_names = tuple(group_names)
    table = contingency_table(sensitive, labels, groups=len(group_names), label_values=2)
    present = table.sum(axis=1) > 0
    names = [name for name, kept in zip(group_names, present) if kept]
    statistics = {"group_names": names, "confidence": confidence}
    if len(names) >= 2:
        rates = positive_rates(table[present], **statistics)
    else:  # one group generated: its rate alone, nothing to adjust for
        rates = {
            names[0]: clopper_pearson_interval(int(table[present][0, 1]), int(table.sum()), confidence=confidence)
        }
    return SourceSignature(
        table,
        group_names,
        rates,
        demographic_parity_gap(table, **statistics) if present.all() else None,
        mutual_information(table),
        independence_tests(table, group_names=group_names, random_state=seed),
    )


def reference_signature(
    reference: LabelledImages,
    *,
    sensitive: str,
    label: str,
    group_names: Sequence[str],
    confidence: float,
    seed: int = 0,
) -> tuple[SourceSignature, tuple[np.ndarray, np.ndarray]]:
    """The signature of the reference's columns ``sensitive`` (0..G-1) and ``label`` (0/1), and those codes ``int64 [M]``.

    The reference is the trusted baseline, so every group must have records there.

    Raises:
        InvalidData: a column holds values out of range.
        EmptyGroup: a sensitive group has no records.
    """
    codes = (
        value_labels(reference, sensitive, value_count=len(group_names)),
        value_labels(reference, label, value_count=2),
    )
    signature = source_signature(*codes, group_names=group_names, confidence=confidence, seed=seed)
    if signature.empty_groups:
        raise EmptyGroup(
            f"reference data {reference.source}, {sensitive}/{label}: sensitive group(s) "
            f"{', '.join(map(repr, signature.empty_groups))} have no records (of {len(codes[1])})"
        )
    return signature, codes
