"""Train a small NCSNv2 score network (Song & Ermon 2020) on labelled images and save an ``NCSNv2Pipeline``.

Denoising score matching (:mod:`hubaudit.train.score_matching`) over a geometric ladder of noise levels, as
ermongroup/ncsnv2's ``anneal_dsm_score_estimation``: each image gets a random level sigma and noise ``z * sigma``, and
the loss is ``sigma^2 / 2 * |s(x + z sigma, sigma) + z / sigma|^2``. Everything else (accelerate, seeded
batches and draws, the EMA that is shipped, safetensors checkpoints and resume) is the DDPM
trainer's (:mod:`hubaudit.train.training_run`). Images are in [0, 1], the reference's default range.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from hubaudit.data.labelled import LabelledImages
from hubaudit.errors import TrainingError
from hubaudit.families.ncsnv2 import NCSNv2Model
from hubaudit.families.ncsnv2_pipeline import (
    AnnealedLangevinScheduler,
    NCSNv2Pipeline,
    geometric_sigmas,
    langevin_step_lr,
)
from hubaudit.train.score_matching import denoising_score_matching_loss, largest_distance, unit_pixels
from hubaudit.train.training_run import TrainingRun, check_run_settings


def train_ncsnv2(
    data: LabelledImages,
    out_dir: str | Path,
    *,
    image_size: int = 16,
    steps: int = 4000,
    batch_size: int = 64,
    learning_rate: float = 1e-3,
    ema_decay: float = 0.999,
    seed: int = 0,
    checkpoint_every: int = 500,
    resume: bool = True,
    mixed_precision: str = "no",
    ngf: int = 16,
    noise_levels: int = 50,
    sigma_begin: float | None = None,
    sigma_end: float = 0.01,
    n_steps_each: int = 5,
    step_lr: float | None = None,
    model_card: dict | None = None,
    progress: bool = True,
) -> Path:
    """Train an NCSNv2 on ``data`` and save it as an ``NCSNv2Pipeline`` folder ``out_dir``; return ``out_dir``.

    Args:
        data: the training images (resized to ``image_size``; grey or RGB); their columns only go to the card.
        out_dir: the pipeline folder; checkpoints go to ``out_dir/checkpoints``.
        image_size: side in pixels, even (the network halves it once).
        steps, batch_size, ema_decay, checkpoint_every, resume, mixed_precision, model_card, progress: as for
            :func:`~hubaudit.train.ddpm.train_ddpm`.
        learning_rate: Adam learning rate (constant).
        seed: seeds the initial weights, the batches, the noise levels and the noise.
        ngf: the network's base width (its deeper stages have twice as many channels).
        noise_levels: L, the levels of the geometric ladder.
        sigma_begin: the largest level; None: the largest Euclidean distance between two training images
            (technique 1 of Song & Ermon 2020), measured on up to 1,000 of them, images in [0, 1].
        sigma_end: the smallest level.
        n_steps_each: the saved sampler's Langevin steps per level.
        step_lr: its step size at ``sigma_end``; None: technique 4 of Song & Ermon 2020 for the trained ladder
            (:func:`~hubaudit.families.ncsnv2_pipeline.langevin_step_lr`).

    Raises:
        TrainingError: bad settings, or a checkpoint from another run.
    """
    out_dir = Path(out_dir)
    check_run_settings(out_dir, steps, batch_size, checkpoint_every, mixed_precision)
    if image_size < 8 or image_size % 2:
        raise TrainingError(f"image size must be even and at least 8 for NCSNv2, got {image_size}")
    if ngf < 1 or noise_levels < 2 or n_steps_each < 1:
        raise TrainingError(
            f"ngf, noise levels and steps per level must be at least 1, 2 and 1, got {ngf}, {noise_levels}, {n_steps_each}"
        )
    data = data.resized(image_size)
    pixels = unit_pixels(data)
    sigma_begin = sigma_begin if sigma_begin is not None else largest_distance(pixels, seed=seed)
    if not 0 < sigma_end < sigma_begin:
        raise TrainingError(
            f"noise levels must fall from sigma_begin to sigma_end > 0, got {sigma_begin:g} to {sigma_end:g}"
        )
    model_settings = {
        "image_size": image_size,
        "channels": int(data.images.shape[-1]),
        "ngf": ngf,
        "noise_levels": noise_levels,
        "sigma_begin": sigma_begin,
        "sigma_end": sigma_end,
    }
    run, start_step = TrainingRun.start(
        lambda: NCSNv2Model(sample_size=image_size, in_channels=model_settings["channels"], ngf=ngf),
        torch.optim.Adam,
        data,
        out_dir=out_dir,
        model_settings=model_settings,
        steps=steps,
        batch_size=batch_size,
        learning_rate=learning_rate,
        ema_decay=ema_decay,
        seed=seed,
        mixed_precision=mixed_precision,
        resume=resume,
    )
    sigmas = geometric_sigmas(sigma_begin, sigma_end, noise_levels)

    def score_matching_loss(indices: np.ndarray, generator: torch.Generator) -> torch.Tensor:
        """Denoising score matching of one batch, each image at a random level of the ladder."""
        levels = torch.randint(0, noise_levels, (len(indices),), generator=generator)
        return denoising_score_matching_loss(
            run.model, pixels[indices], sigmas[levels], generator, run.accelerator.device
        )

    run.train(
        score_matching_loss,
        n_records=len(data),
        start=start_step,
        steps=steps,
        checkpoint_every=checkpoint_every,
        description="training NCSNv2",
        progress=progress,
    )

    scheduler = AnnealedLangevinScheduler(
        num_train_timesteps=noise_levels,
        sigma_begin=sigma_begin,
        sigma_end=sigma_end,
        n_steps_each=n_steps_each,
        step_lr=step_lr
        if step_lr is not None
        else langevin_step_lr(sigma_begin, sigma_end, noise_levels, n_steps_each),
    )
    run.save_pipeline(NCSNv2Pipeline, scheduler, data, steps=steps, family="NCSNv2", model_card=model_card)
    return out_dir
