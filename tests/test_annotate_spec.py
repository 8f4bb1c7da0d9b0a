"""The ``--attribute NAME=SPEC`` grammar and building annotators from it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hubaudit.annotate import (
    CLIP_PRESETS,
    DEFAULT_CLIP_MODEL,
    AuxiliaryAnnotator,
    ClipAnnotator,
    build_annotator,
    parse_attribute_spec,
)
from hubaudit.annotate.spec import AuxTrainSpec, ClipSpec, HubClassifierSpec, SavedAnnotatorSpec
from hubaudit.data import LabelledImages, mnist
from hubaudit.errors import InvalidAttributeSpec


@pytest.fixture(scope="module")
def aux_digits() -> LabelledImages:
    """400 random MNIST records with a 0/1 column ``zero`` and a 0/1 column ``gender`` (digit is odd)."""
    data = mnist().subset(np.random.default_rng(0).permutation(5000)[:400])
    digit = data.columns["digit"]
    return LabelledImages(data.images, {"zero": (digit == 0).astype(np.int64), "gender": digit % 2}, "aux digits")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("gender=clip", ClipSpec("gender", CLIP_PRESETS["gender"], DEFAULT_CLIP_MODEL)),
        ("sex=clip:gender", ClipSpec("sex", CLIP_PRESETS["gender"], DEFAULT_CLIP_MODEL)),
        (
            "smiling=clip:a photo of a smiling person|a photo of a person not smiling",
            ClipSpec(
                "smiling",
                {
                    "a photo of a smiling person": "a photo of a smiling person",
                    "a photo of a person not smiling": "a photo of a person not smiling",
                },
            ),
        ),
        (
            "smiling=clip:1:a photo of a smiling person | 0: a photo of a person not smiling",
            ClipSpec("smiling", {"1": "a photo of a smiling person", "0": "a photo of a person not smiling"}),
        ),
        (
            "zero=clip@org/clip-model@v2:zero:a photo of the digit zero|other:a photo of another digit",
            ClipSpec(
                "zero", {"zero": "a photo of the digit zero", "other": "a photo of another digit"}, "org/clip-model@v2"
            ),
        ),
        ("age=clip@org/siglip:age_group", ClipSpec("age", CLIP_PRESETS["age_group"], "org/siglip")),
        (
            "cat=hub:org/classifier:tabby, tabby cat=1,Egyptian cat=1, golden retriever = 0",
            HubClassifierSpec(
                "cat", "org/classifier", {"tabby, tabby cat": "1", "Egyptian cat": "1", "golden retriever": "0"}
            ),
        ),
        ("animal=hub:org/classifier@main", HubClassifierSpec("animal", "org/classifier@main", None)),
        ("zero=aux", AuxTrainSpec("zero")),
        ("zero=aux:runs/zero-annotator", SavedAnnotatorSpec("zero", Path("runs/zero-annotator"))),
    ],
)
def test_attribute_specs_parse_to_what_they_say(text, expected):
    assert parse_attribute_spec(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("gender", "NAME=SPEC"),
        ("=clip", "NAME=SPEC"),
        ("gender=", "NAME=SPEC"),
        ("bad name=clip", "NAME=SPEC"),
        ("mood=clip", "no CLIP preset 'mood'"),
        ("x=clip:a photo of a man", "no CLIP preset"),
        ("x=clip:yes:a smiling person|a person not smiling", "name every value"),
        ("x=clip:a man|a man", "distinct"),
        ("x=clip:a man|", "non-empty"),
        ("x=clip@:gender", "not a model reference"),
        ("x=clip@not a repo:gender", "not a model reference"),
        ("x=hub:", "not a model reference"),
        ("x=hub:org/classifier:cat", "LABEL=VALUE"),
        ("x=hub:org/classifier:cat=1,cat=0", "each label once"),
        ("x=hub:org/classifier:cat=one one", "LABEL=VALUE"),
        ("x=oracle", "unknown annotator 'oracle'"),
    ],
)
def test_bad_attribute_specs_are_one_line_errors(text, message):
    with pytest.raises(InvalidAttributeSpec, match=message) as caught:
        parse_attribute_spec(text)
    assert "\n" not in str(caught.value)


def test_clip_spec_builds_a_clip_annotator_named_after_the_attribute(clip_folder):
    annotator = build_annotator(parse_attribute_spec(f"sex=clip@{clip_folder}:gender"), device="cpu")
    assert isinstance(annotator, ClipAnnotator)
    assert annotator.attribute.name == "sex" and annotator.attribute.values == ("female", "male")
    assert annotator.confusion is None


def test_clip_spec_is_calibrated_on_aux_data_with_its_column(clip_folder, aux_digits):
    annotator = build_annotator(parse_attribute_spec(f"gender=clip@{clip_folder}"), aux_data=aux_digits)
    assert annotator.confusion.sum() == len(aux_digits)
    np.testing.assert_array_equal(annotator.confusion.sum(axis=1), np.bincount(aux_digits.columns["gender"]))


def test_aux_spec_trains_on_the_aux_data_column(aux_digits):
    annotator = build_annotator(parse_attribute_spec("zero=aux"), aux_data=aux_digits, device="cpu")
    assert isinstance(annotator, AuxiliaryAnnotator)
    assert annotator.provenance["column"] == "zero" and annotator.provenance["source"] == "aux digits"
    assert annotator.confusion.sum() == annotator.provenance["held_out_size"]


def test_aux_spec_without_aux_data_or_its_column_is_an_error(aux_digits):
    with pytest.raises(InvalidAttributeSpec, match="give aux_data with a column 'zero'"):
        build_annotator(parse_attribute_spec("zero=aux"))
    with pytest.raises(InvalidAttributeSpec, match="columns: gender, zero"):
        build_annotator(parse_attribute_spec("smiling=aux"), aux_data=aux_digits)


def test_aux_path_spec_loads_the_saved_annotator_under_the_new_name(clip_folder, tmp_path):
    saved = ClipAnnotator(
        "gender", CLIP_PRESETS["gender"], model_id=str(clip_folder), confusion=np.array([[9, 1], [2, 8]])
    )
    saved.save(tmp_path / "gender")
    loaded = build_annotator(parse_attribute_spec(f"sex=aux:{tmp_path / 'gender'}"))
    assert loaded.attribute.name == "sex" and loaded.attribute.values == saved.attribute.values
    np.testing.assert_array_equal(loaded.confusion, [[9, 1], [2, 8]])
