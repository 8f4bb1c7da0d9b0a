"""Train a small variance-exploding score-SDE model (Song et al. 2021) and save a diffusers ``ScoreSdeVePipeline``.

The network is a ``UNet2DModel`` with NCSN++'s time embedding (``time_embedding_type="fourier"``: Gaussian Fourier
features of log sigma), which divides its output by the sigma it is given as its timestep, so ``unet(x, sigma).sample``
is the score, as ``ScoreSdeVeScheduler`` uses it (its predictor adds ``(sigma_t^2 - sigma_{t-1}^2) * score``). Training
is denoising score matching (:mod:`hubaudit.train.score_matching`) with ``sigma = sigma_min (sigma_max / sigma_min)^t``,
``t ~ U(0, 1)``: log-uniform over the noise levels the VE SDE runs through, weighted by ``sigma^2`` (Song et al.'s
lambda(t)). Everything else (accelerate, seeded batches and draws, the EMA that is shipped, safetensors checkpoints and
resume) is :mod:`hubaudit.train.training_run`'s. Images are in [0, 1] (the pipeline clamps its samples to [0, 1]) and
RGB: diffusers' pipeline draws three-channel noise whatever the UNet takes, so grey images train as three equal channels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from diffusers import ScoreSdeVePipeline, ScoreSdeVeScheduler, UNet2DModel

from hubaudit.data.labelled import LabelledImages
from hubaudit.errors import TrainingError
from hubaudit.train.ddpm import build_unet, check_unet_size
from hubaudit.train.score_matching import denoising_score_matching_loss, largest_distance, unit_pixels
from hubaudit.train.training_run import TrainingRun, check_run_settings

PIPELINE_CHANNELS = 3
"""``ScoreSdeVePipeline`` draws ``[B, 3, H, W]`` noise: the UNet must take three channels."""


def train_score_sde(
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
    block_out_channels: tuple[int, ...] = (16, 32, 32),
    layers_per_block: int = 1,
    sigma_min: float = 0.01,
    sigma_max: float | None = None,
    model_card: dict | None = None,
    progress: bool = True,
) -> Path:
    """Train a VE score-SDE model on ``data`` and save it as a ``ScoreSdeVePipeline`` folder ``out_dir``; return ``out_dir``.

    Args:
        data: the training images (resized to ``image_size``; grey images become three equal channels); their columns
            only go to the card.
        out_dir: the pipeline folder; checkpoints go to ``out_dir/checkpoints``.
        image_size: side in pixels; must be divisible by ``2 ** (len(block_out_channels) - 1)``.
        steps, batch_size, ema_decay, checkpoint_every, resume, mixed_precision, model_card, progress: as for
            :func:`~hubaudit.train.ddpm.train_ddpm`.
        learning_rate: AdamW learning rate (constant).
        seed: seeds the initial weights, the batches, the noise levels and the noise.
        block_out_channels, layers_per_block: UNet size (plain ResNet blocks, attention in the middle).
        sigma_min: the smallest noise level, in pixel units of images in [0, 1].
        sigma_max: the largest; None: the largest Euclidean distance between two training images (Song & Ermon 2020,
            technique 1), measured on up to 1,000 of them.

    The saved ``ScoreSdeVeScheduler`` keeps diffusers' defaults apart from the noise levels: ``num_train_timesteps``
    2000, the pipeline's default number of predictor-corrector steps (each takes two UNet calls; the model is trained
    in continuous time, so ``hubaudit scan --steps N`` samples it at any N up to 2000), ``snr`` 0.15.

    Raises:
        TrainingError: bad settings, or a checkpoint from another run.
    """
    out_dir = Path(out_dir)
    check_run_settings(out_dir, steps, batch_size, checkpoint_every, mixed_precision)
    check_unet_size(image_size, block_out_channels)
    if layers_per_block < 1:
        raise TrainingError(f"layers per block must be at least 1, got {layers_per_block}")
    data = data.resized(image_size)
    pixels = unit_pixels(data).expand(-1, PIPELINE_CHANNELS, -1, -1)  # grey [N, 1, H, W] -> three equal channels
    sigma_max = sigma_max if sigma_max is not None else largest_distance(pixels, seed=seed)
    if not 0 < sigma_min < sigma_max:
        raise TrainingError(
            f"noise levels must rise from sigma_min > 0 to sigma_max (default: the largest distance between two training "
            f"images), got {sigma_min:g} to {sigma_max:g}"
        )
    model_settings = {
        "image_size": image_size,
        "channels": PIPELINE_CHANNELS,
        "block_out_channels": list(block_out_channels),
        "layers_per_block": layers_per_block,
        "sigma_min": sigma_min,
        "sigma_max": sigma_max,
    }

    def new_unet() -> UNet2DModel:
        return build_unet(
            image_size=image_size,
            channels=PIPELINE_CHANNELS,
            block_out_channels=block_out_channels,
            layers_per_block=layers_per_block,
            num_classes=None,
            time_embedding_type="fourier",
        )

    run, start_step = TrainingRun.start(
        new_unet,
        torch.optim.AdamW,
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

    def score_matching_loss(indices: np.ndarray, generator: torch.Generator) -> torch.Tensor:
        """Denoising score matching of one batch, each image at a log-uniform sigma in [sigma_min, sigma_max]."""
        sigmas = sigma_min * (sigma_max / sigma_min) ** torch.rand(len(indices), generator=generator)
        return denoising_score_matching_loss(
            lambda noisy, sigma: run.model(noisy, sigma).sample,
            pixels[indices],
            sigmas,
            generator,
            run.accelerator.device,
        )

    run.train(
        score_matching_loss,
        n_records=len(data),
        start=start_step,
        steps=steps,
        checkpoint_every=checkpoint_every,
        description="training score-SDE",
        progress=progress,
    )

    scheduler = ScoreSdeVeScheduler(sigma_min=sigma_min, sigma_max=sigma_max)
    run.save_pipeline(ScoreSdeVePipeline, scheduler, data, steps=steps, family="score-SDE", model_card=model_card)
    return out_dir
