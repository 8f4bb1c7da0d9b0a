"""Render a report dict in any format, to a string or to its default file beside report.json."""

from __future__ import annotations

from pathlib import Path

from hubaudit.report.html_report import render_html
from hubaudit.report.json_report import write_text_atomically
from hubaudit.report.junit_report import render_junit
from hubaudit.report.markdown_report import render_markdown

REPORT_FILES = {"html": "report.html", "md": "report.md", "junit": "junit.xml"}
"""Format -> the file name it gets beside report.json by default."""


def render_report(report: dict, report_format: str, *, report_dir: Path | str | None = None) -> str:
    """``report`` as ``"html"``, ``"md"`` or ``"junit"`` text; ``report_dir``: where moved sample stores are looked for."""
    if report_format == "html":
        return render_html(report, report_dir=report_dir)
    if report_format == "md":
        return render_markdown(report)
    if report_format == "junit":
        return render_junit(report)
    raise ValueError(f"unknown report format {report_format!r}; choose from {', '.join(REPORT_FILES)}")


def write_report(report: dict, report_format: str, path: Path | str, *, report_dir: Path | str | None = None) -> Path:
    """Render ``report`` as ``report_format`` and write it to ``path`` atomically; returns the path."""
    path = Path(path)
    text = render_report(report, report_format, report_dir=report_dir if report_dir is not None else path.parent)
    return write_text_atomically(text, path)
