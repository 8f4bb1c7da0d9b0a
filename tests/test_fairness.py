"""Fairness signature statistics, the verdict and its error control, label mappings, model-card rates and the
downstream probe (the correction for annotator errors: test_fairness_correction.py)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from fairlearn.metrics import demographic_parity_difference, equalized_odds_difference
from scipy import stats

from hubaudit.audit.fairness.correction import annotated_counts
from hubaudit.audit.fairness.declared_rates import declared_positive_rates
from hubaudit.audit.fairness.label_mapping import condition_labels, parse_label_map, parse_label_prompts
from hubaudit.audit.fairness.options import FairnessOptions
from hubaudit.audit.fairness.pair import PairSignature, mover_difference
from hubaudit.audit.fairness.probe import fairness_differences, probe_downstream
from hubaudit.audit.fairness.signature import audit_fairness
from hubaudit.audit.fairness.sources import source_signature
from hubaudit.audit.fairness.verdict import judge_pairs
from hubaudit.data import colored_mnist
from hubaudit.errors import InvalidAttributeSpec, InvalidFairnessOptions, InvalidLabelMapping, TooFewSamples
from hubaudit.stats import ShareEstimate
from hubaudit.stats.corrected_gap import corrected_parity_gap

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
    pair = PairSignature("color", "label", "test", GROUPS, signature_of(table), reference and signature_of(reference))
    pair.judged_counts = annotated_counts(np.array(table))
    pair.judged = corrected_parity_gap(pair.judged_counts, group_names=GROUPS, confidence=0.95)
    return pair


def verdict_of(pair: PairSignature, explain: bool = False, **options):
    judge_pairs([pair], FairnessOptions(sensitive=("color",), **options), explain=explain)
    return pair.verdict


def test_gap_whose_interval_lies_above_the_threshold_is_a_finding():
    verdict = verdict_of(pair_for([[160, 40], [80, 120]]))
    assert verdict.finding and verdict.outcome == "finding"
    assert verdict.reason.startswith("finding: the demographic-parity gap at P(Y=1) = 0.40 is 0.40 [")
    assert "; above 0.10 (Holm-adjusted p = " in verdict.reason and verdict.judged == "as annotated"
    assert [criterion.name for criterion in verdict.criteria if criterion.met] == ["max_dp_gap"]
    assert verdict.guarantee is None and "no false-finding guarantee" in verdict.reason


def test_gap_whose_interval_reaches_above_the_threshold_is_never_no_finding():
    # the old verdict said "not above 0.10" whenever the interval did not lie wholly above the margin
    verdict = verdict_of(pair_for([[110, 90], [94, 106]]))  # gap 0.08 [0, 0.2]: not shown within 0.10
    assert verdict.outcome == "inconclusive" and not verdict.finding
    assert "neither above 0.10 nor shown otherwise" in verdict.reason and "not above" not in verdict.reason


def test_gap_significantly_above_the_references_is_a_finding_below_the_threshold():
    generated, reference = [[1800, 200], [1500, 500]], [[1800, 200], [1800, 200]]  # gap 0.15 vs 0.0
    pair = pair_for(generated, reference)
    verdict = verdict_of(pair, max_dp_gap=0.2)
    assert pair.gap_difference.low > 0.05
    assert verdict.finding and "above the reference's gap by more than 0.05 (0.15 [" in verdict.reason
    assert {criterion.name: criterion.met for criterion in verdict.criteria}["reference_excess"]


def test_gap_difference_combines_both_intervals_by_mover():
    generated = ShareEstimate(0.3, 0.2, 0.4, "newcombe", 400, 0.95)
    reference = ShareEstimate(0.1, 0.05, 0.15, "newcombe", 400, 0.95)
    difference = mover_difference(generated, reference)
    assert difference.value == pytest.approx(0.2)
    assert difference.low == pytest.approx(0.2 - math.hypot(0.1, 0.05))
    assert difference.high == pytest.approx(0.2 + math.hypot(0.1, 0.05))
    declared = mover_difference(generated, 0.1)
    assert (declared.value, declared.low, declared.high) == pytest.approx((0.2, 0.1, 0.3))


def test_gap_difference_interval_covers_the_true_difference_by_simulation():
    rng = np.random.default_rng(3)
    generated_rates, reference_rates, size = (0.3, 0.5), (0.45, 0.4), 200
    true_difference = 0.2 - 0.05
    covered = 0
    for _ in range(300):
        tables = [[[size - k, k] for k in rng.binomial(size, rates)] for rates in (generated_rates, reference_rates)]
        difference = mover_difference(*(signature_of(table).dp_gap for table in tables))
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
    assert condition_labels([0, 1, 2], kind="class-conditional", label_map={0: 0, 1: 0, 2: 1}, label_prompts=None) == {
        0: 0,
        1: 0,
        2: 1,
    }
    assert condition_labels([0, 1], kind="class-conditional", label_map=None, label_prompts=None) == {0: 0, 1: 1}
    prompts = {"a doctor": 1, "a nurse": 0}
    assert condition_labels(["a nurse", "a doctor"], kind="text-to-image", label_map=None, label_prompts=prompts) == {
        "a nurse": 0,
        "a doctor": 1,
    }


@pytest.mark.parametrize(
    ("conditions", "kind", "label_map", "message"),
    [
        ([0, 1, 2], "class-conditional", {0: 0, 1: 1}, "no label for class 2: add it to --label-map"),
        ([0, 1, 2], "class-conditional", None, "covers classes 0, 1, 2: map them"),
        ([0, 1, 2], "class-conditional", {0: 1, 1: 1, 2: 1}, "all have label 1"),
        (["a cat"], "text-to-image", None, "no label for prompt 'a cat'"),
        ([None], "unconditional", None, "annotate it with attributes NAME=SPEC"),
    ],
)
def test_label_mapping_that_does_not_fit_the_scan_is_refused(conditions, kind, label_map, message):
    with pytest.raises(InvalidLabelMapping, match=message):
        condition_labels(conditions, kind=kind, label_map=label_map, label_prompts=None)


def test_declared_rates_are_read_from_the_model_card_section():
    flat = {"training_statistics": {"positive_rate_by_sensitive": {"0": 0.6, 1: 0.4}}}
    assert declared_positive_rates(flat, sensitive="color", label="label", group_names=("0", "1")) == (
        {"0": 0.6, "1": 0.4},
        None,
    )
    keyed = {"positive_rate_by_sensitive": {"color/label": {"red": 0.5, "green": 0.7}}}
    assert declared_positive_rates(keyed, sensitive="color", label="label", group_names=GROUPS) == (
        {"red": 0.5, "green": 0.7},
        None,
    )
    assert declared_positive_rates({}, sensitive="color", label="label", group_names=GROUPS) == (None, None)
    other = {"positive_rate_by_sensitive": {"gender": {"a": 0.5, "b": 0.7}}}
    assert declared_positive_rates(other, sensitive="color", label="label", group_names=GROUPS) == (None, None)


@pytest.mark.parametrize(
    ("card", "why"),
    [
        ({"training_statistics": "x"}, "training_statistics is a str, not a mapping"),
        ({"positive_rate_by_sensitive": [0.5, 0.5]}, "is a list, not a mapping"),
        (
            {"positive_rate_by_sensitive": {"red": 0.5, "green": float("nan")}},
            "rate of group 'green' (nan) is not a number in [0, 1]",
        ),
        (
            {"positive_rate_by_sensitive": {"red": 1.5, "green": 0.5}},
            "rate of group 'red' (1.5) is not a number in [0, 1]",
        ),
        ({"positive_rate_by_sensitive": {"red": True, "green": 0.5}}, "rate of group 'red' (True)"),
        ({"positive_rate_by_sensitive": {"0": 0.5, "1": 0.5}}, "declares groups ['0', '1'], not ['green', 'red']"),
    ],
)
def test_a_malformed_model_card_is_ignored_with_its_reason(card, why):
    rates, ignored = declared_positive_rates(card, sensitive="color", label="label", group_names=GROUPS)
    assert rates is None and why in ignored
    signature = audit_fairness(
        kind="class-conditional",
        conditions=[0, 1],
        probabilities={"color": [one_hot(np.arange(40) % 2)] * 2},
        attribute_values={"color": GROUPS},
        options=FairnessOptions(sensitive=("color",)),
        card=card,
    )
    report = json.loads(json.dumps(signature.to_dict(), allow_nan=False))  # no NaN reaches the JSON
    assert "declared" not in report["by_source"] and any(why in note for note in report["notes"])


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
            kind="class-conditional",
            conditions=[0, 1],
            images=[np.zeros((2, 4, 4, 3), np.uint8)] * 2,
            probabilities={},
            attribute_values={},
            options=FairnessOptions(sensitive=("gender",)),
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
        generated.images,
        skewed_labels,
        (reference.images, reference.column("color"), reference.column("label")),
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
            reference.images,
            reference.column("label"),
            (reference.images, reference.column("color"), reference.column("label")),
            group_names=GROUPS,
        )


def test_gap_above_the_model_cards_declared_gap_is_a_finding():
    green = np.concatenate([np.arange(1000) < 400, np.arange(1000) < 600]).astype(
        int
    )  # P(green | Y) = 0.4, 0.6: gap 0.2
    inputs = dict(
        kind="class-conditional",
        conditions=[0, 1],
        probabilities={"color": np.split(one_hot(green), 2)},
        attribute_values={"color": ("0", "1")},
        options=FairnessOptions(sensitive=("color",), max_dp_gap=0.3),
    )
    honest = {"training_statistics": {"positive_rate_by_sensitive": {"0": 0.4, "1": 0.6}, "label_share": 0.5}}
    understated = {"training_statistics": {"positive_rate_by_sensitive": {"0": 0.5, "1": 0.5}, "label_share": 0.5}}
    assert not audit_fairness(card=honest, **inputs).pairs[0].verdict.finding
    skewed = audit_fairness(card=understated, **inputs)
    assert (
        skewed.pairs[0].verdict.finding
        and "above the model card's declared gap by more than 0.05 (0.20 [" in skewed.pairs[0].verdict.reason
    )
    declared = skewed.to_dict()["by_source"]["declared"]
    assert declared["dp_gap"] == 0.0 and declared["gap_difference"]["value"] == pytest.approx(0.2)
    assert skewed.to_dict()["by_source"]["generated"]["table"] == [[600, 400], [400, 600]]


def test_min_group_share_option_defaults_to_a_fraction_of_parity_and_is_checked():
    options = FairnessOptions.from_arguments(["color"], min_group_share=None)
    assert options.group_floor(2) == pytest.approx(0.125) and options.group_floor(4) == pytest.approx(0.0625)
    assert options.min_group_share is None
    given = FairnessOptions.from_arguments(["color"], min_group_share=0.05)
    assert given.group_floor(3) == 0.05
    with pytest.raises(InvalidFairnessOptions, match=r"--min-group-share must lie in \(0, 1\)"):
        FairnessOptions(sensitive=("color",), min_group_share=1.5)
    with pytest.raises(InvalidFairnessOptions, match="--min-group-share belongs to the fairness audit"):
        FairnessOptions.from_arguments(None, min_group_share=0.1)


def test_false_findings_are_controlled_over_criteria_and_pairs_by_simulation():
    # four sensitive attributes, each with a gap of exactly --max-dp-gap (0.10) and exactly --max-gap-increase (0.05)
    # above the gap its model card declares: every criterion sits on its null's boundary
    rng = np.random.default_rng(31)
    names = ("s1", "s2", "s3", "s4")
    card = {
        "positive_rate_by_sensitive": {f"{name}/label": {"0": 0.475, "1": 0.525} for name in names},
        "label_share": 0.5,
    }
    trials, with_finding = 100, 0
    for _ in range(trials):
        annotated = {
            name: [one_hot((rng.random(1000) < share).astype(int)) for share in (0.45, 0.55)] for name in names
        }
        signature = audit_fairness(
            kind="class-conditional",
            conditions=[0, 1],
            probabilities=annotated,
            attribute_values=dict.fromkeys(names, ("0", "1")),
            options=FairnessOptions(sensitive=names),
            card=card,
            seed=int(rng.integers(1 << 30)),
            explain=False,
        )
        with_finding += bool(signature.findings())
    assert with_finding / trials <= 0.08  # nominal 0.05; each criterion at its own 2.5% would give about 0.2
