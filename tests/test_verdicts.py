"""Verdicts that hold: finding, no finding (equivalence), inconclusive or not tested, each valid for the audit as run.

Each test here names a way the old composition of sound pieces gave a confident verdict that was wrong.
"""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from hubaudit.audit.fairness.correction import ConditionCalibration
from hubaudit.audit.fairness.options import FairnessOptions
from hubaudit.audit.fairness.signature import audit_fairness
from hubaudit.audit.options import PropertyOptions
from hubaudit.audit.properties.audit import look_schedule
from hubaudit.stats import holm
from hubaudit.stats.corrected_gap import ConditionCounts, corrected_parity_gap, rates_at_label_share
from hubaudit.stats.correction import confusion_shift_p_value
from hubaudit.stats.outcome import combined, settled

GROUPS = ("red", "green")


def one_hot(codes: np.ndarray, groups: int = 2) -> np.ndarray:
    return np.eye(groups)[codes]


def calibration(rng, per_class: int, false_positive: float, false_negative: float) -> np.ndarray:
    """Confusion counts ``[[tn, fp], [fn, tp]]`` of ``per_class`` records of each true value."""
    fp, fn = rng.binomial(per_class, false_positive), rng.binomial(per_class, false_negative)
    return np.array([[per_class - fp, fp], [fn, per_class - fn]])


def annotate(rng, truth: np.ndarray, false_positive: float, false_negative: float) -> np.ndarray:
    flip = np.where(truth == 1, rng.random(truth.size) < false_negative, rng.random(truth.size) < false_positive)
    return np.where(flip, 1 - truth, truth)


def scan(
    rng, shares, n, per_class_calibration, *, errors=(0.05, 0.05), groups=GROUPS, explain=False, card=None, **options
):
    """A class-conditional audit of two classes with P(S=green | class) = shares, per-class calibration."""
    annotated = [annotate(rng, (rng.random(n) < share).astype(int), *errors) for share in shares]
    calibrations = [
        ConditionCalibration("per-class calibration", "simulated", calibration(rng, per_class_calibration, *errors))
        for _ in shares
    ]
    return audit_fairness(
        kind="class-conditional",
        conditions=[0, 1],
        probabilities={"color": [one_hot(codes) for codes in annotated]},
        attribute_values={"color": groups},
        options=FairnessOptions(sensitive=("color",), **options),
        calibrations={("color", "label"): calibrations},
        seed=int(rng.integers(1 << 30)),
        explain=explain,
        card=card,
    )


def test_outcomes_combine_as_intersection_union():
    assert settled(0.01, 0.9, alpha=0.05) == "finding" and settled(0.9, 0.01, alpha=0.05) == "no finding"
    assert settled(0.5, 0.5, alpha=0.05) == "inconclusive"
    assert (
        combined(["no finding", "finding"]) == "finding" and combined(["no finding", "inconclusive"]) == "inconclusive"
    )
    assert (
        combined(["no finding", "not tested", "no finding"]) == "no finding"
        and combined(["not tested"]) == "not tested"
    )


def test_a_gap_the_interval_cannot_rule_out_is_inconclusive_never_no_finding():
    # true generated gap 0.20 (P(green | Y) = 0.4, 0.6), 150 samples and 100 calibration records per class: the old
    # verdict said "not above 0.10" in 32 of 40 scans, with upper bounds near 0.34
    rng = np.random.default_rng(1)
    outcomes = [scan(rng, (0.4, 0.6), 150, 100).pairs[0].verdict.outcome for _ in range(40)]
    assert "no finding" not in outcomes and outcomes.count("inconclusive") >= 20


def test_an_inconclusive_pair_says_how_many_samples_settle_it_and_that_many_do():
    rng = np.random.default_rng(2)
    signature = scan(rng, (0.48, 0.5), 100, 2000, explain=True)
    verdict = signature.pairs[0].verdict
    assert verdict.outcome == "inconclusive"
    n = verdict.settle["n_per_condition"]
    assert n is not None and n > 100 and f"rerun with -n {n}" in verdict.next_step
    at_n = scan(np.random.default_rng(3), (0.48, 0.5), n * 2, 2000).pairs[0].verdict.outcome  # with margin to spare
    assert at_n == "no finding"


def test_a_settled_pair_reports_the_annotator_shift_that_would_change_it():
    verdict = scan(np.random.default_rng(4), (0.5, 0.5), 3000, 1000, explain=True).pairs[0].verdict
    assert verdict.outcome == "no finding"
    shift = verdict.sensitivity["error_rate_shift"]
    assert shift is not None and 0.0 < shift <= 0.5 and "calibration records" in verdict.sensitivity["note"]


def test_shared_calibration_is_drawn_once_so_its_error_does_not_average_away():
    # five conditions per label share one overall matrix: drawn per condition, its error averaged away and the
    # coverage of P(S=1 | Y=1) fell to about 0.71, the gap's to about 0.58
    rng = np.random.default_rng(5)
    truth = (0.3, 0.5)
    gap = 0.5 / 0.8 - 0.5 / 1.2
    covered_share = covered_gap = 0
    trials = 150
    for _ in range(trials):
        matrix = calibration(rng, 100, 0.1, 0.1)
        conditions = [
            ConditionCounts(
                f"c{label}{k}",
                label,
                400,
                np.bincount(annotate(rng, (rng.random(400) < truth[label]).astype(int), 0.1, 0.1), minlength=2),
                matrix,
                "overall",
            )
            for label in (0, 1)
            for k in range(5)
        ]
        result = corrected_parity_gap(
            conditions, group_names=GROUPS, n_draws=2000, random_state=int(rng.integers(1 << 30))
        )
        covered_share += result.shares_by_label[1]["green"].contains(truth[1])
        covered_gap += result.dp_gap.contains(gap)
    assert covered_share / trials >= 0.9 and covered_gap / trials >= 0.9


def test_declared_rates_are_compared_at_the_scans_label_balance():
    # a faithful model with P(S=green | Y) = (0.3, 0.7) trained at P(Y=1) = 0.2 declares a gap of 0.272; scanned at
    # equal samples per class its gap is 0.40: the old verdict flagged declared_excess in 40 of 40 scans
    declared = {"0": 0.2 * 0.7 / (0.2 * 0.7 + 0.8 * 0.3), "1": 0.2 * 0.3 / (0.2 * 0.3 + 0.8 * 0.7)}
    assert abs(declared["0"] - declared["1"]) == pytest.approx(0.272, abs=0.001)
    moved = rates_at_label_share(np.array([declared["0"], declared["1"]]), label_share=0.2, target_label_share=0.5)
    assert moved == pytest.approx([0.7, 0.3])  # P(Y=1 | s) at equal label sizes, from P(S | Y) alone
    card = {"training_statistics": {"positive_rate_by_sensitive": declared, "label_share": 0.2}}
    rng = np.random.default_rng(6)
    flagged = 0
    for _ in range(20):
        pair = scan(rng, (0.7, 0.3), 2000, 1000, groups=("0", "1"), max_dp_gap=0.9, card=card).pairs[0]
        criterion = {c.name: c for c in pair.verdict.criteria}["declared_excess"]
        flagged += criterion.outcome == "finding"
    assert flagged <= 1


def test_declared_rates_without_their_label_share_are_not_compared():
    card = {"positive_rate_by_sensitive": {"0": 0.5, "1": 0.5}}
    pair = scan(np.random.default_rng(7), (0.4, 0.6), 500, 500, groups=("0", "1"), card=card).pairs[0]
    criterion = {c.name: c for c in pair.verdict.criteria}["declared_excess"]
    assert criterion.outcome == "not tested" and "training P(Y=1)" in criterion.not_tested
    assert "not tested: the gap above the model card's declared gap" in pair.verdict.criteria_applied


def test_a_rare_group_no_longer_silences_the_gap_criterion():
    # groups A and B 0.57 apart, group C at 0.5%: C's corrected share clips to 0 under both labels, its rate is
    # undefined, and the old verdict skipped max_dp_gap altogether
    shares = {0: (0.72, 0.275, 0.005), 1: (0.275, 0.72, 0.005)}
    conditions = [
        ConditionCounts(f"class {y}", y, 2000, np.round(np.array(shares[y]) * 2000).astype(int)) for y in (0, 1)
    ]
    conditions[0] = ConditionCounts("class 0", 0, 2000, np.array([1440, 560, 0]))
    conditions[1] = ConditionCounts("class 1", 1, 2000, np.array([560, 1440, 0]))
    result = corrected_parity_gap(conditions, group_names=("A", "B", "C"))
    assert result.undefined_groups == ("C",) and result.dp_gap is not None and result.dp_gap.low > 0.3
    assert "lower bound of the gap over all groups" in " ".join(result.dp_gap.notes)


def test_findings_are_controlled_family_wise_by_holm():
    rng = np.random.default_rng(8)
    p_values = rng.random(12) ** 2
    assert np.allclose(holm(p_values)[1], multipletests(p_values, method="holm")[1])
    signature = scan(np.random.default_rng(9), (0.2, 0.6), 500, 500)
    assert signature.pairs[0].verdict.outcome == "finding"
    assert "(Holm)" in signature.pairs[0].verdict.guarantee and "Holm" in signature.error_control()
    assert "Benjamini" not in signature.pairs[0].verdict.guarantee


def test_a_sequential_stop_tests_at_alpha_over_its_looks():
    # with --target-width the fairness p-values used to be taken at the data-dependent stop with the fixed-n text
    schedule = look_schedule(PropertyOptions(attributes=("x=clip",), target_width=0.05), 2000, 50)
    assert schedule[0] == 50 and schedule[-1] == 2000 and schedule == sorted(set(schedule))
    assert look_schedule(PropertyOptions(attributes=("x=clip",)), 2000, 50) == [2000]
    looks = len(schedule)
    sequential = audit_fairness(**_inputs_of(np.random.default_rng(11)), looks=looks)
    fixed = audit_fairness(**_inputs_of(np.random.default_rng(11)))
    assert f"/{looks}" in sequential.error_control() and sequential.to_dict()["sequential_looks"] == looks
    assert f"/{looks}" in sequential.pairs[0].verdict.guarantee and fixed.looks == 1
    by_name = {c.name: c for c in sequential.pairs[0].verdict.criteria}
    fixed_by_name = {c.name: c for c in fixed.pairs[0].verdict.criteria}
    for name, criterion in by_name.items():  # same data, same p-values: only the level differs
        assert criterion.adjusted_p_value == fixed_by_name[name].adjusted_p_value
        if criterion.outcome == "finding":
            assert criterion.adjusted_p_value <= 0.05 / looks


def _inputs_of(rng) -> dict:
    annotated = [annotate(rng, (rng.random(800) < share).astype(int), 0.05, 0.05) for share in (0.45, 0.55)]
    calibrations = [
        ConditionCalibration("per-class calibration", "simulated", calibration(rng, 800, 0.05, 0.05)) for _ in (0, 1)
    ]
    return dict(
        kind="class-conditional",
        conditions=[0, 1],
        probabilities={"color": [one_hot(codes) for codes in annotated]},
        attribute_values={"color": GROUPS},
        options=FairnessOptions(sensitive=("color",)),
        calibrations={("color", "label"): calibrations},
        seed=1,
        explain=False,
    )


def test_gold_labels_that_disagree_with_the_calibration_records_flag_a_shift():
    records = np.array([[490, 10], [10, 490]])
    assert confusion_shift_p_value(np.array([[95, 5], [4, 96]]), records) > 0.05
    assert confusion_shift_p_value(np.array([[70, 30], [4, 96]]), records) < 0.001
    assert confusion_shift_p_value(np.array([[0, 0], [4, 96]]), np.array([[0, 0], [10, 490]])) is not None
