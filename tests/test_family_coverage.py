"""Every text-to-image entry of the installed diffusers' ``AUTO_TEXT2IMAGE_PIPELINES_MAPPING`` is either scanned by a
test model or refused by hubaudit with a documented reason; a diffusers upgrade says here what is new."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

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


def test_every_refusal_names_a_mapping_entry_without_a_test_model():
    assert set(REFUSED) <= set(AUTO_TEXT2IMAGE_PIPELINES_MAPPING)
    both = [entry.name for entry in text_to_image_coverage() if entry.refusal and entry.families]
    assert not both, f"both refused and tested: {both}"


def test_a_refusal_hubaudit_derives_is_what_the_call_signature_says():
    for name, refused in REFUSED_MODELS.items():
        derived = signature_refusal(AUTO_TEXT2IMAGE_PIPELINES_MAPPING[name])
        assert derived is None or derived == REFUSED[name] == refused.error, name


@pytest.mark.parametrize("name", sorted(REFUSED_MODELS))
def test_refused_entry_is_refused_in_one_line_with_its_reason(test_hub, tmp_path, capsys, name):
    refused = REFUSED_MODELS[name]
    test_hub.add_repo(f"refused-{name}", refused.save(tmp_path / "model"))
    words = ["scan", test_hub.repo(f"refused-{name}"), "--prompt", "a cat", "--out", str(tmp_path / "out")]
    if refused.fresh_process:
        done = subprocess.run(
            [sys.executable, "-m", "hubaudit.cli", *words], capture_output=True, text=True, timeout=120
        )
        code, err = done.returncode, done.stderr
    else:
        code, err = main(words), capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert refused.error in err, err


def test_supported_families_doc_is_what_the_generator_writes_from_the_registries_and_last_benchmark():
    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("families_benchmark", root / "benchmarks" / "families.py")
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    saved = json.loads(benchmark.RESULTS.read_text())
    doc = (root / "docs" / "supported-families.md").read_text()
    rows = {row["family"]: row for row in saved["rows"]}
    assert benchmark.rewrite_doc(doc, rows, saved["n"]) == doc, "run make supported-families-doc"
