"""Render a report dict in any format, to a string or to its default file beside report.json."""

from __future__ import annotations

from pathlib import Path

from hubaudit.errors import InvalidReport, first_line
from hubaudit.report.html_report import render_html
from hubaudit.report.json_report import write_text_atomically
from hubaudit.report.junit_report import render_junit
from hubaudit.report.markdown_report import render_markdown
from hubaudit.report.sarif_report import render_sarif

REPORT_FILES = {"html": "report.html", "md": "report.md", "junit": "junit.xml", "sarif": "report.sarif"}
"""Format -> the file name it gets beside report.json by default."""


def render_report(report: dict, report_format: str, *, report_dir: Path | str | None = None) -> str:
    """``report`` as ``"html"``, ``"md"``, ``"junit"`` or ``"sarif"`` text; ``report_dir``: where moved sample stores are looked for.

    Raises:
        InvalidReport: a field has the wrong type or shape (a report edited by hand or by another tool).
    """
    renderers = {
        "html": lambda: render_html(report, report_dir=report_dir),
        "md": lambda: render_markdown(report),
        "junit": lambda: render_junit(report),
        "sarif": lambda: render_sarif(report),
    }
    if report_format not in renderers:
        raise ValueError(f"unknown report format {report_format!r}; choose from {', '.join(REPORT_FILES)}")
    try:
        return renderers[report_format]()
    except (TypeError, KeyError, ValueError, AttributeError, IndexError) as err:
        raise InvalidReport(
            f"the report has a field of the wrong type or shape ({type(err).__name__}: {first_line(err)})"
        ) from err


def write_report(report: dict, report_format: str, path: Path | str, *, report_dir: Path | str | None = None) -> Path:
    """Render ``report`` as ``report_format`` and write it to ``path`` atomically; returns the path."""
    path = Path(path)
    text = render_report(report, report_format, report_dir=report_dir if report_dir is not None else path.parent)
    return write_text_atomically(text, path)
