"""Recognise and apply what organisations share instead of a whole pipeline: LoRA, textual inversion, single files.

A repository without ``model_index.json`` is classified from its file list, the tensor names in
the headers of its ``.safetensors`` files and its model card's front matter. Detection imports
neither torch nor diffusers and reads no tensor data, so it answers in well under a second;
:func:`apply_adapter` and :func:`load_single_file` import them when called.

Example:
    >>> spec = detect_local_adapter(Path("my-lora"))          # doctest: +SKIP
    >>> pipeline = StableDiffusionPipeline.from_pretrained(spec.base_model)  # doctest: +SKIP
    >>> apply_adapter(pipeline, spec, Path("my-lora"), scale=0.8)           # doctest: +SKIP
    {'kind': 'lora', 'format': 'diffusers', 'weight_name': 'pytorch_lora_weights.safetensors', ...}
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath

import yaml
from huggingface_hub import ModelCard
from safetensors import SafetensorError, safe_open

from hubaudit.errors import (
    AdapterDoesNotFit,
    HubAuditError,
    PipelineLoadFailed,
    SingleFileNeedsConfig,
    UnknownPipelineClass,
    loading_reason,
)
from hubaudit.verbosity import library_errors_handled

ADAPTER_NAME = "audited"
"""Name the applied LoRA gets in the pipeline (``pipeline.get_list_adapters()``)."""

MODEL_CARD = "README.md"
_PREFERRED_FILES = ("pytorch_lora_weights.safetensors", "learned_embeds.safetensors")
"""The names diffusers' ``save_lora_weights`` and textual-inversion training write: inspected first."""

_KOHYA_PREFIXES = ("lora_unet_", "lora_te_", "lora_te1_", "lora_te2_")
_DIFFUSERS_LORA_MATRIX = re.compile(r"(\.lora_[AB]|[._]lora(_linear_layer)?\.(down|up))\.weight$")
"""peft ``….lora_A|B.weight``; older diffusers ``….lora.down.weight``, ``…_lora.up.weight``,
``….lora_linear_layer.down.weight``."""
_LORA_DOWN_MATRIX = re.compile(r"(\.lora_A|[._]lora(_linear_layer)?\.down|\.lora_down)\.weight$")
"""The first factor of each adapted layer, in any of the LoRA layouts: one per layer the file adapts."""

_A1111_EMBEDDING_KEYS = frozenset({"emb_params", "string_to_param.*"})
_SDXL_EMBEDDING_KEYS = frozenset({"clip_l", "clip_g"})
_SDXL_TEXT_ENCODERS = {"clip_l": ("text_encoder", "tokenizer"), "clip_g": ("text_encoder_2", "tokenizer_2")}
"""SDXL embedding tensor -> the pipeline's text encoder and tokenizer it extends."""

_SINGLE_FILE_LAYOUTS = (
    ("conditioner.embedders.", "stable-diffusion-xl"),
    ("model.diffusion_model.", "stable-diffusion"),
    ("first_stage_model.", "stable-diffusion"),
    ("cond_stage_model.", "stable-diffusion"),
)
"""Key prefix of an original-layout checkpoint -> its layout, first match wins (SGM's SDXL, then CompVis LDM)."""


@dataclass(frozen=True)
class AdapterSpec:
    """What an adapter repository holds and how to apply it.

    Attributes:
        kind: ``"lora"``, ``"textual-inversion"`` or ``"single-file"``.
        weight_name: repository-relative path of the ``.safetensors`` file.
        format: LoRA ``"diffusers"`` or ``"kohya"``; embedding ``"diffusers"`` (one tensor named by
            its token), ``"a1111"`` (``emb_params``) or ``"sdxl"`` (``clip_l`` + ``clip_g``);
            single file ``"stable-diffusion"`` or ``"stable-diffusion-xl"``.
        base_model: the first ``base_model`` of the model card's front matter, or None.
        token: the placeholder token an embedding adds to prompts, else None.
    """

    kind: str
    weight_name: str
    format: str
    base_model: str | None = None
    token: str | None = None


def detect_adapter(
    files: list[str], tensor_names: Callable[[str], list[str]], card_text: str | None
) -> AdapterSpec | None:
    """Classify a repository without ``model_index.json`` by the tensor names of its safetensors files.

    Args:
        files: repository-relative paths of every file.
        tensor_names: tensor names in the header of one of ``files`` (for the Hub,
            ``HfApi().parse_safetensors_file_metadata(repo, name).tensors``; for a file on disk,
            :func:`safetensors_tensor_names`). Called for the candidates in turn until one is recognised.
        card_text: the ``README.md`` text, or None.

    Returns:
        The first recognised file (diffusers' default names first, then shallower paths, then by
        name) as an :class:`AdapterSpec`, or None when no safetensors file is an adapter.
    """
    candidates = sorted(
        (name for name in files if name.endswith(".safetensors")),
        key=lambda name: (PurePosixPath(name).name not in _PREFERRED_FILES, name.count("/"), name),
    )
    for weight_name in candidates:
        classified = _classify(weight_name, tensor_names(weight_name))
        if classified is not None:
            kind, layout, token = classified
            return AdapterSpec(kind, weight_name, layout, base_model_from_card(card_text), token)
    return None


def _classify(weight_name: str, names: list[str]) -> tuple[str, str, str | None] | None:
    """``(kind, format, token)`` of a safetensors file from its tensor names, or None."""
    if any(name.startswith(_KOHYA_PREFIXES) for name in names):
        return "lora", "kohya", None
    if any(_DIFFUSERS_LORA_MATRIX.search(name) for name in names):
        return "lora", "diffusers", None
    stem = PurePosixPath(weight_name).stem  # A1111 and SDXL embeddings are prompted by their file name
    if set(names) == _SDXL_EMBEDDING_KEYS:
        return "textual-inversion", "sdxl", stem
    if len(names) == 1 and names[0] in _A1111_EMBEDDING_KEYS:
        return "textual-inversion", "a1111", stem
    if len(names) == 1 and "." not in names[0]:  # module parameters are dotted; a token is not
        return "textual-inversion", "diffusers", names[0]
    for prefix, layout in _SINGLE_FILE_LAYOUTS:
        if any(name.startswith(prefix) for name in names):
            return "single-file", layout, None
    return None


def base_model_from_card(card_text: str | None) -> str | None:
    """The model card's front-matter ``base_model`` (the first, when it is a list); None if absent or unreadable."""
    if not card_text or not card_text.lstrip().startswith("---"):
        return None
    try:
        base = ModelCard(card_text, ignore_metadata_errors=True).data.to_dict().get("base_model")
    except (ValueError, yaml.YAMLError):  # front matter that is not a YAML mapping
        return None
    if isinstance(base, list):
        base = base[0] if base else None
    return base if isinstance(base, str) and base else None


def safetensors_tensor_names(path: Path) -> list[str]:
    """Tensor names in the header of the safetensors file ``path`` (reads no tensor data).

    Raises:
        PipelineLoadFailed: the file is not a readable safetensors file.
    """
    try:
        with safe_open(path, framework="numpy") as weights:
            return list(weights.keys())
    except (SafetensorError, OSError) as err:
        raise PipelineLoadFailed(str(path), f"not a readable safetensors file ({err})") from err


def detect_local_adapter(folder: Path) -> AdapterSpec | None:
    """:func:`detect_adapter` for a local folder: its files, their safetensors headers and its ``README.md``."""
    folder = Path(folder)
    files = [path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file()]
    card = folder / MODEL_CARD
    card_text = card.read_text(encoding="utf-8", errors="replace") if card.is_file() else None
    return detect_adapter(files, lambda name: safetensors_tensor_names(folder / name), card_text)


# --- applying an adapter (imports torch and diffusers) -----------------------------------


def apply_adapter(pipeline, spec: AdapterSpec, folder: Path, *, scale: float = 1.0) -> dict:
    """Apply a LoRA (at ``scale``) or a textual-inversion embedding from ``folder`` to ``pipeline``, in place.

    diffusers converts kohya keys itself. Every layer the LoRA file adapts must exist in the
    pipeline: diffusers only warns about the rest, which would audit a different model.

    Returns:
        The report's description: the :class:`AdapterSpec` fields, ``scale`` (None for an
        embedding) and ``tensors`` (tensors in the file).

    Raises:
        AdapterDoesNotFit: the pipeline cannot load this kind of adapter, or the file's keys,
            shapes or token do not fit it.
        PipelineLoadFailed: the file is not a readable safetensors file.
    """
    if spec.kind not in ("lora", "textual-inversion"):
        raise ValueError(f"apply_adapter applies LoRA and textual-inversion files, not {spec.kind!r}")
    names = safetensors_tensor_names(Path(folder) / spec.weight_name)
    try:
        with library_errors_handled():
            if spec.kind == "lora":
                _load_lora(pipeline, spec, folder, names, scale)
            else:
                _load_embedding(pipeline, spec, folder)
    except HubAuditError:
        raise
    except (ValueError, LookupError, RuntimeError) as err:  # diffusers, peft, torch: keys or shapes that do not fit
        raise AdapterDoesNotFit(spec.weight_name, spec.kind, loading_reason(err)) from err
    scale_applied = scale if spec.kind == "lora" else None
    return asdict(spec) | {"scale": scale_applied, "tensors": len(names)}


def _load_lora(pipeline, spec: AdapterSpec, folder: Path, names: list[str], scale: float) -> None:
    """``load_lora_weights`` + ``set_adapters``, then check every adapted layer of the file found a module."""
    if not hasattr(pipeline, "load_lora_weights"):
        raise AdapterDoesNotFit(spec.weight_name, spec.kind, f"{type(pipeline).__name__} cannot load LoRA weights")
    pipeline.load_lora_weights(
        str(folder), weight_name=spec.weight_name, adapter_name=ADAPTER_NAME, local_files_only=True
    )
    pipeline.set_adapters([ADAPTER_NAME], adapter_weights=[scale])
    in_file = sum(1 for name in names if _LORA_DOWN_MATRIX.search(name))
    loaded = _adapted_layers(pipeline)
    if loaded < in_file:
        reason = f"only {loaded} of the {in_file} layers it adapts exist in {type(pipeline).__name__}"
        raise AdapterDoesNotFit(spec.weight_name, spec.kind, reason)


def _adapted_layers(pipeline) -> int:
    """Layers of the pipeline's modules that carry the :data:`ADAPTER_NAME` LoRA."""
    import torch

    modules = [component for component in pipeline.components.values() if isinstance(component, torch.nn.Module)]
    return sum(
        1
        for component in modules
        for layer in component.modules()
        if ADAPTER_NAME in getattr(layer, "lora_A", {}) or ADAPTER_NAME in getattr(layer, "lora_embedding_A", {})
    )


def _load_embedding(pipeline, spec: AdapterSpec, folder: Path) -> None:
    """``load_textual_inversion`` into the text encoder (both, for an SDXL ``clip_l`` + ``clip_g`` file)."""
    if not hasattr(pipeline, "load_textual_inversion"):
        reason = f"{type(pipeline).__name__} cannot load textual-inversion embeddings"
        raise AdapterDoesNotFit(spec.weight_name, spec.kind, reason)
    if spec.format != "sdxl":
        pipeline.load_textual_inversion(
            str(folder), weight_name=spec.weight_name, token=spec.token, local_files_only=True
        )
        return
    from safetensors.torch import load_file

    embeddings = load_file(Path(folder) / spec.weight_name)
    for tensor_name, (encoder, tokenizer) in _SDXL_TEXT_ENCODERS.items():
        if getattr(pipeline, encoder, None) is None:
            reason = f"an SDXL embedding needs {encoder}, which {type(pipeline).__name__} lacks"
            raise AdapterDoesNotFit(spec.weight_name, spec.kind, reason)
        pipeline.load_textual_inversion(
            embeddings[tensor_name],
            token=spec.token,
            text_encoder=getattr(pipeline, encoder),
            tokenizer=getattr(pipeline, tokenizer),
        )


def load_single_file(pipeline_class_name: str, checkpoint: Path, config_folder: Path | None, dtype=None, **options):
    """Load an original-layout ``.safetensors`` checkpoint with the base model's diffusers folder as its config.

    Args:
        pipeline_class_name: the diffusers pipeline class (``_class_name`` of the base's ``model_index.json``).
        checkpoint: the local ``.safetensors`` file.
        config_folder: the base model's local diffusers folder (configs, tokenizer, scheduler); its
            weights are not read. Nothing is downloaded.
        dtype: ``torch.dtype`` of the loaded weights, or None for the checkpoint's.
        options: passed on to ``from_single_file`` (e.g. ``safety_checker=None``).

    Raises:
        SingleFileNeedsConfig: ``config_folder`` is None or has no ``model_index.json``.
        UnknownPipelineClass: diffusers has no class ``pipeline_class_name``.
        PipelineLoadFailed: the class has no ``from_single_file``, or the checkpoint does not fit the config.
    """
    checkpoint = Path(checkpoint)
    if config_folder is None or not (Path(config_folder) / "model_index.json").is_file():
        raise SingleFileNeedsConfig(checkpoint.name, None if config_folder is None else str(config_folder))
    import diffusers

    pipeline_class = getattr(diffusers, pipeline_class_name, None)
    if pipeline_class is None:
        raise UnknownPipelineClass(str(config_folder), pipeline_class_name, "diffusers")
    if not hasattr(pipeline_class, "from_single_file"):
        reason = f"{pipeline_class_name} cannot be loaded from a single-file checkpoint"
        raise PipelineLoadFailed(str(checkpoint), reason)
    try:
        with library_errors_handled():
            return pipeline_class.from_single_file(
                str(checkpoint), config=str(config_folder), local_files_only=True, dtype=dtype, **options
            )
    except Exception as err:  # diffusers' error about this checkpoint: missing component, keys that do not fit
        raise PipelineLoadFailed(str(checkpoint), loading_reason(err)) from err
