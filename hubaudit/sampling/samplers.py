"""One interface over pipeline kinds: ``generate(indices, condition) -> uint8 images``.

Every sampler gives sample i the noise of :func:`sample_generator` (seed, condition, i), passed to
the pipeline as a list of per-sample generators, so an image does not depend on the batch it was
drawn in. Where a pipeline would still couple the samples of a batch, hubaudit runs its loop
itself: UNets with class embeddings that their pipeline cannot pass, and predictor-corrector
schedulers whose corrector step size is a batch mean (run per sample here). Pipelines that do not
hand their generators to a stochastic scheduler get a deterministic one (DDIM) in its place. A pipeline
that seeds torch's global RNG from one generator per call (GLM-Image's autoregressive prior) couples a
batch however it is called: its samples are drawn one at a time (a batch size fixed at 1).
"""

from __future__ import annotations

import ast
import copy
import inspect
import re
import textwrap
from collections.abc import Mapping
from dataclasses import replace

import numpy as np
import torch
from accelerate.utils.memory import should_reduce_batch_size
from diffusers import DDIMScheduler, DiffusionPipeline, DPMSolverMultistepScheduler
from diffusers.utils.torch_utils import randn_tensor

from hubaudit.errors import HubAuditError, InvalidSamplerConfig, SamplingFailed, first_line
from hubaudit.sampling.capabilities import (
    GUIDANCE_SCHEDULE,
    UNGUIDED_SCALE,
    PipelineCapabilities,
    pipeline_capabilities,
)
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
_SCHEDULER_STEP = re.compile(r"scheduler\.step\(")
RECORDED_CALL_DEFAULTS = (
    "pag_scale",
    "pag_adaptive_scale",
    "prior_guidance_scale",
    "decoder_guidance_scale",
    "prior_num_inference_steps",
)
"""Call parameters besides ``guidance_scale`` and ``num_inference_steps`` that shape every sample (perturbed-attention
guidance, a prior's or a decoder's own guidance and a prior's steps): passed at the call's default and recorded in
``call_options``, so the report says what drew the samples."""
ONE_AT_A_TIME_NOTE = (
    "samples drawn one at a time: the pipeline seeds torch's global RNG from one generator for a whole batch, "
    "so in a batch sample i would depend on the others"
)


def to_uint8(images: np.ndarray) -> np.ndarray:
    """Float images in [0, 1], ``[B, H, W, C]`` -> ``uint8 [B, H, W, C]``."""
    return np.clip(np.rint(np.asarray(images, dtype=np.float32) * 255.0), 0, 255).astype(np.uint8)


def is_out_of_memory(err: BaseException) -> bool:
    """True for a device or host out-of-memory error (the runner halves the batch and retries): accelerate's
    test (CUDA, XPU, MPS, the CPU allocator, cuDNN), plus torch's own ``OutOfMemoryError`` whatever its text."""
    return isinstance(err, torch.OutOfMemoryError) or (isinstance(err, Exception) and should_reduce_batch_size(err))


class Sampler:
    """Draws samples by calling the pipeline with per-sample generators.

    Args:
        pipeline: a loaded diffusers pipeline, in the config's dtype (moved to ``device`` here).
        config: steps, scheduler swap, guidance, dtype, seed.
        device: where to run.
        capabilities: how to drive the pipeline (:func:`pipeline_capabilities`).
    """

    def __init__(
        self,
        pipeline: DiffusionPipeline,
        config: SamplerConfig,
        device: torch.device,
        capabilities: PipelineCapabilities,
    ):
        capabilities.check_settings(config)
        self.capabilities = capabilities
        self.pipeline = pipeline.to(device)
        self.pipeline.set_progress_bar_config(disable=True)
        if device.type == "cuda" and isinstance(getattr(pipeline, "unet", None), torch.nn.Module):
            pipeline.unet.to(memory_format=torch.channels_last)  # faster convolutions on tensor cores; same images
        self.config = config
        self.device = device
        self.scheduler_note = ""
        self.compiled = False
        self.model_scheduler = pipeline.scheduler
        """The scheduler the model ships, before any swap (what :meth:`with_model_scheduler` restores)."""
        self._swap_scheduler()
        if not _passes_generator_to_scheduler(type(pipeline)):
            self._make_deterministic()
        self.one_at_a_time = _seeds_global_rng(type(pipeline))
        """Draw each sample alone (a batch size fixed at 1): the pipeline couples the samples of a batch."""
        self.num_inference_steps = config.num_inference_steps or capabilities.default_steps or 50
        describe_steps = getattr(self.pipeline.scheduler, "describe_steps", None)
        if (
            describe_steps is not None
        ):  # a scheduler that says what its steps are (hubaudit's annealed Langevin dynamics)
            self.scheduler_note = describe_steps(self.num_inference_steps)
        # Resolution binning would snap the requested size to the nearest trained aspect-ratio bin;
        # caption cleaning rewrites prompts only where beautifulsoup4 and ftfy happen to be installed.
        self.call_options = {
            option: False
            for option in ("use_resolution_binning", "clean_caption")
            if option in capabilities.parameters
        }
        self.call_options |= {name: getattr(config, name) for name in ("height", "width") if getattr(config, name)}
        self.call_options |= _call_defaults(type(pipeline), RECORDED_CALL_DEFAULTS)
        if config.guidance_scale is not None and GUIDANCE_SCHEDULE in capabilities.parameters:
            self.call_options[GUIDANCE_SCHEDULE] = None  # the scale asked for, at every step, replaces the schedule
        if "max_area" in capabilities.parameters and config.height and config.width:
            # FLUX Kontext rescales any size to its max_area (1024^2 pixels by default): keep the asked one
            self.call_options["max_area"] = config.height * config.width
        if "true_cfg_scale" in capabilities.parameters:
            # true classifier-free guidance needs a negative prompt, which a scan never gives: recorded as off
            self.call_options["true_cfg_scale"] = 1.0

    @property
    def kind(self) -> str:
        return self.capabilities.kind

    def compile(self) -> None:
        """``torch.compile`` the denoiser (UNet or transformer): slower first batch, faster after it."""
        for name in ("unet", "transformer"):
            module = getattr(self.pipeline, name, None)
            if isinstance(module, torch.nn.Module):
                setattr(self.pipeline, name, torch.compile(module))
        self.compiled = True

    def with_model_scheduler(self) -> Sampler:
        """A sampler over the same weights with the model's own scheduler at its default steps (no swap)."""
        pipeline = type(self.pipeline)(
            **{**self.pipeline.components, "scheduler": copy.deepcopy(self.model_scheduler)}
        )
        config = replace(self.config, scheduler=None, num_inference_steps=None)
        return build_sampler(pipeline, config, self.device, self.capabilities)

    def _swap_scheduler(self) -> None:
        if self.config.scheduler is None:
            return
        scheduler = self.pipeline.scheduler
        if "beta_start" not in scheduler.config:
            raise InvalidSamplerConfig(
                f"{type(scheduler).__name__} is not a noise-schedule (beta) scheduler: --scheduler "
                f"{self.config.scheduler} cannot replace it; drop --scheduler"
            )
        if self.config.scheduler == "ddim":
            self.pipeline.scheduler = DDIMScheduler.from_config(scheduler.config)
        elif self.config.scheduler == "dpmsolver++":
            self.pipeline.scheduler = DPMSolverMultistepScheduler.from_config(
                scheduler.config, algorithm_type="dpmsolver++"
            )

    def _make_deterministic(self) -> None:
        """For pipelines that do not pass per-sample generators to ``scheduler.step``."""
        name = type(self.pipeline.scheduler).__name__
        if name in _STOCHASTIC_SCHEDULERS:
            self.pipeline.scheduler = DDIMScheduler.from_config(self.pipeline.scheduler.config)
            self.scheduler_note = f"{name} replaced by DDIMScheduler: the pipeline draws step noise from a global RNG"

    def default_conditions(self) -> list[Condition]:
        """The conditions a scan covers when the user names none."""
        return self.capabilities.default_conditions()

    def check_condition(self, condition: Condition) -> None:
        """Raise :class:`InvalidSamplerConfig` if the pipeline cannot take ``condition``."""
        self.capabilities.check_condition(condition)

    def generate(self, indices: np.ndarray, condition: Condition = None) -> np.ndarray:
        """Images for sample ``indices`` (int ``[B]``) -> ``uint8 [B, H, W, C]``.

        Raises:
            SamplingFailed: the pipeline or its scheduler raised (out-of-memory errors pass through).
        """
        self.check_condition(condition)
        generators = sample_generators(self.config.seed, indices, condition)
        try:
            with torch.inference_mode():
                if self.one_at_a_time:
                    images = np.concatenate([self._run([generator], condition) for generator in generators])
                else:
                    images = self._run(generators, condition)
        except HubAuditError:
            raise
        except Exception as err:
            if is_out_of_memory(err):
                raise
            reason = first_line(err)
            if (
                "BFloat16" in reason and self.config.dtype == "bfloat16"
            ):  # e.g. DDPMPipeline calls .numpy() on its output
                reason += " (this pipeline cannot return bfloat16 images: use --dtype float16)"
            raise SamplingFailed(self.capabilities.pipeline_class, reason) from err
        return to_uint8(images)

    def _run(self, generators: list[torch.Generator], condition: Condition) -> np.ndarray:
        guidance = {} if self.config.guidance_scale is None else {"guidance_scale": self.config.guidance_scale}
        return self.pipeline(
            **self._condition_arguments(condition, len(generators)),
            generator=generators,
            num_inference_steps=self.num_inference_steps,
            output_type="np",
            **guidance,
            **self.call_options,
        ).images

    def _condition_arguments(self, condition: Condition, batch_size: int) -> dict:
        """The pipeline-call arguments that say what to draw and how many."""
        if self.kind == "text-to-image":
            return {"prompt": [str(condition)] * batch_size}
        arguments = {"batch_size": batch_size} if "batch_size" in self.capabilities.parameters else {}
        if self.kind == "class-conditional":
            arguments["class_labels"] = [int(condition)] * batch_size
        return arguments

    def describe(self) -> dict:
        """What ran, for the report."""
        description = {
            "kind": self.kind,
            "pipeline_class": type(self.pipeline).__name__,
            "scheduler_class": type(self.pipeline.scheduler).__name__,
            "num_inference_steps": self.num_inference_steps,
            "guidance_scale": self.capabilities.effective_guidance(self.config),
            "device": str(self.device),
            "compiled": self.compiled,
        }
        if self.call_options:
            description["call_options"] = dict(self.call_options)
        if self.scheduler_note:
            description["scheduler_note"] = self.scheduler_note
        if self.one_at_a_time:
            description |= {"fixed_batch_size": 1, "batch_note": ONE_AT_A_TIME_NOTE}
        return description


class ClassEmbeddingUNetSampler(Sampler):
    """A ``batch_size`` pipeline (DDPM, DDIM, ...) whose ``UNet2DModel`` has class embeddings.

    Its pipeline's call cannot pass ``class_labels``, so this runs the DDPM loop with them. A UNet
    with a null class (``capabilities.null_class_id``) is guided: ``eps = eps_null + w (eps_cond - eps_null)``
    from one UNet call on the doubled batch ``[x; x]`` with labels ``[c; null]``; at ``w = 1`` (the
    default) that is ``eps_cond``, drawn in one plain pass.
    """

    def _run(self, generators: list[torch.Generator], condition: Condition) -> np.ndarray:
        unet, scheduler = self.pipeline.unet, self.pipeline.scheduler
        size = unet.config.sample_size
        height, width = (size, size) if isinstance(size, int) else size
        shape = (len(generators), unet.config.in_channels, height, width)
        image = randn_tensor(shape, generator=generators, device=self.device, dtype=unet.dtype)
        class_labels = torch.full((len(generators),), int(condition), device=self.device, dtype=torch.long)
        scheduler.set_timesteps(self.num_inference_steps)
        for timestep in scheduler.timesteps:
            model_output = self._guided_output(image, timestep, class_labels)
            image = scheduler.step(model_output, timestep, image, generator=generators).prev_sample
        return (image / 2 + 0.5).clamp(0, 1).permute(0, 2, 3, 1).float().cpu().numpy()

    def _guided_output(self, image: torch.Tensor, timestep: torch.Tensor, class_labels: torch.Tensor) -> torch.Tensor:
        """The UNet's output for ``image`` ``[B, C, H, W]`` at ``timestep`` and ``class_labels`` ``[B]``, guided
        by the effective scale where the UNet has a null class; ``[B, C, H, W]``."""
        unet, null_class = self.pipeline.unet, self.capabilities.null_class_id
        scale = self.capabilities.effective_guidance(self.config)
        if null_class is None or scale == UNGUIDED_SCALE:
            return unet(image, timestep, class_labels=class_labels).sample
        null_labels = torch.full_like(class_labels, null_class)
        doubled = unet(torch.cat([image, image]), timestep, class_labels=torch.cat([class_labels, null_labels])).sample
        conditional, unconditional = doubled.chunk(2)
        return unconditional + scale * (conditional - unconditional)

    def describe(self) -> dict:
        description = super().describe()
        if self.capabilities.null_class_id is not None:
            description["null_class_id"] = self.capabilities.null_class_id
        return description


class PredictorCorrectorSampler(Sampler):
    """Score-SDE (``ScoreSdeVePipeline``): the pipeline's predictor-corrector loop with a per-sample corrector.

    The scheduler's ``step_correct`` sets one step size from the batch's mean gradient and noise
    norms, which couples the samples of a batch; here it runs on each sample alone (with that
    sample's generator), the UNet on the whole batch.
    """

    def _run(self, generators: list[torch.Generator], condition: Condition) -> np.ndarray:
        unet, scheduler = self.pipeline.unet, self.pipeline.scheduler
        size = unet.config.sample_size
        shape = (len(generators), unet.config.in_channels, size, size)
        sample = (
            randn_tensor(shape, generator=generators, device=self.device, dtype=unet.dtype)
            * scheduler.init_noise_sigma
        )
        scheduler.set_timesteps(self.num_inference_steps)
        scheduler.set_sigmas(self.num_inference_steps)
        for i, timestep in enumerate(scheduler.timesteps):
            sigma = scheduler.sigmas[i] * torch.ones(shape[0], device=self.device)
            for _ in range(scheduler.config.correct_steps):
                model_output = unet(sample, sigma).sample
                sample = torch.cat(
                    [
                        scheduler.step_correct(
                            model_output[j : j + 1], sample[j : j + 1], generator=generator
                        ).prev_sample
                        for j, generator in enumerate(generators)
                    ]
                )
            output = scheduler.step_pred(unet(sample, sigma).sample, timestep, sample, generator=generators)
            sample, sample_mean = output.prev_sample, output.prev_sample_mean
        return sample_mean.clamp(0, 1).permute(0, 2, 3, 1).float().cpu().numpy()

    def _swap_scheduler(self) -> None:
        if self.config.scheduler is not None:
            raise InvalidSamplerConfig(
                f"{type(self.pipeline).__name__} uses a predictor-corrector scheduler; drop --scheduler"
            )

    def describe(self) -> dict:
        return {**super().describe(), "scheduler_note": "corrector step size computed per sample (batch-invariant)"}


def pipeline_configs(pipeline: DiffusionPipeline) -> dict[str, dict]:
    """Component name -> config of a loaded pipeline's components that have a diffusers (mapping) config; a
    transformers model's ``PretrainedConfig`` is no mapping, and no capability reads it."""
    return {
        name: dict(component.config)
        for name, component in pipeline.components.items()
        if isinstance(getattr(component, "config", None), Mapping)
    }


def build_sampler(
    pipeline: DiffusionPipeline,
    config: SamplerConfig,
    device: torch.device,
    capabilities: PipelineCapabilities | None = None,
) -> Sampler:
    """The sampler for ``pipeline``, chosen by what it can do (capabilities read off it when not given)."""
    if capabilities is None:
        capabilities = pipeline_capabilities(
            type(pipeline),
            pipeline_configs(pipeline),
            reference=type(pipeline).__name__,
            class_names=pipeline.config.get("id2label"),
        )
    if capabilities.class_embedding_loop:
        return ClassEmbeddingUNetSampler(pipeline, config, device, capabilities)
    if (
        hasattr(pipeline, "unet")
        and hasattr(pipeline.scheduler, "step_correct")
        and hasattr(pipeline.scheduler, "step_pred")
    ):
        return PredictorCorrectorSampler(pipeline, config, device, capabilities)
    return Sampler(pipeline, config, device, capabilities)


def _seeds_global_rng(pipeline_class: type) -> bool:
    """True if the pipeline class's own source seeds torch's global RNG (``torch.manual_seed(...)``).

    Such a pipeline draws part of a sample from the global RNG (e.g. GLM-Image's autoregressive prior, as
    ``transformers``' ``generate`` takes no generator), seeded once per call from one generator: the samples
    of a batch share that stream, so only a sample drawn alone depends on (seed, condition, i) alone.
    """
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(pipeline_class)))
    except (OSError, TypeError, SyntaxError):
        return False
    return any(
        isinstance(node, ast.Call) and ast.unparse(node.func) in ("torch.manual_seed", "torch.cuda.manual_seed")
        for node in ast.walk(tree)
    )


def _passes_generator_to_scheduler(pipeline_class: type) -> bool:
    """True unless the call's source has a ``scheduler.step(...)`` that is given no generator.

    diffusers pipelines pass it as ``generator=`` or inside ``**extra_step_kwargs``; a pipeline
    whose source cannot be read (or that calls no scheduler step itself) is taken to pass it.
    """
    try:
        source = inspect.getsource(pipeline_class.__call__)
    except (OSError, TypeError):
        return True
    for match in _SCHEDULER_STEP.finditer(source):
        depth, end = 1, match.end()
        while depth and end < len(source):
            depth += {"(": 1, ")": -1}.get(source[end], 0)
            end += 1
        arguments = source[match.end() : end]
        if "generator" not in arguments and "**" not in arguments:
            return False
    return True


def _call_defaults(pipeline_class: type, names: tuple[str, ...]) -> dict:
    """Name -> default of those of ``names`` that ``pipeline_class.__call__`` takes with a number as default."""
    parameters = inspect.signature(pipeline_class.__call__).parameters
    return {
        name: parameters[name].default
        for name in names
        if name in parameters and isinstance(parameters[name].default, (int, float))
    }
