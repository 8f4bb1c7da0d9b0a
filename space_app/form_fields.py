"""The form every scanning tab of the Space shows, in one column: the model and its check step, the fields of the
model's kind (its prompts or classes: each tab makes its own), the guidance scale, the CLIP attributes, the sample
and step counts and the run button; and how its events are wired (the scan queue runs one job at a time)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import gradio as gr

from form_checks import CUSTOM_ATTRIBUTE_EXAMPLE, MAX_GUIDANCE, MAX_SAMPLES, MAX_STEPS
from hubaudit.api import SCAN_OPTIONS, clip_presets, default_clip_model

Component = gr.components.Component


@dataclass(frozen=True)
class FormFields:
    """The components of one form (element ids start with its prefix, e.g. ``fair-``)."""

    model_id: gr.Textbox
    revision: gr.Textbox
    check: gr.Button
    model_info: gr.Markdown
    conditions: tuple[Component, ...]
    guidance: gr.Number
    attributes: tuple[gr.CheckboxGroup, gr.Textbox, gr.Textbox]
    n: gr.Slider
    steps: gr.Slider
    run: gr.Button

    @property
    def inputs(self) -> list[Component]:
        """What the run handler takes, in order: model id, revision, presets, custom attributes, annotator id,
        samples, steps, the kind's fields, guidance."""
        return [self.model_id, self.revision, *self.attributes, self.n, self.steps, *self.conditions, self.guidance]

    def wire(
        self, check: Callable[[str, str], tuple], handler: Callable, outputs: Sequence[Component], cleared: tuple
    ):
        """Run ``check(model_id, revision)`` (updating the model line, the kind's fields and guidance) when the model
        fields are left or submitted or *Check model* is pressed; on the run button, show ``cleared`` in ``outputs``
        at once, then queue ``handler`` (one scan at a time). Returns the event that ends each run."""
        gr.on(
            [self.check.click, self.model_id.submit, self.model_id.blur, self.revision.submit, self.revision.blur],
            check,
            [self.model_id, self.revision],
            [self.model_info, *self.conditions, self.guidance],
            concurrency_limit=4,
            concurrency_id="check",
        )
        return self.run.click(lambda: cleared, None, list(outputs), queue=False).then(
            handler, self.inputs, list(outputs), concurrency_limit=1, concurrency_id="scan"
        )


def form_and_results(
    prefix: str,
    condition_fields: Callable[[], tuple[Component, ...]],
    result_fields: Callable[[], list[Component]],
    **labels: str,
) -> tuple[FormFields, list[Component]]:
    """A tab's two columns: the form (:func:`form_fields`, with ``labels``) on the left, and on the right, twice as
    wide, the components ``result_fields()`` makes; returns the form and those components."""
    with gr.Row():
        with gr.Column(scale=1):
            form = form_fields(prefix, condition_fields, **labels)
        with gr.Column(scale=2):
            return form, result_fields()


def form_fields(
    prefix: str,
    condition_fields: Callable[[], tuple[Component, ...]],
    *,
    presets_label: str,
    custom_label: str,
    run_label: str,
) -> FormFields:
    """Make a form's components in the current column; ``condition_fields()`` makes those of the model's kind
    (hidden until the check step shows them)."""
    model_id = gr.Textbox(
        label=SCAN_OPTIONS["model"].label, placeholder=SCAN_OPTIONS["model"].example, elem_id=f"{prefix}model-id"
    )
    revision = gr.Textbox(
        label="Revision (optional)", placeholder="branch, tag or commit sha", elem_id=f"{prefix}revision"
    )
    check = gr.Button("Check model", size="sm", elem_id=f"{prefix}check")
    model_info = gr.Markdown(elem_id=f"{prefix}model-info")
    conditions = condition_fields()
    guidance = gr.Number(
        minimum=0, maximum=MAX_GUIDANCE, visible=False, elem_id=f"{prefix}guidance", **declared_field("guidance_scale")
    )
    attributes = (
        gr.CheckboxGroup(list(clip_presets()), value=["gender"], label=presets_label, elem_id=f"{prefix}presets"),
        gr.Textbox(
            label=custom_label, lines=2, elem_id=f"{prefix}custom-attributes", placeholder=CUSTOM_ATTRIBUTE_EXAMPLE
        ),
        gr.Textbox(
            label="Annotator model id (CLIP or SigLIP)", value=default_clip_model(), elem_id=f"{prefix}annotator-id"
        ),
    )
    n = gr.Slider(
        1,
        MAX_SAMPLES,
        step=1,
        elem_id=f"{prefix}samples-count",
        **declared_field("n", label_note=f"at most {MAX_SAMPLES} in all"),
    )
    steps = gr.Slider(1, MAX_STEPS, step=1, elem_id=f"{prefix}steps", **declared_field("steps", value_needed=True))
    run = gr.Button(run_label, variant="primary", elem_id=f"{prefix}run")
    return FormFields(model_id, revision, check, model_info, conditions, guidance, attributes, n, steps, run)


def declared_field(name: str, *, label_note: str = "", value_needed: bool = False, info: bool = True) -> dict:
    """The ``label``, starting ``value`` and help (gradio's ``info``) of the form field of scan option ``name``, as
    its declaration (:data:`hubaudit.api.SCAN_OPTIONS`) gives them: the label with ``label_note`` in brackets, the
    declared default (its example where the default is none and the field needs a number: ``value_needed``)."""
    declared = SCAN_OPTIONS[name]
    value = declared.shown_value if value_needed else declared.default
    label = f"{declared.label} ({label_note})" if label_note else declared.label
    return {"label": label, "value": value, **({"info": declared.help} if info else {})}


def guidance_update(info: dict) -> dict:
    """The guidance field shown, at the model's default, for a model that takes one (:func:`hubaudit.api.inspect_model`'s
    ``info``); hidden otherwise."""
    return gr.update(visible=info.get("default_guidance") is not None, value=info.get("default_guidance"))
