"""What a scan samples and how: the sampler configuration and the device choice."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

import torch

from hubaudit.errors import InvalidSamplerConfig

SCHEDULERS = ("ddim", "dpmsolver++")
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}

#: A condition: None (unconditional), a class id, or a prompt.
Condition = int | str | None


@dataclass(frozen=True)
class SamplerConfig:
    """Options that change the images, so they key the sample store.

    Attributes:
        num_inference_steps: denoising steps; None uses the pipeline's own default.
        scheduler: None keeps the model's scheduler; ``"ddim"`` or ``"dpmsolver++"`` swaps it.
        guidance_scale: classifier-free guidance for DiT, text-to-image and class-conditional UNets with a null
            class; None uses the default.
        dtype: ``"float32"``, ``"float16"`` or ``"bfloat16"`` (half precision on GPUs only).
        seed: sample i's noise is drawn from (seed, condition, i) alone.
        height: image height in pixels for pipelines whose call takes one; None: the pipeline's default.
        width: image width in pixels, likewise.
    """

    num_inference_steps: int | None = None
    scheduler: str | None = None
    guidance_scale: float | None = None
    dtype: str = "float32"
    seed: int = 0
    height: int | None = None
    width: int | None = None

    def __post_init__(self) -> None:
        if self.num_inference_steps is not None and self.num_inference_steps < 1:
            raise InvalidSamplerConfig(f"steps must be at least 1, got {self.num_inference_steps}")
        if self.scheduler is not None and self.scheduler not in SCHEDULERS:
            raise InvalidSamplerConfig(f"unknown scheduler {self.scheduler!r}; choose from {', '.join(SCHEDULERS)}")
        if self.dtype not in DTYPES:
            raise InvalidSamplerConfig(f"unknown dtype {self.dtype!r}; choose from {', '.join(DTYPES)}")
        for name in ("height", "width"):
            side = getattr(self, name)
            if side is not None and not 8 <= side <= 8192:
                raise InvalidSamplerConfig(f"{name} must be between 8 and 8192 pixels, got {side}")
        if self.seed < 0:
            raise InvalidSamplerConfig(f"seed must be non-negative, got {self.seed}")

    def to_dict(self) -> dict:
        return asdict(self)


def pick_device(requested: str | None = None) -> torch.device:
    """``requested`` if given, else cuda > mps > cpu. Under torchrun or accelerate launch, a CUDA device
    without an index is this process's own GPU, ``cuda:LOCAL_RANK``."""
    if requested:
        try:
            device = torch.device(requested)
        except RuntimeError as err:
            raise InvalidSamplerConfig(f"unknown device {requested!r}") from err
        if device.type == "cuda" and not torch.cuda.is_available():
            raise InvalidSamplerConfig("device cuda requested but no CUDA GPU is available")
        return _own_gpu() if device.type == "cuda" and device.index is None else device
    if torch.cuda.is_available():
        return _own_gpu()
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def pick_dtype(requested: str | None, device: torch.device) -> str:
    """``requested`` if given (half precision refused on the CPU), else float16 on GPUs, float32 on the CPU."""
    if requested is None:
        return "float16" if device.type in {"cuda", "mps"} else "float32"
    if requested not in DTYPES:
        raise InvalidSamplerConfig(f"unknown dtype {requested!r}; choose from {', '.join(DTYPES)}")
    if device.type == "cpu" and requested != "float32":
        raise InvalidSamplerConfig(f"dtype {requested} needs a GPU; use float32 on the CPU")
    return requested


def _own_gpu() -> torch.device:
    """``cuda:LOCAL_RANK`` in a process of a multi-process launch, plain ``cuda`` otherwise."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return torch.device("cuda")
