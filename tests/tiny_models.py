"""Tiny random-weight models saved with ``save_pretrained`` (safetensors), built offline.

Every builder writes a folder a ``from_pretrained`` call loads, in well under a second on CPU.
Nothing here downloads anything: the CLIP tokenizer gets a hand-written byte-level vocabulary.
"""

from __future__ import annotations

import json
import os
import pickle
import tempfile
from collections.abc import Callable
from pathlib import Path

import torch
from diffusers import (
    AutoencoderKL,
    DDIMPipeline,
    DDIMScheduler,
    DDPMPipeline,
    DDPMScheduler,
    DiffusionPipeline,
    DiTPipeline,
    DiTTransformer2DModel,
    LDMPipeline,
    PNDMScheduler,
    ScoreSdeVePipeline,
    ScoreSdeVeScheduler,
    StableDiffusionPipeline,
    StableDiffusionUpscalePipeline,
    UNet2DConditionModel,
    UNet2DModel,
    VQModel,
)
from transformers import (
    CLIPConfig,
    CLIPImageProcessor,
    CLIPModel,
    CLIPProcessor,
    CLIPTextConfig,
    CLIPTextModel,
    CLIPTokenizer,
    CLIPVisionConfig,
    ViTConfig,
    ViTForImageClassification,
    ViTImageProcessor,
)

from hubaudit.annotate import AuxiliaryAnnotator
from hubaudit.annotate.auxiliary import SmallCNN
from hubaudit.annotate.base import Attribute
from hubaudit.families.ncsnv2 import NCSNv2Model
from hubaudit.families.ncsnv2_pipeline import AnnealedLangevinScheduler, NCSNv2Pipeline

TINY_IMAGE_SIZE = 32
"""Side (pixels) of the images the tiny CLIP and classifier expect."""

PIPELINE_IMAGE_SIZE = 16
"""Side (pixels) of the RGB images every tiny pipeline samples."""

LATENT_SIZE = PIPELINE_IMAGE_SIZE // 2
"""Side of the latents of the tiny latent pipelines (their autoencoders downsample once)."""

CLASS_LABELS = {0: "cat", 1: "dog", 2: "bird"}
"""Classes of the class-conditional tiny pipelines (DiT ``id2label``; the class-conditional DDPM's ids)."""

CLIP_MAX_TOKENS = 77
"""Token positions of the tiny CLIP text encoders (as real CLIP; the byte vocabulary spends one per character)."""


def byte_level_alphabet() -> list[str]:
    """The 256 printable characters GPT-2/CLIP byte-level BPE maps bytes to."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    printable += list(range(ord("®"), ord("ÿ") + 1))
    codes, extra = printable[:], 0
    for byte in range(256):
        if byte not in printable:
            codes.append(256 + extra)
            extra += 1
    return [chr(code) for code in codes]


def save_tiny_clip_tokenizer(path: Path) -> CLIPTokenizer:
    """Save a byte-level CLIP tokenizer (byte alphabet, ``</w>`` variants, the two specials, no merges)."""
    alphabet = byte_level_alphabet()
    tokens = alphabet + [char + "</w>" for char in alphabet] + ["<|startoftext|>", "<|endoftext|>"]
    vocabulary = {token: index for index, token in enumerate(tokens)}
    tokenizer = CLIPTokenizer(vocab=vocabulary, merges=[], model_max_length=CLIP_MAX_TOKENS)
    tokenizer.save_pretrained(path)
    return tokenizer


_TINY_TRANSFORMER = dict(hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4)
"""Width and depth of every tiny transformer encoder (CLIP towers, ViT)."""


def tiny_clip_text_config(vocab_size: int) -> CLIPTextConfig:
    """A 2-layer, 32-wide CLIP text encoder config over ``vocab_size`` tokens."""
    return CLIPTextConfig(
        **_TINY_TRANSFORMER,
        vocab_size=vocab_size,
        max_position_embeddings=CLIP_MAX_TOKENS,
        projection_dim=32,
        bos_token_id=vocab_size - 2,
        eos_token_id=vocab_size - 1,
        pad_token_id=vocab_size - 1,
    )


_TINY_VISION_ENCODER = dict(_TINY_TRANSFORMER, image_size=TINY_IMAGE_SIZE, patch_size=8)
"""Shape of the tiny vision transformers (CLIP image tower, ViT classifier): 16 patches of 8x8."""


def save_tiny_clip(path: Path) -> Path:
    """Save a tiny random ``CLIPModel`` + ``CLIPProcessor`` (32x32 images) to ``path``; return it."""
    path = Path(path)
    torch.manual_seed(0)
    tokenizer = save_tiny_clip_tokenizer(path)
    config = CLIPConfig(
        text_config=tiny_clip_text_config(len(tokenizer)).to_dict(),
        vision_config=CLIPVisionConfig(**_TINY_VISION_ENCODER, projection_dim=32).to_dict(),
        projection_dim=32,
    )
    CLIPModel(config).save_pretrained(path, safe_serialization=True)
    image_processor = CLIPImageProcessor(
        size={"shortest_edge": TINY_IMAGE_SIZE},
        crop_size={"height": TINY_IMAGE_SIZE, "width": TINY_IMAGE_SIZE},
    )
    CLIPProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(path)
    return path


def save_tiny_image_classifier(path: Path, id2label: dict[int, str]) -> Path:
    """Save a tiny random ``ViTForImageClassification`` + ``ViTImageProcessor`` (32x32) with ``id2label``."""
    path = Path(path)
    torch.manual_seed(0)
    config = ViTConfig(
        **_TINY_VISION_ENCODER,
        id2label={int(index): label for index, label in id2label.items()},
        label2id={label: int(index) for index, label in id2label.items()},
    )
    ViTForImageClassification(config).save_pretrained(path, safe_serialization=True)
    ViTImageProcessor(size={"height": TINY_IMAGE_SIZE, "width": TINY_IMAGE_SIZE}).save_pretrained(path)
    return path


def constant_annotator(folder, *, confusion, value_count=2):
    """Save an annotator that labels every image with the last value, with the given confusion matrix."""
    network = SmallCNN(1, value_count)
    with torch.no_grad():
        last = network.layers[-1]
        last.weight.zero_()
        last.bias.copy_(torch.arange(value_count, dtype=torch.float32) * 20)
    attribute = Attribute("is_zero", tuple(str(value) for value in range(value_count)))
    provenance = {
        "source": "test",
        "column": "is_zero",
        "training_size": 0,
        "held_out_size": 0,
        "epochs": 0,
        "seed": 0,
    }
    annotator = AuxiliaryAnnotator(
        attribute, network, image_size=16, channels=1, provenance=provenance, confusion=confusion
    )
    return annotator.save(folder)


# --- diffusers pipelines ------------------------------------------------------------------


_TWO_LEVELS = dict(layers_per_block=1, block_out_channels=(8, 16), norm_num_groups=4)
"""Depth and width of every tiny UNet and autoencoder: two resolutions, 8 then 16 channels."""


def _tiny_unet(*, sample_size: int, channels: int = 3, **options) -> UNet2DModel:
    """A two-level, 8/16-channel ``UNet2DModel`` on ``channels`` x ``sample_size`` x ``sample_size`` inputs."""
    return UNet2DModel(
        sample_size=sample_size,
        in_channels=channels,
        out_channels=channels,
        **_TWO_LEVELS,
        down_block_types=("DownBlock2D", "AttnDownBlock2D"),
        up_block_types=("AttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=8,
        **options,
    )


_TINY_AUTOENCODER = dict(
    in_channels=3,
    out_channels=3,
    down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
    up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
    **_TWO_LEVELS,
    sample_size=PIPELINE_IMAGE_SIZE,
)
"""Shared shape of the tiny autoencoders: 16x16 images <-> 8x8 latents."""


def _tiny_autoencoder_kl(**options) -> AutoencoderKL:
    return AutoencoderKL(latent_channels=4, **_TINY_AUTOENCODER, **options)


def build_ddpm() -> DDPMPipeline:
    """Unconditional pixel-space DDPM, 16x16 RGB."""
    return DDPMPipeline(unet=_tiny_unet(sample_size=PIPELINE_IMAGE_SIZE), scheduler=DDPMScheduler())


def build_ddim() -> DDIMPipeline:
    """Unconditional pixel-space DDIM, 16x16 RGB."""
    return DDIMPipeline(unet=_tiny_unet(sample_size=PIPELINE_IMAGE_SIZE), scheduler=DDIMScheduler())


def build_score_sde_ve() -> ScoreSdeVePipeline:
    """Score SDE (variance exploding) with a Fourier-time UNet, 16x16 RGB."""
    unet = _tiny_unet(sample_size=PIPELINE_IMAGE_SIZE, time_embedding_type="fourier")
    return ScoreSdeVePipeline(unet=unet, scheduler=ScoreSdeVeScheduler())


def build_ncsnv2(channels: int = 3) -> NCSNv2Pipeline:
    """hubaudit's NCSNv2 (a width-4 RefineNet, 16x16) with annealed Langevin dynamics over 4 noise levels, 2 steps each."""
    unet = NCSNv2Model(sample_size=PIPELINE_IMAGE_SIZE, in_channels=channels, ngf=4)
    scheduler = AnnealedLangevinScheduler(num_train_timesteps=4, sigma_begin=1.0, sigma_end=0.01, n_steps_each=2)
    return NCSNv2Pipeline(unet=unet, scheduler=scheduler)


def build_ldm() -> LDMPipeline:
    """Unconditional latent diffusion: VQ autoencoder (16x16 RGB <-> 3x8x8) + UNet + DDIM."""
    vqvae = VQModel(latent_channels=3, num_vq_embeddings=32, vq_embed_dim=3, **_TINY_AUTOENCODER)
    return LDMPipeline(vqvae=vqvae, unet=_tiny_unet(sample_size=LATENT_SIZE), scheduler=DDIMScheduler())


def build_ddpm_class_conditional() -> DDPMPipeline:
    """DDPM whose UNet takes ``class_labels`` in {0, 1, 2}; ``DDPMPipeline.__call__`` cannot sample it."""
    unet = _tiny_unet(sample_size=PIPELINE_IMAGE_SIZE, num_class_embeds=len(CLASS_LABELS))
    return DDPMPipeline(unet=unet, scheduler=DDPMScheduler())


def build_dit() -> DiTPipeline:
    """Class-conditional DiT on 4x8x8 latents (16x16 RGB), classes ``CLASS_LABELS``."""
    transformer = DiTTransformer2DModel(
        num_attention_heads=2,
        attention_head_dim=8,
        in_channels=4,
        out_channels=8,
        num_layers=1,
        norm_num_groups=4,
        sample_size=LATENT_SIZE,
        patch_size=2,
        num_embeds_ada_norm=1000,  # DiTPipeline hard-codes class 1000 as the unconditional class
    )
    pipeline = DiTPipeline(
        transformer=transformer, vae=_tiny_autoencoder_kl(), scheduler=DDIMScheduler(), id2label=CLASS_LABELS
    )
    pipeline.register_to_config(id2label=CLASS_LABELS)  # saved in model_index.json, as in facebook/DiT-XL-2-256
    return pipeline


def _stable_diffusion_parts(unet_in_channels: int, *, vae_scaling_factor: float = 0.18215, **unet_options) -> dict:
    """UNet2DConditionModel (8x8 latents), AutoencoderKL, CLIP text encoder + offline tokenizer."""
    with tempfile.TemporaryDirectory() as folder:
        tokenizer = save_tiny_clip_tokenizer(Path(folder))
    unet = UNet2DConditionModel(
        sample_size=LATENT_SIZE,
        in_channels=unet_in_channels,
        out_channels=4,
        **_TWO_LEVELS,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=32,
        attention_head_dim=4,
        **unet_options,
    )
    return dict(
        unet=unet,
        vae=_tiny_autoencoder_kl(scaling_factor=vae_scaling_factor),
        text_encoder=CLIPTextModel(tiny_clip_text_config(len(tokenizer))),
        tokenizer=tokenizer,
        safety_checker=None,
        feature_extractor=None,
    )


def build_stable_diffusion() -> StableDiffusionPipeline:
    """Text-to-image Stable Diffusion, 16x16 RGB, no safety checker."""
    return StableDiffusionPipeline(
        **_stable_diffusion_parts(4),
        scheduler=PNDMScheduler(skip_prk_steps=True, steps_offset=1),
        requires_safety_checker=False,
    )


def build_stable_diffusion_upscale() -> StableDiffusionUpscalePipeline:
    """An x2-latent Stable Diffusion upscaler: a real diffusers pipeline hubaudit does not sample."""
    return StableDiffusionUpscalePipeline(
        **_stable_diffusion_parts(7, vae_scaling_factor=0.08333, num_class_embeds=351),
        low_res_scheduler=DDPMScheduler(),
        scheduler=DDIMScheduler(),
        max_noise_level=350,
    )


SUPPORTED_PIPELINES: dict[str, Callable[[], DiffusionPipeline]] = {
    "ddpm": build_ddpm,
    "ddim": build_ddim,
    "score-sde-ve": build_score_sde_ve,
    "ldm": build_ldm,
    "ddpm-class-conditional": build_ddpm_class_conditional,
    "dit": build_dit,
    "stable-diffusion": build_stable_diffusion,
}
"""Kind name -> builder of a tiny random pipeline of each kind hubaudit samples (all 16x16 RGB)."""


def save_pipeline(
    build: Callable[[], DiffusionPipeline], path: Path, *, seed: int = 0, safe_serialization: bool = True
) -> Path:
    """Build with random weights drawn under ``seed`` and ``save_pretrained`` to ``path``; return ``path``."""
    path = Path(path)
    torch.manual_seed(seed)
    build().save_pretrained(path, safe_serialization=safe_serialization)
    return path


# --- repositories hubaudit must refuse ----------------------------------------------------


def save_pickle_only_ddpm(path: Path) -> Path:
    """A DDPM whose UNet weights are only ``diffusion_pytorch_model.bin`` (pickle)."""
    return save_pipeline(build_ddpm, path, safe_serialization=False)


REMOTE_PIPELINE_SOURCE = '''"""A pipeline class shipped in the repository: loading it runs this file."""

from diffusers import DDPMPipeline


class MyPipeline(DDPMPipeline):
    """DDPM under another name."""
'''


def save_remote_code_pipeline(path: Path) -> Path:
    """A DDPM whose ``model_index.json`` names ``["pipeline", "MyPipeline"]`` defined in ``pipeline.py``."""
    path = save_pipeline(build_ddpm, path)
    index_path = path / "model_index.json"
    model_index = json.loads(index_path.read_text())
    model_index["_class_name"] = ["pipeline", "MyPipeline"]
    index_path.write_text(json.dumps(model_index, indent=2))
    (path / "pipeline.py").write_text(REMOTE_PIPELINE_SOURCE)
    return path


def save_unsupported_pipeline(path: Path) -> Path:
    """A tiny, loadable ``StableDiffusionUpscalePipeline``."""
    return save_pipeline(build_stable_diffusion_upscale, path)


def _edit_model_index(path: Path, edit: Callable[[dict], None]) -> Path:
    index_path = Path(path) / "model_index.json"
    model_index = json.loads(index_path.read_text())
    edit(model_index)
    index_path.write_text(json.dumps(model_index, indent=2))
    return Path(path)


def save_misspelt_pipeline(path: Path) -> Path:
    """A DDPM whose ``_class_name`` is a typo (``DDPMPipline``): an unknown class, not remote code."""
    return _edit_model_index(save_pipeline(build_ddpm, path), lambda index: index.update(_class_name="DDPMPipline"))


def save_malformed_model_index(path: Path) -> Path:
    """A DDPM whose ``model_index.json`` is cut off mid-object (not valid JSON)."""
    path = save_pipeline(build_ddpm, path)
    index_path = path / "model_index.json"
    index_path.write_text(index_path.read_text()[:40])
    return path


class _MakesFolderWhenUnpickled:
    """Unpickling this runs ``os.mkdir(folder)``: the code a planted pickle would run."""

    def __init__(self, folder: Path):
        self.folder = str(folder)

    def __reduce__(self):
        return os.mkdir, (self.folder,)


def code_running_pickle(folder: Path, *, nested: bool = False) -> bytes:
    """A pickle whose loading creates ``folder`` (proof that code ran); ``nested`` hides it in a state dict."""
    payload = _MakesFolderWhenUnpickled(folder)
    return pickle.dumps({"weight": payload} if nested else payload)
