"""The Fairness tab: a model's fairness signature (``hubaudit scan --sensitive S`` with ``--label-prompt`` or
``--label-map``) from a form.

The label Y is read off the conditions: the prompts of a text-to-image model, each given a label 0 or 1
(:func:`hubaudit.api.parse_label_prompts`), or the classes of a class-conditional one, mapped to 0 or 1
(:func:`hubaudit.api.parse_label_map`; a two-class model needs no map). The sensitive attribute S is one CLIP
attribute, a preset or a custom one, annotated on every sample. The tab shows the verdict, the S x Y heat map, the
figures of the report's ``fairness`` section (P(Y=1 | S) and the demographic-parity gap as annotated, and P(S | Y)
corrected for the annotator's errors where the report has it) and the report files. The same caps and checks as the
Scan tab apply (:mod:`form_checks`, :class:`hosting.Host`); the samples are deleted once rendered.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
from PIL import Image

from form_checks import (
    LABEL,
    LABEL_PROMPTS_HOW,
    MAX_CLASSES,
    MAX_PROMPT_CHARS,
    MAX_PROMPTS,
    FairnessRequest,
    class_choices,
    fairness_request,
    inspected,
)
from form_fields import form_and_results, guidance_update
from hosting import Host
from hubaudit.report import confidence_text, estimate_text, fairness_pairs, fairness_sources, pair_name
from report_views import fairness_heatmaps, report_files, verdict_markdown
from scan_tab import run_form, scanned_report

FAIRNESS_ASKS = {
    "text-to-image": f"give up to {MAX_PROMPTS} prompts a label below ({LABEL_PROMPTS_HOW}).",
    "class-conditional": f"map up to {MAX_CLASSES} of its classes to labels 0 and 1 below (a two-class model needs no map).",
    "unconditional": "it takes no prompt or class, so no label can be read off its samples: this tab cannot audit it.",
}
"""What the fairness form asks for each kind of model (the check step's line)."""
FIGURE_HEADERS = ["pair", "data", "figure", "estimate [interval]"]
"""Columns of the fairness figures table."""
CLASSES_LISTED = 20
"""Classes the class map field lists by name."""


def figure_rows(fairness: dict) -> list[list[str]]:
    """Rows (:data:`FIGURE_HEADERS`) of every (S, Y) pair of a report's ``fairness`` section: P(Y=1 | S=s) and the
    demographic-parity gap as annotated (and in any reference data), the gap the model card declares, and the
    figures corrected for the annotator's errors (P(S=s | Y=y), P(Y=1 | S=s), the gap) or why there are none."""
    rows = []
    for pair in fairness_pairs(fairness):
        name, corrected = pair_name(pair), pair.get("corrected") or {}
        for source, section in fairness_sources(pair):
            rows += _rate_and_gap_rows(pair, f"{source}, as annotated", section)
        declared = (pair.get("by_source") or {}).get("declared")
        if declared:
            rows.append(
                [
                    name,
                    f"declared in the {declared.get('source') or 'model card'}",
                    "demographic-parity gap",
                    estimate_text(declared.get("dp_gap")),
                ]
            )
        if corrected.get("unavailable"):
            rows.append([name, "corrected for annotator errors", "not available", corrected["unavailable"]])
        elif corrected:
            data = f"generated, corrected ({corrected.get('confusion')})"
            rows += [
                [name, data, f"P({pair.get('sensitive')}={group} | {pair.get('label')}={value})", estimate_text(share)]
                for value, shares in (corrected.get("shares_by_label") or {}).items()
                for group, share in shares.items()
            ]
            rows += _rate_and_gap_rows(pair, data, corrected)
    return rows


def _rate_and_gap_rows(pair: dict, data: str, section: dict) -> list[list[str]]:
    """P(Y=1 | S=s) for each group (undefined for a group with no samples) and the gap (or why it is undefined)."""
    rates, gap = section.get("positive_rates") or {}, section.get("dp_gap")
    rows = [
        [
            pair_name(pair),
            data,
            f"P({pair.get('label')}=1 | {pair.get('sensitive')}={group})",
            estimate_text(rates[group]) if group in rates else "undefined: no samples",
        ]
        for group in pair.get("group_names") or []
    ]
    gap_text = estimate_text(gap) if gap is not None else f"undefined: {section.get('dp_gap_undefined', 'no samples')}"
    return rows + [[pair_name(pair), data, "demographic-parity gap", gap_text]]


@dataclass(frozen=True)
class FairnessView:
    """What the Fairness tab shows of a report: Markdown verdict, the S x Y heat map of its one (S, Y) pair (None
    without a table), figure rows (:data:`FIGURE_HEADERS`) and the report files' paths."""

    verdict: str
    heatmap: Image.Image | None
    figures: list[list[str]]
    files: list[str]

    @property
    def outputs(self) -> tuple:
        """The tab's output values, in the order of its output components."""
        return self.verdict, self.heatmap, self.figures, self.files


def fairness_view(report: dict, out_dir: Path) -> FairnessView:
    """The Fairness tab's view of ``report``, written with its files to ``out_dir``."""
    fairness = report.get("fairness") or {}
    lines = [verdict_markdown(report)]
    if fairness:
        lines.append(
            f"Y ({LABEL}) read off: {fairness.get('label_source')}. "
            f"Intervals at {confidence_text(fairness.get('confidence'))}."
        )
    lines += [
        f"Criteria of {pair_name(pair)}: {pair['verdict']['criteria_applied']}."
        for pair in fairness_pairs(fairness)
        if (pair.get("verdict") or {}).get("criteria_applied")
    ]  # each pair's verdict and next step: verdict_markdown
    heatmap = next((image for image, _ in fairness_heatmaps(report)), None)  # the form asks for one S and one Y
    return FairnessView("\n\n".join(lines), heatmap, figure_rows(fairness), report_files(out_dir))


def run_fairness(request: FairnessRequest, out_dir: Path) -> FairnessView:
    """The fairness scan of ``request`` in the fresh folder ``out_dir``, rendered; its samples deleted after."""
    try:
        return fairness_view(scanned_report(request, out_dir), out_dir)
    finally:
        shutil.rmtree(out_dir / "samples", ignore_errors=True)  # the HTML report inlines what it shows


def check_fairness_model(model_id: str, revision: str) -> tuple:
    """The check step: the model's description, then updates to the label prompts, class map and guidance fields."""
    description, info = inspected(model_id, revision, FAIRNESS_ASKS)
    info = info or {}
    classes = [label for label, _ in class_choices(info)] if info.get("kind") == "class-conditional" else []
    listed = ", ".join(classes[:CLASSES_LISTED]) + (", ..." if len(classes) > CLASSES_LISTED else "")
    return (
        description,
        gr.update(visible=info.get("kind") == "text-to-image"),
        gr.update(visible=bool(classes), info=f"classes: {listed}"),
        guidance_update(info),
    )


def build_fairness_tab(host: Host) -> None:
    """The Fairness tab's form and results, inside the current ``gr.Tab``."""

    def audit_fairness(
        model_id,
        revision,
        presets,
        custom_attribute,
        annotator_id,
        n,
        steps,
        label_prompts,
        class_map,
        guidance,
        progress=gr.Progress(track_tqdm=True),
    ):
        def check(info: dict) -> FairnessRequest:
            return fairness_request(
                model_id,
                revision,
                presets,
                custom_attribute,
                annotator_id,
                n,
                steps,
                info=info,
                label_prompts=label_prompts,
                class_map=class_map,
                guidance=guidance,
            )

        return run_form(host, model_id, revision, annotator_id, check, run_fairness, progress, "the fairness scan")[
            2
        ].outputs

    def condition_fields() -> tuple:
        label_prompts = gr.Textbox(
            label=f"Label prompts ({LABEL_PROMPTS_HOW}; at most {MAX_PROMPTS})",
            lines=3,
            visible=False,
            max_length=MAX_PROMPTS * (MAX_PROMPT_CHARS + 3),
            placeholder="1=a photo of a doctor\n0=a photo of a nurse",
            elem_id="fair-label-prompts",
        )
        class_map = gr.Textbox(
            label=f"Class map (CLASS=LABEL,...; at most {MAX_CLASSES} classes)",
            visible=False,
            placeholder="0=0,1=0,2=1",
            elem_id="fair-class-map",
        )
        return label_prompts, class_map

    def result_fields() -> list:
        return [
            gr.Markdown(elem_id="fair-verdict"),
            gr.Image(
                label="S x Y heat map (counts and P(Y | S))",
                type="pil",
                format="png",
                interactive=False,
                buttons=["download", "fullscreen"],
                elem_id="fair-heatmap",
            ),
            gr.Dataframe(
                headers=FIGURE_HEADERS,
                label="Fairness figures",
                interactive=False,
                wrap=True,
                column_widths=["15%", "21%", "24%", "40%"],
                elem_id="fair-figures",
            ),
            gr.File(label="Reports (JSON, HTML)", file_count="multiple", elem_id="fair-reports"),
        ]

    form, outputs = form_and_results(
        "fair-",
        condition_fields,
        result_fields,
        presets_label="Sensitive attribute S: one CLIP preset",
        custom_label="... or one custom CLIP attribute (clear the preset)",
        run_label="Run fairness audit",
    )
    form.wire(
        check_fairness_model, audit_fairness, outputs, ("Scanning (scans run one at a time)...", None, None, None)
    )
