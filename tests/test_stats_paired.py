"""The paired difference interval covers the true difference at its nominal level (simulation)."""

from __future__ import annotations

import numpy as np
import pytest

from hubaudit.stats.paired import paired_difference_interval


@pytest.mark.parametrize(
    ("n", "p_first", "p_second", "agreement"),
    [
        (100, 0.30, 0.30, 0.95),  # no drift, samples mostly agree
        (200, 0.34, 0.30, 0.90),  # the PIA suite's DDIM-vs-DDPM drift of +0.04
        (400, 0.50, 0.45, 0.80),
        (50, 0.05, 0.05, 0.98),  # rare value, almost never discordant
    ],
)
def test_coverage_of_the_paired_difference_is_at_least_nominal(n, p_first, p_second, agreement):
    rng = np.random.default_rng(0)
    truth, covered, trials = p_first - p_second, 0, 2000
    for _ in range(trials):
        second = rng.random(n) < p_second
        # first agrees with second with probability `agreement`, else is redrawn so that P(first) = p_first
        redraw = rng.random(n) >= agreement
        shifted = (p_first - agreement * p_second) / (1 - agreement)
        first = np.where(redraw, rng.random(n) < shifted, second)
        covered += paired_difference_interval(first, second, confidence=0.95).contains(truth)
    assert covered / trials >= 0.93


def test_no_discordant_sample_still_gives_an_interval_and_the_observed_difference():
    same = np.array([1, 0, 1, 1, 0] * 20, dtype=bool)
    estimate = paired_difference_interval(same, same)
    assert estimate.value == 0.0 and estimate.low < 0 < estimate.high and estimate.half_width < 0.05
    shifted = paired_difference_interval(np.ones(100, bool), np.zeros(100, bool))
    assert shifted.value == 1.0 and shifted.high == 1.0 and shifted.low > 0.9
