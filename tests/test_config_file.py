"""Audit settings in a file: ``hubaudit scan --config FILE`` gives the README's scans as their flags do (flags win over
the file), a bad key or value is one line naming the file, key and line; ``hubaudit config init`` writes a commented
starting file; ``hubaudit scan --from-report`` reruns what a report records."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from hubaudit import api
from hubaudit.cli import main
from hubaudit.declarations import MODEL_KINDS, ScanSettings
from hubaudit.declarations.config_file import read_config

DEMO = Path(__file__).resolve().parents[1] / "hubaudit" / "demo_models"
MODEL, ANNOTATOR = DEMO / "mnist-zeros30", DEMO / "mnist-zero-annotator"
DEMO_SCAN = [
    "-n",
    "6",
    "--batch-size",
    "6",
    "--steps",
    "2",
    "--scheduler",
    "ddim",
    "--quiet",
    "--attribute",
    f"is_zero=aux:{ANNOTATOR}",
]
"""The Makefile's demo scan, small."""

README_SCANS = {
    "properties": (
        [
            "tiny/ddpm",
            "-n",
            "2000",
            "--steps",
            "50",
            "--scheduler",
            "ddim",
            "--attribute",
            "gender=clip",
            "--attribute",
            "eyeglasses=clip",
            "--out",
            "audit/",
        ],
        'model = "tiny/ddpm"\nn = 2000\nsteps = 50\nscheduler = "ddim"\nattributes = ["gender=clip", "eyeglasses=clip"]\n'
        'out_dir = "audit/"\n',
    ),
    "gold labels": (
        [
            "tiny/ddpm",
            "-n",
            "2000",
            "--steps",
            "50",
            "--scheduler",
            "ddim",
            "--attribute",
            "gender=clip",
            "--gold",
            "audit/samples/store.gold-gender.parquet",
        ],
        '# the README\'s prediction-powered scan\nmodel = "tiny/ddpm"\nn = 2000\nsteps = 50\nscheduler = "ddim"\n'
        'attributes = ["gender=clip"]\ngold = ["audit/samples/store.gold-gender.parquet"]\n',
    ),
    "fairness": (
        [
            "tiny/ddpm-class-conditional",
            "--attribute",
            "color=aux",
            "--aux-data",
            "data.parquet",
            "--sensitive",
            "color",
            "--label-map",
            "0=0,1=1",
            "--fail-on",
            "fairness",
        ],
        'model = "tiny/ddpm-class-conditional"\nattributes = ["color=aux"]\naux_data = "data.parquet"\n'
        'sensitive = ["color"]\nlabel_map = { 0 = 0, 1 = 1 }\nfail_on = "fairness"\n',
    ),
}
"""README.md's scans (the model swapped for a test Hub one): their flags, and the same as a config file."""


class _Asked(Exception):
    """Raised by the stand-in scan once it has recorded what the command line asked."""


@pytest.fixture
def asked(monkeypatch):
    """What the command line passes to :func:`hubaudit.api.scan` (the scan itself does not run)."""
    calls = []

    def scan(model, **keywords):
        calls.append({"model": model, **keywords})
        raise _Asked()

    monkeypatch.setattr(api, "scan", scan)
    return calls


def _options(keywords: dict):
    return api.scan_options(**{**keywords, "device": "cpu"})


@pytest.mark.parametrize("scan", sorted(README_SCANS))
def test_a_config_file_gives_the_readme_scans_as_their_flags_do(asked, tmp_path, scan):
    flags, text = README_SCANS[scan]
    (tmp_path / "audit.toml").write_text(text)
    main(["scan", *flags])
    main(["scan", "--config", str(tmp_path / "audit.toml")])
    from_flags, from_file = (_options(call) for call in asked)
    assert from_file.option_table == from_flags.option_table
    assert api.reproduce_command(from_file) == api.reproduce_command(from_flags)


def test_a_flag_wins_over_the_config_file_and_a_repeated_flag_replaces_its_list(asked, tmp_path):
    config = tmp_path / "audit.toml"
    config.write_text('model = "tiny/ddpm"\nn = 8\nsteps = 2\nattributes = ["gender=clip", "smiling=clip"]\n')
    main(["scan", "--config", str(config), "-n", "4", "--attribute", "age=clip", "--quiet"])
    (call,) = asked
    assert (call["model"], call["n"], call["steps"], call["attributes"], call["progress"]) == (
        "tiny/ddpm",
        4,
        2,
        ("age=clip",),
        False,
    )
    main(["scan", "tiny/ddim", "--config", str(config)])
    assert asked[1]["model"] == "tiny/ddim"


BAD_FILES = {
    "unknown key": (
        'model = "tiny/ddpm"\nn = 4\n\natributes = ["gender=clip"]\n',
        "line 4: unknown key 'atributes' (did you mean 'attributes'?)",
    ),
    "wrong type": ('model = "tiny/ddpm"\nn = "many"\n', "line 2: 'n' must be an integer, got 'many'"),
    "wrong type in a list": ('classes = [0, "one"]\n', "line 1: 'classes' must be a list of integers, got [0, 'one']"),
    "not a choice": ('\nscheduler = "euler"\n', 'line 2: \'scheduler\' must be one of "ddim", "dpmsolver++"'),
    "API-only key": ("progress = false\n", "line 1: 'progress' is a keyword of the Python API only"),
    "a table": (
        '[label_map]\n0 = "zero"\n',
        "line 1: 'label_map' must be a table of integers to integers or a string",
    ),
    "not TOML": ("model = tiny/ddpm\n", "not valid TOML: Invalid value (at line 1, column 9)"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_bad_config_file_is_one_line_naming_the_file_key_and_line(tmp_path, capsys, case):
    text, said = BAD_FILES[case]
    config = tmp_path / "audit.toml"
    config.write_text(text)
    assert main(["scan", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"hubaudit: error: {config}") and said in err and err.count("\n") == 1, err


def test_config_init_writes_every_option_with_the_kinds_own_written_out(tmp_path, capsys):
    for kind in (*MODEL_KINDS, None):
        path = tmp_path / f"{kind}.toml"
        assert main(["config", "init", "--out", str(path), *(["--kind", kind] if kind else [])]) == 0
        assert f"hubaudit scan --config {path}" in capsys.readouterr().out
        values = read_config(path, ScanSettings)
        assert values["n"] == 64 and values["model"] == "org/name" and values["attributes"] == ("gender=clip",)
        assert ("prompts" in values) == (kind == "text-to-image") and ("classes" in values) == (
            kind == "class-conditional"
        )
        text = path.read_text()
        assert (
            "# max_dp_gap = 0.1\n" in text
            and "# samples per condition (class or prompt) (default 64)\nn = 64\n" in text
        )
    assert main(["config", "init", "--out", str(tmp_path / "unconditional.toml")]) == 2
    assert "exists already" in capsys.readouterr().err
    assert main(["config", "init", "--out", "-"]) == 0 and capsys.readouterr().out.startswith(
        "# hubaudit scan --config"
    )


def test_from_report_reruns_the_demo_scan_bit_for_bit_from_its_store(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["scan", str(MODEL), *DEMO_SCAN, "--out", str(out)]) == 0
    first = json.loads((out / "report.json").read_text())
    assert first["options"]["n"] == 6 and first["options"]["attributes"] == [f"is_zero=aux:{ANNOTATOR}"]
    assert main(["scan", "--from-report", str(out / "report.json")]) == 0
    again = json.loads((out / "report.json").read_text())
    assert [samples["generated"] for samples in again["samples"]] == [0]  # every sample read from the store
    for key in first:
        if key not in ("timings", "samples"):
            assert again[key] == first[key], key
    strip = ("generated", "reused", "seconds")
    assert [{k: v for k, v in s.items() if k not in strip} for s in again["samples"]] == [
        {k: v for k, v in s.items() if k not in strip} for s in first["samples"]
    ]

    moved = tmp_path / "elsewhere"
    assert main(["scan", "--from-report", str(out / "report.json"), "--out", str(moved), "-n", "3"]) == 0  # flags win
    rerun = json.loads((moved / "report.json").read_text())
    assert rerun["options"] == {**first["options"], "out_dir": str(moved), "n": 3}


def test_from_report_pins_a_hub_model_to_the_commit_it_recorded(test_hub, tmp_path):
    api.scan("tiny/ddpm", n=2, batch_size=2, steps=2, progress=False, out_dir=tmp_path / "first")
    pinned = f"tiny/ddpm@{test_hub.sha('ddpm')}"
    assert api.report_options(tmp_path / "first" / "report.json")["model"] == pinned
    assert (
        main(
            [
                "scan",
                "--from-report",
                str(tmp_path / "first" / "report.json"),
                "--out",
                str(tmp_path / "again"),
                "--quiet",
            ]
        )
        == 0
    )
    again = json.loads((tmp_path / "again" / "report.json").read_text())
    assert again["options"]["model"] == pinned and again["model"]["resolved_sha"] == test_hub.sha("ddpm")
    assert again["command"].startswith(f"hubaudit scan {pinned} -n 2 --batch-size 2 --steps 2")


def test_from_report_refuses_a_local_folder_that_changed_and_a_report_without_options(tmp_path, capsys):
    model = shutil.copytree(MODEL, tmp_path / "model")
    out = tmp_path / "out"
    assert (
        main(["scan", str(model), "-n", "2", "--batch-size", "2", "--steps", "2", "--quiet", "--out", str(out)]) == 0
    )
    (model / "README.md").write_text("edited after the scan\n")
    assert main(["scan", "--from-report", str(out / "report.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{model} has changed since the report was written" in err, err
    report = json.loads((out / "report.json").read_text())
    del report["options"]
    (out / "report.json").write_text(json.dumps({**report, "schema_version": "1.2"}))
    assert main(["scan", "--from-report", str(out / "report.json")]) == 2
    err = capsys.readouterr().err
    assert (
        err.count("\n") == 1
        and "records no options table" in err
        and "rerun its command instead: hubaudit scan" in err
    )


def test_scan_without_a_model_anywhere_is_one_line(tmp_path, capsys):
    (tmp_path / "audit.toml").write_text("n = 4\n")
    with pytest.raises(SystemExit) as exited:
        main(["scan", "--config", str(tmp_path / "audit.toml")])
    err = capsys.readouterr().err
    assert exited.value.code == 2 and err.count("\n") == 1 and "required: MODEL (or model in the --config file" in err


@pytest.mark.parametrize("guide", ["user-guide-cli.md", "user-guide-space.md"])
def test_the_config_files_the_guides_show_are_read_as_they_say(tmp_path, guide):
    text = (Path(__file__).resolve().parents[1] / "docs" / guide).read_text()
    blocks = re.findall(r"```toml\n(.*?)```", text, re.DOTALL)
    assert blocks, f"{guide} shows no config file"
    for number, block in enumerate(blocks):
        (tmp_path / f"{number}.toml").write_text(block)
        values = read_config(tmp_path / f"{number}.toml", ScanSettings)
        api.scan_options(**{**values, "device": "cpu"})  # every value of its declared type, and valid together
