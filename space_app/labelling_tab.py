"""The Label samples tab: gold labels for this page's scan, and the prediction-powered estimates they give
(``hubaudit label`` and ``hubaudit scan --gold`` in the browser).

After a scan the visitor picks one of its attributes, one of its conditions (a prompt or class; each has its own
sample store and is labelled on its own) and how many samples to label. The tab shows the labelling plan's next
sample (:class:`~hubaudit.audit.properties.gold.GoldLabels`: a random subset that the store's digest fixes before any image is
seen, labelled in plan order) with one button per attribute value, ``k of n labelled`` and *Undo*. Each answer is
saved at once, by "space visitor", in the scan's folder, so a page resumes where it stopped. *Re-estimate with my
labels* scans the same stores again (nothing is resampled) with every gold-label file of the scan that holds at least
2 labels, into ``gold-estimate/`` beside the scan's own reports, and shows the prediction-powered estimates beside
those without gold labels.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
from PIL import Image

from form_checks import MAX_ATTRIBUTE_VALUES, whole_number
from hosting import Host, one_line_errors
from hubaudit.api import gold_labels, read_report
from hubaudit.errors import HubAuditError, InvalidAttributeSpec, InvalidSamplerConfig, TooFewSamples
from hubaudit.report import attribute_groups, condition_label, estimate_text
from report_views import pil_image, scan_view
from scan_tab import ScanSession, ScanTab, scanned_report

MAX_GOLD_LABELS = 100
"""Most samples of one condition a visitor may plan to label (and never all of them: see :func:`label_cap`)."""
DEFAULT_GOLD_LABELS = 20
"""Samples to label the count field starts with (at most the scan's cap)."""
MIN_GOLD_LABELS = 2
"""Labels a condition needs before its prediction-powered estimate (PPI needs two)."""
LABELLER = "space visitor"
"""Who the gold-label files say gave the labels."""
SAMPLE_SIDE = 384
"""Pixels a small sample is enlarged to (whole factors, pixels kept sharp)."""
GOLD_ESTIMATE_FOLDER = "gold-estimate"
"""Where, inside the scan folder, a re-estimate writes its reports (the scan's own stay as they were)."""
GOLD_HEADERS = [
    "attribute",
    "condition",
    "value",
    "prediction-powered (ppi)",
    "without gold labels",
    "method",
    "gold labels",
    "effective gold labels",
]
"""Columns of the re-estimate table; the estimates are ``share [low, high]``."""
NO_SCAN = "Run a scan in the Scan tab first: its samples can then be labelled here."


def label_cap(n_per_condition: int) -> int:
    """Most labels one condition may get: :data:`MAX_GOLD_LABELS`, and at least one sample left unlabelled (PPI's
    annotator term needs one)."""
    return min(MAX_GOLD_LABELS, n_per_condition - 1)


@dataclass(frozen=True)
class LabellingView:
    """What the tab shows: the progress line (Markdown), the sample to label (None when the plan is done), the
    value buttons' labels and the index of the sample shown."""

    progress: str
    image: Image.Image | None
    values: tuple[str, ...]
    index: int | None

    @property
    def outputs(self) -> tuple:
        """The values of :func:`build_labelling_tab`'s view components, in order (hidden buttons beyond the values)."""
        buttons = [gr.update(value=value, visible=True) for value in self.values]
        buttons += [gr.update(visible=False)] * (MAX_ATTRIBUTE_VALUES - len(self.values))
        return self.progress, gr.update(value=self.image, visible=self.image is not None), *buttons, self.index


def open_gold(folder: Path, attribute: str, position: int | None, count: float | None):
    """``(condition, gold, store)`` of the scan in ``folder``: the gold labels of ``attribute`` for its
    ``position``-th condition, planned for ``count`` samples.

    Raises:
        InvalidAttributeSpec: ``attribute`` is not one of the scan's.
        InvalidSamplerConfig: ``position`` or ``count`` out of range.
        TooFewSamples: the scan drew too few samples per condition to label any.
    """
    report = read_report(folder / "report.json")
    names = [entry["name"] for entry in (report.properties or {}).get("attributes", [])]
    if attribute not in names:
        raise InvalidAttributeSpec(f"attribute {attribute!r} is not one of this scan's ({', '.join(names)})")
    cap = label_cap(int(report.n_per_condition))
    if cap < MIN_GOLD_LABELS:
        raise TooFewSamples(
            f"labelling needs at least {MIN_GOLD_LABELS + 1} samples per condition; this scan drew "
            f"{report.n_per_condition}: run it again with more"
        )
    sets = gold_labels(folder, attribute=attribute, n=whole_number("samples to label", count, cap))
    if position is None or not 0 <= int(position) < len(sets):
        raise InvalidSamplerConfig(f"condition {position}: this scan has {len(sets)} condition(s), numbered from 0")
    return sets[int(position)]


def labelling_view(folder: Path, attribute: str, position: int | None, count: float | None) -> LabellingView:
    """The next planned sample still unlabelled, with the progress line; the plan done, only the line."""
    condition, gold, store = open_gold(folder, attribute, position, count)
    where = f"**{len(gold.labels)} of {gold.planned} labelled** ({attribute}, {condition_label(condition)})"
    index = gold.next_index()
    if index is None:
        return LabellingView(
            f"{where}: all done. Re-estimate with your labels, or ask for more samples.", None, (), None
        )
    image = pil_image(store.image(index), upscale_to=SAMPLE_SIDE)
    return LabellingView(f"{where}. Which {attribute} is sample #{index}?", image, gold.values, index)


def record_label(
    folder: Path, attribute: str, position: int | None, count: float | None, shown: int | None, code: int
) -> None:
    """Give the sample ``shown`` (the one on the page) value number ``code``, unless it is labelled already (a second
    click on the same sample labels nothing unseen)."""
    _, gold, _ = open_gold(folder, attribute, position, count)
    if shown is not None and shown not in gold.labels and code < len(gold.values):
        gold.record(shown, gold.values[code], labeller=LABELLER)


def undo_label(folder: Path, attribute: str, position: int | None, count: float | None) -> None:
    """Remove the last label given for this attribute and condition (nothing when there is none)."""
    open_gold(folder, attribute, position, count)[1].undo()


def labelled_files(folder: Path) -> list[Path]:
    """The gold-label files of the scan in ``folder`` (any attribute, any condition) with :data:`MIN_GOLD_LABELS` or more."""
    report = read_report(folder / "report.json")
    return [
        gold.path
        for attribute in (report.properties or {}).get("attributes", [])
        for _, gold, _ in gold_labels(folder, attribute=attribute["name"], n=1)
        if len(gold.labels) >= MIN_GOLD_LABELS
    ]


def gold_rows(report: dict) -> list[list]:
    """Rows (:data:`GOLD_HEADERS`) for every condition with gold labels: the prediction-powered estimate beside the
    one without gold labels (corrected when the annotator is calibrated, else classify-and-count)."""
    rows = []
    for attribute in (report.get("properties") or {}).get("attributes", []):
        for label, entry in attribute_groups(attribute):
            estimates, gold = entry.get("estimates") or {}, entry.get("gold") or {}
            if "ppi" not in estimates:
                continue
            method = "corrected" if "corrected" in estimates else "classify_and_count"
            rows += [
                [
                    attribute["name"],
                    label,
                    value,
                    estimate_text(estimates["ppi"].get(value)),
                    estimate_text(estimates[method].get(value)),
                    method,
                    gold.get("used"),
                    round(float((gold.get("effective_gold") or {}).get(value, math.nan)), 1),
                ]
                for value in attribute.get("values", [])
            ]
    return rows


def gold_summary(report: dict) -> str:
    """The line above the re-estimate table: how many labels were used where, and what the columns mean."""
    labelled = [
        entry["gold"].get("used", 0)
        for attribute in (report.get("properties") or {}).get("attributes", [])
        for _, entry in attribute_groups(attribute)
        if entry.get("gold")
    ]
    return (
        f"Re-estimated with {sum(labelled)} gold labels on {len(labelled)} attribute and condition pair(s) (those with "
        f"at least {MIN_GOLD_LABELS} labels). Prediction-powered estimates hold whatever the annotator's errors on "
        "generated images; *effective gold labels* is how many labels alone would give the same interval width. "
        "The Scan tab now shows this report."
    )


def reestimate(host: Host, session: ScanSession | None) -> tuple[str, list[list], tuple]:
    """Scan this page's stores again with its gold labels: the summary line, the table rows (:data:`GOLD_HEADERS`)
    and the Scan tab's new output values (:attr:`report_views.ScanView.outputs`)."""
    folder = host.scan_folder(session.folder if session else None)
    files = labelled_files(folder)
    if not files:
        raise TooFewSamples(
            f"label at least {MIN_GOLD_LABELS} samples of a condition first: prediction-powered "
            f"estimates need {MIN_GOLD_LABELS} gold labels"
        )
    host.keep_alive(folder)
    out_dir = folder / GOLD_ESTIMATE_FOLDER
    out_dir.mkdir(exist_ok=True)
    report = scanned_report(session.request, out_dir, store_dir=folder / "samples", gold=files)
    return gold_summary(report), gold_rows(report), scan_view(report, out_dir).outputs


def setup(host: Host, session: ScanSession | None) -> tuple:
    """After each scan: the attribute, condition and count fields for its report, no re-estimate yet (summary and
    table blank), then its first sample to label."""
    try:
        folder = host.scan_folder(session.folder if session else None)
        report = read_report(folder / "report.json")
        names = [entry["name"] for entry in (report.properties or {}).get("attributes", [])]
        choices = [
            (condition_label(samples.get("condition")), position)
            for position, samples in enumerate(report.samples or [])
        ]
        cap = label_cap(int(report.n_per_condition))
        count = min(DEFAULT_GOLD_LABELS, cap)
        view = labelling_view(folder, names[0], 0, count).outputs  # a scan too small to label fails here
    except HubAuditError as err:  # no scan, or one too small to label: said on the tab, no second error message
        blank = gr.update(choices=[], value=None)
        message = NO_SCAN if session is None else str(err)
        return blank, blank, gr.update(), "", None, *LabellingView(message, None, (), None).outputs
    return (
        gr.update(choices=names, value=names[0]),
        gr.update(choices=choices, value=0),
        gr.update(maximum=cap, value=count),
        "",
        None,
        *view,
    )


def build_labelling_tab(host: Host, session: gr.State, scan: ScanTab) -> None:
    """The Label samples tab, inside the current ``gr.Tab``; it follows each scan of the Scan tab (``scan``)."""
    gr.Markdown(
        "Label a random sample of the scan by hand: each answer is a **gold label**. The estimates then become "
        "prediction-powered: valid whatever the annotator's errors on generated images. Each prompt or class "
        f"(condition) is labelled on its own: pick it below. At most {MAX_GOLD_LABELS} labels per condition."
    )
    with gr.Row():
        attribute = gr.Dropdown(label="Attribute", choices=[], elem_id="label-attribute")
        condition = gr.Dropdown(label="Condition (prompt or class)", choices=[], elem_id="label-condition")
        count = gr.Slider(
            MIN_GOLD_LABELS,
            MAX_GOLD_LABELS,
            value=DEFAULT_GOLD_LABELS,
            step=1,
            elem_id="label-count",
            label="Samples to label (per condition)",
        )
    progress = gr.Markdown(NO_SCAN, elem_id="label-progress")
    image = gr.Image(
        label="Sample",
        type="pil",
        format="png",
        interactive=False,
        visible=False,
        height=SAMPLE_SIDE + 40,
        buttons=["fullscreen"],
        elem_id="label-image",
    )
    with gr.Row():
        buttons = [gr.Button(visible=False, elem_id=f"label-value-{code}") for code in range(MAX_ATTRIBUTE_VALUES)]
    with gr.Row():
        undo = gr.Button("Undo", elem_id="label-undo")
        again = gr.Button("Re-estimate with my labels", variant="primary", elem_id="reestimate")
    summary = gr.Markdown(elem_id="gold-summary")
    table = gr.Dataframe(
        headers=GOLD_HEADERS, label="Estimates with gold labels", interactive=False, elem_id="gold-estimates"
    )
    shown = gr.State(None)  # the index of the sample on the page: the one a value button labels
    view = [progress, image, *buttons, shown]
    fields = [session, attribute, condition, count]

    def act(change: Callable[..., None] | None) -> Callable[..., tuple]:
        """An event handler: ``change(folder, attribute, position, count, *rest)`` (if any), then the new view."""

        def handler(session, attribute, position, count, *rest):
            with one_line_errors("labelling"):
                folder = host.scan_folder(session.folder if session else None)
                if change is not None:
                    change(folder, attribute, position, count, *rest)
                return labelling_view(folder, attribute, position, count).outputs

        return handler

    scan.finished.then(
        lambda session: setup(host, session), [session], [attribute, condition, count, summary, table, *view]
    )
    events = {"concurrency_limit": 1, "concurrency_id": "label"}  # one change at a time to a gold-label file
    gr.on([attribute.input, condition.input, count.release], act(None), fields, view, **events)
    for code, button in enumerate(buttons):
        button.click(act(lambda *args, code=code: record_label(*args, code=code)), [*fields, shown], view, **events)
    undo.click(act(undo_label), fields, view, **events)

    def reestimate_labels(session, progress=gr.Progress(track_tqdm=True)):
        with host.scan_job("the re-estimate"):
            summary_line, rows, outputs = reestimate(host, session)
        return summary_line, rows, *outputs

    again.click(
        reestimate_labels, [session], [summary, table, *scan.outputs], concurrency_limit=1, concurrency_id="scan"
    )
