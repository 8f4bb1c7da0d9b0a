"""Train a small DDPM (diffusers ``UNet2DModel``) on labelled images and save a ``DDPMPipeline``.

Training runs under ``accelerate`` (one or several GPUs, mixed precision, or the CPU), keeps an
EMA copy of the weights (the copy that is shipped), checkpoints every ``checkpoint_every`` steps and
resumes from the newest checkpoint when rerun. A checkpoint (:mod:`hubaudit.train.checkpoints`) is
safetensors and JSON only: the UNet, the EMA weights, AdamW's state and the fp16 gradient scaler;
nothing is unpickled on resume. Batches, noise, timesteps and dropped class labels are drawn from
generators seeded by ``(seed, step)``, so a resumed run takes the same steps as an uninterrupted one.

With ``cond_dropout`` a class-conditional UNet learns a null class too (its last class id, recorded in
the UNet config under :data:`~hubaudit.sampling.capabilities.GUIDANCE_CONFIG_KEY`): each training
example's class is replaced by it with that probability, so the model can be sampled with
classifier-free guidance.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from diffusers import DDPMPipeline, DDPMScheduler, UNet2DModel

from hubaudit.data.labelled import LabelledImages
from hubaudit.errors import TrainingError
from hubaudit.sampling.capabilities import GUIDANCE_CONFIG_KEY
from hubaudit.train.training_run import TrainingRun, check_run_settings


def train_ddpm(
    data: LabelledImages,
    out_dir: str | Path,
    *,
    class_column: str | None = None,
    cond_dropout: float = 0.0,
    image_size: int = 16,
    steps: int = 4000,
    batch_size: int = 64,
    learning_rate: float = 1e-3,
    ema_decay: float = 0.999,
    seed: int = 0,
    checkpoint_every: int = 500,
    resume: bool = True,
    mixed_precision: str = "no",
    block_out_channels: tuple[int, ...] = (32, 64, 64),
    layers_per_block: int = 1,
    num_train_timesteps: int = 1000,
    model_card: dict | None = None,
    progress: bool = True,
) -> Path:
    """Train a DDPM on ``data`` and save it as a ``DDPMPipeline`` folder ``out_dir``; return ``out_dir``.

    Args:
        data: the training images (resized to ``image_size``; grey or RGB).
        out_dir: the pipeline folder; checkpoints go to ``out_dir/checkpoints``.
        class_column: train a class-conditional UNet (``num_class_embeds`` = max class + 1) on
            this column; ``None`` trains an unconditional one.
        cond_dropout: probability in [0, 1) that a training example's class is replaced by the null
            class (``num_class_embeds`` = max class + 2; the last id is the null class), for
            classifier-free guidance; 0 trains no null class. Needs ``class_column``.
        image_size: side in pixels; must be divisible by ``2 ** (len(block_out_channels) - 1)``.
        steps: total optimizer steps (a resumed run continues up to this count).
        batch_size: images per step and process.
        learning_rate: AdamW learning rate (constant).
        ema_decay: the EMA's maximum decay (diffusers warms it up from 0).
        seed: seeds the initial weights, the batches, the noise and the timesteps.
        checkpoint_every: save a checkpoint every this many steps (and after the last one).
        resume: continue from the newest checkpoint in ``out_dir``; ``False`` deletes them and starts over.
        mixed_precision: ``no``, ``fp16`` or ``bf16`` (for GPUs).
        block_out_channels, layers_per_block: UNet size (plain ResNet blocks, attention in the middle).
        num_train_timesteps: diffusion steps of the saved ``DDPMScheduler``.
        model_card: extra front-matter fields (poisoning method and rate, true training statistics).
        progress: show a tqdm progress bar.

    Raises:
        TrainingError: bad settings, a missing or negative class column, or a checkpoint from another run.
    """
    out_dir = Path(out_dir)
    check_run_settings(out_dir, steps, batch_size, checkpoint_every, mixed_precision)
    check_unet_size(image_size, block_out_channels)
    _check_cond_dropout(cond_dropout, class_column)
    data = data.resized(image_size)
    class_labels = _class_labels(data, class_column)
    num_classes = int(class_labels.max()) + 1 if class_labels is not None else None
    model_settings = {
        "image_size": image_size,
        "channels": int(data.images.shape[-1]),
        "class_column": class_column,
        "num_classes": num_classes,
        "block_out_channels": list(block_out_channels),
        "layers_per_block": layers_per_block,
        "num_train_timesteps": num_train_timesteps,
    }
    if cond_dropout:  # only then: checkpoints of runs without a null class stay resumable
        model_settings["cond_dropout"] = cond_dropout
    null_class_id = num_classes if cond_dropout else None

    def new_unet() -> UNet2DModel:
        return build_unet(
            image_size=image_size,
            channels=model_settings["channels"],
            block_out_channels=block_out_channels,
            layers_per_block=layers_per_block,
            num_classes=num_classes,
            cond_dropout=cond_dropout,
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
        class_labels=class_labels,
    )
    accelerator = run.accelerator

    noise_scheduler = DDPMScheduler(num_train_timesteps=num_train_timesteps)
    pixels = torch.from_numpy(data.images.astype(np.float32) / 127.5 - 1.0).permute(0, 3, 1, 2)
    labels = torch.from_numpy(class_labels) if class_labels is not None else None

    def noise_prediction_loss(indices: np.ndarray, generator: torch.Generator) -> torch.Tensor:
        """The DDPM loss of one batch: MSE between the UNet's prediction and the noise added at a random timestep."""
        clean = pixels[indices]
        noise = torch.randn(clean.shape, generator=generator)
        timesteps = torch.randint(0, num_train_timesteps, (len(indices),), generator=generator)
        noisy = noise_scheduler.add_noise(clean, noise, timesteps)
        step_labels = labels[indices] if labels is not None else None
        if null_class_id is not None:  # drawn after the noise and timesteps: runs without dropout draw as before
            dropped = torch.rand(len(indices), generator=generator) < cond_dropout
            step_labels = torch.where(dropped, null_class_id, step_labels)
        step_labels = step_labels.to(accelerator.device) if step_labels is not None else None
        predicted = run.model(
            noisy.to(accelerator.device), timesteps.to(accelerator.device), class_labels=step_labels
        ).sample
        return F.mse_loss(predicted.float(), noise.to(accelerator.device))

    run.train(
        noise_prediction_loss,
        n_records=len(data),
        start=start_step,
        steps=steps,
        checkpoint_every=checkpoint_every,
        description="training DDPM",
        progress=progress,
    )

    run.save_pipeline(
        DDPMPipeline,
        DDPMScheduler(num_train_timesteps=num_train_timesteps),
        data,
        steps=steps,
        family="DDPM",
        model_card=model_card,
        card_training={"null_class_id": null_class_id} if null_class_id is not None else None,
    )
    return out_dir


CHANNELS_PER_NORM_GROUP = 4
"""Channels in each GroupNorm group of the UNet's narrowest level. With one channel a group (an instance norm), the
last normalisation sets every feature map's spatial mean to the same constant, so the network cannot output an
image-dependent mean per channel: at 16 channels and 16 groups, score-SDE models left their samples' brightness at
the initial noise's (blank or white images) and DDPMs drew tinted backgrounds and lost the class's colour."""


def build_unet(
    *,
    image_size: int,
    channels: int,
    block_out_channels: tuple[int, ...],
    layers_per_block: int,
    num_classes: int | None,
    cond_dropout: float = 0.0,
    time_embedding_type: str = "positional",
) -> UNet2DModel:
    """A ``UNet2DModel`` of plain ResNet blocks (attention in the mid block), class-conditional if ``num_classes``;
    with ``cond_dropout``, one more class embedding (the null class, id ``num_classes``), recorded in its config.
    ``time_embedding_type="fourier"`` embeds log sigma (NCSN++'s) and divides the output by it (score-SDE)."""
    levels = len(block_out_channels)
    unet = UNet2DModel(
        sample_size=image_size,
        in_channels=channels,
        out_channels=channels,
        block_out_channels=tuple(block_out_channels),
        layers_per_block=layers_per_block,
        down_block_types=("DownBlock2D",) * levels,
        up_block_types=("UpBlock2D",) * levels,
        norm_num_groups=math.gcd(*block_out_channels) // CHANNELS_PER_NORM_GROUP,
        num_class_embeds=num_classes + 1 if cond_dropout else num_classes,
        time_embedding_type=time_embedding_type,
    )
    if cond_dropout:
        unet.register_to_config(**{GUIDANCE_CONFIG_KEY: {"null_class_id": num_classes, "cond_dropout": cond_dropout}})
    return unet


def check_unet_size(image_size: int, block_out_channels: tuple[int, ...]) -> None:
    """Raise :class:`TrainingError` for UNet widths or an image size :func:`build_unet` cannot build."""
    if not block_out_channels or any(width % 8 for width in block_out_channels):
        raise TrainingError(f"block widths must be multiples of 8, got {tuple(block_out_channels)}")
    factor = 2 ** (len(block_out_channels) - 1)
    if image_size < factor or image_size % factor:
        raise TrainingError(
            f"image size {image_size} is not divisible by {factor} ({len(block_out_channels)} UNet levels)"
        )


def _check_cond_dropout(cond_dropout: float, class_column: str | None) -> None:
    """Raise :class:`TrainingError` for a dropout outside [0, 1) or one without a class to drop."""
    if not 0 <= cond_dropout < 1:
        raise TrainingError(f"cond dropout must lie in [0, 1), got {cond_dropout}")
    if cond_dropout and class_column is None:
        raise TrainingError(
            f"cond dropout {cond_dropout} needs a class column (--class-column): only class labels can be dropped"
        )


def _class_labels(data: LabelledImages, class_column: str | None) -> np.ndarray | None:
    """The class column as ``int64 [N]`` (non-negative), or ``None`` for an unconditional model."""
    if class_column is None:
        return None
    if class_column not in data.columns:
        raise TrainingError(
            f"{data.source or 'data'} has no class column {class_column!r} (columns: {', '.join(sorted(data.columns)) or 'none'})"
        )
    labels = data.column(class_column)
    if labels.min() < 0:
        raise TrainingError(f"class column {class_column!r} has negative values; classes must be 0, 1, 2, ...")
    return labels
