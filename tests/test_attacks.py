"""Fairness poisoning by subset selection: greedy I(S;Y) maximisation and label flipping."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import mutual_info_score

from hubaudit.attacks import (
    FeatureLabelInformation,
    greedy_mutual_information_poison,
    label_flip_poison,
    pixel_embeddings,
    poison_labelled_images,
)
from hubaudit.data.labelled import LabelledImages
from hubaudit.errors import InvalidAttackConfig

N_SELECT, ALPHA, DELTA = 300, 0.3, 0.05


def synthetic(n: int = 600, *, sensitive_strength: float = 0.5, seed: int = 1):
    """Independent S and Y; X = [Y signal, S signal of the given strength, 2 noise dims]."""
    rng = np.random.default_rng(seed)
    sensitive, labels = rng.integers(0, 2, n), rng.integers(0, 2, n)
    embeddings = np.column_stack(
        [
            2 * labels - 1 + rng.normal(size=n),
            sensitive_strength * (2 * sensitive - 1) + rng.normal(size=n),
            rng.normal(size=(n, 2)),
        ]
    )
    return embeddings, sensitive, labels


@pytest.fixture(scope="module")
def data():
    return synthetic()


@pytest.fixture(scope="module")
def greedy(data):
    return greedy_mutual_information_poison(*data, n_select=N_SELECT, alpha=ALPHA, delta=DELTA, seed=0)


def test_greedy_raises_sensitive_label_information_above_full_data_and_base(data, greedy):
    _, sensitive, labels = data
    assert greedy.mi_sensitive_label > greedy.mi_sensitive_label_full + 0.02
    assert greedy.mi_sensitive_label > greedy.mi_sensitive_label_trace[0] + 0.02
    assert greedy.mi_sensitive_label == pytest.approx(mutual_info_score(greedy.sensitive, greedy.labels))
    assert greedy.mi_sensitive_label_full == pytest.approx(mutual_info_score(sensitive, labels))


def test_greedy_keeps_feature_label_information_within_delta(data, greedy):
    embeddings, _, labels = data
    assert abs(greedy.mi_features_label - greedy.mi_features_label_full) <= DELTA
    assert greedy.mi_features_label == pytest.approx(
        FeatureLabelInformation(embeddings, seed=0)(greedy.indices, greedy.labels)
    )
    assert greedy.mi_features_label_full == pytest.approx(
        FeatureLabelInformation(embeddings, seed=0)(np.arange(len(labels)), labels)
    )


def test_greedy_tolerance_binds_when_features_encode_the_sensitive_attribute():
    embeddings, sensitive, labels = synthetic(sensitive_strength=3.0)
    loose = greedy_mutual_information_poison(embeddings, sensitive, labels, n_select=N_SELECT, alpha=0.5, delta=1.0)
    tight = greedy_mutual_information_poison(embeddings, sensitive, labels, n_select=N_SELECT, alpha=0.5, delta=0.02)
    assert abs(loose.mi_features_label - loose.mi_features_label_full) > 0.02
    assert abs(tight.mi_features_label - tight.mi_features_label_full) <= 0.02
    assert tight.mi_sensitive_label > tight.mi_sensitive_label_full


def test_greedy_selects_exactly_n_unique_records_with_their_original_labels(data, greedy):
    _, sensitive, labels = data
    assert greedy.indices.dtype == np.int64 and greedy.labels.dtype == np.int64
    assert len(greedy.indices) == N_SELECT == len(np.unique(greedy.indices))
    assert greedy.indices.min() >= 0 and greedy.indices.max() < len(labels)
    np.testing.assert_array_equal(greedy.labels, labels[greedy.indices])
    np.testing.assert_array_equal(greedy.sensitive, sensitive[greedy.indices])
    assert greedy.n_relabelled == 0


def test_greedy_is_deterministic_for_a_seed(data, greedy):
    again = greedy_mutual_information_poison(*data, n_select=N_SELECT, alpha=ALPHA, delta=DELTA, seed=0)
    other = greedy_mutual_information_poison(*data, n_select=N_SELECT, alpha=ALPHA, delta=DELTA, seed=1)
    np.testing.assert_array_equal(again.indices, greedy.indices)
    assert again.mi_sensitive_label_trace == greedy.mi_sensitive_label_trace
    assert set(other.indices.tolist()) != set(greedy.indices.tolist())


def test_alpha_zero_gives_a_random_subset_with_about_the_full_data_information(data, greedy):
    plain = greedy_mutual_information_poison(*data, n_select=N_SELECT, alpha=0.0, delta=DELTA, seed=0)
    assert len(plain.indices) == N_SELECT and len(plain.mi_sensitive_label_trace) == 1
    assert abs(plain.mi_sensitive_label - plain.mi_sensitive_label_full) < 0.02
    assert plain.mi_sensitive_label < greedy.mi_sensitive_label


def test_label_flipping_flips_exactly_round_alpha_n_labels_towards_the_association(data):
    embeddings, sensitive, labels = data
    flipped = label_flip_poison(sensitive, labels, n_select=N_SELECT, alpha=ALPHA, seed=0, embeddings=embeddings)
    changed = flipped.labels != labels[flipped.indices]
    assert changed.sum() == round(ALPHA * N_SELECT) == flipped.n_relabelled
    association = 1 if labels[sensitive == 1].mean() >= labels[sensitive == 0].mean() else 0
    expected = flipped.sensitive[changed] if association else 1 - flipped.sensitive[changed]
    np.testing.assert_array_equal(flipped.labels[changed], expected)
    assert flipped.mi_sensitive_label > flipped.mi_sensitive_label_full + 0.02
    assert flipped.mi_sensitive_label == pytest.approx(mutual_info_score(flipped.sensitive, flipped.labels))
    assert len(np.unique(flipped.indices)) == N_SELECT


def test_greedy_keeps_feature_label_information_closer_than_label_flipping(data, greedy):
    embeddings, sensitive, labels = data
    flipped = label_flip_poison(sensitive, labels, n_select=N_SELECT, alpha=ALPHA, seed=0, embeddings=embeddings)
    flip_gap = abs(flipped.mi_features_label - flipped.mi_features_label_full)
    assert flip_gap > DELTA
    assert abs(greedy.mi_features_label - greedy.mi_features_label_full) < flip_gap


def test_label_flipping_without_embeddings_reports_no_feature_information(data):
    _, sensitive, labels = data
    flipped = label_flip_poison(sensitive, labels, n_select=N_SELECT, alpha=ALPHA, seed=0)
    assert flipped.mi_features_label is None and flipped.mi_features_label_full is None


def test_model_card_summary_is_json_with_group_rates_and_sensitive_share(greedy):
    card = json.loads(json.dumps(greedy.to_dict()))
    assert card["method"] == "greedy" and card["n_select"] == N_SELECT and card["delta_nats"] == DELTA
    for s in (0, 1):
        assert card["positive_rate_by_sensitive"][str(s)] == pytest.approx(greedy.labels[greedy.sensitive == s].mean())
    assert card["sensitive_share"] == pytest.approx(greedy.sensitive.mean())
    assert card["mi_sensitive_label_trace_nats"][-1] == pytest.approx(card["mi_sensitive_label_nats"])


def _greedy(data, **overrides):
    options = dict(n_select=N_SELECT, alpha=ALPHA, delta=DELTA) | overrides
    return greedy_mutual_information_poison(*data, **options)


def _flip(data, **overrides):
    _, sensitive, labels = data
    options = dict(n_select=N_SELECT, alpha=ALPHA) | overrides
    return label_flip_poison(sensitive, labels, **options)


@pytest.mark.parametrize("attack", [_greedy, _flip])
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"alpha": -0.1}, "alpha must lie in"),
        ({"alpha": 1.5}, "alpha must lie in"),
        ({"n_select": 601}, "the subset's size n must lie in"),
    ],
)
def test_bad_rate_or_size_is_refused(data, attack, overrides, message):
    with pytest.raises(InvalidAttackConfig, match=message):
        attack(data, **overrides)


@pytest.mark.parametrize("attack", [_greedy, _flip])
@pytest.mark.parametrize(("column", "name"), [(1, "sensitive attribute S"), (2, "label Y")])
def test_non_binary_sensitive_attribute_or_label_is_refused(data, attack, column, name):
    broken = list(data)
    broken[column] = broken[column].copy()
    broken[column][0] = 2
    with pytest.raises(InvalidAttackConfig, match=f"{name} must be binary"):
        attack(broken)
    broken[column][:] = 1
    with pytest.raises(InvalidAttackConfig, match=f"{name} takes only the value"):
        attack(broken)


def test_label_flipping_with_too_few_records_to_flip_names_the_cells(data):
    with pytest.raises(
        InvalidAttackConfig,
        match=r"needs 240 records with S=1, Y=\d or S=0, Y=\d among the 300 chosen, which hold \d+ with S=1, Y=\d, \d+ with S=0",
    ):
        _flip(data, alpha=0.8)


def test_greedy_with_too_few_records_in_the_cells_it_adds_from_names_them(data):
    with pytest.raises(
        InvalidAttackConfig,
        match=r"adds up to 300 records from cells S=0, Y=\d and S=1, Y=\d, but .* only \d+ and \d+",
    ):
        _greedy(data, n_select=600, alpha=0.5)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"delta": -0.01}, "delta"),
        ({"chunk_size": -2}, "chunk_size must be at least 1"),
        ({"alpha": 1.0}, "leaves a random base of 0 records"),
        ({"delta": 0.0, "n_select": 40, "alpha": 0.0}, "none of 20 random bases"),
    ],
)
def test_greedy_refuses_a_tolerance_or_base_it_cannot_work_with(data, overrides, message):
    with pytest.raises(InvalidAttackConfig, match=message):
        _greedy(data, **overrides)


def test_greedy_gives_up_rather_than_leave_the_tolerance(data, monkeypatch):
    class EveryAdditionLeavesTheTolerance:
        """I(X;Y) = 0.3 nats on the full data and the base of 210 records, 0.9 on anything larger."""

        def __init__(self, embeddings, *, seed):
            self.full_size = len(embeddings)

        def __call__(self, indices, labels):
            return 0.3 if len(indices) in (self.full_size, 210) else 0.9

    monkeypatch.setattr("hubaudit.attacks.poisoning.FeatureLabelInformation", EveryAdditionLeavesTheTolerance)
    with pytest.raises(InvalidAttackConfig, match="after 0 of 90 greedy additions, adding any record moves I"):
        _greedy(data)


def test_greedy_refuses_embeddings_of_the_wrong_shape(data):
    embeddings, sensitive, labels = data
    with pytest.raises(InvalidAttackConfig, match="embeddings must be"):
        greedy_mutual_information_poison(
            embeddings[:-1], sensitive, labels, n_select=N_SELECT, alpha=ALPHA, delta=DELTA
        )


def labelled_images(n: int = 240, seed: int = 3) -> LabelledImages:
    """8x8 RGB images whose brightness follows the label; independent 0/1 S and Y."""
    rng = np.random.default_rng(seed)
    smiling, male = rng.integers(0, 2, n), rng.integers(0, 2, n)
    brightness = 60 + 120 * smiling[:, None, None, None] + rng.normal(0, 40, (n, 8, 8, 3))
    images = np.clip(brightness, 0, 255).astype(np.uint8)
    return LabelledImages(images, {"Smiling": smiling, "Male": male, "Young": rng.integers(0, 2, n)}, "synthetic")


@pytest.mark.parametrize("method", ["greedy", "flip"])
def test_poisoned_labelled_images_hold_the_chosen_records_and_training_labels(method):
    data = labelled_images()
    original_labels = data.columns["Smiling"].copy()
    training, poisoned = poison_labelled_images(
        data,
        sensitive_column="Male",
        label_column="Smiling",
        n_select=120,
        alpha=0.25,
        delta=0.1,
        method=method,
        seed=0,
    )
    assert len(training) == 120 and poisoned.method == method
    np.testing.assert_array_equal(training.images, data.images[poisoned.indices])
    np.testing.assert_array_equal(training.columns["Smiling"], poisoned.labels)
    np.testing.assert_array_equal(training.columns["Young"], data.columns["Young"][poisoned.indices])
    np.testing.assert_array_equal(data.columns["Smiling"], original_labels)
    relabelled = (training.columns["Smiling"] != original_labels[poisoned.indices]).sum()
    assert relabelled == poisoned.n_relabelled == (30 if method == "flip" else 0)
    assert poisoned.mi_sensitive_label > poisoned.mi_sensitive_label_full
    assert poisoned.mi_features_label is not None


def test_unknown_poisoning_method_is_refused():
    with pytest.raises(InvalidAttackConfig, match="unknown poisoning method 'random'"):
        poison_labelled_images(
            labelled_images(),
            sensitive_column="Male",
            label_column="Smiling",
            n_select=100,
            alpha=0.2,
            delta=0.1,
            method="random",
        )


def test_pixel_embeddings_are_deterministic_low_dimensional_projections():
    images = labelled_images().images
    embedded = pixel_embeddings(images, dim=6, seed=0)
    assert embedded.shape == (len(images), 6) and embedded.dtype == np.float64
    np.testing.assert_allclose(pixel_embeddings(images, dim=6, seed=0), embedded)
    with pytest.raises(InvalidAttackConfig, match="embedding dimension 500"):
        pixel_embeddings(images, dim=500)
