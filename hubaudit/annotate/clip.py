"""Zero-shot annotation with CLIP or SigLIP: one text prompt per attribute value.

The probability of value k is the softmax, over the K prompts, of the model's image-text
logits (for SigLIP the logit bias cancels in the softmax).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from transformers import AutoModel, AutoProcessor

from hubaudit.annotate.base import Attribute
from hubaudit.annotate.pretrained import PretrainedAnnotator, load_pretrained
from hubaudit.errors import UnsupportedAnnotatorModel

DEFAULT_CLIP_MODEL = "openai/clip-vit-base-patch32"

CLIP_PRESETS: dict[str, dict[str, str]] = {
    "gender": {"female": "a photo of a woman", "male": "a photo of a man"},
    "young": {"old": "a photo of an old person", "young": "a photo of a young person"},
    "age_group": {
        "child": "a photo of a child",
        "young_adult": "a photo of a young adult",
        "middle_aged": "a photo of a middle-aged person",
        "senior": "a photo of an elderly person",
    },
    "skin_tone": {"lighter": "a photo of a person with light skin", "darker": "a photo of a person with dark skin"},
    "eyeglasses": {
        "no_eyeglasses": "a photo of a person without glasses",
        "eyeglasses": "a photo of a person wearing glasses",
    },
    "smiling": {
        "not_smiling": "a photo of a person with a neutral expression",
        "smiling": "a photo of a smiling person",
    },
    "beard": {"no_beard": "a photo of a clean-shaven person", "beard": "a photo of a person with a beard"},
    "blond_hair": {"not_blond": "a photo of a person with dark hair", "blond": "a photo of a person with blond hair"},
    "hat": {"no_hat": "a photo of a person without a hat", "hat": "a photo of a person wearing a hat"},
}
"""Preset name -> {value: prompt}. Binary presets list the CelebA-style "attribute holds" value
second, so that probability column 1 lines up with a 0/1 data column (CelebA ``Male``, ``Young``...)."""


class ClipAnnotator(PretrainedAnnotator):
    """Zero-shot CLIP/SigLIP annotator for the attribute ``name`` with values ``prompts.keys()``.

    Args:
        name: the attribute name.
        prompts: value -> prompt, e.g. ``CLIP_PRESETS["gender"]``; values ordered as in
            :meth:`Attribute.from_value_names`.
        model_id: Hub id (``org/name`` or ``org/name@revision``) or folder of any model
            ``AutoModel``/``AutoProcessor`` load with image-text logits (CLIP, SigLIP...).
        revision: branch, tag or commit of a Hub model (pinned to its commit on load).
        token: Hub token for private or gated models (never saved).
        device: where to run; None picks cuda, mps, cpu.
        allow_pickle: also accept pickle (``.bin``) weights, which can run code when loaded.
        allow_local: accept a folder as ``model_id`` (the Space turns this off).
        confusion: calibration counts ``[K, K]``, if known.
    """

    kind = "clip"

    def __init__(
        self,
        name: str,
        prompts: Mapping[str, str],
        *,
        model_id: str = DEFAULT_CLIP_MODEL,
        revision: str | None = None,
        token: str | None = None,
        device: str | torch.device | None = None,
        allow_pickle: bool = False,
        allow_local: bool = True,
        confusion: np.ndarray | None = None,
    ):
        attribute = Attribute.from_value_names(name, prompts)  # checked before the model loads
        loaded = load_pretrained(
            AutoModel,
            AutoProcessor,
            model_id,
            revision=revision,
            token=token,
            allow_pickle=allow_pickle,
            expected="a CLIP/SigLIP model",
            allow_local=allow_local,
        )
        if not hasattr(loaded.model, "get_text_features") or not hasattr(loaded.processor, "tokenizer"):
            raise UnsupportedAnnotatorModel(
                f"{model_id} is not an image-text model like CLIP or SigLIP ({type(loaded.model).__name__})"
            )
        super().__init__(attribute, loaded, device=device, confusion=confusion)
        self.prompts = {value: prompts[value] for value in self.attribute.values}
        # SigLIP is trained on max-length padded text; CLIP reads its end-of-text token either way.
        text = self._processor(
            text=list(self.prompts.values()), padding="max_length", truncation=True, return_tensors="pt"
        )
        self._text_inputs = {key: value.to(self.device) for key, value in text.items()}

    @property
    def description(self) -> str:
        prompts = "; ".join(f"{value}: {prompt!r}" for value, prompt in self.prompts.items())
        return f"zero-shot {self.pinned_model} ({prompts})"

    def _predict_batch(self, images: np.ndarray) -> torch.Tensor:
        return self._model(**self._text_inputs, pixel_values=self._pixel_values(images)).logits_per_image

    def _config(self) -> dict:
        return super()._config() | {"prompts": self.prompts}
