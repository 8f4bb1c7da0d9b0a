"""The SARIF 2.1.0 log of a report, for code-scanning dashboards (GitHub's ``upload-sarif``): one result per finding.

Results: each finding is a result of level ``error``, each inconclusive check one of level ``warning`` (no finding
was shown, and its message says what would settle it). A check that settled on no finding gives no result; one that
was not tested gives no result either (a dashboard would keep it open as an alert) but a ``note`` in the invocation's
``toolExecutionNotifications``, so the log still says it did not run, never that it passed. An audit that could not
finish after sampling (the report's ``errors``) is an ``error`` notification, and the invocation is then not
``executionSuccessful``.

Rules (``tool.driver.rules``): ``hubaudit.privacy/<attribute>`` per self-audited attribute, and per fairness
criterion ``hubaudit.fairness/max-dp-gap``, ``reference-excess``, ``declared-excess``, ``under-represented``
(the criterion the verdict found met, or left inconclusive), with ``hubaudit.fairness/demographic-parity`` where the
report names no criterion (a report before schema 1.2, a verdict without criteria). The pair ``S/Y`` is in the
message and the result's ``properties``. Every result's location is the model: ``hf://org/name@sha`` for a Hub
model, the folder as given for a local one, and its sha in the artifact location's ``properties``.
"""

from __future__ import annotations

import json
from pathlib import PurePosixPath

from hubaudit.report.content import Check, checks, estimate_text, fairness_pairs, pair_name
from hubaudit.version import __version__

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {"finding": "error", "inconclusive": "warning"}
"""A check's outcome -> the level of its results; other outcomes give none."""
FAIRNESS_RULES = {
    "max_dp_gap": ("max-dp-gap", "Demographic-parity gap of the generated samples above the threshold"),
    "reference_excess": ("reference-excess", "Generated gap above the reference data's gap by more than the margin"),
    "declared_excess": (
        "declared-excess",
        "Generated gap above the model card's declared gap by more than the margin",
    ),
    "under_represented": ("under-represented", "A sensitive group below the floor share under every label value"),
    None: ("demographic-parity", "Demographic parity of the generated samples (no criterion recorded)"),
}
"""Fairness criterion (as the report's ``verdict.criteria`` names it; None: none named) -> (rule id tail, summary)."""


def render_sarif(report: dict) -> str:
    """The SARIF 2.1.0 log (JSON text, one run) of ``report``."""
    location = _model_location(report)
    pairs = {pair_name(pair): pair for pair in fairness_pairs(report.get("fairness") or {})}
    attributes = {a.get("name"): a for a in (report.get("properties") or {}).get("attributes", [])}
    rules: dict[str, dict] = {}
    results, notifications = [], []
    for check in checks(report):
        if check.outcome == "not tested":
            notifications.append(
                _notification("note", f"hubaudit.{check.kind}/{check.name}: {check.reason or 'not tested'}")
            )
        if check.outcome not in LEVELS:
            continue
        rule_id, summary, evidence = _rule_and_evidence(check, pairs.get(check.name), attributes.get(check.name))
        rules.setdefault(rule_id, {"id": rule_id, "shortDescription": {"text": summary}})
        lines = check.findings if check.outcome == "finding" and check.findings else [check.reason]
        for line in lines:
            text = " ".join(
                part
                for part in (
                    line if line.startswith(f"{check.name}:") else f"{check.name}: {line}",
                    evidence,
                    _next(check) if check.outcome != "finding" else "",
                )
                if part
            )
            results.append(
                {
                    "ruleId": rule_id,
                    "level": LEVELS[check.outcome],
                    "message": {"text": text},
                    "locations": [location],
                    "partialFingerprints": {"hubauditCheck/v1": f"{rule_id}:{check.name}"},
                    "properties": {"kind": check.kind, "subject": check.name, "outcome": check.outcome},
                }
            )
    for error in report.get("errors") or []:
        notifications.append(_notification("error", f"{error.get('section')}: {error.get('message')}"))
    invocation = {
        "executionSuccessful": not report.get("errors"),
        "toolExecutionNotifications": notifications,
    }
    if report.get("command"):
        invocation["commandLine"] = str(report["command"])
    tool = {"driver": {"name": "hubaudit", "version": __version__, "rules": list(rules.values())}}
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{"tool": tool, "invocations": [invocation], "results": results}],
    }
    return json.dumps(log, indent=2) + "\n"


def _rule_and_evidence(check: Check, pair: dict | None, attribute: dict | None) -> tuple[str, str, str]:
    """(rule id, its summary, the interval and margin in words) of a finding or inconclusive ``check``."""
    if check.kind == "fairness":
        verdict = (pair or {}).get("verdict") or {}
        criteria = [c for c in verdict.get("criteria") or [] if c.get("outcome") == check.outcome]
        criterion = criteria[0] if criteria and criteria[0].get("criterion") in FAIRNESS_RULES else {}
        tail, summary = FAIRNESS_RULES[criterion.get("criterion")]
        gap = verdict.get("gap") or ((pair or {}).get("by_source") or {}).get("generated", {}).get("dp_gap")
        margin = criterion.get("margin", (pair or {}).get("threshold"))
        evidence = "; ".join(
            part
            for part in (
                f"gap {estimate_text(gap)}" if gap else "",
                f"margin {float(margin):g} ({criterion.get('criterion', 'threshold')})" if margin is not None else "",
            )
            if part
        )
        return f"hubaudit.fairness/{tail}", summary, f"({evidence})" if evidence else ""
    summary = f"Training share of {check.name} learnable from the generated samples (privacy self-audit)"
    if check.kind != "privacy":
        summary = f"hubaudit {check.kind} check"
    audit = (attribute or {}).get("self_audit") or {}
    shares, estimates = audit.get("training_share") or {}, audit.get("estimates") or {}
    margin = audit.get("max_property_error")
    parts = [
        f"{check.name}={value} {estimate_text(estimates[value])} vs training share {float(share):.3f}"
        + (f" ± {float(margin):g}" if margin is not None else "")
        for value, share in shares.items()
        if value in estimates and share is not None
    ]
    return f"hubaudit.{check.kind}/{check.name}", summary, f"({'; '.join(parts)})" if parts else ""


def _next(check: Check) -> str:
    """``"Next: ..."`` of an unsettled check, or ``""``."""
    return f"Next: {check.next_step}" if check.next_step else ""


def _notification(level: str, text: str) -> dict:
    return {"level": level, "message": {"text": text}}


def _model_location(report: dict) -> dict:
    """The SARIF location of the audited model: ``hf://org/name@sha``, or a local folder as given (a relative path
    stays relative, so that a folder in the scanned repository is shown as one); its sha in ``properties``."""
    model = report.get("model") or {}
    reference, sha = str(model.get("reference") or "unknown-model"), model.get("resolved_sha")
    local = str(sha or "").startswith("local-") or reference.startswith((".", "/", "~"))
    if local:
        path = PurePosixPath(reference.replace("\\", "/"))
        uri = path.as_uri() if path.is_absolute() else str(path)
    else:
        repo_id = reference.removeprefix("hf://").partition("@")[0]
        uri = f"hf://{repo_id}@{sha}" if sha else f"hf://{reference.removeprefix('hf://')}"
    artifact = {"uri": uri, "properties": {"reference": reference, "resolvedSha": sha}}
    return {"physicalLocation": {"artifactLocation": artifact}}
