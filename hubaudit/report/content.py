"""What every rendering of a report shows, read once from the report dict.

The report dict has the shape of docs/report-schema.md. This module is the one place the
renderers (HTML, Markdown, JUnit, the Space) learn that shape from: it turns the optional
``properties`` and ``fairness`` sections and the ``findings`` into plain records, and
tolerates any optional section or key being absent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

CHECK_KINDS = ("privacy", "fairness")
"""Finding kinds the schema defines; each becomes a check (a JUnit test case)."""


@dataclass(frozen=True)
class EstimateRow:
    """One value of one attribute under one condition.

    ``estimate`` is the primary ShareEstimate dict (``value``, ``low``, ``high``, ``n``, ...),
    from the estimator ``method``; ``by_method`` holds every estimator's, by method name;
    ``count`` is the number of samples the annotator gave this value (None if not reported).
    """

    attribute: str
    condition: str
    value: str
    count: int | None
    estimate: dict
    method: str
    by_method: dict[str, dict] = field(default_factory=dict)


@dataclass
class Check:
    """One pass/fail check of a report: a JUnit test case, a row of the summary.

    ``kind`` is ``"sampling"``, ``"privacy"`` or ``"fairness"``; ``findings`` are the messages
    of the findings that make it fail (none: it passes); ``details`` are lines of evidence.
    """

    kind: str
    name: str
    details: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.findings


def condition_label(condition: object) -> str:
    """A condition (None, a class id or a prompt) as people read it."""
    if condition is None:
        return "unconditional"
    if isinstance(condition, int):
        return f"class {condition}"
    return f"prompt {str(condition)!r}"


def estimate_text(estimate: dict | None, *, digits: int = 3) -> str:
    """``"0.310 [0.280, 0.340]"``; ``"n/a"`` for a missing estimate."""
    if not estimate or estimate.get("value") is None:
        return "n/a"
    value, low, high = (float(estimate.get(key, float("nan"))) for key in ("value", "low", "high"))
    return f"{value:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def confidence_text(confidence: float | None) -> str:
    """``0.95`` -> ``"95%"``; None -> ``"95%"`` (the schema's default level)."""
    return f"{100 * float(confidence if confidence is not None else 0.95):g}%"


def attribute_groups(attribute: dict) -> list[tuple[str, dict]]:
    """(condition label, entry) for each condition, then the pooled ``overall`` entry if any."""
    groups = [(condition_label(entry.get("condition")), entry) for entry in attribute.get("by_condition", [])]
    if attribute.get("overall"):
        groups.append(("all conditions", attribute["overall"]))
    return groups


def primary_estimates(attribute: dict, entry: dict) -> tuple[str, dict[str, dict]]:
    """(method, value -> ShareEstimate dict) that the verdicts and charts use for ``entry``.

    The attribute's ``primary_method`` when the entry has it, else ``classify_and_count``,
    else whichever method the entry has; ``("", {})`` when it has none.
    """
    estimates = entry.get("estimates") or {}
    for method in (attribute.get("primary_method"), "classify_and_count", *estimates):
        if method in estimates:
            return method, estimates[method]
    return "", {}


def attribute_rows(attribute: dict) -> list[EstimateRow]:
    """One row per (condition, value) with the primary estimate, in the attribute's value order."""
    rows = []
    for label, entry in attribute_groups(attribute):
        method, estimates = primary_estimates(attribute, entry)
        counts, by_method = entry.get("counts") or {}, entry.get("estimates") or {}
        for value in attribute.get("values") or list(estimates):
            if value in estimates:
                every = {name: found[value] for name, found in by_method.items() if value in found}
                rows.append(EstimateRow(attribute["name"], label, value, counts.get(value), estimates[value], method, every))
    return rows


def fairness_sources(fairness: dict) -> list[tuple[str, dict]]:
    """(source name, source section) for ``generated`` then ``reference``, those present."""
    by_source = fairness.get("by_source") or {}
    return [(name, by_source[name]) for name in ("generated", "reference") if by_source.get(name)]


def model_title(report: dict) -> str:
    """``org/name @ sha`` (or the reference alone when the sha is unknown)."""
    model = report.get("model") or {}
    reference, sha = model.get("reference", "(unknown model)"), model.get("resolved_sha")
    return f"{reference} @ {sha}" if sha else str(reference)


def checks(report: dict) -> list[Check]:
    """The report's checks with their findings attached: sampling, one per attribute, fairness.

    A privacy finding belongs to the attribute named by its ``attribute`` key, else to the
    first attribute its message names as a word; a fairness finding to the fairness check.
    Findings that fit no check get a check of their own kind, so that none is dropped.
    """
    n_total = report.get("n_total")
    sampling = Check("sampling", "samples", [f"{n_total} samples over {len(report.get('samples', []))} condition(s)"])
    by_attribute = {}
    for attribute in (report.get("properties") or {}).get("attributes", []):
        details = [f"{row.condition}: share of {row.value} = {estimate_text(row.estimate)} ({row.method})" for row in attribute_rows(attribute)]
        verdict = (attribute.get("self_audit") or {}).get("verdict")
        by_attribute[attribute["name"]] = Check("privacy", attribute["name"], details + ([verdict] if verdict else []))
    by_kind: dict[str, Check] = {}
    if report.get("fairness"):
        by_kind["fairness"] = _fairness_check(report["fairness"])
    for finding in report.get("findings", []):
        kind, message = str(finding.get("kind", "finding")), str(finding.get("message", ""))
        check = _attribute_of(finding, by_attribute) if kind == "privacy" else None
        if check is None:
            check = by_kind.setdefault(kind, Check(kind, kind))
        check.findings.append(message)
    return [sampling, *by_attribute.values(), *by_kind.values()]


def _fairness_check(fairness: dict) -> Check:
    name = f"{fairness.get('sensitive', 'S')}/{fairness.get('label', 'Y')}"
    details = [
        f"{source}: demographic-parity gap {estimate_text(section.get('dp_gap'))}"
        for source, section in fairness_sources(fairness)
    ]
    reason = (fairness.get("verdict") or {}).get("reason")
    return Check("fairness", name, details + ([reason] if reason else []))


def _attribute_of(finding: dict, by_attribute: dict[str, Check]) -> Check | None:
    if finding.get("attribute") in by_attribute:
        return by_attribute[finding["attribute"]]
    message = str(finding.get("message", ""))
    for name, check in by_attribute.items():
        if re.search(rf"(?<![\w.-]){re.escape(name)}(?![\w-])", message):
            return check
    return None
