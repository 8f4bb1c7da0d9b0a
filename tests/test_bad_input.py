"""The bad-input catalogue: every mistake a user can make is one line on stderr and exit code 2.

Each case runs the CLI in-process and asserts the exit code, exactly one stderr line starting
``hubaudit: error:`` that says what was wrong (a fragment of it), no traceback, and that the
sample store of an earlier, good scan is unchanged. A few cases run the CLI as a subprocess,
where a traceback or an argparse usage dump would show for real.
"""

from __future__ import annotations

import errno
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hubaudit import errors
from hubaudit.cli import main
from hubaudit.data import LabelledImages, save_labelled_images
from hubaudit.stats.estimate import validated_confidence

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
    data = LabelledImages(
        rng.integers(0, 256, (40, 8, 8, 1), dtype=np.uint8),
        {"s": np.repeat([0, 1], 20), "y": np.tile([0, 1], 20)},
        "test",
    )
    save_labelled_images(data, root / "data.parquet")
    (root / "a-file").write_text("not a folder")
    (root / "empty-folder").mkdir()
    for name, change in {
        "malformed-index": lambda folder: (folder / "model_index.json").write_text('{"_class_name": "DDPMPipeline",'),
        "typo-class": lambda folder: _edit_json(folder / "model_index.json", _class_name="DDPMPipline"),
        "torn-weights": lambda folder: _truncate(folder / "unet" / "diffusion_pytorch_model.safetensors"),
        "bad-unet-config": lambda folder: _edit_json(folder / "unet" / "config.json", in_channels="three"),
        "no-unet": lambda folder: shutil.rmtree(folder / "unet"),
    }.items():
        change(shutil.copytree(MODEL, root / name))
    channels = shutil.copytree(ANNOTATOR, root / "annotator-channels")
    _edit_json(channels / "annotator.json", channels=3)
    broken = shutil.copytree(ANNOTATOR, root / "annotator-broken-json")
    (broken / "annotator.json").write_text("{")
    report = json.loads((root / "good" / "report.json").read_text())
    (root / "wrong-types.json").write_text(json.dumps({**report, "samples": 5, "findings": "none"}))
    (root / "no-model.json").write_text(json.dumps({key: value for key, value in report.items() if key != "model"}))
    (root / "null-reference.json").write_text(json.dumps({**report, "model": {**report["model"], "reference": None}}))
    (root / "not-json.json").write_text("{")
    (root / "schema-9.json").write_text(json.dumps({"schema_version": "9.0"}))
    return root


def _edit_json(path: Path, **changes) -> None:
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:200])


def _snapshot(folder: Path) -> dict:
    return {
        str(path.relative_to(folder)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not path.name.startswith(".lock")
    }


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
    (
        "lora-scale-without-lora",
        _scan("--out", "{root}/o", "--lora-scale", "0.5"),
        f"--lora-scale 0.5 weighs a LoRA, and '{MODEL}' holds no LoRA: drop --lora-scale",
    ),
    ("scheduler-unknown", _scan("--scheduler", "euler-x"), "invalid choice: 'euler-x'"),
    ("dtype-unknown", _scan("--dtype", "float64"), "invalid choice: 'float64'"),
    ("device-unknown", _scan("--out", "{root}/o", "--device", "quantum"), "quantum"),
    ("seed-not-a-number", _scan("--seed", "x"), "invalid int value: 'x'"),
    ("unknown-flag", _scan("--frobnicate"), "unrecognized arguments: --frobnicate"),
    ("allow-pickle-value", _scan("--allow-pickle=maybe"), "the only value is 'unsafe'"),
    # --- scan: the model
    ("no-model", ["scan"], "the following arguments are required: MODEL"),
    (
        "model-missing-folder",
        ["scan", "./no/such/folder/at/all", *FAST, "--store", "{root}/store"],
        "no such folder: ./no/such/folder/at/all",
    ),
    (
        "model-mistyped-folder",
        ["scan", MODEL[:-1], *FAST, "--store", "{root}/store"],
        f"no such folder: {MODEL[:-1]} (did you mean {MODEL}?)",
    ),
    (
        "model-component-folder",
        ["scan", f"{MODEL}/unet/", *FAST, "--store", "{root}/store"],
        f"{MODEL}/unet is a component (unet), not a pipeline; its parent {MODEL} is the pipeline",
    ),
    (
        "model-component-missing",
        ["scan", "--store", "{root}/store", "{root}/no-unet", *FAST, "--out", "{root}/o"],
        "component unet of '{root}/no-unet' is missing: no folder {root}/no-unet/unet",
    ),
    ("model-is-a-file", ["scan", "--store", "{root}/store", "{root}/a-file", *FAST], "not a model reference"),
    (
        "model-no-index",
        ["scan", "--store", "{root}/store", "{root}/empty-folder", *FAST, "--out", "{root}/o"],
        "no model_index.json",
    ),
    (
        "model-malformed-index",
        ["scan", "--store", "{root}/store", "{root}/malformed-index", *FAST, "--out", "{root}/o"],
        "not valid JSON (line 1",
    ),
    (
        "model-typo-class",
        ["scan", "--store", "{root}/store", "{root}/typo-class", *FAST, "--out", "{root}/o"],
        "unknown class DDPMPipline",
    ),
    (
        "model-torn-weights",
        ["scan", "--store", "{root}/store", "{root}/torn-weights", *FAST, "--out", "{root}/o"],
        "could not load",
    ),
    (
        "model-bad-config",
        ["scan", "--store", "{root}/store", "{root}/bad-unet-config", *FAST, "--out", "{root}/o"],
        "could not load",
    ),
    (
        "model-trust-code-unknown-class",
        ["scan", "--store", "{root}/store", "{root}/typo-class", *FAST, "--out", "{root}/o", "--trust-remote-code"],
        "DDPMPipline",
    ),
    # --- scan: attributes and data
    ("attribute-no-equals", _scan("--out", "{root}/o", "--attribute", "zero"), "expected NAME=SPEC"),
    ("attribute-unknown-kind", _scan("--out", "{root}/o", "--attribute", "z=magic"), "unknown annotator 'magic'"),
    ("attribute-unknown-preset", _scan("--out", "{root}/o", "--attribute", "z=clip:wings"), "no CLIP preset 'wings'"),
    (
        "attribute-twice",
        _scan("--out", "{root}/o", "--attribute", f"z=aux:{ANNOTATOR}", "--attribute", f"z=aux:{ANNOTATOR}"),
        "once",
    ),
    (
        "aux-without-data",
        _scan("--out", "{root}/o", "--attribute", "z=aux"),
        "z=aux trains its annotator on labelled data: give --aux-data with a column 'z'",
    ),
    (
        "saved-annotator-missing",
        _scan("--out", "{root}/o", "--attribute", "z=aux:{root}/no-annotator"),
        "no such annotator folder: {root}/no-annotator",
    ),
    (
        "saved-annotator-is-a-file",
        _scan("--out", "{root}/o", "--attribute", "z=aux:{root}/a-file"),
        "not a saved annotator",
    ),
    (
        "saved-annotator-bad-json",
        _scan("--out", "{root}/o", "--attribute", "z=aux:{root}/annotator-broken-json"),
        "not a saved annotator",
    ),
    (
        "saved-annotator-channels",
        _scan("--out", "{root}/o", "--attribute", "z=aux:{root}/annotator-channels"),
        "cannot load the saved annotator",
    ),
    (
        "aux-data-missing",
        _scan("--out", "{root}/o", "--attribute", "z=aux", "--aux-data", "{root}/none.parquet"),
        "no such file",
    ),
    (
        "aux-data-lacks-column",
        _scan("--out", "{root}/o", "--attribute", f"is_zero=aux:{ANNOTATOR}", "--aux-data", "{root}/data.parquet"),
        "no column 'is_zero' (columns: s, y); every other annotator is calibrated on its attribute's column",
    ),
    (
        "aux-data-lacks-aux-column",
        _scan("--out", "{root}/o", "--attribute", "is_zero=aux", "--aux-data", "{root}/data.parquet"),
        "--aux-data: {root}/data.parquet has no column 'is_zero' (columns: s, y); is_zero=aux trains its annotator on that column",
    ),
    (
        "aux-data-not-parquet",
        _scan("--out", "{root}/o", "--attribute", "z=aux", "--aux-data", "{root}/a-file"),
        "expected a .parquet file",
    ),
    (
        "training-data-missing",
        _scan("--out", "{root}/o", "--attribute", f"z=aux:{ANNOTATOR}", "--training-data", "{root}/none.parquet"),
        "no such file",
    ),
    (
        "confidence-above-one",
        _scan("--out", "{root}/o", "--attribute", f"z=aux:{ANNOTATOR}", "--confidence", "1.5"),
        "confidence",
    ),
    (
        "target-width-too-wide",
        _scan("--out", "{root}/o", "--attribute", f"z=aux:{ANNOTATOR}", "--target-width", "0.7"),
        "--target-width must lie strictly between 0 and 0.5",
    ),
    ("target-width-no-attribute", _scan("--out", "{root}/o", "--target-width", "0.05"), "--attribute"),
    (
        "sensitive-not-an-attribute",
        _scan("--out", "{root}/o", "--attribute", f"z=aux:{ANNOTATOR}", "--sensitive", "s"),
        "no --attribute s=SPEC",
    ),
    ("sensitive-no-attribute", _scan("--out", "{root}/o", "--sensitive", "s"), "--attribute"),
    (
        "sensitive-unconditional-without-label",
        _scan("--out", "{root}/o", "--attribute", f"z=aux:{ANNOTATOR}", "--sensitive", "z"),
        "an unconditional model has no classes or prompts to read a label from: annotate it with --attribute NAME=SPEC and --label NAME",
    ),
    ("label-map-garbage", _scan("--out", "{root}/o", "--label-map", "zero:one"), "CLASS=LABEL"),
    (
        "label-map-not-binary",
        _scan("--out", "{root}/o", "--attribute", f"z=aux:{ANNOTATOR}", "--sensitive", "z", "--label-map", "0=2"),
        "0 or 1",
    ),
    (
        "max-dp-gap-negative",
        _scan("--out", "{root}/o", "--attribute", f"z=aux:{ANNOTATOR}", "--sensitive", "z", "--max-dp-gap", "-1"),
        "gap",
    ),
    (
        "reference-missing",
        _scan(
            "--out",
            "{root}/o",
            "--attribute",
            f"z=aux:{ANNOTATOR}",
            "--sensitive",
            "z",
            "--reference",
            "{root}/none.parquet",
        ),
        "no such file",
    ),
    # --- report
    ("report-missing", ["report", "{root}/none.json"], "no report at"),
    ("report-not-json", ["report", "{root}/not-json.json"], "is not a JSON report"),
    ("report-schema", ["report", "{root}/schema-9.json"], "unknown report schema version '9.0'"),
    (
        "report-wrong-types",
        ["report", "{root}/wrong-types.json"],
        "{root}/wrong-types.json: field 'samples' is a whole number, not a list",
    ),
    (
        "report-wrong-types-md",
        ["report", "{root}/wrong-types.json", "--format", "md", "--out", "-"],
        "field 'samples' is a whole number",
    ),
    (
        "report-no-model",
        ["report", "{root}/no-model.json", "--format", "md", "--out", "-"],
        "{root}/no-model.json lacks the field 'model'",
    ),
    (
        "report-null-reference",
        ["report", "{root}/null-reference.json"],
        "null-reference.json: field 'model.reference' is null, not a string",
    ),
    (
        "report-out-is-a-folder",
        ["report", "{root}/good/report.json", "--out", "{root}/empty-folder"],
        "it is a folder",
    ),
    (
        "report-out-under-a-file",
        ["report", "{root}/good/report.json", "--out", "{root}/a-file/r.html"],
        "cannot write",
    ),
    ("report-format-unknown", ["report", "{root}/good/report.json", "--format", "pdf"], "invalid choice: 'pdf'"),
    # --- gold labels: hubaudit label and scan --gold
    (
        "label-attribute-not-in-report",
        ["label", "{root}/good", "--attribute", "is_zero"],
        "has no attribute 'is_zero'",
    ),
    (
        "label-not-a-report-or-store",
        ["label", "{root}/empty-folder", "--attribute", "z", "--values", "a,b"],
        "neither a scan's report.json",
    ),
    (
        "label-n-zero",
        ["label", "{root}/good", "--attribute", "z", "--values", "a,b", "-n", "0"],
        "-n must be at least 1",
    ),
    ("label-report-not-json", ["label", "{root}/not-json.json", "--attribute", "z"], "not-json.json"),
    (
        "gold-missing",
        _scan("--out", "{root}/o", "--attribute", f"z=aux:{ANNOTATOR}", "--gold", "{root}/none.parquet"),
        "no such file",
    ),
    (
        "gold-not-parquet",
        _scan("--out", "{root}/o", "--attribute", f"z=aux:{ANNOTATOR}", "--gold", "{root}/a-file"),
        "not a gold-label file",
    ),
    (
        "gold-with-target-width",
        _scan(
            "--out",
            "{root}/o",
            "--attribute",
            f"z=aux:{ANNOTATOR}",
            "--gold",
            "{root}/a-file",
            "--target-width",
            "0.1",
        ),
        "drop --target-width",
    ),
    ("gold-without-attribute", _scan("--out", "{root}/o", "--gold", "{root}/a-file"), "need an --attribute"),
    # --- poison
    (
        "poison-data-missing",
        [
            "poison",
            "{root}/none.parquet",
            "--sensitive",
            "s",
            "--label",
            "y",
            "--alpha",
            "0.2",
            "--out",
            "{root}/p.parquet",
        ],
        "no such file",
    ),
    (
        "poison-out-not-parquet",
        [
            "poison",
            "{root}/data.parquet",
            "--sensitive",
            "s",
            "--label",
            "y",
            "--alpha",
            "0.2",
            "--out",
            "{root}/p.csv",
        ],
        ".parquet",
    ),
    (
        "poison-out-under-a-file",
        [
            "poison",
            "{root}/data.parquet",
            "--sensitive",
            "s",
            "--label",
            "y",
            "--alpha",
            "0.2",
            "--out",
            "{root}/a-file/p.parquet",
        ],
        "cannot write",
    ),
    (
        "poison-alpha-above-one",
        [
            "poison",
            "{root}/data.parquet",
            "--sensitive",
            "s",
            "--label",
            "y",
            "--alpha",
            "2",
            "--out",
            "{root}/p.parquet",
        ],
        "alpha",
    ),
    (
        "poison-column-missing",
        [
            "poison",
            "{root}/data.parquet",
            "--sensitive",
            "gender",
            "--label",
            "y",
            "--alpha",
            "0.2",
            "--out",
            "{root}/p.parquet",
        ],
        "gender",
    ),
    (
        "poison-n-too-large",
        [
            "poison",
            "{root}/data.parquet",
            "--sensitive",
            "s",
            "--label",
            "y",
            "--alpha",
            "0.2",
            "--n",
            "1000000",
            "--out",
            "{root}/p.parquet",
        ],
        "the subset's size --n must lie in [1, 40] (the records in the data), got 1000000",
    ),
    (
        "poison-method-unknown",
        [
            "poison",
            "{root}/data.parquet",
            "--sensitive",
            "s",
            "--label",
            "y",
            "--alpha",
            "0.2",
            "--method",
            "magic",
            "--out",
            "{root}/p.parquet",
        ],
        "invalid choice: 'magic'",
    ),
    (
        "poison-alpha-missing",
        ["poison", "{root}/data.parquet", "--sensitive", "s", "--label", "y", "--out", "{root}/p.parquet"],
        "--alpha",
    ),
    # --- train
    ("train-data-missing", ["train", "{root}/none.parquet", "--out", "{root}/t", "--quiet"], "no such file"),
    ("train-out-is-a-file", ["train", "{root}/data.parquet", "--out", "{root}/a-file", "--quiet"], "not a folder"),
    (
        "train-image-size-zero",
        ["train", "{root}/data.parquet", "--out", "{root}/t", "--image-size", "0", "--quiet"],
        "image size must be at least 1",
    ),
    (
        "train-steps-zero",
        ["train", "{root}/data.parquet", "--out", "{root}/t", "--steps", "0", "--quiet"],
        "must be positive",
    ),
    (
        "train-widths-garbage",
        ["train", "{root}/data.parquet", "--out", "{root}/t", "--block-out-channels", "3,x"],
        "comma-separated integers",
    ),
    (
        "train-widths-odd",
        ["train", "{root}/data.parquet", "--out", "{root}/t", "--block-out-channels", "12,20", "--quiet"],
        "multiples of 8",
    ),
    (
        "train-class-column-missing",
        ["train", "{root}/data.parquet", "--out", "{root}/t", "--class-column", "digit", "--quiet"],
        "no class column 'digit'",
    ),
    (
        "train-precision-unknown",
        ["train", "{root}/data.parquet", "--out", "{root}/t", "--mixed-precision", "fp8"],
        "invalid choice: 'fp8'",
    ),
    # --- no subcommand
    ("no-command", [], "the following arguments are required: VERB"),
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
    assert fragment.replace("{root}", str(place)) in lines[0], lines[0]
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
        "hubaudit: error: cannot upload to org/model: HF_HUB_OFFLINE is set (unset it, or drop --push-to-hub) (nothing was trained)"
    ]
    assert not out.exists()


@pytest.mark.slow
def test_a_failed_upload_after_training_is_one_line_and_keeps_the_model(place, capsys, monkeypatch):
    def refuse(self, *args, **kwargs):
        raise PermissionError("403 Forbidden: token is read-only")

    monkeypatch.setattr("huggingface_hub.HfApi.create_repo", refuse)
    out = place / "refused-upload"
    code = run_cli(
        [
            "train",
            str(place / "data.parquet"),
            "--out",
            str(out),
            "--steps",
            "2",
            "--image-size",
            "8",
            "--block-out-channels",
            "8,16",
            "--batch-size",
            "4",
            "--push-to-hub",
            "org/model",
            "--quiet",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "cannot upload to org/model: PermissionError: 403 Forbidden" in err and f"saved in {out}" in err
    assert (out / "model_index.json").exists()


def test_an_unwritable_output_names_the_path_asked_for_not_a_temporary_file(place, capsys, monkeypatch):
    def refuse_writing(path, mode="r", *args, **kwargs):  # what a folder without write permission does
        if "w" in mode:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return open(path, mode, *args, **kwargs)

    monkeypatch.setattr("hubaudit.files.open", refuse_writing, raising=False)
    out = place / "unwritable" / "report.md"
    code = run_cli(["report", str(place / "good" / "report.json"), "--format", "md", "--out", str(out)])
    assert code == 2 and capsys.readouterr().err.splitlines() == [
        f"hubaudit: error: cannot write {out}: Permission denied"
    ]


@pytest.mark.slow
def test_library_error_lines_give_way_to_hubaudit_s_one_line(tmp_path):
    """diffusers logs an error when a component has no safetensors file (then loads the pickle one that
    --allow-pickle allows), and the whole load_state_dict error of a LoRA that does not fit: neither shows."""
    import torch
    from safetensors.torch import save_file

    import tiny_models

    pickled = tiny_models.save_pickle_only_ddpm(tmp_path / "pickle-only")
    base = tiny_models.save_pipeline(tiny_models.build_stable_diffusion, tmp_path / "base")
    lora = tmp_path / "lora"
    lora.mkdir()
    layer = "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q"
    save_file(
        {f"{layer}.lora_A.weight": torch.zeros(4, 99), f"{layer}.lora_B.weight": torch.zeros(8, 4)},
        lora / "pytorch_lora_weights.safetensors",
    )
    fast = ["-n", "1", "--batch-size", "1", "--steps", "1"]
    allowed = _cli("scan", str(pickled), "--allow-pickle", *fast, "--quiet", "--out", str(tmp_path / "allowed"))
    assert allowed.returncode == 0 and allowed.stderr == "", allowed.stderr
    for quiet in (["--quiet"], []):
        refused = _cli(
            "scan",
            str(lora),
            "--base",
            str(base),
            "--prompt",
            "a cat",
            *fast,
            *quiet,
            "--out",
            str(tmp_path / "lora-out"),
        )
        lines = refused.stderr.splitlines()
        assert refused.returncode == 2 and len(lines) == 1, refused.stderr
        assert lines[0].startswith(
            "hubaudit: error: lora 'pytorch_lora_weights.safetensors' does not fit the base model: "
        )


def _cli(*words: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "hubaudit.cli", *words],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "HUBAUDIT_DEBUG": ""},
    )


def test_import_hubaudit_reaches_the_api_without_importing_torch():
    script = "import sys, hubaudit; assert 'torch' not in sys.modules; print(callable(hubaudit.api.inspect_model))"
    assert (
        subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout == "True\n"
    )


GROUPS = (
    errors.HubError,
    errors.LoadingError,
    errors.SamplingError,
    errors.StorageError,
    errors.DataError,
    errors.AnnotationError,
    errors.StatisticsError,
    errors.AuditError,
    errors.SharerError,
    errors.ReportError,
    errors.FrontEndError,
)


def test_every_error_belongs_to_a_layer_group_and_is_the_builtin_it_names():
    failures = [
        found
        for found in vars(errors).values()
        if inspect.isclass(found)
        and issubclass(found, errors.HubAuditError)
        and found.__module__ == errors.__name__
        and found is not errors.HubAuditError
        and found not in GROUPS
    ]
    assert len(failures) >= 55
    for failure in failures:
        assert any(issubclass(failure, group) for group in GROUPS), failure
        assert failure.exit_code == 2
        if failure.__name__.startswith("Invalid"):
            assert issubclass(failure, ValueError), failure
    assert issubclass(errors.CannotWrite, OSError) and issubclass(errors.CannotRead, OSError)
    assert issubclass(errors.RepoNotFound, FileNotFoundError) and issubclass(errors.GatedRepo, errors.RepoNotFound)
    gated = errors.GatedRepo("org/model", has_token=False)
    assert gated.repo_id == "org/model" and str(gated) == "'org/model' is gated: set HF_TOKEN to a token with access"
    with pytest.raises(FileNotFoundError, match="no such folder: ./nowhere"):
        raise errors.ModelFolderNotFound("./nowhere")


def test_the_statistics_layer_raises_hubaudit_errors_only():
    with pytest.raises(errors.InvalidStatisticsOption, match="confidence must lie strictly between 0 and 1"):
        validated_confidence(1.5)
    stats = Path(errors.__file__).parent / "stats"
    raised = {
        path.name: re.findall(r"raise (ValueError|TypeError|RuntimeError|KeyError)\(", path.read_text())
        for path in stats.glob("*.py")
    }
    assert not any(raised.values()), raised
