"""Fairness signature statistics, label mappings, model-card rates and the downstream probe, on known answers."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from fairlearn.metrics import demographic_parity_difference, equalized_odds_difference
from scipy import stats

from hubaudit.audit.fairness import FairnessOptions, PairSignature, audit_fairness, declared_positive_rates, gap_difference
from hubaudit.audit.fairness_correction import LabelConfusions, label_confusions
from hubaudit.audit.fairness_sources import source_signature
from hubaudit.audit.label_mapping import condition_labels, parse_label_map, parse_label_prompts
from hubaudit.audit.probe import fairness_differences, probe_downstream
from hubaudit.data import colored_mnist
from hubaudit.errors import InvalidAttributeSpec, InvalidLabelMapping, TooFewSamples
from hubaudit.stats import ShareEstimate

GROUPS = ("red", "green")


def codes_from_table(table: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Sensitive and label codes ``int64 [N]`` whose S x Y table is ``table``."""
    cells = [(s, y, count) for s, row in enumerate(table) for y, count in enumerate(row)]
    sensitive = np.concatenate([np.full(count, s) for s, _, count in cells])
    labels = np.concatenate([np.full(count, y) for _, y, count in cells])
    return sensitive, labels


def signature_of(table: list[list[int]], **options) -> object:
    sensitive, labels = codes_from_table(table)
    return source_signature(sensitive, labels, group_names=GROUPS, confidence=0.95, **options)


def test_signature_of_a_table_with_a_known_gap():
    signature = signature_of([[80, 20], [40, 60]])  # P(Y=1|red) = 0.2, P(Y=1|green) = 0.6
    assert signature.table.tolist() == [[80, 20], [40, 60]]
    assert signature.positive_rates["red"].value == pytest.approx(0.2)
    assert signature.positive_rates["green"].value == pytest.approx(0.6)
    assert signature.dp_gap.value == pytest.approx(0.4)
    assert 0.25 < signature.dp_gap.low < 0.4 < signature.dp_gap.high < 0.55
    expected = stats.chi2_contingency([[80, 20], [40, 60]], correction=False)
    assert signature.tests.chi_square_p_value == pytest.approx(expected.pvalue)
    # plug-in I(S;Y) minus the Miller-Madow correction (1 + 1 - 3) / (2 N)
    plug_in = stats.entropy([100, 100]) + stats.entropy([120, 80]) - stats.entropy([80, 20, 40, 60])
    assert signature.mutual_information_nats == pytest.approx(plug_in - 1 / 400)


def test_empty_sensitive_group_leaves_its_rate_and_the_gap_undefined():
    signature = signature_of([[30, 30], [0, 0]])
    assert signature.empty_groups == ["green"] and signature.dp_gap is None
    assert set(signature.positive_rates) == {"red"} and signature.positive_rates["red"].value == pytest.approx(0.5)
    report = signature.to_dict()
    assert report["dp_gap"] is None and "'green' have no samples" in report["dp_gap_undefined"]
    assert report["independence_test"]["method"] == "none"


def test_table_failing_cochrans_rule_gets_an_exact_test():
    signature = signature_of([[2, 1], [1, 2]])
    assert signature.tests.method == "boschloo-exact"
    assert signature.tests.p_value == pytest.approx(stats.boschloo_exact([[2, 1], [1, 2]]).pvalue)
    assert signature.to_dict()["independence_test"]["method"] == "boschloo-exact"
    assert signature.to_dict()["g_test_p_value"] is None
    assert signature_of([[80, 20], [40, 60]]).tests.method == "g-test"


def pair_for(table: list[list[int]], reference: list[list[int]] | None = None) -> PairSignature:
    return PairSignature("color", "label", "test", GROUPS, signature_of(table), reference and signature_of(reference))


def verdict_of(pair: PairSignature, *, adjusted_p_value: float | None = None):
    p_value = pair.generated.tests.p_value if adjusted_p_value is None else adjusted_p_value
    return pair.judge(adjusted_p_value=p_value, confidence=0.95, max_dp_gap=0.10, max_gap_increase=0.05)


def test_gap_whose_interval_lies_above_the_threshold_is_a_finding():
    verdict = verdict_of(pair_for([[160, 40], [80, 120]]))
    assert verdict.finding
    assert verdict.reason.startswith("the demographic-parity gap of the generated data is 0.40 [")
    assert "above 0.10" in verdict.reason


def test_gap_whose_interval_reaches_below_the_threshold_is_no_finding():
    verdict = verdict_of(pair_for([[110, 90], [94, 106]]))  # gap 0.08
    assert not verdict.finding and "not above 0.10" in verdict.reason


def test_gap_significantly_above_the_references_is_a_finding_below_the_threshold():
    generated, reference = [[1800, 200], [1500, 500]], [[1800, 200], [1800, 200]]  # gap 0.15 vs 0.0
    pair = pair_for(generated, reference)
    assert pair.gap_difference.low > 0.05
    verdict = pair.judge(adjusted_p_value=1e-9, confidence=0.95, max_dp_gap=0.2, max_gap_increase=0.05)
    assert verdict.finding and "exceeds the reference's gap by 0.15" in verdict.reason


def test_no_finding_without_significant_dependence_after_correction():
    verdict = verdict_of(pair_for([[160, 40], [80, 120]]), adjusted_p_value=0.2)
    assert not verdict.finding and "not significantly dependent" in verdict.reason


def test_gap_difference_combines_both_intervals_by_mover():
    generated = ShareEstimate(0.3, 0.2, 0.4, "newcombe", 400, 0.95)
    reference = ShareEstimate(0.1, 0.05, 0.15, "newcombe", 400, 0.95)
    difference = gap_difference(generated, reference)
    assert difference.value == pytest.approx(0.2)
    assert difference.low == pytest.approx(0.2 - math.hypot(0.1, 0.05))
    assert difference.high == pytest.approx(0.2 + math.hypot(0.1, 0.05))
    declared = gap_difference(generated, 0.1)
    assert (declared.value, declared.low, declared.high) == pytest.approx((0.2, 0.1, 0.3))


def test_gap_difference_interval_covers_the_true_difference_by_simulation():
    rng = np.random.default_rng(3)
    generated_rates, reference_rates, size = (0.3, 0.5), (0.45, 0.4), 200
    true_difference = 0.2 - 0.05
    covered = 0
    for _ in range(300):
        tables = [[[size - k, k] for k in rng.binomial(size, rates)] for rates in (generated_rates, reference_rates)]
        difference = gap_difference(*(signature_of(table).dp_gap for table in tables))
        covered += difference.contains(true_difference)
    assert covered / 300 >= 0.92


def test_false_finding_rate_on_clean_tables_is_at_most_five_percent_by_simulation():
    rng = np.random.default_rng(4)
    findings = 0
    for _ in range(200):
        tables = [[[100 - k, k] for k in rng.binomial(100, 0.4, size=2)] for _ in range(2)]
        findings += verdict_of(pair_for(*tables)).finding
    assert findings / 200 <= 0.05


def test_label_map_and_label_prompt_parse():
    assert parse_label_map("0=0, 1=0,2=1") == {0: 0, 1: 0, 2: 1}
    assert parse_label_prompts(["1 = a photo of a doctor", "0=a=b"]) == {"a photo of a doctor": 1, "a=b": 0}
    with pytest.raises(InvalidLabelMapping, match="each prompt once"):
        parse_label_prompts(["1=a cat", "0=a cat"])


@pytest.mark.parametrize("text", ["0=0,0=1", "0=2", "a=1", "0", "0=0,,1=1"])
def test_malformed_label_map_is_refused(text):
    with pytest.raises(InvalidLabelMapping, match="--label-map"):
        parse_label_map(text)


def test_condition_labels_read_classes_and_prompts():
    assert condition_labels([0, 1, 2], kind="class-conditional", label_map={0: 0, 1: 0, 2: 1}, label_prompts=None) == {0: 0, 1: 0, 2: 1}
    assert condition_labels([0, 1], kind="class-conditional", label_map=None, label_prompts=None) == {0: 0, 1: 1}
    prompts = {"a doctor": 1, "a nurse": 0}
    assert condition_labels(["a nurse", "a doctor"], kind="text-to-image", label_map=None, label_prompts=prompts) == {"a nurse": 0, "a doctor": 1}


@pytest.mark.parametrize(
    ("conditions", "kind", "label_map", "message"),
    [
        ([0, 1, 2], "class-conditional", {0: 0, 1: 1}, "no label for class 2: add it to --label-map"),
        ([0, 1, 2], "class-conditional", None, "covers classes 0, 1, 2: map them"),
        ([0, 1, 2], "class-conditional", {0: 1, 1: 1, 2: 1}, "all have label 1"),
        (["a cat"], "text-to-image", None, "no label for prompt 'a cat'"),
        ([None], "unconditional", None, "annotate it with --attribute"),
    ],
)
def test_label_mapping_that_does_not_fit_the_scan_is_refused(conditions, kind, label_map, message):
    with pytest.raises(InvalidLabelMapping, match=message):
        condition_labels(conditions, kind=kind, label_map=label_map, label_prompts=None)


def test_declared_rates_are_read_from_the_model_card_section():
    flat = {"training_statistics": {"positive_rate_by_sensitive": {"0": 0.6, 1: 0.4}}}
    assert declared_positive_rates(flat, sensitive="color", label="label", group_names=("0", "1")) == {"0": 0.6, "1": 0.4}
    keyed = {"positive_rate_by_sensitive": {"color/label": {"red": 0.5, "green": 0.7}}}
    assert declared_positive_rates(keyed, sensitive="color", label="label", group_names=GROUPS) == {"red": 0.5, "green": 0.7}
    assert declared_positive_rates(flat, sensitive="color", label="label", group_names=GROUPS) is None
    assert declared_positive_rates({}, sensitive="color", label="label", group_names=GROUPS) is None


def one_hot(codes: np.ndarray, width: int = 2) -> np.ndarray:
    return np.eye(width)[codes]


def test_audit_adjusts_p_values_over_pairs_and_finds_only_the_skewed_one():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], 300)
    skewed = (rng.random(600) < np.where(labels == 1, 0.8, 0.3)).astype(int)
    independent = (rng.random(600) < 0.5).astype(int)
    images = [np.zeros((300, 4, 4, 3), np.uint8)] * 2
    signature = audit_fairness(
        kind="class-conditional",
        conditions=[0, 1],
        images=images,
        probabilities={"color": np.split(one_hot(skewed), 2), "size": np.split(one_hot(independent), 2)},
        attribute_values={"color": ("0", "1"), "size": ("0", "1")},
        options=FairnessOptions(sensitive=("color", "size")),
    )
    report = signature.to_dict()
    assert report["sensitive"] == "color" and report["verdict"]["finding"]
    assert report["other_pairs"][0]["sensitive"] == "size" and not report["other_pairs"][0]["verdict"]["finding"]
    raw = [pair.generated.tests.p_value for pair in signature.pairs]
    assert report["adjusted_p_values"]["size/label"] == pytest.approx(max(raw))
    assert report["adjusted_p_values"]["color/label"] == pytest.approx(min(min(raw) * 2, max(raw)))
    assert [finding["message"][:12] for finding in signature.findings()] == ["color/label:"]


def test_sensitive_name_without_an_attribute_is_refused():
    with pytest.raises(InvalidAttributeSpec, match="--sensitive gender: no --attribute"):
        audit_fairness(
            kind="class-conditional", conditions=[0, 1], images=[np.zeros((2, 4, 4, 3), np.uint8)] * 2,
            probabilities={}, attribute_values={}, options=FairnessOptions(sensitive=("gender",)),
        )


def test_fairness_differences_of_the_count_cube_match_fairlearn():
    rng = np.random.default_rng(1)
    sensitive, labels, predicted = rng.integers(0, 3, 300), rng.integers(0, 2, 300), rng.integers(0, 2, 300)
    cube = np.zeros((3, 2, 2))
    np.add.at(cube, (sensitive, labels, predicted), 1)
    parity, odds = fairness_differences(cube)
    assert parity == pytest.approx(demographic_parity_difference(labels, predicted, sensitive_features=sensitive))
    assert odds == pytest.approx(equalized_odds_difference(labels, predicted, sensitive_features=sensitive))


@pytest.mark.slow
def test_probe_trained_on_colour_skewed_samples_is_unfair_on_the_reference():
    reference = colored_mnist(n=600, seed=1, image_size=16)
    generated = colored_mnist(n=400, seed=2, image_size=16)
    skewed_labels = generated.column("color")  # a sharer whose label is the colour
    comparison = probe_downstream(
        generated.images, skewed_labels, (reference.images, reference.column("color"), reference.column("label")),
        group_names=GROUPS,
    )
    on_generated, on_reference = comparison.trained_on_generated, comparison.trained_on_reference
    assert on_generated.demographic_parity_difference.low > 0.8
    assert on_reference.demographic_parity_difference.value < 0.15
    assert comparison.dp_difference_added > 0.7
    assert comparison.accuracy_lost > 0.2
    assert set(on_generated.selection_rate) == set(GROUPS)
    assert on_generated.equalized_odds_difference.contains(on_generated.equalized_odds_difference.value)


def test_probe_refuses_a_reference_cell_with_too_few_records():
    reference = colored_mnist(n=60, p_color_given_label=(0.05, 0.5), image_size=8)
    with pytest.raises(TooFewSamples, match="sensitive=green, label=0 has"):
        probe_downstream(
            reference.images, reference.column("label"), (reference.images, reference.column("color"), reference.column("label")),
            group_names=GROUPS,
        )


def test_gap_above_the_model_cards_declared_gap_is_a_finding():
    green = np.concatenate([np.arange(1000) < 400, np.arange(1000) < 600]).astype(int)  # P(green | Y) = 0.4, 0.6: gap 0.2
    inputs = dict(
        kind="class-conditional", conditions=[0, 1], probabilities={"color": np.split(one_hot(green), 2)},
        attribute_values={"color": ("0", "1")}, options=FairnessOptions(sensitive=("color",), max_dp_gap=0.3),
    )
    honest = {"training_statistics": {"positive_rate_by_sensitive": {"0": 0.4, "1": 0.6}}}
    understated = {"training_statistics": {"positive_rate_by_sensitive": {"0": 0.5, "1": 0.5}}}
    assert not audit_fairness(card=honest, **inputs).pairs[0].verdict.finding
    skewed = audit_fairness(card=understated, **inputs)
    assert skewed.pairs[0].verdict.finding and "exceeds the declared gap by 0.20" in skewed.pairs[0].verdict.reason
    declared = skewed.to_dict()["by_source"]["declared"]
    assert declared["dp_gap"] == 0.0 and declared["gap_difference"]["value"] == pytest.approx(0.2)
    assert skewed.to_dict()["by_source"]["generated"]["table"] == [[600, 400], [400, 600]]


def annotated_codes(rng, true_share: float, n: int, *, false_positive: float, false_negative: float) -> np.ndarray:
    """``n`` annotated S codes of samples with P(S=1) = ``true_share``, by an annotator with these error rates."""
    truth = rng.random(n) < true_share
    flipped = rng.random(n) < np.where(truth, false_negative, false_positive)
    return (truth ^ flipped).astype(int)


def calibration_counts(rng, per_value: int, *, false_positive: float, false_negative: float) -> np.ndarray:
    """A (2, 2) confusion count of ``per_value`` calibration records of each S value."""
    fp, fn = rng.binomial(per_value, false_positive), rng.binomial(per_value, false_negative)
    return np.array([[per_value - fp, fp], [fn, per_value - fn]])


# the annotator misses 15% of the greens among class-0 samples and calls 15% of the reds green among class-1 samples
ERRORS_BY_CLASS = ({"false_positive": 0.02, "false_negative": 0.15}, {"false_positive": 0.15, "false_negative": 0.02})


def class_conditional_audit(annotated: list[np.ndarray], **options):
    return audit_fairness(
        kind="class-conditional", conditions=[0, 1], probabilities={"color": [one_hot(codes) for codes in annotated]},
        attribute_values={"color": GROUPS}, options=FairnessOptions(sensitive=("color",)), **options,
    )


def test_correction_with_per_class_calibration_removes_a_gap_invented_by_class_dependent_errors():
    rng = np.random.default_rng(21)
    annotated = [annotated_codes(rng, 0.4, 3000, **errors) for errors in ERRORS_BY_CLASS]  # S independent of Y
    naive = class_conditional_audit(annotated)
    assert naive.pairs[0].verdict.finding  # not calibrated: the invented gap of about 0.13 is a finding
    assert naive.to_dict()["corrected"] == {"unavailable": "the annotator of color is not calibrated (no confusion matrix)"}
    per_class = np.stack([calibration_counts(rng, 1000, **errors) for errors in ERRORS_BY_CLASS])
    confusions = {("color", "label"): LabelConfusions(per_class, "per-class calibration", "simulated")}
    corrected = class_conditional_audit(annotated, confusions=confusions)
    pair = corrected.pairs[0]
    assert not pair.verdict.finding
    assert "corrected for the annotator's errors (per-class calibration), is " in pair.verdict.reason
    assert pair.generated.dp_gap.low > 0.10  # as annotated, the gap's whole interval lies above the threshold
    assert pair.corrected_gap.low == 0.0 and pair.corrected_gap.value < 0.05
    report = corrected.to_dict()["corrected"]
    assert report["confusion"] == "per-class calibration" and report["confusion_by_label"]["1"] == per_class[1].tolist()
    assert report["shares_by_label"]["0"]["green"]["low"] < 0.4 < report["shares_by_label"]["0"]["green"]["high"]
    assert any("errors that differ by Y value" in note for note in corrected.notes)


def test_corrected_gap_of_the_audit_covers_the_true_gap_by_simulation():
    rng = np.random.default_rng(22)
    shares = (0.3, 0.5)  # equal samples per class: P(Y=1|green) = 0.625, P(Y=1|red) = 0.5/1.2
    truth = 0.5 / 0.8 - 0.5 / 1.2
    covered = 0
    for _ in range(60):
        annotated = [annotated_codes(rng, share, 800, **errors) for share, errors in zip(shares, ERRORS_BY_CLASS)]
        per_class = np.stack([calibration_counts(rng, 150, **errors) for errors in ERRORS_BY_CLASS])
        pair = class_conditional_audit(annotated, confusions={("color", "label"): LabelConfusions(per_class, "per-class calibration", "simulated")}, seed=int(rng.integers(1 << 30))).pairs[0]
        covered += pair.corrected_gap.contains(truth)
    assert covered / 60 >= 0.9


def test_never_generated_group_is_a_finding_and_the_signature_still_renders(tmp_path):
    from report_examples import minimal_report

    from hubaudit.report.html_report import render_html
    from hubaudit.report.markdown_report import render_markdown
    from hubaudit.report.terminal import fairness_lines

    annotated = [np.zeros(200, int), np.zeros(200, int)]  # no sample annotated green
    reference = colored_mnist(n=100, seed=4, image_size=8)
    confusions = {("color", "label"): LabelConfusions(np.array([[[95, 5], [5, 95]]] * 2), "overall calibration", "simulated")}
    signature = class_conditional_audit(annotated, reference=reference, confusions=confusions)
    pair = signature.pairs[0]
    assert pair.verdict.finding and pair.verdict.reason.startswith("sensitive group(s) 'green' never generated: none of the 400")
    assert "gap of the generated data is undefined" in pair.verdict.reason
    assert [finding["kind"] for finding in signature.findings()] == ["fairness"]
    report = json.loads(json.dumps(signature.to_dict()))
    generated = report["by_source"]["generated"]
    assert generated["dp_gap"] is None and generated["empty_groups"] == ["green"] and "dp_gap_undefined" in generated
    assert generated["table"] == [[200, 200], [0, 0]] and generated["positive_rates"]["red"]["value"] == 0.5
    assert "gap_difference" not in report and report["by_source"]["reference"]["dp_gap"] is not None
    assert report["corrected"]["absent_groups"] == ["green"] and report["corrected"]["dp_gap"] is None
    assert "demographic-parity gap undefined" in fairness_lines(report)[0]
    full = {**minimal_report(tmp_path, conditions=(0, 1)), "fairness": report, "findings": signature.findings()}
    html, markdown = render_html(full), render_markdown(full)
    assert "never generated" in html and "generated, corrected (overall calibration)" in html
    assert "never generated" in markdown and "demographic-parity gap n/a" in markdown


def test_group_seen_only_through_annotator_errors_is_never_generated_after_correction():
    rng = np.random.default_rng(23)
    errors = {"false_positive": 0.05, "false_negative": 0.1}
    annotated = [annotated_codes(rng, 0.0, 1000, **errors) for _ in range(2)]  # greens are all false positives
    assert min(codes.sum() for codes in annotated) > 20
    confusion = calibration_counts(rng, 400, **errors)
    signature = class_conditional_audit(
        annotated, confusions={("color", "label"): LabelConfusions(np.stack([confusion, confusion]), "overall calibration", "simulated")})
    pair = signature.pairs[0]
    assert pair.verdict.finding and "'green' never generated as far as the annotator's errors tell" in pair.verdict.reason
    assert signature.to_dict()["corrected"]["absent_groups"] == ["green"]


def test_label_confusions_split_the_held_out_split_by_the_label_column():
    from hubaudit.annotate import train_auxiliary_annotator

    data = colored_mnist(n=300, seed=5, image_size=8)
    annotator = train_auxiliary_annotator(data, "color", epochs=1)
    records = annotator.calibration_records
    assert len(records.true_values) == annotator.provenance["held_out_size"] < len(data)  # never the training records
    per_class = label_confusions(annotator, "label")
    assert per_class.source == "per-class calibration" and "split by column label" in per_class.calibration
    assert per_class.counts.sum(axis=0).tolist() == annotator.confusion.tolist()
    for label in (0, 1):
        held_out = records.columns["label"] == label
        assert per_class.counts[label].sum() == held_out.sum()
    overall = label_confusions(annotator, "gender")
    assert overall.source == "overall calibration" and "no column 'gender'" in overall.calibration
    assert (overall.counts == annotator.confusion).all()
    annotator.confusion = annotator.confusion  # a matrix set directly has no records
    assert "not known here" in label_confusions(annotator, "label").calibration
    annotator.confusion = None
    assert label_confusions(annotator, "label") is None


def test_annotated_label_is_not_corrected():
    rng = np.random.default_rng(24)
    color, tint = (rng.random(400) < 0.5).astype(int), (rng.random(400) < 0.5).astype(int)
    signature = audit_fairness(
        kind="class-conditional", conditions=[0, 1], probabilities={"color": np.split(one_hot(color), 2), "tint": np.split(one_hot(tint), 2)},
        attribute_values={"color": GROUPS, "tint": ("0", "1")}, options=FairnessOptions(sensitive=("color",), labels=("tint",)),
        confusions={("color", "tint"): LabelConfusions(np.stack([np.eye(2, dtype=int) * 50] * 2), "overall calibration", "simulated")},
    )
    assert "Y is annotated too" in signature.to_dict()["corrected"]["unavailable"]
    assert "as annotated (not corrected for annotator errors)" in signature.pairs[0].verdict.reason
