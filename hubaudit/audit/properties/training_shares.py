"""What the sharer's training data says for a self-audit: each attribute's training share over the scanned
conditions, and the conditions' own training shares (read off a column that gives each record's class or prompt).

A model scanned with equal samples per condition generates the equal-weight mixture of its conditions; the
training share is the mixture weighted as the training set was. The column that gives each record's condition
is the first of :data:`CLASS_COLUMNS` (class ids) or :data:`PROMPT_COLUMNS` (prompts) in which every scanned
condition occurs; records of conditions not scanned are left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

CLASS_COLUMNS = ("class", "label")
"""Training-data columns that may give each record's class id (the first in which every scanned class occurs)."""
PROMPT_COLUMNS = ("prompt",)
"""Training-data columns that may give each record's prompt (text-to-image)."""


@dataclass(frozen=True)
class TrainingShares:
    """What the sharer's training data says of one attribute over the scanned conditions.

    Attributes:
        shares: ``float [K]`` share of each value among the training records (those of the scanned
            conditions when ``column`` gives each record's condition).
        condition_weights: ``float [C]`` share of each scanned condition among those records, or None
            when no column gives it.
        column: the training-data column the conditions were read from, or None.
        note: why no column applies, or what was left out; None when there is nothing to say.
    """

    shares: np.ndarray
    condition_weights: np.ndarray | None = None
    column: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class TrainingRecords:
    """The sharer's training data without its images: each attribute's value codes ``int [N]`` and the columns
    (:data:`CLASS_COLUMNS`, :data:`PROMPT_COLUMNS`) that may give each record's condition, ``[N]`` each."""

    labels: dict[str, np.ndarray]
    conditions: dict[str, np.ndarray] = field(default_factory=dict)

    def shares(self, attribute: str, value_count: int, conditions: list) -> TrainingShares:
        """The training shares of ``attribute``'s values over the scanned ``conditions`` (class ids, prompts, or
        ``[None]``), weighted as the first column that holds every scanned condition says."""
        codes = self.labels[attribute]
        whole = np.bincount(codes, minlength=value_count) / len(codes)
        if conditions == [None]:
            return TrainingShares(whole)
        names = PROMPT_COLUMNS if all(isinstance(condition, str) for condition in conditions) else CLASS_COLUMNS
        lacking = []
        for name in (name for name in names if name in self.conditions):
            column = np.asarray(self.conditions[name], dtype=object)
            missing = [condition for condition in conditions if not np.any(column == condition)]
            if missing:
                lacking.append(f"column {name!r} has no record of {', '.join(map(repr, missing[:3]))}")
                continue
            scanned = np.isin(column, np.asarray(conditions, dtype=object))
            weights = np.array([np.mean(column[scanned] == condition) for condition in conditions])
            left_out = int(len(codes) - scanned.sum())
            note = f"{left_out} training records of conditions not scanned are left out" if left_out else None
            return TrainingShares(
                np.bincount(codes[scanned], minlength=value_count) / scanned.sum(), weights, name, note
            )
        wanted = " or ".join(repr(name) for name in names)
        what = "prompt" if names is PROMPT_COLUMNS else "class id"
        note = f"the training data has no column {wanted} giving each record's {what}"
        if lacking:
            note = f"no training column gives each record's {what} ({'; '.join(lacking)})"
        return TrainingShares(whole, note=note)


def condition_column_hint(conditions: list) -> str:
    """Which training-data column would give each record's condition, in words."""
    if all(isinstance(condition, str) for condition in conditions):
        return "a column 'prompt' holding each record's prompt"
    return "a column 'class' (or 'label') holding each record's class id"
