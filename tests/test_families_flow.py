"""The flow-matching control entries of diffusers' text-to-image mapping are refused from model_index.json alone;
an optional reference image is left unset only for pipelines diffusers registers as text-to-image."""

from __future__ import annotations

import json

import pytest
from diffusers import FluxKontextPipeline
from diffusers.pipelines.auto_pipeline import AUTO_TEXT2IMAGE_PIPELINES_MAPPING

from families_flow import REFUSED
from hubaudit.cli import main
from hubaudit.errors import UnsupportedPipeline
from hubaudit.sampling import pipeline_capabilities


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_control_entry_is_refused_with_its_reason_before_any_weight_loads(tmp_path, capsys, name):
    pipeline_class = AUTO_TEXT2IMAGE_PIPELINES_MAPPING[name]
    folder = tmp_path / name  # no weights: the refusal is decided by model_index.json
    folder.mkdir()
    (folder / "model_index.json").write_text(json.dumps({"_class_name": pipeline_class.__name__}))
    code = main(["scan", str(folder), "--prompt", "a cat", "--quiet", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert f"is a {pipeline_class.__name__}, which hubaudit cannot sample: {REFUSED[name]}" in err


class UnregisteredKontext(FluxKontextPipeline):
    """A Kontext pipeline diffusers does not register as text-to-image: its ``image`` is an input to transform."""


def test_optional_reference_image_is_left_unset_only_in_a_registered_text_to_image_pipeline():
    assert pipeline_capabilities(FluxKontextPipeline, {}, reference="org/kontext").kind == "text-to-image"
    with pytest.raises(UnsupportedPipeline, match=r"transforms an input \(image\)"):
        pipeline_capabilities(UnregisteredKontext, {}, reference="org/kontext")
