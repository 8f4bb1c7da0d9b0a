"""Property inference in a scan: estimates per attribute and condition, sequential scans, the self-audit."""

from __future__ import annotations

import json

import numpy as np
import pytest

import hubaudit
from hubaudit.annotate import AuxiliaryAnnotator
from hubaudit.annotate.auxiliary import SmallCNN
from hubaudit.annotate.base import Attribute
from hubaudit.audit.options import PropertyOptions
from hubaudit.audit.properties import audit as properties
from hubaudit.audit.properties.entries import condition_entry
from hubaudit.audit.properties.self_audit import self_audit
from hubaudit.audit.properties.training_shares import TrainingShares
from hubaudit.data import LabelledImages, mnist_with_property_share, save_labelled_images
from hubaudit.errors import InvalidPropertyOptions
from hubaudit.sampling import open_sample_store
from hubaudit.stats import hoeffding_interval
from tiny_models import constant_annotator

SCAN = {"n": 8, "batch_size": 8, "steps": 2, "progress": False}
METHODS = {"classify_and_count", "hoeffding", "soft", "corrected"}


@pytest.fixture(scope="module")
def always_one(tmp_path_factory):
    """A saved is_zero annotator that says 1 for every image; calibrated as 95% accurate."""
    return constant_annotator(tmp_path_factory.mktemp("always-one"), confusion=[[95, 5], [5, 95]])


@pytest.fixture(scope="module")
def mnist_zeros(tmp_path_factory):
    """300 MNIST digits (16x16), 30% zeros, columns is_zero and digit, as Parquet."""
    data = mnist_with_property_share(share=0.3, n=300, seed=1, image_size=16)
    return save_labelled_images(data, tmp_path_factory.mktemp("aux") / "mnist-zeros.parquet")


def _report(tmp_path) -> dict:
    return json.loads((tmp_path / "report.json").read_text())


def test_scan_with_an_aux_annotator_reports_every_estimator_of_the_generated_share(test_hub, tmp_path, mnist_zeros):
    hubaudit.scan("tiny/ddpm", out_dir=tmp_path, attributes=["is_zero=aux"], aux_data=mnist_zeros, **SCAN)
    section = _report(tmp_path)["properties"]
    assert "GENERATED" in section["statement"] and "training distribution" in section["statement"]
    (attribute,) = section["attributes"]
    assert attribute["name"] == "is_zero" and attribute["values"] == ["0", "1"]
    assert attribute["annotator"]["type"] == "auxiliary" and 0.5 < attribute["annotator"]["accuracy"] <= 1
    assert np.sum(attribute["annotator"]["confusion"]) == 90  # the held-out 30% of 300 records
    (entry,) = attribute["by_condition"]
    assert entry["condition"] is None and entry["n"] == 8 and sum(entry["counts"].values()) == 8
    assert set(entry["estimates"]) == METHODS and entry["corrected_error"] is None
    for estimates in entry["estimates"].values():
        assert set(estimates) == {"0", "1"}
        for estimate in estimates.values():
            assert estimate["low"] <= estimate["value"] <= estimate["high"] and estimate["n"] == 8
    assert entry["estimates"]["classify_and_count"]["1"]["value"] == entry["counts"]["1"] / 8
    assert attribute["primary_method"] == "corrected"
    assert "overall" not in attribute
    assert attribute["self_audit"]["outcome"] == "not tested"  # no --training-data: never a pass
    assert attribute["self_audit"]["verdict"] == "not tested: needs --training-data DATA with a column 'is_zero'"


def test_class_conditional_model_gets_an_estimate_per_class_and_a_pooled_one(test_hub, tmp_path, always_one):
    hubaudit.scan("tiny/ddpm-class-conditional", out_dir=tmp_path, attributes=[f"is_zero=aux:{always_one}"], **SCAN)
    (attribute,) = _report(tmp_path)["properties"]["attributes"]
    assert [entry["condition"] for entry in attribute["by_condition"]] == [0, 1, 2]
    assert all(entry["counts"] == {"0": 0, "1": 8} for entry in attribute["by_condition"])
    assert attribute["overall"]["condition"] == [0, 1, 2] and attribute["overall"]["n"] == 24
    assert attribute["overall"]["estimates"]["classify_and_count"]["1"]["value"] == 1.0


def test_sequential_scan_stops_early_when_every_sample_has_the_same_value(test_hub, tmp_path, always_one):
    options = {**SCAN, "n": 400, "batch_size": 16}
    hubaudit.scan("tiny/ddpm", out_dir=tmp_path, attributes=[f"is_zero=aux:{always_one}"], target_width=0.1, **options)
    report = _report(tmp_path)
    sequential = report["properties"]["attributes"][0]["by_condition"][0]["sequential"]
    assert sequential["reached"] and sequential["target_half_width"] == 0.1
    assert sequential["n_used"] < 100 < sequential["hoeffding_plan"] == 185
    assert sequential["estimate"]["half_width"] <= 0.1 and sequential["estimate"]["value"] == 1.0
    assert report["n_per_condition"] == sequential["n_used"]
    (samples,) = report["samples"]
    stored = open_sample_store(samples["store_path"])
    assert sequential["n_used"] <= len(stored.indices()) == samples["generated"] < 100
    assert "--target-width 0.1" in report["command"]


def test_rerunning_a_sequential_scan_reuses_the_stored_samples(test_hub, tmp_path, always_one):
    options = {**SCAN, "n": 400, "batch_size": 16, "attributes": [f"is_zero=aux:{always_one}"], "target_width": 0.1}
    first = hubaudit.scan("tiny/ddpm", out_dir=tmp_path, **options).to_dict()
    second = hubaudit.scan("tiny/ddpm", out_dir=tmp_path, **options).to_dict()
    assert (
        second["samples"][0]["generated"] == 0 and second["samples"][0]["reused"] == first["samples"][0]["generated"]
    )
    assert second["properties"] == first["properties"]


@pytest.mark.parametrize(("training_share", "outcome"), [(1.0, "inconclusive"), (0.3, "no finding")])
def test_self_audit_tests_the_estimate_against_the_training_share(
    test_hub, tmp_path, always_one, training_share, outcome
):
    # every sample is labelled 1: the corrected estimate is 1.0, but 8 samples leave its interval wider than +-0.05,
    # so a training share of 1.0 is not shown disclosed (the old point-estimate rule called it a finding)
    training = save_labelled_images(
        mnist_with_property_share(share=training_share, n=50, image_size=16), tmp_path / "train.parquet"
    )
    hubaudit.scan(
        "tiny/ddpm", out_dir=tmp_path, attributes=[f"is_zero=aux:{always_one}"], training_data=training, **SCAN
    )
    report = _report(tmp_path)
    audit = report["properties"]["attributes"][0]["self_audit"]
    assert audit["training_share"] == {"0": pytest.approx(1 - training_share), "1": pytest.approx(training_share)}
    assert audit["gap"]["1"] == pytest.approx(1.0 - training_share)
    assert audit["outcome"] == outcome and "8 samples" in audit["verdict"] and audit["finding"] is None
    assert (audit["settle"] is not None) is (outcome == "inconclusive")
    assert report["findings"] == []


def test_self_audit_of_a_class_conditional_model_weights_classes_by_the_training_data(test_hub, tmp_path, always_one):
    data = mnist_with_property_share(share=0.3, n=60, image_size=16)
    classes = np.repeat([0, 1, 2], [30, 20, 10])
    training = save_labelled_images(
        LabelledImages(data.images, {"is_zero": data.column("is_zero"), "class": classes}), tmp_path / "train.parquet"
    )
    hubaudit.scan(
        "tiny/ddpm-class-conditional",
        out_dir=tmp_path,
        attributes=[f"is_zero=aux:{always_one}"],
        training_data=training,
        **SCAN,
    )
    audit = _report(tmp_path)["properties"]["attributes"][0]["self_audit"]
    assert audit["pooled_by"]["rule"] == "training shares" and audit["pooled_by"]["column"] == "class"
    assert audit["pooled_by"]["weights"] == {
        "0": pytest.approx(0.5),
        "1": pytest.approx(1 / 3),
        "2": pytest.approx(1 / 6),
    }
    assert audit["outcome"] == "no finding" and audit["estimates"]["1"]["n"] == 24


def test_annotation_streams_the_store_in_batches(test_hub, tmp_path, always_one, monkeypatch):
    seen = []
    original = AuxiliaryAnnotator.predict_proba
    monkeypatch.setattr(properties, "ANNOTATION_BATCH", 4)
    monkeypatch.setattr(
        AuxiliaryAnnotator,
        "predict_proba",
        lambda self, images, **kw: seen.append(len(images)) or original(self, images, **kw),
    )
    hubaudit.scan("tiny/ddpm", out_dir=tmp_path, attributes=[f"is_zero=aux:{always_one}"], **{**SCAN, "n": 10})
    assert seen == [4, 4, 2]


def test_corrected_estimate_is_withheld_when_the_confusion_matrix_is_too_close_to_singular():
    annotator = AuxiliaryAnnotator(
        Attribute("is_zero", ("0", "1")),
        SmallCNN(1, 2),
        image_size=16,
        channels=1,
        provenance={},
        confusion=[[52, 48], [48, 52]],
    )
    probabilities = np.tile([[0.2, 0.8]], (50, 1))
    entry = condition_entry(None, probabilities, annotator, 0.95)
    assert "corrected" not in entry["estimates"] and "singular" in entry["corrected_error"]
    assert entry["estimates"]["classify_and_count"]["1"]["value"] == 1.0


def test_k_valued_attribute_gets_simultaneous_intervals_wider_than_single_ones():
    annotator = AuxiliaryAnnotator(
        Attribute("digit", ("0", "1", "2")),
        SmallCNN(1, 3),
        image_size=16,
        channels=1,
        provenance={},
        confusion=[[90, 5, 5], [5, 90, 5], [5, 5, 90]],
    )
    rng = np.random.default_rng(0)
    probabilities = np.eye(3)[rng.choice(3, size=600, p=[0.2, 0.3, 0.5])]
    entry = condition_entry(None, probabilities, annotator, 0.95)
    single = hoeffding_interval(entry["counts"]["2"], 600)
    assert entry["estimates"]["hoeffding"]["2"]["half_width"] > single.half_width
    assert entry["estimates"]["hoeffding"]["2"]["confidence"] == 0.95
    corrected = entry["estimates"]["corrected"]
    assert sum(corrected[value]["value"] for value in "012") == pytest.approx(1.0)
    assert (
        corrected["2"]["value"] > entry["estimates"]["classify_and_count"]["2"]["value"]
    )  # errors pulled the big share down


def test_privacy_finding_rule_needs_every_value_s_interval_within_the_maximum_error():
    def estimate(value):
        return {"value": value, "low": value - 0.02, "high": value + 0.02, "half_width": 0.02, "method": "bbse"}

    entry = {
        "name": "digit",
        "values": ["0", "1", "2"],
        "primary_method": "corrected",
        "annotator": {"confusion": [[900, 50, 50], [50, 900, 50], [50, 50, 900]]},
        "by_condition": [
            {
                "condition": None,
                "n": 2000,
                "counts": {"0": 420, "1": 660, "2": 920},
                "estimates": {"corrected": {"0": estimate(0.21), "1": estimate(0.33), "2": estimate(0.46)}},
            }
        ],
    }
    training = TrainingShares(np.array([0.2, 0.3, 0.5]))
    assert self_audit(entry, training, 0.07, confidence=0.95)["outcome"] == "finding"
    audit = self_audit(entry, training, 0.05, confidence=0.95)  # the points are within 0.05, digit=2's interval is not
    assert audit["outcome"] == "inconclusive" and audit["finding"] is None and "digit=2" in audit["verdict"]
    assert audit["gap"]["2"] == pytest.approx(0.04)
    assert self_audit(entry, training, 0.015, confidence=0.95)["outcome"] == "no finding"


def test_property_options_without_an_attribute_are_refused():
    assert PropertyOptions.from_arguments(None) is None
    with pytest.raises(InvalidPropertyOptions, match="need an --attribute"):
        PropertyOptions.from_arguments([], target_width=0.03)
    with pytest.raises(InvalidPropertyOptions, match="--target-width"):
        PropertyOptions.from_arguments(["a=aux"], target_width=0.5)
