"""One (S, Y) pair of the fairness signature: what was measured (:class:`PairSignature`) and its
:class:`Verdict` with the :class:`Criterion` list behind it (set by :mod:`hubaudit.audit.fairness.verdict`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from hubaudit.audit.fairness.correction import CorrectedSignature
from hubaudit.audit.fairness.declared_rates import DeclaredRates
from hubaudit.audit.fairness.label_mapping import LABEL_VALUES
from hubaudit.audit.fairness.probe import ProbeComparison
from hubaudit.audit.fairness.sources import SourceSignature
from hubaudit.stats import ShareEstimate
from hubaudit.stats.corrected_gap import ConditionCounts, CorrectedGap
from hubaudit.stats.outcome import Outcome

CriterionName = Literal["max_dp_gap", "reference_excess", "declared_excess", "under_represented"]
"""The criteria of a verdict (:mod:`hubaudit.audit.fairness.verdict`)."""


def mover_difference(generated: ShareEstimate, baseline: ShareEstimate | float) -> ShareEstimate:
    """``generated - baseline`` gap with a MOVER interval (Zou & Donner 2008) built from the two intervals.

    A float ``baseline`` (a declared gap) is taken as exact: the interval is ``generated``'s, shifted.
    """
    base = (
        baseline
        if isinstance(baseline, ShareEstimate)
        else ShareEstimate(baseline, baseline, baseline, "declared", 0, generated.confidence)
    )
    difference = generated.value - base.value
    low = difference - math.hypot(generated.value - generated.low, base.high - base.value)
    high = difference + math.hypot(generated.high - generated.value, base.value - base.low)
    return ShareEstimate(difference, low, high, "mover", generated.n + base.n, generated.confidence)


@dataclass(frozen=True)
class Criterion:
    """One criterion of a pair and its outcome.

    ``p_value``: the one-sided p-value of "no violation" (small: a finding), Holm-adjusted over every criterion
    of every pair into ``adjusted_p_value``; ``no_finding_p_value``: that of "a violation" (small: shown within
    the margin, the equivalence side); None for both with ``not_tested`` (why it could not run).
    ``under_represented`` combines its groups' p-values (``group_p_values``) by Bonferroni; when it is a
    finding, ``groups`` names those whose own Bonferroni p-value is at most alpha (the lowest one at least).
    """

    name: CriterionName
    margin: float
    p_value: float | None = None
    no_finding_p_value: float | None = None
    group_p_values: dict[str, float] | None = None
    adjusted_p_value: float | None = None
    outcome: Outcome = "not tested"
    groups: tuple[str, ...] = ()
    not_tested: str | None = None

    @property
    def met(self) -> bool:
        return self.outcome == "finding"

    def to_dict(self) -> dict:
        """Plain-JSON form; ``under_represented`` adds each group's p-value and the groups it names when met."""
        out = {
            "criterion": self.name,
            "margin": self.margin,
            "outcome": self.outcome,
            "p_value": self.p_value,
            "adjusted_p_value": self.adjusted_p_value,
            "no_finding_p_value": self.no_finding_p_value,
            "met": self.met,
        }
        if self.not_tested is not None:
            out["not_tested"] = self.not_tested
        if self.group_p_values is not None:
            out |= {"group_p_values": self.group_p_values, "groups": list(self.groups)}
        return out


@dataclass(frozen=True)
class Verdict:
    """A pair's outcome, its verdict line (``reason``) and next-step line, the criteria behind it, the guarantee
    it carries, the sample count that would settle an inconclusive outcome and the annotator shift that would
    change a settled one."""

    outcome: Outcome
    reason: str
    next_step: str
    judged: str
    gap: ShareEstimate | None
    criteria: tuple[Criterion, ...] = ()
    guarantee: str | None = None
    criteria_applied: str = ""
    settle: dict | None = None
    sensitivity: dict | None = None

    @property
    def finding(self) -> bool:
        return self.outcome == "finding"

    def to_dict(self) -> dict:
        return {
            "outcome": self.outcome,
            "finding": self.finding,
            "reason": self.reason,
            "next_step": self.next_step,
            "judged": self.judged,
            "gap": self.gap.to_dict() if self.gap is not None else None,
            "criteria_applied": self.criteria_applied,
            "criteria": [criterion.to_dict() for criterion in self.criteria],
            "guarantee": self.guarantee,
            "settle": self.settle,
            "sensitivity": self.sensitivity,
        }


@dataclass(frozen=True)
class Baseline:
    """A trusted gap the judged one is compared with (the reference's, or the model card's), taken at the judged
    gap's P(Y=1): ``rates`` ``float [G]`` (exact) or ``[B, G]`` (draws), ``gap`` its estimate; ``unavailable``
    says why it cannot be compared (rates and gap are then None)."""

    criterion: CriterionName
    label_share: float
    rates: np.ndarray | None = None
    gap: ShareEstimate | None = None
    unavailable: str | None = None


@dataclass
class PairSignature:
    """Everything measured for one (S, Y) pair; ``verdict`` is set once the criteria of all pairs are controlled.

    ``corrected`` holds the statistics corrected for the S annotator's errors (or why there are none);
    ``judged`` is what the verdict judges: the corrected statistics when defined, else those of the
    annotations taken as they are (None when Y takes one value).
    """

    sensitive: str
    label: str
    label_source: str
    group_names: tuple[str, ...]
    generated: SourceSignature
    reference: SourceSignature | None = None
    declared: DeclaredRates | None = None
    probe: ProbeComparison | None = None
    corrected: CorrectedSignature | None = None
    judged: CorrectedGap | None = None
    judged_counts: tuple[ConditionCounts, ...] = ()
    baselines: dict[str, Baseline] = field(default_factory=dict)
    seed: int = 0
    verdict: Verdict | None = None

    @property
    def key(self) -> str:
        return f"{self.sensitive}/{self.label}"

    @property
    def gap_difference(self) -> ShareEstimate | None:
        """Annotated generated gap minus the reference's, when reference data was given and the gap is defined."""
        return self.excess(self.generated.dp_gap)["reference_excess"]

    @property
    def declared_gap_difference(self) -> ShareEstimate | None:
        """Annotated generated gap minus the gap the model card declares, when it declares one and the gap is defined."""
        return self.excess(self.generated.dp_gap)["declared_excess"]

    @property
    def corrected_gap(self) -> ShareEstimate | None:
        """The generated gap corrected for the annotator's errors, when it could be computed and is defined."""
        return self.corrected.gap.dp_gap if self.corrected is not None and self.corrected.gap is not None else None

    def excess(self, gap: ShareEstimate | None) -> dict[str, ShareEstimate | None]:
        """``gap`` minus the reference's and the declared gap taken at the judged P(Y=1) (MOVER), keyed by criterion;
        None where one is missing or not comparable."""
        bases = {
            name: self.baselines[name].gap if name in self.baselines else None
            for name in ("reference_excess", "declared_excess")
        }
        return {
            name: mover_difference(gap, base) if gap is not None and base is not None else None
            for name, base in bases.items()
        }

    def to_dict(self) -> dict:
        by_source = {"generated": self.generated.to_dict()}
        if self.reference is not None:
            by_source["reference"] = self.reference.to_dict()
        if self.declared is not None:
            declared_excess = self.declared_gap_difference
            by_source["declared"] = {
                **self.declared.to_dict(),
                "gap_difference": declared_excess and declared_excess.to_dict(),
            }
        for name, baseline in self.baselines.items():
            source = by_source["reference" if name == "reference_excess" else "declared"]
            source["at_judged_label_share"] = {
                "label_share": baseline.label_share,
                "dp_gap": baseline.gap.to_dict() if baseline.gap is not None else None,
                **({"unavailable": baseline.unavailable} if baseline.unavailable else {}),
            }
        out = {
            "sensitive": self.sensitive,
            "label": self.label,
            "label_source": self.label_source,
            "group_names": list(self.group_names),
            "label_values": list(LABEL_VALUES),
            "by_source": by_source,
        }
        if self.gap_difference is not None:
            out["gap_difference"] = self.gap_difference.to_dict()
        if self.corrected is not None:
            out["corrected"] = self.corrected.to_dict()
            excesses = self.excess(self.corrected_gap)
            named = {
                "gap_difference": excesses["reference_excess"],
                "declared_gap_difference": excesses["declared_excess"],
            }
            out["corrected"] |= {key: excess.to_dict() for key, excess in named.items() if excess is not None}
        if self.probe is not None:
            out["probe"] = self.probe.to_dict()
        out["verdict"] = self.verdict.to_dict()
        return out
