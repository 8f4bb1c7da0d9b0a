"""What the tests know about one tiny diffusers family: how to save it and how to scan it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Family:
    """A tiny random-weight pipeline of one diffusers family, built as diffusers' own tests build it.

    Attributes:
        name: repository name on the test Hub (``tiny/<name>``).
        pipeline_class: ``_class_name`` its ``model_index.json`` records.
        kind: how hubaudit conditions it: ``unconditional``, ``class-conditional`` or ``text-to-image``.
        save: writes the model into an empty folder (``save_pretrained(safe_serialization=True)``
            plus any hand-built tokenizer files) and returns the folder.
        scan: extra ``hubaudit.scan`` keyword arguments a test scan needs (``prompts``, ``classes``,
            ``steps``, ``guidance_scale``).
        image_shape: ``(height, width, channels)`` of the images a scan stores.
        fixed_batch_size: the batch size hubaudit draws at, where the pipeline couples the samples of a batch
            (a documented exception, reported as ``sampler.fixed_batch_size``); None: any batch size.
    """

    name: str
    pipeline_class: str
    kind: str
    save: Callable[[Path], Path]
    scan: dict = field(default_factory=dict)
    image_shape: tuple[int, int, int] = (16, 16, 3)
    fixed_batch_size: int | None = None
