"""The Markdown section of a report, ready to paste into a model card (README.md on the Hub)."""

from __future__ import annotations

import shlex

from hubaudit.report.content import (
    attribute_rows,
    checks,
    confidence_text,
    estimate_text,
    fairness_pairs,
    fairness_sources,
    gap_text,
    headline_estimates,
    outcome_counts_text,
    pair_name,
)
from hubaudit.report.memorization import memorization_markdown
from hubaudit.version import __version__


def render_markdown(report: dict) -> str:
    """A ``## Privacy and fairness audit`` section summarising ``report`` (docs/report-schema.md)."""
    model, sampler = report.get("model") or {}, report.get("sampler") or {}
    steps = sampler.get("num_inference_steps")
    lines = [
        "## Privacy and fairness audit",
        "",
        f"Audited with hubaudit {__version__} at commit `{model.get('resolved_sha', 'unknown')}` of "
        f"`{model.get('reference', 'unknown')}`: {report.get('n_total')} generated samples "
        f"({report.get('n_per_condition')} per condition, {steps if steps is not None else 'default'} steps, "
        f"scheduler {sampler.get('scheduler_class') or sampler.get('scheduler') or 'default'}, seed {sampler.get('seed')}).",
        "",
        *findings_lines(report),
        *_properties_lines(report.get("properties") or {}),
        *_fairness_lines(report.get("fairness") or {}),
        *memorization_markdown(report.get("memorization")),
        "To reproduce:",
        "",
        "```bash",
        shareable_command(report.get("command", "")),
        "```",
        "",
    ]
    return "\n".join(lines)


def shareable_command(command: str) -> str:
    """``command`` without its ``--out`` folder: where the auditor's disk kept the report is no part of reproducing it,
    and a summary published on the Hub should not show it."""
    words = shlex.split(command)
    kept = [word for i, word in enumerate(words) if word != "--out" and (i == 0 or words[i - 1] != "--out")]
    return shlex.join(kept)


def findings_lines(report: dict) -> list[str]:
    """Markdown lines: one bullet per check of the audit (its outcome: finding, no finding, inconclusive or not
    tested, its verdict line and next step), then the audits that did not finish."""
    errors = [
        f"- {error.get('section')} ({error.get('error')}): {error.get('message')}"
        for error in report.get("errors") or []
    ]
    unfinished = ["**Audits that did not finish:**", "", *errors, ""] if errors else []
    found = [check for check in checks(report) if check.kind != "sampling"]
    lines = [f"**Verdicts:** {outcome_counts_text(found) or 'none'}.", ""]
    for check in found:
        lines.append(
            f"- **{check.outcome}** ({check.kind}, {check.name}): {check.reason or '; '.join(check.findings)}"
        )
        lines += [f"  - finding: {message}" for message in check.findings if message not in check.reason]
        if check.next_step:
            lines.append(f"  - next: {check.next_step}")
    return lines + ["", *unfinished]


def _properties_lines(properties: dict) -> list[str]:
    if not properties.get("attributes"):
        return []
    confidence = confidence_text(properties.get("confidence"))
    lines = ["### Attribute shares of generated samples", ""]
    lines += [
        f"**Inferred share of {row.attribute}={row.value}** among the generated samples ({row.condition}): "
        f"{estimate_text(row.estimate)} ({row.method}, n = {row.estimate.get('n', '')})."
        for attribute in properties["attributes"]
        for row in headline_estimates(attribute)
    ] + [""]
    if properties.get("statement"):
        lines += [properties["statement"], ""]
    lines += [
        f"| attribute | condition | value | share [{confidence} interval] | method | n |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for attribute in properties["attributes"]:
        lines += [
            f"| {_cell(row.attribute)} | {_cell(row.condition)} | {_cell(row.value)} | {estimate_text(row.estimate)} | "
            f"{row.method} | {row.estimate.get('n', '')} |"
            for row in attribute_rows(attribute)
        ]
    lines.append("")
    return lines


def _fairness_lines(fairness: dict) -> list[str]:
    lines = []
    for pair in fairness_pairs(fairness):
        lines += [f"### Fairness signature: {pair_name(pair)}", ""]
        verdict = pair.get("verdict") or {}
        if verdict.get("criteria_applied"):
            lines += [f"Criteria: {verdict['criteria_applied']}.", ""]
        lines += [
            f"- {source} data: demographic-parity gap {gap_text(section)}"
            for source, section in fairness_sources(pair)
        ]
        if pair.get("gap_difference"):
            lines.append(
                f"- gap added by the model (the reference taken at the scan's P(Y=1)): {estimate_text(pair['gap_difference'])}"
            )
        lines.append("")
    return lines


def _cell(text: str) -> str:
    """``text`` safe inside a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")
