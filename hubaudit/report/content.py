"""What every rendering of a report shows, read once from the report dict.

The report dict has the shape of docs/report-schema.md. This module is the one place the
renderers (HTML, Markdown, JUnit, the Space) learn that shape from: it turns the optional
``properties`` and ``fairness`` sections and the ``findings`` into plain records, and
tolerates any optional section or key being absent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

CHECK_KINDS = ("privacy", "fairness", "memorization")
"""Finding kinds the schema defines; each becomes a check (a JUnit test case)."""
OUTCOME_WORDS = {
    "finding": "finding",
    "no finding": "no finding",
    "inconclusive": "inconclusive",
    "not tested": "not tested",
    "done": "done",
}
"""A check's outcome as shown; "done" is the sampling check's (the scan finished), the others a verdict's."""
UNSETTLED = ("inconclusive", "not tested")
LEGACY = "not tested: this report (schema before 1.2) records no three-outcome verdict; rescan with this hubaudit"


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
    """One check of a report: a JUnit test case, a row of the summary.

    ``kind`` is ``"sampling"``, ``"privacy"`` or ``"fairness"``; ``outcome`` one of :data:`OUTCOME_WORDS`
    (a verdict's: finding, no finding, inconclusive, not tested; the sampling check's: done); ``reason`` the
    verdict line and ``next_step`` what to do next; ``findings`` the messages of its findings; ``details``
    lines of evidence.
    """

    kind: str
    name: str
    details: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    outcome: str = "done"
    reason: str = ""
    next_step: str = ""

    @property
    def passed(self) -> bool:
        """Whether the check shows what it checks: the scan finished, or no finding was shown."""
        return self.outcome in ("done", "no finding")


def condition_label(condition: object, class_names: dict | None = None) -> str:
    """A condition (None, a class id or a prompt) as people read it: ``unconditional``, ``class 3`` (``class 3 (cat)``
    where ``class_names``, id -> name as the report's ``model.class_names`` holds it, names it), ``prompt 'a cat'``."""
    if condition is None:
        return "unconditional"
    if isinstance(condition, int):
        name = (class_names or {}).get(str(condition), (class_names or {}).get(condition))
        return f"class {condition} ({name})" if name is not None else f"class {condition}"
    return f"prompt {str(condition)!r}"


def estimate_text(estimate: dict | float | None, *, digits: int = 3) -> str:
    """``"0.310 [0.280, 0.340]"`` for a ShareEstimate dict, ``"0.310"`` for a bare number, ``"n/a"`` for None."""
    if isinstance(estimate, (int, float)) and not isinstance(estimate, bool):
        return f"{float(estimate):.{digits}f}"
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
                rows.append(
                    EstimateRow(attribute["name"], label, value, counts.get(value), estimates[value], method, every)
                )
    return rows


def fairness_pairs(fairness: dict) -> list[dict]:
    """The (S, Y) pairs of a ``fairness`` section: the top-level pair, then any ``other_pairs``."""
    return [fairness, *fairness.get("other_pairs", [])] if fairness else []


def pair_name(pair: dict) -> str:
    """``"S/Y"`` of one fairness pair, as its findings and adjusted p-values name it."""
    return f"{pair.get('sensitive', 'S')}/{pair.get('label', 'Y')}"


def fairness_sources(pair: dict) -> list[tuple[str, dict]]:
    """(source name, statistics) of one pair for ``generated`` then ``reference`` data, those present.

    Both carry the S x Y ``table`` and ShareEstimate ``positive_rates`` and ``dp_gap``; rates a
    model card declares (``by_source.declared``) are bare numbers and are not among them.
    """
    by_source = pair.get("by_source") or {}
    return [(name, by_source[name]) for name in ("generated", "reference") if by_source.get(name)]


def gap_text(section: dict) -> str:
    """A source's demographic-parity gap with the P(Y=1) it is taken at (a gap depends on it), e.g.
    ``"0.080 [0.000, 0.214] at P(Y=1) = 0.50"``; from the source's S x Y ``table``."""
    table = section.get("table") or []
    total = sum(sum(row) for row in table)
    at = (
        f" at P(Y=1) = {sum(row[1] for row in table) / total:.2f}"
        if total and all(len(row) == 2 for row in table)
        else ""
    )
    return (estimate_text(section["dp_gap"]) if section.get("dp_gap") else "undefined") + at


def model_title(report: dict) -> str:
    """``org/name @ sha`` (or the reference alone when the sha is unknown)."""
    model = report.get("model") or {}
    reference, sha = model.get("reference", "(unknown model)"), model.get("resolved_sha")
    return f"{reference} @ {sha}" if sha else str(reference)


def checks(report: dict) -> list[Check]:
    """The report's checks: sampling, then one per verdict (a self-audited attribute, an (S, Y) pair, an audit kind
    that did not run), each with its findings attached and its evidence.

    A report before schema 1.2 has no ``verdicts``: each attribute and pair is then a finding when it has one, and
    "not tested" otherwise (such a report never showed a no finding). Findings that fit no check get a check of
    their own kind, so that none is dropped.
    """
    n_total = report.get("n_total")
    found = [Check("sampling", "samples", [f"{n_total} samples over {len(report.get('samples', []))} condition(s)"])]
    details = {}
    for attribute in (report.get("properties") or {}).get("attributes", []):
        rows = [
            f"{row.condition}: share of {row.value} = {estimate_text(row.estimate)} ({row.method})"
            for row in attribute_rows(attribute)
        ]
        details[("privacy", attribute["name"])] = rows
    for pair in fairness_pairs(report.get("fairness") or {}):
        details[("fairness", pair_name(pair))] = [
            f"{source}: demographic-parity gap {gap_text(section)}" for source, section in fairness_sources(pair)
        ]
    details.update(memorization_details(report.get("memorization")))
    verdicts = report.get("verdicts")
    if verdicts is None:
        verdicts = [
            {"kind": kind, "subject": subject, "outcome": "not tested", "reason": LEGACY, "next_step": ""}
            for kind, subject in details
        ]
    for verdict in verdicts:
        kind, subject = str(verdict.get("kind")), str(verdict.get("subject"))
        reason, next_step = str(verdict.get("reason") or ""), str(verdict.get("next_step") or "")
        evidence = details.get((kind, subject), []) + [
            line for line in (reason, f"next: {next_step}" if next_step else "") if line
        ]
        found.append(
            Check(
                kind,
                subject,
                evidence,
                outcome=str(verdict.get("outcome", "not tested")),
                reason=reason,
                next_step=next_step,
            )
        )
    unplaced: dict[str, Check] = {}
    for finding in report.get("findings", []):
        kind = str(finding.get("kind", "finding"))
        check = _check_of(finding, [check for check in found if check.kind == kind])
        if check is None:
            check = unplaced.setdefault(kind, Check(kind, kind, outcome="finding"))
        check.findings.append(str(finding.get("message", "")))
        check.outcome = "finding"
    return found + list(unplaced.values())


def outcome_counts(found: list[Check]) -> dict[str, int]:
    """Outcome -> how many of the audit's checks (the sampling check left out) ended so, in :data:`OUTCOME_WORDS` order."""
    outcomes = [check.outcome for check in found if check.kind != "sampling"]
    return {outcome: outcomes.count(outcome) for outcome in OUTCOME_WORDS if outcome in outcomes}


def outcome_counts_text(found: list[Check]) -> str:
    """``"2 findings, 1 inconclusive"``: :func:`outcome_counts` in words; empty when there is no check."""
    plural = {"finding": "findings", "no finding": "no findings"}
    counts = outcome_counts(found)
    return ", ".join(
        f"{count} {plural.get(outcome, outcome) if count != 1 else outcome}" for outcome, count in counts.items()
    )


def fail_on_exit_code(report: dict, fail_on: str | None) -> int:
    """The exit code of ``--fail-on KIND`` (``any``: either kind): 1 when a check of that kind is a finding, else 3
    when one is inconclusive or not tested, else 0 (every check of that kind settled on no finding); 0 without
    ``fail_on``."""
    if fail_on is None:
        return 0
    kinds = CHECK_KINDS if fail_on == "any" else (fail_on,)
    outcomes = [check.outcome for check in checks(report) if check.kind in kinds]
    if "finding" in outcomes:
        return 1
    return 3 if any(outcome in UNSETTLED for outcome in outcomes) or not outcomes else 0


def headline_estimates(attribute: dict) -> list[EstimateRow]:
    """The receiver's result for one attribute: the primary estimate of every value (but the first of two) pooled
    over the conditions (the ``overall`` entry when there are several)."""
    rows = attribute_rows(attribute)
    pooled = [row for row in rows if row.condition == "all conditions"] or rows
    values = attribute.get("values") or []
    shown = values[1:] if len(values) == 2 else values
    return [row for row in pooled if row.value in shown]


def _check_of(finding: dict, candidates: list[Check]) -> Check | None:
    """The check among ``candidates`` (all of the finding's kind) that ``finding`` is about."""
    named = [check for check in candidates if check.name == finding.get("attribute")]
    if not named:
        message = str(finding.get("message", ""))
        named = [check for check in candidates if re.search(rf"(?<![\w.-]){re.escape(check.name)}(?![\w-])", message)]
    if not named and len(candidates) == 1:
        named = candidates
    return named[0] if named else None


def memorization_details(section: dict | None) -> dict[tuple[str, str], list[str]]:
    """The evidence lines of the memorization check: its replication rate, copies and distances (nothing without
    a ``memorization`` section)."""
    if not section:
        return {}
    lines = [
        f"replication rate {estimate_text(section.get('replication_rate'))}: {section.get('copies')} of "
        f"{section.get('n')} samples copy one of {section.get('distinct_training_images')} distinct training images "
        f"({section.get('criterion', '')})",
        f"median distance to the nearest training image {estimate_text((section.get('distances') or {}).get('training', {}).get('q50'))}",
    ]
    if section.get("held_out_rate"):
        lines.append(
            f"median distance to the nearest held-out image "
            f"{estimate_text(section['distances'].get('held_out', {}).get('q50'))}; criterion on held-out images "
            f"{estimate_text(section['held_out_rate'])}"
        )
    return {("memorization", f"replication ({section.get('space', 'pixel')})"): lines}
