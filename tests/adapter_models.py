"""Tiny adapter repositories (folders without ``model_index.json``) for the tiny Stable Diffusion and the
transformer families.

Each ``save_*`` function writes what organisations share instead of a whole pipeline: a LoRA in
the diffusers or the kohya layout, a textual-inversion embedding, or a single-file checkpoint in
the original LDM layout, with a README whose front matter names :data:`BASE_MODEL`. Each takes
a folder and returns it; nothing is downloaded. The LoRA and the embedding fit the UNet and the
CLIP of ``tiny_models.build_stable_diffusion``, whatever seed its weights were drawn under.
:func:`save_transformer_lora` writes a LoRA of the transformer of a saved family's pipeline.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import diffusers
import torch
from diffusers import StableDiffusionPipeline, UNet2DConditionModel
from diffusers.loaders.single_file_utils import DIFFUSERS_TO_LDM_MAPPING
from diffusers.models import AutoencoderKL
from diffusers.utils.state_dict_utils import convert_state_dict_to_kohya
from peft import LoraConfig, inject_adapter_in_model
from peft.utils import get_peft_model_state_dict
from safetensors.torch import save_file

import tiny_models

BASE_MODEL = "tiny/stable-diffusion"
"""The base the adapters' model cards name: the tiny Stable Diffusion on the test Hub."""

LORA_RANK = 4
LORA_TARGETS = ["to_q", "to_k", "to_v", "to_out.0"]
"""Attention projections the tiny LoRAs adapt (self- and cross-attention; diffusers' name in UNets and transformers)."""

DIFFUSERS_LORA_FILE = "pytorch_lora_weights.safetensors"
KOHYA_LORA_FILE = "tiny_face_kohya.safetensors"
TEXTUAL_INVERSION_FILE = "learned_embeds.safetensors"
TEXTUAL_INVERSION_TOKEN = "<tiny-face>"
TEXTUAL_INVERSION_VECTORS = 2
"""Rows of the embedding: the token stands for this many token positions."""
SINGLE_FILE = "tiny_sd_original.safetensors"


def write_model_card(
    folder: Path, base_model: str | list[str] | None = BASE_MODEL, *, tags: tuple[str, ...] = ()
) -> Path:
    """Write ``README.md`` with YAML front matter ``base_model`` (a string or a list) and ``tags``."""
    lines = ["---"]
    if isinstance(base_model, str):
        lines.append(f"base_model: {base_model}")
    elif base_model is not None:
        lines += ["base_model:"] + [f"- {name}" for name in base_model]
    lines += ["tags:"] + [f"- {tag}" for tag in ("diffusers", *tags)]
    lines += ["---", "", "# A tiny adapter for tests", ""]
    (folder / "README.md").write_text("\n".join(lines))
    return folder


def random_lora(model: torch.nn.Module, prefix: str, *, seed: int = 1) -> dict[str, torch.Tensor]:
    """A rank-4 random LoRA of ``model``'s attention projections (:data:`LORA_TARGETS`), drawn under ``seed`` and
    keyed ``<prefix>.<module>.lora_A|B.weight``.

    ``init_lora_weights=False`` draws both factors at random (peft's default zeroes B, which would
    change nothing); ``lora_alpha`` equals the rank, so the update is applied at scale 1. peft's own
    ``inject_adapter_in_model`` adds the layers to any model (HunyuanDiT's has no ``add_adapter``).
    """
    torch.manual_seed(seed)
    config = LoraConfig(r=LORA_RANK, lora_alpha=LORA_RANK, target_modules=LORA_TARGETS, init_lora_weights=False)
    inject_adapter_in_model(config, model)
    return {f"{prefix}.{name}": tensor.contiguous() for name, tensor in get_peft_model_state_dict(model).items()}


def tiny_unet_lora(*, seed: int = 1) -> dict[str, torch.Tensor]:
    """A random LoRA (:func:`random_lora`) of the tiny UNet's attention, keyed ``unet.<module>.lora_A|B.weight``."""
    return random_lora(tiny_models.build_stable_diffusion().unet, "unet", seed=seed)


def save_transformer_lora(base_folder: Path, base_model: str, folder: Path, *, seed: int = 1) -> Path:
    """A random LoRA (:func:`random_lora`) of the transformer of the pipeline saved in ``base_folder``, in the
    diffusers layout (what ``save_lora_weights`` writes: ``transformer.<module>.lora_A|B.weight`` in
    ``pytorch_lora_weights.safetensors``), its card naming ``base_model`` the base."""
    transformer_class = json.loads((Path(base_folder) / "model_index.json").read_text())["transformer"][1]
    transformer = getattr(diffusers, transformer_class).from_pretrained(Path(base_folder) / "transformer")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    save_file(random_lora(transformer, "transformer", seed=seed), folder / DIFFUSERS_LORA_FILE)
    return write_model_card(folder, base_model, tags=("lora",))


def save_diffusers_lora(folder: Path) -> Path:
    """A diffusers-layout LoRA (``pytorch_lora_weights.safetensors``), as ``save_lora_weights`` writes it."""
    folder = Path(folder)
    lora = {name.removeprefix("unet."): tensor for name, tensor in tiny_unet_lora().items()}
    StableDiffusionPipeline.save_lora_weights(folder, unet_lora_layers=lora, safe_serialization=True)
    return write_model_card(folder, tags=("lora",))


def save_kohya_lora(folder: Path) -> Path:
    """The same LoRA in the kohya layout: ``lora_unet_<module>.lora_down|lora_up.weight`` and ``.alpha``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    kohya = convert_state_dict_to_kohya(tiny_unet_lora())
    kohya = {name: tensor.float() if name.endswith(".alpha") else tensor for name, tensor in kohya.items()}
    save_file(kohya, folder / KOHYA_LORA_FILE)
    return write_model_card(folder, tags=("lora",))


def save_textual_inversion(folder: Path, *, seed: int = 2) -> Path:
    """A diffusers-layout embedding: ``{"<tiny-face>": [2, hidden size]}`` in ``learned_embeds.safetensors``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    hidden_size = tiny_models.tiny_clip_text_config(vocab_size=2).hidden_size
    generator = torch.Generator().manual_seed(seed)
    embedding = torch.randn(TEXTUAL_INVERSION_VECTORS, hidden_size, generator=generator)
    save_file({TEXTUAL_INVERSION_TOKEN: embedding}, folder / TEXTUAL_INVERSION_FILE)
    return write_model_card(folder, tags=("textual_inversion",))


# --- a single-file checkpoint in the original (LDM) layout -------------------------------


_LDM_RESNET = {
    "norm1": "in_layers.0",
    "conv1": "in_layers.2",
    "norm2": "out_layers.0",
    "conv2": "out_layers.3",
    "time_emb_proj": "emb_layers.1",
    "conv_shortcut": "skip_connection",
}
"""UNet resnet parameter names, diffusers -> LDM."""

_LDM_VAE_ATTENTION = {"group_norm": "norm", "to_q": "q", "to_k": "k", "to_v": "v", "to_out.0": "proj_out"}
"""Autoencoder mid-block attention parameter names, diffusers -> LDM (whose projections are 1x1 convolutions)."""


def _renamed(state_dict: dict[str, torch.Tensor], prefixes: dict[str, str], inner: dict[str, dict[str, str]]) -> dict:
    """Rename each key's longest matching prefix by ``prefixes``, then the name after it by ``inner[new prefix]``."""
    renamed = {}
    for key, tensor in state_dict.items():
        prefix = max((p for p in prefixes if key.startswith(p)), key=len, default="")
        rest = key[len(prefix) :]
        for old, new in inner.get(prefixes.get(prefix, ""), {}).items():
            if rest.startswith(old + "."):
                rest = new + rest[len(old) :]
                break
        renamed[prefixes.get(prefix, "") + rest] = tensor
    return renamed


def ldm_unet_state_dict(unet: UNet2DConditionModel) -> dict[str, torch.Tensor]:
    """The UNet's weights under the LDM names (``input_blocks``, ``middle_block``, ``output_blocks``).

    The inverse of ``diffusers``' ``convert_ldm_unet_checkpoint`` for any number of levels and
    ``layers_per_block``: level ``i`` holds LDM blocks ``(L + 1) * i + j``.
    """
    per_level = unet.config.layers_per_block + 1
    prefixes: dict[str, str] = {}
    for level, block in enumerate(unet.down_blocks):
        for j in range(len(block.resnets)):
            prefixes[f"down_blocks.{level}.resnets.{j}."] = f"input_blocks.{1 + per_level * level + j}.0."
        for j in range(len(getattr(block, "attentions", ()))):
            prefixes[f"down_blocks.{level}.attentions.{j}."] = f"input_blocks.{1 + per_level * level + j}.1."
        if block.downsamplers:
            prefixes[f"down_blocks.{level}.downsamplers.0.conv."] = f"input_blocks.{per_level * (level + 1)}.0.op."
    for j in range(len(unet.mid_block.resnets)):
        prefixes[f"mid_block.resnets.{j}."] = f"middle_block.{2 * j}."
    prefixes["mid_block.attentions.0."] = "middle_block.1."
    for level, block in enumerate(unet.up_blocks):
        attentions = len(getattr(block, "attentions", ()))
        for j in range(len(block.resnets)):
            prefixes[f"up_blocks.{level}.resnets.{j}."] = f"output_blocks.{per_level * level + j}.0."
        for j in range(attentions):
            prefixes[f"up_blocks.{level}.attentions.{j}."] = f"output_blocks.{per_level * level + j}.1."
        if block.upsamplers:
            slot = 2 if attentions else 1
            prefixes[f"up_blocks.{level}.upsamplers.0."] = f"output_blocks.{per_level * level + per_level - 1}.{slot}."
    resnet_renames = {new: _LDM_RESNET for old, new in prefixes.items() if ".resnets." in old}
    state_dict = {DIFFUSERS_TO_LDM_MAPPING["unet"]["layers"].get(k, k): v for k, v in unet.state_dict().items()}
    return _renamed(state_dict, prefixes, resnet_renames)


def ldm_vae_state_dict(vae: AutoencoderKL) -> dict[str, torch.Tensor]:
    """The autoencoder's weights under the LDM names (``encoder.down.i.block.j``, ``decoder.up.i``, ``mid.attn_1``)."""
    levels = len(vae.config.down_block_types)
    prefixes: dict[str, str] = {}
    for level in range(levels):
        for j in range(len(vae.encoder.down_blocks[level].resnets)):
            prefixes[f"encoder.down_blocks.{level}.resnets.{j}."] = f"encoder.down.{level}.block.{j}."
        prefixes[f"encoder.down_blocks.{level}.downsamplers.0."] = f"encoder.down.{level}.downsample."
        for j in range(len(vae.decoder.up_blocks[level].resnets)):
            prefixes[f"decoder.up_blocks.{level}.resnets.{j}."] = f"decoder.up.{levels - 1 - level}.block.{j}."
        prefixes[f"decoder.up_blocks.{level}.upsamplers.0."] = f"decoder.up.{levels - 1 - level}.upsample."
    for part in ("encoder", "decoder"):
        for j in range(2):
            prefixes[f"{part}.mid_block.resnets.{j}."] = f"{part}.mid.block_{j + 1}."
        prefixes[f"{part}.mid_block.attentions.0."] = f"{part}.mid.attn_1."
    resnet = {"conv_shortcut": "nin_shortcut"}
    inner = {new: _LDM_VAE_ATTENTION if ".attn_1." in new else resnet for new in prefixes.values()}
    to_ldm = DIFFUSERS_TO_LDM_MAPPING["vae"]
    state_dict = _renamed({to_ldm.get(k, k): v for k, v in vae.state_dict().items()}, prefixes, inner)
    return {
        key: tensor[:, :, None, None] if ".attn_1." in key and key.endswith(".weight") and tensor.ndim == 2 else tensor
        for key, tensor in state_dict.items()
    }


_LDM_CLIP_PREFIX = "cond_stage_model.transformer.text_model."
"""Prefix of the CLIP text encoder in SD 1.x checkpoints (transformers >= 5.6 has no ``text_model`` level)."""


def save_single_file_checkpoint(folder: Path, *, seed: int = 0) -> Path:
    """The tiny Stable Diffusion drawn under ``seed`` as one original-layout ``.safetensors`` file.

    Keys ``model.diffusion_model.*`` (UNet), ``first_stage_model.*`` (VAE) and
    ``cond_stage_model.transformer.text_model.*`` (CLIP text encoder), as the CompVis checkpoints. With the
    default seed its weights are those of ``tiny_models.save_pipeline(build_stable_diffusion, path)``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    pipeline = tiny_models.build_stable_diffusion()
    checkpoint = {
        **{f"model.diffusion_model.{k}": v for k, v in ldm_unet_state_dict(pipeline.unet).items()},
        **{f"first_stage_model.{k}": v for k, v in ldm_vae_state_dict(pipeline.vae).items()},
        **{_LDM_CLIP_PREFIX + k.removeprefix("text_model."): v for k, v in pipeline.text_encoder.state_dict().items()},
    }
    save_file({k: v.contiguous() for k, v in checkpoint.items()}, folder / SINGLE_FILE)
    return write_model_card(folder)


ADAPTER_REPOS: dict[str, Callable[[Path], Path]] = {
    "lora": save_diffusers_lora,
    "lora-kohya": save_kohya_lora,
    "textual-inversion": save_textual_inversion,
    "single-file": save_single_file_checkpoint,
}
"""Repository name -> function writing a tiny adapter repository of each kind for :data:`BASE_MODEL`."""
