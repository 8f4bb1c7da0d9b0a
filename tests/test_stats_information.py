"""S x Y contingency helpers: mutual information, independence tests (exact when sparse), BH, positive rates,
parity gap (the gap corrected for annotator errors is in test_stats_corrected_gap.py)."""

import math

import numpy as np
import pytest
from scipy import stats

from coverage_simulation import simulate_gap_coverage
from hubaudit.errors import EmptyGroup, InvalidData
from hubaudit.stats import (
    benjamini_hochberg,
    contingency_table,
    demographic_parity_gap,
    independence_tests,
    mutual_information,
    positive_rates,
)
from hubaudit.stats.information import BOSCHLOO_MAX_TABLES, meets_cochrans_rule


def test_contingency_table_counts_each_pair():
    table = contingency_table(np.array([0, 0, 1, 1, 1, 2]), np.array([0, 1, 1, 1, 0, 1]))
    assert table.tolist() == [[1, 1], [1, 2], [0, 1]]
    assert contingency_table(np.array([0]), np.array([1]), groups=2, label_values=3).shape == (2, 3)


def test_contingency_table_of_no_samples_is_a_one_line_error():
    with pytest.raises(InvalidData, match="needs at least one sample"):
        contingency_table(np.array([], dtype=int), np.array([], dtype=int), groups=2, label_values=2)


def test_mutual_information_of_an_independent_table_is_zero():
    assert mutual_information([[10, 20], [30, 60]], bias_correction=False) == pytest.approx(0.0, abs=1e-12)
    assert mutual_information([[10, 20], [30, 60]]) == 0.0


def test_mutual_information_of_a_perfectly_dependent_table_is_one_bit():
    assert mutual_information([[50, 0], [0, 50]], bias_correction=False) == pytest.approx(math.log(2))
    assert mutual_information([[50, 0], [0, 50]], bias_correction=False, bits=True) == pytest.approx(1.0)


def test_miller_madow_removes_most_of_the_plug_in_bias_under_independence():
    rng = np.random.default_rng(0)
    tables = [rng.multinomial(100, np.outer([0.3, 0.3, 0.4], [0.5, 0.5]).ravel()).reshape(3, 2) for _ in range(300)]
    plug_in = np.mean([mutual_information(t, bias_correction=False) for t in tables])
    corrected = np.mean([mutual_information(t) for t in tables])
    assert plug_in == pytest.approx((3 - 1) * (2 - 1) / (2 * 100), rel=0.3)
    assert corrected < plug_in / 2


def test_chi_square_and_g_test_match_hand_computation():
    # expected 25 in every cell: chi2 = 4 * 5^2 / 25 = 4, one degree of freedom
    result = independence_tests([[20, 30], [30, 20]])
    assert result.chi_square == pytest.approx(4.0)
    assert result.chi_square_p_value == pytest.approx(0.0455, abs=1e-4)
    assert result.degrees_of_freedom == 1 and result.n == 100
    plug_in = mutual_information([[20, 30], [30, 20]], bias_correction=False)
    assert result.g_statistic == pytest.approx(2 * 100 * plug_in)
    assert result.to_dict()["g_p_value"] == result.g_p_value


def test_chi_square_on_a_two_by_three_table():
    # scipy's documented example: chi2 = 2.777..., dof = 2, p = 0.2494
    result = independence_tests([[10, 10, 20], [20, 20, 20]])
    assert result.chi_square == pytest.approx(2.7777778)
    assert result.chi_square_p_value == pytest.approx(0.24935, abs=1e-4)


def test_sparse_two_by_two_table_gets_boschloos_exact_test():
    table = [[3, 1], [1, 3]]
    assert not meets_cochrans_rule(np.array(table))
    result = independence_tests(table)
    assert result.method == "boschloo-exact" and "Cochran's rule" in result.note
    assert result.p_value == pytest.approx(stats.boschloo_exact(table).pvalue)
    assert result.g_p_value is None and result.chi_square is None and result.degrees_of_freedom == 1


def test_sparse_two_by_two_table_too_large_for_boschloo_gets_fishers_test():
    table = [[400, 395], [1, 4]]  # 401 x 399 > BOSCHLOO_MAX_TABLES tables to enumerate
    assert (401 + 1) * (399 + 1) > BOSCHLOO_MAX_TABLES
    result = independence_tests(table)
    assert result.method == "fisher-exact"
    assert result.p_value == pytest.approx(stats.fisher_exact(table).pvalue)


def exact_fisher_p_value(table: list[list[int]]) -> float:
    """Fisher's exact p-value of a 2 x C table by enumerating every table with its margins."""
    rows, columns = np.sum(table, axis=1), np.sum(table, axis=0)

    def probability(first_row):
        cells = [*first_row, *(columns - first_row)]
        return math.exp(
            sum(math.lgamma(m + 1) for m in (*rows, *columns))
            - math.lgamma(rows.sum() + 1)
            - sum(math.lgamma(c + 1) for c in cells)
        )

    tables = [np.array(first) for first in np.ndindex(*(columns + 1)) if sum(first) == rows[0]]
    observed = probability(np.array(table[0]))
    return sum(p for p in map(probability, tables) if p <= observed * (1 + 1e-9))


def test_sparse_larger_table_gets_a_monte_carlo_fisher_test_close_to_the_exact_one():
    table = [[3, 1, 0], [1, 3, 2]]
    result = independence_tests(table)
    assert result.method == "fisher-exact-monte-carlo" and result.degrees_of_freedom == 2
    assert result.p_value == pytest.approx(exact_fisher_p_value(table), abs=0.015)
    assert independence_tests(table, random_state=1).p_value == pytest.approx(result.p_value, abs=0.015)


def test_exact_test_holds_its_level_on_sparse_independent_tables():
    rng = np.random.default_rng(5)
    p_values = []
    for _ in range(200):  # 12 samples per label value, P(S=1) = 0.3 under both: expected counts below 5
        ones = rng.binomial(12, 0.3, size=2)
        p_values.append(independence_tests([12 - ones, ones]).p_value)
    assert np.mean(np.array(p_values) <= 0.05) <= 0.05


def test_empty_rows_and_columns_are_dropped_before_testing():
    with_empty = independence_tests([[20, 30], [0, 0], [30, 20]])
    assert with_empty.method == "g-test" and with_empty.degrees_of_freedom == 1
    assert with_empty.g_p_value == pytest.approx(independence_tests([[20, 30], [30, 20]]).g_p_value)


def test_table_where_s_takes_one_value_has_no_test():
    result = independence_tests([[30, 30], [0, 0]])
    assert (result.method, result.p_value, result.degrees_of_freedom) == ("none", 1.0, 0)
    assert "S takes one value" in result.note


def test_mutual_information_ignores_an_empty_group_but_rates_name_it():
    assert mutual_information([[10, 5], [0, 0], [5, 10]]) == pytest.approx(mutual_information([[10, 5], [5, 10]]))
    with pytest.raises(EmptyGroup, match="'women'"):
        positive_rates([[10, 5], [0, 0]], group_names=["men", "women"])
    with pytest.raises(EmptyGroup):
        demographic_parity_gap([[0, 0], [4, 5]])


def test_benjamini_hochberg_rejects_the_step_up_set():
    rejected, adjusted = benjamini_hochberg([0.01, 0.04, 0.2])
    assert rejected.tolist() == [True, False, False]
    assert adjusted == pytest.approx([0.03, 0.06, 0.2])
    assert benjamini_hochberg([0.01, 0.02, 0.03, 0.04, 0.05])[0].all()
    with pytest.raises(InvalidData):
        benjamini_hochberg([0.5, 1.5])


def test_positive_rates_per_group_and_simultaneous_widening():
    rates = positive_rates([[70, 30], [40, 60]], group_names=["a", "b"])
    single = positive_rates([[70, 30], [40, 60]], group_names=["a", "b"], simultaneous=False)
    assert rates["a"].value == pytest.approx(0.3) and rates["b"].value == pytest.approx(0.6)
    assert rates["a"].n == 100
    assert rates["a"].half_width > single["a"].half_width
    with pytest.raises(InvalidData):
        positive_rates([[1, 2, 3], [4, 5, 6]])


def test_parity_gap_of_two_groups_is_symmetric_in_group_order():
    gap = demographic_parity_gap([[70, 30], [40, 60]], group_names=["a", "b"])
    swapped = demographic_parity_gap([[40, 60], [70, 30]], group_names=["b", "a"])
    assert gap.value == pytest.approx(0.3) and gap.method == "newcombe"
    assert (gap.low, gap.high) == pytest.approx((swapped.low, swapped.high))
    assert 0.15 < gap.low < 0.3 < gap.high < 0.45
    assert "highest rate: b" in gap.notes[0]


def test_parity_gap_interval_starts_at_zero_when_groups_may_be_equal():
    gap = demographic_parity_gap([[50, 50], [48, 52]])
    assert gap.low == 0.0 and gap.high > gap.value


def test_parity_gap_of_several_groups_is_max_minus_min():
    gap = demographic_parity_gap([[80, 20], [50, 50], [60, 40]])
    assert gap.value == pytest.approx(0.3) and gap.method == "bonferroni-clopper-pearson"
    assert gap.low <= 0.3 <= gap.high


@pytest.mark.parametrize(
    "rates, sizes",
    [([0.3, 0.5], 200), ([0.4, 0.4], 150), ([0.1, 0.5, 0.3], [100, 200, 300])],
)
def test_parity_gap_interval_covers_the_true_gap(rates, sizes):
    result = simulate_gap_coverage(positive_rates=rates, group_size=sizes, trials=400, random_state=9)
    assert result.coverage >= 0.93
