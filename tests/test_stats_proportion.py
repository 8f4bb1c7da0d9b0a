"""Classify-and-count intervals, soft intervals, sample-size plans and their coverage."""

import json
import math

import numpy as np
import pytest
from scipy.stats import beta, binomtest

from coverage_simulation import simulate_coverage
from hubaudit.errors import InvalidData, TooFewSamples
from hubaudit.stats import (
    ShareEstimate,
    clopper_pearson_interval,
    clopper_pearson_sample_size,
    hoeffding_interval,
    hoeffding_sample_size,
    simultaneous_intervals,
    soft_share_interval,
    soft_share_intervals,
)
from hubaudit.stats.proportion import clopper_pearson_bounds


def test_clopper_pearson_zero_and_all_successes_have_textbook_bounds():
    none = clopper_pearson_interval(0, 10)
    every = clopper_pearson_interval(10, 10)
    # (alpha/2)^(1/n): the exact one-sided bound when nothing (or everything) was seen
    assert (none.low, none.high) == (0.0, pytest.approx(1 - 0.025 ** (1 / 10)))
    assert none.high == pytest.approx(0.3085, abs=1e-4)
    assert (every.low, every.high) == (pytest.approx(0.025 ** (1 / 10)), 1.0)


def test_clopper_pearson_matches_scipy_exact_interval():
    for successes, n, confidence in [(3, 10, 0.95), (47, 200, 0.9), (999, 1000, 0.99)]:
        ours = clopper_pearson_interval(successes, n, confidence=confidence)
        exact = binomtest(successes, n).proportion_ci(confidence_level=confidence, method="exact")
        assert (ours.low, ours.high) == (pytest.approx(exact.low), pytest.approx(exact.high))
        assert ours.value == successes / n and ours.n == n


def test_clopper_pearson_gives_the_beta_quantile_figures_at_every_count_including_none_and_all():
    # The formula hubaudit computed before it called statsmodels: scipy's beta quantiles, 0 at k = 0 and 1 at k = n.
    for successes, n, confidence in [
        (0, 1, 0.95),
        (1, 1, 0.95),
        (0, 10, 0.95),
        (3, 10, 0.95),
        (10, 10, 0.95),
        (0, 2000, 0.99),
        (600, 2000, 0.95),
        (2000, 2000, 0.9),
        (1, 7, 0.5),
    ]:
        alpha = 1 - confidence
        low = beta.ppf(alpha / 2, successes, n - successes + 1) if successes > 0 else 0.0
        high = beta.ppf(1 - alpha / 2, successes + 1, n - successes) if successes < n else 1.0
        ours = clopper_pearson_interval(successes, n, confidence=confidence)
        assert (ours.low, ours.high) == (
            pytest.approx(low, rel=1e-9, abs=1e-15),
            pytest.approx(high, rel=1e-9, abs=1e-15),
        )
    counts = np.array([[0, 5, 40], [12, 0, 40]])
    low, high = clopper_pearson_bounds(counts, np.array([40, 40, 40]), confidence=0.9)  # arrays broadcast elementwise
    assert low.shape == high.shape == (2, 3)
    assert low[0, 0] == low[1, 1] == 0.0 and high[0, 2] == high[1, 2] == 1.0
    assert low[1, 0] == pytest.approx(beta.ppf(0.05, 12, 29)) and high[0, 1] == pytest.approx(beta.ppf(0.95, 6, 35))
    low, high = clopper_pearson_bounds(np.array([0, 1]), np.array([0, 2]))
    assert (low[0], high[0]) == (0.0, 1.0)  # no samples: no information


def test_hoeffding_interval_uses_the_papers_half_width_and_clips_to_unit_range():
    estimate = hoeffding_interval(50, 100)
    eps = math.sqrt(math.log(2 / 0.05) / 200)
    assert estimate.half_width == pytest.approx(eps)
    assert hoeffding_interval(1, 100).low == 0.0


def test_hoeffding_plan_for_three_points_at_95_percent_is_2050():
    assert hoeffding_sample_size(0.03, confidence=0.95) == 2050
    assert hoeffding_sample_size(0.05, confidence=0.95) == 738


def test_clopper_pearson_plan_is_the_smallest_n_meeting_the_half_width():
    n = clopper_pearson_sample_size(0.03)
    assert clopper_pearson_interval(n // 2, n).half_width <= 0.03
    assert clopper_pearson_interval((n - 1) // 2, n - 1).half_width > 0.03
    assert n < hoeffding_sample_size(0.03)
    assert clopper_pearson_sample_size(0.03, anticipated_share=0.1) < n


def test_simultaneous_bonferroni_intervals_use_level_one_minus_alpha_over_k():
    shares = simultaneous_intervals([30, 50, 20], names=["a", "b", "c"])
    assert list(shares) == ["a", "b", "c"]
    exact = binomtest(50, 100).proportion_ci(confidence_level=1 - 0.05 / 3, method="exact")
    assert (shares["b"].low, shares["b"].high) == (pytest.approx(exact.low), pytest.approx(exact.high))
    assert shares["b"].confidence == 0.95


def test_two_value_simultaneous_intervals_are_complements_without_adjustment():
    shares = simultaneous_intervals([30, 70])
    single = clopper_pearson_interval(70, 100)
    assert (shares["1"].low, shares["1"].high) == (pytest.approx(single.low), pytest.approx(single.high))
    assert shares["0"].low == pytest.approx(1 - single.high)


def test_goodman_intervals_cover_each_observed_share():
    shares = simultaneous_intervals([120, 300, 80], method="goodman")
    for estimate in shares.values():
        assert estimate.low < estimate.value < estimate.high
        assert estimate.method == "goodman"


def test_soft_share_hoeffding_interval_has_hoeffding_half_width():
    probabilities = np.linspace(0.0, 1.0, 101)
    estimate = soft_share_interval(probabilities)
    assert estimate.value == pytest.approx(0.5)
    assert estimate.half_width == pytest.approx(math.sqrt(math.log(40) / (2 * 101)))


def test_empirical_bernstein_is_tighter_than_hoeffding_for_confident_probabilities():
    rng = np.random.default_rng(0)
    probabilities = np.clip(rng.normal(0.1, 0.02, size=2000), 0, 1)
    bernstein = soft_share_interval(probabilities, method="bernstein")
    hoeffding = soft_share_interval(probabilities, method="hoeffding")
    assert bernstein.half_width < hoeffding.half_width / 2
    assert bernstein.contains(0.1)


def test_soft_share_intervals_name_each_value_and_widen_for_simultaneity():
    rng = np.random.default_rng(1)
    probabilities = rng.dirichlet([2, 3, 5], size=500)
    shares = soft_share_intervals(probabilities, names=["x", "y", "z"])
    assert list(shares) == ["x", "y", "z"]
    assert sum(estimate.value for estimate in shares.values()) == pytest.approx(1.0)
    assert shares["x"].half_width > soft_share_interval(probabilities[:, 0]).half_width


def test_share_estimate_serialises_to_plain_json():
    estimate = clopper_pearson_interval(np.int64(3), np.int64(10))
    payload = json.loads(json.dumps(estimate.to_dict()))
    assert payload["method"] == "clopper-pearson" and payload["n"] == 10
    assert payload["half_width"] == pytest.approx(estimate.half_width)
    assert ShareEstimate(**{k: v for k, v in payload.items() if k != "half_width"}) == estimate


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda: clopper_pearson_interval(0, 0), TooFewSamples),
        (lambda: hoeffding_interval(11, 10), InvalidData),
        (lambda: clopper_pearson_interval(2.5, 10), InvalidData),
        (lambda: simultaneous_intervals([0, 0, 0]), TooFewSamples),
        (lambda: simultaneous_intervals([3, -1]), InvalidData),
        (lambda: soft_share_interval(np.array([0.2, 1.3])), InvalidData),
        (lambda: soft_share_interval(np.array([])), TooFewSamples),
        (lambda: soft_share_interval(np.array([0.5]), method="bernstein"), TooFewSamples),
        (lambda: clopper_pearson_interval(3, 10, confidence=1.5), ValueError),
        (lambda: hoeffding_sample_size(0.0), ValueError),
    ],
)
def test_bad_inputs_raise_the_matching_error(call, error):
    with pytest.raises(error):
        call()


@pytest.mark.parametrize("method", ["hoeffding", "clopper-pearson"])
@pytest.mark.parametrize("share", [0.05, 0.3])
def test_binary_intervals_cover_at_least_nominal(method, share):
    result = simulate_coverage(method=method, true_shares=share, n=200, trials=400, random_state=2)
    assert result.answered == 400
    assert result.coverage >= 0.93


def test_bonferroni_intervals_cover_all_k_shares_at_once():
    result = simulate_coverage(method="bonferroni", true_shares=[0.1, 0.3, 0.6], n=300, trials=400, random_state=3)
    assert result.coverage >= 0.93


def test_counting_a_noisy_annotators_labels_misses_the_true_share():
    # Uncorrected intervals estimate the annotator's predicted share, not the true one.
    noisy = np.array([[0.9, 0.1], [0.2, 0.8]])
    result = simulate_coverage(
        method="clopper-pearson", true_shares=0.1, n=1000, trials=200, confusion_rates=noisy, random_state=4
    )
    assert result.coverage < 0.5
