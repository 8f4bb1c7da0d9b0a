"""The Markdown section of a report, ready to paste into a model card (README.md on the Hub)."""

from __future__ import annotations

from hubaudit import __version__
from hubaudit.report.content import attribute_rows, checks, confidence_text, estimate_text, fairness_pairs, fairness_sources, pair_name


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
        "To reproduce:",
        "",
        "```bash",
        report.get("command", ""),
        "```",
        "",
    ]
    return "\n".join(lines)


def findings_lines(report: dict) -> list[str]:
    """Markdown lines: ``**Findings:** none.``, or a bullet per finding (naming its check unless the message does)."""
    failed = [check for check in checks(report) if not check.passed]
    errors = [f"- {error.get('section')} ({error.get('error')}): {error.get('message')}" for error in report.get("errors") or []]
    unfinished = ["**Audits that did not finish:**", "", *errors, ""] if errors else []
    if not failed:
        return ["**Findings:** none.", "", *unfinished]
    lines = ["**Findings:**", ""]
    for check in failed:
        lines += [f"- {check.kind}: {message}" if check.name in message else f"- {check.kind} ({check.name}): {message}"
                  for message in check.findings]
    return lines + ["", *unfinished]


def _properties_lines(properties: dict) -> list[str]:
    if not properties.get("attributes"):
        return []
    confidence = confidence_text(properties.get("confidence"))
    lines = ["### Attribute shares of generated samples", ""]
    if properties.get("statement"):
        lines += [properties["statement"], ""]
    lines += [f"| attribute | condition | value | share [{confidence} interval] | method | n |", "| --- | --- | --- | --- | --- | --- |"]
    for attribute in properties["attributes"]:
        lines += [
            f"| {_cell(row.attribute)} | {_cell(row.condition)} | {_cell(row.value)} | {estimate_text(row.estimate)} | "
            f"{row.method} | {row.estimate.get('n', '')} |"
            for row in attribute_rows(attribute)
        ]
    lines.append("")
    for attribute in properties["attributes"]:
        verdict = (attribute.get("self_audit") or {}).get("verdict")
        if verdict:
            lines += [f"Self-audit of {attribute['name']}: {verdict}", ""]
    return lines


def _fairness_lines(fairness: dict) -> list[str]:
    lines = []
    for pair in fairness_pairs(fairness):
        lines += [f"### Fairness signature: {pair_name(pair)}", ""]
        verdict = pair.get("verdict") or {}
        if verdict:
            lines += [f"{'Finding' if verdict.get('finding') else 'No finding'}: {verdict.get('reason', '')}", ""]
        lines += [f"- {source} data: demographic-parity gap {estimate_text(section.get('dp_gap'))}" for source, section in fairness_sources(pair)]
        if pair.get("gap_difference"):
            lines.append(f"- gap added by the model: {estimate_text(pair['gap_difference'])}")
        lines.append("")
    return lines


def _cell(text: str) -> str:
    """``text`` safe inside a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")
