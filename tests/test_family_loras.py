"""A LoRA on a transformer family (Sana, SD3) scans as base + adapter from the test Hub; at scale 0 it is the base."""

from __future__ import annotations

import numpy as np
import pytest

import hubaudit
from families_more import LORA_BASES, save_transformer_lora
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


@pytest.mark.slow
@pytest.mark.parametrize("family", sorted(LORA_BASES))
def test_transformer_lora_is_scanned_on_its_base_and_scale_zero_gives_the_base(test_hub, tmp_path, family):
    test_hub.add_repo(f"lora-{family}", save_transformer_lora(family, tmp_path / "lora"))
    _, base = _scan(test_hub, tmp_path, family)
    report, adapted = _scan(test_hub, tmp_path, f"lora-{family}")
    assert report["model"]["base"] == {"reference": f"tiny/{family}", "resolved_sha": test_hub.sha(family)}
    assert report["model"]["adapter"]["kind"] == "lora" and report["model"]["adapter"]["scale"] == 1.0
    assert np.abs(adapted.astype(int) - base).max() > 1  # the adapter changes the images
    _, off = _scan(test_hub, tmp_path, f"lora-{family}", lora_scale=0.0)
    assert np.abs(off.astype(int) - base).max() <= 1
