"""Train a small DDPM (diffusers ``UNet2DModel``) on labelled images and save a ``DDPMPipeline``.

Training runs under ``accelerate`` (one or several GPUs, mixed precision, or the CPU), keeps an
EMA copy of the weights (the copy that is shipped), checkpoints every ``checkpoint_every`` steps and
resumes from the newest checkpoint when rerun. A checkpoint (:mod:`hubaudit.train.checkpoints`) is
safetensors and JSON only: the UNet, the EMA weights, AdamW's state and the fp16 gradient scaler;
nothing is unpickled on resume. Batches, noise and timesteps are drawn from generators seeded by
``(seed, step)``, so a resumed run takes the same steps as an uninterrupted one.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from accelerate import Accelerator
from accelerate.utils import set_seed
from diffusers import DDPMPipeline, DDPMScheduler, UNet2DModel
from diffusers.training_utils import EMAModel
from tqdm.auto import tqdm

from hubaudit.data.labelled import LabelledImages
from hubaudit.errors import TrainingError
from hubaudit.train.checkpoints import latest_checkpoint, load_checkpoint, remove_checkpoints, save_checkpoint
from hubaudit.train.model_card import write_model_card

MIXED_PRECISION_MODES = ("no", "fp16", "bf16")
GRADIENT_CLIP_NORM = 1.0


def train_ddpm(
    data: LabelledImages,
    out_dir: str | Path,
    *,
    class_column: str | None = None,
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
    _check_settings(out_dir, image_size, steps, batch_size, checkpoint_every, mixed_precision, block_out_channels)
    data = data.resized(image_size)
    class_labels = _class_labels(data, class_column)
    num_classes = int(class_labels.max()) + 1 if class_labels is not None else None
    try:
        accelerator = Accelerator(mixed_precision=mixed_precision)
    except ValueError as err:  # accelerate allows one mixed-precision mode per process
        raise TrainingError(f"cannot set up training: {str(err).splitlines()[0]}") from err
    run_settings = {
        "image_size": image_size,
        "channels": int(data.images.shape[-1]),
        "class_column": class_column,
        "num_classes": num_classes,
        "block_out_channels": list(block_out_channels),
        "layers_per_block": layers_per_block,
        "num_train_timesteps": num_train_timesteps,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "ema_decay": ema_decay,
        "seed": seed,
        "num_processes": accelerator.num_processes,
        "data_sha256": _data_fingerprint(data, class_labels),
    }

    set_seed(seed)
    unet = build_unet(
        image_size=image_size,
        channels=run_settings["channels"],
        block_out_channels=block_out_channels,
        layers_per_block=layers_per_block,
        num_classes=num_classes,
    )
    ema = EMAModel(unet.parameters(), decay=ema_decay, model_cls=UNet2DModel, model_config=unet.config)
    optimizer = torch.optim.AdamW(unet.parameters(), lr=learning_rate)
    unet, optimizer = accelerator.prepare(unet, optimizer)
    unwrapped_unet = accelerator.unwrap_model(unet)
    checkpointed = {"unet": unwrapped_unet, "optimizer": optimizer, "ema": ema}

    if not resume:
        remove_checkpoints(out_dir)
    checkpoint = latest_checkpoint(out_dir)
    start_step = load_checkpoint(accelerator, checkpoint, run_settings=run_settings, **checkpointed) if checkpoint else 0
    ema.to(accelerator.device)  # made on the CPU before prepare; loaded on the CPU
    if start_step > steps:
        raise TrainingError(
            f"{checkpoint} is at step {start_step}, past the requested {steps} steps; start over with --no-resume (resume=False in Python)"
        )

    noise_scheduler = DDPMScheduler(num_train_timesteps=num_train_timesteps)
    pixels = torch.from_numpy(data.images.astype(np.float32) / 127.5 - 1.0).permute(0, 3, 1, 2)
    labels = torch.from_numpy(class_labels) if class_labels is not None else None
    bar = tqdm(total=steps, initial=start_step, desc="training DDPM", disable=not progress or not accelerator.is_local_main_process)
    unet.train()
    for step in range(start_step, steps):
        indices = batch_indices(len(data), batch_size * accelerator.num_processes, step=step, seed=seed)
        indices = indices[accelerator.process_index * batch_size : (accelerator.process_index + 1) * batch_size]
        generator = torch.Generator().manual_seed(_step_seed(seed, step, accelerator.process_index))
        clean = pixels[indices]
        noise = torch.randn(clean.shape, generator=generator)
        timesteps = torch.randint(0, num_train_timesteps, (len(indices),), generator=generator)
        noisy = noise_scheduler.add_noise(clean, noise, timesteps)
        step_labels = labels[indices].to(accelerator.device) if labels is not None else None
        predicted = unet(noisy.to(accelerator.device), timesteps.to(accelerator.device), class_labels=step_labels).sample
        loss = F.mse_loss(predicted.float(), noise.to(accelerator.device))
        accelerator.backward(loss)
        accelerator.clip_grad_norm_(unet.parameters(), GRADIENT_CLIP_NORM)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        ema.step(unet.parameters())
        bar.update(1)
        bar.set_postfix(loss=f"{loss.item():.4f}")
        if (step + 1) % checkpoint_every == 0 or step + 1 == steps:
            save_checkpoint(accelerator, out_dir, step=step + 1, run_settings=run_settings, **checkpointed)
    bar.close()

    if accelerator.is_main_process:
        _save_pipeline(unwrapped_unet, ema, out_dir, num_train_timesteps)
        training = {
            "data_source": data.source,
            "n_records": len(data),
            "column_counts": {name: _value_counts(data.column(name)) for name in sorted(data.columns)},
            "steps": steps,
            "ema_weights": True,
            **run_settings,
        }
        write_model_card(out_dir, training=training, extra=model_card)
    accelerator.wait_for_everyone()
    return out_dir


def build_unet(
    *,
    image_size: int,
    channels: int,
    block_out_channels: tuple[int, ...],
    layers_per_block: int,
    num_classes: int | None,
) -> UNet2DModel:
    """A ``UNet2DModel`` of plain ResNet blocks (attention in the mid block), class-conditional if ``num_classes``."""
    levels = len(block_out_channels)
    return UNet2DModel(
        sample_size=image_size,
        in_channels=channels,
        out_channels=channels,
        block_out_channels=tuple(block_out_channels),
        layers_per_block=layers_per_block,
        down_block_types=("DownBlock2D",) * levels,
        up_block_types=("UpBlock2D",) * levels,
        norm_num_groups=math.gcd(32, *block_out_channels),
        num_class_embeds=num_classes,
    )


def batch_indices(n_records: int, batch_size: int, *, step: int, seed: int) -> np.ndarray:
    """Record indices of batch ``step``: consecutive slices of one seeded permutation per epoch, ``int [batch_size]``."""
    positions = np.arange(step * batch_size, (step + 1) * batch_size)
    epochs = positions // n_records
    indices = np.empty(batch_size, dtype=np.int64)
    for epoch in np.unique(epochs):
        in_epoch = epochs == epoch
        indices[in_epoch] = np.random.default_rng([seed, int(epoch)]).permutation(n_records)[positions[in_epoch] % n_records]
    return indices


def _step_seed(seed: int, step: int, process_index: int) -> int:
    """The seed of the noise/timestep generator of one step on one process."""
    return int(np.random.SeedSequence([seed, step, process_index]).generate_state(1, dtype=np.uint64)[0] >> 1)


def _check_settings(
    out_dir: Path,
    image_size: int,
    steps: int,
    batch_size: int,
    checkpoint_every: int,
    mixed_precision: str,
    block_out_channels: tuple[int, ...],
) -> None:
    """Raise :class:`TrainingError` for settings a run cannot start with."""
    if out_dir.exists() and not out_dir.is_dir():
        raise TrainingError(f"output {out_dir} exists and is not a folder")
    if min(steps, batch_size, checkpoint_every) < 1:
        raise TrainingError(f"steps, batch size and checkpoint interval must be positive, got {steps}, {batch_size}, {checkpoint_every}")
    if mixed_precision not in MIXED_PRECISION_MODES:
        raise TrainingError(f"mixed precision must be one of {', '.join(MIXED_PRECISION_MODES)}, got {mixed_precision!r}")
    if not block_out_channels or any(width % 8 for width in block_out_channels):
        raise TrainingError(f"block widths must be multiples of 8, got {tuple(block_out_channels)}")
    factor = 2 ** (len(block_out_channels) - 1)
    if image_size < factor or image_size % factor:
        raise TrainingError(f"image size {image_size} is not divisible by {factor} ({len(block_out_channels)} UNet levels)")


def _class_labels(data: LabelledImages, class_column: str | None) -> np.ndarray | None:
    """The class column as ``int64 [N]`` (non-negative), or ``None`` for an unconditional model."""
    if class_column is None:
        return None
    if class_column not in data.columns:
        raise TrainingError(f"{data.source or 'data'} has no class column {class_column!r} (columns: {', '.join(sorted(data.columns)) or 'none'})")
    labels = data.column(class_column)
    if labels.min() < 0:
        raise TrainingError(f"class column {class_column!r} has negative values; classes must be 0, 1, 2, ...")
    return labels


def _data_fingerprint(data: LabelledImages, class_labels: np.ndarray | None) -> str:
    """SHA-256 of the training images and class labels (a resumed run must see the same data)."""
    digest = hashlib.sha256(np.ascontiguousarray(data.images).tobytes())
    if class_labels is not None:
        digest.update(class_labels.tobytes())
    return digest.hexdigest()


def _value_counts(values: np.ndarray) -> dict[int, int]:
    """Value -> number of records, for the model card."""
    unique, counts = np.unique(values, return_counts=True)
    return {int(value): int(count) for value, count in zip(unique, counts)}


def _save_pipeline(unet: UNet2DModel, ema: EMAModel, out_dir: Path, num_train_timesteps: int) -> None:
    """Save a ``DDPMPipeline`` holding the EMA weights (float32, safetensors) to ``out_dir``."""
    shipped = UNet2DModel.from_config(unet.config)
    ema.copy_to(shipped.parameters())
    pipeline = DDPMPipeline(unet=shipped.float().cpu(), scheduler=DDPMScheduler(num_train_timesteps=num_train_timesteps))
    pipeline.save_pretrained(out_dir, safe_serialization=True)
