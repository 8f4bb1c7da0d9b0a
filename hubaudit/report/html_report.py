"""The self-contained HTML report: one file, every image inlined as a base64 PNG.

Rendered from the report dict (docs/report-schema.md) with the Jinja2 template
``templates/report.html.j2`` (autoescaped); sample images are read back from the stores.
"""

from __future__ import annotations

import base64
import math
from pathlib import Path

import jinja2

from hubaudit.report.charts import attribute_chart_png, fairness_heatmap_png
from hubaudit.report.content import (
    attribute_groups,
    attribute_rows,
    checks,
    condition_label,
    confidence_text,
    estimate_text,
    fairness_pairs,
    fairness_sources,
    gap_text,
    headline_estimates,
    model_title,
    outcome_counts,
    pair_name,
)
from hubaudit.report.memorization import pair_condition
from hubaudit.report.samples import read_condition_images
from hubaudit.sampling.store import encode_png
from hubaudit.version import __version__

METHOD_ORDER = ("sequential", "ppi", "corrected", "classify_and_count", "hoeffding", "soft")
"""Estimator columns in the per-condition tables (others follow in report order)."""
GALLERY_CONDITIONS = 24
"""Conditions whose samples the page shows (a 1000-class model would make a page of megabytes)."""


def _number_text(value: object) -> str:
    """Floats to 3 significant digits (small p-values in scientific notation); None as blank."""
    if value is None or isinstance(value, jinja2.Undefined):
        return ""
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:.3g}"
    return str(value)


_ENVIRONMENT = jinja2.Environment(
    loader=jinja2.PackageLoader("hubaudit.report", "templates"),
    autoescape=True,
    undefined=jinja2.ChainableUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENVIRONMENT.filters["estimate"] = estimate_text
_ENVIRONMENT.filters["number"] = _number_text
_ENVIRONMENT.filters["gap"] = gap_text


def png_data_uri(png: bytes) -> str:
    """``data:image/png;base64,...`` for PNG bytes."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def render_html(report: dict, *, report_dir: Path | str | None = None, samples_per_condition: int = 8) -> str:
    """The HTML report for ``report`` as one self-contained page.

    Args:
        report: a report dict (docs/report-schema.md); optional sections may be absent.
        report_dir: the report's folder, where moved sample stores are looked for.
        samples_per_condition: sample images shown per condition.
    """
    properties = report.get("properties") or {}
    fairness = report.get("fairness") or {}
    gallery = [
        {
            "condition": found.condition,
            "missing": found.missing,
            "images": [png_data_uri(encode_png(image)) for image in found.images] if found.images is not None else [],
        }
        for found in read_condition_images(
            report, per_condition=samples_per_condition, max_conditions=GALLERY_CONDITIONS, report_dir=report_dir
        )
    ]
    found = checks(report)
    return _ENVIRONMENT.get_template("report.html.j2").render(
        version=__version__,
        schema_version=report.get("schema_version", ""),
        title=model_title(report),
        model=report.get("model") or {},
        sampler=report.get("sampler") or {},
        n_total=report.get("n_total"),
        n_per_condition=report.get("n_per_condition"),
        sample_rows=[
            {**samples, "label": condition_label(samples.get("condition"))} for samples in report.get("samples", [])
        ],
        timings=report.get("timings") or {},
        command=report.get("command", ""),
        findings=report.get("findings", []),
        errors=report.get("errors") or [],
        checks=found,
        outcome_counts=outcome_counts(found),
        gallery=gallery,
        conditions_not_shown=max(0, len(report.get("samples", [])) - len(gallery)),
        properties=properties,
        confidence=confidence_text(properties.get("confidence")),
        attributes=[
            _attribute_view(attribute, properties.get("confidence")) for attribute in properties.get("attributes", [])
        ],
        fairness=fairness,
        fairness_views=[_pair_view(pair) for pair in fairness_pairs(fairness)],
        memorization=report.get("memorization") or {},
        memorization_pairs=[
            {**pair, "label": pair_condition(pair)} for pair in (report.get("memorization") or {}).get("top_pairs", [])
        ],
    )


def _pair_view(pair: dict) -> dict:
    heatmap = fairness_heatmap_png(pair)
    return {
        "pair": pair,
        "name": pair_name(pair),
        "heatmap": png_data_uri(heatmap) if heatmap else None,
        "sources": fairness_sources(pair),
    }


def _attribute_view(attribute: dict, confidence: float | None) -> dict:
    rows = attribute_rows(attribute)
    present = {method for row in rows for method in row.by_method}
    chart = attribute_chart_png(attribute, confidence=confidence)
    return {
        "name": attribute.get("name", ""),
        "annotator": attribute.get("annotator"),
        "chart": png_data_uri(chart) if chart else None,
        "rows": rows,
        "methods": [method for method in METHOD_ORDER if method in present] + sorted(present - set(METHOD_ORDER)),
        "notes": _attribute_notes(attribute),
        "headline": headline_estimates(attribute),
        "self_audit": attribute.get("self_audit") or {},
    }


def _attribute_notes(attribute: dict) -> list[str]:
    notes = []
    for label, entry in attribute_groups(attribute):
        if entry.get("corrected_error"):
            notes.append(f"{label}: no corrected estimate: {entry['corrected_error']}")
        gold = entry.get("gold")
        if gold:
            notes.append(
                f"{label}: 'ppi' is prediction-powered with {gold.get('used')} gold labels ({', '.join(gold.get('labellers') or [])}) "
                f"from {gold.get('file') or ', '.join(gold.get('files') or [])}; valid whatever the annotator's error on "
                "generated images"
            )
        sequential = entry.get("sequential")
        if sequential:
            outcome = "reached" if sequential.get("reached") else "did not reach"
            notes.append(
                f"{label}: the sequential headline ({sequential.get('estimates_what', 'labelled shares')}, anytime-valid) "
                f"{outcome} ±{_number_text(sequential.get('target_half_width'))} after {sequential.get('n_used')} samples: "
                f"{estimate_text(sequential.get('estimate'))}; {sequential.get('recommendation', '')}"
            )
    return notes
