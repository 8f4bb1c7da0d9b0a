"""The sharer's privacy self-audit: an equivalence test of the pooled generated share against the training share,
the samples that would settle it, the training-weighted pooling, the sensitivity to annotator shift, gold-label shift."""

from __future__ import annotations

import datasets
import numpy as np
import pytest

from hubaudit.annotate import AuxiliaryAnnotator
from hubaudit.annotate.auxiliary import SmallCNN
from hubaudit.annotate.base import Attribute
from hubaudit.audit.options import PropertyOptions
from hubaudit.audit.properties.audit import PropertyAudit, primary_method
from hubaudit.audit.properties.entries import (
    calibration_shift,
    condition_entry,
    gold_entry,
    pooled_sequential,
    sequential_entry,
)
from hubaudit.audit.properties.self_audit import (
    judged,
    not_tested,
    pooled_estimator,
    self_audit,
)
from hubaudit.audit.properties.training_shares import TrainingRecords, TrainingShares
from hubaudit.data import load_text_column
from hubaudit.stats import simultaneous_intervals
from hubaudit.stats.corrected_gap import ConditionCounts, weighted_shares
from hubaudit.stats.correction import shifted_confusion
from hubaudit.stats.ppi import GoldStratum

WIDE_CALIBRATION = [[2000, 100], [100, 2000]]  # tpr = 1 - fpr = 0.952: a narrow corrected interval


def annotator(confusion=None, values=("0", "1")) -> AuxiliaryAnnotator:
    return AuxiliaryAnnotator(
        Attribute("is_zero", tuple(values)),
        SmallCNN(1, len(values)),
        image_size=16,
        channels=1,
        provenance={},
        confusion=confusion,
    )


def one_hot(n: int, share: float, confusion=None) -> np.ndarray:
    """``float [n, 2]`` probabilities of n samples whose labelled share of value 1 is what an annotator with
    ``confusion`` gives for a true share ``share`` (``share`` itself without one)."""
    if confusion is not None:
        (tn, fp), (fn, tp) = np.asarray(confusion, dtype=float)
        share = share * tp / (fn + tp) + (1 - share) * fp / (tn + fp)
    ones = round(n * share)
    return np.eye(2)[np.r_[np.ones(ones, dtype=int), np.zeros(n - ones, dtype=int)]]


def attribute_entry(labeller, shares, n, conditions=None) -> dict:
    """An attribute entry as ``PropertyAudit`` builds it, of ``n`` samples per condition with true ``shares``."""
    conditions = conditions or [None] * len(shares)
    per_condition = [one_hot(n, share, labeller.confusion) for share in shares]
    entry = {
        "name": "is_zero",
        "values": ["0", "1"],
        "annotator": {"confusion": None if labeller.confusion is None else labeller.confusion.tolist()},
        "by_condition": [condition_entry(c, p, labeller, 0.95) for c, p in zip(conditions, per_condition)],
    }
    if len(shares) > 1:
        entry["overall"] = condition_entry(conditions, np.concatenate(per_condition), labeller, 0.95)
    entry["primary_method"] = primary_method(entry.get("overall") or entry["by_condition"][0])
    return entry


def audit(entry, training_share, margin=0.05, **training):
    return self_audit(
        entry, TrainingShares(np.array([1 - training_share, training_share]), **training), margin, confidence=0.95
    )


def test_a_faithful_model_scanned_with_100_samples_is_inconclusive_not_a_finding():
    block = audit(attribute_entry(annotator(), [0.3], 100), 0.3)
    assert block["outcome"] == "inconclusive" and block["finding"] is None
    assert block["estimates"]["1"]["half_width"] > 0.05  # the interval is wider than the band: neither is shown
    assert "Inconclusive" in block["verdict"] and "0.300 [0.212, 0.400]" in block["verdict"]
    assert PropertyAudit.findings({"attributes": [{"name": "is_zero", "self_audit": block}]}) == []


@pytest.mark.parametrize("confusion", [None, WIDE_CALIBRATION])
def test_a_model_off_by_twice_the_margin_at_large_n_is_no_finding(confusion):
    block = audit(attribute_entry(annotator(confusion), [0.4], 20_000), 0.3)
    assert block["outcome"] == "no finding" and block["finding"] is None and block["settle"] is None
    assert "wholly outside" in block["verdict"] and "does not learn" in block["next_step"]


@pytest.mark.parametrize("confusion", [None, WIDE_CALIBRATION])
def test_a_faithful_model_at_large_n_is_a_finding(confusion):
    block = audit(attribute_entry(annotator(confusion), [0.3], 20_000), 0.3)
    assert block["outcome"] == "finding" and "discloses" in block["finding"]
    assert block["estimates"]["1"]["low"] >= 0.25 and block["estimates"]["1"]["high"] <= 0.35
    assert "probability at most 0.025" in block["guarantee"]
    findings = PropertyAudit.findings({"attributes": [{"name": "is_zero", "self_audit": block}]})
    assert findings == [{"kind": "privacy", "attribute": "is_zero", "message": block["finding"]}]


def test_a_k_valued_attribute_needs_every_value_inside_its_band():
    labeller = annotator([[900, 50, 50], [50, 900, 50], [50, 50, 900]], values=("0", "1", "2"))
    codes = np.repeat([0, 1, 2], [2_000, 3_300, 4_700])  # labelled shares; the true ones are near (0.17, 0.33, 0.5)
    entry = {
        "name": "digit",
        "values": ["0", "1", "2"],
        "annotator": {"confusion": labeller.confusion.tolist()},
        "by_condition": [condition_entry(None, np.eye(3)[codes], labeller, 0.95)],
        "primary_method": "corrected",
    }
    corrected = entry["by_condition"][0]["estimates"]["corrected"]
    truth = np.array([corrected[v]["value"] for v in "012"])
    assert self_audit(entry, TrainingShares(truth), 0.05, confidence=0.95)["outcome"] == "finding"
    shifted = self_audit(entry, TrainingShares(truth + [0.03, 0, -0.03]), 0.05, confidence=0.95)
    assert shifted["outcome"] == "inconclusive" and "digit=2" in shifted["verdict"]  # the value reaching farthest
    far = self_audit(entry, TrainingShares(truth + [0.1, 0, -0.1]), 0.05, confidence=0.95)
    assert far["outcome"] == "no finding" and far["sensitivity"]["error_rate_shift"] is None  # K > 2


def test_conditions_are_weighted_by_their_training_shares_so_a_perfect_model_is_not_misread():
    # classes split 80/20 in training, property shares 0.1 and 0.5: training share 0.18, equal-weight pooling 0.30
    codes = np.r_[np.ones(80), np.zeros(720), np.ones(100), np.zeros(100)].astype(int)
    records = TrainingRecords({"is_zero": codes}, {"class": np.repeat([0, 1], [800, 200])})
    training = records.shares("is_zero", 2, [0, 1])
    assert training.shares[1] == pytest.approx(0.18) and training.condition_weights.tolist() == [0.8, 0.2]
    for confusion in (None, WIDE_CALIBRATION):
        entry = attribute_entry(annotator(confusion), [0.1, 0.5], 5_000, conditions=[0, 1])
        assert entry["overall"]["estimates"][entry["primary_method"]]["1"]["value"] == pytest.approx(0.3, abs=0.01)
        block = self_audit(entry, training, 0.05, confidence=0.95)
        assert block["outcome"] == "finding" and block["estimates"]["1"]["value"] == pytest.approx(0.18, abs=0.005)
        assert block["pooled_by"] == {
            "rule": "training shares",
            "column": "class",
            "weights": {"0": 0.8, "1": 0.2},
            "note": None,
        }


def test_several_conditions_without_a_condition_column_are_inconclusive_with_the_fix():
    records = TrainingRecords({"is_zero": np.r_[np.ones(18), np.zeros(82)].astype(int)})
    training = records.shares("is_zero", 2, [0, 1])
    block = self_audit(
        attribute_entry(annotator(), [0.18, 0.18], 5_000, conditions=[0, 1]), training, 0.05, confidence=0.95
    )
    assert block["outcome"] == "inconclusive" and block["finding"] is None
    assert block["pooled_by"]["rule"] == "equal weights" and "no column 'class' or 'label'" in block["verdict"]
    assert "Add a column 'class' (or 'label')" in block["next_step"] and block["settle"]["n_per_condition"] is None
    one = self_audit(
        attribute_entry(annotator(), [0.18], 5_000, conditions=[0]),
        records.shares("is_zero", 2, [0]),
        0.05,
        confidence=0.95,
    )
    assert one["outcome"] == "finding" and one["pooled_by"]["rule"] == "one condition"


def test_the_condition_column_is_the_first_that_holds_every_scanned_condition():
    codes = np.array([1, 0, 0, 1, 0, 0])
    records = TrainingRecords(
        {"is_zero": codes}, {"class": np.array([5, 5, 5, 5, 5, 5]), "label": np.array([0, 0, 1, 1, 2, 2])}
    )
    training = records.shares("is_zero", 2, [0, 1])  # 'class' lacks them; 'label' holds both, class 2 is not scanned
    assert training.column == "label" and training.condition_weights.tolist() == [0.5, 0.5]
    assert training.shares[1] == pytest.approx(0.5) and "2 training records" in training.note
    prompts = TrainingRecords(
        {"is_zero": codes[:4]}, {"prompt": np.array(["a cat", "a dog", "a dog", "a dog"], dtype=object)}
    )
    by_prompt = prompts.shares("is_zero", 2, ["a cat", "a dog"])
    assert by_prompt.column == "prompt" and by_prompt.condition_weights.tolist() == [0.25, 0.75]


def test_a_prompt_column_is_read_from_the_training_data(tmp_path):
    path = tmp_path / "train.parquet"
    datasets.Dataset.from_dict({"prompt": ["a cat", "a dog"], "is_zero": [1, 0]}).to_parquet(str(path))
    assert load_text_column(str(path), "prompt") == ["a cat", "a dog"]
    assert load_text_column(str(path), "is_zero") is None and load_text_column("builtin:mnist", "prompt") is None


def test_without_training_data_the_self_audit_is_not_tested_never_passed():
    block = not_tested("is_zero", [None], 0.05)
    assert (
        block["outcome"] == "not tested"
        and block["verdict"] == "not tested: needs --training-data DATA with a column 'is_zero'"
    )
    assert block["finding"] is None and "--training-data" in block["next_step"]
    assert "'class' (or 'label')" in not_tested("is_zero", [0, 1], 0.05)["next_step"]


@pytest.mark.parametrize(
    ("confusion", "share", "training_share"), [(None, 0.3, 0.3), (WIDE_CALIBRATION, 0.3, 0.3), (None, 0.36, 0.3)]
)
def test_settle_gives_samples_per_condition_at_which_the_outcome_settles(confusion, share, training_share):
    labeller = annotator(confusion)
    block = audit(attribute_entry(labeller, [share], 200), training_share)
    settled = block["settle"]["n_per_condition"]
    assert block["outcome"] == "inconclusive" and settled > 200 and f"-n {settled}" in block["next_step"]
    assert audit(attribute_entry(labeller, [share], settled), training_share)["outcome"] != "inconclusive"
    assert audit(attribute_entry(labeller, [share], int(settled * 0.9)), training_share)["outcome"] == "inconclusive"


def test_a_calibration_too_small_to_settle_asks_for_calibration_records_or_gold_labels():
    block = audit(attribute_entry(annotator([[19, 1], [1, 19]]), [0.3], 1_000), 0.3)
    assert block["outcome"] == "inconclusive" and block["settle"]["n_per_condition"] is None
    assert "calibration (40 records)" in block["next_step"] and "hubaudit label" in block["next_step"]


def test_sensitivity_is_the_smallest_error_rate_shift_that_changes_the_outcome():
    entry = attribute_entry(annotator(WIDE_CALIBRATION), [0.3], 20_000)
    block = audit(entry, 0.3)
    shift = block["sensitivity"]["error_rate_shift"]
    assert block["outcome"] == "finding" and 0 < shift < 0.05
    estimator = pooled_estimator(entry, TrainingShares(np.array([0.7, 0.3])), 0.95, None)
    truth = {"0": 0.7, "1": 0.3}

    def outcomes(delta):
        return {
            judged(estimator.intervals(1.0, shifted_confusion(estimator.confusion, s * delta, t * delta)), truth, 0.05)
            for s in (-1, 1)
            for t in (-1, 1)
        }

    assert outcomes(0.9 * shift) == {"finding"} and outcomes(shift + 0.002) != {"finding"}
    assert audit(attribute_entry(annotator(), [0.3], 20_000), 0.3)["sensitivity"]["error_rate_shift"] is None


def test_gold_labels_flag_an_annotator_that_errs_differently_on_generated_images():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 2, 200)
    for flipped, shifted in ((0.05, False), (0.35, True)):
        predicted = np.where(rng.random(200) < flipped, 1 - truth, truth)
        stratum = GoldStratum(truth, np.eye(2)[predicted], np.eye(2)[rng.integers(0, 2, 500)])
        entry = {"estimates": {}}
        gold_entry(entry, [stratum], ["0", "1"], 0.95, described={}, calibration=np.array([[950, 50], [50, 950]]))
        check = entry["gold"]["calibration_shift"]
        assert check["shifted"] is shifted and (check["p_value"] <= 0.05) is shifted
        assert ("does not hold on generated images" in check["message"]) is shifted
    assert calibration_shift(np.array([[5, 0], [0, 0]]), np.array([[0, 0], [5, 5]]), 0.95)["p_value"] is None


def test_equivalence_test_errs_at_most_alpha_over_2_at_the_band_edge():
    # a model whose generated share sits exactly on the band's edge (0.35 for 0.3 +- 0.05), 2000 samples, 400 scans
    rng = np.random.default_rng(0)
    outcomes = [
        judged(
            {v: (e.value, e.low, e.high) for v, e in simultaneous_intervals([2000 - k, k], names=["0", "1"]).items()},
            {"0": 0.7, "1": 0.3},
            0.05,
        )
        for k in rng.binomial(2000, 0.35, 400)
    ]
    assert outcomes.count("finding") / 400 <= 0.04 and outcomes.count("no finding") / 400 <= 0.04


@pytest.mark.parametrize("shared_calibration", [False, True])
def test_the_training_weighted_share_covers_its_truth(shared_calibration):
    # 2 conditions weighted 0.8/0.2 with shares 0.1 and 0.5 (truth 0.18); calibration 100 + 100 records, tpr 0.9, fpr 0.1
    rng, covered, trials = np.random.default_rng(100), 0, 500
    for _ in range(trials):
        confusion = None
        if shared_calibration:
            false_positives, true_positives = rng.binomial(100, 0.1), rng.binomial(100, 0.9)
            confusion = np.array([[100 - false_positives, false_positives], [100 - true_positives, true_positives]])
        conditions = []
        for position, share in enumerate((0.1, 0.5)):
            labelled = share * 0.9 + (1 - share) * 0.1 if shared_calibration else share
            ones = rng.binomial(500, labelled)
            conditions.append(
                ConditionCounts(str(position), 0, 500, np.array([500 - ones, ones]), confusion, "overall")
            )
        estimate = weighted_shares(conditions, weights=[0.8, 0.2], group_names=["0", "1"], random_state=rng)["1"]
        covered += estimate.contains(0.18)
    assert covered / trials >= 0.9


def test_a_sequential_headline_is_pooled_by_training_weights_and_settled_by_a_fresh_fixed_n_scan():
    labeller, options = annotator(), PropertyOptions(("is_zero=aux",), target_width=0.1)
    rng = np.random.default_rng(0)
    per_condition = [one_hot(400, share)[rng.permutation(400)] for share in (0.1, 0.5)]
    equal, weighted = (pooled_sequential(per_condition, labeller, options, weights=w) for w in (None, [0.8, 0.2]))
    assert weighted["1"]["value"] == pytest.approx(0.18, abs=0.01) and equal["1"]["value"] == pytest.approx(
        0.3, abs=0.01
    )
    assert "weighted mean (0.800, 0.200)" in weighted["1"]["notes"][0]
    entry = attribute_entry(labeller, [0.1, 0.5], 400, conditions=[0, 1])
    for condition, probabilities in zip(entry["by_condition"], per_condition):
        condition["estimates"]["sequential"] = sequential_entry(probabilities, labeller, options, True)["estimates"]
    entry["primary_method"] = "sequential"
    training = TrainingShares(np.array([0.82, 0.18]), np.array([0.8, 0.2]), "class")
    block = self_audit(entry, training, 0.05, confidence=0.95, sequential=weighted)
    assert block["outcome"] == "inconclusive" and block["estimates"] == weighted
    assert "fresh scan with -n fixed in advance" in block["next_step"] and "--target-width" in block["next_step"]
