"""Every diffusers family the test Hub serves, one :class:`family_spec.Family` each.

The first seven are the kinds of :mod:`tiny_models`, then hubaudit's own NCSNv2; the others are built, as diffusers' own tests
build them (``get_dummy_components``), in :mod:`families_unet`, :mod:`families_transformer`,
:mod:`families_more` and :mod:`families_flow`.
:data:`REFUSED` lists the text-to-image entries of diffusers' ``AUTO_TEXT2IMAGE_PIPELINES_MAPPING`` hubaudit refuses, and
:func:`text_to_image_coverage` says of each entry of that mapping whether a family tests it or a refusal documents it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from diffusers.pipelines.auto_pipeline import AUTO_TEXT2IMAGE_PIPELINES_MAPPING

import families_flow
import families_more
import families_transformer
import families_unet
import tiny_models
from family_spec import Family

_STEPS = {"steps": 2}
_PROMPT = {"prompts": ["a photo of a face"], "steps": 2}

_KINDS = {
    "ddpm": ("DDPMPipeline", "unconditional", _STEPS),
    "ddim": ("DDIMPipeline", "unconditional", _STEPS),
    "score-sde-ve": ("ScoreSdeVePipeline", "unconditional", _STEPS),
    "ldm": ("LDMPipeline", "unconditional", _STEPS),
    "ddpm-class-conditional": ("DDPMPipeline", "class-conditional", {**_STEPS, "classes": [0, 2]}),
    "dit": ("DiTPipeline", "class-conditional", {**_STEPS, "classes": [1], "guidance_scale": 2.0}),
    "stable-diffusion": ("StableDiffusionPipeline", "text-to-image", {**_PROMPT, "guidance_scale": 3.0}),
}

FAMILIES: dict[str, Family] = {
    **{
        name: Family(
            name, pipeline_class, kind, partial(tiny_models.save_pipeline, tiny_models.SUPPORTED_PIPELINES[name]), scan
        )
        for name, (pipeline_class, kind, scan) in _KINDS.items()
    },
    "ncsnv2": Family(
        "ncsnv2",
        "NCSNv2Pipeline",
        "unconditional",
        partial(tiny_models.save_pipeline, tiny_models.build_ncsnv2),
        _STEPS,
    ),
    **families_unet.FAMILIES,
    **families_transformer.FAMILIES,
    **families_more.FAMILIES,
    **families_flow.FAMILIES,
}
"""Repository name on the test Hub -> family."""

REFUSED: dict[str, str] = {**families_more.REFUSED, **families_flow.REFUSED, **families_flow.NOT_BUILT}
"""``AUTO_TEXT2IMAGE_PIPELINES_MAPPING`` name -> why hubaudit refuses that entry (docs/supported-families.md lists it)."""

REFUSED_MODELS: dict[str, families_more.RefusedModel] = {**families_more.REFUSED_MODELS}
"""Mapping name -> a tiny model of that refused entry, and what hubaudit's one-line error says."""


@dataclass(frozen=True)
class MappingEntry:
    """One entry of diffusers' ``AUTO_TEXT2IMAGE_PIPELINES_MAPPING`` and what covers it.

    Attributes:
        name: the mapping's name (``stable-diffusion-3-pag``).
        pipeline_class: the class it maps to.
        families: names of the text-to-image families in :data:`FAMILIES` of that class.
        refusal: why hubaudit refuses it ('' if not refused).
    """

    name: str
    pipeline_class: str
    families: tuple[str, ...]
    refusal: str

    @property
    def covered(self) -> bool:
        return bool(self.families) or bool(self.refusal)


def text_to_image_coverage() -> list[MappingEntry]:
    """Each entry of the installed diffusers' text-to-image mapping, in its order, with what covers it."""
    return [
        MappingEntry(
            name,
            pipeline_class.__name__,
            tuple(
                family.name
                for family in FAMILIES.values()
                if family.kind == "text-to-image" and family.pipeline_class == pipeline_class.__name__
            ),
            REFUSED.get(name, ""),
        )
        for name, pipeline_class in AUTO_TEXT2IMAGE_PIPELINES_MAPPING.items()
    ]
