"""The Space checks every field of its form before anything loads (the browser test drives the rest)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from hubaudit.errors import InvalidAttributeSpec, InvalidModelReference, InvalidSamplerConfig

_SPEC = importlib.util.spec_from_file_location("space_app_module", Path(__file__).resolve().parents[1] / "space_app" / "app.py")
app = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = app
_SPEC.loader.exec_module(app)

VALID = {"model_id": "org/model", "revision": "", "presets": ["gender"], "custom_attributes": "",
         "annotator_id": "openai/clip-vit-base-patch32", "n": 64, "steps": 50}


def _request(**changes):
    return app.scan_request(**{**VALID, **changes})


def test_presets_and_custom_prompts_become_clip_attributes_on_the_annotator_model():
    request = _request(presets=["gender", "smiling"], annotator_id="org/clip@v2",
                       custom_attributes="\n  digit: a photo of a zero | a photo of a one \n")
    assert request == app.ScanRequest(
        "org/model",
        ("gender=clip@org/clip@v2", "smiling=clip@org/clip@v2", "digit=clip@org/clip@v2:a photo of a zero | a photo of a one"),
        64,
        50,
    )


def test_revision_is_pinned_on_the_model_id():
    assert _request(revision=" v1.0 ").model == "org/model@v1.0"
    assert _request(revision="refs/pr/1").model == "org/model@refs/pr/1"


@pytest.mark.parametrize(("changes", "error", "message"), [
    ({"model_id": "/etc"}, InvalidModelReference, "not a model reference"),
    ({"model_id": "."}, InvalidModelReference, "not a model reference"),
    ({"model_id": ""}, InvalidModelReference, "not a model reference"),
    ({"model_id": "org/model@main", "revision": "v1"}, InvalidModelReference, "org/model@main@v1"),
    ({"revision": "../x"}, InvalidModelReference, "not a model reference"),
    ({"annotator_id": "/models/clip"}, InvalidAttributeSpec, "annotator model"),
    ({"presets": [], "custom_attributes": " "}, InvalidAttributeSpec, "at least one attribute"),
    ({"presets": ["wings"]}, InvalidAttributeSpec, "no CLIP preset wings"),
    ({"custom_attributes": "smile: a smiling face"}, InvalidAttributeSpec, "expected NAME: PROMPT | PROMPT"),
    ({"custom_attributes": "bad name: a | b"}, InvalidAttributeSpec, "NAME=SPEC"),
    ({"custom_attributes": "gender: a woman | a man"}, InvalidAttributeSpec, "must differ"),
    ({"n": 0}, InvalidSamplerConfig, "samples must be a whole number from 1 to 256"),
    ({"n": 257}, InvalidSamplerConfig, "from 1 to 256"),
    ({"n": 2.5}, InvalidSamplerConfig, "whole number"),
    ({"steps": 201}, InvalidSamplerConfig, "steps must be a whole number from 1 to 200"),
    ({"steps": None}, InvalidSamplerConfig, "steps"),
])
def test_bad_fields_are_refused_with_a_message_naming_them(changes, error, message):
    with pytest.raises(error, match=message.replace("|", r"\|")):
        _request(**changes)


TEXT_TO_IMAGE = {"kind": "text-to-image", "num_classes": None, "class_names": {}, "default_guidance": 7.5}
CLASS_CONDITIONAL = {"kind": "class-conditional", "num_classes": 3, "class_names": {0: "cat", 1: "dog", 2: "bird"},
                     "default_guidance": None}
UNCONDITIONAL = {"kind": "unconditional", "num_classes": None, "class_names": {}, "default_guidance": None}


def test_prompts_are_read_one_per_line_for_a_text_to_image_model():
    request = _request(info=TEXT_TO_IMAGE, prompts="\n a photo of a doctor \n\na photo of a nurse\na photo of a doctor\n",
                       guidance=3, n=32)
    assert (request.prompts, request.classes, request.guidance_scale, request.n) == (
        ("a photo of a doctor", "a photo of a nurse"), (), 3.0, 32)


def test_classes_are_read_as_ids_for_a_class_conditional_model():
    request = _request(info=CLASS_CONDITIONAL, classes=[2, "0: cat", 2], guidance=5)
    assert (request.classes, request.prompts, request.guidance_scale) == ((2, 0), (), None)  # it takes no guidance


def test_hidden_fields_of_another_kind_are_ignored():
    request = _request(info=UNCONDITIONAL, prompts="a photo", classes=[1], guidance=2)
    assert (request.prompts, request.classes, request.guidance_scale) == ((), (), None)


@pytest.mark.parametrize(("changes", "message"), [
    ({"info": TEXT_TO_IMAGE, "prompts": " \n "}, "org/model is a text-to-image model: enter at least one prompt"),
    ({"info": TEXT_TO_IMAGE, "prompts": "a\nb\nc\nd\ne"}, "5 prompts: at most 4"),
    ({"info": TEXT_TO_IMAGE, "prompts": "x" * 301}, "301 characters: at most 300"),
    ({"info": TEXT_TO_IMAGE, "prompts": "a\nb", "n": 200}, r"200 samples x 2 prompts = 400: at most 256"),
    ({"info": TEXT_TO_IMAGE, "prompts": "a", "guidance": 21}, "guidance scale must be from 0 to 20"),
    ({"info": TEXT_TO_IMAGE, "prompts": "a", "guidance": float("nan")}, "guidance scale"),
    ({"info": CLASS_CONDITIONAL, "classes": []}, "class-conditional model: choose at least one class"),
    ({"info": CLASS_CONDITIONAL, "classes": [3]}, r"class 3 is not a class of org/model \(0 to 2\)"),
    ({"info": CLASS_CONDITIONAL, "classes": [-1]}, "class -1 is not a class"),
    ({"info": CLASS_CONDITIONAL, "classes": ["dog"]}, "classes must be class ids"),
    ({"info": {**CLASS_CONDITIONAL, "num_classes": 1000}, "classes": list(range(9))}, "9 classes: at most 8"),
    ({"info": CLASS_CONDITIONAL, "classes": [0, 1, 2], "n": 100}, "100 samples x 3 classes = 300"),
])
def test_bad_prompts_classes_and_guidance_are_refused_with_one_message(changes, message):
    with pytest.raises(InvalidSamplerConfig, match=message):
        _request(**changes)


def test_class_picker_offers_id_and_name_and_the_description_names_the_kind():
    assert app.class_choices(CLASS_CONDITIONAL) == [("0: cat", 0), ("1: dog", 1), ("2: bird", 2)]
    assert app.class_choices({"num_classes": 2, "class_names": {}}) == [("0", 0), ("1", 1)]
    line = app.describe_model({**TEXT_TO_IMAGE, "pipeline_class": "StableDiffusionPipeline", "resolved_sha": "a" * 40,
                               "default_steps": 50})
    assert line.startswith("**text-to-image** (`StableDiffusionPipeline` at `aaaaaaaaaaaa`)")
    assert "up to 4 prompts" in line and "50 steps, guidance 7.5" in line


def _check(model_id: str) -> dict:
    """check_model's outputs by name: ``info`` (Markdown) and the prompts, classes and guidance updates."""
    return dict(zip(("info", "prompts", "classes", "guidance"), app.check_model(model_id, "")))


def test_checking_a_model_on_the_hub_shows_only_the_fields_its_kind_takes(test_hub):
    text_to_image = _check("tiny/stable-diffusion")
    assert "**text-to-image**" in text_to_image["info"] and test_hub.sha("stable-diffusion")[:12] in text_to_image["info"]
    assert text_to_image["prompts"]["visible"] and not text_to_image["classes"]["visible"]
    assert text_to_image["guidance"]["visible"] and text_to_image["guidance"]["value"] > 1
    class_conditional = _check("tiny/ddpm-class-conditional")
    assert "**class-conditional**" in class_conditional["info"] and not class_conditional["prompts"]["visible"]
    assert class_conditional["classes"]["choices"] == [("0", 0), ("1", 1), ("2", 2)]  # it records no names
    assert class_conditional["classes"]["value"] == [0, 1, 2] and class_conditional["classes"]["visible"]
    assert not class_conditional["guidance"]["visible"]
    assert _check("tiny/dit")["classes"]["choices"] == [("0: cat", 0), ("1: dog", 1), ("2: bird", 2)]  # its id2label
    missing = _check("tiny/no-such-model")
    assert missing["info"].startswith("**Cannot scan this model:** repository not found: 'tiny/no-such-model'")
    assert not any(missing[name]["visible"] for name in ("prompts", "classes", "guidance"))
    assert _check("  ")["info"] == ""


@pytest.mark.parametrize(("model", "fields", "conditions"), [
    ("tiny/stable-diffusion", {"prompts": "a photo of a face\na photo of a dog"}, ["prompt 'a photo of a face'", "prompt 'a photo of a dog'"]),
    ("tiny/ddpm-class-conditional", {"classes": [0, 2]}, ["class 0", "class 2"]),
])
def test_a_conditional_model_is_scanned_per_prompt_or_class_into_gallery_and_reports(test_hub, tmp_path, model, fields, conditions):
    info = app.inspect_model(model, allow_local=False)
    request = _request(model_id=model, annotator_id="tiny/clip", n=2, steps=2, info=info, **fields)
    view = app.run_request(request, tmp_path)
    assert f"{model} @ {info['resolved_sha']}" in view.verdict
    assert len(view.samples) == 4 and all(image.width > 0 for image, _ in view.samples)
    assert [caption for _, caption in view.samples] == [f"{condition} #{index}" for condition in conditions for index in (0, 1)]
    assert {row[1] for row in view.estimates} == {*conditions, "all conditions"}, view.estimates
    assert all(Path(path).is_file() for path in view.files) and "gender" in view.model_card
