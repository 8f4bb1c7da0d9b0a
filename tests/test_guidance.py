"""Classifier-free guidance of class-conditional DDPMs: a UNet with a null class (``hubaudit train --cond-dropout``)
is scanned like any class-conditional model, guided by ``--guidance-scale``, batch-invariantly."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from diffusers import DDPMPipeline, DDPMScheduler, DiffusionPipeline

import tiny_models
from hubaudit.api import inspect_model
from hubaudit.cli import main
from hubaudit.data import LabelledImages, save_labelled_images
from hubaudit.errors import InvalidSamplerConfig
from hubaudit.sampling import SamplerConfig, SampleStore, build_sampler, fill_store
from hubaudit.train.ddpm import build_unet
from tiny_training import TINY_TRAINING

CPU = torch.device("cpu")
NULL_CLASS = 3
"""The null class id of the guided test models (classes 0, 1, 2)."""


@pytest.fixture(scope="module")
def guided_folder(tmp_path_factory) -> Path:
    """A random-weight 8x8 RGB DDPM whose UNet has classes 0..2 and the null class 3, as ``train_ddpm`` builds it."""
    torch.manual_seed(0)
    unet = build_unet(
        image_size=8, channels=3, block_out_channels=(8, 16), layers_per_block=1, num_classes=3, cond_dropout=0.1
    )
    folder = tmp_path_factory.mktemp("guided") / "model"
    DDPMPipeline(unet=unet, scheduler=DDPMScheduler()).save_pretrained(folder, safe_serialization=True)
    return folder


@pytest.fixture(scope="module")
def guided_pipeline(guided_folder) -> DiffusionPipeline:
    return DiffusionPipeline.from_pretrained(guided_folder)


def guided_images(pipeline: DiffusionPipeline, indices, guidance_scale: float | None, capabilities=None) -> np.ndarray:
    """Class-0 samples ``indices`` at ``guidance_scale`` (3 DDPM steps, seed 1), ``uint8 [B, 8, 8, 3]``."""
    config = SamplerConfig(num_inference_steps=3, guidance_scale=guidance_scale, seed=1)
    return build_sampler(pipeline, config, CPU, capabilities).generate(np.asarray(indices), 0)


def test_null_class_is_left_out_of_the_classes_and_guidance_defaults_to_one(guided_folder, guided_pipeline):
    info = inspect_model(str(guided_folder))
    assert (info.kind, info.num_classes, info.default_guidance) == ("class-conditional", 3, 1.0)
    sampler = build_sampler(guided_pipeline, SamplerConfig(num_inference_steps=2), CPU)
    assert sampler.default_conditions() == [0, 1, 2]
    assert sampler.describe()["guidance_scale"] == 1.0 and sampler.describe()["null_class_id"] == NULL_CLASS
    with pytest.raises(InvalidSamplerConfig, match="class 3 is this model's null class"):
        sampler.check_condition(NULL_CLASS)


def test_guidance_scale_one_is_the_unguided_conditional_sample(guided_pipeline):
    default = guided_images(guided_pipeline, range(3), None)
    unguided_capabilities = replace(
        build_sampler(guided_pipeline, SamplerConfig(), CPU).capabilities, null_class_id=None
    )
    unguided = guided_images(guided_pipeline, range(3), None, unguided_capabilities)  # the plain class-label loop
    assert np.array_equal(default, unguided) and np.array_equal(
        guided_images(guided_pipeline, range(3), 1.0), unguided
    )
    # The doubled batch at a scale next to 1 gives the conditional pass back: conditional and null halves in order.
    assert np.abs(guided_images(guided_pipeline, range(3), 1 + 1e-6).astype(int) - unguided).max() <= 1
    assert np.abs(guided_images(guided_pipeline, range(3), 3.0).astype(int) - unguided).mean() > 1


def test_guided_sample_does_not_depend_on_the_batch_or_a_resume(guided_pipeline, tmp_path):
    whole = guided_images(guided_pipeline, range(3), 3.0)
    alone = np.concatenate([guided_images(guided_pipeline, [index], 3.0) for index in range(3)])
    assert np.abs(whole.astype(int) - alone).max() <= 1  # the project's batch invariance: the same image within 1/255
    sampler = build_sampler(guided_pipeline, SamplerConfig(num_inference_steps=3, guidance_scale=3.0, seed=1), CPU)
    store = SampleStore(tmp_path, {"run": "guided"})
    fill_store(sampler, store, n=2, condition=0, batch_size=2, progress=False)
    resumed = fill_store(sampler, store, n=5, condition=0, batch_size=3, progress=False)
    assert (resumed.reused, resumed.generated) == (2, 3)
    assert np.abs(store.load(5).astype(int) - guided_images(guided_pipeline, range(5), 3.0)).max() <= 1


@pytest.fixture(scope="module")
def plain_folder(tmp_path_factory) -> Path:
    """A class-conditional DDPM without a null class."""
    return tiny_models.save_pipeline(
        tiny_models.build_ddpm_class_conditional, tmp_path_factory.mktemp("plain") / "model"
    )


@pytest.fixture(scope="module")
def shapes_parquet(tmp_path_factory) -> Path:
    """12 random 8x8 RGB images with a 3-class ``shape`` column, as a Parquet file."""
    images = np.random.default_rng(0).integers(0, 256, (12, 8, 8, 3), dtype=np.uint8)
    data = LabelledImages(images, {"shape": np.arange(12) % 3}, "shapes")
    return save_labelled_images(data, tmp_path_factory.mktemp("data") / "shapes.parquet")


def test_model_trained_with_cond_dropout_scans_with_guidance_from_the_cli(shapes_parquet, tmp_path, capsys):
    model, out = tmp_path / "model", tmp_path / "scan"
    train = [
        "train",
        str(shapes_parquet),
        "--out",
        str(model),
        "--class-column",
        "shape",
        "--cond-dropout",
        "0.1",
        "--steps",
        "2",
    ]
    assert main([*train, *TINY_TRAINING]) == 0
    assert (
        main(
            [
                "scan",
                str(model),
                "--class",
                "0",
                "--guidance-scale",
                "3",
                "-n",
                "2",
                "--steps",
                "2",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    report = json.loads((out / "report.json").read_text())
    assert report["model"]["kind"] == "class-conditional"
    assert (report["sampler"]["guidance_scale"], report["sampler"]["null_class_id"]) == (3.0, NULL_CLASS)
    assert [samples["condition"] for samples in report["samples"]] == [0]
    assert "--guidance-scale 3.0" in report["command"]


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (
            ["train", "{data}", "--out", "{tmp}/m", "--class-column", "shape", "--cond-dropout", "1"],
            r"cond dropout must lie in \[0, 1\), got 1.0",
        ),
        (["train", "{data}", "--out", "{tmp}/m", "--cond-dropout", "0.1"], "cond dropout 0.1 needs a class column"),
        (["scan", "{guided}", "--class", "3", "--out", "{tmp}/o"], "class 3 is this model's null class"),
        (["scan", "{plain}", "--guidance-scale", "3", "--out", "{tmp}/o"], "DDPMPipeline's UNet has no null class"),
    ],
    ids=["dropout-out-of-range", "dropout-without-class-column", "scan-null-class", "guidance-without-null-class"],
)
def test_bad_guidance_input_is_one_error_line_before_any_weight_loads(
    command, message, shapes_parquet, guided_folder, plain_folder, tmp_path, capsys, monkeypatch
):
    monkeypatch.setattr("hubaudit.audit.sampled.load_pipeline", lambda *args, **kw: pytest.fail("weights loaded"))
    paths = {"data": shapes_parquet, "tmp": tmp_path, "guided": guided_folder, "plain": plain_folder}
    assert (
        main([*(word.format(**paths) for word in command), *(TINY_TRAINING if command[0] == "train" else ["--quiet"])])
        == 2
    )
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("hubaudit:")]
    assert len(errors) == 1 and errors[0].startswith("hubaudit: error: ")
    assert re.search(message, errors[0])
