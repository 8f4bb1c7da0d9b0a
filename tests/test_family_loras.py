"""A LoRA on a transformer family scans as base + adapter from the test Hub where its pipeline has a LoRA loader
(FLUX.2, Qwen-Image, Lumina 2, CogView4, Sana, SD3): at scale 0 it is the base. Where it has none (HunyuanDiT), the
scan is refused in one line. Each LoRA fits the transformer of its family's model the test Hub already serves."""

from __future__ import annotations

import diffusers
import numpy as np
import pytest

import hubaudit
from adapter_models import save_transformer_lora
from family_models import FAMILIES
from hubaudit.cli import main
from hubaudit.sampling import open_sample_store

TRANSFORMER_LORA_FAMILIES = ("cogview4", "flux2", "hunyuan-dit", "lumina2", "qwenimage", "sana", "stable-diffusion-3")
"""The transformer families the issue asks a LoRA of."""


def _has_lora_loader(family: str) -> bool:
    return hasattr(getattr(diffusers, FAMILIES[family].pipeline_class), "load_lora_weights")


def _add_lora(test_hub, tmp_path, family: str) -> str:
    """Serve a LoRA of ``tiny/<family>``'s transformer as ``tiny/lora-<family>``; return its sha."""
    lora = save_transformer_lora(test_hub.local_path(family), test_hub.repo(family), tmp_path / "lora")
    return test_hub.add_repo(f"lora-{family}", lora)


def _images(report) -> np.ndarray:
    samples = report.to_dict()["samples"][0]
    return open_sample_store(samples["store_path"]).load(report.to_dict()["n_per_condition"])


@pytest.mark.slow
@pytest.mark.parametrize("family", [name for name in TRANSFORMER_LORA_FAMILIES if _has_lora_loader(name)])
def test_transformer_lora_scans_on_its_base_and_at_scale_0_gives_the_base(test_hub, tmp_path, family):
    sha = _add_lora(test_hub, tmp_path, family)
    options = dict(n=2, progress=False, **FAMILIES[family].scan)
    base = _images(hubaudit.scan(test_hub.repo(family), out_dir=tmp_path / "base", **options))
    report = hubaudit.scan(test_hub.repo(f"lora-{family}"), out_dir=tmp_path / "lora-scan", **options)
    model = report.to_dict()["model"]
    assert model["resolved_sha"] == sha
    assert model["base"] == {"reference": test_hub.repo(family), "resolved_sha": test_hub.sha(family)}
    assert model["adapter"]["kind"] == "lora" and model["adapter"]["scale"] == 1.0
    assert np.abs(_images(report).astype(int) - base).max() > 1  # the adapter changes the images
    off = _images(hubaudit.scan(test_hub.repo(f"lora-{family}"), lora_scale=0.0, out_dir=tmp_path / "off", **options))
    assert np.abs(off.astype(int) - base).max() <= 1


@pytest.mark.parametrize("family", [name for name in TRANSFORMER_LORA_FAMILIES if not _has_lora_loader(name)])
def test_a_lora_on_a_pipeline_without_a_lora_loader_is_refused_in_one_line(test_hub, tmp_path, capsys, family):
    _add_lora(test_hub, tmp_path, family)
    code = main(["scan", test_hub.repo(f"lora-{family}"), "--prompt", "a cat", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert "cannot load LoRA weights" in err
