"""Scans over two processes (torchrun on the CPU): with annotators, the fairness signature and sequential
sampling they give the report one process gives, and one process's failure ends both with one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hubaudit.cli import main
from ports import free_port

VOLATILE = {"timings", "store_root"}
"""Report fields that differ between two runs of one scan: timings and where the stores are."""


def _torchrun(args: list[str]) -> subprocess.CompletedProcess:
    torchrun = Path(sys.executable).with_name("torchrun")
    return subprocess.run(
        [str(torchrun), "--nproc_per_node", "2", "--master_port", str(free_port()), "-m", "hubaudit.cli", *args],
        capture_output=True,
        text=True,
        timeout=600,
    )


def _comparable(report: dict, out_dir: Path) -> dict:
    """``report`` without what differs between two runs, its output folder written as ``OUT``."""
    samples = [
        {key: value for key, value in entry.items() if key not in {"store_path", "seconds", "final_batch_size"}}
        for entry in report["samples"]
    ]
    kept = {key: value for key, value in report.items() if key not in VOLATILE} | {"samples": samples}
    return json.loads(json.dumps(kept).replace(str(out_dir), "OUT"))


@pytest.mark.slow
def test_two_processes_with_annotators_fairness_and_a_sequential_stop_report_what_one_does(
    test_hub, tmp_path, colour_annotator
):
    args = [
        "scan",
        test_hub.repo("ddpm-class-conditional"),
        "-n",
        "40",
        "--batch-size",
        "8",
        "--steps",
        "2",
        "--quiet",
        "--attribute",
        f"color=aux:{colour_annotator}",
        "--attribute",
        f"tint=aux:{colour_annotator}",
        "--sensitive",
        "color",
        "--label",
        "tint",
        "--target-width",
        "0.2",
    ]
    two = _torchrun([*args, "--out", str(tmp_path / "two")])
    assert two.returncode == 0, two.stderr[-3000:]
    assert list((tmp_path / "two").glob("samples/*/shard-*-r1.parquet")), "rank 1 wrote no samples"
    assert main([*args, "--out", str(tmp_path / "one")]) == 0
    sharded, single = (json.loads((tmp_path / name / "report.json").read_text()) for name in ("two", "one"))
    assert "sequential" in sharded["properties"]["attributes"][0]["by_condition"][0]
    assert sharded["fairness"]["by_source"]["generated"]["dp_gap"]["value"] == 1.0
    assert _comparable(sharded, tmp_path / "two") == _comparable(single, tmp_path / "one")


@pytest.mark.slow
def test_a_failure_on_the_main_process_ends_both_with_one_line_each(test_hub, tmp_path):
    result = _torchrun(
        [
            "scan",
            test_hub.repo("ddpm"),
            "-n",
            "4",
            "--steps",
            "2",
            "--quiet",
            "--out",
            str(tmp_path),
            "--attribute",
            f"z=aux:{tmp_path / 'no-annotator'}",
        ]
    )
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.startswith("hubaudit: error:")]
    assert len(lines) == 2 and result.stderr.count("hubaudit: error:") == 2, result.stderr[-3000:]  # one each, whole
    assert any("no such annotator folder" in line and "process 0" not in line for line in lines)
    assert any(
        line.startswith("hubaudit: error: process 0 of the scan failed: ") and "no such annotator folder" in line
        for line in lines
    )
    assert not any(
        'File "' in line and "/hubaudit/" in line for line in result.stderr.splitlines()
    )  # torchrun's own may show
