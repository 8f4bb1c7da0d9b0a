"""Confusion-matrix-corrected shares: Rogan-Gladen, BBSE, refusals and coverage with a finite calibration split."""

import numpy as np
import pytest

from coverage_simulation import simulate_coverage
from hubaudit.errors import ClassifierNoBetterThanChance, InvalidData, TooFewSamples
from hubaudit.stats import (
    clopper_pearson_interval,
    confusion_rates,
    corrected_binary_share,
    corrected_shares,
)
from hubaudit.stats.correction import project_onto_simplex

# rows = true (absent, present), columns = predicted: tpr = 80/100, fpr = 10/100
CALIBRATION = [[90, 10], [20, 80]]
THREE_VALUES = [[80, 10, 10], [10, 80, 10], [10, 10, 80]]


def test_rogan_gladen_matches_hand_computation():
    # q = 200/1000 = 0.2, so p = (0.2 - 0.1) / (0.8 - 0.1) = 1/7
    estimate = corrected_binary_share(200, 1000, confusion=CALIBRATION)
    assert estimate.value == pytest.approx(1 / 7)
    assert estimate.low < 1 / 7 < estimate.high
    assert estimate.method == "rogan-gladen" and estimate.n == 1000
    assert "tpr=0.800" in estimate.notes[0] and "fpr=0.100" in estimate.notes[0]


def test_rogan_gladen_clips_impossible_shares_to_the_unit_range():
    assert corrected_binary_share(50, 1000, confusion=CALIBRATION).value == 0.0
    assert corrected_binary_share(900, 1000, confusion=CALIBRATION).value == 1.0


def test_corrected_interval_is_wider_than_the_raw_count_interval_and_narrows_with_calibration():
    small = corrected_binary_share(200, 1000, confusion=CALIBRATION)
    large = corrected_binary_share(200, 1000, confusion=np.array(CALIBRATION) * 20)
    raw = clopper_pearson_interval(200, 1000)
    assert small.half_width > large.half_width > raw.half_width
    assert large.value == pytest.approx(small.value)


def test_bbse_recovers_hand_computed_shares_for_three_values():
    # symmetric 0.8 / 0.1 annotator: p_i = (q_i - 0.1) / 0.7
    shares = corrected_shares([300, 400, 300], confusion=THREE_VALUES, names=["a", "b", "c"])
    assert [shares[k].value for k in "abc"] == pytest.approx([2 / 7, 3 / 7, 2 / 7])
    assert all(estimate.method == "bbse" and estimate.contains(estimate.value) for estimate in shares.values())


def test_bbse_projects_onto_the_simplex():
    shares = corrected_shares([50, 450, 500], confusion=THREE_VALUES)
    values = np.array([estimate.value for estimate in shares.values()])
    assert values.min() >= 0 and values.sum() == pytest.approx(1.0)
    assert values[0] == 0.0


def test_perfect_annotator_needs_no_correction():
    shares = corrected_shares([120, 380, 500], confusion=np.diag([50, 50, 50]))
    assert [estimate.value for estimate in shares.values()] == pytest.approx([0.12, 0.38, 0.5])


def test_two_value_bbse_is_rogan_gladen_with_the_complement():
    shares = corrected_shares([800, 200], confusion=CALIBRATION, names=["absent", "present"])
    binary = corrected_binary_share(200, 1000, confusion=CALIBRATION)
    assert shares["present"] == binary
    assert shares["absent"].value == pytest.approx(1 - binary.value)
    assert shares["absent"].low == pytest.approx(1 - binary.high)


def test_bbse_agrees_with_quapy_acc_on_a_synthetic_example():
    quapy_acc = pytest.importorskip("quapy.method.aggregative").ACC
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import confusion_matrix

    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [1.5, 0.0], [0.0, 1.5]])

    def draw(n, shares):
        labels = rng.choice(3, size=n, p=shares)
        return rng.normal(size=(n, 2)) + centres[labels], labels

    classifier = LogisticRegression().fit(*draw(600, [1 / 3] * 3))
    calibration_x, calibration_y = draw(600, [1 / 3] * 3)
    generated_x, _ = draw(2000, [0.6, 0.3, 0.1])
    reference = quapy_acc(classifier, fit_classifier=False, val_split=None, solver="exact-raise", norm="mapsimplex")
    reference.fit(calibration_x, calibration_y)
    ours = corrected_shares(
        np.bincount(classifier.predict(generated_x), minlength=3),
        confusion=confusion_matrix(calibration_y, classifier.predict(calibration_x)),
    )
    assert [estimate.value for estimate in ours.values()] == pytest.approx(reference.quantify(generated_x))


def test_projection_onto_simplex_keeps_points_already_on_it_and_clips_others():
    points = np.array([[0.2, 0.3, 0.5], [-0.2, 0.2, 1.0], [1.0, 1.0, 1.0]])
    projected = project_onto_simplex(points)
    assert projected[0] == pytest.approx([0.2, 0.3, 0.5])
    assert projected[1] == pytest.approx([0.0, 0.1, 0.9])
    assert projected[2] == pytest.approx([1 / 3] * 3)


def test_annotator_no_better_than_chance_is_refused():
    with pytest.raises(ClassifierNoBetterThanChance, match="tpr=0.400 <= fpr=0.500"):
        corrected_binary_share(200, 1000, confusion=[[50, 50], [60, 40]])
    with pytest.raises(ClassifierNoBetterThanChance, match="condition number"):
        corrected_binary_share(200, 1000, confusion=[[50, 50], [49, 51]])


def test_singular_k_value_confusion_matrix_is_refused():
    identical_rows = [[50, 30, 20], [50, 30, 20], [10, 10, 80]]
    with pytest.raises(ClassifierNoBetterThanChance):
        corrected_shares([300, 300, 400], confusion=identical_rows)


def test_value_missing_from_the_calibration_split_is_named():
    with pytest.raises(TooFewSamples, match="'c'"):
        confusion_rates([[10, 0, 0], [0, 10, 0], [0, 0, 0]], names=["a", "b", "c"])


@pytest.mark.parametrize(
    "call",
    [
        lambda: corrected_binary_share(10, 100, confusion=THREE_VALUES),
        lambda: corrected_shares([10, 20], confusion=THREE_VALUES),
        lambda: corrected_shares([1, 2, 3], confusion=[[1, 2], [3, 4], [5, 6]]),
    ],
)
def test_mismatched_shapes_are_invalid_data(call):
    with pytest.raises(InvalidData):
        call()


@pytest.mark.parametrize(
    "share, rates, calibration",
    [
        (0.1, [[0.9, 0.1], [0.1, 0.9]], 100),
        (0.1, [[0.95, 0.05], [0.05, 0.95]], 50),  # few negatives, small fpr: the hard case
        (0.7, [[0.8, 0.2], [0.3, 0.7]], 40),
    ],
)
def test_rogan_gladen_interval_covers_with_an_estimated_confusion_matrix(share, rates, calibration):
    result = simulate_coverage(
        method="corrected",
        true_shares=share,
        n=1000,
        trials=300,
        confusion_rates=np.array(rates),
        calibration_size=calibration,
        random_state=5,
    )
    assert result.answered == 300
    assert result.coverage >= 0.93


def test_bbse_intervals_cover_all_shares_with_an_estimated_confusion_matrix():
    rates = np.array([[0.85, 0.05, 0.05, 0.05], [0.1, 0.7, 0.1, 0.1], [0.02, 0.03, 0.9, 0.05], [0.05, 0.15, 0.1, 0.7]])
    result = simulate_coverage(
        method="corrected",
        true_shares=[0.05, 0.15, 0.5, 0.3],
        n=2000,
        trials=300,
        confusion_rates=rates,
        calibration_size=60,
        n_draws=2000,
        random_state=6,
    )
    assert result.coverage >= 0.93
