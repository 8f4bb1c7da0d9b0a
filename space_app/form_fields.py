"""The form every scanning tab of the Space shows, in one column: the model and its check step, the fields of the
model's kind (its prompts or classes: each tab makes its own), the guidance scale, the CLIP attributes, the sample
and step counts and the run button; and how its events are wired (the scan queue runs one job at a time)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import gradio as gr

from hubaudit.api import CLIP_PRESETS, DEFAULT_CLIP_MODEL

from form_checks import CUSTOM_ATTRIBUTE_EXAMPLE, MAX_GUIDANCE, MAX_SAMPLES, MAX_STEPS

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

    def wire(self, check: Callable[[str, str], tuple], handler: Callable, outputs: Sequence[Component], cleared: tuple):
        """Run ``check(model_id, revision)`` (updating the model line, the kind's fields and guidance) when the model
        fields are left or submitted or *Check model* is pressed; on the run button, show ``cleared`` in ``outputs``
        at once, then queue ``handler`` (one scan at a time). Returns the event that ends each run."""
        gr.on([self.check.click, self.model_id.submit, self.model_id.blur, self.revision.submit, self.revision.blur],
              check, [self.model_id, self.revision], [self.model_info, *self.conditions, self.guidance],
              concurrency_limit=4, concurrency_id="check")
        return self.run.click(lambda: cleared, None, list(outputs), queue=False).then(
            handler, self.inputs, list(outputs), concurrency_limit=1, concurrency_id="scan")


def form_and_results(prefix: str, condition_fields: Callable[[], tuple[Component, ...]],
                     result_fields: Callable[[], list[Component]], **labels: str) -> tuple[FormFields, list[Component]]:
    """A tab's two columns: the form (:func:`form_fields`, with ``labels``) on the left, and on the right, twice as
    wide, the components ``result_fields()`` makes; returns the form and those components."""
    with gr.Row():
        with gr.Column(scale=1):
            form = form_fields(prefix, condition_fields, **labels)
        with gr.Column(scale=2):
            return form, result_fields()


def form_fields(prefix: str, condition_fields: Callable[[], tuple[Component, ...]], *, presets_label: str,
                custom_label: str, run_label: str) -> FormFields:
    """Make a form's components in the current column; ``condition_fields()`` makes those of the model's kind
    (hidden until the check step shows them)."""
    model_id = gr.Textbox(label="Model id", placeholder="org/name", elem_id=f"{prefix}model-id")
    revision = gr.Textbox(label="Revision (optional)", placeholder="branch, tag or commit sha", elem_id=f"{prefix}revision")
    check = gr.Button("Check model", size="sm", elem_id=f"{prefix}check")
    model_info = gr.Markdown(elem_id=f"{prefix}model-info")
    conditions = condition_fields()
    guidance = gr.Number(label="Guidance scale", minimum=0, maximum=MAX_GUIDANCE, visible=False, elem_id=f"{prefix}guidance")
    attributes = (
        gr.CheckboxGroup(list(CLIP_PRESETS), value=["gender"], label=presets_label, elem_id=f"{prefix}presets"),
        gr.Textbox(label=custom_label, lines=2, elem_id=f"{prefix}custom-attributes", placeholder=CUSTOM_ATTRIBUTE_EXAMPLE),
        gr.Textbox(label="Annotator model id (CLIP or SigLIP)", value=DEFAULT_CLIP_MODEL, elem_id=f"{prefix}annotator-id"),
    )
    n = gr.Slider(1, MAX_SAMPLES, value=64, step=1, elem_id=f"{prefix}samples-count",
                  label=f"Samples per prompt or class (at most {MAX_SAMPLES} in all)")
    steps = gr.Slider(1, MAX_STEPS, value=50, step=1, label="Denoising steps", elem_id=f"{prefix}steps")
    run = gr.Button(run_label, variant="primary", elem_id=f"{prefix}run")
    return FormFields(model_id, revision, check, model_info, conditions, guidance, attributes, n, steps, run)


def guidance_update(info: dict) -> dict:
    """The guidance field shown, at the model's default, for a model that takes one (:func:`hubaudit.api.inspect_model`'s
    ``info``); hidden otherwise."""
    return gr.update(visible=info.get("default_guidance") is not None, value=info.get("default_guidance"))
