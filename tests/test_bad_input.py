"""The bad-input catalogue: every mistake a user can make is one line on stderr and exit code 2.

Each case runs the CLI in-process and asserts the exit code, exactly one stderr line starting
``hubaudit: error:`` that says what was wrong (a fragment of it), no traceback, and that the
sample store of an earlier, good scan is unchanged. A few cases run the CLI as a subprocess,
where a traceback or an argparse usage dump would show for real.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from filelock import FileLock

from hubaudit.cli import main
from hubaudit.data import LabelledImages, save_labelled_images

DEMO = Path(__file__).resolve().parents[1] / "hubaudit" / "demo_models"
MODEL = str(DEMO / "mnist-zeros30")
ANNOTATOR = DEMO / "mnist-zero-annotator"
FAST = ["-n", "4", "--batch-size", "4", "--steps", "2", "--quiet"]


@pytest.fixture(scope="module")
def place(tmp_path_factory):
    """Files the cases point at: a filled store, a data file, broken models and annotators, a report."""
    root = tmp_path_factory.mktemp("bad-input")
    store = root / "store"
    assert main(["scan", MODEL, *FAST, "--out", str(root / "good"), "--store", str(store)]) == 0
    rng = np.random.default_rng(0)
    data = LabelledImages(rng.integers(0, 256, (40, 8, 8, 1), dtype=np.uint8),
                          {"s": np.repeat([0, 1], 20), "y": np.tile([0, 1], 20)}, "test")
    save_labelled_images(data, root / "data.parquet")
    (root / "a-file").write_text("not a folder")
    (root / "empty-folder").mkdir()
    for name, change in {
        "malformed-index": lambda folder: (folder / "model_index.json").write_text('{"_class_name": "DDPMPipeline",'),
        "typo-class": lambda folder: _edit_json(folder / "model_index.json", _class_name="DDPMPipline"),
        "torn-weights": lambda folder: _truncate(folder / "unet" / "diffusion_pytorch_model.safetensors"),
        "bad-unet-config": lambda folder: _edit_json(folder / "unet" / "config.json", in_channels="three"),
    }.items():
        change(shutil.copytree(MODEL, root / name))
    channels = shutil.copytree(ANNOTATOR, root / "annotator-channels")
    _edit_json(channels / "annotator.json", channels=3)
    broken = shutil.copytree(ANNOTATOR, root / "annotator-broken-json")
    (broken / "annotator.json").write_text("{")
    report = json.loads((root / "good" / "report.json").read_text())
    (root / "wrong-types.json").write_text(json.dumps({**report, "samples": 5, "findings": "none"}))
    (root / "not-json.json").write_text("{")
    (root / "schema-9.json").write_text(json.dumps({"schema_version": "9.0"}))
    return root


def _edit_json(path: Path, **changes) -> None:
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:200])


def _snapshot(folder: Path) -> dict:
    return {str(path.relative_to(folder)): (path.stat().st_size, path.stat().st_mtime_ns)
            for path in sorted(folder.rglob("*")) if path.is_file() and not path.name.startswith(".lock")}


def _scan(*words: str) -> list[str]:
    """A scan of the demo model into the filled store (a case's own ``--store`` comes later and wins)."""
    return ["scan", MODEL, *FAST, "--store", "{root}/store", *words]


# (case id, argv with {root} for the fixture folder, a fragment of the one error line)
CASES = [
    # --- scan: output and store paths
    ("out-is-a-file", _scan("--out", "{root}/a-file"), "--out exists and is not a folder"),
    ("out-under-a-file", _scan("--out", "{root}/a-file/sub"), "cannot write"),
    ("store-is-a-file", _scan("--out", "{root}/o", "--store", "{root}/a-file"), "--store exists and is not a folder"),
    ("store-under-a-file", _scan("--out", "{root}/o", "--store", "{root}/a-file/s"), "cannot write"),
    # --- scan: sampling options
    ("n-zero", _scan("--out", "{root}/o", "-n", "0"), "n must be from 1 to 10,000,000"),
    ("n-negative", _scan("--out", "{root}/o", "-n", "-3"), "n must be from 1"),
    ("n-huge", _scan("--out", "{root}/o", "-n", "1000000000000"), "1,000,000,000,000"),
    ("n-not-a-number", _scan("-n", "abc"), "invalid int value: 'abc'"),
    ("batch-size-zero", _scan("--out", "{root}/o", "--batch-size", "0"), "batch size must be at least 1"),
    ("steps-zero", _scan("--out", "{root}/o", "--steps", "0"), "steps"),
    ("steps-above-training", _scan("--out", "{root}/o", "--steps", "100000"), "100000"),
    ("guidance-unconditional", _scan("--out", "{root}/o", "--guidance-scale", "3"), "guidance"),
    ("height-not-taken", _scan("--out", "{root}/o", "--height", "32"), "height"),
    ("prompt-unconditional", _scan("--out", "{root}/o", "--prompt", "a cat"), "unconditional"),
    ("class-unconditional", _scan("--out", "{root}/o", "--class", "3"), "unconditional"),
    ("scheduler-unknown", _scan("--scheduler", "euler-x"), "invalid choice: 'euler-x'"),
    ("dtype-unknown", _scan("--dtype", "float64"), "invalid choice: 'float64'"),
    ("device-unknown", _scan("--out", "{root}/o", "--device", "quantum"), "quantum"),
    ("seed-not-a-number", _scan("--seed", "x"), "invalid int value: 'x'"),
    ("unknown-flag", _scan("--frobnicate"), "unrecognized arguments: --frobnicate"),
    ("allow-pickle-value", _scan("--allow-pickle=maybe"), "the only value is 'unsafe'"),
    # --- scan: the model
    ("no-model", ["scan"], "the following arguments are required: model"),
    ("model-missing-folder", ["scan", "./no/such/folder/at/all", *FAST, "--store", "{root}/store"], "not a model reference"),
    ("model-is-a-file", ["scan", "--store", "{root}/store", "{root}/a-file", *FAST], "not a model reference"),
    ("model-no-index", ["scan", "--store", "{root}/store", "{root}/empty-folder", *FAST, "--out", "{root}/o"], "no model_index.json"),
    ("model-malformed-index", ["scan", "--store", "{root}/store", "{root}/malformed-index", *FAST, "--out", "{root}/o"], "not valid JSON (line 1"),
    ("model-typo-class", ["scan", "--store", "{root}/store", "{root}/typo-class", *FAST, "--out", "{root}/o"], "unknown class DDPMPipline"),
    ("model-torn-weights", ["scan", "--store", "{root}/store", "{root}/torn-weights", *FAST, "--out", "{root}/o"], "could not load"),
    ("model-bad-config", ["scan", "--store", "{root}/store", "{root}/bad-unet-config", *FAST, "--out", "{root}/o"], "could not load"),
    ("model-trust-code-unknown-class", ["scan", "--store", "{root}/store", "{root}/typo-class", *FAST, "--out", "{root}/o", "--trust-remote-code"], "DDPMPipline"),
    # --- scan: attributes and data
    ("attribute-no-equals", _scan("--out", "{root}/o", "--attribute", "zero"), "expected NAME=SPEC"),
    ("attribute-unknown-kind", _scan("--out", "{root}/o", "--attribute", "z=magic"), "unknown annotator 'magic'"),
    ("attribute-unknown-preset", _scan("--out", "{root}/o", "--attribute", "z=clip:wings"), "no CLIP preset 'wings'"),
    ("attribute-twice", _scan("--out", "{root}/o", "--attribute", f"z=aux:{ANNOTATOR}", "--attribute", f"z=aux:{ANNOTATOR}"), "once"),
    ("aux-without-data", _scan("--out", "{root}/o", "--attribute", "z=aux"), "no --aux-data given"),
    ("saved-annotator-missing", _scan("--out", "{root}/o", "--attribute", "z=aux:{root}/no-annotator"), "not a saved annotator"),
    ("saved-annotator-is-a-file", _scan("--out", "{root}/o", "--attribute", "z=aux:{root}/a-file"), "not a saved annotator"),
    ("saved-annotator-bad-json", _scan("--out", "{root}/o", "--attribute", "z=aux:{root}/annotator-broken-json"), "not a saved annotator"),
    ("saved-annotator-channels", _scan("--out", "{root}/o", "--attribute", "z=aux:{root}/annotator-channels"), "cannot load the saved annotator"),
    ("aux-data-missing", _scan("--out", "{root}/o", "--attribute", "z=aux", "--aux-data", "{root}/none.parquet"), "no such file"),
    ("aux-data-lacks-column", _scan("--out", "{root}/o", "--attribute", f"is_zero=aux:{ANNOTATOR}", "--aux-data", "{root}/data.parquet"), "no column 'is_zero'"),
    ("aux-data-not-parquet", _scan("--out", "{root}/o", "--attribute", "z=aux", "--aux-data", "{root}/a-file"), "expected a .parquet file"),
    ("training-data-missing", _scan("--out", "{root}/o", "--attribute", f"z=aux:{ANNOTATOR}", "--training-data", "{root}/none.parquet"), "no such file"),
    ("confidence-above-one", _scan("--out", "{root}/o", "--attribute", f"z=aux:{ANNOTATOR}", "--confidence", "1.5"), "confidence"),
    ("target-width-too-wide", _scan("--out", "{root}/o", "--attribute", f"z=aux:{ANNOTATOR}", "--target-width", "0.7"), "--target-width must lie strictly between 0 and 0.5"),
    ("target-width-no-attribute", _scan("--out", "{root}/o", "--target-width", "0.05"), "--attribute"),
    ("sensitive-not-an-attribute", _scan("--out", "{root}/o", "--attribute", f"z=aux:{ANNOTATOR}", "--sensitive", "s"), "no --attribute s=SPEC"),
    ("sensitive-no-attribute", _scan("--out", "{root}/o", "--sensitive", "s"), "--attribute"),
    ("label-map-garbage", _scan("--out", "{root}/o", "--label-map", "zero:one"), "CLASS=LABEL"),
    ("label-map-not-binary", _scan("--out", "{root}/o", "--attribute", f"z=aux:{ANNOTATOR}", "--sensitive", "z", "--label-map", "0=2"), "0 or 1"),
    ("max-dp-gap-negative", _scan("--out", "{root}/o", "--attribute", f"z=aux:{ANNOTATOR}", "--sensitive", "z", "--max-dp-gap", "-1"), "gap"),
    ("reference-missing", _scan("--out", "{root}/o", "--attribute", f"z=aux:{ANNOTATOR}", "--sensitive", "z", "--reference", "{root}/none.parquet"), "no such file"),
    # --- report
    ("report-missing", ["report", "{root}/none.json"], "no report at"),
    ("report-not-json", ["report", "{root}/not-json.json"], "is not a JSON report"),
    ("report-schema", ["report", "{root}/schema-9.json"], "unknown report schema version '9.0'"),
    ("report-wrong-types", ["report", "{root}/wrong-types.json"], "wrong type or shape"),
    ("report-wrong-types-md", ["report", "{root}/wrong-types.json", "--format", "md", "--out", "-"], "wrong type or shape"),
    ("report-out-is-a-folder", ["report", "{root}/good/report.json", "--out", "{root}/empty-folder"], "it is a folder"),
    ("report-out-under-a-file", ["report", "{root}/good/report.json", "--out", "{root}/a-file/r.html"], "cannot write"),
    ("report-format-unknown", ["report", "{root}/good/report.json", "--format", "pdf"], "invalid choice: 'pdf'"),
    # --- gold labels: hubaudit label and scan --gold
    ("label-attribute-not-in-report", ["label", "{root}/good", "--attribute", "is_zero"], "has no attribute 'is_zero'"),
    ("label-not-a-report-or-store", ["label", "{root}/empty-folder", "--attribute", "z", "--values", "a,b"], "neither a scan's report.json"),
    ("label-n-zero", ["label", "{root}/good", "--attribute", "z", "--values", "a,b", "-n", "0"], "-n must be at least 1"),
    ("label-report-not-json", ["label", "{root}/not-json.json", "--attribute", "z"], "not-json.json"),
    ("gold-missing", _scan("--out", "{root}/o", "--attribute", f"z=aux:{ANNOTATOR}", "--gold", "{root}/none.parquet"), "no such file"),
    ("gold-not-parquet", _scan("--out", "{root}/o", "--attribute", f"z=aux:{ANNOTATOR}", "--gold", "{root}/a-file"), "not a gold-label file"),
    ("gold-with-target-width", _scan("--out", "{root}/o", "--attribute", f"z=aux:{ANNOTATOR}", "--gold", "{root}/a-file", "--target-width", "0.1"), "drop --target-width"),
    ("gold-without-attribute", _scan("--out", "{root}/o", "--gold", "{root}/a-file"), "need an --attribute"),
    # --- poison
    ("poison-data-missing", ["poison", "{root}/none.parquet", "--sensitive", "s", "--label", "y", "--alpha", "0.2", "--out", "{root}/p.parquet"], "no such file"),
    ("poison-out-not-parquet", ["poison", "{root}/data.parquet", "--sensitive", "s", "--label", "y", "--alpha", "0.2", "--out", "{root}/p.csv"], ".parquet"),
    ("poison-out-under-a-file", ["poison", "{root}/data.parquet", "--sensitive", "s", "--label", "y", "--alpha", "0.2", "--out", "{root}/a-file/p.parquet"], "cannot write"),
    ("poison-alpha-above-one", ["poison", "{root}/data.parquet", "--sensitive", "s", "--label", "y", "--alpha", "2", "--out", "{root}/p.parquet"], "alpha"),
    ("poison-column-missing", ["poison", "{root}/data.parquet", "--sensitive", "gender", "--label", "y", "--alpha", "0.2", "--out", "{root}/p.parquet"], "gender"),
    ("poison-n-too-large", ["poison", "{root}/data.parquet", "--sensitive", "s", "--label", "y", "--alpha", "0.2", "--n", "1000000", "--out", "{root}/p.parquet"], "1000000"),
    ("poison-method-unknown", ["poison", "{root}/data.parquet", "--sensitive", "s", "--label", "y", "--alpha", "0.2", "--method", "magic", "--out", "{root}/p.parquet"], "invalid choice: 'magic'"),
    ("poison-alpha-missing", ["poison", "{root}/data.parquet", "--sensitive", "s", "--label", "y", "--out", "{root}/p.parquet"], "--alpha"),
    # --- train
    ("train-data-missing", ["train", "{root}/none.parquet", "--out", "{root}/t", "--quiet"], "no such file"),
    ("train-out-is-a-file", ["train", "{root}/data.parquet", "--out", "{root}/a-file", "--quiet"], "not a folder"),
    ("train-image-size-zero", ["train", "{root}/data.parquet", "--out", "{root}/t", "--image-size", "0", "--quiet"], "image size must be at least 1"),
    ("train-steps-zero", ["train", "{root}/data.parquet", "--out", "{root}/t", "--steps", "0", "--quiet"], "must be positive"),
    ("train-widths-garbage", ["train", "{root}/data.parquet", "--out", "{root}/t", "--block-out-channels", "3,x"], "comma-separated integers"),
    ("train-widths-odd", ["train", "{root}/data.parquet", "--out", "{root}/t", "--block-out-channels", "12,20", "--quiet"], "multiples of 8"),
    ("train-class-column-missing", ["train", "{root}/data.parquet", "--out", "{root}/t", "--class-column", "digit", "--quiet"], "no class column 'digit'"),
    ("train-precision-unknown", ["train", "{root}/data.parquet", "--out", "{root}/t", "--mixed-precision", "fp8"], "invalid choice: 'fp8'"),
    # --- no subcommand
    ("no-command", [], "the following arguments are required: command"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("argv", "fragment"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_input_is_one_line_and_exit_code_2_and_leaves_the_store_alone(place, capsys, argv, fragment):
    before = _snapshot(place / "store")
    code = run_cli([word.replace("{root}", str(place)) for word in argv])
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("hubaudit: error: "), err
    assert fragment in lines[0], lines[0]
    assert "Traceback" not in err and "HUBAUDIT_DEBUG" not in err, err
    assert _snapshot(place / "store") == before


def run_cli(argv: list[str]) -> int:
    """``main(argv)``'s exit code, also when argparse exits (it raises SystemExit)."""
    try:
        return main(argv)
    except SystemExit as exit_:
        return exit_.code


def test_the_catalogue_covers_every_subcommand_with_at_least_60_cases():
    assert len(CASES) >= 60 and len({case[0] for case in CASES}) == len(CASES)
    assert {case[1][0] for case in CASES if case[1]} == {"scan", "report", "label", "poison", "train"}


def test_push_to_hub_offline_is_refused_before_training(place, capsys, monkeypatch):
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    out = place / "offline-train"
    code = run_cli(["train", str(place / "data.parquet"), "--out", str(out), "--push-to-hub", "org/model", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and err.strip().splitlines() == [
        "hubaudit: error: cannot upload to org/model: HF_HUB_OFFLINE is set (unset it, or drop --push-to-hub) (nothing was trained)"]
    assert not out.exists()


@pytest.mark.slow
def test_a_failed_upload_after_training_is_one_line_and_keeps_the_model(place, capsys, monkeypatch):
    def refuse(self, *args, **kwargs):
        raise PermissionError("403 Forbidden: token is read-only")

    monkeypatch.setattr("huggingface_hub.HfApi.create_repo", refuse)
    out = place / "refused-upload"
    code = run_cli(["train", str(place / "data.parquet"), "--out", str(out), "--steps", "2", "--image-size", "8",
                    "--block-out-channels", "8,16", "--batch-size", "4", "--push-to-hub", "org/model", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "cannot upload to org/model: PermissionError: 403 Forbidden" in err and f"saved in {out}" in err
    assert (out / "model_index.json").exists()
