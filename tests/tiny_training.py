"""What the trainers' tests share: ``hubaudit train`` flags that keep a step to milliseconds, and the resume check
every trainer of :data:`hubaudit.train.TRAINERS` passes."""

from __future__ import annotations

import torch
from diffusers import DiffusionPipeline

from hubaudit.data import LabelledImages
from hubaudit.train import training_run
from hubaudit.train.checkpoints import CHECKPOINTS_DIR

TINY_TRAINING = ["--image-size", "8", "--block-out-channels", "8,16", "--batch-size", "4", "--quiet"]
"""``hubaudit train`` flags that keep a step to milliseconds."""


def unet_weights(folder) -> list[torch.Tensor]:
    """The parameters of the UNet of the pipeline saved in ``folder``, detached copies."""
    return [parameter.detach().clone() for parameter in DiffusionPipeline.from_pretrained(folder).unet.parameters()]


def assert_rerun_resumes_as_an_uninterrupted_run(
    train, data: LabelledImages, tmp_path, monkeypatch, **settings
) -> None:
    """``train`` (a trainer of :data:`hubaudit.train.TRAINERS`) to 4 steps, then rerun to 6: only steps 5-6 run, and the
    shipped UNet equals that of a run straight to 6 steps."""
    train(data, tmp_path / "resumed", steps=4, checkpoint_every=2, **settings)
    assert sorted(folder.name for folder in (tmp_path / "resumed" / CHECKPOINTS_DIR).iterdir()) == [
        "step-00000002",
        "step-00000004",
    ]
    saved_steps = []
    original_save = training_run.save_checkpoint
    monkeypatch.setattr(
        training_run,
        "save_checkpoint",
        lambda *args, **kw: saved_steps.append(kw["step"]) or original_save(*args, **kw),
    )
    train(data, tmp_path / "resumed", steps=6, checkpoint_every=2, **settings)
    assert saved_steps == [6]  # steps 1-4 were not run again
    train(data, tmp_path / "straight", steps=6, checkpoint_every=100, **settings)
    for resumed, straight in zip(unet_weights(tmp_path / "resumed"), unet_weights(tmp_path / "straight"), strict=True):
        torch.testing.assert_close(resumed, straight, rtol=0, atol=0)
