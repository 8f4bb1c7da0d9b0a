"""Resolve a model reference, load its pipeline safely, record the exact sha."""

from hubaudit.hub.loading import (
    SUPPORTED_PIPELINES,
    ResolvedModel,
    hub_errors,
    load_pipeline,
    pickle_only_components,
    resolve_model,
)
from hubaudit.hub.reference import ModelReference, parse_model_reference

__all__ = [
    "SUPPORTED_PIPELINES",
    "ModelReference",
    "ResolvedModel",
    "hub_errors",
    "load_pipeline",
    "parse_model_reference",
    "pickle_only_components",
    "resolve_model",
]
