"""Every diffusers family the test Hub serves, one :class:`family_spec.Family` each.

The first seven are the kinds of :mod:`tiny_models`, then hubaudit's own NCSNv2; the others are built, as diffusers' own tests
build them (``get_dummy_components``), in :mod:`families_unet`, :mod:`families_transformer` and :mod:`families_flow`.
"""

from __future__ import annotations

from functools import partial

import families_flow
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
    **families_flow.FAMILIES,
}
"""Repository name on the test Hub -> family."""
