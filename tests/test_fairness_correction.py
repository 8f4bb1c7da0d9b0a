"""The fairness signature corrected for the S annotator's errors condition by condition: where each condition's
correction comes from (gold labels, per-class, per-label or overall calibration), what the verdict then judges,
and groups the model never (or too rarely) generates. Statistical claims are checked over many simulated scans."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from hubaudit.annotate.base import CalibrationRecords
from hubaudit.audit.fairness.correction import ConditionCalibration, condition_calibrations, gold_calibration
from hubaudit.audit.fairness.options import FairnessOptions
from hubaudit.audit.fairness.signature import audit_fairness
from hubaudit.data import colored_mnist

GROUPS = ("red", "green")
# the annotator misses 15% of the greens among class-0 samples and calls 15% of the reds green among class-1 samples
ERRORS_BY_CLASS = ({"false_positive": 0.02, "false_negative": 0.15}, {"false_positive": 0.15, "false_negative": 0.02})


def one_hot(codes: np.ndarray, width: int = 2) -> np.ndarray:
    return np.eye(width)[codes]


def annotated_codes(rng, truth: np.ndarray, *, false_positive: float, false_negative: float) -> np.ndarray:
    """Annotated S codes ``int [n]`` of true codes ``truth`` (0/1) by an annotator with these error rates."""
    flipped = rng.random(len(truth)) < np.where(truth == 1, false_negative, false_positive)
    return (truth ^ flipped).astype(int)


def calibration_counts(rng, per_value: int, *, false_positive: float, false_negative: float) -> np.ndarray:
    """A (2, 2) confusion count of ``per_value`` calibration records of each S value."""
    fp, fn = rng.binomial(per_value, false_positive), rng.binomial(per_value, false_negative)
    return np.array([[per_value - fp, fp], [fn, per_value - fn]])


def per_class(
    rng, per_value: int, errors=ERRORS_BY_CLASS, source="per-class calibration"
) -> list[ConditionCalibration]:
    return [ConditionCalibration(source, "simulated", calibration_counts(rng, per_value, **error)) for error in errors]


def simulated_scan(rng, shares, n, errors=ERRORS_BY_CLASS) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per class: true S codes and annotated S codes of ``n`` samples with P(S=green) = shares[class]."""
    truth = [(rng.random(n) < share).astype(int) for share in shares]
    return truth, [annotated_codes(rng, codes, **error) for codes, error in zip(truth, errors)]


def class_conditional_audit(annotated: list[np.ndarray], calibrations=None, **options):
    options.setdefault("explain", False)
    return audit_fairness(
        kind="class-conditional",
        conditions=[0, 1],
        probabilities={"color": [one_hot(codes) for codes in annotated]},
        attribute_values={"color": GROUPS},
        options=FairnessOptions(sensitive=("color",), **options.pop("fairness", {})),
        calibrations={("color", "label"): calibrations} if calibrations is not None else None,
        **options,
    )


def test_correction_with_per_class_calibration_removes_a_gap_invented_by_class_dependent_errors():
    rng = np.random.default_rng(21)
    _, annotated = simulated_scan(rng, (0.4, 0.4), 3000)  # S independent of Y
    naive = class_conditional_audit(annotated)
    assert naive.pairs[0].verdict.finding  # not calibrated: the invented gap of about 0.13 is a finding
    assert "not calibrated" in naive.to_dict()["corrected"]["unavailable"]
    calibrations = per_class(rng, 1000)
    corrected = class_conditional_audit(annotated, calibrations)
    pair = corrected.pairs[0]
    assert not pair.verdict.finding and pair.verdict.judged == "corrected (per-class calibration)"
    assert "corrected for the annotator's errors (per-class calibration), is " in pair.verdict.reason
    assert pair.generated.dp_gap.low > 0.10  # as annotated, the gap's whole interval lies above the threshold
    assert pair.corrected_gap.value < 0.05 and pair.corrected_gap.high < 0.10
    report = corrected.to_dict()["corrected"]
    assert report["confusion"] == "per-class calibration" and report["class_dependent_error_removed"]
    assert report["confusion_by_label"]["1"] == calibrations[1].confusion.tolist()
    assert [entry["condition"] for entry in report["calibration_by_condition"]] == [0, 1]
    assert report["shares_by_label"]["0"]["green"]["low"] < 0.4 < report["shares_by_label"]["0"]["green"]["high"]
    assert corrected.to_dict()["verdict"]["guarantee"].startswith(
        "a false finding on any of the 2 criteria of all pairs"
    )


def test_real_gap_hidden_by_class_dependent_errors_is_found_from_the_corrected_gap_alone():
    # class 0 calls 15% of the reds green, class 1 misses 15% of the greens: the annotated gap nearly vanishes, and the
    # annotated table's independence test (which used to gate every finding) rarely rejects
    rng = np.random.default_rng(22)
    errors = ({"false_positive": 0.15, "false_negative": 0.0}, {"false_positive": 0.0, "false_negative": 0.15})
    found = 0
    for _ in range(100):
        _, annotated = simulated_scan(rng, (0.3, 0.5), 1000, errors)
        pair = class_conditional_audit(annotated, per_class(rng, 250, errors), seed=int(rng.integers(1 << 30))).pairs[
            0
        ]
        found += pair.verdict.finding
    assert found / 100 >= 0.65  # about 0.8; the verdict gated by the annotated table's test found 0.17


def test_corrected_gap_of_the_audit_covers_the_true_gap_by_simulation():
    rng = np.random.default_rng(23)
    truth = 0.5 / 0.8 - 0.5 / 1.2  # P(green | Y) = 0.3, 0.5, equal samples per class
    covered = 0
    for _ in range(100):
        _, annotated = simulated_scan(rng, (0.3, 0.5), 800)
        pair = class_conditional_audit(annotated, per_class(rng, 150), seed=int(rng.integers(1 << 30))).pairs[0]
        covered += pair.corrected_gap.contains(truth)
    assert 0.9 <= covered / 100 <= 0.995


def test_overall_calibration_says_class_dependent_error_is_not_removed():
    rng = np.random.default_rng(24)
    _, annotated = simulated_scan(rng, (0.4, 0.4), 500)
    overall = calibration_counts(rng, 300, false_positive=0.08, false_negative=0.08)
    signature = class_conditional_audit(
        annotated, [ConditionCalibration("overall calibration", "simulated", overall)] * 2
    )
    verdict = signature.to_dict()["verdict"]
    assert verdict["guarantee"] is None and "errors that differ by class are NOT removed" in verdict["reason"]
    assert not signature.to_dict()["corrected"]["class_dependent_error_removed"]


def test_never_generated_group_is_a_finding_and_the_signature_still_renders(tmp_path):
    from hubaudit.report.html_report import render_html
    from hubaudit.report.markdown_report import render_markdown
    from hubaudit.report.terminal import fairness_lines
    from report_examples import minimal_report

    annotated = [np.zeros(200, int), np.zeros(200, int)]  # no sample annotated green
    reference = colored_mnist(n=100, seed=4, image_size=8)
    calibrations = [ConditionCalibration("overall calibration", "simulated", np.array([[95, 5], [5, 95]]))] * 2
    signature = class_conditional_audit(annotated, calibrations, reference=reference)
    pair = signature.pairs[0]
    assert pair.verdict.finding and pair.verdict.reason.startswith(
        "finding: the demographic-parity gap at P(Y=1) = 0.50, corrected"
    )
    assert "sensitive group 'green' never generated or under-represented" in pair.verdict.reason
    assert "annotated so: 0 of 200, 0 of 200" in pair.verdict.reason
    assert [finding["kind"] for finding in signature.findings()] == ["fairness"]
    report = json.loads(json.dumps(signature.to_dict(), allow_nan=False))
    generated = report["by_source"]["generated"]
    assert generated["dp_gap"] is None and generated["empty_groups"] == ["green"] and "dp_gap_undefined" in generated
    assert generated["table"] == [[200, 200], [0, 0]] and generated["positive_rates"]["red"]["value"] == 0.5
    assert "gap_difference" not in report and report["by_source"]["reference"]["dp_gap"] is not None
    assert report["corrected"]["absent_groups"] == ["green"] and report["corrected"]["dp_gap"] is None
    met = [criterion for criterion in report["verdict"]["criteria"] if criterion["met"]]
    assert [(criterion["criterion"], criterion["groups"]) for criterion in met] == [("under_represented", ["green"])]
    assert report["min_group_share"] == {"color/label": 0.125}
    assert "demographic-parity gap undefined" in fairness_lines(report)[0]
    full = {
        **minimal_report(tmp_path, conditions=(0, 1)),
        "fairness": report,
        "findings": signature.findings(),
        "verdicts": signature.verdicts(),
    }
    html, markdown = render_html(full), render_markdown(full)
    assert "never generated" in html and "generated, corrected (overall calibration)" in html
    assert "never generated" in markdown and "demographic-parity gap undefined" in markdown


def test_group_seen_only_through_annotator_false_positives_is_a_finding():
    rng = np.random.default_rng(25)
    found = 0
    for _ in range(40):
        errors = [{"false_positive": rng.uniform(0, 0.15), "false_negative": rng.uniform(0, 0.15)} for _ in (0, 1)]
        _, annotated = simulated_scan(rng, (0.0, 0.0), 1000, errors)  # every green is a false positive
        pair = class_conditional_audit(annotated, per_class(rng, 250, errors), seed=int(rng.integers(1 << 30))).pairs[
            0
        ]
        found += pair.verdict.finding and "'green' absent or under-represented" in pair.verdict.reason
    assert found / 40 >= 0.9  # about 0.99; the clipped point estimate's zero found about 0.27


def test_few_samples_of_a_present_group_are_no_under_representation_finding():
    rng = np.random.default_rng(26)
    flagged = 0
    for _ in range(100):
        _, annotated = simulated_scan(rng, (0.3, 0.3), 5)  # often no green among 5 samples of a class
        pair = class_conditional_audit(annotated, per_class(rng, 250), seed=int(rng.integers(1 << 30))).pairs[0]
        flagged += any(criterion.met for criterion in pair.verdict.criteria if criterion.name == "under_represented")
    assert flagged <= 5  # the point-estimate rule called a present group "never generated" about 24% of the time


def annotator_with_records(label_column: np.ndarray, errors_by_value: dict[int, float], *, rng) -> SimpleNamespace:
    """A stand-in annotator of two colours whose calibration records carry ``label_column``; records whose column
    value is v are mislabelled with probability ``errors_by_value[v]``."""
    truth = np.tile([0, 1], len(label_column) // 2)
    flipped = rng.random(len(truth)) < np.array([errors_by_value[int(value)] for value in label_column])
    predicted = truth ^ flipped
    records = CalibrationRecords(truth, predicted.astype(np.int64), {"label": label_column})
    confusion = np.bincount(truth * 2 + predicted, minlength=4).reshape(2, 2)
    return SimpleNamespace(
        attribute=SimpleNamespace(name="color", values=GROUPS),
        confusion=confusion,
        calibration_records=records,
        calibration="simulated records",
    )


def test_condition_calibrations_use_a_class_id_column_per_class_and_a_label_column_per_label():
    rng = np.random.default_rng(27)
    codes = [np.zeros(10, int)] * 3
    by_class = annotator_with_records(np.repeat([0, 1, 2], 400), {0: 0.02, 1: 0.2, 2: 0.1}, rng=rng)
    found = condition_calibrations(
        by_class,
        label="label",
        conditions=[0, 1, 2],
        condition_labels={0: 0, 1: 0, 2: 1},
        kind="class-conditional",
        annotated=codes,
        gold=[None] * 3,
    )
    assert [calibration.source for calibration in found] == ["per-class calibration"] * 3
    assert [int(calibration.confusion.sum()) for calibration in found] == [400, 400, 400]
    assert found[1].confusion[0, 1] > found[0].confusion[0, 1]  # class 1's own, larger error
    by_label = annotator_with_records(np.repeat([0, 1], 600), {0: 0.05, 1: 0.05}, rng=rng)
    found = condition_calibrations(
        by_label,
        label="label",
        conditions=[0, 1, 2],
        condition_labels={0: 0, 1: 0, 2: 1},
        kind="class-conditional",
        annotated=codes,
        gold=[None] * 3,
    )
    assert [calibration.source for calibration in found] == [
        "per-label calibration",
        "per-label calibration",
        "per-class calibration",
    ]
    found = condition_calibrations(
        by_label,
        label="gender",
        conditions=[0, 1],
        condition_labels={0: 0, 1: 1},
        kind="class-conditional",
        annotated=codes[:2],
        gold=[None] * 2,
    )
    assert found[0].source == "overall calibration" and "no column 'gender'" in found[0].description
    by_label.confusion = None
    assert condition_calibrations(
        by_label,
        label="label",
        conditions=[0, 1],
        condition_labels={0: 0, 1: 1},
        kind="class-conditional",
        annotated=codes[:2],
        gold=[None] * 2,
    ) == [None, None]


def test_held_out_split_of_a_trained_annotator_gives_per_class_calibration():
    from hubaudit.annotate import train_auxiliary_annotator

    data = colored_mnist(n=300, seed=5, image_size=8)
    annotator = train_auxiliary_annotator(data, "color", epochs=1)
    records = annotator.calibration_records
    assert len(records.true_values) == annotator.provenance["held_out_size"] < len(data)  # never the training records
    found = condition_calibrations(
        annotator,
        label="label",
        conditions=[0, 1],
        condition_labels={0: 0, 1: 1},
        kind="class-conditional",
        annotated=[np.zeros(4, int)] * 2,
        gold=[None] * 2,
    )
    assert [calibration.source for calibration in found] == ["per-class calibration"] * 2
    assert sum(calibration.confusion for calibration in found).tolist() == annotator.confusion.tolist()


def test_gold_labels_correct_an_error_on_generated_images_that_the_calibration_does_not_show():
    # on generated images the annotator calls 20% of the reds green in both classes; its calibration records show 2%
    rng = np.random.default_rng(28)
    generated = ({"false_positive": 0.2, "false_negative": 0.02},) * 2
    covered = {"calibration": 0, "gold": 0}
    truth_gap = 0.4 / 0.6 - 0.6 / 1.4  # P(green | Y) = 0.2, 0.4
    for _ in range(30):
        truth, annotated = simulated_scan(rng, (0.2, 0.4), 1000, generated)
        calibrated = per_class(rng, 250, ({"false_positive": 0.02, "false_negative": 0.02},) * 2)
        gold = [
            gold_calibration(np.arange(200), codes[:200], annotated_class, 2)
            for codes, annotated_class in zip(truth, annotated)
        ]
        for name, calibrations in {"calibration": calibrated, "gold": gold}.items():
            pair = class_conditional_audit(annotated, calibrations, seed=int(rng.integers(1 << 30))).pairs[0]
            covered[name] += pair.corrected_gap.contains(truth_gap)
    assert covered["gold"] >= 26 and covered["calibration"] <= 10
    assert (
        gold[0].source == "gold labels on generated samples"
        and gold[0].description == "200 gold labels of its 1000 samples"
    )


def test_gold_labels_without_a_group_are_used_alone_and_bound_its_share_exactly():
    rng = np.random.default_rng(29)
    annotated = [annotated_codes(rng, np.zeros(1000, int), false_positive=0.1, false_negative=0.1) for _ in (0, 1)]
    gold = [
        gold_calibration(np.arange(300), np.zeros(300, int), codes, 2) for codes in annotated
    ]  # no green among 300
    assert gold[0].source == "gold labels alone" and "no gold label has value(s) 1" in gold[0].description
    signature = class_conditional_audit(annotated, gold)
    pair = signature.pairs[0]
    assert pair.corrected.gap.share_upper_bounds["green"]["0"] == pytest.approx(1 - 0.05 ** (1 / 300))
    assert (
        pair.verdict.finding and "'green' never generated" not in pair.verdict.reason
    )  # some samples were annotated green
    assert "'green' absent or under-represented" in pair.verdict.reason
    assert signature.to_dict()["corrected"]["confusion"] == "gold labels alone"


def test_annotated_label_is_not_corrected():
    rng = np.random.default_rng(30)
    color, tint = (rng.random(400) < 0.5).astype(int), (rng.random(400) < 0.5).astype(int)
    signature = audit_fairness(
        kind="class-conditional",
        conditions=[0, 1],
        probabilities={"color": np.split(one_hot(color), 2), "tint": np.split(one_hot(tint), 2)},
        attribute_values={"color": GROUPS, "tint": ("0", "1")},
        options=FairnessOptions(sensitive=("color",), labels=("tint",)),
    )
    assert "Y is annotated too" in signature.to_dict()["corrected"]["unavailable"]
    assert "as annotated (not corrected for annotator errors)" in signature.pairs[0].verdict.reason


def test_a_group_missing_from_a_few_samples_is_inconclusive_and_the_reason_says_why():
    signature = class_conditional_audit([np.zeros(5, int), np.zeros(5, int)])  # no green among 10 samples
    verdict = signature.pairs[0].verdict
    assert (
        verdict.outcome == "inconclusive"
        and "'green': none of the 10 samples was annotated so, too few to tell" in verdict.reason
    )
    assert signature.to_dict()["by_source"]["generated"]["dp_gap"] is None
