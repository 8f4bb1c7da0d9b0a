"""Annotators: images ``uint8 [N, H, W, C]`` -> probabilities ``[N, K]`` over an attribute's values.

Kinds: zero-shot CLIP/SigLIP (:class:`ClipAnnotator`), any Hub image classifier with a label
mapping (:class:`HubClassifierAnnotator`), and a CNN trained on auxiliary labelled data
(:func:`train_auxiliary_annotator`). Each can be saved and reloaded with :func:`load_annotator`;
:mod:`hubaudit.annotate.spec` parses the CLI's ``--attribute NAME=SPEC``.
"""

from hubaudit.annotate.auxiliary import AuxiliaryAnnotator, train_auxiliary_annotator
from hubaudit.annotate.base import Annotator, Attribute, resolve_device
from hubaudit.annotate.clip import CLIP_PRESETS, DEFAULT_CLIP_MODEL, ClipAnnotator
from hubaudit.annotate.hub_classifier import HubClassifierAnnotator
from hubaudit.annotate.saved import load_annotator
from hubaudit.annotate.spec import AttributeSpec, build_annotator, parse_attribute_spec

__all__ = [
    "CLIP_PRESETS",
    "DEFAULT_CLIP_MODEL",
    "Annotator",
    "Attribute",
    "AttributeSpec",
    "AuxiliaryAnnotator",
    "ClipAnnotator",
    "HubClassifierAnnotator",
    "build_annotator",
    "load_annotator",
    "parse_attribute_spec",
    "resolve_device",
    "train_auxiliary_annotator",
]
