"""``hubaudit scan --attribute ...``: what the terminal shows, and each bad input as one line with exit code 2."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from hubaudit.cli import main
from hubaudit.data import LabelledImages, mnist_with_property_share, save_labelled_images
from tiny_models import constant_annotator

SCAN = ["-n", "8", "--batch-size", "8", "--steps", "2", "--quiet"]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """Data sets and saved annotators the cases below name by key."""
    root = tmp_path_factory.mktemp("property-cli")
    data = mnist_with_property_share(share=0.3, n=300, seed=1, image_size=16)
    odd = LabelledImages(
        data.images, {"is_zero": data.column("is_zero") * 2, "shifted": data.column("is_zero") + 1}, "odd"
    )
    return {
        "mnist": save_labelled_images(data, root / "mnist.parquet"),
        "tiny": save_labelled_images(data.subset(np.arange(20)), root / "tiny.parquet"),
        "odd": save_labelled_images(odd, root / "odd.parquet"),
        "good": constant_annotator(root / "good", confusion=[[95, 5], [5, 95]]),
        "chance": constant_annotator(root / "chance", confusion=[[50, 50], [50, 50]]),
        "nearly-singular": constant_annotator(root / "nearly-singular", confusion=[[52, 48], [48, 52]]),
        "uncalibrated": constant_annotator(root / "uncalibrated", confusion=None),
    }


BAD_INPUT = {
    "unknown annotator": (["--attribute", "is_zero=magic"], "unknown annotator 'magic'"),
    "no NAME=SPEC": (["--attribute", "is_zero"], "expected NAME=SPEC"),
    "attribute given twice": (["--attribute", "a=aux:{chance}", "--attribute", "a=aux:{chance}"], "given once"),
    "aux data without the column": (["--attribute", "smiling=aux", "--aux-data", "{mnist}"], "column 'smiling'"),
    "aux without aux data": (["--attribute", "is_zero=aux"], "give --aux-data with a column 'is_zero'"),
    "calibration data without the column": (
        ["--attribute", "smiling=aux:{uncalibrated}", "--aux-data", "{mnist}"],
        "has no column 'smiling'",
    ),
    "aux column not 0..K-1": (["--attribute", "shifted=aux", "--aux-data", "{odd}"], "must hold every value 0..K-1"),
    "training column not 0/1": (
        ["--attribute", "is_zero=aux:{uncalibrated}", "--training-data", "{odd}"],
        "must hold values 0..1",
    ),
    "training data without the column": (
        ["--attribute", "smiling=aux:{uncalibrated}", "--training-data", "{mnist}"],
        "has no column 'smiling'",
    ),
    "aux data too small": (["--attribute", "is_zero=aux", "--aux-data", "{tiny}"], "each value needs at least"),
    "annotator no better than chance": (["--attribute", "is_zero=aux:{chance}"], "no better than chance"),
    "annotator no better than chance on the aux data": (
        ["--attribute", "is_zero=aux:{uncalibrated}", "--aux-data", "{mnist}"],
        "no better than chance",
    ),
    "target width out of range": (["--attribute", "is_zero=aux:{chance}", "--target-width", "0.7"], "--target-width"),
    "confidence out of range": (["--attribute", "is_zero=aux:{chance}", "--confidence", "95"], "--confidence"),
    "aux data without an attribute": (["--aux-data", "{mnist}"], "need an --attribute"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_property_input_is_one_line_and_exit_code_2(test_hub, tmp_path, capsys, inputs, case):
    words, message = BAD_INPUT[case]
    words = [word.format(**inputs) for word in words]
    code = main(["scan", "tiny/ddpm", *SCAN, "--out", str(tmp_path), *words])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("hubaudit: error: ") and err.count("\n") == 1, err
    assert message in err
    assert not (tmp_path / "samples").exists()  # refused before sampling


def test_scan_prints_the_corrected_and_naive_estimates(test_hub, tmp_path, capsys, inputs):
    code = main(["scan", "tiny/ddpm", *SCAN, "--out", str(tmp_path), "--attribute", f"is_zero=aux:{inputs['good']}"])
    out = capsys.readouterr().out
    assert code == 0
    assert "GENERATED share" in out
    assert re.search(r"is_zero=1: corrected \d\.\d{3} \[\d\.\d{3}, \d\.\d{3}\]; classify-and-count 1\.000 ", out), out


def test_undefined_correction_is_said_and_no_number_is_printed(test_hub, tmp_path, capsys, inputs):
    code = main(
        ["scan", "tiny/ddpm", *SCAN, "--out", str(tmp_path), "--attribute", f"is_zero=aux:{inputs['nearly-singular']}"]
    )
    out = capsys.readouterr().out
    assert code == 0
    (line,) = [line for line in out.splitlines() if line.strip().startswith("is_zero=1")]
    corrected = line.split(";")[0]
    assert "corrected: undefined" in corrected and "singular" in corrected
    assert not re.search(r"\d\.\d{3} \[", corrected)


def test_a_saved_annotator_is_recalibrated_on_aux_data_and_the_report_says_so(test_hub, tmp_path, capsys, inputs):
    import json

    demo_annotator = Path(__file__).resolve().parents[1] / "hubaudit" / "demo_models" / "mnist-zero-annotator"
    words = ["scan", "tiny/ddpm", *SCAN, "--out", str(tmp_path), "--attribute", f"is_zero=aux:{demo_annotator}"]
    assert main(words) == 0
    saved = json.loads((tmp_path / "report.json").read_text())["properties"]["attributes"][0]["annotator"]
    assert saved["calibration"] == "supplied with the annotator" and saved["confusion"] == [[397, 3], [0, 100]]
    assert main([*words, "--aux-data", str(inputs["mnist"])]) == 0
    out = capsys.readouterr().out
    annotator = json.loads((tmp_path / "report.json").read_text())["properties"]["attributes"][0]["annotator"]
    assert annotator["calibration"] == f"300 records of {inputs['mnist']} (column is_zero)"
    assert np.asarray(annotator["confusion"]).sum() == 300
    assert f"(calibration: 300 records of {inputs['mnist']} (column is_zero))" in out


def test_self_audit_prints_its_outcome_and_a_far_training_share_is_no_finding(test_hub, tmp_path, capsys, inputs):
    import json

    words = ["--attribute", f"is_zero=aux:{inputs['good']}", "--training-data", str(inputs["mnist"])]
    assert main(["scan", "tiny/ddpm", *SCAN, "--out", str(tmp_path), *words]) == 0
    out = capsys.readouterr().out
    assert "self-audit: No finding: the generated share of is_zero=1" in out  # every sample says 1; training share 0.3
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["properties"]["attributes"][0]["self_audit"]["outcome"] == "no finding" and report["findings"] == []
