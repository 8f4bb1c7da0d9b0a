"""Tiny random UNet pipelines of the diffusers families, built offline as diffusers' tests build them.

Each builder follows ``get_dummy_components`` of the family's test in diffusers
(``tests/pipelines/<family>/test_*.py``; the consistency-model UNets follow ``TEST_UNET_CONFIG`` of
``scripts/convert_consistency_to_diffusers.py``, from which ``diffusers/consistency-models-test`` was made).
Those tests download ``hf-internal-testing/tiny-random-clip``/``tiny-random-t5`` tokenizers; here the CLIP
tokenizer is the byte-level one of :mod:`tiny_models`, the T5 one a hand-built Unigram vocabulary, and
every text encoder's vocabulary (and special token ids) follows its tokenizer.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import torch
from diffusers import (
    AutoencoderKL,
    CMStochasticIterativeScheduler,
    ConsistencyModelPipeline,
    DDIMScheduler,
    DDPMScheduler,
    DiffusionPipeline,
    EulerDiscreteScheduler,
    IFPipeline,
    KandinskyV22CombinedPipeline,
    LatentConsistencyModelPipeline,
    LCMScheduler,
    PNDMPipeline,
    PNDMScheduler,
    PriorTransformer,
    StableDiffusionPipeline,
    StableDiffusionXLPipeline,
    UnCLIPScheduler,
    UNet2DConditionModel,
    UNet2DModel,
    VQModel,
)
from diffusers.pipelines.deepfloyd_if import IFWatermarker
from diffusers.pipelines.stable_diffusion import StableDiffusionSafetyChecker
from transformers import (
    CLIPConfig,
    CLIPImageProcessor,
    CLIPTextModel,
    CLIPTextModelWithProjection,
    CLIPVisionConfig,
    CLIPVisionModelWithProjection,
)

import tiny_models
from family_spec import Family
from text_encoders import GELU_CLIP, build_clip_tokenizer, build_t5_tokenizer, clip_text_config, t5_encoder

# --- autoencoders --------------------------------------------------------------------------------


def autoencoder_kl(block_out_channels: tuple[int, int], **options) -> AutoencoderKL:
    """The tests' two-level, 4-latent-channel ``AutoencoderKL`` (downsamples by 2)."""
    return AutoencoderKL(
        block_out_channels=block_out_channels,
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        latent_channels=4,
        **options,
    )


# --- pixel-space unconditional and class-conditional ------------------------------------------------


def build_pndm() -> PNDMPipeline:
    """PNDM: the test's 32/64-channel attention ``UNet2DModel`` on 32x32 RGB, default ``PNDMScheduler``."""
    unet = UNet2DModel(
        block_out_channels=(32, 64),
        layers_per_block=2,
        sample_size=32,
        in_channels=3,
        out_channels=3,
        down_block_types=("DownBlock2D", "AttnDownBlock2D"),
        up_block_types=("AttnUpBlock2D", "UpBlock2D"),
    )
    return PNDMPipeline(unet=unet, scheduler=PNDMScheduler())


PNDM_MIN_STEPS = 4
"""Fewest steps ``PNDMScheduler`` (with its Runge-Kutta warm-up, ``pndm_order`` 4) accepts."""


CONSISTENCY_CLASSES = 1000
"""Class embeddings of the class-conditional consistency UNet (as ``TEST_UNET_CONFIG``, ImageNet's count)."""


def build_consistency(num_class_embeds: int | None = None) -> ConsistencyModelPipeline:
    """Consistency model: ``diffusers/consistency-models-test``'s UNet (32x32 RGB), CM multistep sampler."""
    unet = UNet2DModel(
        sample_size=32,
        in_channels=3,
        out_channels=3,
        layers_per_block=2,
        num_class_embeds=num_class_embeds,
        block_out_channels=(32, 64),
        attention_head_dim=8,
        down_block_types=("ResnetDownsampleBlock2D", "AttnDownBlock2D"),
        up_block_types=("AttnUpBlock2D", "ResnetUpsampleBlock2D"),
        resnet_time_scale_shift="scale_shift",
        attn_norm_num_groups=32,
        upsample_type="resnet",
        downsample_type="resnet",
    )
    scheduler = CMStochasticIterativeScheduler(num_train_timesteps=40, sigma_min=0.002, sigma_max=80.0)
    return ConsistencyModelPipeline(unet=unet, scheduler=scheduler)


# --- latent text-to-image ----------------------------------------------------------------------------

_SCALED_LINEAR = dict(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear")
"""Stable Diffusion's training noise schedule."""

_SD_DDIM = dict(_SCALED_LINEAR, clip_sample=False, set_alpha_to_one=False, steps_offset=1)
"""The SD tests' DDIM (and LCM) scheduler options (``steps_offset`` 1, which SD pipelines would impose anyway)."""


def sd_unet(**options) -> UNet2DConditionModel:
    """The SD tests' two-level ``UNet2DConditionModel`` on 4x32x32 latents, cross-attention in the low level."""
    return UNet2DConditionModel(
        sample_size=32,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        **options,
    )


_SD1_SMALL = dict(block_out_channels=(4, 8), layers_per_block=1, norm_num_groups=2)
"""Width and depth of the SD 1.x and LCM tests' UNet and autoencoder."""


def _clip_text_parts(unet: UNet2DConditionModel, vae: AutoencoderKL, **text_fields) -> dict:
    """``unet``, ``vae``, a ``CLIPTextModel`` with the test's ``text_fields`` and its tokenizer."""
    tokenizer = build_clip_tokenizer()
    text_encoder = CLIPTextModel(clip_text_config(tokenizer, **text_fields))
    return dict(unet=unet, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer)


def tiny_safety_checker() -> StableDiffusionSafetyChecker:
    """A ``StableDiffusionSafetyChecker`` on ``tiny_models``' 32x32 CLIP vision tower (random: flags nothing)."""
    text_config = tiny_models.tiny_clip_text_config(len(build_clip_tokenizer()))
    vision_config = CLIPVisionConfig(**tiny_models._TINY_VISION_ENCODER, projection_dim=32)
    config = CLIPConfig(text_config=text_config.to_dict(), vision_config=vision_config.to_dict(), projection_dim=32)
    return StableDiffusionSafetyChecker(config)


def build_stable_diffusion_with_safety_checker() -> StableDiffusionPipeline:
    """SD 1.x (64x64 RGB, 8-wide CLIP text encoder, DDIM) with a real tiny safety checker, as SD 1.5 ships."""
    size = tiny_models.TINY_IMAGE_SIZE
    feature_extractor = CLIPImageProcessor(size={"shortest_edge": size}, crop_size={"height": size, "width": size})
    parts = _clip_text_parts(
        sd_unet(**_SD1_SMALL, cross_attention_dim=8),
        autoencoder_kl(**_SD1_SMALL),
        hidden_size=8,
        intermediate_size=16,
        num_attention_heads=2,
        num_hidden_layers=2,
    )
    return StableDiffusionPipeline(
        **parts,
        scheduler=DDIMScheduler(**_SD_DDIM),
        safety_checker=tiny_safety_checker(),
        feature_extractor=feature_extractor,
        requires_safety_checker=True,
    )


def build_stable_diffusion_2() -> StableDiffusionPipeline:
    """SD 2.x (768-v style): linear-projection UNet with per-level heads, GELU CLIP text encoder, v-prediction DDIM."""
    parts = _clip_text_parts(
        sd_unet(
            block_out_channels=(32, 64),
            layers_per_block=2,
            cross_attention_dim=32,
            attention_head_dim=(2, 4),
            use_linear_projection=True,
        ),
        autoencoder_kl((32, 64), sample_size=128),
        **GELU_CLIP,
        projection_dim=64,
    )
    return StableDiffusionPipeline(
        **parts,
        scheduler=DDIMScheduler(**_SD_DDIM, prediction_type="v_prediction"),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


def build_stable_diffusion_xl() -> StableDiffusionXLPipeline:
    """SDXL: text-time conditioned UNet (2/4 channels), CLIP text encoder + projected CLIP encoder, Euler."""
    unet = sd_unet(
        block_out_channels=(2, 4),
        layers_per_block=2,
        attention_head_dim=(2, 4),
        use_linear_projection=True,
        addition_embed_type="text_time",
        addition_time_embed_dim=8,
        transformer_layers_per_block=(1, 2),
        projection_class_embeddings_input_dim=80,  # 6 time ids x 8 + the 32-wide pooled text embedding
        cross_attention_dim=64,  # the two text encoders' hidden states, concatenated
        norm_num_groups=1,
    )
    tokenizer = build_clip_tokenizer()
    text_config = clip_text_config(tokenizer, **GELU_CLIP)
    return StableDiffusionXLPipeline(
        unet=unet,
        vae=autoencoder_kl((32, 64), sample_size=128),
        text_encoder=CLIPTextModel(text_config),
        tokenizer=tokenizer,
        text_encoder_2=CLIPTextModelWithProjection(text_config),
        tokenizer_2=tokenizer,
        scheduler=EulerDiscreteScheduler(**_SCALED_LINEAR, steps_offset=1, timestep_spacing="leading"),
    )


def build_lcm() -> LatentConsistencyModelPipeline:
    """Latent consistency model: SD 1.x-sized UNet with a guidance embedding (``time_cond_proj_dim``), LCM."""
    parts = _clip_text_parts(
        sd_unet(**_SD1_SMALL, cross_attention_dim=32, time_cond_proj_dim=32),
        autoencoder_kl(**_SD1_SMALL),
        intermediate_size=64,
        num_attention_heads=8,
        num_hidden_layers=3,
    )
    return LatentConsistencyModelPipeline(
        **parts,
        scheduler=LCMScheduler(**_SD_DDIM),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


def kandinsky_prior_parts() -> dict:
    """The Kandinsky 2.2 prior test's components (32-wide prior, CLIP text and 224x224 image towers)."""
    prior = PriorTransformer(num_attention_heads=2, attention_head_dim=12, embedding_dim=32, num_layers=1)
    # The test's fix: a zero clip_std makes post_process_latents return 0 whatever the prior says.
    prior.clip_std = torch.nn.Parameter(torch.ones(prior.clip_std.shape))
    vision_config = CLIPVisionConfig(
        hidden_size=32,
        image_size=224,
        projection_dim=32,
        intermediate_size=37,
        num_attention_heads=4,
        num_channels=3,
        num_hidden_layers=5,
        patch_size=14,
    )
    image_processor = CLIPImageProcessor(
        crop_size=224,
        do_center_crop=True,
        do_normalize=True,
        do_resize=True,
        resample=3,
        size=224,
        image_mean=[0.48145466, 0.4578275, 0.40821073],
        image_std=[0.26862954, 0.26130258, 0.27577711],
    )
    tokenizer = build_clip_tokenizer()
    text_encoder = CLIPTextModelWithProjection(clip_text_config(tokenizer, num_hidden_layers=5))
    scheduler = UnCLIPScheduler(
        variance_type="fixed_small_log",
        prediction_type="sample",
        num_train_timesteps=1000,
        clip_sample=True,
        clip_sample_range=10.0,
    )
    parts = dict(
        prior=prior,
        image_encoder=CLIPVisionModelWithProjection(vision_config),
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        scheduler=scheduler,
        image_processor=image_processor,
    )
    return {f"prior_{name}": part for name, part in parts.items()}


def kandinsky_movq() -> VQModel:
    """The Kandinsky tests' spatially normalised two-level ``VQModel`` (4 latent channels, downsamples by 2)."""
    return VQModel(
        block_out_channels=(32, 64),
        down_block_types=("DownEncoderBlock2D", "AttnDownEncoderBlock2D"),
        up_block_types=("AttnUpDecoderBlock2D", "UpDecoderBlock2D"),
        in_channels=3,
        out_channels=3,
        latent_channels=4,
        layers_per_block=1,
        norm_num_groups=8,
        norm_type="spatial",
        num_vq_embeddings=12,
        vq_embed_dim=4,
    )


def kandinsky_decoder_parts(addition_embed_type: str) -> dict:
    """The Kandinsky 2.x decoder tests' UNet (conditioned on ``addition_embed_type``: ``"image"`` in 2.2,
    ``"text_image"`` in 2.1), MoVQ and DDIM scheduler."""
    unet = UNet2DConditionModel(
        in_channels=4,
        out_channels=8,  # mean and variance
        addition_embed_type=addition_embed_type,
        down_block_types=("ResnetDownsampleBlock2D", "SimpleCrossAttnDownBlock2D"),
        up_block_types=("SimpleCrossAttnUpBlock2D", "ResnetUpsampleBlock2D"),
        mid_block_type="UNetMidBlock2DSimpleCrossAttn",
        block_out_channels=(32, 64),
        layers_per_block=1,
        encoder_hid_dim=32,
        encoder_hid_dim_type=f"{addition_embed_type}_proj",
        cross_attention_dim=32,
        attention_head_dim=4,
        resnet_time_scale_shift="scale_shift",
        class_embed_type=None,
    )
    scheduler = DDIMScheduler(**{**_SD_DDIM, "beta_schedule": "linear"})
    return {"unet": unet, "movq": kandinsky_movq(), "scheduler": scheduler}


def build_kandinsky_2_2() -> KandinskyV22CombinedPipeline:
    """Kandinsky 2.2 text-to-image in one repository: the prior's and the decoder's test components."""
    return KandinskyV22CombinedPipeline(**kandinsky_decoder_parts("image"), **kandinsky_prior_parts())


def build_deepfloyd_if() -> IFPipeline:
    """DeepFloyd IF stage I: pixel-space 32x32 text-conditioned UNet, T5 encoder, learned-variance DDPM."""
    unet = UNet2DConditionModel(
        sample_size=32,
        layers_per_block=1,
        block_out_channels=(32, 64),
        down_block_types=("ResnetDownsampleBlock2D", "SimpleCrossAttnDownBlock2D"),
        mid_block_type="UNetMidBlock2DSimpleCrossAttn",
        up_block_types=("SimpleCrossAttnUpBlock2D", "ResnetUpsampleBlock2D"),
        in_channels=3,
        out_channels=6,
        cross_attention_dim=32,
        encoder_hid_dim=32,
        attention_head_dim=8,
        addition_embed_type="text",
        addition_embed_type_num_heads=2,
        cross_attention_norm="group_norm",
        resnet_time_scale_shift="scale_shift",
        act_fn="gelu",
    )
    scheduler = DDPMScheduler(
        num_train_timesteps=1000,
        beta_schedule="squaredcos_cap_v2",
        beta_start=0.0001,
        beta_end=0.02,
        thresholding=True,
        dynamic_thresholding_ratio=0.95,
        sample_max_value=1.0,
        prediction_type="epsilon",
        variance_type="learned_range",
    )
    tokenizer = build_t5_tokenizer()
    text_encoder = t5_encoder(tokenizer)
    return IFPipeline(
        tokenizer=tokenizer,
        text_encoder=text_encoder,
        unet=unet,
        scheduler=scheduler,
        watermarker=IFWatermarker(),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


# --- families --------------------------------------------------------------------------------------

_STEPS = {"steps": 2}
_PROMPT = {"prompts": ["a photo of a face"], "steps": 2}


def save_with_card(build: Callable[[], DiffusionPipeline], path: Path) -> Path:
    """Save ``build()`` with a model card, as ``push_to_hub`` leaves one.

    diffusers reads the card of a pipeline with connected pipes (Kandinsky's combined pipelines)
    unconditionally when it downloads one from the Hub, and fails on a repository without it.
    """
    path = tiny_models.save_pipeline(build, path)
    (path / "README.md").write_text("---\nlibrary_name: diffusers\ntags:\n- text-to-image\n---\n")
    return path


def _family(
    name: str,
    pipeline_class: type[DiffusionPipeline],
    kind: str,
    build: Callable[[], DiffusionPipeline],
    scan: dict,
    side: int,
) -> Family:
    """A ``Family`` saving ``build()`` (weights drawn under seed 0) whose images are ``side`` x ``side`` RGB."""
    save = partial(
        save_with_card if getattr(pipeline_class, "_load_connected_pipes", False) else tiny_models.save_pipeline,
        build,
    )
    return Family(name, pipeline_class.__name__, kind, save, scan, image_shape=(side, side, 3))


FAMILIES: dict[str, Family] = {
    family.name: family
    for family in (
        _family("pndm", PNDMPipeline, "unconditional", build_pndm, {"steps": PNDM_MIN_STEPS}, 32),
        _family("consistency", ConsistencyModelPipeline, "unconditional", build_consistency, _STEPS, 32),
        _family(
            "consistency-class-conditional",
            ConsistencyModelPipeline,
            "class-conditional",
            partial(build_consistency, CONSISTENCY_CLASSES),
            {**_STEPS, "classes": [0, 2]},
            32,
        ),
        _family(
            "stable-diffusion-safety-checker",
            StableDiffusionPipeline,
            "text-to-image",
            build_stable_diffusion_with_safety_checker,
            _PROMPT,
            64,
        ),
        _family("stable-diffusion-2", StableDiffusionPipeline, "text-to-image", build_stable_diffusion_2, _PROMPT, 64),
        _family(
            "stable-diffusion-xl", StableDiffusionXLPipeline, "text-to-image", build_stable_diffusion_xl, _PROMPT, 64
        ),
        _family("lcm", LatentConsistencyModelPipeline, "text-to-image", build_lcm, _PROMPT, 64),
        _family(
            "kandinsky-2-2",
            KandinskyV22CombinedPipeline,
            "text-to-image",
            build_kandinsky_2_2,
            {**_PROMPT, "height": 64, "width": 64},
            64,
        ),
        _family("deepfloyd-if", IFPipeline, "text-to-image", build_deepfloyd_if, _PROMPT, 32),
    )
}
"""Family name -> tiny UNet family (image sizes those of the diffusers tests)."""
