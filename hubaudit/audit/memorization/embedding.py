"""Image embeddings from a transformers image model, for the memorization search in an embedding space."""

from __future__ import annotations

import numpy as np
import torch
from transformers import AutoImageProcessor, AutoModel

from hubaudit.annotate.base import as_rgb
from hubaudit.annotate.pretrained import load_pretrained
from hubaudit.audit.memorization.nearest import Features
from hubaudit.errors import UnsupportedAnnotatorModel


class ImageEmbedding:
    """Unit-length image embeddings from ``model_id`` (a Hub id or folder; safetensors only, no remote code): the
    model's image features where it has them (CLIP's ``get_image_features``), else its pooled output, else the mean
    of its last hidden states. Distances between unit vectors are ``sqrt(2 - 2 cos)``."""

    def __init__(
        self, model_id: str, *, token: str | None, allow_local: bool, device: str = "cpu", batch_size: int = 64
    ):
        loaded = load_pretrained(
            AutoModel,
            AutoImageProcessor,
            model_id,
            revision=None,
            token=token,
            allow_pickle=False,
            expected="a transformers image model",
            allow_local=allow_local,
        )
        self.model, self.processor, self.device, self.batch_size = (
            loaded.model.to(device),
            loaded.processor,
            device,
            batch_size,
        )
        self.description = f"{model_id}" + (f"@{loaded.revision}" if loaded.revision else "")

    @torch.no_grad()
    def __call__(self, images: np.ndarray) -> Features:
        """``uint8 [N, H, W, C]`` -> one tile of float32 ``[N, D]`` unit vectors."""
        batches = []
        for start in range(0, len(images), self.batch_size):
            rgb = list(as_rgb(images[start : start + self.batch_size]))
            pixels = self.processor(images=rgb, return_tensors="pt")["pixel_values"].to(self.device)
            batches.append(self._embed(pixels).float().cpu().numpy())
        vectors = np.concatenate(batches)
        return [vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)]

    def _embed(self, pixels: torch.Tensor) -> torch.Tensor:
        if hasattr(self.model, "get_image_features"):
            features = self.model.get_image_features(pixel_values=pixels)
            return getattr(features, "pooler_output", features)
        output = self.model(pixel_values=pixels)
        pooled = getattr(output, "pooler_output", None)
        if pooled is not None:
            return pooled.flatten(1)
        hidden = getattr(output, "last_hidden_state", None)
        if hidden is None:
            raise UnsupportedAnnotatorModel(
                f"{self.description} gives no image features, pooled output or hidden states"
            )
        return hidden.flatten(2).mean(-1) if hidden.ndim == 4 else hidden.mean(1)
