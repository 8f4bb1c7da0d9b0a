"""The JUnit XML of a report, for CI systems: one test case per check, failures are findings.

Test cases: ``hubaudit.sampling/samples`` (the scan finished), ``hubaudit.privacy/<attribute>``
per self-audited attribute, ``hubaudit.fairness/<S>/<Y>`` per pair, and ``hubaudit.<kind>/<kind>`` for
an audit kind that did not run. A finding fails with one ``<failure type="finding">`` listing its
findings; an inconclusive outcome fails with ``<failure type="inconclusive">`` (no finding was shown,
and its message says what would settle it); a check that did not run is ``<skipped>`` with the
reason, never a pass. Its evidence goes to ``<system-out>``. An audit that could not finish after
sampling (the report's ``errors``) is a ``hubaudit.error/<section>`` case with an ``<error>``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

from hubaudit.report.content import checks, model_title


def render_junit(report: dict) -> str:
    """The JUnit XML document (a ``<testsuites>`` with one ``<testsuite>``) for ``report``."""
    found, errors = checks(report), report.get("errors") or []
    failures = str(sum(check.outcome in ("finding", "inconclusive") for check in found))
    skipped = str(sum(check.outcome == "not tested" for check in found))
    seconds = str((report.get("timings") or {}).get("total_seconds", 0))
    counts = {
        "tests": str(len(found) + len(errors)),
        "failures": failures,
        "errors": str(len(errors)),
        "skipped": skipped,
        "time": seconds,
    }
    suites = ElementTree.Element("testsuites", {"name": "hubaudit", **counts})
    suite = ElementTree.SubElement(suites, "testsuite", {"name": f"hubaudit {model_title(report)}", **counts})
    properties = ElementTree.SubElement(suite, "properties")
    model = report.get("model") or {}
    for name, value in {
        "model": model.get("reference"),
        "resolved_sha": model.get("resolved_sha"),
        "command": report.get("command"),
    }.items():
        if value:
            ElementTree.SubElement(properties, "property", {"name": name, "value": str(value)})
    for check in found:
        case = ElementTree.SubElement(
            suite, "testcase", {"classname": f"hubaudit.{check.kind}", "name": check.name, "time": "0"}
        )
        if check.outcome == "finding":
            failure = ElementTree.SubElement(
                case, "failure", {"type": "finding", "message": check.findings[0] if check.findings else check.reason}
            )
            failure.text = "\n".join(check.findings or [check.reason])
        elif check.outcome == "inconclusive":
            failure = ElementTree.SubElement(case, "failure", {"type": "inconclusive", "message": check.reason})
            failure.text = "\n".join(line for line in (check.reason, f"next: {check.next_step}") if line)
        elif check.outcome == "not tested":
            ElementTree.SubElement(case, "skipped", {"message": check.reason})
        if check.details:
            ElementTree.SubElement(case, "system-out").text = "\n".join(check.details)
    for error in errors:
        case = ElementTree.SubElement(
            suite, "testcase", {"classname": "hubaudit.error", "name": str(error.get("section")), "time": "0"}
        )
        ElementTree.SubElement(case, "error", {"type": str(error.get("error")), "message": str(error.get("message"))})
    ElementTree.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(suites, encoding="unicode") + "\n"
