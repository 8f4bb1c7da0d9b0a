"""Load a resolved pipeline through diffusers: weights from safetensors only, no repository code unless asked.

This is where diffusers is imported; :mod:`hubaudit.hub.resolve` decides the refusals that need
only the repository's files.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import inspect
from collections.abc import Collection
from dataclasses import asdict
from pathlib import Path, PurePosixPath

import diffusers
import torch
import transformers
from huggingface_hub import snapshot_download

from hubaudit import families
from hubaudit.errors import HubAuditError, MissingBackend, PipelineLoadFailed, UnknownPipelineClass, first_line
from hubaudit.families.pipeline import FamilyPipeline
from hubaudit.hub.adapters import apply_adapter, load_single_file
from hubaudit.hub.resolve import (
    TRUSTED_LIBRARIES,
    ResolvedModel,
    hub_errors,
    is_deprecated_pipeline_module,
    is_diffusers_pipeline_module,
)
from hubaudit.verbosity import library_errors_handled

SAFETY_CHECKER = "safety_checker"
"""The component that blacks out images it flags (Stable Diffusion 1.x, DeepFloyd IF): it biases every share."""


def pipeline_class_of(resolved: ResolvedModel) -> type | None:
    """The class of ``resolved``'s pipeline (diffusers', or one of hubaudit's own), after checking every class it names exists.

    Returns None for a pipeline defined by repository code (known only once loaded).

    Raises:
        UnknownPipelineClass: the pipeline or a component names a class its library does not have.
        MissingBackend: a component's class needs a package that is not installed.
    """
    resolved = resolved.pipeline_model
    for library, class_name in resolved.components.values():
        known = _library_classes(library)
        if known is not None and class_name not in known:
            label = library if library in (*TRUSTED_LIBRARIES, families.LIBRARY) else f"diffusers.pipelines.{library}"
            raise UnknownPipelineClass(str(resolved.reference), class_name, label)
        packages = _missing_backends(library, class_name)
        if packages:
            raise MissingBackend(str(resolved.reference), class_name, packages)
    if resolved.custom_code:
        return None
    if resolved.pipeline_class in families.PIPELINE_CLASSES:
        return getattr(families, resolved.pipeline_class)
    if resolved.pipeline_class not in dir(diffusers):
        raise UnknownPipelineClass(str(resolved.reference), resolved.pipeline_class, "diffusers")
    return getattr(diffusers, resolved.pipeline_class)


def _missing_backends(library: str, class_name: str) -> list[str]:
    """The packages a transformers or diffusers class needs and lacks.

    Such a name resolves to a placeholder that records them (``_backends``), e.g. transformers' ``PixtralProcessor``
    without torchvision (FLUX.2-dev's tokenizer); a processor that loads a video processor (Qwen3-VL's: NucleusMoE-Image,
    Qwen-Image 2.1) needs what transformers' video-processor table lists for its model type.
    """
    module = {"transformers": transformers, "diffusers": diffusers}.get(library)
    component_class = getattr(module, class_name, None) if module is not None else None
    backends = list(getattr(component_class, "_backends", None) or [])
    if backends or library != "transformers" or not hasattr(component_class, "get_attributes"):
        return backends
    if "video_processor" not in component_class.get_attributes():
        return []
    from transformers.models.auto.video_processing_auto import VIDEO_PROCESSOR_MAPPING_NAMES

    model_type = component_class.__module__.split(".")[-2]  # transformers.models.<model_type>.processing_<...>
    return [
        name for name in VIDEO_PROCESSOR_MAPPING_NAMES.get(model_type, {}) if importlib.util.find_spec(name) is None
    ]


@functools.cache
def _library_classes(library: str) -> Collection[str] | None:
    """The names a trusted library offers (for ``hubaudit``, its own model classes); None for repository code.

    Cached: listing ``transformers`` takes about 0.2 s, and a pipeline names it once per component.
    """
    if library == families.LIBRARY:
        return families.FAMILY_CLASSES
    if library == "diffusers":
        return frozenset(dir(diffusers))
    if library == "transformers":
        return frozenset(dir(transformers))
    if is_deprecated_pipeline_module(library):
        return frozenset(dir(_deprecated_pipeline_module(library)))
    module = getattr(diffusers.pipelines, library, None) if is_diffusers_pipeline_module(library) else None
    return frozenset(dir(module)) if module is not None else None


def _deprecated_pipeline_module(library: str):
    """diffusers' ``pipelines.deprecated.<library>`` module (``library`` checked by :func:`is_deprecated_pipeline_module`)."""
    return importlib.import_module(f"diffusers.pipelines.deprecated.{library}")


def safety_checker_state(resolved: ResolvedModel, *, keep_safety_checker: bool) -> str:
    """``"removed"``, ``"kept"`` or ``"absent"``: what happens to the model's safety checker, for the report."""
    if SAFETY_CHECKER not in resolved.pipeline_model.components:
        return "absent"
    return "kept" if keep_safety_checker else "removed"


def load_pipeline(
    resolved: ResolvedModel,
    *,
    token: str | None = None,
    allow_pickle: bool = False,
    trust_remote_code: bool = False,
    keep_safety_checker: bool = False,
    dtype: torch.dtype = torch.float32,
) -> diffusers.DiffusionPipeline:
    """Load the pinned pipeline through ``DiffusionPipeline.from_pretrained`` (hubaudit's own pipelines: through
    their class's), on the CPU in ``dtype``.

    A safety checker is left out unless ``keep_safety_checker``: it replaces the images it flags
    by black ones, which biases every estimated share. A single-file checkpoint loads through
    ``from_single_file`` with its base pipeline's configs; a LoRA or an embedding is applied to the
    loaded base by :func:`apply_adapter_of`.
    """
    source = resolved.pipeline_model
    options: dict = {"dtype": dtype}
    pipeline_class = pipeline_class_of(source)
    if safety_checker_state(source, keep_safety_checker=keep_safety_checker) == "removed":
        options[SAFETY_CHECKER] = None
        if pipeline_class is not None and "requires_safety_checker" in inspect.signature(pipeline_class).parameters:
            options["requires_safety_checker"] = False
    diffusers.utils.logging.disable_progress_bar()
    transformers.utils.logging.disable_progress_bar()
    if resolved.adapter is not None and resolved.adapter.kind == "single-file":
        checkpoint = resolved.fetch(resolved.adapter.weight_name, token=token)
        return load_single_file(
            source.pipeline_class, checkpoint, config_folder=_config_folder(source, token=token), **options
        )
    if source.reference.local_path is None:
        options |= {"revision": source.sha, "token": token, "local_files_only": source.offline}
    if pipeline_class is not None and issubclass(pipeline_class, FamilyPipeline):
        loader = (
            pipeline_class  # hubaudit's own classes, safetensors only (diffusers looks _class_name up in diffusers)
        )
    else:
        loader = diffusers.DiffusionPipeline
        options |= {"use_safetensors": None if allow_pickle else True, "trust_remote_code": trust_remote_code}
    try:
        with hub_errors(str(source.reference.repo_id), source.sha, token=token), library_errors_handled():
            _alias_moved_pipeline_modules(source)
            return loader.from_pretrained(source.location, **options)
    except HubAuditError:
        raise
    except Exception as err:  # a library's error about these files: corrupt weights, bad config, missing code
        raise PipelineLoadFailed(str(source.reference), first_line(err)) from err


def _alias_moved_pipeline_modules(source: ResolvedModel) -> None:
    """Make the pipeline modules diffusers moved to ``pipelines/deprecated`` that ``source`` names (``wuerstchen``)
    loadable under their old name again: ``diffusers.pipelines.<library>`` -> ``diffusers.pipelines.deprecated.<library>``.

    Published Würstchen and Stable Cascade repositories name ``["wuerstchen", "PaellaVQModel"]``; diffusers 0.42.1
    no longer finds that module by its name and refuses to load them. The alias points at diffusers' own code only.
    """
    for library, _ in source.components.values():
        if is_deprecated_pipeline_module(library) and not hasattr(diffusers.pipelines, library):
            setattr(diffusers.pipelines, library, _deprecated_pipeline_module(library))


def apply_adapter_of(
    pipeline: diffusers.DiffusionPipeline, resolved: ResolvedModel, *, scale: float = 1.0, token: str | None = None
) -> dict | None:
    """Apply ``resolved``'s LoRA or embedding to its loaded base pipeline; what was applied, for the report (None: no adapter)."""
    adapter = resolved.adapter
    if adapter is None:
        return None
    if adapter.kind == "single-file":  # loaded as the pipeline itself by load_pipeline
        return asdict(adapter) | {"scale": None}
    weights = resolved.fetch(adapter.weight_name, token=token)
    root = weights.parents[len(PurePosixPath(adapter.weight_name).parts) - 1]  # the folder weight_name is relative to
    return apply_adapter(pipeline, adapter, root, scale=scale)


def _config_folder(source: ResolvedModel, *, token: str | None) -> Path:
    """A local folder with the base pipeline's configs and tokenizer files (no weights), for ``from_single_file``."""
    if source.reference.local_path is not None:
        return Path(source.location)
    with hub_errors(source.location, source.sha, token=token):
        return Path(
            snapshot_download(
                source.location,
                revision=source.sha,
                token=token,
                local_files_only=source.offline,
                allow_patterns=["*.json", "*.txt", "*.model", "tokenizer*/*"],
            )
        )
