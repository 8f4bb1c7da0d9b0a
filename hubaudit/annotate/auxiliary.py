"""The paper's "with auxiliary data" annotator: a small CNN trained on labelled images.

:func:`train_auxiliary_annotator` splits the data per value (stratified), trains on one part
and records the confusion matrix on the held-out part. Any input is converted to the
network's channels (grey <-> RGB by ITU-R 601 luma or repetition) and resized (bilinear,
antialiased) to its square input size, so a 28x28 grey MNIST annotator labels 16x16 RGB samples.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn
from torch.nn import functional

from hubaudit.annotate.base import WEIGHTS_FILE, Annotator, Attribute, validated_images, value_labels
from hubaudit.data import LabelledImages
from hubaudit.errors import AuxDataTooSmall, InvalidAnnotatorOption

MIN_HELD_OUT_PER_VALUE = 10
"""Held-out records each value needs for its row of the confusion matrix."""
MIN_TRAINING_PER_VALUE = 10
"""Training records each value needs."""
MAX_DEFAULT_IMAGE_SIZE = 64
"""Largest input side (pixels) picked when ``image_size`` is not given."""
_LUMA = (0.299, 0.587, 0.114)


class SmallCNN(nn.Module):
    """Three 3x3 conv layers (16, 32, 64 channels), two 2x max-pools, 4x4 average pool, linear to K logits."""

    def __init__(self, channels: int, value_count: int):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv2d(channels, 16, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(4),
            nn.Flatten(),
            nn.Linear(64 * 16, value_count),
        )

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        """Logits ``[n, K]`` for pixels ``float [n, C, S, S]`` in 0..1."""
        return self.layers(pixels)


class AuxiliaryAnnotator(Annotator):
    """A :class:`SmallCNN` over ``channels x image_size x image_size`` inputs, with its provenance.

    Built by :func:`train_auxiliary_annotator` or :func:`hubaudit.annotate.load_annotator`.
    ``provenance`` holds what it was trained on: ``source``, ``column``, ``training_size``,
    ``held_out_size``, ``epochs``, ``seed``.
    """

    kind = "auxiliary"

    def __init__(
        self,
        attribute: Attribute,
        network: SmallCNN,
        *,
        image_size: int,
        channels: int,
        provenance: dict,
        device: str | torch.device | None = None,
        confusion: np.ndarray | None = None,
    ):
        super().__init__(attribute, device=device, confusion=confusion)
        self.image_size, self.channels, self.provenance = image_size, channels, provenance
        self.network = network.to(self.device).eval()

    @classmethod
    def load(cls, directory: Path, config: dict, *, device: str | torch.device | None = None) -> AuxiliaryAnnotator:
        """The annotator saved in ``directory`` whose ``annotator.json`` is ``config``."""
        attribute = Attribute(config["attribute"]["name"], tuple(config["attribute"]["values"]))
        network = SmallCNN(config["channels"], len(attribute.values))
        network.load_state_dict(load_file(directory / WEIGHTS_FILE))
        return cls(
            attribute,
            network,
            image_size=config["image_size"],
            channels=config["channels"],
            provenance=config["provenance"],
            device=device,
            confusion=config["confusion"],
        )

    @property
    def description(self) -> str:
        trained = self.provenance
        accuracy = f", held-out accuracy {self.accuracy:.3f}" if self.accuracy is not None else ""
        return (
            f"CNN trained on {trained['source'] or 'auxiliary data'} column {trained['column']!r} "
            f"({trained['training_size']} training, {trained['held_out_size']} held-out records{accuracy})"
        )

    def _predict_batch(self, images: np.ndarray) -> torch.Tensor:
        return self.network(
            network_input(images, channels=self.channels, image_size=self.image_size, device=self.device)
        )

    def _config(self) -> dict:
        return {"image_size": self.image_size, "channels": self.channels, "provenance": self.provenance}

    def _save_weights(self, directory: Path) -> None:
        save_file(
            {name: tensor.contiguous().cpu() for name, tensor in self.network.state_dict().items()},
            directory / WEIGHTS_FILE,
        )


def network_input(images: np.ndarray, *, channels: int, image_size: int, device: torch.device) -> torch.Tensor:
    """``float32 [N, channels, image_size, image_size]`` in 0..1 from ``uint8 [N, H, W, C]``."""
    pixels = torch.tensor(images, device=device).permute(0, 3, 1, 2).float() / 255
    pixels = pixels[:, :3]
    if channels == 1 and pixels.shape[1] == 3:
        pixels = (pixels * torch.tensor(_LUMA, device=device).view(1, 3, 1, 1)).sum(dim=1, keepdim=True)
    elif channels == 3 and pixels.shape[1] == 1:
        pixels = pixels.expand(-1, 3, -1, -1)
    if pixels.shape[-2:] != (image_size, image_size):
        pixels = functional.interpolate(
            pixels, size=(image_size, image_size), mode="bilinear", antialias=True, align_corners=False
        )
    return pixels


def train_auxiliary_annotator(
    data: LabelledImages,
    column: str,
    *,
    holdout_fraction: float = 0.3,
    epochs: int = 5,
    image_size: int | None = None,
    seed: int = 0,
    device: str | torch.device | None = None,
    batch_size: int = 64,
    learning_rate: float = 5e-3,
) -> AuxiliaryAnnotator:
    """Train a :class:`SmallCNN` on ``data``'s 0..K-1 ``column``; calibrate it on a held-out split.

    Args:
        data: labelled images (grey or RGB, any size).
        column: the attribute column; values ``0 .. K-1`` (K >= 2) name the attribute values.
        holdout_fraction: share of each value's records held out for the confusion matrix.
        epochs: passes over the training split (AdamW, cross-entropy).
        image_size: the network's square input side; None: the data's larger side, at most 64.
        seed: seeds the split, the initial weights and the batch order.

    Raises:
        InvalidData: ``column`` is missing or not integers ``0 .. K-1``.
        AuxDataTooSmall: a value has too few records for both splits.
    """
    if not 0 < holdout_fraction < 1 or epochs < 1:
        raise InvalidAnnotatorOption(
            f"need 0 < holdout_fraction < 1 and epochs >= 1, got {holdout_fraction} and {epochs}"
        )
    labels = value_labels(data, column)
    training, held_out = _stratified_split(labels, holdout_fraction, column=column, seed=seed)
    channels = 1 if data.images.shape[-1] == 1 else 3
    image_size = image_size or min(max(data.images.shape[1:3]), MAX_DEFAULT_IMAGE_SIZE)
    attribute = Attribute(column, tuple(str(value) for value in range(labels.max() + 1)))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        network = SmallCNN(channels, len(attribute.values))
    provenance = {
        "source": data.source,
        "column": column,
        "training_size": len(training),
        "held_out_size": len(held_out),
        "epochs": epochs,
        "seed": seed,
    }
    annotator = AuxiliaryAnnotator(
        attribute, network, image_size=image_size, channels=channels, provenance=provenance, device=device
    )
    _fit(annotator, validated_images(data.images[training]), labels[training], epochs, batch_size, learning_rate, seed)
    annotator.calibrate(data.subset(held_out), column, batch_size=max(batch_size, 256))
    return annotator


def _stratified_split(
    labels: np.ndarray, holdout_fraction: float, *, column: str, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(training, held_out)``: each value's records shuffled, ``round(n * holdout_fraction)`` held out."""
    needed = (
        max(
            math.ceil(MIN_HELD_OUT_PER_VALUE / holdout_fraction),
            math.ceil(MIN_TRAINING_PER_VALUE / (1 - holdout_fraction)),
        )
        + 1
    )  # +1 covers rounding of the held-out count
    counts = np.bincount(labels)
    if counts.min() < needed:
        value = int(counts.argmin())
        raise AuxDataTooSmall(
            f"column {column!r} has {counts[value]} records with value {value}; each value needs at least {needed} "
            f"({MIN_TRAINING_PER_VALUE} to train on and {MIN_HELD_OUT_PER_VALUE} held out at holdout_fraction={holdout_fraction})"
        )
    rng = np.random.default_rng(seed)
    training, held_out = [], []
    for value in range(len(counts)):
        members = rng.permutation(np.flatnonzero(labels == value))
        cut = round(len(members) * holdout_fraction)
        held_out.append(members[:cut])
        training.append(members[cut:])
    return np.sort(np.concatenate(training)), np.sort(np.concatenate(held_out))


def _fit(
    annotator: AuxiliaryAnnotator,
    images: np.ndarray,
    labels: np.ndarray,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    seed: int,
) -> None:
    """Train ``annotator.network`` in place with AdamW on cross-entropy, then put it in eval mode."""
    device, network = annotator.device, annotator.network
    targets = torch.from_numpy(labels).to(device)
    optimizer = torch.optim.AdamW(network.parameters(), lr=learning_rate)
    order_generator = torch.Generator().manual_seed(seed)
    network.train()
    for _ in range(epochs):
        for batch in torch.randperm(len(images), generator=order_generator).split(batch_size):
            pixels = network_input(
                images[batch.numpy()], channels=annotator.channels, image_size=annotator.image_size, device=device
            )
            loss = functional.cross_entropy(network(pixels), targets[batch.to(device)])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    network.eval()
