"""Downstream probe: what a receiver's classifier, trained on the model's samples, does to fairness.

A logistic regression on raw pixels (images resized to ``PROBE_IMAGE_SIZE``, RGB, scaled to
0..1) is trained on the generated samples and their label Y, and a second one on a training
split of the receiver's trusted reference data; both are evaluated on the reference's test
split, where the true sensitive attribute S is known. Per-group accuracy and selection rate
come from fairlearn's :class:`~fairlearn.metrics.MetricFrame`, the demographic-parity and
equalized-odds differences from fairlearn's functions. Their intervals are percentile
bootstraps over the test split: resampling test records is resampling the counts of the
(S, Y, prediction) cube, done for all resamples at once from a multinomial.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    equalized_odds_difference,
    selection_rate,
)
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split

from hubaudit.annotate.base import as_rgb
from hubaudit.data import LabelledImages
from hubaudit.errors import TooFewSamples
from hubaudit.stats import ShareEstimate

PROBE_IMAGE_SIZE = 16
"""Side (pixels) every image is resized to before its pixels become the probe's features."""
MIN_TEST_PER_CELL = 5
"""Test records each (S, Y) cell needs, so that every group's rates are defined; the reference needs twice that."""
BOOTSTRAP_RESAMPLES = 2000


@dataclass(frozen=True)
class ProbeResult:
    """One probe, evaluated on the reference test split (rates in [0, 1]; groups are S's values)."""

    n_train: int
    accuracy: float
    accuracy_by_group: dict[str, float]
    selection_rate: dict[str, float]
    demographic_parity_difference: ShareEstimate
    equalized_odds_difference: ShareEstimate

    def to_dict(self) -> dict:
        return {
            "n_train": self.n_train,
            "accuracy": self.accuracy,
            "selection_rate": self.selection_rate,
            "accuracy_by_group": self.accuracy_by_group,
            "demographic_parity_difference": self.demographic_parity_difference.to_dict(),
            "equalized_odds_difference": self.equalized_odds_difference.to_dict(),
        }


@dataclass(frozen=True)
class ProbeComparison:
    """The probe trained on generated samples next to one trained on the reference: what the receiver loses."""

    trained_on_generated: ProbeResult
    trained_on_reference: ProbeResult
    n_test: int

    @property
    def accuracy_lost(self) -> float:
        """Reference-trained accuracy minus generated-trained accuracy (positive: the model's samples cost accuracy)."""
        return self.trained_on_reference.accuracy - self.trained_on_generated.accuracy

    @property
    def dp_difference_added(self) -> float:
        """Generated-trained minus reference-trained demographic-parity difference (positive: less fair)."""
        return (
            self.trained_on_generated.demographic_parity_difference.value
            - self.trained_on_reference.demographic_parity_difference.value
        )

    def to_dict(self) -> dict:
        return {
            "trained_on_generated": self.trained_on_generated.to_dict(),
            "trained_on_reference": self.trained_on_reference.to_dict(),
            "n_test": self.n_test,
            "accuracy_lost": self.accuracy_lost,
            "dp_difference_added": self.dp_difference_added,
        }


def pixel_features(images: np.ndarray) -> np.ndarray:
    """``float32 [N, 3 * PROBE_IMAGE_SIZE ** 2]`` in 0..1 from images ``uint8 [N, H, W, C]``."""
    resized = LabelledImages(as_rgb(images)).resized(PROBE_IMAGE_SIZE).images
    return resized.reshape(len(resized), -1).astype(np.float32) / 255


def fit_probe(images: np.ndarray, labels: np.ndarray, *, what: str) -> LogisticRegression:
    """A logistic regression of binary ``labels`` ``[N]`` on the pixels of ``images``; ``what`` names the data in errors."""
    counts = np.bincount(labels, minlength=2)
    if counts.min() < 2:
        raise TooFewSamples(f"{what}: the probe needs at least 2 records of each label value, got {counts.tolist()}")
    return LogisticRegression(max_iter=1000).fit(pixel_features(images), labels)


def fairness_differences(cube: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Demographic-parity and equalized-odds differences from (S, Y, prediction) counts.

    ``cube`` is ``[..., G, 2, 2]`` counts (leading axes: resamples); returns two arrays of the
    leading shape, NaN where a group (or, for equalized odds, a group's label value) is empty.
    """
    cube = np.asarray(cube, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        selection = cube[..., 1].sum(axis=-1) / cube.sum(axis=(-2, -1))
        positive_prediction_rate = cube[..., 1] / cube.sum(axis=-1)  # [..., G, Y]: FPR (Y=0) and TPR (Y=1)
    parity = selection.max(axis=-1) - selection.min(axis=-1)
    odds = (positive_prediction_rate.max(axis=-2) - positive_prediction_rate.min(axis=-2)).max(axis=-1)
    return parity, odds


def evaluate_probe(
    classifier: LogisticRegression,
    test: tuple[np.ndarray, np.ndarray, np.ndarray],
    *,
    group_names: tuple[str, ...],
    n_train: int,
    confidence: float = 0.95,
    seed: int = 0,
) -> ProbeResult:
    """Evaluate ``classifier`` on ``test = (images, sensitive codes, labels)`` with bootstrap intervals."""
    images, sensitive, labels = test
    predicted = classifier.predict(pixel_features(images))
    groups = np.asarray(group_names)[sensitive]
    frame = MetricFrame(
        metrics={"accuracy": accuracy_score, "selection_rate": selection_rate},
        y_true=labels,
        y_pred=predicted,
        sensitive_features=groups,
    )
    by_group = frame.by_group
    cube = np.zeros((len(group_names), 2, 2), dtype=np.int64)
    np.add.at(cube, (sensitive, labels, predicted), 1)
    resampled = np.random.default_rng(seed).multinomial(
        len(labels), cube.ravel() / len(labels), size=BOOTSTRAP_RESAMPLES
    )
    parity_draws, odds_draws = fairness_differences(resampled.reshape(-1, *cube.shape))
    point = {
        "parity": demographic_parity_difference(labels, predicted, sensitive_features=groups),
        "odds": equalized_odds_difference(labels, predicted, sensitive_features=groups),
    }
    tails = [(1 - confidence) / 2, (1 + confidence) / 2]

    def bootstrap_estimate(value: float, draws: np.ndarray) -> ShareEstimate:
        low, high = np.nanquantile(draws, tails)
        return ShareEstimate(value, min(low, value), max(high, value), "bootstrap-percentile", len(labels), confidence)

    return ProbeResult(
        n_train=n_train,
        accuracy=float(frame.overall["accuracy"]),
        accuracy_by_group={name: float(by_group.loc[name, "accuracy"]) for name in group_names},
        selection_rate={name: float(by_group.loc[name, "selection_rate"]) for name in group_names},
        demographic_parity_difference=bootstrap_estimate(point["parity"], parity_draws),
        equalized_odds_difference=bootstrap_estimate(point["odds"], odds_draws),
    )


def probe_downstream(
    generated_images: np.ndarray,
    generated_labels: np.ndarray,
    reference: tuple[np.ndarray, np.ndarray, np.ndarray],
    *,
    group_names: tuple[str, ...],
    confidence: float = 0.95,
    test_fraction: float = 0.5,
    seed: int = 0,
) -> ProbeComparison:
    """Train on the generated samples and on the reference's training split; evaluate both on its test split.

    Args:
        generated_images: ``uint8 [N, H, W, C]`` samples of the model.
        generated_labels: ``int64 [N]`` their binary label Y.
        reference: ``(images uint8 [M, H', W', C'], sensitive codes int64 [M] in 0..G-1, labels int64 [M])``.
        group_names: the G sensitive values, in code order.
        test_fraction: share of each (S, Y) cell of the reference held out for testing.

    Raises:
        TooFewSamples: a reference (S, Y) cell has fewer than ``2 * MIN_TEST_PER_CELL`` records,
            or a training set lacks a label value.
    """
    images, sensitive, labels = reference
    cells = np.bincount(sensitive * 2 + labels, minlength=2 * len(group_names)).reshape(len(group_names), 2)
    if cells.min() < 2 * MIN_TEST_PER_CELL:
        group, label = np.unravel_index(int(cells.argmin()), cells.shape)
        raise TooFewSamples(
            f"reference data: the cell sensitive={group_names[group]}, label={label} has {cells.min()} records; "
            f"the downstream probe needs at least {2 * MIN_TEST_PER_CELL} in every cell"
        )
    train, test = train_test_split(
        np.arange(len(labels)), test_size=test_fraction, stratify=sensitive * 2 + labels, random_state=seed
    )
    test_data = (images[test], sensitive[test], labels[test])
    options = {"group_names": group_names, "confidence": confidence, "seed": seed}
    on_generated = fit_probe(generated_images, generated_labels, what="generated samples")
    on_reference = fit_probe(images[train], labels[train], what="reference training split")
    return ProbeComparison(
        evaluate_probe(on_generated, test_data, n_train=len(generated_labels), **options),
        evaluate_probe(on_reference, test_data, n_train=len(train), **options),
        len(test),
    )
