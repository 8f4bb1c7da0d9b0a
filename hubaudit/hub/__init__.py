"""Resolve a model reference, check it from its files, load its pipeline safely, record the exact sha.

Importing this package does not import torch or diffusers: :mod:`hubaudit.hub.loading` does.
"""

from hubaudit.hub.pickles import pickle_only_components
from hubaudit.hub.reference import ModelReference, parse_model_reference
from hubaudit.hub.resolve import ResolvedModel, check_lora_scale, hub_errors, resolve_model, resolve_reference

__all__ = [
    "ModelReference",
    "ResolvedModel",
    "check_lora_scale",
    "hub_errors",
    "parse_model_reference",
    "pickle_only_components",
    "resolve_model",
    "resolve_reference",
]
