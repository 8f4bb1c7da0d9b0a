"""Fairness-poisoning signature: is the link between a sensitive attribute S and a label Y skewed?

A receiver about to train a classifier on a shared model's samples measures, in those samples,
the S x Y table, P(Y=1 | S=s) per group, the demographic-parity gap (with an interval), I(S;Y)
and independence tests, for every (S, Y) pair asked for. S is always annotated; Y is the class or
prompt a sample was drawn for (mapped to 0/1), or annotated too. With Y read off the conditions,
P(S | Y) and the gap are also corrected for the S annotator's errors condition by condition
(:mod:`hubaudit.audit.fairness.correction`: gold labels, per-class or overall calibration). The
verdict (:mod:`hubaudit.audit.fairness.verdict`) judges the corrected gap when there is one, the
annotated one otherwise: a finding when the gap exceeds ``max_dp_gap``, exceeds a trusted
baseline's (the receiver's reference data, or the rates the model card declares) by more than
``max_gap_increase``, or when a group is absent or under-represented (below ``min_group_share``
under every label value), with the error controlled over all criteria and pairs. With reference
data, :mod:`hubaudit.audit.fairness.probe` adds what a classifier trained on the samples loses against one
trained on the reference.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import product

import numpy as np

from hubaudit.audit.fairness.correction import ConditionCalibration, annotated_counts, correct_pair
from hubaudit.audit.fairness.declared_rates import DeclaredRates, declared_label_share, declared_positive_rates
from hubaudit.audit.fairness.label_mapping import condition_labels
from hubaudit.audit.fairness.options import FairnessOptions
from hubaudit.audit.fairness.pair import PairSignature
from hubaudit.audit.fairness.probe import probe_downstream
from hubaudit.audit.fairness.sources import reference_signature, source_signature
from hubaudit.audit.fairness.verdict import judge_pairs
from hubaudit.data import LabelledImages
from hubaudit.errors import InvalidAttributeSpec, InvalidLabelMapping
from hubaudit.sampling import Condition
from hubaudit.stats import benjamini_hochberg
from hubaudit.stats.corrected_gap import corrected_parity_gap


@dataclass
class FairnessSignature:
    """The ``fairness`` report section: the first (S, Y) pair at the top level, the others in ``other_pairs``."""

    pairs: list[PairSignature]
    adjusted_p_values: dict[str, float]
    options: FairnessOptions
    notes: list[str] = field(default_factory=list)

    looks: int = 1

    def findings(self) -> list[dict]:
        """The report's ``findings`` entries (kind ``fairness``), one per pair with a finding."""
        return [
            {"kind": "fairness", "message": f"{pair.key}: {pair.verdict.reason}"}
            for pair in self.pairs
            if pair.verdict.finding
        ]

    def verdicts(self) -> list[dict]:
        """The report's ``verdicts`` entries (kind ``fairness``), one per pair whatever its outcome."""
        return [
            {
                "kind": "fairness",
                "subject": pair.key,
                "outcome": pair.verdict.outcome,
                "reason": pair.verdict.reason,
                "next_step": pair.verdict.next_step,
            }
            for pair in self.pairs
        ]

    def error_control(self) -> str:
        """How the verdicts control their errors, as the procedure does it."""
        alpha = 1 - self.options.confidence
        stop = (
            f" Sampling stopped by a sequential rule: every test is at {alpha:g}/{self.looks}, one share for each of the "
            f"{self.looks} sample counts the rule could stop at, so the outcomes hold at the count it stopped."
            if self.looks > 1
            else ""
        )
        return (
            f"Findings: Holm over every criterion of every pair at {alpha / self.looks:g}: the chance of any false finding is "
            f"at most {alpha:g}. No finding: each criterion's equivalence test (the gap shown within its margin, every group "
            f"shown at or above its floor) at level {alpha:g}, so a pair's 'no finding' and 'no finding' on every pair at "
            "once hold at that level (intersection-union). Claimed in a pair's verdict.guarantee where its correction "
            "removes errors that differ by class; otherwise no finding is ever shown." + stop
        )

    def to_dict(self) -> dict:
        first, *others = self.pairs
        out = {
            **first.to_dict(),
            "confidence": self.options.confidence,
            "threshold": self.options.max_dp_gap,
            "max_gap_increase": self.options.max_gap_increase,
            "min_group_share": {pair.key: self.options.group_floor(len(pair.group_names)) for pair in self.pairs},
            "error_control": self.error_control(),
            "sequential_looks": self.looks,
            "adjusted_p_values": self.adjusted_p_values,
            "notes": self.notes,
        }
        if others:
            out["other_pairs"] = [pair.to_dict() for pair in others]
        return out


NOTES = (
    "S (and an annotated Y) are annotator labels. Annotator errors that are the same for every Y value shrink the "
    "measured gap towards 0; errors that differ by class can shrink it or invent one. With Y read off the conditions, "
    "'corrected' holds P(S|Y) and the gap corrected condition by condition: with gold labels on the condition's own "
    "samples, the annotator's calibration records of that class ('per-class calibration'), of its label ('per-label "
    "calibration') or its one overall matrix ('overall calibration', which removes only errors that do not depend on "
    "the class); the verdict judges the corrected gap when it is defined, the annotated one otherwise",
    "Evidence, not the verdict: the independence tests of the annotated table and their Benjamini-Hochberg-adjusted "
    "p-values (adjusted_p_values); the verdict uses the judged gap's own criteria and p-values (verdict.criteria)",
)


def audit_fairness(
    *,
    kind: str,
    conditions: Sequence[Condition],
    probabilities: Mapping[str, Sequence[np.ndarray]],
    attribute_values: Mapping[str, tuple[str, ...]],
    options: FairnessOptions,
    images: Sequence[np.ndarray] | None = None,
    reference: LabelledImages | None = None,
    card: Mapping | None = None,
    calibrations: Mapping[tuple[str, str], Sequence[ConditionCalibration | None]] | None = None,
    seed: int = 0,
    looks: int = 1,
    explain: bool = True,
) -> FairnessSignature:
    """The fairness signature of a scan's samples.

    Args:
        kind: the model kind (``unconditional``, ``class-conditional``, ``text-to-image``).
        conditions: the scanned conditions.
        probabilities: attribute name -> per condition i ``float [n_i, K]`` annotator probabilities.
        attribute_values: attribute name -> its K value names.
        images: per condition i the samples ``uint8 [n_i, H, W, C]``, for the downstream probe.
        reference: trusted labelled data with a 0..K-1 column for every S and Y; with ``images``
            (and ``options.probe``) the probe runs on it.
        card: the model card's ``hubaudit`` section (for declared rates).
        calibrations: (S name, Y name) -> per condition how the S annotator's errors are corrected
            (:func:`hubaudit.audit.fairness.correction.condition_calibrations`); a pair without them,
            or whose Y is annotated, is judged as annotated.
        seed: seeds the probe's split and bootstrap and the joint draws.
        looks: the sample counts a sequential stopping rule could have stopped at (1: a fixed n); every test is at
            ``(1 - confidence) / looks`` (:func:`~hubaudit.audit.fairness.verdict.judge_pairs`).
        explain: search what would settle an inconclusive pair and what would change a settled one.

    A group the model generates too rarely (below the floor under every label value) is a finding;
    its rate and the gap are undefined when its share is 0 under both label values, and the rest is
    computed. A table too sparse for a chi-square test gets an exact test.

    Raises:
        InvalidAttributeSpec: a ``--sensitive`` or annotated ``--label`` names no ``--attribute``.
        InvalidLabelMapping: a label cannot be read off the conditions, or an annotated one is not binary.
        InvalidData: the reference lacks a column or holds values out of range.
        EmptyGroup: a sensitive group has no records in the reference.
        TooFewSamples: the probe lacks records (a reference cell, or a label value of the samples).
    """
    codes, label_sources, sizes, by_condition = _generated_codes(
        kind, conditions, probabilities, attribute_values, options
    )
    notes = list(NOTES)
    if by_condition:
        notes.insert(
            0,
            "Y read off the class or prompt: its balance is set by the samples drawn per condition, "
            "as in a receiver's training set drawn the same way",
        )
    pairs = []
    for sensitive, label in product(options.sensitive, options.labels):
        group_names = attribute_values[sensitive]
        statistics = {"group_names": group_names, "confidence": options.confidence}
        pair = PairSignature(
            sensitive,
            label,
            label_sources[label],
            group_names,
            source_signature(codes[sensitive], codes[label], seed=seed, **statistics),
            seed=seed,
        )
        annotated = label_sources[label] == "annotated"
        pair.corrected = correct_pair(
            np.split(codes[sensitive], np.cumsum(sizes)[:-1]),
            (calibrations or {}).get((sensitive, label)),
            conditions=conditions,
            labels=[by_condition.get(condition, 0) for condition in conditions],
            sensitive=sensitive,
            label_annotated=annotated,
            seed=seed,
            **statistics,
        )
        pair.judged_counts = (
            pair.corrected.counts if pair.corrected.gap is not None else annotated_counts(pair.generated.table)
        )
        pair.judged = (
            pair.corrected.gap
            if pair.corrected.gap is not None
            else (
                corrected_parity_gap(pair.judged_counts, random_state=seed, **statistics)
                if pair.judged_counts
                else None
            )
        )
        if reference is not None:
            pair.reference, reference_codes = reference_signature(
                reference, sensitive=sensitive, label=label, seed=seed, **statistics
            )
            if images is not None and options.probe:
                pair.probe = probe_downstream(
                    np.concatenate(images),
                    codes[label],
                    (reference.images, *reference_codes),
                    group_names=group_names,
                    confidence=options.confidence,
                    seed=seed,
                )
        declared, ignored = declared_positive_rates(
            card or {}, sensitive=sensitive, label=label, group_names=group_names
        )
        pair.declared = (
            DeclaredRates(declared, declared_label_share(card or {}, label=label)) if declared is not None else None
        )
        if ignored:
            notes.append(f"{pair.key}: the model card's declared rates are ignored: {ignored}")
        pairs.append(pair)
    judge_pairs(pairs, options, looks=looks, explain=explain)
    _, adjusted = benjamini_hochberg(
        [pair.generated.tests.p_value for pair in pairs], false_discovery_rate=1 - options.confidence
    )
    return FairnessSignature(pairs, {pair.key: float(p) for pair, p in zip(pairs, adjusted)}, options, notes, looks)


def _generated_codes(
    kind: str,
    conditions: Sequence[Condition],
    probabilities: Mapping[str, Sequence[np.ndarray]],
    attribute_values: Mapping[str, tuple[str, ...]],
    options: FairnessOptions,
) -> tuple[dict[str, np.ndarray], dict[str, str], list[int], dict[Condition, int]]:
    """Per S and Y name, ``int64 [N]`` codes of all samples (conditions concatenated); where each Y came from;
    the samples per condition; each condition's label (empty when every Y is annotated)."""
    check_sensitive_names(options, probabilities)
    sizes = [len(batch) for batch in probabilities[options.sensitive[0]]]
    codes = {
        name: np.concatenate(probabilities[name]).argmax(axis=1)
        for name in (*options.sensitive, *options.labels)
        if name in probabilities
    }
    sources, by_condition = {}, {}
    for label in options.labels:
        if label in probabilities:
            if len(attribute_values[label]) != 2:
                raise InvalidLabelMapping(
                    f"--label {label}: the label must be binary, the attribute has values {list(attribute_values[label])}"
                )
            sources[label] = "annotated"
            continue
        by_condition = condition_labels(
            conditions, kind=kind, label_map=options.label_map, label_prompts=options.label_prompts
        )
        codes[label] = np.repeat([by_condition[condition] for condition in conditions], sizes)
        sources[label] = "; ".join(f"{condition!r} -> {value}" for condition, value in by_condition.items())
    return codes, sources, sizes, by_condition


def check_sensitive_names(options: FairnessOptions, attribute_names: Iterable[str]) -> None:
    """Raise :class:`InvalidAttributeSpec` unless every ``--sensitive`` name is an annotated attribute."""
    missing = [name for name in options.sensitive if name not in set(attribute_names)]
    if missing:
        raise InvalidAttributeSpec(f"--sensitive {missing[0]}: no --attribute {missing[0]}=SPEC annotates it")
