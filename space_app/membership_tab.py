"""The Membership tab: ``hubaudit membership`` from a browser, on Hub data sets (or builtins), thresholds calibrated on
the non-members given. Each data set is read up to :data:`MAX_IMAGES` images; the model is sized first."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

import hubaudit.api
from form_checks import model_reference
from hosting import Host, check_model_sizes
from hubaudit.report import membership_lines

MAX_IMAGES = 500
"""Images read from each data set (candidates, non-members)."""


def run_membership_form(
    host: Host,
    model_id: str,
    revision: str,
    candidates: str,
    non_members: str,
    fpr: float,
    class_column: str,
    caption_column: str,
) -> tuple[str, str]:
    """The tab's action: (the summary as Markdown, the result JSON's path); any failure is one line."""
    with host.scan_job("the membership test"):
        reference = model_reference(model_id, revision)
        check_model_sizes([reference], host.max_model_bytes)
        out_path = Path(host.new_scan_folder()) / "membership.json"
        result = hubaudit.api.membership(
            reference,
            candidates=(candidates or "").strip(),
            non_members=(non_members or "").strip() or None,
            fpr=float(fpr),
            class_column=(class_column or "").strip() or None,
            caption_column=(caption_column or "").strip() or None,
            limit=MAX_IMAGES,
            out_path=out_path,
            allow_local=False,
        )
        return "```\n" + "\n".join(membership_lines(result)) + "\n```", str(out_path)


def build_membership_tab(host: Host) -> None:
    """The Membership tab's form and results, inside the current ``gr.Tab``."""
    gr.Markdown(
        "Was an image in the model's training set? White-box attacks (PIA, the denoising loss) on the model's "
        "denoiser; thresholds calibrated on images the model did **not** see, at the false-positive rate asked. "
        f"At most {MAX_IMAGES} images of each data set. A flag is evidence of membership at that rate; no flag is "
        "not evidence of non-membership."
    )
    with gr.Row():
        model_id = gr.Textbox(label="Model id", placeholder="org/name", elem_id="mem-model")
        revision = gr.Textbox(label="Revision (optional)", elem_id="mem-revision")
    with gr.Row():
        candidates = gr.Textbox(
            label="Candidates (Hub data set id)", placeholder="org/my-images", elem_id="mem-candidates"
        )
        non_members = gr.Textbox(
            label="Non-members (Hub data set id)", placeholder="org/public-images", elem_id="mem-non"
        )
    with gr.Row():
        fpr = gr.Number(label="False-positive rate", value=0.05, minimum=0.001, maximum=0.5, elem_id="mem-fpr")
        class_column = gr.Textbox(label="Class column (class-conditional models)", elem_id="mem-class")
        caption_column = gr.Textbox(label="Caption column (text-to-image models)", elem_id="mem-caption")
    run = gr.Button("Run membership test", variant="primary", elem_id="mem-run")
    summary = gr.Markdown(elem_id="mem-summary")
    result = gr.File(label="Result (JSON)", elem_id="mem-result")
    run.click(
        lambda *fields: run_membership_form(host, *fields),
        [model_id, revision, candidates, non_members, fpr, class_column, caption_column],
        [summary, result],
    )
