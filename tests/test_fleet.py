"""``hubaudit scan-many``: a fleet of test-Hub models on a local Ray, its summary, resuming, listing, bad input.

olah 0.5.4 does not list models (``/api/models?author=tiny`` answers 200 with an empty body, which
``HfApi.list_models`` cannot decode), so the Hub listing is tested with ``HfApi.list_models`` monkeypatched.
"""

from __future__ import annotations

import csv
import json
import sys
from types import SimpleNamespace

import pytest

from hubaudit import api, fleet
from hubaudit.cli import main
from hubaudit.errors import LocalPathRefused
from report_examples import full_report

ray = pytest.importorskip("ray")

SCAN = ["-n", "2", "--steps", "2", "--batch-size", "2", "--quiet", "--gpus-per-scan", "0"]
GOOD = {
    "tiny/ddpm": ("ddpm", "main"),
    "tiny/ddpm@v1": ("ddpm", "v1"),
    "tiny/ddim": ("ddim", "main"),
    "tiny/ldm": ("ldm", "main"),
    "tiny/score-sde-ve": ("score-sde-ve", "main"),
}
"""Models that scan -> (test-Hub repository, ref) whose sha their report pins."""
BROKEN = {"tiny/pickle-only": "pickle-only weights", "tiny/no-such-model": "repository not found"}
"""Models whose scan fails -> what their row's error says."""


@pytest.fixture(scope="module")
def local_ray(test_hub):
    """One local Ray of 2 CPUs for the module; its workers inherit the test Hub's HF_* variables."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture
def models_file(tmp_path):
    path = tmp_path / "models.txt"
    lines = [
        "# a moderation queue",
        *list(GOOD)[:3],
        "",
        "tiny/pickle-only  # refused",
        *list(GOOD)[3:],
        "tiny/ddpm",
        "tiny/no-such-model",
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def _rows(out) -> list[dict]:
    return json.loads((out / "fleet.json").read_text())


def test_fleet_scans_summarises_and_resumes(test_hub, local_ray, models_file, tmp_path, capsys):
    out = tmp_path / "fleet"
    words = ["scan-many", "--models-file", str(models_file), *SCAN, "--out", str(out)]

    assert main([*words, "--fail-on-error"]) == 2
    printed = capsys.readouterr().out.splitlines()
    order = [
        *list(GOOD)[:3],
        "tiny/pickle-only",
        *list(GOOD)[3:],
        "tiny/no-such-model",
    ]  # file order, the repeat dropped
    rows = _rows(out)
    assert [row["model"] for row in rows] == order
    assert len(printed) == len(order) + 1 and printed[-1].startswith(
        "fleet     7 models: 5 scanned, 0 skipped, 2 error"
    ), printed
    for row in rows:
        if row["model"] in GOOD:
            assert (row["status"], row["kind"], row["findings"], row["error"]) == (
                "scanned",
                "unconditional",
                {},
                None,
            )
            assert row["resolved_sha"] == test_hub.sha(*GOOD[row["model"]])
            report = json.loads((out / row["folder"] / "report.json").read_text())
            assert report["model"]["resolved_sha"] == row["resolved_sha"]
            assert report["store_root"] == str(out / row["folder"] / "samples")
        else:
            assert row["status"] == "error" and row["resolved_sha"] is None
            assert BROKEN[row["model"]] in row["error"] and "\n" not in row["error"]
    assert rows[1]["folder"] == "tiny--ddpm@v1"

    with open(out / "fleet.csv", newline="") as file:
        table = list(csv.DictReader(file))
    assert tuple(table[0]) == fleet.SUMMARY_COLUMNS
    assert [(line["model"], line["status"], line["error"]) for line in table] == [
        (row["model"], row["status"], row["error"] or "") for row in rows
    ]
    assert table[0]["report"] == "tiny--ddpm/report.json" and table[0]["findings"] == "0"
    page = (out / "fleet.html").read_text()
    for model in GOOD:
        assert f'<a href="{fleet.model_folder(model).replace("@", "%40")}/report.html">{model}</a>' in page
        assert (out / fleet.model_folder(model) / "report.html").is_file()
    assert "<td>tiny/pickle-only</td>" in page and "pickle-only weights" in page

    reports = {
        model: out / fleet.model_folder(model) / name for model in GOOD for name in ("report.json", "report.html")
    }
    written = {path: path.stat().st_mtime_ns for path in reports.values()}
    assert main(words) == 0  # the same command again: nothing is rescanned, and errors alone do not fail
    printed = capsys.readouterr().out.splitlines()
    assert printed[-1].startswith("fleet     7 models: 0 scanned, 5 skipped, 2 error"), printed
    again = _rows(out)
    assert [row["status"] for row in again] == ["skipped" if row["model"] in GOOD else "error" for row in rows]
    assert [row["resolved_sha"] for row in again] == [row["resolved_sha"] for row in rows]
    assert {path: path.stat().st_mtime_ns for path in written} == written


def test_scan_many_returns_typed_rows_and_writes_the_summary(test_hub, local_ray, tmp_path):
    seen = []
    rows = api.scan_many(
        ["tiny/ddpm", "tiny/no-such-model", "tiny/ddpm"],
        out_dir=tmp_path,
        n=2,
        steps=2,
        batch_size=2,
        progress=False,
        gpus_per_scan=0,
        on_row=seen.append,
    )
    assert [(row.model, row.status) for row in rows] == [("tiny/ddpm", "scanned"), ("tiny/no-such-model", "error")]
    assert sorted(seen, key=rows.index) == rows and all(isinstance(row, fleet.FleetRow) for row in rows)
    assert _rows(tmp_path) == [row.to_dict() for row in rows]
    assert api.read_report(tmp_path / rows[0].folder).model["resolved_sha"] == rows[0].resolved_sha


def test_scan_many_refuses_what_scan_does_not_take_and_local_folders(tmp_path):
    with pytest.raises(TypeError, match="frobnicate, model"):
        api.scan_many(["tiny/ddpm"], out_dir=tmp_path, frobnicate=1, model="tiny/ddim")
    with pytest.raises(LocalPathRefused):
        api.scan_many([str(tmp_path)], out_dir=tmp_path / "fleet")


def test_a_report_is_current_only_for_the_same_command_and_commit(test_hub, tmp_path):
    kwargs = {"n": 2, "batch_size": 2, "steps": 2, "progress": False, "allow_local": False, "device": "cpu"}
    folder = tmp_path / "tiny--ddpm@v1"
    row = fleet.scan_fleet_model("tiny/ddpm@v1", str(folder), kwargs, scan=api.scan, command=api.scan_command)
    assert isinstance(row, fleet.FleetRow) and row.status == "scanned"
    command = api.scan_command("tiny/ddpm@v1", {**kwargs, "out_dir": str(folder)})
    assert fleet.current_report("tiny/ddpm@v1", folder, kwargs, command=command)["command"] == command
    reseeded = api.scan_command("tiny/ddpm@v1", {**kwargs, "out_dir": str(folder), "seed": 1})
    assert fleet.current_report("tiny/ddpm@v1", folder, kwargs, command=reseeded) is None
    report = json.loads((folder / "report.json").read_text())
    report["model"]["resolved_sha"] = "0" * 40  # as if v1 had moved to another commit since
    (folder / "report.json").write_text(json.dumps(report))
    assert fleet.current_report("tiny/ddpm@v1", folder, kwargs, command=command) is None


def test_the_compared_command_is_the_one_the_scan_records(test_hub, tmp_path):
    """Resuming compares commands: scan_command must give what api.scan writes, for every argument it takes."""
    import hubaudit

    kwargs = {"n": 2, "steps": 2, "batch_size": 2, "progress": False, "seed": 3, "scheduler": "ddim", "classes": None}
    report = hubaudit.scan("tiny/ddpm", out_dir=tmp_path, **kwargs).to_dict()
    assert api.scan_command("tiny/ddpm", {**kwargs, "out_dir": tmp_path}) == report["command"]
    with pytest.raises(TypeError, match="frobnicate"):
        api.scan_command("tiny/ddpm", {"frobnicate": 1})


def test_listing_the_hub_joins_the_models_file(monkeypatch, tmp_path):
    asked = []

    def list_models(self, **criteria):
        asked.append(criteria)
        return [SimpleNamespace(id="tiny/ddim"), SimpleNamespace(id="tiny/ldm")]

    monkeypatch.setattr("huggingface_hub.HfApi.list_models", list_models)
    models_file = tmp_path / "models.txt"
    models_file.write_text("tiny/ddpm\ntiny/ddim\n")
    models = fleet.fleet_models(models_file=models_file, author="tiny", filters=["diffusers"], limit=5)
    assert models == ["tiny/ddpm", "tiny/ddim", "tiny/ldm"]
    assert asked == [{"author": "tiny", "search": None, "filter": ["diffusers"], "limit": 5}]
    assert fleet.fleet_models(search="ddpm") == ["tiny/ddim", "tiny/ldm"] and asked[-1]["search"] == "ddpm"


def test_rows_exit_codes_and_summary_cells(tmp_path):
    report = full_report(tmp_path)
    row = fleet.summary_row("org/model", tmp_path / "org--model", report, "scanned")
    assert row.findings == {"privacy": 1, "fairness": 1}
    assert fleet.FleetRow.from_dict(json.loads(json.dumps(row.to_dict()))) == row  # as fleet.json holds it
    assert row.estimates == {
        "is_zero": {
            "0": pytest.approx({"value": 0.63, "low": 0.60, "high": 0.66}),
            "1": pytest.approx({"value": 0.37, "low": 0.34, "high": 0.40}),
        }
    }
    cells = fleet.summary_cells(row)
    assert cells["findings"] == "2 (privacy 1, fairness 1)"
    assert cells["estimates"] == "is_zero: 0 0.63 [0.60, 0.66], 1 0.37 [0.34, 0.40]"
    failed = fleet.error_row("org/other", tmp_path / "org--other", ValueError("bad\nsecond line"))
    assert failed.error == "ValueError: bad"
    assert fleet.fleet_exit_code([row, failed], fail_on="privacy") == 1
    assert fleet.fleet_exit_code([row, failed], fail_on="any", fail_on_error=True) == 1
    assert fleet.fleet_exit_code([failed], fail_on="any", fail_on_error=True) == 2
    assert fleet.fleet_exit_code([row, failed]) == 0


BAD_INPUT = {
    "no model source": ([], "no models to scan"),
    "models file missing": (["--models-file", "{missing}"], "cannot read"),
    "bad line in the models file": (["--models-file", "{bad}"], "not a model reference: 'not a repo'"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_input_is_one_line_and_exit_code_2(tmp_path, capsys, case):
    words, message = BAD_INPUT[case]
    (tmp_path / "bad.txt").write_text("tiny/ddpm\nnot a repo\n")
    words = [word.format(missing=tmp_path / "missing.txt", bad=tmp_path / "bad.txt") for word in words]
    try:
        code = main(["scan-many", *words, "--out", str(tmp_path / "out")])
    except SystemExit as exit:  # argparse's own errors
        code = exit.code
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("hubaudit: error: ") and err.count("\n") == 1, err
    assert message in err


def test_missing_ray_is_one_line(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    assert main(["scan-many", "--author", "tiny", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err == "hubaudit: error: scan-many needs ray: pip install 'hubaudit[fleet]'\n"
