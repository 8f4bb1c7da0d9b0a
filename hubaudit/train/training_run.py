"""What every hubaudit trainer shares: accelerate, seeded batches, the EMA, checkpoints and resume, the step loop.

A trainer (:mod:`hubaudit.train.ddpm`, :mod:`hubaudit.train.ncsnv2`, :mod:`hubaudit.train.score_sde`) starts a
:class:`TrainingRun` with its network and settings (:meth:`TrainingRun.start`), hands :meth:`TrainingRun.train` its
loss and saves its pipeline and model card (:meth:`TrainingRun.save_pipeline`). Batches are
consecutive slices of one seeded permutation per epoch, and each step's random draws (noise, noise
levels, dropped labels) come from a generator seeded by ``(seed, step, process)``: a resumed run
takes exactly the steps of an uninterrupted one. Checkpoints are safetensors and JSON only
(:mod:`hubaudit.train.checkpoints`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator
from accelerate.utils import set_seed
from diffusers import DiffusionPipeline, ModelMixin, SchedulerMixin
from diffusers.training_utils import EMAModel
from tqdm.auto import tqdm

from hubaudit.data.labelled import LabelledImages
from hubaudit.errors import TrainingError
from hubaudit.train.checkpoints import latest_checkpoint, load_checkpoint, remove_checkpoints, save_checkpoint
from hubaudit.train.model_card import write_model_card

MIXED_PRECISION_MODES = ("no", "fp16", "bf16")
GRADIENT_CLIP_NORM = 1.0

#: A trainer's loss: (record indices ``int [B]``, this step's generator) -> a scalar tensor to minimise.
LossOfBatch = Callable[[np.ndarray, torch.Generator], torch.Tensor]


def check_run_settings(
    out_dir: Path, steps: int, batch_size: int, checkpoint_every: int, mixed_precision: str
) -> None:
    """Raise :class:`TrainingError` for run settings no trainer can start with."""
    if out_dir.exists() and not out_dir.is_dir():
        raise TrainingError(f"output {out_dir} exists and is not a folder")
    if min(steps, batch_size, checkpoint_every) < 1:
        raise TrainingError(
            f"steps, batch size and checkpoint interval must be positive, got {steps}, {batch_size}, {checkpoint_every}"
        )
    if mixed_precision not in MIXED_PRECISION_MODES:
        raise TrainingError(
            f"mixed precision must be one of {', '.join(MIXED_PRECISION_MODES)}, got {mixed_precision!r}"
        )


def open_accelerator(mixed_precision: str) -> Accelerator:
    """The run's ``Accelerator``; :class:`TrainingError` where accelerate refuses the mode."""
    try:
        return Accelerator(mixed_precision=mixed_precision)
    except ValueError as err:  # accelerate allows one mixed-precision mode per process
        raise TrainingError(f"cannot set up training: {str(err).splitlines()[0]}") from err


def batch_indices(n_records: int, batch_size: int, *, step: int, seed: int) -> np.ndarray:
    """Record indices of batch ``step``: consecutive slices of one seeded permutation per epoch, ``int [batch_size]``."""
    positions = np.arange(step * batch_size, (step + 1) * batch_size)
    epochs = positions // n_records
    indices = np.empty(batch_size, dtype=np.int64)
    for epoch in np.unique(epochs):
        in_epoch = epochs == epoch
        indices[in_epoch] = np.random.default_rng([seed, int(epoch)]).permutation(n_records)[
            positions[in_epoch] % n_records
        ]
    return indices


def step_seed(seed: int, step: int, process_index: int) -> int:
    """The seed of the random draws of one step on one process."""
    return int(np.random.SeedSequence([seed, step, process_index]).generate_state(1, dtype=np.uint64)[0] >> 1)


def shared_run_settings(
    accelerator: Accelerator,
    data: LabelledImages,
    *,
    batch_size: int,
    learning_rate: float,
    ema_decay: float,
    seed: int,
    class_labels: np.ndarray | None = None,
) -> dict:
    """The run settings every trainer records (a resumed run must share them): the optimisation, the processes and
    the data's fingerprint (images and ``class_labels``)."""
    return {
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "ema_decay": ema_decay,
        "seed": seed,
        "num_processes": accelerator.num_processes,
        "data_sha256": data_fingerprint(data, class_labels),
    }


def data_fingerprint(data: LabelledImages, class_labels: np.ndarray | None = None) -> str:
    """SHA-256 of the training images and class labels (a resumed run must see the same data)."""
    digest = hashlib.sha256(np.ascontiguousarray(data.images).tobytes())
    if class_labels is not None:
        digest.update(class_labels.tobytes())
    return digest.hexdigest()


def training_record(data: LabelledImages, *, steps: int, run_settings: dict) -> dict:
    """The model card's ``training`` section: the data, its columns' value counts, the steps and the run settings."""
    return {
        "data_source": data.source,
        "n_records": len(data),
        "column_counts": {name: _value_counts(data.column(name)) for name in sorted(data.columns)},
        "steps": steps,
        "ema_weights": True,
        **run_settings,
    }


def _value_counts(values: np.ndarray) -> dict[int, int]:
    """Value -> number of records, for the model card."""
    unique, counts = np.unique(values, return_counts=True)
    return {int(value): int(count) for value, count in zip(unique, counts)}


@dataclass
class TrainingRun:
    """A network, its optimizer and EMA under accelerate, checkpointed to ``out_dir/checkpoints``.

    Attributes:
        accelerator: the run's accelerator (:func:`open_accelerator`).
        model: the network as accelerate prepared it (wrapped on several GPUs): what the loss calls.
        network: the unwrapped network: what is checkpointed and shipped.
        optimizer: its optimizer, prepared.
        ema: the EMA of its parameters (the weights that are shipped).
        out_dir: the pipeline folder.
        run_settings: what a resumed run must share with the checkpoint (model size, data, batch size, ...).
        batch_size: records per step and process.
        seed: seeds the batches and each step's draws.
    """

    accelerator: Accelerator
    model: torch.nn.Module
    network: ModelMixin
    optimizer: torch.optim.Optimizer
    ema: EMAModel
    out_dir: Path
    run_settings: dict
    batch_size: int
    seed: int

    @classmethod
    def start(
        cls,
        build_network: Callable[[], ModelMixin],
        optimizer_class: type[torch.optim.Optimizer],
        data: LabelledImages,
        *,
        out_dir: Path,
        model_settings: dict,
        steps: int,
        batch_size: int,
        learning_rate: float,
        ema_decay: float,
        seed: int,
        mixed_precision: str,
        resume: bool,
        class_labels: np.ndarray | None = None,
    ) -> tuple[TrainingRun, int]:
        """Open the accelerator, build the network (after seeding with ``seed``), its optimizer and EMA (maximum decay
        ``ema_decay``; diffusers warms it up from 0), and resume; return the run and the step to start at.

        ``model_settings`` are the family's settings a resumed run must share (model size, noise levels, ...); the
        optimisation settings, the processes and the data's fingerprint (images, ``class_labels``) are added to them.
        """
        accelerator = open_accelerator(mixed_precision)
        run_settings = {
            **model_settings,
            **shared_run_settings(
                accelerator,
                data,
                batch_size=batch_size,
                learning_rate=learning_rate,
                ema_decay=ema_decay,
                seed=seed,
                class_labels=class_labels,
            ),
        }
        set_seed(seed)
        network = build_network()
        optimizer = optimizer_class(network.parameters(), lr=learning_rate)
        ema = EMAModel(network.parameters(), decay=ema_decay, model_cls=type(network), model_config=network.config)
        model, optimizer = accelerator.prepare(network, optimizer)
        run = cls(
            accelerator,
            model,
            accelerator.unwrap_model(model),
            optimizer,
            ema,
            out_dir,
            run_settings,
            batch_size,
            seed,
        )
        return run, run.resume(resume=resume, steps=steps)

    def resume(self, *, resume: bool, steps: int) -> int:
        """Restore the newest checkpoint (``resume=False``: delete them all first); return the step to start at.

        Raises:
            TrainingError: the checkpoint is of another run, unreadable, or past ``steps``.
        """
        if not resume:
            remove_checkpoints(self.out_dir)
        checkpoint = latest_checkpoint(self.out_dir)
        start = (
            load_checkpoint(self.accelerator, checkpoint, run_settings=self.run_settings, **self._checkpointed())
            if checkpoint
            else 0
        )
        self.ema.to(self.accelerator.device)  # made on the CPU before prepare; loaded on the CPU
        if start > steps:
            raise TrainingError(
                f"{checkpoint} is at step {start}, past the requested {steps} steps; start over with --no-resume (resume=False in Python)"
            )
        return start

    def train(
        self,
        loss_of_batch: LossOfBatch,
        *,
        n_records: int,
        start: int,
        steps: int,
        checkpoint_every: int,
        description: str,
        progress: bool,
    ) -> None:
        """Steps ``start`` to ``steps``: the optimizer on ``loss_of_batch`` (gradient norm clipped to
        :data:`GRADIENT_CLIP_NORM`), the EMA after each, a checkpoint every ``checkpoint_every`` steps and after the last."""
        accelerator = self.accelerator
        bar = tqdm(
            total=steps, initial=start, desc=description, disable=not progress or not accelerator.is_local_main_process
        )
        self.model.train()
        for step in range(start, steps):
            indices = batch_indices(n_records, self.batch_size * accelerator.num_processes, step=step, seed=self.seed)
            indices = indices[
                accelerator.process_index * self.batch_size : (accelerator.process_index + 1) * self.batch_size
            ]
            loss = loss_of_batch(
                indices, torch.Generator().manual_seed(step_seed(self.seed, step, accelerator.process_index))
            )
            accelerator.backward(loss)
            accelerator.clip_grad_norm_(self.model.parameters(), GRADIENT_CLIP_NORM)
            self.optimizer.step()
            self.optimizer.zero_grad(set_to_none=True)
            self.ema.step(self.model.parameters())
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.4f}")
            if (step + 1) % checkpoint_every == 0 or step + 1 == steps:
                save_checkpoint(
                    accelerator, self.out_dir, step=step + 1, run_settings=self.run_settings, **self._checkpointed()
                )
        bar.close()

    def shipped_network(self) -> ModelMixin:
        """A float32 CPU copy of the network holding the EMA weights: what the saved pipeline ships."""
        shipped = type(self.network).from_config(self.network.config)
        self.ema.copy_to(shipped.parameters())
        return shipped.float().cpu()

    def save_pipeline(
        self,
        pipeline_class: type[DiffusionPipeline],
        scheduler: SchedulerMixin,
        data: LabelledImages,
        *,
        steps: int,
        family: str,
        model_card: dict | None,
        card_training: dict | None = None,
    ) -> None:
        """Save ``pipeline_class(unet=<the EMA network>, scheduler=scheduler)`` as safetensors and JSON in ``out_dir``, with
        a model card naming ``family`` and recording the training (:func:`training_record`, plus ``card_training``) and
        ``model_card`` (main process only; every process waits for it)."""
        if self.accelerator.is_main_process:
            pipeline_class(unet=self.shipped_network(), scheduler=scheduler).save_pretrained(
                self.out_dir, safe_serialization=True
            )
            training = {**training_record(data, steps=steps, run_settings=self.run_settings), **(card_training or {})}
            write_model_card(
                self.out_dir,
                training=training,
                extra=model_card,
                family=family,
                pipeline_class=pipeline_class.__name__,
                network=type(self.network).__name__,
            )
        self.accelerator.wait_for_everyone()

    def _checkpointed(self) -> dict:
        return {"unet": self.network, "optimizer": self.optimizer, "ema": self.ema}
