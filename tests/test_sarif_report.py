"""SARIF 2.1.0 for code scanning: findings are errors, inconclusive checks warnings, and the log validates."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest

from hubaudit.cli import main
from hubaudit.report.sarif_report import render_sarif
from hubaudit.version import __version__
from report_examples import full_report, share

SCHEMA = json.loads((Path(__file__).parent / "sarif" / "sarif-schema-2.1.0.json").read_text())


def _valid(text: str) -> dict:
    """The SARIF log in ``text``, after checking it against the official 2.1.0 schema."""
    log = json.loads(text)
    validator = jsonschema.validators.validator_for(SCHEMA)
    validator.check_schema(SCHEMA)
    validator(SCHEMA).validate(log)
    return log


def _mixed_report(out_dir: Path) -> dict:
    """A fairness finding (color/label), a privacy finding (is_zero), an inconclusive pair (shape/label) and a
    privacy check that was not tested (is_red)."""
    report = full_report(out_dir)
    audit = report["properties"]["attributes"][0]["self_audit"]
    audit |= {"max_property_error": 0.05, "estimates": {"0": share(0.69), "1": share(0.31)}}
    report["fairness"]["verdict"] |= {
        "gap": share(0.4),
        "criteria": [
            {"criterion": "max_dp_gap", "margin": 0.10, "outcome": "finding", "met": True},
            {"criterion": "reference_excess", "margin": 0.05, "outcome": "no finding", "met": False},
        ],
    }
    other = copy.deepcopy(report["fairness"])
    other.pop("probe")
    other["sensitive"] = "shape"
    other["verdict"] = {
        "outcome": "inconclusive",
        "finding": False,
        "reason": "inconclusive: the gap 0.12 [0.05, 0.19] overlaps 0.10",
        "next_step": "rerun with -n 9300",
        "gap": share(0.12, 0.07),
        "criteria": [{"criterion": "max_dp_gap", "margin": 0.10, "outcome": "inconclusive", "met": False}],
    }
    report["fairness"]["other_pairs"] = [other]
    report["verdicts"] += [
        {
            "kind": "fairness",
            "subject": "shape/label",
            "outcome": "inconclusive",
            "reason": other["verdict"]["reason"],
            "next_step": "rerun with -n 9300",
        },
        {
            "kind": "privacy",
            "subject": "is_red",
            "outcome": "not tested",
            "reason": "not tested: needs --training-data DATA with a column 'is_red'",
            "next_step": "",
        },
    ]
    return report


def test_sarif_validates_with_one_result_per_finding_and_inconclusive_check(tmp_path):
    report = _mixed_report(tmp_path)
    log = _valid(render_sarif(report))
    run = log["runs"][0]
    assert log["version"] == "2.1.0"
    assert (run["tool"]["driver"]["name"], run["tool"]["driver"]["version"]) == ("hubaudit", __version__)
    levels = {(result["ruleId"], result["properties"]["subject"]): result["level"] for result in run["results"]}
    assert levels == {
        ("hubaudit.privacy/is_zero", "is_zero"): "error",
        ("hubaudit.fairness/max-dp-gap", "color/label"): "error",
        ("hubaudit.fairness/max-dp-gap", "shape/label"): "warning",
    }
    rules = {rule["id"]: rule for rule in run["tool"]["driver"]["rules"]}
    assert sorted(rules) == ["hubaudit.fairness/max-dp-gap", "hubaudit.privacy/is_zero"]
    assert all(rule["shortDescription"]["text"] for rule in rules.values())


def test_sarif_messages_carry_the_interval_and_margin_and_the_model_is_the_location(tmp_path):
    report = _mixed_report(tmp_path)
    run = _valid(render_sarif(report))["runs"][0]
    by_subject = {result["properties"]["subject"]: result for result in run["results"]}
    assert "0.310 [0.280, 0.340] vs training share 0.300 ± 0.05" in by_subject["is_zero"]["message"]["text"]
    assert "gap 0.400 [0.370, 0.430]; margin 0.1 (max_dp_gap)" in by_subject["color/label"]["message"]["text"]
    assert "Next: rerun with -n 9300" in by_subject["shape/label"]["message"]["text"]
    sha = report["model"]["resolved_sha"]
    location = by_subject["is_zero"]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location["uri"] == f"hf://org/model@{sha}" and location["properties"]["resolvedSha"] == sha


def test_sarif_notes_a_check_that_did_not_run_and_gives_no_result_for_no_finding(tmp_path):
    report = _mixed_report(tmp_path)
    run = _valid(render_sarif(report))["runs"][0]
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert [note["level"] for note in notes] == ["note"]
    assert notes[0]["message"]["text"].startswith("hubaudit.privacy/is_red: not tested: needs --training-data")
    assert "is_red" not in {result["properties"]["subject"] for result in run["results"]}
    for verdict in report["verdicts"]:
        verdict["outcome"] = "no finding"
    report["findings"] = []
    assert _valid(render_sarif(report))["runs"][0]["results"] == []


def test_sarif_location_of_a_local_folder_is_the_folder_as_given(tmp_path):
    report = full_report(tmp_path)
    report["model"] |= {"reference": "./models/mnist", "resolved_sha": "local-0123abcd"}
    run = _valid(render_sarif(report))["runs"][0]
    assert run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "models/mnist"


@pytest.mark.parametrize("out", [None, "ci/hubaudit.sarif"])
def test_report_cli_writes_sarif_beside_the_report_or_where_asked(tmp_path, capsys, out):
    (tmp_path / "report.json").write_text(json.dumps(_mixed_report(tmp_path)))
    extra = ["--out", str(tmp_path / out)] if out else []
    (tmp_path / "ci").mkdir()
    assert main(["report", str(tmp_path / "report.json"), "--format", "sarif", *extra]) == 0
    written = tmp_path / (out or "report.sarif")
    assert f"report    {written}" in capsys.readouterr().out
    assert len(_valid(written.read_text())["runs"][0]["results"]) == 3
