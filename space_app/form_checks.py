"""The checks of the Space's forms, in one place: Hub ids only, CLIP attributes, prompts, classes, label mappings,
guidance and counts, and the two checked requests they make (:class:`ScanRequest`, :class:`FairnessRequest`).

Each check returns the checked value or raises the :class:`~hubaudit.errors.HubAuditError` whose one line names the
bad field; nothing here loads a weight. The caps are module constants (the forms show them); the check step
(:func:`inspected`) reads a model's files to learn which fields its kind takes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from hosting import error_line
from hubaudit.api import (
    clip_presets,
    inspect_model,
    parse_attribute_spec,
    parse_label_map,
    parse_label_prompts,
    parse_model_reference,
)
from hubaudit.errors import (
    InvalidAttributeSpec,
    InvalidLabelMapping,
    InvalidModelReference,
    InvalidSamplerConfig,
    LocalPathRefused,
)

MAX_SAMPLES = 256
"""Most samples one web request may ask for, over all its prompts or classes."""
MAX_PROMPTS = 4
"""Most prompts one request may scan (text-to-image models)."""
MAX_PROMPT_CHARS = 300
"""Longest prompt accepted."""
MAX_CLASSES = 8
"""Most classes one request may scan (class-conditional models)."""
MAX_GUIDANCE = 20.0
"""Largest classifier-free guidance scale accepted."""
MAX_STEPS = 200
"""Most denoising steps one web request may ask for."""
MAX_ATTRIBUTE_VALUES = 8
"""Most values (prompts) one custom CLIP attribute may have: the labelling tab has a button for each."""
CUSTOM_ATTRIBUTE_EXAMPLE = "smile: a photo of a smiling person | a photo of a person with a neutral face"
"""What a custom CLIP attribute line looks like (the fields' placeholder)."""
LABEL = "label"
"""The name of the label Y in the report (read off the conditions)."""
LABEL_PROMPTS_HOW = "LABEL=PROMPT, one per line, labels 0 and 1"
"""How the label prompts field is filled in."""
_REVISION = re.compile(r"[A-Za-z0-9][\w.\-/]{0,99}")
_ATTRIBUTE_NAME = re.compile(r"[A-Za-z0-9_][\w.-]*")


def model_reference(model_id: str, revision: str) -> str:
    """``org/name[@revision]`` from the two fields; raises :class:`InvalidModelReference` or :class:`LocalPathRefused`."""
    model_id, revision = (model_id or "").strip(), (revision or "").strip()
    if revision:
        if "@" in model_id:
            raise InvalidModelReference(f"{model_id}@{revision}")
        model_id = f"{model_id}@{revision}"
    return hub_id(model_id, "model")


def hub_id(text: str, field: str) -> str:
    """``text`` if it is ``org/name[@revision]`` and no path on this machine, else :class:`InvalidModelReference`
    or :class:`LocalPathRefused` (naming ``field``)."""
    try:
        revision = parse_model_reference(text, allow_local=False).revision
    except LocalPathRefused:
        raise LocalPathRefused(text, field) from None
    if revision is not None and (not _REVISION.fullmatch(revision) or ".." in revision):
        raise InvalidModelReference(text)
    return text


def annotator_reference(annotator_id: str) -> str:
    """The annotator model field as ``org/name[@revision]``; a bad one is an :class:`InvalidAttributeSpec`."""
    try:
        return hub_id((annotator_id or "").strip(), "annotator model")
    except InvalidModelReference as err:
        raise InvalidAttributeSpec(f"annotator model: {err}") from None


def clip_attributes(presets: Sequence[str], custom_attributes: str, annotator_id: str) -> tuple[str, ...]:
    """``NAME=SPEC`` strings of the chosen CLIP presets and custom attributes, all on the annotator model.

    ``custom_attributes`` holds one attribute per line, ``NAME: PROMPT | PROMPT [| ...]`` (or
    ``NAME: VALUE:PROMPT | VALUE:PROMPT``), at most :data:`MAX_ATTRIBUTE_VALUES` values each. Names must differ.
    None chosen gives ``()``: each form says how many it needs.
    """
    annotator_id = annotator_reference(annotator_id)
    known = clip_presets()
    unknown = sorted(set(presets or ()) - set(known))
    if unknown:
        raise InvalidAttributeSpec(f"no CLIP preset {', '.join(unknown)} (presets: {', '.join(known)})")
    attributes = [f"{preset}=clip@{annotator_id}" for preset in presets or ()]
    for line in filter(None, (line.strip() for line in (custom_attributes or "").splitlines())):
        name, colon, attribute_prompts = line.partition(":")
        if not colon or "|" not in attribute_prompts:
            raise InvalidAttributeSpec(
                f"custom attribute {line!r}: expected NAME: PROMPT | PROMPT (one attribute per line)"
            )
        if not _ATTRIBUTE_NAME.fullmatch(name.strip()):
            raise InvalidAttributeSpec(
                f"custom attribute name {name.strip()!r}: use letters, digits, _ . - (starting with a letter, digit or _)"
            )
        attributes.append(f"{name.strip()}=clip@{annotator_id}:{attribute_prompts.strip()}")
    specs = [parse_attribute_spec(text, allow_local=False) for text in attributes]
    names = [spec.name for spec in specs]
    if len(set(names)) != len(names):
        raise InvalidAttributeSpec(f"attribute names must differ: {', '.join(names)}")
    crowded = next((spec for spec in specs if len(spec.prompts) > MAX_ATTRIBUTE_VALUES), None)
    if crowded is not None:
        raise InvalidAttributeSpec(
            f"custom attribute {crowded.name} has {len(crowded.prompts)} values: at most {MAX_ATTRIBUTE_VALUES}"
        )
    return tuple(attributes)


def prompt_lines(text: str) -> tuple[str, ...]:
    """The non-blank lines of a prompts field, stripped, each once, in order."""
    return tuple(dict.fromkeys(filter(None, (line.strip() for line in (text or "").splitlines()))))


def checked_prompts(model: str, prompts: Sequence[str], *, how: str = "one per line") -> tuple[str, ...]:
    """``prompts`` within :data:`MAX_PROMPTS` and :data:`MAX_PROMPT_CHARS`; ``how`` says how to enter them."""
    if not prompts:
        raise InvalidSamplerConfig(f"{model} is a text-to-image model: enter at least one prompt ({how})")
    if len(prompts) > MAX_PROMPTS:
        raise InvalidSamplerConfig(f"{len(prompts)} prompts: at most {MAX_PROMPTS} per scan")
    too_long = next((prompt for prompt in prompts if len(prompt) > MAX_PROMPT_CHARS), None)
    if too_long is not None:
        raise InvalidSamplerConfig(
            f"prompt {too_long[:40]!r}... has {len(too_long)} characters: at most {MAX_PROMPT_CHARS}"
        )
    return tuple(prompts)


def checked_classes(model: str, classes: Sequence[int | str], num_classes: int) -> tuple[int, ...]:
    """Class ids (ints, or ``"ID: name"`` strings), each once, 1 to :data:`MAX_CLASSES` of the model's ``num_classes``."""
    try:
        ids = tuple(dict.fromkeys(int(str(value).partition(":")[0]) for value in classes or ()))
    except ValueError:
        raise InvalidSamplerConfig(f"classes must be class ids, got {list(classes)}") from None
    if not ids:
        raise InvalidSamplerConfig(f"{model} is a class-conditional model: choose at least one class")
    if len(ids) > MAX_CLASSES:
        raise InvalidSamplerConfig(f"{len(ids)} classes: at most {MAX_CLASSES} per scan")
    outside = [class_id for class_id in ids if not 0 <= class_id < num_classes]
    if outside:
        raise InvalidSamplerConfig(f"class {outside[0]} is not a class of {model} (0 to {num_classes - 1})")
    return ids


def checked_guidance(info: Mapping, value: float | None) -> float | None:
    """The guidance scale, 0 to :data:`MAX_GUIDANCE`, for a model that takes one (``info["default_guidance"]``); else None."""
    if info.get("default_guidance") is None or value is None:
        return None
    if not 0 <= float(value) <= MAX_GUIDANCE:  # NaN fails too
        raise InvalidSamplerConfig(f"guidance scale must be from 0 to {MAX_GUIDANCE:g}, got {value}")
    return float(value)


def whole_number(name: str, value: float | None, maximum: int) -> int:
    """``value`` as an int from 1 to ``maximum``, else :class:`InvalidSamplerConfig` naming the field ``name``."""
    if value is None or float(value) != int(value) or not 1 <= int(value) <= maximum:
        raise InvalidSamplerConfig(f"{name} must be a whole number from 1 to {maximum}, got {value}")
    return int(value)


def samples_per_condition(n: float | None, conditions: int, what: str) -> int:
    """Samples per condition, with ``conditions`` of them (``what``: ``"prompts"`` or ``"classes"``) at most
    :data:`MAX_SAMPLES` in all."""
    per_condition = whole_number("samples", n, MAX_SAMPLES)
    if per_condition * max(1, conditions) > MAX_SAMPLES:
        raise InvalidSamplerConfig(
            f"{per_condition} samples x {conditions} {what} = {per_condition * conditions}: at most {MAX_SAMPLES} samples per scan"
        )
    return per_condition


def describe_model(info: Mapping, asks: Mapping[str, str]) -> str:
    """One Markdown line for :func:`hubaudit.api.inspect_model`'s answer: the kind, and ``asks[kind]`` (what the form
    asks for it; a kind not in ``asks``: its pipeline is defined by repository code)."""
    kind = info.get("kind")
    defaults = [
        f"{info['default_steps']} steps" if info.get("default_steps") else "",
        f"guidance {info['default_guidance']:g}" if info.get("default_guidance") is not None else "",
    ]
    line = (
        f"**{kind or 'unknown kind'}** (`{info.get('pipeline_class')}` at `{str(info.get('resolved_sha'))[:12]}`): "
        f"{asks.get(kind, 'its pipeline is defined by repository code.')}"
    )
    return line + (f" Defaults: {', '.join(filter(None, defaults))}." if any(defaults) else "")


def class_choices(info: Mapping) -> list[tuple[str, int]]:
    """The model's classes as ``("ID: name", ID)`` (names where the model records them)."""
    names = {int(key): str(value) for key, value in (info.get("class_names") or {}).items()}
    ids = sorted(names) or range(int(info.get("num_classes") or 0))
    return [(f"{class_id}: {names[class_id]}" if class_id in names else str(class_id), class_id) for class_id in ids]


def inspected(model_id: str, revision: str, asks: Mapping[str, str]) -> tuple[str, dict | None]:
    """The check step: the Markdown line for the model (:func:`describe_model`) and :func:`hubaudit.api.inspect_model`'s
    answer (its ``to_dict()``: what the form's checks read); ``("", None)`` for a blank model id, and the one-line reason
    with None for a model that cannot be scanned."""
    if not (model_id or "").strip():
        return "", None
    try:
        info = inspect_model(model_reference(model_id, revision), allow_local=False).to_dict()
    except Exception as err:
        return f"**Cannot scan this model:** {error_line(err, 'the check')}", None
    return describe_model(info, asks), info


@dataclass(frozen=True)
class ScanRequest:
    """A checked web request: ``model`` is ``org/name[@revision]``, ``attributes`` ``NAME=SPEC`` strings.

    ``n`` is samples per condition: per prompt (``prompts``), per class (``classes``) or in all.
    """

    model: str
    attributes: tuple[str, ...]
    n: int
    steps: int
    prompts: tuple[str, ...] = ()
    classes: tuple[int, ...] = ()
    guidance_scale: float | None = None

    def scan_arguments(self) -> dict:
        """The keyword arguments of :func:`hubaudit.api.scan` this request sets."""
        return {
            "n": self.n,
            "steps": self.steps,
            "attributes": list(self.attributes),
            "prompts": list(self.prompts) or None,
            "classes": list(self.classes) or None,
            "guidance_scale": self.guidance_scale,
        }


def scan_request(
    model_id: str,
    revision: str,
    presets: Sequence[str],
    custom_attributes: str,
    annotator_id: str,
    n: float,
    steps: float,
    *,
    info: Mapping | None = None,
    prompts: str = "",
    classes: Sequence[int | str] = (),
    guidance: float | None = None,
) -> ScanRequest:
    """Check every field of the form; raises a :class:`HubAuditError` naming the first bad one.

    Presets and custom attributes (:func:`clip_attributes`) use the CLIP model ``annotator_id``.
    ``info`` is :func:`hubaudit.api.inspect_model`'s answer for the model: of ``prompts`` (one per line),
    ``classes`` and ``guidance``, only the fields its kind takes are read.
    """
    model = model_reference(model_id, revision)
    attributes = clip_attributes(presets, custom_attributes, annotator_id)
    if not attributes:
        raise InvalidAttributeSpec("choose at least one attribute (a preset or a custom CLIP attribute)")
    info = info or {}
    kind = info.get("kind")
    chosen_prompts = checked_prompts(model, prompt_lines(prompts)) if kind == "text-to-image" else ()
    chosen_classes = (
        checked_classes(model, classes, int(info.get("num_classes") or 0)) if kind == "class-conditional" else ()
    )
    per_condition = samples_per_condition(
        n, len(chosen_prompts) + len(chosen_classes), "prompts" if chosen_prompts else "classes"
    )
    return ScanRequest(
        model,
        attributes,
        per_condition,
        whole_number("steps", steps, MAX_STEPS),
        chosen_prompts,
        chosen_classes,
        checked_guidance(info, guidance),
    )


@dataclass(frozen=True)
class FairnessRequest:
    """A checked fairness request: ``sensitive`` is S's ``NAME=SPEC``; Y is read off the prompts of ``label_prompts``
    (prompt -> 0/1) or the ``classes`` with ``label_map`` (class -> 0/1; empty for a two-class model);
    ``n`` samples per prompt or class."""

    model: str
    sensitive: str
    n: int
    steps: int
    label_prompts: Mapping[str, int] = field(default_factory=dict)
    classes: tuple[int, ...] = ()
    label_map: Mapping[int, int] = field(default_factory=dict)
    guidance_scale: float | None = None

    def scan_arguments(self) -> dict:
        """The keyword arguments of :func:`hubaudit.api.scan` this request sets."""
        return {
            "n": self.n,
            "steps": self.steps,
            "attributes": [self.sensitive],
            "sensitive": [self.sensitive.partition("=")[0]],
            "labels": [LABEL],
            "label_prompts": dict(self.label_prompts) or None,
            "classes": list(self.classes) or None,
            "label_map": dict(self.label_map) or None,
            "guidance_scale": self.guidance_scale,
        }


def fairness_request(
    model_id: str,
    revision: str,
    presets: Sequence[str],
    custom_attribute: str,
    annotator_id: str,
    n: float,
    steps: float,
    *,
    info: Mapping | None = None,
    label_prompts: str = "",
    class_map: str = "",
    guidance: float | None = None,
) -> FairnessRequest:
    """Check every field of the fairness form; raises a :class:`HubAuditError` naming the first bad one.

    S is the one chosen CLIP preset or custom attribute line (as in the Scan tab) on the CLIP model ``annotator_id``.
    ``info`` is :func:`hubaudit.api.inspect_model`'s answer: a text-to-image model reads ``label_prompts``
    (``LABEL=PROMPT`` lines), a class-conditional one ``class_map`` (``CLASS=LABEL,...``); other kinds are refused.
    """
    model = model_reference(model_id, revision)
    attributes = clip_attributes(presets, custom_attribute, annotator_id)
    if len(attributes) != 1:
        raise InvalidAttributeSpec(
            f"choose one sensitive attribute, a preset or one custom CLIP attribute (got {len(attributes)})"
        )
    info = info or {}
    kind, num_classes = info.get("kind"), int(info.get("num_classes") or 0)
    prompts, classes, label_map = {}, (), {}
    if kind == "text-to-image":
        prompts = parse_label_prompts(prompt_lines(label_prompts))
        checked_prompts(model, tuple(prompts), how=LABEL_PROMPTS_HOW)
    elif kind == "class-conditional" and (class_map or "").strip():
        label_map = parse_label_map(class_map.strip())
        classes = checked_classes(model, list(label_map), num_classes)
    elif kind == "class-conditional" and num_classes == 2:
        classes = (0, 1)
    elif kind == "class-conditional":
        raise InvalidLabelMapping(
            f"{model} has {num_classes} classes: map the ones to scan to labels 0 and 1, e.g. 0=0,1=0,2=1"
        )
    else:
        raise InvalidLabelMapping(
            f"{model} is {kind or 'defined by repository code'}: the Fairness tab reads the label off "
            "prompts or classes, so it audits text-to-image and class-conditional models"
        )
    per_condition = samples_per_condition(n, len(prompts) + len(classes), "prompts" if prompts else "classes")
    return FairnessRequest(
        model,
        attributes[0],
        per_condition,
        whole_number("steps", steps, MAX_STEPS),
        prompts,
        classes,
        label_map,
        checked_guidance(info, guidance),
    )
