"""Annotation with any image-classification model from the Hub, its labels mapped to values.

Each attribute value collects the model's probability on the labels mapped to it; labels not
mapped are dropped and the rest renormalised (a softmax over per-value log-sum-exp logits).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from transformers import AutoImageProcessor, AutoModelForImageClassification

from hubaudit.annotate.base import Attribute
from hubaudit.annotate.pretrained import PretrainedAnnotator, load_pretrained
from hubaudit.errors import InvalidLabelMapping


class HubClassifierAnnotator(PretrainedAnnotator):
    """Annotator from an ``AutoModelForImageClassification`` model.

    Args:
        name: the attribute name.
        model_id: Hub id (``org/name`` or ``org/name@revision``) or folder.
        label_to_value: model label (as in its ``id2label``) -> attribute value; several labels
            may share a value; values ordered as in :meth:`Attribute.from_value_names`.
            None: every label is its own value, in label-id order.
        revision, token, device, allow_pickle, allow_local, confusion: as for :class:`ClipAnnotator`.

    Raises:
        InvalidLabelMapping: the mapping names labels the model does not have.
    """

    kind = "hub_classifier"

    def __init__(
        self,
        name: str,
        model_id: str,
        *,
        label_to_value: Mapping[str, str] | None = None,
        revision: str | None = None,
        token: str | None = None,
        device: str | torch.device | None = None,
        allow_pickle: bool = False,
        allow_local: bool = True,
        confusion: np.ndarray | None = None,
    ):
        loaded = load_pretrained(
            AutoModelForImageClassification,
            AutoImageProcessor,
            model_id,
            revision=revision,
            token=token,
            allow_pickle=allow_pickle,
            expected="an image classifier",
            allow_local=allow_local,
        )
        labels = [loaded.model.config.id2label[index] for index in range(loaded.model.config.num_labels)]
        if label_to_value is None:
            label_to_value = {label: label for label in labels}
        unknown = sorted(set(label_to_value) - set(labels))
        if unknown:
            raise InvalidLabelMapping(f"{model_id} has no label(s) {unknown}; its labels: {labels[:30]}")
        super().__init__(
            Attribute.from_value_names(name, label_to_value.values()), loaded, device=device, confusion=confusion
        )
        self.label_to_value = dict(label_to_value)
        self._label_ids = [
            torch.tensor(
                [labels.index(label) for label, mapped in label_to_value.items() if mapped == value],
                device=self.device,
            )
            for value in self.attribute.values
        ]

    @property
    def description(self) -> str:
        mapping = ", ".join(f"{label}->{value}" for label, value in self.label_to_value.items())
        return f"image classifier {self.pinned_model} ({mapping})"

    def _predict_batch(self, images: np.ndarray) -> torch.Tensor:
        logits = self._model(pixel_values=self._pixel_values(images)).logits
        return torch.stack([logits[:, ids].logsumexp(dim=1) for ids in self._label_ids], dim=1)

    def _config(self) -> dict:
        return super()._config() | {"label_to_value": self.label_to_value}
