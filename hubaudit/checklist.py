"""Release checklists: fail a test (or a script) when a scan found privacy or fairness risks.

Example, in a pytest file run before publishing a model:

    >>> from hubaudit.checklist import assert_no_findings
    >>> def test_model_passes_the_audit():  # doctest: +SKIP
    ...     assert_no_findings("hubaudit-out/report.json")

Nothing here samples: it reads what ``hubaudit scan`` (or :func:`hubaudit.scan`) wrote
(:func:`hubaudit.api.read_report` reads it as a :class:`~hubaudit.report.scan_report.ScanReport`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Protocol

from hubaudit.report.content import CHECK_KINDS, UNSETTLED, checks, model_title
from hubaudit.report.scan_report import ScanReport


class _HasReportDict(Protocol):
    def to_dict(self) -> dict: ...


def assert_no_findings(
    report_or_path: ScanReport | Mapping | _HasReportDict | Path | str,
    *,
    kinds: Iterable[str] = CHECK_KINDS,
    allow_unsettled: bool = False,
) -> ScanReport:
    """Raise ``AssertionError`` unless every check of the given kinds settled on no finding; returns the report.

    Args:
        report_or_path: a :class:`ScanReport` (what :func:`hubaudit.scan` returns), a report dict, anything with
            ``to_dict()``, or the path of a ``report.json`` or of the folder holding it.
        kinds: check kinds that fail the check: ``"privacy"``, ``"fairness"`` or both.
        allow_unsettled: pass checks that are inconclusive or not tested (only findings fail).

    Raises:
        AssertionError: the report has findings of ``kinds``, or (unless ``allow_unsettled``) a check
            of ``kinds`` that is inconclusive or not tested; the message names the model and lists
            one finding or check per line, with what would settle it.
        ValueError: ``kinds`` names a kind the report schema does not define.
        hubaudit.errors.InvalidReport: the path holds no readable report.
    """
    kinds = tuple(kinds)
    unknown = sorted(set(kinds) - set(CHECK_KINDS))
    if unknown:
        raise ValueError(f"unknown finding kind(s) {', '.join(unknown)}; choose from {', '.join(CHECK_KINDS)}")
    report = _scan_report(report_or_path)
    as_dict = report.to_dict()
    findings = [finding for finding in report.findings if finding.kind in kinds]
    if findings:
        listing = "\n".join(f"  - [{finding.kind}] {finding.message}" for finding in findings)
        plural = "s" if len(findings) != 1 else ""
        raise AssertionError(
            f"hubaudit found {len(findings)} {'/'.join(kinds)} finding{plural} in {model_title(as_dict)}:\n{listing}"
        )
    unsettled = [check for check in checks(as_dict) if check.kind in kinds and check.outcome in UNSETTLED]
    if unsettled and not allow_unsettled:
        listing = "\n".join(
            f"  - [{check.kind}] {check.name}: {check.reason} (next: {check.next_step})" for check in unsettled
        )
        raise AssertionError(
            f"hubaudit could not show {'/'.join(kinds)} checks of {model_title(as_dict)} free of findings:\n{listing}"
        )
    return report


def _scan_report(report_or_path: ScanReport | Mapping | _HasReportDict | Path | str) -> ScanReport:
    """The :class:`ScanReport` that ``report_or_path`` is, holds, or names."""
    if isinstance(report_or_path, ScanReport):
        return report_or_path
    if isinstance(report_or_path, Mapping):
        return ScanReport.from_dict(report_or_path)
    if hasattr(report_or_path, "to_dict"):
        return ScanReport.from_dict(report_or_path.to_dict())
    return ScanReport.from_json(Path(report_or_path))
