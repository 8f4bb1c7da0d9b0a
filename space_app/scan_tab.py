"""The Scan tab: the form of ``hubaudit scan`` (:func:`hubaudit.api.scan`), every field checked, and its results.

Checking a model (:func:`form_checks.inspected`, no weights loaded) shows its kind and only the fields it takes:
prompts for a text-to-image model, classes for a class-conditional one, a guidance scale. A finished scan leaves its
folder (reports and samples) for the labelling tab, as this page's :class:`ScanSession`, until it is pruned by age.
Before a scan, the *Plan the scan* box shows the samples per condition a fairness or privacy verdict needs
(:func:`plan_markdown`, the numbers ``hubaudit plan`` prints).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import gradio as gr

from form_checks import (
    MAX_CLASSES,
    MAX_PROMPT_CHARS,
    MAX_PROMPTS,
    ScanRequest,
    annotator_reference,
    class_choices,
    inspected,
    model_reference,
    scan_request,
)
from form_fields import declared_field, form_and_results, guidance_update
from hosting import Host, one_line_errors
from hubaudit.api import inspect_model, plan, scan
from report_views import ESTIMATE_HEADERS, ScanView, scan_view

DEFAULT_CLASSES = 4
"""Classes the class picker starts with (the first ones)."""
SCAN_ASKS = {
    "text-to-image": f"enter up to {MAX_PROMPTS} prompts below, one per line.",
    "class-conditional": f"pick up to {MAX_CLASSES} classes below.",
    "unconditional": "it takes no prompt or class.",
}
"""What the scan form asks for each kind of model (the check step's line)."""


@dataclass(frozen=True)
class ScanSession:
    """This page's last finished scan: the folder this Space made for it and the request that filled it.

    Held in a :class:`gradio.State` (server-side, per page): the tabs that work on a scan take its folder from here,
    never from a field a visitor can type in.
    """

    folder: Path
    request: ScanRequest


class FormRequest(Protocol):
    """A checked request of any tab: the model (``org/name[@revision]``) and the scan's other keyword arguments."""

    model: str

    def scan_arguments(self) -> dict: ...


def scanned_report(request: FormRequest, out_dir: Path, **options) -> dict:
    """Scan as ``request`` says with :func:`hubaudit.api.scan`'s further ``options`` (``store_dir``: where the samples
    are, default ``out_dir/samples``, a store there resumes; ``gold``), reports in ``out_dir``, no local path ever
    loaded; the report dict."""
    result = scan(
        request.model, **request.scan_arguments(), **options, out_dir=out_dir, allow_local=False, progress=True
    )
    return result.to_dict()


def run_form(
    host: Host,
    model_id: str,
    revision: str,
    annotator_id: str,
    check: Callable[[dict], FormRequest],
    render: Callable[[FormRequest, Path], object],
    progress: gr.Progress,
    doing: str,
) -> tuple:
    """A form's scan, for a tab's event handler: inspect the model, ``check(info)`` the fields into a request, size
    the models, then ``render(request, folder)`` in a fresh scan folder; ``(request, folder, rendered)``. Inside
    :meth:`Host.scan_job` (``doing`` names it): old folders pruned first, the cache trimmed after, errors one line."""
    with host.scan_job(doing):
        # the model is inspected again: the fields it takes are those of the model scanned, checked or not
        info = inspect_model(model_reference(model_id, revision), allow_local=False).to_dict()
        request = check(info)
        host.check_sizes(info, request.model, annotator_reference(annotator_id))
        progress(0, desc=f"Loading {request.model}")
        folder = host.new_scan_folder()
        return request, folder, render(request, folder)


def run_request(request: ScanRequest, out_dir: Path) -> ScanView:
    """Scan as the request says into the fresh folder ``out_dir`` and render it. The samples stay for the labelling
    tab until the folder is pruned; a failed scan's are deleted at once."""
    try:
        return scan_view(scanned_report(request, out_dir), out_dir)
    except BaseException:
        shutil.rmtree(out_dir / "samples", ignore_errors=True)
        raise


def check_model(model_id: str, revision: str) -> tuple:
    """The check step: the model's description, then updates to the prompts, class and guidance fields."""
    description, info = inspected(model_id, revision, SCAN_ASKS)
    info = info or {}
    choices = class_choices(info) if info.get("kind") == "class-conditional" else []
    return (
        description,
        gr.update(visible=info.get("kind") == "text-to-image"),
        gr.update(visible=bool(choices), choices=choices, value=[value for _, value in choices[:DEFAULT_CLASSES]]),
        guidance_update(info),
    )


def plan_markdown(
    kind: str,
    effect: str,
    max_dp_gap: float | None,
    max_property_error: float | None,
    calibration: float | None,
    annotator_error: str,
    *,
    trials: int | None = None,
) -> str:
    """The plan (:func:`hubaudit.api.plan`, as ``hubaudit plan`` prints it) of the audit the fields describe, as a
    Markdown list: the samples per condition a finding, and no finding, need with power 0.9. Blank fields take the
    plan's defaults; the other audit's margin is ignored. Raises :class:`~hubaudit.errors.InvalidPlan` on a bad field."""
    margins = {"max_dp_gap": max_dp_gap} if kind == "fairness" else {"max_property_error": max_property_error}
    found = plan(
        kind,
        effect=(effect or "").strip() or None,
        calibration_per_class=calibration or None,
        annotator_error=(annotator_error or "").strip() or None,
        trials=trials,
        **margins,
    )
    return "\n".join(f"- {' '.join(line.split())}" for line in found.lines())


def plan_fields() -> None:
    """The *Plan the scan* box: the audit's margins and the effect to detect, and the plan they give (a minute or
    so of simulation, queued apart from the scans)."""
    with gr.Accordion("Plan the scan: the samples per condition a verdict needs", open=False):
        kind = gr.Radio(["fairness", "privacy"], value="fairness", label="Audit", elem_id="plan-kind")
        effect = gr.Textbox(
            label="Effect to detect",
            value="0.3,0.5",
            elem_id="plan-effect",
            info="fairness: P(S=1|Y=0),P(S=1|Y=1); privacy: training share,generated share of value 1",
        )
        with gr.Row():
            max_dp_gap = gr.Number(
                label="Max DP gap (fairness)", value=0.10, minimum=0, maximum=1, elem_id="plan-max-dp-gap"
            )
            max_property_error = gr.Number(
                label="Max property error (privacy)",
                value=0.05,
                minimum=0,
                maximum=1,
                elem_id="plan-max-property-error",
            )
        with gr.Row():
            calibration = gr.Number(
                label="Calibration records per value and class",
                value=1000,
                precision=0,
                minimum=1,
                elem_id="plan-calibration",
            )
            annotator_error = gr.Textbox(
                label="Annotator error rates (FPR,FNR)", value="0.05,0.05", elem_id="plan-annotator-error"
            )
        button = gr.Button("Plan", size="sm", elem_id="plan-run")
        shown = gr.Markdown(elem_id="plan")

    def planned(*fields) -> str:
        with one_line_errors("the plan"):
            return plan_markdown(*fields)

    button.click(
        planned,
        [kind, effect, max_dp_gap, max_property_error, calibration, annotator_error],
        shown,
        concurrency_limit=1,
        concurrency_id="plan",
    )


@dataclass(frozen=True)
class ScanTab:
    """The Scan tab's parts other tabs use: its result components (in :attr:`ScanView.outputs` order) and the event
    that ends each *Run audit* (a failed one included)."""

    outputs: list[gr.components.Component]
    finished: object


def build_scan_tab(host: Host, session: gr.State) -> ScanTab:
    """The Scan tab's form and results, inside the current ``gr.Tab``; a finished scan is stored in ``session``."""

    def audit(
        model_id,
        revision,
        presets,
        custom_attributes,
        annotator_id,
        n,
        steps,
        prompts,
        classes,
        guidance,
        progress=gr.Progress(track_tqdm=True),
    ):
        def check(info: dict) -> ScanRequest:
            return scan_request(
                model_id,
                revision,
                presets,
                custom_attributes,
                annotator_id,
                n,
                steps,
                info=info,
                prompts=prompts,
                classes=classes,
                guidance=guidance,
            )

        request, folder, view = run_form(
            host, model_id, revision, annotator_id, check, run_request, progress, "the scan"
        )
        return *view.outputs, ScanSession(folder, request)

    def condition_fields() -> tuple:
        prompts = gr.Textbox(
            label=declared_field("prompts", label_note=f"one per line, at most {MAX_PROMPTS}")["label"],
            lines=3,
            visible=False,
            elem_id="prompts",
            max_length=MAX_PROMPTS * (MAX_PROMPT_CHARS + 1),
            placeholder="a photo of a doctor",
        )
        classes = gr.Dropdown(
            label=declared_field("classes", label_note=f"at most {MAX_CLASSES}")["label"],
            multiselect=True,
            max_choices=MAX_CLASSES,
            choices=[],
            value=[],
            visible=False,
            elem_id="classes",
        )
        return prompts, classes

    def result_fields() -> list:
        return [
            gr.Markdown(elem_id="verdict"),
            gr.Dataframe(headers=ESTIMATE_HEADERS, label="Estimates", interactive=False, elem_id="estimates"),
            gr.Gallery(label="Charts", columns=2, format="png", object_fit="contain", height="auto", elem_id="charts"),
            gr.Gallery(label="Samples", columns=8, format="png", height="auto", elem_id="samples"),
            gr.File(label="Reports (JSON, HTML)", file_count="multiple", elem_id="reports"),
            gr.Code(label="Model card section (Markdown)", language="markdown", elem_id="model-card"),
        ]

    form, outputs = form_and_results(
        "",
        condition_fields,
        result_fields,
        presets_label="Attributes (CLIP presets)",
        custom_label="Custom CLIP attributes (one per line)",
        run_label="Run audit",
    )
    plan_fields()
    cleared = (
        "Scanning (scans run one at a time)...",
        None,
        None,
        None,
        None,
        "",
        None,
    )  # no earlier result beside a new error
    finished = form.wire(check_model, audit, [*outputs, session], cleared)
    return ScanTab(outputs, finished)
