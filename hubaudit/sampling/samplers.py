"""One interface over pipeline kinds: ``generate(indices, condition) -> uint8 images``.

Every sampler gives sample i the noise of :func:`sample_generator` (seed, condition, i), passed to
the pipeline as a list of per-sample generators, so an image does not depend on the batch
it was drawn in. Pipelines that do not hand those generators to their scheduler
(LDM, DiT) get a deterministic scheduler (DDIM) in place of a stochastic one.
"""

from __future__ import annotations

import inspect

import numpy as np
import torch
from diffusers import DDIMScheduler, DiffusionPipeline, DPMSolverMultistepScheduler
from diffusers.utils.torch_utils import randn_tensor

from hubaudit.errors import InvalidSamplerConfig
from hubaudit.sampling.config import Condition, SamplerConfig
from hubaudit.sampling.noise import sample_generators

#: Schedulers whose ``step`` draws fresh noise.
_STOCHASTIC_SCHEDULERS = {
    "DDPMScheduler",
    "EulerAncestralDiscreteScheduler",
    "KDPM2AncestralDiscreteScheduler",
    "DPMSolverSDEScheduler",
    "LCMScheduler",
    "TCDScheduler",
}
#: Above this many classes, a class-conditional scan must name the classes it wants.
MAX_DEFAULT_CLASSES = 20


def to_uint8(images: np.ndarray) -> np.ndarray:
    """Float images in [0, 1], ``[B, H, W, C]`` -> ``uint8 [B, H, W, C]``."""
    return np.clip(np.rint(np.asarray(images, dtype=np.float32) * 255.0), 0, 255).astype(np.uint8)


class Sampler:
    """Wraps a loaded pipeline; subclasses implement one pipeline kind.

    Args:
        pipeline: a loaded diffusers pipeline, in the config's dtype (moved to ``device`` here).
        config: steps, scheduler swap, guidance, dtype, seed.
        device: where to run.
    """

    kind = "unconditional"
    takes_guidance = False

    def __init__(self, pipeline: DiffusionPipeline, config: SamplerConfig, device: torch.device):
        if config.guidance_scale is not None and not self.takes_guidance:
            raise InvalidSamplerConfig(f"{type(pipeline).__name__} takes no guidance scale (DiT and text-to-image do)")
        self.pipeline = pipeline.to(device)
        self.pipeline.set_progress_bar_config(disable=True)
        self.config = config
        self.device = device
        self.scheduler_note = ""
        self._swap_scheduler()
        call_defaults = inspect.signature(type(pipeline).__call__).parameters
        default_steps = call_defaults.get("num_inference_steps")
        self.num_inference_steps = config.num_inference_steps or (default_steps.default if default_steps else 50)

    def _swap_scheduler(self) -> None:
        scheduler = self.pipeline.scheduler
        if self.config.scheduler == "ddim":
            self.pipeline.scheduler = DDIMScheduler.from_config(scheduler.config)
        elif self.config.scheduler == "dpmsolver++":
            self.pipeline.scheduler = DPMSolverMultistepScheduler.from_config(scheduler.config, algorithm_type="dpmsolver++")

    def _make_deterministic(self) -> None:
        """For pipelines that do not pass per-sample generators to ``scheduler.step``."""
        name = type(self.pipeline.scheduler).__name__
        if name in _STOCHASTIC_SCHEDULERS:
            self.pipeline.scheduler = DDIMScheduler.from_config(self.pipeline.scheduler.config)
            self.scheduler_note = f"{name} replaced by DDIMScheduler: the pipeline draws step noise from a global RNG"

    def default_conditions(self) -> list[Condition]:
        """The conditions a scan covers when the user names none."""
        return [None]

    def check_condition(self, condition: Condition) -> None:
        """Raise :class:`InvalidSamplerConfig` if the pipeline cannot take ``condition``."""
        if condition is not None:
            raise InvalidSamplerConfig(f"{type(self.pipeline).__name__} is unconditional: it takes no class or prompt")

    def generate(self, indices: np.ndarray, condition: Condition = None) -> np.ndarray:
        """Images for sample ``indices`` (int ``[B]``) -> ``uint8 [B, H, W, C]``."""
        self.check_condition(condition)
        generators = sample_generators(self.config.seed, indices, condition)
        with torch.inference_mode():
            images = self._run(generators, condition)
        return to_uint8(images)

    def _run(self, generators: list[torch.Generator], condition: Condition) -> np.ndarray:
        guidance = {} if self.config.guidance_scale is None else {"guidance_scale": self.config.guidance_scale}
        return self.pipeline(
            **self._condition_arguments(condition, len(generators)),
            generator=generators,
            num_inference_steps=self.num_inference_steps,
            output_type="np",
            **guidance,
        ).images

    def _condition_arguments(self, condition: Condition, batch_size: int) -> dict:
        """The pipeline-call arguments that say what to draw and how many."""
        return {"batch_size": batch_size}

    def describe(self) -> dict:
        """What ran, for the report."""
        description = {
            "kind": self.kind,
            "pipeline_class": type(self.pipeline).__name__,
            "scheduler_class": type(self.pipeline.scheduler).__name__,
            "num_inference_steps": self.num_inference_steps,
            "device": str(self.device),
        }
        if self.scheduler_note:
            description["scheduler_note"] = self.scheduler_note
        return description


class LatentSampler(Sampler):
    """Unconditional latent diffusion (``LDMPipeline``)."""

    def __init__(self, pipeline: DiffusionPipeline, config: SamplerConfig, device: torch.device):
        super().__init__(pipeline, config, device)
        self._make_deterministic()


class ScoreSdeSampler(Sampler):
    """Score-SDE / NCSN++ (``ScoreSdeVePipeline``): predictor-corrector, no scheduler swap."""

    def _swap_scheduler(self) -> None:
        if self.config.scheduler is not None:
            raise InvalidSamplerConfig("ScoreSdeVePipeline uses its own predictor-corrector scheduler; drop --scheduler")


class _ClassConditional(Sampler):
    kind = "class-conditional"

    @property
    def num_classes(self) -> int:
        raise NotImplementedError

    def default_conditions(self) -> list[Condition]:
        if self.num_classes > MAX_DEFAULT_CLASSES:
            raise InvalidSamplerConfig(
                f"the model has {self.num_classes} classes: name the ones to scan with --classes"
            )
        return list(range(self.num_classes))

    def check_condition(self, condition: Condition) -> None:
        if not isinstance(condition, int) or not 0 <= condition < self.num_classes:
            raise InvalidSamplerConfig(
                f"class {condition!r} is not a class id of this model (0..{self.num_classes - 1})"
            )


class ClassConditionalUNetSampler(_ClassConditional):
    """A DDPM/DDIM pipeline whose ``UNet2DModel`` has class embeddings.

    diffusers has no pipeline for it, so this runs the ``DDPMPipeline`` loop with ``class_labels``.
    """

    @property
    def num_classes(self) -> int:
        return int(self.pipeline.unet.config.num_class_embeds)

    def _run(self, generators: list[torch.Generator], condition: Condition) -> np.ndarray:
        unet, scheduler = self.pipeline.unet, self.pipeline.scheduler
        size = unet.config.sample_size
        height, width = (size, size) if isinstance(size, int) else size
        shape = (len(generators), unet.config.in_channels, height, width)
        image = randn_tensor(shape, generator=generators, device=self.device, dtype=unet.dtype)
        class_labels = torch.full((len(generators),), int(condition), device=self.device, dtype=torch.long)
        scheduler.set_timesteps(self.num_inference_steps)
        for timestep in scheduler.timesteps:
            model_output = unet(image, timestep, class_labels=class_labels).sample
            image = scheduler.step(model_output, timestep, image, generator=generators).prev_sample
        return (image / 2 + 0.5).clamp(0, 1).permute(0, 2, 3, 1).float().cpu().numpy()


class DiTSampler(_ClassConditional):
    """Class-conditional latent transformers (``DiTPipeline``)."""

    takes_guidance = True

    def __init__(self, pipeline: DiffusionPipeline, config: SamplerConfig, device: torch.device):
        super().__init__(pipeline, config, device)
        self._make_deterministic()

    @property
    def num_classes(self) -> int:
        return int(self.pipeline.transformer.config.num_embeds_ada_norm)

    def default_conditions(self) -> list[Condition]:
        """The classes named in the model's ``id2label``, else every class."""
        labels = getattr(self.pipeline, "labels", None)
        return sorted(set(labels.values())) if labels else super().default_conditions()

    def _condition_arguments(self, condition: Condition, batch_size: int) -> dict:
        return {"class_labels": [int(condition)] * batch_size}


class TextToImageSampler(Sampler):
    """Stable Diffusion family: one prompt per condition."""

    kind = "text-to-image"
    takes_guidance = True

    def default_conditions(self) -> list[Condition]:
        raise InvalidSamplerConfig("a text-to-image model needs at least one --prompt")

    def check_condition(self, condition: Condition) -> None:
        if not isinstance(condition, str) or not condition.strip():
            raise InvalidSamplerConfig("a text-to-image model needs a non-empty prompt")

    def _condition_arguments(self, condition: Condition, batch_size: int) -> dict:
        return {"prompt": [str(condition)] * batch_size}


def build_sampler(pipeline: DiffusionPipeline, config: SamplerConfig, device: torch.device) -> Sampler:
    """The sampler for ``pipeline``'s kind (pipelines with remote code are sampled as unconditional)."""
    name = type(pipeline).__name__
    if name in {"DDPMPipeline", "DDIMPipeline"} and getattr(pipeline.unet.config, "num_class_embeds", None):
        return ClassConditionalUNetSampler(pipeline, config, device)
    samplers = {
        "LDMPipeline": LatentSampler,
        "ScoreSdeVePipeline": ScoreSdeSampler,
        "DiTPipeline": DiTSampler,
        "StableDiffusionPipeline": TextToImageSampler,
        "StableDiffusionXLPipeline": TextToImageSampler,
    }
    return samplers.get(name, Sampler)(pipeline, config, device)
