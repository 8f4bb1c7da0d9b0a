"""The ``--attribute NAME=SPEC`` grammar: which annotator labels attribute NAME.

``NAME`` is letters, digits, ``_``, ``.``, ``-``. ``SPEC`` is one of::

    clip                              CLIP preset NAME (see CLIP_PRESETS: gender, young, age_group,
                                      skin_tone, eyeglasses, smiling, beard, blond_hair, hat)
    clip:PRESET                       CLIP preset PRESET under the name NAME
    clip:PROMPT|PROMPT[|...]          one prompt per value; the prompts are the value names
    clip:VALUE:PROMPT|VALUE:PROMPT    named values (VALUE is letters, digits, _ . -)
    clip@MODEL[:...]                  any of the above with another CLIP/SigLIP model
    hub:MODEL                         an image classifier; its labels are the values
    hub:MODEL:LABEL=VALUE,...         its labels mapped to values (several labels may share
                                      a value; unmapped labels are dropped; labels may hold
                                      spaces and commas)
    aux                               a CNN trained on the --aux-data column NAME
    aux:PATH                          the annotator saved in folder PATH (any kind)

``MODEL`` is ``org/name``, ``org/name@revision`` or a folder. Values are kept in the order
given, except that values named exactly ``0 .. K-1`` are put in numeric order so that they line
up with a 0/1 (or 0..K-1) data column. Examples::

    gender=clip
    smiling=clip:1:a photo of a smiling person|0:a photo of a person not smiling
    zero=clip@org/clip-model:a photo of the digit zero|a photo of another digit
    cat=hub:org/classifier:tabby, tabby cat=1,Egyptian cat=1,golden retriever=0
    zero=aux
    zero=aux:runs/zero-annotator
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import torch

from hubaudit.annotate.auxiliary import train_auxiliary_annotator
from hubaudit.annotate.base import Annotator, Attribute
from hubaudit.annotate.clip import CLIP_PRESETS, DEFAULT_CLIP_MODEL, ClipAnnotator
from hubaudit.annotate.hub_classifier import HubClassifierAnnotator
from hubaudit.annotate.saved import load_annotator
from hubaudit.data import LabelledImages
from hubaudit.errors import InvalidAttributeSpec, InvalidModelReference, LocalPathRefused
from hubaudit.hub import parse_model_reference

_NAME = re.compile(r"[A-Za-z0-9_][\w.-]*")
_NAMED_PROMPT = re.compile(r"\s*([\w.-]+)\s*:\s*(.+?)\s*")
_LABEL_MAPPING = re.compile(r"\s*([^=]+?)\s*=\s*([\w.-]+)\s*(?:,|$)")


@dataclass(frozen=True)
class ClipSpec:
    """Zero-shot CLIP: ``prompts`` maps value -> prompt; ``model_id`` may carry ``@revision``."""

    name: str
    prompts: dict[str, str]
    model_id: str = DEFAULT_CLIP_MODEL


@dataclass(frozen=True)
class HubClassifierSpec:
    """A Hub image classifier; ``label_to_value`` None means its labels are the values."""

    name: str
    model_id: str
    label_to_value: dict[str, str] | None = None


@dataclass(frozen=True)
class AuxTrainSpec:
    """Train a CNN on the auxiliary data column ``name``."""

    name: str


@dataclass(frozen=True)
class SavedAnnotatorSpec:
    """The annotator saved in folder ``path``, renamed ``name``."""

    name: str
    path: Path


AttributeSpec = ClipSpec | HubClassifierSpec | AuxTrainSpec | SavedAnnotatorSpec


def parse_attribute_spec(text: str, *, allow_local: bool = True) -> AttributeSpec:
    """Parse ``NAME=SPEC`` (grammar in the module docstring).

    ``allow_local=False`` (the Space) refuses model folders and saved annotators (``aux:PATH``).

    Raises:
        InvalidAttributeSpec: bad syntax, unknown preset, or a malformed model reference.
        LocalPathRefused: a folder or ``aux:PATH`` with ``allow_local=False``.
    """
    name, equals, spec = text.partition("=")
    name, spec = name.strip(), spec.strip()
    if not equals or not _NAME.fullmatch(name) or not spec:
        raise InvalidAttributeSpec(f"--attribute {text!r}: expected NAME=SPEC, e.g. gender=clip or zero=aux")
    kind, _, argument = spec.partition(":")
    try:
        if kind == "clip" or kind.startswith("clip@"):
            model_id = _model_id(kind.removeprefix("clip@"), allow_local) if kind != "clip" else DEFAULT_CLIP_MODEL
            return ClipSpec(name, _clip_prompts(name, argument, text), model_id)
        if kind == "hub":
            model_id, _, mapping = argument.partition(":")
            return HubClassifierSpec(
                name, _model_id(model_id, allow_local), _label_mapping(mapping, text) if mapping else None
            )
        if kind == "aux":
            if argument and not allow_local:
                raise LocalPathRefused(argument, "saved annotator")
            return SavedAnnotatorSpec(name, Path(argument).expanduser()) if argument else AuxTrainSpec(name)
    except InvalidModelReference as err:
        raise InvalidAttributeSpec(f"--attribute {text!r}: {err}") from err
    raise InvalidAttributeSpec(
        f"--attribute {text!r}: unknown annotator {kind!r} (use clip, clip@MODEL, hub:MODEL or aux)"
    )


def build_annotator(
    spec: AttributeSpec,
    *,
    device: str | torch.device | None = None,
    aux_data: LabelledImages | None = None,
    token: str | None = None,
    allow_pickle: bool = False,
    allow_local: bool = True,
) -> Annotator:
    """The annotator ``spec`` describes, with attribute name ``spec.name``.

    An annotator that is not trained here (CLIP, classifier, or a saved one) is calibrated on
    ``aux_data`` when it has a column ``spec.name`` (:class:`hubaudit.audit.properties.PropertyAudit`
    requires that column of every attribute): a saved annotator's own confusion matrix is then
    replaced (its ``calibration`` says so). A trained one keeps the confusion matrix of its
    own held-out split. ``allow_local=False`` refuses model folders.

    Raises:
        InvalidAttributeSpec: ``aux`` without ``aux_data`` or without the column ``spec.name``.
    """
    if isinstance(spec, AuxTrainSpec):
        if aux_data is None:
            raise InvalidAttributeSpec(
                f"{spec.name}=aux trains its annotator on labelled data: give aux_data with a column {spec.name!r}",
                options=["aux_data"],
            )
        if spec.name not in aux_data.columns:
            raise InvalidAttributeSpec(
                f"{spec.name}=aux trains its annotator on the column {spec.name!r} of aux_data, which has none "
                f"(columns: {', '.join(sorted(aux_data.columns)) or 'none'})",
                options=["aux_data"],
            )
        return train_auxiliary_annotator(aux_data, spec.name, device=device)
    hub_options = {"token": token, "device": device, "allow_pickle": allow_pickle, "allow_local": allow_local}
    if isinstance(spec, ClipSpec):
        annotator: Annotator = ClipAnnotator(spec.name, spec.prompts, model_id=spec.model_id, **hub_options)
    elif isinstance(spec, HubClassifierSpec):
        annotator = HubClassifierAnnotator(spec.name, spec.model_id, label_to_value=spec.label_to_value, **hub_options)
    else:
        annotator = load_annotator(
            spec.path, token=token, device=device, allow_pickle=allow_pickle
        )  # aux:PATH needs allow_local
        annotator.attribute = Attribute(spec.name, annotator.attribute.values)
    if aux_data is not None and spec.name in aux_data.columns:
        annotator.calibrate(aux_data, spec.name)
    return annotator


def _model_id(text: str, allow_local: bool) -> str:
    """``text`` checked to be ``org/name[@revision]`` or (``allow_local``) an existing folder."""
    parse_model_reference(text, allow_local=allow_local)
    return text


def _clip_prompts(name: str, argument: str, text: str) -> dict[str, str]:
    """Value -> prompt from a preset name (``argument`` empty: preset ``name``) or a prompt list."""
    if "|" not in argument:
        preset = argument.strip() or name
        if preset not in CLIP_PRESETS:
            raise InvalidAttributeSpec(
                f"--attribute {text!r}: no CLIP preset {preset!r} (presets: {', '.join(CLIP_PRESETS)})"
            )
        return dict(CLIP_PRESETS[preset])
    items = argument.split("|")
    named = [_NAMED_PROMPT.fullmatch(item) for item in items]
    if all(named):
        prompts = {match.group(1): match.group(2) for match in named}
    elif not any(named):
        prompts = {item.strip(): item.strip() for item in items}
    else:
        raise InvalidAttributeSpec(f"--attribute {text!r}: name every value (VALUE:PROMPT) or none")
    if len(prompts) != len(items) or not all(prompts.values()):
        raise InvalidAttributeSpec(f"--attribute {text!r}: needs distinct, non-empty values and prompts")
    return prompts


def _label_mapping(mapping: str, text: str) -> dict[str, str]:
    """``LABEL=VALUE,...`` as a dict; labels may hold commas and spaces, values may not."""
    label_to_value, position = {}, 0
    while position < len(mapping):
        match = _LABEL_MAPPING.match(mapping, position)
        if match is None or match.group(1) in label_to_value:
            raise InvalidAttributeSpec(
                f"--attribute {text!r}: expected LABEL=VALUE,... with each label once, at {mapping[position:]!r}"
            )
        label_to_value[match.group(1)] = match.group(2)
        position = match.end()
    return label_to_value
