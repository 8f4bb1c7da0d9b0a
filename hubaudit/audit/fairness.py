"""Fairness-poisoning signature: is the link between a sensitive attribute S and a label Y skewed?

A receiver about to train a classifier on a shared model's samples measures, in those samples,
the S x Y table, P(Y=1 | S=s) per group, the demographic-parity gap (with an interval), I(S;Y)
and independence tests, for every (S, Y) pair asked for (Benjamini-Hochberg over the pairs).
S is always annotated; Y is the class or prompt a sample was drawn for (mapped to 0/1), or
annotated too. With Y read off the conditions, P(S | Y) and the gap are also corrected for the
S annotator's errors per label value (:mod:`hubaudit.audit.fairness_correction`), and the
verdict judges the corrected gap when it is defined. A finding is made for a pair when a
sensitive group is never generated, or when S and Y are significantly dependent after BH and
either the gap's interval lies above ``max_dp_gap``, or the gap exceeds a trusted baseline's
(the receiver's reference data, or the rates the model card declares) by an interval lying
above ``max_gap_increase``. With reference data, :mod:`hubaudit.audit.probe` adds what a
classifier trained on the samples loses against one trained on the reference.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import product

import numpy as np

from hubaudit.audit.declared_rates import DeclaredRates, declared_positive_rates
from hubaudit.audit.fairness_correction import CorrectedSignature, LabelConfusions, correct_pair
from hubaudit.audit.fairness_sources import SourceSignature, reference_signature, source_signature
from hubaudit.audit.label_mapping import LABEL_VALUES, condition_labels
from hubaudit.audit.probe import ProbeComparison, probe_downstream
from hubaudit.data import LabelledImages
from hubaudit.errors import InvalidAttributeSpec, InvalidFairnessOptions, InvalidLabelMapping
from hubaudit.sampling import Condition
from hubaudit.stats import ShareEstimate, benjamini_hochberg

DEFAULT_LABEL = "label"
"""Name of the label Y when ``--label`` is not given."""
DEFAULT_MAX_DP_GAP = 0.10
DEFAULT_MAX_GAP_INCREASE = 0.05


@dataclass(frozen=True)
class FairnessOptions:
    """What the fairness audit of a scan does.

    Attributes:
        sensitive: names of the annotated sensitive attributes S (``--attribute`` names).
        labels: names of the labels Y; a name that is also an ``--attribute`` is annotated,
            otherwise Y comes from each sample's class (``label_map``) or prompt (``label_prompts``).
        label_map: class id -> 0/1 label; None maps a two-class model's classes to themselves.
        label_prompts: prompt -> 0/1 label (text-to-image); the prompts are scanned.
        reference: labelled reference data (a :func:`hubaudit.data.load_labelled_images` source)
            with 0..K-1 columns named like every S and Y.
        confidence: level of every interval, and 1 - the false-discovery rate of BH.
        max_dp_gap: a finding when the generated gap's interval lies above this.
        max_gap_increase: a finding when the gap's excess over the reference's or the declared
            gap has its interval above this.
        probe: with reference data, train and compare the downstream probes.
    """

    sensitive: tuple[str, ...]
    labels: tuple[str, ...] = (DEFAULT_LABEL,)
    label_map: Mapping[int, int] | None = None
    label_prompts: Mapping[str, int] | None = None
    reference: str | None = None
    confidence: float = 0.95
    max_dp_gap: float = DEFAULT_MAX_DP_GAP
    max_gap_increase: float = DEFAULT_MAX_GAP_INCREASE
    probe: bool = True

    def __post_init__(self) -> None:
        if not self.sensitive or not self.labels:
            raise InvalidFairnessOptions("the fairness audit needs at least one --sensitive and one --label name")
        if set(self.sensitive) & set(self.labels):
            raise InvalidFairnessOptions(f"{sorted(set(self.sensitive) & set(self.labels))[0]} is named both --sensitive and --label")
        for flag, value in {"--max-dp-gap": self.max_dp_gap, "--max-gap-increase": self.max_gap_increase}.items():
            if not 0.0 <= value < 1.0:
                raise InvalidFairnessOptions(f"{flag} must lie in [0, 1), got {value}")

    @classmethod
    def from_arguments(cls, sensitive: Sequence[str] | None, **options) -> FairnessOptions | None:
        """The options the CLI/API arguments give; None (no fairness audit) without ``sensitive``.

        ``options`` are the other fields; those left None take their defaults.
        """
        given = {name: value for name, value in options.items() if value is not None}
        if not sensitive:
            flags = {"labels": "--label", "label_map": "--label-map", "label_prompts": "--label-prompt", "reference": "--reference",
                     "max_dp_gap": "--max-dp-gap", "max_gap_increase": "--max-gap-increase"}
            asked = sorted(flag for name, flag in flags.items() if name in given)
            if asked:
                raise InvalidFairnessOptions(f"{asked[0]} belongs to the fairness audit, which needs --sensitive NAME")
            return None
        if "labels" in given:
            given["labels"] = tuple(given["labels"])
        return cls(tuple(sensitive), **given)

    def command_words(self) -> list[str]:
        """The ``hubaudit scan`` flags that give these options (``--confidence`` belongs to the property flags)."""
        words = [word for name in self.sensitive for word in ("--sensitive", name)]
        if self.labels != (DEFAULT_LABEL,):
            words += [word for name in self.labels for word in ("--label", name)]
        if self.label_map is not None:
            words += ["--label-map", ",".join(f"{key}={value}" for key, value in self.label_map.items())]
        words += [word for prompt, value in (self.label_prompts or {}).items() for word in ("--label-prompt", f"{value}={prompt}")]
        optional = {
            "--reference": self.reference,
            "--max-dp-gap": self.max_dp_gap if self.max_dp_gap != DEFAULT_MAX_DP_GAP else None,
            "--max-gap-increase": self.max_gap_increase if self.max_gap_increase != DEFAULT_MAX_GAP_INCREASE else None,
        }
        words += [word for flag, value in optional.items() if value is not None for word in (flag, str(value))]
        return words + ([] if self.probe else ["--no-probe"])


def gap_difference(generated: ShareEstimate, baseline: ShareEstimate | float) -> ShareEstimate:
    """``generated - baseline`` gap with a MOVER interval (Zou & Donner 2008) built from the two intervals.

    A float ``baseline`` (a declared gap) is taken as exact: the interval is ``generated``'s, shifted.
    """
    base = baseline if isinstance(baseline, ShareEstimate) else ShareEstimate(baseline, baseline, baseline, "declared", 0, generated.confidence)
    difference = generated.value - base.value
    low = difference - math.hypot(generated.value - generated.low, base.high - base.value)
    high = difference + math.hypot(generated.high - generated.value, base.value - base.low)
    return ShareEstimate(difference, low, high, "mover", generated.n + base.n, generated.confidence)


@dataclass(frozen=True)
class Verdict:
    """Whether a pair is a finding, and why (one sentence for the report and the terminal)."""

    finding: bool
    reason: str


def _interval_text(estimate: ShareEstimate) -> str:
    return f"{estimate.value:.2f} [{estimate.low:.2f}, {estimate.high:.2f}]"


@dataclass
class PairSignature:
    """Everything measured for one (S, Y) pair; ``verdict`` is set once BH has run over all pairs.

    ``corrected`` holds the statistics corrected for the S annotator's errors (or why there are
    none); the verdict judges the corrected gap when it is defined, the annotated one otherwise.
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
    verdict: Verdict | None = None

    @property
    def key(self) -> str:
        return f"{self.sensitive}/{self.label}"

    @property
    def gap_difference(self) -> ShareEstimate | None:
        """Annotated generated gap minus the reference's, when reference data was given and the gap is defined."""
        return self._excesses(self.generated.dp_gap)["the reference's"]

    @property
    def declared_gap_difference(self) -> ShareEstimate | None:
        """Annotated generated gap minus the gap the model card declares, when it declares one and the gap is defined."""
        return self._excesses(self.generated.dp_gap)["the declared"]

    @property
    def corrected_gap(self) -> ShareEstimate | None:
        """The generated gap corrected for the annotator's errors, when it could be computed and is defined."""
        return self.corrected.gap.dp_gap if self.corrected is not None and self.corrected.gap is not None else None

    def _excesses(self, gap: ShareEstimate | None) -> dict[str, ShareEstimate | None]:
        """``gap`` minus the reference's and the declared gap (None where a baseline or ``gap`` is missing)."""
        baselines = {"the reference's": self.reference and self.reference.dp_gap, "the declared": self.declared and self.declared.dp_gap}
        return {whose: gap_difference(gap, base) if gap is not None and base is not None else None for whose, base in baselines.items()}

    def _judged_gap(self) -> tuple[ShareEstimate | None, str]:
        """The gap the verdict judges (corrected when defined, else annotated) and how the verdict words it."""
        annotated = self.generated.dp_gap
        annotated_text = _interval_text(annotated) if annotated is not None else "undefined"
        if self.corrected_gap is not None:
            return self.corrected_gap, (
                f"the demographic-parity gap of the generated data, corrected for the annotator's errors "
                f"({self.corrected.confusions.source}), is {_interval_text(self.corrected_gap)} (as annotated: {annotated_text})"
            )
        said = f"the demographic-parity gap of the generated data is {annotated_text}"
        return annotated, said + (" as annotated (not corrected for annotator errors)" if self.corrected is not None else "")

    def _never_generated(self) -> str | None:
        """The sentence naming the sensitive groups the model never generated, or None.

        A group is never generated when no sample was annotated with it, or, with the correction,
        when its corrected share is 0 under both label values (as many samples were annotated with
        it as the annotator's errors alone produce).
        """
        n = int(self.generated.table.sum())
        if self.generated.empty_groups:
            return f"sensitive group(s) {', '.join(map(repr, self.generated.empty_groups))} never generated: none of the {n} samples was annotated so"
        absent = self.corrected.gap.absent_groups if self.corrected is not None and self.corrected.gap is not None else ()
        if not absent:
            return None
        counts = self.generated.table.sum(axis=1)
        annotated = ", ".join(f"{counts[self.group_names.index(name)]} as {name!r}" for name in absent)
        return (
            f"sensitive group(s) {', '.join(map(repr, absent))} never generated as far as the annotator's errors tell: of the "
            f"{n} samples, {annotated}, no more than its errors explain (corrected share 0 under both label values)"
        )

    def judge(self, *, adjusted_p_value: float, confidence: float, max_dp_gap: float, max_gap_increase: float) -> Verdict:
        """The finding and its reason (the report's ``verdict``); a never-generated group is a finding by itself."""
        gap, said = self._judged_gap()
        missing = self._never_generated()
        if missing:
            return Verdict(True, f"{missing}; {said}")
        above = [
            f"it exceeds {whose} gap by {_interval_text(excess)}, more than {max_gap_increase:.2f}"
            for whose, excess in self._excesses(gap).items()
            if excess is not None and excess.low > max_gap_increase
        ]
        if gap.low > max_dp_gap:
            above.insert(0, f"above {max_dp_gap:.2f}")
        if not above:
            return Verdict(False, f"{said}: not above {max_dp_gap:.2f} (nor above a baseline by more than {max_gap_increase:.2f})")
        if adjusted_p_value > 1 - confidence:
            test = self.generated.tests.method
            return Verdict(False, f"{said}, but S and Y are not significantly dependent (BH-adjusted {test} p = {adjusted_p_value:.3g})")
        return Verdict(True, f"{said}, {'; '.join(above)}")

    def to_dict(self) -> dict:
        by_source = {"generated": self.generated.to_dict()}
        if self.reference is not None:
            by_source["reference"] = self.reference.to_dict()
        if self.declared is not None:
            declared_excess = self.declared_gap_difference
            by_source["declared"] = {**self.declared.to_dict(), "gap_difference": declared_excess and declared_excess.to_dict()}
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
            if self.corrected_gap is not None:
                excesses = self._excesses(self.corrected_gap)
                named = {"gap_difference": excesses["the reference's"], "declared_gap_difference": excesses["the declared"]}
                out["corrected"] |= {key: excess.to_dict() for key, excess in named.items() if excess is not None}
        if self.probe is not None:
            out["probe"] = self.probe.to_dict()
        out["verdict"] = {"finding": self.verdict.finding, "reason": self.verdict.reason}
        return out


@dataclass
class FairnessSignature:
    """The ``fairness`` report section: the first (S, Y) pair at the top level, the others in ``other_pairs``."""

    pairs: list[PairSignature]
    adjusted_p_values: dict[str, float]
    options: FairnessOptions
    notes: list[str] = field(default_factory=list)

    def findings(self) -> list[dict]:
        """The report's ``findings`` entries (kind ``fairness``), one per pair with a finding."""
        return [{"kind": "fairness", "message": f"{pair.key}: {pair.verdict.reason}"} for pair in self.pairs if pair.verdict.finding]

    def to_dict(self) -> dict:
        first, *others = self.pairs
        out = {
            **first.to_dict(),
            "confidence": self.options.confidence,
            "threshold": self.options.max_dp_gap,
            "max_gap_increase": self.options.max_gap_increase,
            "adjusted_p_values": self.adjusted_p_values,
            "notes": self.notes,
        }
        if others:
            out["other_pairs"] = [pair.to_dict() for pair in others]
        return out


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
    confusions: Mapping[tuple[str, str], LabelConfusions] | None = None,
    seed: int = 0,
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
        confusions: (S name, Y name) -> the S annotator's confusion counts per label value
            (:func:`hubaudit.audit.fairness_correction.label_confusions`, or counted on gold labels
            of generated samples); a pair without one, or whose Y is annotated, is not corrected.
        seed: seeds the probe's split and bootstrap and the corrected intervals' draws.

    A sensitive group that is never generated (no sample annotated with it, or, corrected, no more
    than the annotator's errors explain) is a finding; its rate and the gap are then undefined and
    the rest is computed. A table too sparse for a chi-square test gets an exact test.

    Raises:
        InvalidAttributeSpec: a ``--sensitive`` or annotated ``--label`` names no ``--attribute``.
        InvalidLabelMapping: a label cannot be read off the conditions, or an annotated one is not binary.
        InvalidData: the reference lacks a column or holds values out of range.
        EmptyGroup: a sensitive group has no records in the reference.
        TooFewSamples: the probe lacks records (a reference cell, or a label value of the samples).
    """
    codes, label_sources = _generated_codes(kind, conditions, probabilities, attribute_values, options)
    notes = []
    if any(source != "annotated" for source in label_sources.values()):
        notes.append(
            "Y read off the class or prompt: its balance is set by the samples drawn per condition, "
            "as in a receiver's training set drawn the same way"
        )
    notes.append(
        "S (and an annotated Y) are annotator labels. Annotator errors that are the same for every Y value shrink the "
        "measured gap towards 0; errors that differ by Y value (e.g. by class) can shrink it or invent one. With Y read "
        "off the conditions and a calibrated S annotator, 'corrected' holds P(S|Y) and the gap corrected with the "
        "annotator's confusion matrix per label value ('per-class calibration', or gold labels on generated samples) "
        "or its one overall matrix ('overall calibration', which removes only errors that do not depend on Y); the "
        "verdict judges the corrected gap when it is defined, the annotated one otherwise"
    )
    notes.append(
        "The independence test is on the annotated table; with errors that differ by Y value it can find a dependence "
        "that the true S and Y do not have, so a finding also needs the (corrected) gap's interval above the threshold "
        "or a baseline"
    )
    pairs = []
    for sensitive, label in product(options.sensitive, options.labels):
        group_names = attribute_values[sensitive]
        statistics = {"group_names": group_names, "confidence": options.confidence}
        pair = PairSignature(
            sensitive, label, label_sources[label], group_names, source_signature(codes[sensitive], codes[label], **statistics),
        )
        pair.corrected = correct_pair(
            pair.generated.table, (confusions or {}).get((sensitive, label)), sensitive=sensitive,
            label_annotated=label_sources[label] == "annotated", seed=seed, **statistics,
        )
        if reference is not None:
            pair.reference, reference_codes = reference_signature(reference, sensitive=sensitive, label=label, **statistics)
            if images is not None and options.probe:
                pair.probe = probe_downstream(
                    np.concatenate(images), codes[label], (reference.images, *reference_codes),
                    group_names=group_names, confidence=options.confidence, seed=seed,
                )
        declared = declared_positive_rates(card or {}, sensitive=sensitive, label=label, group_names=group_names)
        pair.declared = DeclaredRates(declared) if declared is not None else None
        pairs.append(pair)
    _, adjusted = benjamini_hochberg([pair.generated.tests.p_value for pair in pairs], false_discovery_rate=1 - options.confidence)
    for pair, p_value in zip(pairs, adjusted):
        pair.verdict = pair.judge(
            adjusted_p_value=p_value, confidence=options.confidence,
            max_dp_gap=options.max_dp_gap, max_gap_increase=options.max_gap_increase,
        )
    return FairnessSignature(pairs, {pair.key: float(p) for pair, p in zip(pairs, adjusted)}, options, notes)


def _generated_codes(
    kind: str,
    conditions: Sequence[Condition],
    probabilities: Mapping[str, Sequence[np.ndarray]],
    attribute_values: Mapping[str, tuple[str, ...]],
    options: FairnessOptions,
) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Per S and Y name, ``int64 [N]`` codes of all samples (conditions concatenated), and where each Y came from."""
    check_sensitive_names(options, probabilities)
    sizes = [len(batch) for batch in probabilities[options.sensitive[0]]]
    codes = {name: np.concatenate(probabilities[name]).argmax(axis=1) for name in (*options.sensitive, *options.labels) if name in probabilities}
    sources = {}
    for label in options.labels:
        if label in probabilities:
            if len(attribute_values[label]) != 2:
                raise InvalidLabelMapping(f"--label {label}: the label must be binary, the attribute has values {list(attribute_values[label])}")
            sources[label] = "annotated"
            continue
        by_condition = condition_labels(conditions, kind=kind, label_map=options.label_map, label_prompts=options.label_prompts)
        codes[label] = np.repeat([by_condition[condition] for condition in conditions], sizes)
        sources[label] = "; ".join(f"{condition!r} -> {value}" for condition, value in by_condition.items())
    return codes, sources


def check_sensitive_names(options: FairnessOptions, attribute_names: Iterable[str]) -> None:
    """Raise :class:`InvalidAttributeSpec` unless every ``--sensitive`` name is an annotated attribute."""
    missing = [name for name in options.sensitive if name not in set(attribute_names)]
    if missing:
        raise InvalidAttributeSpec(f"--sensitive {missing[0]}: no --attribute {missing[0]}=SPEC annotates it")
