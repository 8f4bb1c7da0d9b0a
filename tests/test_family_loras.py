"""A LoRA on a transformer family scans as base + adapter from the test Hub where its pipeline has a LoRA loader (Sana,
SD3): at scale 0 it is the base. Where it has none (HunyuanDiT), the scan is refused in one line."""

from __future__ import annotations

import diffusers
import numpy as np
import pytest

import hubaudit
from families_more import LORA_BASES, save_transformer_lora
from hubaudit.cli import main
from hubaudit.sampling import open_sample_store


def _scan(test_hub, tmp_path, name: str, **options) -> tuple[dict, np.ndarray]:
    """A 2-sample scan of ``tiny/<name>`` (its family's test prompt, steps and size); the report and its images."""
    from family_models import FAMILIES

    scan = FAMILIES[name.removeprefix("lora-")].scan
    report = hubaudit.scan(
        test_hub.repo(name),
        n=2,
        progress=False,
        out_dir=tmp_path / f"{name}-{options.get('lora_scale', '')}",
        **scan,
        **options,
    ).to_dict()
    samples = report["samples"][0]
    return report, open_sample_store(samples["store_path"]).load(report["n_per_condition"])


def _has_lora_loader(family: str) -> bool:
    from family_models import FAMILIES

    return hasattr(getattr(diffusers, FAMILIES[family].pipeline_class), "load_lora_weights")


@pytest.mark.slow
@pytest.mark.parametrize("family", [name for name in sorted(LORA_BASES) if _has_lora_loader(name)])
def test_transformer_lora_is_scanned_on_its_base_and_scale_zero_gives_the_base(test_hub, tmp_path, family):
    test_hub.add_repo(f"lora-{family}", save_transformer_lora(family, tmp_path / "lora"))
    _, base = _scan(test_hub, tmp_path, family)
    report, adapted = _scan(test_hub, tmp_path, f"lora-{family}")
    assert report["model"]["base"] == {"reference": f"tiny/{family}", "resolved_sha": test_hub.sha(family)}
    assert report["model"]["adapter"]["kind"] == "lora" and report["model"]["adapter"]["scale"] == 1.0
    assert np.abs(adapted.astype(int) - base).max() > 1  # the adapter changes the images
    _, off = _scan(test_hub, tmp_path, f"lora-{family}", lora_scale=0.0)
    assert np.abs(off.astype(int) - base).max() <= 1


@pytest.mark.parametrize("family", [name for name in sorted(LORA_BASES) if not _has_lora_loader(name)])
def test_a_lora_on_a_pipeline_without_a_lora_loader_is_refused_in_one_line(test_hub, tmp_path, capsys, family):
    test_hub.add_repo(f"lora-{family}", save_transformer_lora(family, tmp_path / "lora"))
    code = main(["scan", test_hub.repo(f"lora-{family}"), "--prompt", "a cat", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert "cannot load LoRA weights" in err
