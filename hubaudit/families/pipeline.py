"""The base of hubaudit's own pipelines: components recorded as ``["hubaudit", class]``, loaded from safetensors only.

diffusers records a component defined outside its libraries under its full module path, and its
``DiffusionPipeline.from_pretrained`` looks a top-level ``_class_name`` up in diffusers. A
:class:`FamilyPipeline` records ``["hubaudit", class]`` instead, and its own :meth:`~FamilyPipeline.from_pretrained`
builds each component with that class's ``from_pretrained``, for the classes of
:data:`hubaudit.families.FAMILY_CLASSES` only: nothing a repository names can pick other code.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import torch
from diffusers import DiffusionPipeline, ModelMixin
from huggingface_hub import snapshot_download

from hubaudit import families

LOADED_FILES = ["model_index.json", "*/*.json", "*/*.safetensors"]
"""What :meth:`FamilyPipeline.from_pretrained` downloads of a Hub repository: configs and safetensors weights."""


class FamilyPipeline(DiffusionPipeline):
    """A ``DiffusionPipeline`` made of hubaudit's own classes (subclasses define ``__init__`` and ``__call__``)."""

    def register_modules(self, **components) -> None:
        """Set the components and record each in ``model_index.json`` as ``["hubaudit", class name]``."""
        super().register_modules(**components)
        self.register_to_config(
            **{name: (families.LIBRARY, type(component).__name__) for name, component in components.items()}
        )

    @classmethod
    def from_pretrained(
        cls,
        pretrained_model_name_or_path: str | Path,
        *,
        revision: str | None = None,
        token: str | None = None,
        local_files_only: bool = False,
        dtype: torch.dtype = torch.float32,
    ) -> FamilyPipeline:
        """Load the pipeline saved in a folder, or in a Hub repository at ``revision``; weights from safetensors only.

        Args:
            pretrained_model_name_or_path: a folder written by ``save_pretrained``, or a Hub repository id.
            revision, token, local_files_only: for a Hub repository, as ``huggingface_hub.snapshot_download`` takes them.
            dtype: the dtype of the networks' weights.

        Raises:
            ValueError: ``model_index.json`` names another pipeline class, or a component that is not one of
                hubaudit's classes (recorded as ``["hubaudit", class]``).
            OSError: a file is missing (a network without ``diffusion_pytorch_model.safetensors``, say).
        """
        folder = Path(pretrained_model_name_or_path)
        if not folder.is_dir():
            folder = Path(
                snapshot_download(
                    str(pretrained_model_name_or_path),
                    revision=revision,
                    token=token,
                    local_files_only=local_files_only,
                    allow_patterns=LOADED_FILES,
                )
            )
        model_index = json.loads((folder / "model_index.json").read_text(encoding="utf-8"))
        if model_index.get("_class_name") != cls.__name__:
            raise ValueError(f"model_index.json names pipeline {model_index.get('_class_name')!r}, not {cls.__name__}")
        components = {}
        for name in list(inspect.signature(cls.__init__).parameters)[1:]:
            spec = model_index.get(name)
            if not (
                isinstance(spec, list)
                and len(spec) == 2
                and spec[0] == families.LIBRARY
                and spec[1] in families.FAMILY_CLASSES
            ):
                raise ValueError(f"component {name!r} of model_index.json is {spec!r}, not one of hubaudit's classes")
            component_class = getattr(families, spec[1])
            options = {"dtype": dtype, "use_safetensors": True} if issubclass(component_class, ModelMixin) else {}
            components[name] = component_class.from_pretrained(folder, subfolder=name, **options)
        return cls(**components)
