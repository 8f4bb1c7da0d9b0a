"""Every diffusers family on the test Hub scans by ``org/name`` from the CLI and the API, batch-invariantly."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np
import pytest

import hubaudit
from family_models import FAMILIES
from hubaudit.cli import main
from hubaudit.sampling import open_sample_store

N = 3
_FLAGS = {
    "prompts": "--prompt",
    "classes": "--class",
    "steps": "--steps",
    "guidance_scale": "--guidance-scale",
    "height": "--height",
    "width": "--width",
}


def _cli_words(scan: dict) -> list[str]:
    """``hubaudit scan`` flags for a family's ``scan`` keyword arguments."""
    words = []
    for name, value in scan.items():
        for item in value if isinstance(value, list) else [value]:
            words += [_FLAGS[name], str(item)]
    return words


def _images(report: dict) -> list[np.ndarray]:
    return [open_sample_store(samples["store_path"]).load(report["n_per_condition"]) for samples in report["samples"]]


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_family_scans_from_the_hub_and_sample_i_is_the_same_at_batch_1_and_3(test_hub, tmp_path, name, capsys):
    family = FAMILIES[name]
    code = main(
        [
            "scan",
            test_hub.repo(name),
            "-n",
            str(N),
            "--batch-size",
            "1",
            "--quiet",
            "--out",
            str(tmp_path / "cli"),
            *_cli_words(family.scan),
        ]
    )
    assert code == 0, capsys.readouterr().err
    one_at_a_time = json.loads((tmp_path / "cli" / "report.json").read_text())
    batched = hubaudit.scan(
        test_hub.repo(name), n=N, batch_size=N, progress=False, out_dir=tmp_path / "api", **family.scan
    ).to_dict()
    for report in (one_at_a_time, batched):
        assert report["model"]["resolved_sha"] == test_hub.sha(name)
        assert report["model"]["pipeline_class"] == family.pipeline_class
        assert report["model"]["kind"] == family.kind
        assert report["sampler"].get("fixed_batch_size") == family.fixed_batch_size
    assert len(batched["samples"]) == len(family.scan.get("prompts", family.scan.get("classes", [None])))
    for alone, together in zip(_images(one_at_a_time), _images(batched), strict=True):
        assert alone.shape == (N, *family.image_shape) and alone.dtype == np.uint8
        assert np.abs(alone.astype(int) - together).max() <= 1, "sample i depends on the batch it was drawn in"
        assert np.abs(together[0].astype(int) - together[1]).max() > 0  # different indices, different images


def test_guidance_scale_recorded_is_the_pipelines_default_when_none_is_given(test_hub, tmp_path):
    report = hubaudit.scan(
        "tiny/stable-diffusion", prompts=["a cat"], n=1, steps=1, progress=False, out_dir=tmp_path
    ).to_dict()
    assert report["sampler"]["guidance_scale"] == 7.5  # StableDiffusionPipeline.__call__'s default


def test_sd1_safety_checker_is_left_out_by_default_and_recorded(test_hub, tmp_path):
    options = dict(prompts=["a cat"], n=1, steps=1, progress=False)
    removed = hubaudit.scan("tiny/stable-diffusion-safety-checker", out_dir=tmp_path / "a", **options).to_dict()
    kept = hubaudit.scan(
        "tiny/stable-diffusion-safety-checker", keep_safety_checker=True, out_dir=tmp_path / "b", **options
    ).to_dict()
    assert removed["model"]["safety_checker"] == "removed"
    assert kept["model"]["safety_checker"] == "kept"
    assert "--keep-safety-checker" in kept["command"]
    assert (
        hubaudit.scan("tiny/ddpm", n=1, steps=1, progress=False, out_dir=tmp_path / "c").to_dict()["model"][
            "safety_checker"
        ]
        == "absent"
    )


@pytest.mark.parametrize("model", ["tiny/no-such-model", "tiny/classifier", "tiny/remote-code", "tiny/pickle-only"])
def test_refusals_decided_by_the_repository_files_answer_in_under_3_seconds(test_hub, tmp_path, model):
    clock = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "hubaudit.cli", "scan", model, "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    seconds = time.perf_counter() - clock
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert seconds < 3, f"refusal took {seconds:.1f} s"


def _prompt_images(test_hub, tmp_path, model: str, **options) -> tuple[dict, np.ndarray]:
    report = hubaudit.scan(
        model,
        prompts=["a photo of <tiny-face>"],
        n=2,
        steps=2,
        progress=False,
        out_dir=tmp_path / model.replace("/", "-") / str(options.get("lora_scale", "")),
        **options,
    ).to_dict()
    return report, _images(report)[0]


@pytest.mark.slow
def test_lora_repo_is_scanned_as_base_plus_adapter_with_both_shas(test_hub, tmp_path):
    base_report, base = _prompt_images(test_hub, tmp_path, "tiny/stable-diffusion")
    report, lora = _prompt_images(test_hub, tmp_path, "tiny/lora")
    assert report["model"]["resolved_sha"] == test_hub.sha("lora")
    assert report["model"]["base"] == {
        "reference": "tiny/stable-diffusion",
        "resolved_sha": test_hub.sha("stable-diffusion"),
    }
    assert report["model"]["adapter"]["kind"] == "lora" and report["model"]["adapter"]["scale"] == 1.0
    assert np.abs(lora.astype(int) - base).max() > 1  # the adapter changes the images
    _, kohya = _prompt_images(test_hub, tmp_path, "tiny/lora-kohya")
    assert np.abs(kohya.astype(int) - lora).max() <= 1  # same LoRA, kohya layout
    _, off = _prompt_images(test_hub, tmp_path, "tiny/lora", lora_scale=0.0)
    assert np.abs(off.astype(int) - base).max() <= 1
    code = main(
        [
            "scan",
            "tiny/lora",
            "--prompt",
            "a cat",
            "-n",
            "1",
            "--steps",
            "1",
            "--lora-scale",
            "0.5",
            "--quiet",
            "--out",
            str(tmp_path / "cli"),
        ]
    )
    assert code == 0
    assert json.loads((tmp_path / "cli" / "report.json").read_text())["model"]["adapter"]["scale"] == 0.5


@pytest.mark.slow
def test_textual_inversion_and_single_file_repos_scan_on_their_base(test_hub, tmp_path):
    for name, kind in (("textual-inversion", "textual-inversion"), ("single-file", "single-file")):
        report, images = _prompt_images(test_hub, tmp_path, f"tiny/{name}")
        assert report["model"]["adapter"]["kind"] == kind
        assert report["model"]["base"]["resolved_sha"] == test_hub.sha("stable-diffusion")
        assert images.shape == (2, 16, 16, 3)


def test_adapter_without_base_model_asks_for_base(test_hub, tmp_path, capsys):
    import adapter_models

    folder = adapter_models.save_diffusers_lora(tmp_path / "lora")
    (folder / "README.md").unlink()
    code = main(["scan", str(folder), "--prompt", "a cat", "--out", str(tmp_path / "out")])
    assert code == 2 and "pass --base ORG/NAME" in capsys.readouterr().err
    assert (
        main(
            [
                "scan",
                str(folder),
                "--base",
                "tiny/stable-diffusion",
                "--prompt",
                "a cat",
                "-n",
                "1",
                "--steps",
                "1",
                "--quiet",
                "--out",
                str(tmp_path / "out"),
            ]
        )
        == 0
    )
