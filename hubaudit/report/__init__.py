"""Scan results -> the report JSON, and the renderings people and CI read (HTML, Markdown, JUnit, SARIF).

The JSON (docs/report-schema.md) is written once by a scan and typed by :class:`ScanReport`
(:mod:`~hubaudit.report.scan_report`); every other format is rendered from it (:mod:`hubaudit.report.render`), so
``hubaudit report report.json --format html|md|junit|sarif`` re-renders without resampling.

This package's names are the report views a front end shows (the Space, ``hubaudit label``), each imported on first
use (:mod:`hubaudit.exports`): reading a report (:mod:`~hubaudit.report.json_report`,
:mod:`~hubaudit.report.content`) needs neither torch nor matplotlib.
"""

from hubaudit.exports import lazy_exports

EXPORTS = {
    "OUTCOMES": "scan_report",
    "Finding": "scan_report",
    "ScanReport": "scan_report",
    "Verdict": "scan_report",
    "Check": "content",
    "EstimateRow": "content",
    "attribute_groups": "content",
    "attribute_rows": "content",
    "checks": "content",
    "condition_label": "content",
    "confidence_text": "content",
    "estimate_text": "content",
    "fairness_pairs": "content",
    "fairness_sources": "content",
    "model_title": "content",
    "pair_name": "content",
    "attribute_chart_png": "charts",
    "fairness_heatmap_png": "charts",
    "findings_lines": "markdown_report",
    "render_markdown": "markdown_report",
    "ConditionImages": "samples",
    "read_condition_images": "samples",
    "image_lines": "terminal",
    "membership_lines": "memorization",
}
"""Public name -> the module of this package that defines it."""

__all__ = sorted(EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, EXPORTS)
