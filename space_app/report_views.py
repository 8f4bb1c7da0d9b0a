"""A scan's report as the Space's tabs show it: the verdict, the estimates table, charts, the sample gallery, files.

Everything is read off the report dict (docs/report-schema.md) with the report layer's own views (:mod:`hubaudit.report`).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from hubaudit.report import (
    attribute_chart_png,
    attribute_rows,
    fairness_heatmap_png,
    fairness_pairs,
    findings_lines,
    model_title,
    pair_name,
    read_condition_images,
    render_markdown,
)

GALLERY_PER_CONDITION = 16
"""Samples shown per condition."""
ESTIMATE_HEADERS = ["attribute", "condition", "value", "count", "share", "low", "high", "method"]
"""Columns of the estimates table."""


@dataclass(frozen=True)
class ScanView:
    """What the Scan tab shows of a report: Markdown verdict, table rows (:data:`ESTIMATE_HEADERS`), captioned
    charts and samples, the report files' paths and the model card section (Markdown)."""

    verdict: str
    estimates: list[list]
    charts: list[tuple[Image.Image, str]]
    samples: list[tuple[Image.Image, str]]
    files: list[str]
    model_card: str

    @property
    def outputs(self) -> tuple:
        """The Scan tab's output values, in the order of its output components."""
        return self.verdict, self.estimates, self.charts, self.samples, self.files, self.model_card


def scan_view(report: dict, out_dir: Path) -> ScanView:
    """The Scan tab's view of ``report``, written with its files to ``out_dir``."""
    return ScanView(
        verdict=verdict_markdown(report),
        estimates=[
            [
                row.attribute,
                row.condition,
                row.value,
                row.count,
                *(round(float(row.estimate[key]), 4) for key in ("value", "low", "high")),
                row.method,
            ]
            for attribute in (report.get("properties") or {}).get("attributes", [])
            for row in attribute_rows(attribute)
        ],
        charts=report_charts(report),
        samples=[
            (pil_image(image), f"{found.condition} #{index}")
            for found in read_condition_images(report, per_condition=GALLERY_PER_CONDITION)
            if found.images is not None
            for index, image in enumerate(found.images)
        ],
        files=report_files(out_dir),
        model_card=render_markdown(report),
    )


def report_files(out_dir: Path) -> list[str]:
    """The paths of the JSON and HTML reports a scan wrote to ``out_dir``."""
    return [str(out_dir / "report.json"), str(out_dir / "report.html")]


def verdict_markdown(report: dict) -> str:
    """The model and its sha, the sample count, the findings (or none) and what the estimates mean, as Markdown."""
    lines = [f"### {model_title(report)}", "", f"{report.get('n_total')} samples.", "", *findings_lines(report)]
    statement = (report.get("properties") or {}).get("statement")
    return "\n".join(lines + ([f"_{statement}_"] if statement else []))


def report_charts(report: dict) -> list[tuple[Image.Image, str]]:
    """A bar chart per attribute, then a heat map per fairness (S, Y) pair, each with its caption."""
    properties = report.get("properties") or {}
    charts = [
        (attribute_chart_png(attribute, confidence=properties.get("confidence")), attribute.get("name", ""))
        for attribute in properties.get("attributes", [])
    ]
    return _images(charts) + fairness_heatmaps(report)


def fairness_heatmaps(report: dict) -> list[tuple[Image.Image, str]]:
    """The S x Y heat map of each fairness pair (``fairness: S/Y``), as :func:`hubaudit.api.fairness_heatmap_png` draws it."""
    pairs = fairness_pairs(report.get("fairness") or {})
    return _images([(fairness_heatmap_png(pair), f"fairness: {pair_name(pair)}") for pair in pairs])


def _images(charts: list[tuple[bytes | None, str]]) -> list[tuple[Image.Image, str]]:
    return [(Image.open(io.BytesIO(png)), caption) for png, caption in charts if png]


def pil_image(image: np.ndarray, *, upscale_to: int = 0) -> Image.Image:
    """``uint8 [H, W, C]`` (C = 1 or 3) as a PIL image, enlarged (pixels kept sharp) by the largest whole factor that
    keeps its longer side within ``upscale_to`` pixels; a larger image keeps its size."""
    picture = Image.fromarray(image.squeeze(-1) if image.shape[-1] == 1 else image)
    factor = max(1, upscale_to // max(picture.size))
    return picture.resize((picture.width * factor, picture.height * factor), Image.NEAREST) if factor > 1 else picture
