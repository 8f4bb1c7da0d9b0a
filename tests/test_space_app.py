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
