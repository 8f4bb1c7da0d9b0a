"""The fairness signature's correction for the S annotator's errors, per label value.

An annotator whose errors depend on Y biases P(S | Y = y) differently for each y, so its one
overall confusion matrix cannot undo them. :func:`label_confusions` counts the S annotator's
confusion per value of a label column on the records it was calibrated on (its held-out split
when it was trained on the auxiliary data, all of the auxiliary data otherwise: never a record
it trained on), and falls back to the overall confusion matrix, saying why, when those records
are unknown or lack the column. :func:`correct_pair` turns one pair's annotated S x Y table
into corrected P(S | Y), P(Y=1 | S) and parity gap (:mod:`hubaudit.stats.corrected_gap`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from hubaudit.annotate.base import Annotator
from hubaudit.errors import ClassifierNoBetterThanChance, TooFewSamples
from hubaudit.stats.corrected_gap import CorrectedGap, corrected_parity_gap

ConfusionSource = Literal["per-class calibration", "overall calibration", "gold labels on generated samples"]
"""Where a pair's confusion matrices per label value were counted."""


@dataclass(frozen=True)
class LabelConfusions:
    """The S annotator's confusion counts for samples of each label value, ``int64 [2, K, K]``.

    Rows are the true S value, columns the annotated one; ``counts[y]`` holds the records with
    Y = y (for ``"overall calibration"``, the one overall matrix twice). ``calibration``
    describes the records in words.
    """

    counts: np.ndarray
    source: ConfusionSource
    calibration: str

    def to_dict(self) -> dict:
        return {
            "confusion": self.source,
            "calibration": self.calibration,
            "confusion_by_label": {str(label): matrix.tolist() for label, matrix in enumerate(self.counts)},
        }


def label_confusions(annotator: Annotator, label: str) -> LabelConfusions | None:
    """The annotator's confusion per value of the 0/1 column ``label`` of its calibration records
    (``"per-class calibration"``), else its overall confusion for both values; None if uncalibrated.

    Per-class calibration needs records that :meth:`Annotator.calibrate` kept, a 0/1 column
    ``label`` among them, and records of every S value under both label values.
    """
    overall, records = annotator.confusion, annotator.calibration_records
    if overall is None:
        return None
    name, values = annotator.attribute.name, annotator.attribute.values
    if records is None:
        why = "its calibration records are not known here (a confusion matrix saved with the annotator)"
    elif label not in records.columns:
        why = f"its calibration records have no column {label!r}"
    elif not np.isin(records.columns[label], (0, 1)).all():
        why = f"column {label!r} of its calibration records is not 0/1"
    else:
        size = len(values)
        labels = records.columns[label].astype(np.int64)
        cells = np.bincount((labels * size + records.true_values) * size + records.predicted_values, minlength=2 * size * size)
        per_class = cells.reshape(2, size, size)
        missing = [(value, y) for y in (0, 1) for k, value in enumerate(values) if per_class[y, k].sum() == 0]
        if not missing:
            sizes = ", ".join(f"{label}={y}: {int(per_class[y].sum())}" for y in (0, 1))
            return LabelConfusions(per_class, "per-class calibration", f"{annotator.calibration}, split by column {label} ({sizes})")
        value, y = missing[0]
        why = f"its calibration records hold no {name}={value} with {label}={y}"
    return LabelConfusions(np.stack([overall, overall]), "overall calibration", f"{annotator.calibration}; not per class: {why}")


@dataclass(frozen=True)
class CorrectedSignature:
    """One pair's statistics corrected for the S annotator's errors, or why there are none (``unavailable``)."""

    confusions: LabelConfusions | None = None
    gap: CorrectedGap | None = None
    unavailable: str | None = None

    def to_dict(self) -> dict:
        if self.unavailable is not None:
            return {"unavailable": self.unavailable}
        return {**self.confusions.to_dict(), **self.gap.to_dict()}


def correct_pair(
    table: np.ndarray,
    confusions: LabelConfusions | None,
    *,
    sensitive: str,
    label_annotated: bool,
    group_names: Sequence[str],
    confidence: float,
    seed: int,
) -> CorrectedSignature:
    """The corrected signature of an annotated ``[G, 2]`` table, or the reason it cannot be corrected."""
    if label_annotated:
        return CorrectedSignature(unavailable=(
            "Y is annotated too: correcting both needs the joint confusion of the S and Y annotators, which is not measured"
        ))
    if confusions is None:
        return CorrectedSignature(unavailable=f"the annotator of {sensitive} is not calibrated (no confusion matrix)")
    try:
        gap = corrected_parity_gap(table, confusions.counts, group_names=group_names, confidence=confidence, random_state=seed)
    except (TooFewSamples, ClassifierNoBetterThanChance) as err:
        return CorrectedSignature(unavailable=f"{confusions.source}: {err}")
    return CorrectedSignature(confusions, gap)
