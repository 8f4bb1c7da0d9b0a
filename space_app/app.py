"""hubaudit as a Gradio app (a Hugging Face Space): audit a diffusion model on the Hub from a browser.

It runs the same scan as ``hubaudit scan`` (:func:`hubaudit.api.scan`), for Hub ids only
(``allow_local=False``: nobody names a server path from the web), with every field checked,
one scan at a time (the queue runs one GPU job), and errors shown as one-line messages.

Run locally: ``python space_app/app.py [--host 127.0.0.1] [--port 7860] [--work-dir DIR]``;
on Spaces, ``app.py`` is started as is (``GRADIO_SERVER_NAME``/``GRADIO_SERVER_PORT`` apply).
"""

from __future__ import annotations

import argparse
import io
import logging
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
from PIL import Image

from hubaudit.annotate import CLIP_PRESETS, DEFAULT_CLIP_MODEL, parse_attribute_spec
from hubaudit.api import scan
from hubaudit.errors import HubAuditError, InvalidAttributeSpec, InvalidModelReference, InvalidSamplerConfig
from hubaudit.hub import parse_model_reference
from hubaudit.report.charts import attribute_chart_png, fairness_heatmap_png
from hubaudit.report.content import attribute_rows, fairness_pairs, model_title, pair_name
from hubaudit.report.markdown_report import findings_lines, render_markdown
from hubaudit.report.samples import read_condition_images

MAX_SAMPLES = 256
"""Most samples one web request may ask for."""
MAX_STEPS = 200
"""Most denoising steps one web request may ask for."""
GALLERY_PER_CONDITION = 16
"""Samples shown per condition."""
ESTIMATE_HEADERS = ["attribute", "condition", "value", "count", "share", "low", "high", "method"]
_REVISION = re.compile(r"[A-Za-z0-9][\w.\-/]{0,99}")
_LOG = logging.getLogger("hubaudit.space")


@dataclass(frozen=True)
class ScanRequest:
    """A checked web request: ``model`` is ``org/name[@revision]``, ``attributes`` ``NAME=SPEC`` strings."""

    model: str
    attributes: tuple[str, ...]
    n: int
    steps: int


def scan_request(
    model_id: str, revision: str, presets: Sequence[str], custom_attributes: str, annotator_id: str, n: float, steps: float
) -> ScanRequest:
    """Check every field of the form; raises a :class:`HubAuditError` naming the first bad one.

    ``custom_attributes`` holds one attribute per line, ``NAME: PROMPT | PROMPT [| ...]`` (or
    ``NAME: VALUE:PROMPT | VALUE:PROMPT``); presets and custom attributes use the CLIP model
    ``annotator_id``.
    """
    model_id, revision, annotator_id = (text.strip() for text in (model_id or "", revision or "", annotator_id or ""))
    if revision:
        if "@" in model_id or not _REVISION.fullmatch(revision) or ".." in revision:
            raise InvalidModelReference(f"{model_id}@{revision}")
        model_id = f"{model_id}@{revision}"
    parse_model_reference(model_id, allow_local=False)
    try:
        parse_model_reference(annotator_id, allow_local=False)
    except InvalidModelReference as err:
        raise InvalidAttributeSpec(f"annotator model: {err}") from None
    unknown = sorted(set(presets or ()) - set(CLIP_PRESETS))
    if unknown:
        raise InvalidAttributeSpec(f"no CLIP preset {', '.join(unknown)} (presets: {', '.join(CLIP_PRESETS)})")
    attributes = [f"{preset}=clip@{annotator_id}" for preset in presets or ()]
    for line in filter(None, (line.strip() for line in (custom_attributes or "").splitlines())):
        name, colon, prompts = line.partition(":")
        if not colon or "|" not in prompts:
            raise InvalidAttributeSpec(f"custom attribute {line!r}: expected NAME: PROMPT | PROMPT (one attribute per line)")
        attributes.append(f"{name.strip()}=clip@{annotator_id}:{prompts.strip()}")
    names = [parse_attribute_spec(text).name for text in attributes]
    if not names:
        raise InvalidAttributeSpec("choose at least one attribute (a preset or a custom CLIP attribute)")
    if len(set(names)) != len(names):
        raise InvalidAttributeSpec(f"attribute names must differ: {', '.join(names)}")
    return ScanRequest(model_id, tuple(attributes), _whole_number("samples", n, MAX_SAMPLES), _whole_number("steps", steps, MAX_STEPS))


def _whole_number(name: str, value: float | None, maximum: int) -> int:
    if value is None or float(value) != int(value) or not 1 <= int(value) <= maximum:
        raise InvalidSamplerConfig(f"{name} must be a whole number from 1 to {maximum}, got {value}")
    return int(value)


@dataclass(frozen=True)
class ScanView:
    """What the page shows after a scan."""

    verdict: str
    estimates: list[list]
    charts: list[tuple[Image.Image, str]]
    samples: list[tuple[Image.Image, str]]
    files: list[str]
    model_card: str


def run_request(request: ScanRequest, work_root: Path) -> ScanView:
    """Scan as the request says in a fresh folder under ``work_root``; the samples are deleted after rendering."""
    out_dir = Path(tempfile.mkdtemp(prefix="scan-", dir=work_root))
    result = scan(request.model, n=request.n, steps=request.steps, attributes=list(request.attributes),
                  out_dir=out_dir, allow_local=False, progress=True)
    report = result.to_dict()
    view = ScanView(
        verdict=_verdict_markdown(report),
        estimates=[
            [row.attribute, row.condition, row.value, row.count,
             *(round(float(row.estimate[key]), 4) for key in ("value", "low", "high")), row.method]
            for attribute in (report.get("properties") or {}).get("attributes", []) for row in attribute_rows(attribute)
        ],
        charts=_charts(report),
        samples=[
            (Image.fromarray(image.squeeze(-1) if image.shape[-1] == 1 else image), f"{found.condition} #{index}")
            for found in read_condition_images(report, per_condition=GALLERY_PER_CONDITION)
            if found.images is not None for index, image in enumerate(found.images)
        ],
        files=[str(out_dir / "report.json"), str(out_dir / "report.html")],
        model_card=render_markdown(report),
    )
    shutil.rmtree(out_dir / "samples", ignore_errors=True)  # the HTML report inlines what it shows
    return view


def _verdict_markdown(report: dict) -> str:
    lines = [f"### {model_title(report)}", "", f"{report.get('n_total')} samples.", "", *findings_lines(report)]
    statement = (report.get("properties") or {}).get("statement")
    return "\n".join(lines + ([f"_{statement}_"] if statement else []))


def _charts(report: dict) -> list[tuple[Image.Image, str]]:
    properties = report.get("properties") or {}
    charts = [(attribute_chart_png(attribute, confidence=properties.get("confidence")), attribute.get("name", ""))
              for attribute in properties.get("attributes", [])]
    charts += [(fairness_heatmap_png(pair), f"fairness: {pair_name(pair)}") for pair in fairness_pairs(report.get("fairness") or {})]
    return [(Image.open(io.BytesIO(png)), caption) for png, caption in charts if png]


def _cleared() -> tuple:
    """Blank outputs while a scan waits or runs, so that no earlier result shows beside a new error."""
    return "Scanning (scans run one at a time)...", None, None, None, None, ""


def build_demo(*, work_root: Path | str | None = None) -> gr.Blocks:
    """The app; scans write under ``work_root`` (default: a fresh temporary folder)."""
    work_root = Path(work_root) if work_root is not None else Path(tempfile.mkdtemp(prefix="hubaudit-space-"))
    work_root.mkdir(parents=True, exist_ok=True)

    def audit(model_id, revision, presets, custom_attributes, annotator_id, n, steps, progress=gr.Progress(track_tqdm=True)):
        try:
            request = scan_request(model_id, revision, presets, custom_attributes, annotator_id, n, steps)
            progress(0, desc=f"Loading {request.model}")
            view = run_request(request, work_root)
        except HubAuditError as err:
            raise gr.Error(str(err), duration=None, print_exception=False) from None
        except Exception as err:  # a bug, not bad input: log it here, show one line there
            _LOG.exception("scan failed")
            raise gr.Error(f"internal error ({type(err).__name__}); the scan did not finish", duration=None, print_exception=False) from None
        return view.verdict, view.estimates, view.charts, view.samples, view.files, view.model_card

    with gr.Blocks(title="hubaudit") as demo:
        gr.Markdown(
            "# hubaudit: audit a shared diffusion model\n"
            "Samples a diffusion model from the Hugging Face Hub, labels the samples with a CLIP model and "
            "estimates the share of each attribute value among the **generated** samples, with confidence intervals."
        )
        with gr.Row():
            with gr.Column(scale=1):
                model_id = gr.Textbox(label="Model id", placeholder="org/name", elem_id="model-id")
                revision = gr.Textbox(label="Revision (optional)", placeholder="branch, tag or commit sha", elem_id="revision")
                presets = gr.CheckboxGroup(list(CLIP_PRESETS), value=["gender"], label="Attributes (CLIP presets)", elem_id="presets")
                custom_attributes = gr.Textbox(
                    label="Custom CLIP attributes (one per line)", lines=2, elem_id="custom-attributes",
                    placeholder="smile: a photo of a smiling person | a photo of a person with a neutral face",
                )
                annotator_id = gr.Textbox(label="Annotator model id (CLIP or SigLIP)", value=DEFAULT_CLIP_MODEL, elem_id="annotator-id")
                n = gr.Slider(1, MAX_SAMPLES, value=64, step=1, label="Samples", elem_id="samples-count")
                steps = gr.Slider(1, MAX_STEPS, value=50, step=1, label="Denoising steps", elem_id="steps")
                run = gr.Button("Run audit", variant="primary", elem_id="run")
            with gr.Column(scale=2):
                verdict = gr.Markdown(elem_id="verdict")
                estimates = gr.Dataframe(headers=ESTIMATE_HEADERS, label="Estimates", interactive=False, elem_id="estimates")
                charts = gr.Gallery(label="Charts", columns=2, format="png", object_fit="contain", height="auto", elem_id="charts")
                samples = gr.Gallery(label="Samples", columns=8, format="png", height="auto", elem_id="samples")
                files = gr.File(label="Reports (JSON, HTML)", file_count="multiple", elem_id="reports")
                model_card = gr.Code(label="Model card section (Markdown)", language="markdown", elem_id="model-card")
        outputs = [verdict, estimates, charts, samples, files, model_card]
        run.click(_cleared, None, outputs, queue=False).then(
            audit,
            [model_id, revision, presets, custom_attributes, annotator_id, n, steps],
            outputs,
            concurrency_limit=1,
            concurrency_id="scan",
        )
    demo.queue(default_concurrency_limit=1, max_size=32)
    return demo


def main(argv: Sequence[str] | None = None) -> None:
    """Serve the app (host and port default to ``GRADIO_SERVER_NAME``/``GRADIO_SERVER_PORT``, then Gradio's)."""
    parser = argparse.ArgumentParser(description="Serve the hubaudit Gradio app.")
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1; Spaces set 0.0.0.0)")
    parser.add_argument("--port", type=int, help="port (default 7860)")
    parser.add_argument("--work-dir", type=Path, help="where scans write (default: a temporary folder)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    theme = gr.themes.Default(font=["system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])  # no web fonts
    allowed = [str(args.work_dir.resolve())] if args.work_dir else None
    build_demo(work_root=args.work_dir).launch(server_name=args.host, server_port=args.port, allowed_paths=allowed, theme=theme)


if __name__ == "__main__":
    main()
