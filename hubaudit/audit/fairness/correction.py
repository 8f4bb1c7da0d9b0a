"""The fairness signature's correction for the S annotator's errors, condition by condition.

An annotator whose errors depend on the class (or prompt) biases P(S | Y = y) differently for each
condition, so its one overall confusion matrix cannot undo them. :func:`condition_calibrations`
chooses, per scanned condition, the best confusion counts there are, in this order:

1. ``"gold labels on generated samples"``: the annotator's confusion on the condition's own samples
   that a person labelled (``hubaudit label``; a uniform random subset, so the confusion holds for the
   rest of its samples whatever the shift between calibration and generated images); the annotated
   counts of the samples *without* a gold label are corrected with it. When a value has no gold
   label (a gold row is empty: evidence that the group is absent) or the confusion is too close to
   singular to invert, ``"gold labels alone"``: the gold labels are the condition's sample of true S.
   (Prediction-powered shares, :func:`~hubaudit.stats.ppi.ppi_shares`, are as free of that shift,
   but give each value a marginal CLT interval; the gold confusion enters the same joint draws as
   a calibration, which carry P(S | Y), P(Y=1 | S) and the gap together, and an empty row gives
   the exact bound of an absent group.)
2. ``"per-class calibration"``: the annotator's calibration records (never records it trained on)
   of this class: those whose column named like Y holds the class id, or, for a 0/1 column, the label
   value when the label has this condition alone; ``"per-label calibration"`` when a 0/1 column pools
   a label's several classes in the calibration data's proportions.
3. ``"overall calibration"``: its one matrix, which removes only errors that do not depend on the class.

:func:`correct_pair` turns one pair's per-condition annotations into corrected P(S | Y), P(Y=1 | S)
and the parity gap (:mod:`hubaudit.stats.corrected_gap`); :func:`annotated_counts` gives the counts of the same
statistics of the annotations taken as they are, which the verdict judges when nothing corrects them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from hubaudit.annotate.base import Annotator
from hubaudit.errors import ClassifierNoBetterThanChance, TooFewSamples
from hubaudit.sampling import Condition
from hubaudit.stats.corrected_gap import ConditionCounts, CorrectedGap, corrected_parity_gap
from hubaudit.stats.correction import check_correctable, confusion_rates, confusion_shift_p_value
from hubaudit.stats.ppi import gold_confusion

CalibrationSource = Literal[
    "gold labels on generated samples",
    "gold labels alone",
    "per-class calibration",
    "per-label calibration",
    "overall calibration",
]
"""Where one condition's correction comes from (module docstring)."""
REMOVES_CLASS_DEPENDENT_ERROR = ("gold labels on generated samples", "gold labels alone", "per-class calibration")
"""The sources whose correction holds whatever the annotator's errors do from class to class."""


@dataclass(frozen=True)
class ConditionCalibration:
    """How the S annotations of one condition's samples are corrected.

    ``confusion``: ``int [K, K]`` counts (rows true S, columns annotated S), None for gold labels
    alone; ``gold_indices``, ``gold_codes``: ``int64 [m]`` samples with a gold label and their true
    S codes (left out of the annotated counts when they correct them); ``description``: the records in words;
    ``shared_key``: names a calibration several conditions share (one draw of it serves all of them), None
    when it is the condition's own; ``shift_p_value``: with gold labels and calibration records, the p-value
    of "the annotator errs on this condition's generated samples as on its records" (None: not tested).
    """

    source: CalibrationSource
    description: str
    confusion: np.ndarray | None = None
    gold_indices: np.ndarray | None = None
    gold_codes: np.ndarray | None = None
    shared_key: str | None = None
    shift_p_value: float | None = None

    def counts(self, annotated: np.ndarray, value_count: int) -> np.ndarray:
        """The S counts ``int [K]`` the correction uses, from the condition's annotated codes ``int [n]``."""
        if self.source == "gold labels alone":
            return np.bincount(self.gold_codes, minlength=value_count)
        kept = np.ones(len(annotated), dtype=bool)
        if self.gold_indices is not None:
            kept[self.gold_indices] = False
        return np.bincount(annotated[kept], minlength=value_count)

    def to_dict(self, condition: Condition, label: int) -> dict:
        return {
            "condition": condition,
            "label": label,
            "source": self.source,
            "description": self.description,
            "confusion": None if self.confusion is None else self.confusion.tolist(),
            "calibration_shift_p_value": self.shift_p_value,
        }


def condition_calibrations(
    annotator: Annotator,
    *,
    label: str,
    conditions: Sequence[Condition],
    condition_labels: Mapping[Condition, int],
    kind: str,
    annotated: Sequence[np.ndarray],
    gold: Sequence[tuple[np.ndarray, np.ndarray] | None],
) -> list[ConditionCalibration | None]:
    """Per condition, the best correction of the S annotator's errors (module docstring), None where there is none.

    Args:
        label: the name of Y (the calibration records' column to split by).
        condition_labels: each condition's Y value.
        kind: the model kind; a class-conditional model's class ids may index the records' column.
        annotated: per condition the annotator's codes ``int [n]`` of the samples the audit uses.
        gold: per condition ``(indices, codes)`` of its gold-labelled samples among those, or None.
    """
    values = annotator.attribute.values
    per_label = {y: sum(1 for condition in conditions if condition_labels[condition] == y) for y in (0, 1)}
    found = []
    for condition, codes, labelled in zip(conditions, annotated, gold):
        y = condition_labels[condition]
        records = (
            None
            if annotator.confusion is None
            else _records_calibration(annotator, label, condition, y, kind=kind, alone=per_label[y] == 1)
        )
        if labelled is not None and len(labelled[0]):
            gold = gold_calibration(*labelled, codes, len(values))
            if records is not None:  # the assumption the records' correction rests on, tested on the gold labels
                shift = confusion_shift_p_value(
                    gold_confusion(labelled[1], codes[labelled[0]], value_count=len(values)), records.confusion
                )
                gold = replace(gold, shift_p_value=shift)
            found.append(gold)
        else:
            found.append(records)
    return found


def gold_calibration(
    indices: np.ndarray, truth: np.ndarray, annotated: np.ndarray, value_count: int
) -> ConditionCalibration:
    """Gold labels ``truth`` (codes ``int [m]``) of a condition's samples ``indices`` (``int [m]``) among its annotated
    codes ``int [n]``: the annotator's confusion on them, or the gold labels alone (saying why)."""
    samples = len(annotated)
    confusion = gold_confusion(truth, annotated[indices], value_count=value_count)
    described = f"{len(indices)} gold labels of its {samples} samples"
    empty = [str(k) for k, total in enumerate(confusion.sum(axis=1)) if total == 0]
    why = f"no gold label has value(s) {', '.join(empty)}" if empty else None
    if why is None and len(indices) == samples:
        why = "every sample has a gold label"
    if why is None:
        try:
            check_correctable(confusion_rates(confusion))
        except ClassifierNoBetterThanChance:
            why = "the annotator's confusion on them is too close to singular to invert"
    if why is not None:
        return ConditionCalibration("gold labels alone", f"{described} ({why})", None, indices, truth)
    return ConditionCalibration("gold labels on generated samples", described, confusion, indices, truth)


def _records_calibration(
    annotator: Annotator, label: str, condition: Condition, y: int, *, kind: str, alone: bool
) -> ConditionCalibration:
    """The annotator's confusion on its calibration records of this condition (by class id or label), else its overall one."""
    records, values, name = annotator.calibration_records, annotator.attribute.values, annotator.attribute.name
    if records is None:
        why = "its calibration records are not known here (a confusion matrix saved with the annotator)"
    elif label not in records.columns:
        why = f"its calibration records have no column {label!r}"
    else:
        column = np.asarray(records.columns[label])
        binary = bool(np.isin(column, (0, 1)).all())
        if binary or kind == "class-conditional":
            wanted, what = (y, f"{label}={y}") if binary else (condition, f"{label}={condition} (class id)")
            selected = column == wanted
            size = len(values)
            cells = np.bincount(
                records.true_values[selected] * size + records.predicted_values[selected], minlength=size * size
            )
            confusion = cells.reshape(size, size)
            missing = [value for value, total in zip(values, confusion.sum(axis=1)) if total == 0]
            if not missing:
                source = "per-class calibration" if alone or not binary else "per-label calibration"
                shared = f"records with {what}" if source == "per-label calibration" else None
                return ConditionCalibration(
                    source,
                    f"{annotator.calibration}, records with {what} ({int(selected.sum())})",
                    confusion,
                    shared_key=shared,
                )
            why = f"its calibration records hold no {name}={missing[0]} with {what}"
        else:
            why = f"column {label!r} of its calibration records is neither 0/1 nor a class id"
    return ConditionCalibration(
        "overall calibration",
        f"{annotator.calibration}; not per class: {why}",
        annotator.confusion,
        shared_key="overall",
    )


@dataclass(frozen=True)
class CorrectedSignature:
    """One pair's statistics corrected for the S annotator's errors, or why there are none (``unavailable``).

    ``calibrations[i]`` corrects condition ``conditions[i]`` (label ``labels[i]``); ``counts`` are what the
    correction was computed from (the verdict recomputes it at other sample counts to say what would settle it).
    """

    conditions: tuple[Condition, ...] = ()
    labels: tuple[int, ...] = ()
    calibrations: tuple[ConditionCalibration, ...] = ()
    gap: CorrectedGap | None = None
    unavailable: str | None = None
    counts: tuple[ConditionCounts, ...] = ()

    @property
    def removes_class_dependent_error(self) -> bool:
        """Whether every condition's correction holds whatever the annotator's errors do from class to class."""
        return all(calibration.source in REMOVES_CLASS_DEPENDENT_ERROR for calibration in self.calibrations)

    @property
    def source(self) -> str:
        """The conditions' calibration source in words: one source, or each label's."""
        by_label = self.sources_by_label()
        if len(set(by_label.values())) == 1:
            return by_label["0"]
        return "; ".join(f"Y={y}: {source}" for y, source in by_label.items())

    def sources_by_label(self) -> dict[str, str]:
        """Label value -> the calibration source of its conditions (joined with ' + ' when they differ)."""
        return {
            str(y): " + ".join(
                dict.fromkeys(c.source for c, label in zip(self.calibrations, self.labels) if label == y)
            )
            for y in (0, 1)
        }

    def to_dict(self) -> dict:
        if self.unavailable is not None:
            return {"unavailable": self.unavailable}
        confusion_by_label = {}
        for y in (0, 1):
            matrices = [
                c.confusion
                for c, label in zip(self.calibrations, self.labels)
                if label == y and c.confusion is not None
            ]
            confusion_by_label[str(y)] = np.sum(matrices, axis=0).tolist() if matrices else None
        return {
            "confusion": self.source,
            "calibration": "; ".join(dict.fromkeys(calibration.description for calibration in self.calibrations)),
            "calibration_by_label": self.sources_by_label(),
            "calibration_by_condition": [
                calibration.to_dict(condition, label)
                for condition, label, calibration in zip(self.conditions, self.labels, self.calibrations)
            ],
            "class_dependent_error_removed": self.removes_class_dependent_error,
            "confusion_by_label": confusion_by_label,
            **self.gap.to_dict(),
        }


def correct_pair(
    annotated: Sequence[np.ndarray],
    calibrations: Sequence[ConditionCalibration | None] | None,
    *,
    conditions: Sequence[Condition],
    labels: Sequence[int],
    sensitive: str,
    label_annotated: bool,
    group_names: Sequence[str],
    confidence: float,
    seed: int,
) -> CorrectedSignature:
    """The corrected signature of one pair from its per-condition annotated S codes ``int [n_c]``, or why there is none."""
    if label_annotated:
        return CorrectedSignature(
            unavailable=(
                "Y is annotated too: correcting both needs the joint confusion of the S and Y annotators, which is not measured"
            )
        )
    if calibrations is None or all(calibration is None for calibration in calibrations):
        return CorrectedSignature(
            unavailable=f"the annotator of {sensitive} is not calibrated (no confusion matrix) and no gold labels were given"
        )
    missing = [condition for condition, calibration in zip(conditions, calibrations) if calibration is None]
    if missing:
        return CorrectedSignature(
            unavailable=(
                f"condition {missing[0]!r} has no gold labels and the annotator of {sensitive} is not calibrated: "
                "every condition needs one or the other"
            )
        )
    counts = [
        ConditionCounts(
            f"condition {condition!r}",
            y,
            len(codes),
            calibration.counts(codes, len(group_names)),
            calibration.confusion,
            calibration.shared_key,
        )
        for condition, y, codes, calibration in zip(conditions, labels, annotated, calibrations)
    ]
    signature = CorrectedSignature(tuple(conditions), tuple(labels), tuple(calibrations))
    try:
        gap = corrected_parity_gap(counts, group_names=group_names, confidence=confidence, random_state=seed)
    except (TooFewSamples, ClassifierNoBetterThanChance) as err:
        return CorrectedSignature(unavailable=f"{signature.source}: {err}")
    return CorrectedSignature(tuple(conditions), tuple(labels), tuple(calibrations), gap, counts=tuple(counts))


def annotated_counts(table: np.ndarray) -> tuple[ConditionCounts, ...]:
    """An annotated ``[G, 2]`` table taken as it is, one stratum per label value; empty when a label value has no
    samples (there is no gap to judge)."""
    columns = tuple(
        ConditionCounts(f"Y={y}", y, int(table[:, y].sum()), table[:, y]) for y in (0, 1) if table[:, y].sum() > 0
    )
    return columns if len(columns) == 2 else ()
