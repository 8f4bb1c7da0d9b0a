"""Scan results -> the report JSON, and the renderings people and CI read (HTML, Markdown, JUnit).

The JSON (docs/report-schema.md) is written once by a scan; every other format is rendered
from it (:mod:`hubaudit.report.render`), so ``hubaudit report report.json --format html|md|junit``
re-renders without resampling. Modules are imported one by one: reading a report
(:mod:`~hubaudit.report.json_report`, :mod:`~hubaudit.report.content`) needs neither torch nor
matplotlib.
"""
