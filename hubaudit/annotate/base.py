"""What every annotator shares: the attribute, batched prediction, calibration, saving.

An annotator maps images ``uint8 [N, H, W, C]`` (C = 1, 3 or 4, any size) to probabilities
``float64 [N, K]`` over the K values of one :class:`Attribute`; column ``k`` is the
probability of ``attribute.values[k]``, so for a 0/1 data column, column 1 is "the attribute
holds". Its optional ``confusion`` matrix (counts ``int64 [K, K]``, rows = true value,
columns = predicted value) comes from labelled data it was not trained on; when it was counted
here (:meth:`Annotator.calibrate`), ``calibration_records`` keeps those records' values so that
it can be counted again within a subgroup (e.g. per label value, for the fairness audit).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from sklearn.metrics import confusion_matrix

from hubaudit.data import LabelledImages
from hubaudit.errors import (
    AnnotationFailed,
    HubAuditError,
    InvalidAnnotatorOption,
    InvalidAttributeSpec,
    InvalidData,
    first_line,
)

CONFIG_FILE = "annotator.json"
WEIGHTS_FILE = "model.safetensors"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Attribute:
    """A named attribute with K >= 2 distinct values (K = 2: binary; more: categorical)."""

    name: str
    values: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.name:
            raise InvalidAttributeSpec("an attribute needs a name")
        if len(self.values) < 2 or len(set(self.values)) != len(self.values) or not all(self.values):
            raise InvalidAttributeSpec(
                f"attribute {self.name!r} needs at least 2 distinct non-empty values, got {list(self.values)}"
            )

    @classmethod
    def from_value_names(cls, name: str, value_names: Iterable[str]) -> Attribute:
        """The attribute whose values are ``value_names`` in first-seen order, duplicates dropped.

        Names that are exactly ``"0" .. "K-1"`` are put in numeric order, so that value ``k``
        lines up with the value ``k`` of a data column.
        """
        values = tuple(dict.fromkeys(value_names))
        if sorted(values) == sorted(str(k) for k in range(len(values))):
            values = tuple(str(k) for k in range(len(values)))
        return cls(name, values)

    def to_json(self) -> dict:
        return {"name": self.name, "values": list(self.values)}


@dataclass(frozen=True)
class CalibrationRecords:
    """The records a confusion matrix was counted on, without their images.

    ``true_values`` and ``predicted_values`` are value indices ``int64 [M]``; ``columns`` holds the
    calibration data's other columns at those records (name -> ``int64 [M]``).
    """

    true_values: np.ndarray
    predicted_values: np.ndarray
    columns: dict[str, np.ndarray]


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``device`` as a torch device; None picks cuda, then mps, then cpu."""
    if device is not None:
        return torch.device(device)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def validated_images(images: np.ndarray) -> np.ndarray:
    """``images`` checked to be ``uint8 [N, H, W, C]`` with C in 1, 3, 4."""
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] not in (1, 3, 4):
        raise InvalidData(f"images must be uint8 [N, H, W, C] with C = 1, 3 or 4, got {images.dtype} {images.shape}")
    return images


def as_rgb(images: np.ndarray) -> np.ndarray:
    """``uint8 [N, H, W, 3]``: grey repeated into 3 channels, alpha dropped."""
    if images.shape[-1] == 1:
        return np.repeat(images, 3, axis=-1)
    return images[..., :3]


def value_labels(data: LabelledImages, column: str, *, value_count: int | None = None) -> np.ndarray:
    """Column ``column`` of ``data`` as ``int64 [N]`` value indices ``0 .. K-1``.

    With ``value_count`` the values must lie in ``0 .. value_count-1``; without it, K is the
    largest value + 1, K >= 2, and every value in ``0 .. K-1`` must occur.
    """
    if column not in data.columns:
        data.column(column)  # raises InvalidData naming the columns there are
    raw = np.asarray(data.columns[column])
    what = f"{data.source or 'data'}: column {column!r}"
    if raw.dtype.kind not in "biuf" or (raw.dtype.kind == "f" and not np.array_equal(raw, np.round(raw))):
        raise InvalidData(f"{what} must hold integer values 0..K-1, found {raw.dtype} values")
    labels = raw.astype(np.int64)
    present = np.unique(labels)
    if value_count is not None:
        if present.min() < 0 or present.max() >= value_count:
            raise InvalidData(f"{what} must hold values 0..{value_count - 1}, found {present.tolist()[:10]}")
    elif present.min() != 0 or present.max() < 1 or len(present) != present.max() + 1:
        raise InvalidData(f"{what} must hold every value 0..K-1 for some K >= 2, found {present.tolist()[:10]}")
    return labels


class Annotator(ABC):
    """Images -> probabilities over ``attribute.values``, batched on ``device``.

    Subclasses set ``kind`` (the ``type`` in the saved config), implement ``_predict_batch``,
    ``description`` and ``_config``, and save weights in ``_save_weights`` when they own any.
    """

    kind: ClassVar[str]

    def __init__(self, attribute: Attribute, *, device: str | torch.device | None, confusion: np.ndarray | None):
        self.attribute = attribute
        self.device = resolve_device(device)
        self.confusion = confusion
        self.calibration_records: CalibrationRecords | None = None
        """The records ``confusion`` was counted on, when :meth:`calibrate` counted it; None otherwise."""
        self.calibration: str | None = None if confusion is None else "supplied with the annotator"
        """Where ``confusion`` was measured (records, source, column), for reports; None if uncalibrated."""
        self.compute_dtype: torch.dtype | None = None
        """Run the model under autocast in this dtype (the scan's half precision on a GPU); None: float32."""

    @property
    def confusion(self) -> np.ndarray | None:
        """Counts ``int64 [K, K]`` (rows = true value, columns = predicted value), or None if uncalibrated."""
        return self._confusion

    @confusion.setter
    def confusion(self, counts: np.ndarray | None) -> None:
        if counts is not None:
            counts = np.asarray(counts)
            size = len(self.attribute.values)
            if counts.shape != (size, size) or (counts < 0).any() or not np.array_equal(counts, np.round(counts)):
                raise InvalidData(
                    f"confusion matrix for {self.attribute.name!r} must be non-negative counts [{size}, {size}], got {counts.shape}"
                )
            counts = counts.astype(np.int64)
        self._confusion = counts
        self.calibration_records = None  # a confusion matrix set directly has no records here

    @property
    def accuracy(self) -> float | None:
        """Share of correct predictions in the confusion matrix, or None if uncalibrated."""
        if self._confusion is None or self._confusion.sum() == 0:
            return None
        return float(np.trace(self._confusion) / self._confusion.sum())

    @property
    @abstractmethod
    def description(self) -> str:
        """One line for reports: what model, which prompts or labels, where calibrated."""

    @abstractmethod
    def _predict_batch(self, images: np.ndarray) -> torch.Tensor:
        """Logits or log-probabilities ``[n, K]`` for one batch of validated images."""

    @abstractmethod
    def _config(self) -> dict:
        """The JSON fields (besides type, attribute, confusion) that rebuild this annotator."""

    def _save_weights(self, directory: Path) -> None:
        """Write the weights the annotator owns into ``directory`` (none by default)."""

    def predict_proba(self, images: np.ndarray, *, batch_size: int = 64) -> np.ndarray:
        """Probabilities ``float64 [N, K]`` (rows sum to 1) for images ``uint8 [N, H, W, C]``."""
        images = validated_images(images)
        if batch_size < 1:
            raise InvalidAnnotatorOption(f"batch_size must be >= 1, got {batch_size}")
        batches = []
        autocast = torch.autocast(self.device.type, dtype=self.compute_dtype, enabled=self.compute_dtype is not None)
        with torch.inference_mode(), autocast:
            for start in range(0, len(images), batch_size):
                try:
                    scores = self._predict_batch(images[start : start + batch_size])
                except HubAuditError:
                    raise
                except Exception as err:  # the model's own error: one line naming the annotator
                    raise AnnotationFailed(self.description, first_line(err)) from err
                batches.append(scores.cpu().double().softmax(dim=1).numpy())  # float64 on the CPU: mps has none
        if not batches:
            return np.zeros((0, len(self.attribute.values)))
        return np.concatenate(batches)

    def calibrate(self, data: LabelledImages, column: str, *, batch_size: int = 64) -> np.ndarray:
        """Set and return ``confusion`` from ``data``'s images and 0..K-1 ``column`` (held-out data only);
        ``calibration_records`` keeps the true and predicted values and ``data``'s other columns."""
        labels = value_labels(data, column, value_count=len(self.attribute.values))
        predicted = self.predict_proba(data.images, batch_size=batch_size).argmax(axis=1)
        self.confusion = confusion_matrix(labels, predicted, labels=range(len(self.attribute.values)))
        others = {name: np.asarray(values) for name, values in data.columns.items() if name != column}
        self.calibration_records = CalibrationRecords(labels, predicted.astype(np.int64), others)
        self.calibration = f"{len(data)} records of {data.source or 'labelled data'} (column {column})"
        return self.confusion

    def save(self, directory: str | Path) -> Path:
        """Write ``annotator.json`` (and ``model.safetensors`` where the annotator owns weights)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        config = {
            "format_version": FORMAT_VERSION,
            "type": self.kind,
            "attribute": self.attribute.to_json(),
            "confusion": None if self._confusion is None else self._confusion.tolist(),
            **self._config(),
        }
        (directory / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n")
        self._save_weights(directory)
        return directory
