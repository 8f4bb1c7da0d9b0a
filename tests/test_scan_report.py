"""The typed report: ScanReport is report.json as an object (exact round trip), with typed verdicts and findings."""

from __future__ import annotations

import copy
import json

import pytest

import hubaudit.report
from hubaudit import api
from hubaudit.errors import InvalidReport
from hubaudit.report import Finding, ScanReport, Verdict
from hubaudit.report.json_report import write_json_report
from report_examples import full_report, minimal_report, share


def _with_every_block(report: dict) -> dict:
    """``report`` (a full one) with the 1.2 blocks a verdict reads: the self-audit's and the pair's evidence."""
    report["properties"]["attributes"][0]["self_audit"].update(
        max_property_error=0.05,
        guarantee="an equivalence test at level 0.05",
        estimates={"0": share(0.66), "1": share(0.34)},
    )
    report["fairness"]["verdict"].update(
        gap=share(0.4),
        guarantee=None,
        criteria=[{"criterion": "max_dp_gap", "margin": 0.10, "outcome": "finding", "met": True}],
    )
    return report


def test_a_report_file_round_trips_exactly_and_saves_the_same_text(tmp_path):
    path = write_json_report(_with_every_block(full_report(tmp_path)), tmp_path / "report.json")
    report = ScanReport.from_json(path)
    assert report.to_dict() == json.loads(path.read_text())
    assert report.path == path and report.sampled is None
    assert report.to_json() == path.read_text()
    assert report.save(tmp_path / "again.json").read_text() == path.read_text()
    assert ScanReport.from_json(tmp_path) == report  # the folder holding it, or its text
    assert ScanReport.from_json(path.read_text()) == report


def test_keys_it_does_not_know_and_keys_a_report_lacks_stay_as_they_were(tmp_path):
    later = {**minimal_report(tmp_path), "schema_version": "1.9", "options": {"n": 4}, "novelty": [1, 2]}
    later["verdicts"][0] = {**later["verdicts"][0], "confidence_note": "new in 1.9"}
    later["findings"] = [{"kind": "privacy", "attribute": None, "message": "m", "new": True}]
    assert ScanReport.from_dict(copy.deepcopy(later)).to_dict() == later
    assert list(ScanReport.from_dict(later).to_dict()) == list(later)
    legacy = {"schema_version": "1.0", "model": {"reference": "org/model"}, "findings": []}  # no verdicts before 1.2
    report = ScanReport.from_dict(legacy)
    assert report.verdicts == [] and report.to_dict() == legacy


def test_verdicts_carry_their_interval_margin_and_guarantee_from_their_section(tmp_path):
    report = ScanReport.from_dict(_with_every_block(full_report(tmp_path)))
    privacy, fairness = report.verdicts
    assert privacy == Verdict(
        "privacy",
        "is_zero",
        "finding",
        privacy.reason,
        "do not share the model if the share is private",
        interval=share(0.34),
        margin=0.05,
        guarantee="an equivalence test at level 0.05",
    )
    assert (fairness.subject, fairness.interval, fairness.margin, fairness.guarantee) == (
        "color/label",
        share(0.4),
        0.10,
        None,
    )
    assert privacy.settled and fairness.settled
    assert report.findings[0] == Finding("privacy", "the training share of is_zero=1 is learnable to within ±0.03")
    untested = ScanReport.from_dict(minimal_report(tmp_path)).verdicts
    assert [(verdict.outcome, verdict.interval, verdict.margin, verdict.settled) for verdict in untested] == [
        ("not tested", None, None, False)
    ] * 2


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"verdicts": [{"kind": "privacy", "subject": "x"}]}, "verdicts has no outcome, reason, next_step"),
        ({"findings": "none"}, "findings is not a list"),
        ({"findings": ["a finding"]}, "findings is not an object"),
        ({"schema_version": "2.0"}, "unknown report schema version '2.0'"),
    ],
)
def test_malformed_findings_verdicts_or_versions_are_invalid_reports(tmp_path, change, message):
    with pytest.raises(InvalidReport, match=message):
        ScanReport.from_dict({**minimal_report(tmp_path), **change})


def test_the_api_reads_renders_and_checks_a_typed_report(tmp_path):
    write_json_report(full_report(tmp_path), tmp_path / "report.json")
    report = api.read_report(tmp_path)
    assert isinstance(report, ScanReport) and report.model["resolved_sha"] == "abc123"
    assert api.render_report(report, "md") == api.render_report(report.to_dict(), "md", report_dir=tmp_path)
    assert api.write_report(report, "junit") == tmp_path / "junit.xml"  # beside the report it was read from
    assert api.exit_code(report, "fairness") == 1
    with pytest.raises(InvalidReport, match="no report at"):
        api.read_report(tmp_path / "elsewhere")


def test_the_report_package_lists_the_views_front_ends_import():
    names = dir(hubaudit.report)
    for name in (
        "ScanReport",
        "Verdict",
        "Finding",
        "attribute_rows",
        "render_markdown",
        "read_condition_images",
        "image_lines",
    ):
        assert name in names and name in hubaudit.report.__all__
    assert not hasattr(api, "attribute_rows")  # the API no longer re-exports the report layer's views
