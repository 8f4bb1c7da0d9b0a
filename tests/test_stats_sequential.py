"""Anytime-valid confidence sequence for sequential scanning."""

import numpy as np
import pytest

from coverage_simulation import simulate_sequence_coverage
from hubaudit.errors import InvalidData
from hubaudit.stats import (
    ConfidenceSequence,
    hoeffding_sample_size,
    samples_to_half_width,
)


def bernoulli_path(share: float, length: int, seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).random(length) < share).astype(float)


def test_sequence_starts_uninformative():
    sequence = ConfidenceSequence()
    assert sequence.interval() == (0.0, 1.0) and sequence.half_width == 0.5 and sequence.n == 0
    assert sequence.samples_to_reach(0.1) is None


def test_batch_updates_give_the_same_path_as_one_update():
    outcomes = bernoulli_path(0.3, 700, seed=0)
    whole = ConfidenceSequence()
    whole.update(outcomes)
    batched = ConfidenceSequence()
    for start in range(0, 700, 64):
        batched.update(outcomes[start : start + 64])
    assert batched.n == whole.n == 700
    np.testing.assert_allclose(batched.half_widths(), whole.half_widths())
    assert batched.interval() == whole.interval()


def test_interval_never_widens_and_contains_the_estimate():
    sequence = ConfidenceSequence(target_half_width=0.05)
    estimate = sequence.update(bernoulli_path(0.2, 1500, seed=1))
    assert np.all(np.diff(sequence.half_widths()) <= 0)
    assert estimate.low <= estimate.value <= estimate.high
    assert estimate.value == pytest.approx(sequence.update(np.array([])).value)
    assert estimate.method == "betting-confidence-sequence" and estimate.n == 1500


def test_share_of_one_tenth_reaches_three_points_sooner_than_the_hoeffding_plan():
    hoeffding_plan = hoeffding_sample_size(0.03, confidence=0.95)
    needed = [samples_to_half_width(bernoulli_path(0.1, 2000, seed), half_width=0.03) for seed in range(5)]
    print(f"Hoeffding plan: {hoeffding_plan}; confidence sequence needed: {needed}")
    assert hoeffding_plan == 2050
    assert all(count is not None and count < hoeffding_plan for count in needed)


def test_untuned_sequence_also_reaches_the_target_eventually():
    count = samples_to_half_width(bernoulli_path(0.1, 3000, seed=7), half_width=0.05, tuned=False)
    assert count is not None and count < 3000


def test_outcomes_outside_unit_range_are_rejected():
    with pytest.raises(InvalidData):
        ConfidenceSequence().update(np.array([0.0, 2.0]))


def test_bad_options_are_rejected():
    with pytest.raises(ValueError):
        ConfidenceSequence(target_half_width=0.7)
    with pytest.raises(ValueError):
        ConfidenceSequence(confidence=1.0)


@pytest.mark.parametrize("share, target", [(0.1, 0.03), (0.5, None)])
def test_sequence_covers_at_every_sample_count_of_a_path(share, target):
    result = simulate_sequence_coverage(
        true_share=share, length=800, trials=150, target_half_width=target, random_state=8
    )
    assert result.trials == result.answered == 150
    assert result.coverage >= 0.93
