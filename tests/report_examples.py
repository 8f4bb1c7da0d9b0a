"""Hand-written report dicts in the shape of docs/report-schema.md, with real sample stores.

``full_report`` has every optional section (properties with two conditions, a self-audit and
a pooled estimate; fairness with reference data and probes; findings of both kinds);
``minimal_report`` has only what every scan writes.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import numpy as np

from hubaudit.sampling import SampleStore

IMAGE_SOURCES = re.compile(r'<img[^>]*\ssrc="([^"]*)"')
"""The ``src`` of every ``<img>`` in an HTML page."""


def share(value: float, half_width: float = 0.03, *, n: int = 2000, method: str = "clopper-pearson") -> dict:
    """A ShareEstimate dict around ``value``."""
    return {
        "value": value,
        "low": max(0.0, value - half_width),
        "high": min(1.0, value + half_width),
        "method": method,
        "n": n,
        "confidence": 0.95,
        "half_width": half_width,
        "notes": [],
    }


def write_store(root: Path, condition: object, n: int, *, seed: int) -> str:
    """A sample store of ``n`` random 8x8 RGB images under ``root``; returns its folder."""
    store = SampleStore(root, {"model": "org/model", "sha": "abc123", "condition": condition})
    images = np.random.default_rng(seed).integers(0, 256, size=(n, 8, 8, 3), dtype=np.uint8)
    store.write(np.arange(n), images)
    return str(store.path)


def minimal_report(out_dir: Path, *, conditions: tuple = (None,), n: int = 4) -> dict:
    """What every scan writes: model, sampler, samples (stores under ``out_dir/samples``), no audit."""
    samples = [
        {
            "condition": condition,
            "store_path": write_store(out_dir / "samples", condition, n, seed=number),
            "generated": n,
            "reused": 0,
            "seconds": 0.5,
            "final_batch_size": n,
        }
        for number, condition in enumerate(conditions)
    ]
    return {
        "schema_version": "1.2",
        "model": {
            "reference": "org/model",
            "resolved_sha": "abc123",
            "pipeline_class": "DDPMPipeline",
            "kind": "unconditional" if conditions == (None,) else "class-conditional",
            "offline": False,
        },
        "sampler": {
            "num_inference_steps": 40,
            "scheduler": "ddim",
            "scheduler_class": "DDIMScheduler",
            "guidance_scale": None,
            "dtype": "float32",
            "seed": 0,
            "device": "cpu",
            "batch_size": 16,
        },
        "n_per_condition": n,
        "n_total": n * len(conditions),
        "samples": samples,
        "store_root": str(out_dir / "samples"),
        "timings": {"resolve_seconds": 0.1, "load_seconds": 1.2, "sample_seconds": 3.4, "total_seconds": 4.8},
        "command": "hubaudit scan org/model -n 4 --seed 0 --dtype float32 --steps 40 --scheduler ddim",
        "findings": [],
        "verdicts": [
            {
                "kind": kind,
                "subject": kind,
                "outcome": "not tested",
                "reason": f"not tested: no {kind} audit was asked for",
                "next_step": "rerun with the options named",
            }
            for kind in ("privacy", "fairness")
        ],
    }


def _by_condition(condition: object, zero_share: float) -> dict:
    n = 2000
    ones = round(n * zero_share)
    return {
        "condition": condition,
        "n": n,
        "counts": {"0": n - ones, "1": ones},
        "estimates": {
            method: {
                "0": share(1 - zero_share + shift, n=n, method=method),
                "1": share(zero_share - shift, n=n, method=method),
            }
            for method, shift in {
                "classify_and_count": 0.0,
                "hoeffding": 0.0,
                "soft": 0.01,
                "corrected": -0.02,
            }.items()
        },
        "corrected_error": None,
        "sequential": {
            "target_half_width": 0.03,
            "n_used": 812,
            "hoeffding_plan": 2050,
            "estimate": share(zero_share),
        },
    }


def full_report(out_dir: Path) -> dict:
    """A report with every section of docs/report-schema.md, for two class conditions."""
    report = minimal_report(out_dir, conditions=(0, 1))
    report["properties"] = {
        "confidence": 0.95,
        "statement": "Estimates are of the share of each value among the model's GENERATED samples.",
        "attributes": [
            {
                "name": "is_zero",
                "values": ["0", "1"],
                "annotator": {
                    "type": "auxiliary",
                    "description": "CNN trained on MNIST",
                    "accuracy": 0.99,
                    "confusion": [[690, 4], [3, 303]],
                },
                "by_condition": [_by_condition(0, 0.3), _by_condition(1, 0.4)],
                "overall": _by_condition(None, 0.35),
                "primary_method": "corrected",
                "self_audit": {
                    "training_share": {"0": 0.7, "1": 0.3},
                    "gap": {"0": 0.01, "1": 0.01},
                    "outcome": "finding",
                    "verdict": "finding: an outsider with 2000 samples learns the training share of is_zero=1 to within ±0.03.",
                    "next_step": "do not share the model if the share is private",
                },
            }
        ],
    }
    generated = {
        "table": [[700, 300], [300, 700]],
        "positive_rates": {"red": share(0.3), "green": share(0.7)},
        "dp_gap": share(0.4),
        "mutual_information_nats": 0.08,
        "g_test_p_value": 1e-12,
        "chi2_p_value": 2e-12,
    }
    reference = {**copy.deepcopy(generated), "table": [[500, 500], [480, 520]], "dp_gap": share(0.02)}
    probe = {
        "accuracy": 0.93,
        "selection_rate": {"red": 0.7, "green": 0.3},
        "accuracy_by_group": {"red": 0.92, "green": 0.94},
        "demographic_parity_difference": share(0.4),
        "equalized_odds_difference": share(0.2),
    }
    report["fairness"] = {
        "sensitive": "color",
        "label": "label",
        "group_names": ["red", "green"],
        "label_values": ["0", "1"],
        "by_source": {"generated": generated, "reference": reference},
        "gap_difference": share(0.38),
        "probe": {
            "trained_on_generated": probe,
            "trained_on_reference": probe,
            "accuracy_lost": 0.01,
            "dp_difference_added": 0.25,
        },
        "threshold": 0.10,
        "adjusted_p_values": {"color/label": 1e-11},
        "verdict": {
            "outcome": "finding",
            "finding": True,
            "next_step": "rebalance the samples by color",
            "reason": "finding: the demographic-parity gap of the generated data is 0.40 [0.37, 0.43], above 0.10",
            "criteria_applied": "a finding is the gap above 0.10",
        },
    }
    report["findings"] = [
        {"kind": "privacy", "message": "the training share of is_zero=1 is learnable to within ±0.03"},
        {
            "kind": "fairness",
            "message": "color/label: the demographic-parity gap of the generated data is 0.40 [0.37, 0.43], above 0.10",
        },
    ]
    report["verdicts"] = [
        {
            "kind": "privacy",
            "subject": "is_zero",
            "outcome": "finding",
            "reason": report["properties"]["attributes"][0]["self_audit"]["verdict"],
            "next_step": "do not share the model if the share is private",
        },
        {
            "kind": "fairness",
            "subject": "color/label",
            "outcome": "finding",
            "reason": report["fairness"]["verdict"]["reason"],
            "next_step": "rebalance the samples by color",
        },
    ]
    return report
