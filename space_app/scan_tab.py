"""The Scan tab: the form of ``hubaudit scan`` (:func:`hubaudit.api.scan`), every field checked, and its results.

Checking a model (:func:`form_checks.inspected`, no weights loaded) shows its kind and only the fields it takes:
prompts for a text-to-image model, classes for a class-conditional one, a guidance scale. A finished scan leaves its
folder (reports and samples) for the labelling tab, as this page's :class:`ScanSession`, until it is pruned by age.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import gradio as gr

from hubaudit.api import inspect_model, scan

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
from form_fields import form_and_results, guidance_update
from hosting import Host
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
    result = scan(request.model, **request.scan_arguments(), **options, out_dir=out_dir, allow_local=False, progress=True)
    return result.to_dict()


def run_form(host: Host, model_id: str, revision: str, annotator_id: str, check: Callable[[dict], FormRequest],
             render: Callable[[FormRequest, Path], object], progress: gr.Progress, doing: str) -> tuple:
    """A form's scan, for a tab's event handler: inspect the model, ``check(info)`` the fields into a request, size
    the models, then ``render(request, folder)`` in a fresh scan folder; ``(request, folder, rendered)``. Inside
    :meth:`Host.scan_job` (``doing`` names it): old folders pruned first, the cache trimmed after, errors one line."""
    with host.scan_job(doing):
        # the model is inspected again: the fields it takes are those of the model scanned, checked or not
        info = inspect_model(model_reference(model_id, revision), allow_local=False)
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


@dataclass(frozen=True)
class ScanTab:
    """The Scan tab's parts other tabs use: its result components (in :attr:`ScanView.outputs` order) and the event
    that ends each *Run audit* (a failed one included)."""

    outputs: list[gr.components.Component]
    finished: object


def build_scan_tab(host: Host, session: gr.State) -> ScanTab:
    """The Scan tab's form and results, inside the current ``gr.Tab``; a finished scan is stored in ``session``."""

    def audit(model_id, revision, presets, custom_attributes, annotator_id, n, steps, prompts, classes, guidance,
              progress=gr.Progress(track_tqdm=True)):
        def check(info: dict) -> ScanRequest:
            return scan_request(model_id, revision, presets, custom_attributes, annotator_id, n, steps,
                                info=info, prompts=prompts, classes=classes, guidance=guidance)

        request, folder, view = run_form(host, model_id, revision, annotator_id, check, run_request, progress, "the scan")
        return *view.outputs, ScanSession(folder, request)

    def condition_fields() -> tuple:
        prompts = gr.Textbox(
            label=f"Prompts (one per line, at most {MAX_PROMPTS})", lines=3, visible=False, elem_id="prompts",
            max_length=MAX_PROMPTS * (MAX_PROMPT_CHARS + 1), placeholder="a photo of a doctor",
        )
        classes = gr.Dropdown(label=f"Classes (at most {MAX_CLASSES})", multiselect=True, max_choices=MAX_CLASSES,
                              choices=[], value=[], visible=False, elem_id="classes")
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

    form, outputs = form_and_results("", condition_fields, result_fields, presets_label="Attributes (CLIP presets)",
                                     custom_label="Custom CLIP attributes (one per line)", run_label="Run audit")
    cleared = ("Scanning (scans run one at a time)...", None, None, None, None, "", None)  # no earlier result beside a new error
    finished = form.wire(check_model, audit, [*outputs, session], cleared)
    return ScanTab(outputs, finished)
