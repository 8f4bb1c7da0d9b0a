"""--check-drift K: the first K samples drawn again with the model's own scheduler, and how far the fast one moves each share."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import hubaudit
from hubaudit.audit.properties.drift import _verdict
from hubaudit.errors import InvalidSamplerConfig
from hubaudit.sampling import open_sample_store

ANNOTATOR = Path(__file__).resolve().parents[1] / "hubaudit" / "demo_models" / "mnist-zero-annotator"
FAST = {
    "n": 8,
    "batch_size": 4,
    "steps": 2,
    "scheduler": "ddim",
    "progress": False,
    "attributes": [f"z=aux:{ANNOTATOR}"],
}


@pytest.mark.slow
def test_drift_pairs_the_fast_samples_with_the_models_own_sampler_and_reports_each_share(test_hub, tmp_path, capsys):
    report = hubaudit.scan("tiny/ddpm", out_dir=tmp_path, check_drift=3, **FAST).to_dict()
    drift = report["drift"]
    assert drift["k"] == 3 and drift["tolerance"] == 0.01 and "--check-drift 3" in report["command"]
    assert (
        drift["reference_sampler"]["scheduler"] is None
        and drift["reference_sampler"]["scheduler_class"] == "DDPMScheduler"
    )
    assert drift["reference_sampler"]["num_inference_steps"] > report["sampler"]["num_inference_steps"]
    shares = drift["attributes"][0]["by_condition"][0]["by_value"]
    assert sum(entry["reference_share"] for entry in shares.values()) == pytest.approx(1.0)
    for entry in shares.values():
        difference = entry["difference"]
        assert difference["method"] == "bonett-price-paired" and difference["n"] == 3
        assert difference["value"] == pytest.approx(entry["fast_share"] - entry["reference_share"])
        assert entry["verdict"] in {"drift", "negligible", "inconclusive"}
    reference_stores = [
        path
        for path in (tmp_path / "samples").iterdir()
        if open_sample_store(path).key["sampler"]["scheduler"] is None
    ]
    assert len(reference_stores) == 1 and len(open_sample_store(reference_stores[0]).indices()) == 3
    fast_images = open_sample_store(report["samples"][0]["store_path"]).load(3)
    assert not np.array_equal(open_sample_store(reference_stores[0]).load(3), fast_images)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"check_drift": 9}, "from 1 to n = 8"),
        ({"check_drift": 2, "attributes": None}, "give an --attribute"),
        ({"check_drift": 2, "scheduler": None, "steps": None}, "which this scan already uses"),
    ],
)
def test_drift_options_that_cannot_work_are_refused_before_sampling(test_hub, tmp_path, changes, message):
    with pytest.raises(InvalidSamplerConfig, match=message):
        hubaudit.scan("tiny/ddpm", out_dir=tmp_path, **{**FAST, **changes})
    assert not (tmp_path / "samples").exists()


@pytest.mark.parametrize(
    ("low", "high", "verdict"),
    [
        (0.02, 0.08, "drift"),
        (-0.09, -0.011, "drift"),
        (-0.005, 0.009, "negligible"),
        (-0.03, 0.04, "inconclusive"),
    ],
)
def test_a_drift_is_a_warning_only_when_its_interval_lies_outside_the_tolerance(low, high, verdict):
    assert _verdict(low, high) == verdict
