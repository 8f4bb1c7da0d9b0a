"""Release checklists: assert_no_findings fails with a readable list of what the scan found."""

from __future__ import annotations

import pytest

from hubaudit.api import read_report
from hubaudit.checklist import assert_no_findings
from hubaudit.errors import InvalidReport
from hubaudit.report import ScanReport
from hubaudit.report.json_report import write_json_report

PRIVACY = {"kind": "privacy", "message": "the training share of is_zero=1 is learnable to within ±0.03"}
FAIRNESS = {"kind": "fairness", "message": "the demographic-parity gap is 0.40 [0.37, 0.43], above 0.10"}


def _report(*findings: dict) -> dict:
    return {
        "schema_version": "1.0",
        "model": {"reference": "org/model", "resolved_sha": "abc123"},
        "findings": list(findings),
    }


def test_a_clean_report_passes_and_is_returned_typed():
    report = _report()
    returned = assert_no_findings(report)
    assert isinstance(returned, ScanReport) and returned.to_dict() == report
    assert assert_no_findings(returned) is returned


def test_findings_fail_with_the_model_and_one_line_per_finding():
    with pytest.raises(AssertionError) as failure:
        assert_no_findings(_report(PRIVACY, FAIRNESS))
    message = str(failure.value)
    assert message.splitlines() == [
        "hubaudit found 2 privacy/fairness/memorization findings in org/model @ abc123:",
        f"  - [privacy] {PRIVACY['message']}",
        f"  - [fairness] {FAIRNESS['message']}",
    ]


def test_only_the_kinds_asked_for_fail():
    assert_no_findings(_report(PRIVACY), kinds=("fairness",))
    with pytest.raises(AssertionError, match=r"1 fairness finding in"):
        assert_no_findings(_report(PRIVACY, FAIRNESS), kinds=["fairness"])


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown finding kind"):
        assert_no_findings(_report(), kinds=("privacy", "speed"))


def test_reads_a_report_file_its_folder_or_a_scan_result(tmp_path):
    write_json_report(_report(FAIRNESS), tmp_path / "report.json")
    assert read_report(tmp_path).to_dict()["findings"] == [FAIRNESS]
    for source in (tmp_path, tmp_path / "report.json", str(tmp_path / "report.json")):
        with pytest.raises(AssertionError, match="above 0.10"):
            assert_no_findings(source)

    class Result:
        def to_dict(self) -> dict:
            return _report(PRIVACY)

    with pytest.raises(AssertionError, match=r"\[privacy\]"):
        assert_no_findings(Result())


def test_a_missing_report_is_an_error_not_a_pass(tmp_path):
    with pytest.raises(InvalidReport, match="no report at"):
        assert_no_findings(tmp_path / "nothing" / "report.json")
