"""``hubaudit train --family score-sde``: a VE score-SDE saved as a ``ScoreSdeVePipeline`` that diffusers samples and
``hubaudit scan`` audits; resume, refusals, and the sign and scale of the learned score."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import yaml
from diffusers import DiffusionPipeline, ScoreSdeVePipeline

from hubaudit import api
from hubaudit.cli import main
from hubaudit.data import LabelledImages, save_labelled_images
from hubaudit.errors import TrainingError
from hubaudit.train import train_score_sde
from tiny_training import assert_rerun_resumes_as_an_uninterrupted_run

TINY = {"image_size": 8, "batch_size": 4, "block_out_channels": (8, 16), "progress": False}
"""Settings that keep a training step to milliseconds (the 16x16 images resized to 8x8)."""
TINY_FLAGS = [
    "--family",
    "score-sde",
    "--image-size",
    "8",
    "--block-out-channels",
    "8,16",
    "--batch-size",
    "4",
    "--steps",
    "1",
    "--quiet",
]


def test_trained_folder_is_a_score_sde_pipeline_that_diffusers_samples_and_scan_audits(grey_data, tmp_path, capsys):
    out = train_score_sde(grey_data, tmp_path / "model", steps=2, checkpoint_every=2, **TINY)
    assert json.loads((out / "model_index.json").read_text())["_class_name"] == "ScoreSdeVePipeline"
    assert sorted(path.name for path in (out / "unet").iterdir()) == [
        "config.json",
        "diffusion_pytorch_model.safetensors",
    ]
    pipeline = DiffusionPipeline.from_pretrained(out)
    assert isinstance(pipeline, ScoreSdeVePipeline)
    unet, scheduler = pipeline.unet.config, pipeline.scheduler.config
    assert (unet.time_embedding_type, unet.in_channels, unet.sample_size) == ("fourier", 3, 8)  # grey trains as RGB
    flat = grey_data.resized(8).images.reshape(12, -1).astype(np.float64) / 255
    largest = max(np.linalg.norm(a - b) for a in flat for b in flat) * np.sqrt(3)  # three equal channels
    assert (scheduler.sigma_min, scheduler.num_train_timesteps) == (0.01, 2000)
    assert scheduler.sigma_max == pytest.approx(largest, rel=1e-5)
    front_matter = yaml.safe_load((out / "README.md").read_text().split("---\n")[1])
    assert {"score-sde", "diffusers:ScoreSdeVePipeline"} <= set(front_matter["tags"])
    assert front_matter["hubaudit"]["sigma_max"] == pytest.approx(largest, rel=1e-5)

    pipeline.set_progress_bar_config(disable=True)
    images = pipeline(
        batch_size=2, num_inference_steps=2, generator=torch.Generator().manual_seed(0), output_type="np"
    ).images
    assert images.shape == (2, 8, 8, 3) and np.isfinite(images).all()
    assert main(["scan", str(out), "-n", "3", "--steps", "3", "--quiet", "--out", str(tmp_path / "scan")]) == 0
    report = json.loads((tmp_path / "scan" / "report.json").read_text())
    assert report["model"]["pipeline_class"] == "ScoreSdeVePipeline" and report["sampler"]["num_inference_steps"] == 3
    assert report["samples"][0]["generated"] == 3


def test_rerun_resumes_as_an_uninterrupted_run(grey_data, tmp_path, monkeypatch):
    assert_rerun_resumes_as_an_uninterrupted_run(train_score_sde, grey_data, tmp_path, monkeypatch, **TINY)


def test_cli_trains_score_sde_and_refuses_options_of_other_families_in_one_line(grey_data, tmp_path, capsys):
    data = save_labelled_images(grey_data, tmp_path / "grey.parquet")
    assert main(["train", str(data), "--out", str(tmp_path / "model"), *TINY_FLAGS]) == 0
    assert json.loads((tmp_path / "model" / "model_index.json").read_text())["_class_name"] == "ScoreSdeVePipeline"
    capsys.readouterr()
    refusals = {
        ("--class-column", "label"): "--class-column is not an option of --family score-sde",
        ("--ngf", "4"): "--ngf is not an option of --family score-sde",
        ("--image-size", "7"): "image size 7 is not divisible by 2",
    }
    for flags, message in refusals.items():
        assert main(["train", str(data), "--out", str(tmp_path / "refused"), *TINY_FLAGS, *flags]) == 2
        errors = capsys.readouterr().err.strip().splitlines()
        assert len(errors) == 1 and message in errors[0]
    command = [
        "train",
        str(data),
        "--out",
        str(tmp_path / "refused"),
        "--family",
        "ncsnv2",
        "--block-out-channels",
        "8,16",
    ]
    assert main(command) == 2
    assert "--block-out-channels is not an option of --family ncsnv2" in capsys.readouterr().err
    with pytest.raises(TrainingError, match="score-sde training takes no ngf"):
        api.train(data, tmp_path / "refused", family="score-sde", ngf=4)
    assert not (tmp_path / "refused").exists()


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"sigma_min": 0.0}, "must rise from sigma_min > 0 to sigma_max"),
        ({"sigma_min": 2.0, "sigma_max": 1.0}, "got 2 to 1"),
        ({"block_out_channels": (12, 16)}, "multiples of 8"),
        ({"layers_per_block": 0}, "layers per block must be at least 1"),
        ({"steps": 0}, "must be positive"),
    ],
)
def test_bad_settings_are_training_errors(grey_data, tmp_path, settings, message):
    with pytest.raises(TrainingError, match=message):
        train_score_sde(grey_data, tmp_path / "model", **{"steps": 1, **TINY, **settings})


def test_learned_score_on_one_image_points_towards_it_and_denoises_it(tmp_path):
    """On data that is one image x0, the score of x0 + sigma z is -(x - x0) / sigma^2: it points towards x0, and the
    denoised x + sigma^2 s(x, sigma) (Tweedie) lies closer to x0 than x. A wrong sign or scale of the loss's target fails."""
    image = np.zeros((8, 8, 1), np.uint8)
    image[2:6, 3:5] = 255
    data = LabelledImages(np.stack([image] * 4), {}, "one-image")
    settings = {**TINY, "batch_size": 8, "ema_decay": 0.5, "sigma_max": 3.0}
    unet = ScoreSdeVePipeline.from_pretrained(
        train_score_sde(data, tmp_path / "model", steps=120, checkpoint_every=120, **settings)
    ).unet
    clean = torch.from_numpy(image / 255.0).float().permute(2, 0, 1).expand(3, -1, -1)[None]
    generator = torch.Generator().manual_seed(1)
    for sigma in (0.05, 0.2, 1.0):
        noisy = clean + sigma * torch.randn(clean.shape, generator=generator)
        with torch.no_grad():
            score = unet(noisy, torch.tensor([sigma])).sample
        assert torch.nn.functional.cosine_similarity(score.flatten(), (clean - noisy).flatten(), dim=0) > 0.5
        assert torch.dist(noisy + sigma**2 * score, clean) < 0.9 * torch.dist(noisy, clean)
