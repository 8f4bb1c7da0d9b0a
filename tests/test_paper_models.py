"""The committed models ``benchmarks/paper.py`` runs on (``scripts/build_paper_models.py``): what their cards
promise, and that ``hubaudit scan`` audits each family like any other model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from hubaudit.cli import main

MODELS = Path(__file__).resolve().parents[1] / "benchmarks" / "models"
PAPER = MODELS / "paper"


def card(folder: Path) -> dict:
    return yaml.safe_load((folder / "README.md").read_text().split("---\n")[1])["hubaudit"]


@pytest.mark.parametrize("name", ["clean", "greedy-a0.3", "flip-a0.3"])
def test_guided_models_train_on_the_zoo_subsets_with_a_null_class(name):
    guided, zoo = card(PAPER / "guided-ddpm" / name), card(MODELS / "fpa" / name)
    assert guided["cond_dropout"] == 0.1 and guided["null_class_id"] == 2 and guided["steps"] == zoo["steps"] == 4000
    assert guided["data_sha256"] == zoo["data_sha256"]  # the same poisoned subset as the unguided zoo model
    assert guided["training_statistics"] == zoo["training_statistics"] and guided["poisoning"] == zoo["poisoning"]


@pytest.mark.parametrize("name", ["clean", "greedy-a0.3"])
def test_score_sde_fairness_models_are_unconditional_on_the_zoo_subsets(name):
    folder = PAPER / "score-sde" / "fpa" / name
    model, zoo = card(folder), card(MODELS / "fpa" / name)
    assert json.loads((folder / "model_index.json").read_text())["_class_name"] == "ScoreSdeVePipeline"
    assert (
        model["column_counts"] == zoo["column_counts"] and model["poisoning"] == zoo["poisoning"]
    )  # its hash holds no classes
    assert model["training_statistics"] == zoo["training_statistics"]


@pytest.mark.parametrize("family", ["ncsnv2", "score-sde"])
def test_pia_models_of_other_families_train_on_the_suites_mnist_zeros30(family):
    model = card(PAPER / family / "pia-zeros30")
    assert model["training_share"] == 0.3 and model["n_records"] == 200
    assert model["data_sha256"] == card(MODELS / "pia" / "mnist-zeros30")["data_sha256"]


@pytest.mark.parametrize(
    ("model", "pipeline_class", "flags"),
    [
        ("guided-ddpm/greedy-a0.3", "DDPMPipeline", ["--guidance-scale", "2", "--steps", "4"]),
        ("ncsnv2/pia-zeros30", "NCSNv2Pipeline", ["--steps", "3"]),
        ("score-sde/pia-zeros30", "ScoreSdeVePipeline", ["--steps", "4"]),
    ],
)
def test_scan_audits_every_paper_family(model, pipeline_class, flags, tmp_path):
    assert (
        main(["scan", str(PAPER / model), "-n", "2", "--batch-size", "2", "--out", str(tmp_path), "--quiet", *flags])
        == 0
    )
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["model"]["pipeline_class"] == pipeline_class
    assert report["n_per_condition"] == 2
    if "--guidance-scale" in flags:
        assert (
            report["sampler"]["guidance_scale"] == 2.0 and len(report["samples"]) == 2
        )  # both classes, not the null one


@pytest.mark.parametrize(
    ("model", "steps", "background_percentile", "ink_floor"),
    [
        ("fpa/clean", 50, 1, 0.3),  # shirts: one can fill most of the image, and a dark one peaks near 0.5
        ("paper/guided-ddpm/clean", 50, 1, 0.3),
        ("paper/score-sde/pia-zeros30", 100, 50, 0.5),  # digits: the background is most of the image
    ],
)
def test_models_draw_on_a_black_background_not_blank_or_tinted_images(
    model, steps, background_percentile, ink_floor, tmp_path
):
    import hubaudit

    result = hubaudit.scan(str(MODELS / model), n=4, batch_size=4, steps=steps, out_dir=tmp_path, progress=False)
    images = np.concatenate([samples.store.load(4) for samples in result.sampled.samples]).astype(float) / 255
    background = np.percentile(images.reshape(len(images), -1, images.shape[-1]), background_percentile, axis=1)
    ink = images.max(axis=(1, 2, 3))
    assert background.max() < 0.05, (
        background
    )  # UNets that normalised each channel alone drew grey, blue or white ones
    assert ink.min() > ink_floor, ink  # and blank images
