"""The parity gap corrected for annotator errors condition by condition: joint draws, their coverage by simulation,
the gap test's p-value, and the upper bounds that call a group absent or under-represented."""

import numpy as np
import pytest
from scipy import stats

from hubaudit.errors import ClassifierNoBetterThanChance, InvalidData, TooFewSamples
from hubaudit.stats import demographic_parity_gap
from hubaudit.stats.corrected_gap import ConditionCounts, corrected_parity_gap, gap_excess_p_value, table_rate_draws

CLASS_DEPENDENT_ERRORS = ((0.02, 0.15), (0.15, 0.02))
"""Per label value (P(called 1 | 0), P(called 0 | 1)): under Y=0 the annotator misses 15% of the S=1 samples,
under Y=1 it calls 15% of the S=0 samples S=1."""


def annotated_counts(rng, share, errors, n):
    """Annotated S counts ``[2]`` of ``n`` samples with P(S=1) = ``share`` by an annotator with ``errors``."""
    false_positive, false_negative = errors
    ones = rng.binomial(n, share)
    called_one = rng.binomial(ones, 1 - false_negative) + rng.binomial(n - ones, false_positive)
    return np.array([n - called_one, called_one])


def calibration(rng, errors, per_value):
    """Confusion counts ``[2, 2]`` of ``per_value`` calibration records of each S value."""
    false_positive, false_negative = errors
    fp, fn = rng.binomial(per_value, false_positive), rng.binomial(per_value, false_negative)
    return np.array([[per_value - fp, fp], [fn, per_value - fn]])


def corrected_conditions(rng, shares, errors, n, per_value):
    """One simulated condition per label value, each with its own calibration."""
    return [
        ConditionCounts(
            f"class {y}", y, n, annotated_counts(rng, shares[y], errors[y], n), calibration(rng, errors[y], per_value)
        )
        for y in (0, 1)
    ]


def true_gap(shares):
    """|P(Y=1 | S=1) - P(Y=1 | S=0)| with equal samples per label value and P(S=1 | Y=y) = shares[y]."""
    return abs(shares[1] / (shares[0] + shares[1]) - (1 - shares[1]) / (2 - shares[0] - shares[1]))


def test_class_dependent_annotator_errors_invent_a_gap_that_the_correction_removes():
    rng = np.random.default_rng(11)
    conditions = corrected_conditions(rng, (0.4, 0.4), CLASS_DEPENDENT_ERRORS, 4000, 400)  # S independent of Y
    naive = demographic_parity_gap(np.stack([condition.counts for condition in conditions], axis=1))
    assert naive.low > 0.10  # counted as annotated, a clear gap above the usual threshold
    corrected = corrected_parity_gap(conditions)
    assert corrected.dp_gap.value < 0.03 and corrected.dp_gap.low == 0.0 and corrected.dp_gap.high < 0.10
    assert corrected.shares_by_label[0]["1"].contains(0.4) and corrected.shares_by_label[1]["1"].contains(0.4)


@pytest.mark.parametrize(
    ("shares", "errors", "n", "per_value"),
    [
        ((0.3, 0.5), CLASS_DEPENDENT_ERRORS, 1000, 150),
        ((0.4, 0.4), CLASS_DEPENDENT_ERRORS, 1000, 150),  # no gap
        ((0.3, 0.5), ((0.02, 0.1), (0.02, 0.1)), 1000, 50),  # a small calibration with a rare error
    ],
)
def test_corrected_gap_interval_covers_the_true_gap_and_is_not_conservative(shares, errors, n, per_value):
    rng = np.random.default_rng(12)
    trials, covered = 300, 0
    for _ in range(trials):
        gap = corrected_parity_gap(
            corrected_conditions(rng, shares, errors, n, per_value), n_draws=1000, random_state=rng
        ).dp_gap
        covered += gap.contains(true_gap(shares))
    # nominal 0.95 (+-0.013 at 300 trials); the corner intervals this replaces covered 1.000 with half again the width
    assert 0.92 <= covered / trials <= 0.99


def test_gap_test_rejects_exactly_when_the_interval_lies_above_the_margin():
    rng = np.random.default_rng(13)
    agree = 0
    for _ in range(100):
        shares = (0.5 - rng.uniform(0, 0.15), 0.5 + rng.uniform(0, 0.15))
        result = corrected_parity_gap(
            corrected_conditions(rng, shares, CLASS_DEPENDENT_ERRORS, 1000, 250), n_draws=2000, random_state=rng
        )
        agree += (gap_excess_p_value(result.rate_draws, margin=0.10) <= 0.05) == (result.dp_gap.low > 0.10)
    assert agree >= 98  # up to the quantiles' interpolation between draws


def test_gap_test_holds_its_level_at_the_margin():
    rng = np.random.default_rng(14)
    shares = (0.4, 0.6)  # a gap of 0.2 exactly
    rejections = sum(
        gap_excess_p_value(
            corrected_parity_gap(
                corrected_conditions(rng, shares, CLASS_DEPENDENT_ERRORS, 1000, 250), n_draws=1000, random_state=rng
            ).rate_draws,
            margin=true_gap(shares),
        )
        <= 0.05
        for _ in range(300)
    )
    assert rejections / 300 <= 0.05


def test_excess_over_a_baseline_uses_its_draws_or_its_exact_rates():
    rng = np.random.default_rng(15)
    generated = corrected_parity_gap(
        corrected_conditions(rng, (0.3, 0.6), CLASS_DEPENDENT_ERRORS, 2000, 300), random_state=rng
    )
    reference = table_rate_draws(np.array([[500, 500], [500, 500]]), random_state=1)  # no gap in the reference
    assert gap_excess_p_value(generated.rate_draws, margin=0.05, baseline=reference) < 0.01
    assert gap_excess_p_value(generated.rate_draws, margin=0.05, baseline=np.array([0.5, 0.5])) < 0.01
    declared = np.array([0.5 - generated.dp_gap.value / 2, 0.5 + generated.dp_gap.value / 2])  # the same gap, declared
    assert gap_excess_p_value(generated.rate_draws, margin=0.05, baseline=declared) > 0.5


def test_conditions_of_one_label_are_combined_by_their_sample_counts():
    # label 0 has two classes of 300 and 900 samples with P(S=1) = 0.1 and 0.5: P(S=1 | Y=0) = 0.4
    perfect = np.array([[100, 0], [0, 100]])
    conditions = [
        ConditionCounts("class 0", 0, 300, np.array([270, 30]), perfect),
        ConditionCounts("class 1", 0, 900, np.array([450, 450]), perfect),
        ConditionCounts("class 2", 1, 600, np.array([300, 300]), perfect),
    ]
    result = corrected_parity_gap(conditions, group_names=["a", "b"])
    assert result.shares_by_label[0]["b"].value == pytest.approx(0.4)
    # P(Y=1 | b) = 600 * 0.5 / (1200 * 0.4 + 600 * 0.5)
    assert result.positive_rates["b"].value == pytest.approx(300 / 780)


def test_corrected_gap_is_undefined_when_a_group_is_absent_under_both_labels():
    confusion = np.array([[95, 5], [5, 95]])
    conditions = [ConditionCounts(f"class {y}", y, 500, np.array([500, 0]), confusion) for y in (0, 1)]
    result = corrected_parity_gap(conditions, group_names=["red", "green"])
    assert result.dp_gap is None and "'green'" in result.undefined and set(result.positive_rates) == {"red"}
    assert result.to_dict()["dp_gap"] is None and result.to_dict()["absent_groups"] == ["green"]


def test_no_sample_of_a_group_gives_the_exact_upper_bound_and_binomial_p_value():
    conditions = [ConditionCounts(f"Y={y}", y, 200, np.array([200, 0])) for y in (0, 1)]  # counts taken as they are
    result = corrected_parity_gap(conditions, group_names=["red", "green"], confidence=0.95)
    assert result.share_upper_bounds["green"] == {
        "0": pytest.approx(1 - 0.05 ** (1 / 200)),
        "1": pytest.approx(1 - 0.05 ** (1 / 200)),
    }
    assert result.under_representation_p_value("green", 0.1) == pytest.approx(0.9**200)
    assert result.under_representation_p_value("red", 0.1) == pytest.approx(1.0)


def test_share_upper_bound_of_a_group_at_the_floor_is_below_it_at_most_alpha_of_the_time():
    rng = np.random.default_rng(16)
    floor, below = 0.125, 0
    for _ in range(300):  # the group sits exactly at the floor under both label values
        conditions = corrected_conditions(rng, (floor, floor), CLASS_DEPENDENT_ERRORS, 1000, 250)
        below += (
            corrected_parity_gap(conditions, n_draws=1000, random_state=rng).under_representation_p_value("1", floor)
            <= 0.05
        )
    assert below / 300 <= 0.05


def test_group_seen_only_through_false_positives_is_called_under_represented():
    rng = np.random.default_rng(17)
    called = 0
    for _ in range(100):
        errors = [tuple(rng.uniform(0, 0.15, 2)) for _ in (0, 1)]  # false greens of up to 15%, per class
        conditions = corrected_conditions(rng, (0.0, 0.0), errors, 1000, 250)
        called += (
            corrected_parity_gap(conditions, n_draws=1000, random_state=rng).under_representation_p_value("1", 0.125)
            <= 0.01
        )
    assert called >= 95


def test_three_groups_are_corrected_with_their_matrices_and_bad_input_is_refused():
    confusion = np.array([[90, 5, 5], [5, 90, 5], [5, 5, 90]])
    conditions = [
        ConditionCounts(f"class {y}", y, 1000, np.array(counts), confusion)
        for y, counts in enumerate([[300, 400, 300], [200, 300, 500]])
    ]
    result = corrected_parity_gap(conditions)
    assert result.dp_gap.low <= result.dp_gap.value <= result.dp_gap.high
    assert set(result.positive_rates) == {"0", "1", "2"}
    with pytest.raises(InvalidData, match=r"expected a \(2, 2\) confusion matrix"):
        corrected_parity_gap([ConditionCounts("c", y, 10, np.array([5, 5]), confusion) for y in (0, 1)])
    with pytest.raises(TooFewSamples, match="no samples whose true value"):
        corrected_parity_gap(
            [ConditionCounts("c", y, 10, np.array([5, 5]), np.array([[0, 0], [5, 95]])) for y in (0, 1)]
        )
    with pytest.raises(TooFewSamples, match="both label values"):
        corrected_parity_gap([ConditionCounts("c", 0, 10, np.array([5, 5]))])
    with pytest.raises(ClassifierNoBetterThanChance):
        corrected_parity_gap(
            [ConditionCounts("c", y, 10, np.array([5, 5]), np.array([[50, 50], [50, 50]])) for y in (0, 1)]
        )


def test_reference_rate_draws_follow_the_tables_rates():
    draws = table_rate_draws(np.array([[800, 200], [400, 600]]), n_draws=4000, random_state=2)
    assert draws.shape == (4000, 2)
    assert draws.mean(axis=0) == pytest.approx([0.2, 0.6], abs=0.01)
    assert np.quantile(draws[:, 0], 0.975) == pytest.approx(stats.beta.ppf(0.975, 200.5, 800.5), abs=0.005)
