"""Anytime-valid corrected shares, simultaneous labelled-share sequences and fixed-n plans."""

import numpy as np
import pytest

from coverage_simulation import simulate_anytime_coverage, simulate_stopping
from hubaudit.errors import InvalidData, TooFewSamples
from hubaudit.stats.anytime import CorrectedConfidenceSequence, LabelledShareSequences, fixed_n_plan
from hubaudit.stats.correction import corrected_shares
from hubaudit.stats.proportion import clopper_pearson_sample_size

# rows = true value, columns = predicted: tpr 0.9, fpr 0.1, rates exact
CALIBRATION = [[450, 50], [50, 450]]
THREE_VALUES = [[400, 50, 50], [50, 400, 50], [50, 50, 400]]


def codes_with_counts(counts: list[int], seed: int) -> np.ndarray:
    """Predicted codes with exactly ``counts[k]`` of value k, in a shuffled order."""
    return np.random.default_rng(seed).permutation(np.repeat(np.arange(len(counts)), counts))


def test_corrected_sequence_covers_the_true_shares_at_every_look():
    result = simulate_anytime_coverage(
        method="corrected",
        true_shares=0.3,
        confusion_rates=np.array([[0.9, 0.1], [0.15, 0.85]]),
        calibration_size=200,
        length=1000,
        batch=50,
        trials=200,
        target_half_width=0.05,
        grid_size=201,
        random_state=11,
    )
    print(result)
    assert result.answered == result.trials == 200
    assert result.coverage >= 0.95
    assert result.mean_half_width < 0.2  # informative, not the trivial [0, 1]


def test_labelled_sequences_cover_three_shares_at_every_look():
    result = simulate_anytime_coverage(
        method="labelled",
        true_shares=[0.5, 0.3, 0.2],
        length=600,
        batch=50,
        trials=150,
        grid_size=201,
        random_state=12,
    )
    print(result)
    assert result.answered == 150 and result.coverage >= 0.93
    assert result.mean_half_width < 0.1


def test_point_is_the_rogan_gladen_estimate_and_lies_in_the_interval_when_rates_are_exact():
    sequence = CorrectedConfidenceSequence(CALIBRATION, names=["absent", "present"])
    codes = codes_with_counts([660, 340], seed=0)  # labelled share 0.34, so p = (0.34 - 0.1) / 0.8 = 0.3
    for start in range(0, codes.size, 100):
        sequence.update(codes[start : start + 100])
    estimates = sequence.estimates()
    present = estimates["present"]
    assert present.value == pytest.approx(0.3)
    rogan_gladen = corrected_shares([660, 340], confusion=CALIBRATION, names=["absent", "present"])["present"]
    assert present.value == pytest.approx(rogan_gladen.value)
    assert present.low < 0.3 < present.high
    assert estimates["absent"].low == pytest.approx(1 - present.high, abs=1e-6)
    assert present.method == "corrected-confidence-sequence" and present.n == 1000 and present.confidence == 0.95
    assert "alpha split: 0.025" in present.notes[0] and "present=500" in present.notes[1]
    assert sequence.admits(np.array([0.7, 0.3]))


def test_interval_narrows_as_samples_arrive():
    sequence = CorrectedConfidenceSequence(CALIBRATION, target_half_width=0.05)
    assert sequence.half_width == 0.5 and sequence.n == 0
    widths = []
    for seed in range(4):
        sequence.update(codes_with_counts([330, 170], seed=seed))
        widths.append(sequence.half_width)
    assert widths == sorted(widths, reverse=True) and widths[-1] < 0.15


def test_calibration_floor_is_positive_and_shrinks_with_a_larger_calibration_split():
    floors = []
    for scale in (1, 10):
        sequence = CorrectedConfidenceSequence(np.array(CALIBRATION) * scale)
        sequence.update(codes_with_counts([1320, 680], seed=1))
        floors.append(sequence.floor_half_width())
        assert sequence.half_width >= floors[-1]
    print(f"floor at 500 and 5000 per class: {floors}")
    assert floors[0] > floors[1] > 0


def test_three_values_give_simultaneous_corrected_intervals():
    sequence = CorrectedConfidenceSequence(THREE_VALUES, names=["a", "b", "c"])
    sequence.update(codes_with_counts([900, 660, 440], seed=2))
    estimates = sequence.estimates()
    bbse = corrected_shares([900, 660, 440], confusion=THREE_VALUES, names=["a", "b", "c"])
    assert list(estimates) == ["a", "b", "c"]
    for name, estimate in estimates.items():
        assert estimate.low <= estimate.value <= estimate.high
        assert estimate.value == pytest.approx(bbse[name].value)
        assert estimate.half_width > bbse[name].half_width  # the price of validity at every sample count
    assert 0 < sequence.floor_half_width() < sequence.half_width < 0.2


def test_evidence_no_shares_fit_widens_to_the_unit_interval_and_says_so():
    sequence = CorrectedConfidenceSequence(CALIBRATION)
    sequence.update(np.zeros(3000, dtype=np.int64))  # never "1", though the annotator says 1 for 10% of true 0s
    estimate = sequence.estimates()["1"]
    assert (estimate.low, estimate.high) == (0.0, 1.0) and sequence.half_width == 0.5
    assert "interval set to [0, 1]" in estimate.notes[-1]


def test_labelled_sequences_for_two_values_are_complements():
    sequences = LabelledShareSequences(["no", "yes"], target_half_width=0.05)
    sequences.update(codes_with_counts([700, 300], seed=3))
    estimates = sequences.estimates()
    assert estimates["yes"].value == pytest.approx(0.3)
    assert estimates["no"].low == pytest.approx(1 - estimates["yes"].high)
    assert estimates["no"].high == pytest.approx(1 - estimates["yes"].low)
    assert sequences.half_width == pytest.approx(estimates["yes"].half_width)


def test_fixed_plan_at_one_half_is_the_clopper_pearson_plan():
    plan = fixed_n_plan(0.03, labelled_shares=[0.5, 0.5])
    assert plan.labelled == plan.worst_case == clopper_pearson_sample_size(0.03)
    assert plan.corrected is None
    skewed = fixed_n_plan(0.03, labelled_shares=[0.9, 0.1])
    assert skewed.labelled == clopper_pearson_sample_size(0.03, anticipated_share=0.1) < skewed.worst_case
    three = fixed_n_plan(0.03, labelled_shares=[0.5, 0.3, 0.2])
    assert three.worst_case == clopper_pearson_sample_size(0.03, confidence=1 - 0.05 / 3)


def test_corrected_plan_needs_more_than_the_labelled_plan_and_none_below_the_floor():
    shares = [0.66, 0.34]
    reachable = fixed_n_plan(0.05, labelled_shares=shares, confusion=np.array(CALIBRATION) * 10)
    assert reachable.corrected is not None and reachable.corrected > reachable.labelled
    assert fixed_n_plan(0.03, labelled_shares=shares, confusion=CALIBRATION).corrected is None  # floor about 0.044


def test_tuned_sequence_stops_before_the_worst_case_plan_at_a_small_share():
    result = simulate_stopping(true_share=0.1, half_width=0.03, trials=4, grid_size=401, random_state=13)
    print(result)
    assert result.reached == 4 and result.mean_samples < result.fixed_n_worst_case
    assert result.fixed_n_at_share == clopper_pearson_sample_size(0.03, anticipated_share=0.1)


def test_bad_input_is_rejected():
    with pytest.raises(InvalidData):
        CorrectedConfidenceSequence([[450, 50, 0], [50, 450, 0]])
    with pytest.raises(InvalidData):
        CorrectedConfidenceSequence(CALIBRATION, names=["a", "b", "c"])
    sequence = CorrectedConfidenceSequence(CALIBRATION)
    with pytest.raises(InvalidData):
        sequence.update(np.array([0, 1, 2]))
    with pytest.raises(InvalidData):
        sequence.update(np.array([0.0, 1.0]))
    with pytest.raises(TooFewSamples):
        sequence.estimates()
    with pytest.raises(InvalidData):
        fixed_n_plan(0.03, labelled_shares=[0.5, 0.3, 0.2], confusion=CALIBRATION)
    with pytest.raises(InvalidData):
        fixed_n_plan(0.03, labelled_shares=[0.5, 0.4])
    with pytest.raises(ValueError):
        CorrectedConfidenceSequence(CALIBRATION, target_half_width=0.6)
