"""What a pipeline can be asked to draw, read off its ``__call__`` signature and its component configs.

hubaudit chooses how to drive a pipeline by what its call takes, never by a list of class names:

- a ``prompt`` parameter: text-to-image, one prompt per condition;
- ``class_labels`` with a class count in a component config (``num_embeds_ada_norm`` of a DiT
  transformer, ``num_class_embeds`` of a UNet): class-conditional;
- ``batch_size``: unconditional, unless its UNet has class embeddings that the call cannot pass
  (then hubaudit runs the pipeline's denoising loop itself, with ``class_labels``; a UNet whose
  config names a null class under :data:`GUIDANCE_CONFIG_KEY` also takes a guidance scale);
- anything that draws videos, needs an input image (one to transform, or a ControlNet's control image),
  or has no ``generator`` to make sample i depend on (seed, i) alone, cannot be sampled
  (:func:`signature_refusal` says why); a reference ``image`` that defaults to None is left unset in a pipeline
  diffusers registers as text-to-image.

The same object checks the scan's settings before any weight is loaded.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from hubaudit.errors import InvalidSamplerConfig, UnsupportedPipeline
from hubaudit.sampling.config import Condition, SamplerConfig

KINDS = ("unconditional", "class-conditional", "text-to-image")
#: Call parameters that make a pipeline transform an input rather than sample from the model.
IMAGE_INPUTS = ("image", "image_embeds", "mask_image", "control_image", "video", "init_image")
#: The call parameter of a pipeline that draws videos (Helios, text-to-video): frames per sample.
VIDEO_OUTPUT = "num_frames"
#: The call parameter of a per-step guidance schedule, given instead of one ``guidance_scale`` (Ideogram 4).
GUIDANCE_SCHEDULE = "guidance_schedule"
#: Call parameters of a pipeline steered by a control image (ControlNet): its image input is that control image.
CONTROL_CONDITIONING = frozenset({"control_image", "controlnet_conditioning_scale", "control_mode"})
#: Optional reference inputs a pipeline that diffusers registers as text-to-image (``AutoPipelineForText2Image``)
#: draws without (FLUX Kontext, FLUX.2, Z-Image Omni, ...): hubaudit leaves them unset, so the call samples from text.
#: Not in a ControlNet pipeline, whose optional ``image`` is the control image it needs (Stable Diffusion ControlNet).
REFERENCE_INPUTS = ("image",)
#: Above this many classes, a class-conditional scan must name the classes it wants.
MAX_DEFAULT_CLASSES = 20
#: Parameters hubaudit passes itself; any other required parameter makes a pipeline unsupported.
_DRIVEN = {"prompt", "class_labels", "batch_size", "generator", "num_inference_steps", "output_type", "guidance_scale"}
GUIDANCE_CONFIG_KEY = "_classifier_free_guidance"
"""UNet config key of a class-conditional UNet trained for classifier-free guidance (``hubaudit train --cond-dropout``):
``{"null_class_id": N, "cond_dropout": p}``, N its last class embedding. diffusers keeps such a key through
``save_pretrained``/``from_pretrained`` (the leading underscore spares it the unexpected-key warning)."""
UNGUIDED_SCALE = 1.0
"""The guidance scale of a UNet with a null class when none is asked for: its plain conditional sample."""


@dataclass(frozen=True)
class PipelineCapabilities:
    """How hubaudit drives one pipeline class, and what a scan of it may ask for.

    Attributes:
        pipeline_class: the class name.
        kind: ``unconditional``, ``class-conditional`` or ``text-to-image``.
        parameters: names of the call's parameters.
        default_steps: the call's default ``num_inference_steps`` (None if it has none).
        default_guidance: the call's default ``guidance_scale`` (None if it takes none).
        num_classes: classes of a class-conditional model (None otherwise).
        class_names: class id -> name from ``id2label``, where the model records it.
        num_train_timesteps: the scheduler's training steps (an upper bound on ``--steps``), if known.
        class_embedding_loop: the UNet has class embeddings its pipeline's call cannot pass.
        null_class_id: the UNet's class id for "no class" (classifier-free guidance), not counted in ``num_classes``.
        guidance_schedule_steps: steps of the per-step guidance schedule the call applies by default
            (``guidance_schedule``, Ideogram 4), None without one.
    """

    pipeline_class: str
    kind: str
    parameters: frozenset[str]
    default_steps: int | None = None
    default_guidance: float | None = None
    num_classes: int | None = None
    class_names: dict[int, str] = field(default_factory=dict)
    num_train_timesteps: int | None = None
    class_embedding_loop: bool = False
    null_class_id: int | None = None
    guidance_schedule_steps: int | None = None

    @property
    def takes_guidance(self) -> bool:
        return "guidance_scale" in self.parameters or self.null_class_id is not None

    def effective_guidance(self, config: SamplerConfig) -> float | None:
        """The guidance scale the samples are drawn with: the user's, else the pipeline's default."""
        return config.guidance_scale if config.guidance_scale is not None else self.default_guidance

    def check_settings(self, config: SamplerConfig) -> None:
        """Refuse settings the pipeline cannot honour, before the model is loaded."""
        if config.guidance_scale is not None and not self.takes_guidance:
            without = (
                "'s UNet has no null class (hubaudit train --cond-dropout makes one), so it"
                if self.class_embedding_loop
                else ""
            )
            raise InvalidSamplerConfig(
                f"{self.pipeline_class}{without} takes no guidance scale; drop --guidance-scale"
            )
        sides = [
            name for name in ("height", "width") if getattr(config, name) is not None and name not in self.parameters
        ]
        if sides:
            raise InvalidSamplerConfig(
                f"{self.pipeline_class} takes no {' or '.join(sides)}; drop --{' and --'.join(sides)}"
            )
        steps = config.num_inference_steps
        scheduled, wanted = self.guidance_schedule_steps, steps or self.default_steps
        if scheduled is not None and config.guidance_scale is None and wanted != scheduled:
            raise InvalidSamplerConfig(
                f"{self.pipeline_class}'s default guidance schedule has {scheduled} steps, not {wanted}: "
                f"give --guidance-scale for one scale at every step, or --steps {scheduled}"
            )
        if steps is not None and self.num_train_timesteps is not None and steps > self.num_train_timesteps:
            raise InvalidSamplerConfig(
                f"--steps {steps} is more than the {self.num_train_timesteps} steps {self.pipeline_class}'s scheduler was trained with"
            )

    def default_conditions(self) -> list[Condition]:
        """The conditions a scan covers when the user names none."""
        if self.kind == "text-to-image":
            raise InvalidSamplerConfig(f"{self.pipeline_class} is a text-to-image model: give at least one --prompt")
        if self.kind == "unconditional":
            return [None]
        classes = sorted(self.class_names) if self.class_names else list(range(int(self.num_classes or 0)))
        if len(classes) > MAX_DEFAULT_CLASSES:
            raise InvalidSamplerConfig(
                f"{self.pipeline_class} has {len(classes)} classes: name the ones to scan with --class ID (repeatable)"
            )
        return classes

    def check_condition(self, condition: Condition) -> None:
        """Raise :class:`InvalidSamplerConfig` if the pipeline cannot take ``condition``."""
        if self.kind == "unconditional" and condition is not None:
            raise InvalidSamplerConfig(f"{self.pipeline_class} is unconditional: it takes no class or prompt")
        if self.kind == "text-to-image" and (not isinstance(condition, str) or not condition.strip()):
            raise InvalidSamplerConfig(
                f"{self.pipeline_class} is a text-to-image model: it needs a non-empty --prompt"
            )
        if self.null_class_id is not None and condition == self.null_class_id and not isinstance(condition, bool):
            raise InvalidSamplerConfig(
                f"class {condition} is this model's null class (classifier-free guidance), not a class to scan "
                f"(0..{int(self.num_classes or 0) - 1})"
            )
        if self.kind == "class-conditional" and (
            isinstance(condition, bool)
            or not isinstance(condition, int)
            or not 0 <= condition < int(self.num_classes or 0)
        ):
            raise InvalidSamplerConfig(
                f"class {condition!r} is not a class id of this model (0..{int(self.num_classes or 0) - 1})"
            )


def pipeline_capabilities(
    pipeline_class: type, configs: Mapping[str, Mapping], *, reference: str, class_names: Mapping | None = None
) -> PipelineCapabilities:
    """Read how to drive ``pipeline_class`` from its call signature and ``configs`` (component name -> config).

    Raises:
        UnsupportedPipeline: the call needs an input image or an argument hubaudit cannot give,
            takes no per-sample ``generator``, or takes neither a prompt, class labels nor a batch size.
    """
    name = pipeline_class.__name__
    parameters = _call_parameters(pipeline_class)
    names = frozenset(parameters)

    def unsupported(reason: str) -> UnsupportedPipeline:
        return UnsupportedPipeline(reference, name, reason)

    refusal = signature_refusal(pipeline_class)
    if refusal is not None:
        raise unsupported(refusal)
    unet, transformer = configs.get("unet", {}), configs.get("transformer", {})
    classes, loop = None, False
    if "prompt" in names:
        kind = "text-to-image"
    elif "class_labels" in names and (transformer.get("num_embeds_ada_norm") or unet.get("num_class_embeds")):
        kind, classes = "class-conditional", int(transformer.get("num_embeds_ada_norm") or unet["num_class_embeds"])
    elif "batch_size" in names:
        kind = "unconditional"
        if unet.get("num_class_embeds") and "unet" in configs:
            kind, classes, loop = "class-conditional", int(unet["num_class_embeds"]), True
    else:
        raise unsupported("its call takes neither a prompt, class labels nor a batch size")
    null_class = _null_class_id(unet, classes, unsupported) if loop else None
    if null_class is not None:
        classes = null_class  # the null class is the last id: classes 0..N-1 are the real ones
    scheduler = configs.get("scheduler", {})
    return PipelineCapabilities(
        pipeline_class=name,
        kind=kind,
        parameters=names,
        default_steps=_default_steps(parameters, scheduler),
        default_guidance=UNGUIDED_SCALE if null_class is not None else _default(parameters, "guidance_scale"),
        num_classes=classes,
        class_names={int(key): str(value) for key, value in (class_names or {}).items()} if classes else {},
        num_train_timesteps=scheduler.get("num_train_timesteps"),
        class_embedding_loop=loop,
        null_class_id=null_class,
        guidance_schedule_steps=_default_length(parameters, GUIDANCE_SCHEDULE),
    )


def _call_parameters(pipeline_class: type) -> dict[str, inspect.Parameter]:
    """Name -> parameter of ``pipeline_class.__call__``, without ``self``."""
    signature = inspect.signature(pipeline_class.__call__)
    return {key: value for key, value in signature.parameters.items() if key != "self"}


def signature_refusal(pipeline_class: type) -> str | None:
    """Why a scan cannot drive ``pipeline_class``, read off its call signature alone (None if nothing there stops it).

    Videos (:data:`VIDEO_OUTPUT`), an input image it transforms or a control image (:data:`IMAGE_INPUTS`), a required
    argument hubaudit cannot give, or no ``generator``; the reason :class:`UnsupportedPipeline` gives, and the one docs/supported-families.md lists.
    """
    parameters = _call_parameters(pipeline_class)
    if VIDEO_OUTPUT in parameters:
        return f"its call draws videos ({VIDEO_OUTPUT}), and hubaudit audits images"
    controlled = bool(CONTROL_CONDITIONING.intersection(parameters))  # then its image is a control image
    inputs = [key for key in IMAGE_INPUTS if key in parameters]
    references = [key for key in inputs if key in REFERENCE_INPUTS and parameters[key].default is None]
    # asked only of a pipeline with an optional reference input: importing diffusers' mapping takes seconds
    if references and not controlled and _registered_text_to_image(pipeline_class):
        inputs = [key for key in inputs if key not in references]
    if inputs and controlled:
        return f"its call needs a control image ({', '.join(inputs)}) to steer the model, which a scan cannot give"
    if inputs:
        return f"its call transforms an input ({', '.join(inputs)}) rather than sampling the model"
    required = [
        key
        for key, parameter in parameters.items()
        if parameter.default is inspect.Parameter.empty
        and parameter.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
        and key not in _DRIVEN
    ]
    if required:
        return f"its call needs {', '.join(required)}, which a scan cannot give"
    if "generator" not in parameters:
        return "its call takes no generator, so samples could not be made reproducible"
    return None


def _registered_text_to_image(pipeline_class: type) -> bool:
    """True if diffusers' ``AutoPipelineForText2Image`` maps a name to ``pipeline_class`` (it samples from text alone)."""
    from diffusers.pipelines.auto_pipeline import AUTO_TEXT2IMAGE_PIPELINES_MAPPING

    return pipeline_class in AUTO_TEXT2IMAGE_PIPELINES_MAPPING.values()


def _null_class_id(
    unet: Mapping, num_class_embeds: int, unsupported: Callable[[str], UnsupportedPipeline]
) -> int | None:
    """The null class a UNet config records under :data:`GUIDANCE_CONFIG_KEY` (None without one); it must be the last id."""
    guidance = unet.get(GUIDANCE_CONFIG_KEY)
    if guidance is None:
        return None
    null_class = guidance.get("null_class_id") if isinstance(guidance, Mapping) else None
    if isinstance(null_class, bool) or null_class != num_class_embeds - 1:
        raise unsupported(
            f"its UNet config's {GUIDANCE_CONFIG_KEY} names null class {null_class!r}, not its last class id {num_class_embeds - 1}"
        )
    return num_class_embeds - 1


def _default_steps(parameters: Mapping[str, inspect.Parameter], scheduler: Mapping) -> int | None:
    """The call's default ``num_inference_steps``; where that default is None (its scheduler decides: hubaudit's
    NCSNv2 walks every trained noise level), the scheduler's ``num_train_timesteps``."""
    parameter = parameters.get("num_inference_steps")
    if parameter is not None and parameter.default is None:
        return scheduler.get("num_train_timesteps")
    return _default(parameters, "num_inference_steps")


def _default_length(parameters: Mapping[str, inspect.Parameter], name: str) -> int | None:
    """The length of the call's default for ``name`` where that is a tuple or list (None otherwise)."""
    parameter = parameters.get(name)
    default = None if parameter is None else parameter.default
    return len(default) if isinstance(default, (tuple, list)) else None


def _default(parameters: Mapping[str, inspect.Parameter], name: str):
    parameter = parameters.get(name)
    if parameter is None or parameter.default is inspect.Parameter.empty or isinstance(parameter.default, bool):
        return None
    return parameter.default if isinstance(parameter.default, (int, float)) else None
