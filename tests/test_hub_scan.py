"""Scanning models served by the test Hub: every kind, revisions, and every refusal."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import hubaudit
import tiny_models
from hubaudit.cli import main
from hubaudit.hub.pickles import scan_pickle_files
from hubaudit.report import ScanReport
from hubaudit.sampling import open_sample_store
from ports import free_port

SCAN_OPTIONS = {"n": 2, "batch_size": 2, "steps": 2, "progress": False}


def _store_images(report: dict, n: int) -> list[np.ndarray]:
    return [open_sample_store(samples["store_path"]).load(n) for samples in report["samples"]]


def test_scan_returns_the_typed_report_that_report_json_serialises(test_hub, tmp_path):
    report = hubaudit.scan("tiny/ddpm", out_dir=tmp_path, **SCAN_OPTIONS)
    assert isinstance(report, ScanReport) and report.path == tmp_path / "report.json"
    assert report.to_dict() == json.loads(report.path.read_text()) and report.to_json() == report.path.read_text()
    assert ScanReport.from_json(tmp_path) == report  # the sampled model stays on the one scan returned
    assert report.sampled.samples[0].store.load(2).shape[0] == 2 and ScanReport.from_json(tmp_path).sampled is None
    assert [(verdict.kind, verdict.outcome, verdict.settled) for verdict in report.verdicts] == [
        ("privacy", "not tested", False),
        ("fairness", "not tested", False),
    ]


def test_tag_branch_and_commit_pin_the_exact_sha(test_hub, tmp_path):
    for revision in ("v1", "dev", test_hub.sha("ddpm", "v1")):
        report = hubaudit.scan(f"tiny/ddpm@{revision}", out_dir=tmp_path / revision[:8], **SCAN_OPTIONS).to_dict()
        assert report["model"]["resolved_sha"] == test_hub.sha("ddpm", "v1")
    assert test_hub.sha("ddpm", "v1") != test_hub.sha("ddpm")


REFUSALS = {
    "unknown repo": (["tiny/no-such-model"], "repository not found"),
    "unknown revision": (["tiny/ddpm@no-such-branch"], "revision 'no-such-branch' not found"),
    "not diffusers": (["tiny/classifier"], "not a diffusers pipeline"),
    "pickle only": (["tiny/pickle-only"], "pickle-only weights"),
    "remote code": (["tiny/remote-code"], "--trust-remote-code"),
    "unsupported": (
        ["tiny/unsupported"],
        "StableDiffusionUpscalePipeline, which hubaudit cannot sample: its call transforms an input (image)",
    ),
    "unsupported with remote code allowed": (
        ["tiny/unsupported", "--trust-remote-code"],
        "which hubaudit cannot sample",
    ),
    "unknown class": (["tiny/misspelt-class"], "unknown class DDPMPipline (diffusers"),
    "malformed model_index.json": (
        ["tiny/malformed-index"],
        "model_index.json of 'tiny/malformed-index' is not valid JSON (line",
    ),
    "unknown class with remote code allowed": (
        ["tiny/misspelt-class", "--trust-remote-code"],
        "unknown class DDPMPipline",
    ),
    "steps above the scheduler's training steps": (["tiny/ddpm", "--steps", "2000"], "more than the 1000 steps"),
    "size for a pipeline without one": (["tiny/ddpm", "--height", "32"], "takes no height"),
    "scheduler swap on a flow-matching model": (
        ["tiny/stable-diffusion-3", "--prompt", "a cat", "--scheduler", "ddim"],
        "is not a noise-schedule (beta) scheduler",
    ),
    "error raised inside the pipeline": (
        ["tiny/stable-diffusion", "--prompt", "a cat", "--height", "12", "--width", "20"],
        "sampling StableDiffusionPipeline failed: ",
    ),
    "bad reference": (["not a repo"], "not a model reference"),
    "local folder without model_index": (["."], "not a diffusers pipeline"),
    "prompt for an unconditional model": (["tiny/ddpm", "--prompt", "a cat"], "unconditional"),
    "text-to-image without prompt": (["tiny/stable-diffusion"], "give at least one --prompt"),
    "class out of range": (["tiny/ddpm-class-conditional", "--class", "7"], "not a class id"),
    "guidance for an unconditional model": (["tiny/ddpm", "--guidance-scale", "3"], "takes no guidance scale"),
    "scheduler swap on score-SDE": (["tiny/score-sde-ve", "--scheduler", "ddim"], "drop --scheduler"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_bad_input_is_one_line_on_stderr_and_exit_code_2(test_hub, tmp_path, capsys, case):
    words, message = REFUSALS[case]
    code = main(["scan", "-n", "1", "--steps", "1", "--quiet", "--out", str(tmp_path), *words])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("hubaudit: error: ") and err.count("\n") == 1, err
    assert message in err


def test_allow_pickle_loads_pickle_only_weights(test_hub, tmp_path):
    report = hubaudit.scan("tiny/pickle-only", allow_pickle=True, out_dir=tmp_path, **SCAN_OPTIONS).to_dict()
    assert report["model"]["pipeline_class"] == "DDPMPipeline"


def test_trusted_remote_code_pipeline_is_sampled(test_hub, tmp_path):
    report = hubaudit.scan("tiny/remote-code", trust_remote_code=True, out_dir=tmp_path, **SCAN_OPTIONS).to_dict()
    assert report["model"]["pipeline_class"] == "MyPipeline"
    assert report["n_total"] == 2


def test_gated_repo_without_token_says_to_set_hf_token(monkeypatch, tmp_path, capsys):
    import httpx2
    from huggingface_hub import HfApi
    from huggingface_hub.errors import GatedRepoError

    def gated(*args, **kwargs):
        response = httpx2.Response(401, request=httpx2.Request("GET", "http://127.0.0.1/api/models/org/gated"))
        raise GatedRepoError("Access to model org/gated is restricted.", response=response)

    monkeypatch.setattr(HfApi, "model_info", gated)
    monkeypatch.setattr("huggingface_hub.get_token", lambda: None)
    assert main(["scan", "org/gated", "--quiet", "--out", str(tmp_path)]) == 2
    assert "'org/gated' is gated: set HF_TOKEN" in capsys.readouterr().err


def _cli(*args: str, env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "hubaudit.cli", *args]
    return subprocess.run(
        command, capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=300, **kwargs
    )


@pytest.mark.slow
def test_offline_scan_uses_the_cache_and_refuses_uncached_models(test_hub, tmp_path):
    hubaudit.scan("tiny/ddim", out_dir=tmp_path / "online", **SCAN_OPTIONS)
    offline = {"HF_HUB_OFFLINE": "1"}
    cached = _cli(
        "scan", "tiny/ddim", "-n", "3", "--steps", "2", "--quiet", "--out", str(tmp_path / "cached"), env=offline
    )
    assert cached.returncode == 0, cached.stderr
    report = json.loads((tmp_path / "cached" / "report.json").read_text())
    assert report["model"]["offline"] is True
    assert report["model"]["resolved_sha"] == test_hub.sha("ddim")
    uncached = _cli("scan", "tiny/never-downloaded", "--quiet", "--out", str(tmp_path / "uncached"), env=offline)
    assert uncached.returncode == 2
    assert (
        uncached.stderr.strip()
        == "hubaudit: error: cannot reach the Hub and tiny/never-downloaded is not in the local cache"
    )


@pytest.mark.slow
def test_killed_scan_resumes_from_the_store_without_resampling(test_hub, tmp_path):
    args = ["scan", "tiny/ddpm", "-n", "24", "--batch-size", "2", "--steps", "50", "--quiet", "--out", str(tmp_path)]
    process = subprocess.Popen(
        [sys.executable, "-m", "hubaudit.cli", *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and len(list(tmp_path.glob("samples/*/shard-*.parquet"))) < 2:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    kept = len({p.name for p in tmp_path.glob("samples/*/shard-*.parquet")})
    assert 2 <= kept < 12, "the scan should have been killed mid-way"
    resumed = _cli(*args)
    assert resumed.returncode == 0, resumed.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["samples"][0]["reused"] >= 2 * kept
    assert report["samples"][0]["generated"] + report["samples"][0]["reused"] == 24
    fresh = hubaudit.scan(
        "tiny/ddpm", n=24, batch_size=8, steps=50, progress=False, out_dir=tmp_path / "fresh"
    ).to_dict()
    assert np.abs(_store_images(report, 24)[0].astype(int) - _store_images(fresh, 24)[0]).max() <= 1


@pytest.mark.slow
def test_two_processes_produce_the_same_samples_as_one(test_hub, tmp_path):
    torchrun = Path(sys.executable).with_name("torchrun")
    args = ["scan", "tiny/ddpm", "-n", "10", "--batch-size", "3", "--steps", "3", "--quiet"]
    two = subprocess.run(
        [
            str(torchrun),
            "--nproc_per_node",
            "2",
            "--master_port",
            str(free_port()),
            "-m",
            "hubaudit.cli",
            *args,
            "--out",
            str(tmp_path / "two"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert two.returncode == 0, two.stderr[-3000:]
    assert "10 generated, 0 reused" in two.stdout
    shards = list((tmp_path / "two").glob("samples/*/shard-*-r1.parquet"))
    assert shards, "rank 1 wrote no samples"
    sharded = json.loads((tmp_path / "two" / "report.json").read_text())
    single = hubaudit.scan(
        "tiny/ddpm", n=10, batch_size=4, steps=3, progress=False, out_dir=tmp_path / "one"
    ).to_dict()
    assert np.abs(_store_images(sharded, 10)[0].astype(int) - _store_images(single, 10)[0]).max() <= 1


def test_allowed_pickle_weights_are_scanned_first_and_the_verdict_is_reported(test_hub, tmp_path):
    report = hubaudit.scan("tiny/pickle-only", allow_pickle=True, out_dir=tmp_path, **SCAN_OPTIONS).to_dict()
    verdict = report["model"]["pickle_scan"]
    assert verdict["scanner"].startswith("picklescan ") and verdict["verdict"] == "clean"
    assert list(verdict["files"]) == ["unet/diffusion_pytorch_model.bin"]
    assert verdict["files"]["unet/diffusion_pytorch_model.bin"]["dangerous_globals"] == []
    assert "--allow-pickle" in report["command"]


def test_a_pickle_that_runs_code_is_refused_before_loading_even_with_allow_pickle(tmp_path, capsys):
    model = tiny_models.save_pickle_only_ddpm(tmp_path / "model")
    marker = tmp_path / "pwned"
    weights = model / "unet" / "diffusion_pytorch_model.bin"
    weights.write_bytes(tiny_models.code_running_pickle(marker, nested=True))
    code = main(
        ["scan", str(model), "-n", "1", "--steps", "1", "--quiet", "--out", str(tmp_path / "out"), "--allow-pickle"]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert (
        "unet/diffusion_pytorch_model.bin" in err and "imports posix.mkdir" in err and "--allow-pickle=unsafe" in err
    )
    assert not marker.exists() and not (tmp_path / "out" / "samples").exists()
    verdict = scan_pickle_files("m", {"w.bin": weights}, allow_pickle="unsafe")
    assert verdict["verdict"] == "flagged" and verdict["accepted_unsafe"] and not marker.exists()
