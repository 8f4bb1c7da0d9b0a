"""Every text-to-image entry of the installed diffusers' ``AUTO_TEXT2IMAGE_PIPELINES_MAPPING`` is either scanned by a
test model or refused by hubaudit with a documented reason; a diffusers upgrade says here what is new."""

from __future__ import annotations

import pytest
from diffusers.pipelines.auto_pipeline import AUTO_TEXT2IMAGE_PIPELINES_MAPPING

from family_models import FAMILIES, REFUSED, REFUSED_MODELS, text_to_image_coverage
from hubaudit.cli import main
from hubaudit.sampling import signature_refusal


def test_every_mapping_entry_has_a_test_model_or_a_documented_refusal():
    uncovered = [f"{entry.name} ({entry.pipeline_class})" for entry in text_to_image_coverage() if not entry.covered]
    assert not uncovered, f"no test model and no refusal for: {', '.join(uncovered)}"


def test_every_text_to_image_test_model_is_still_in_the_mapping():
    mapped = {pipeline_class.__name__ for pipeline_class in AUTO_TEXT2IMAGE_PIPELINES_MAPPING.values()}
    gone = [
        f"{family.name} ({family.pipeline_class})"
        for family in FAMILIES.values()
        if family.kind == "text-to-image" and family.pipeline_class not in mapped
    ]
    assert not gone, f"test models of families diffusers no longer maps: {', '.join(gone)}"


def test_every_refusal_names_a_mapping_entry_without_a_test_model_that_hubaudit_refuses():
    for entry in text_to_image_coverage():
        if entry.refusal:
            assert not entry.families, f"{entry.name} is both refused and tested ({entry.families})"
            assert signature_refusal(AUTO_TEXT2IMAGE_PIPELINES_MAPPING[entry.name]) is not None, entry.name
    assert set(REFUSED) <= set(AUTO_TEXT2IMAGE_PIPELINES_MAPPING)


@pytest.mark.parametrize("name", sorted(REFUSED_MODELS))
def test_refused_entry_is_refused_in_one_line_with_its_reason(test_hub, tmp_path, capsys, name):
    test_hub.add_repo(f"refused-{name}", REFUSED_MODELS[name](tmp_path / "model"))
    code = main(["scan", test_hub.repo(f"refused-{name}"), "--prompt", "a cat", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert REFUSED[name] in err and "cannot sample" in err
