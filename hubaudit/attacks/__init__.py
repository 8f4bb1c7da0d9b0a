"""Sharer-side attacks: choosing a training subset that poisons the fairness of the shared model."""

from hubaudit.attacks.features import FeatureLabelInformation, pixel_embeddings
from hubaudit.attacks.poisoning import (
    PoisonedSubset,
    greedy_mutual_information_poison,
    label_flip_poison,
    poison_labelled_images,
)

__all__ = [
    "FeatureLabelInformation",
    "PoisonedSubset",
    "greedy_mutual_information_poison",
    "label_flip_poison",
    "pixel_embeddings",
    "poison_labelled_images",
]
