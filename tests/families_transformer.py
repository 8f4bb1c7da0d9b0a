"""Tiny random transformer (DiT-style) text-to-image pipelines, built offline as diffusers' tests build them.

Each builder follows ``get_dummy_components`` of the family's test in diffusers
(``tests/pipelines/<family>/test_*.py``), with the offline tokenizers and text encoders of :mod:`text_encoders`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from diffusers import (
    AuraFlowPipeline,
    AuraFlowTransformer2DModel,
    AutoencoderDC,
    AutoencoderKL,
    DDIMScheduler,
    DiffusionPipeline,
    FlowMatchEulerDiscreteScheduler,
    FluxPipeline,
    FluxTransformer2DModel,
    PixArtAlphaPipeline,
    PixArtSigmaPipeline,
    PixArtTransformer2DModel,
    SanaPipeline,
    SanaTransformer2DModel,
    SD3Transformer2DModel,
    StableDiffusion3Pipeline,
)
from transformers import CLIPTextModel, CLIPTextModelWithProjection

import tiny_models
from family_spec import Family
from text_encoders import (
    GELU_CLIP,
    build_clip_tokenizer,
    build_gemma_tokenizer,
    build_t5_tokenizer,
    clip_text_config,
    gemma2_encoder,
    t5_encoder,
    umt5_encoder,
)

# --- autoencoders ------------------------------------------------------------------------------


def one_level_autoencoder(latent_channels: int) -> AutoencoderKL:
    """The SD3/Flux tests' 4-channel, one-level ``AutoencoderKL`` (no downsampling, no quant convs)."""
    return AutoencoderKL(
        sample_size=32,
        in_channels=3,
        out_channels=3,
        block_out_channels=(4,),
        layers_per_block=1,
        latent_channels=latent_channels,
        norm_num_groups=1,
        use_quant_conv=False,
        use_post_quant_conv=False,
        shift_factor=0.0609,
        scaling_factor=1.5035,
    )


def _sana_autoencoder() -> AutoencoderDC:
    """The Sana test's two-level ``AutoencoderDC`` (8 channels, downsamples by 2, 4 latent channels)."""
    return AutoencoderDC(
        in_channels=3,
        latent_channels=4,
        attention_head_dim=2,
        encoder_block_types=("ResBlock", "EfficientViTBlock"),
        decoder_block_types=("ResBlock", "EfficientViTBlock"),
        encoder_block_out_channels=(8, 8),
        decoder_block_out_channels=(8, 8),
        encoder_qkv_multiscales=((), (5,)),
        decoder_qkv_multiscales=((), (5,)),
        encoder_layers_per_block=(1, 1),
        decoder_layers_per_block=[1, 1],
        downsample_block_type="conv",
        upsample_block_type="interpolate",
        decoder_norm_types="rms_norm",
        decoder_act_fns="silu",
        scaling_factor=0.41407,
    )


# --- pipelines ---------------------------------------------------------------------------------


def build_stable_diffusion_3() -> StableDiffusion3Pipeline:
    """SD3: one-layer MMDiT on 4x32x32 latents (32x32 RGB), two projected CLIP encoders + T5."""
    transformer = SD3Transformer2DModel(
        sample_size=32,
        patch_size=1,
        in_channels=4,
        num_layers=1,
        attention_head_dim=8,
        num_attention_heads=4,
        caption_projection_dim=32,
        joint_attention_dim=32,
        pooled_projection_dim=64,
        out_channels=4,
    )
    clip_tokenizer, t5_tokenizer = build_clip_tokenizer(), build_t5_tokenizer()
    return StableDiffusion3Pipeline(
        transformer=transformer,
        vae=one_level_autoencoder(latent_channels=4),
        scheduler=FlowMatchEulerDiscreteScheduler(),
        text_encoder=CLIPTextModelWithProjection(clip_text_config(clip_tokenizer, **GELU_CLIP)),
        text_encoder_2=CLIPTextModelWithProjection(clip_text_config(clip_tokenizer, **GELU_CLIP)),
        text_encoder_3=t5_encoder(t5_tokenizer),
        tokenizer=clip_tokenizer,
        tokenizer_2=clip_tokenizer,
        tokenizer_3=t5_tokenizer,
    )


def build_flux() -> FluxPipeline:
    """FLUX.1: one double- and one single-stream block on 1-channel latents, CLIP + T5, no guidance embedding."""
    transformer = FluxTransformer2DModel(
        patch_size=1,
        in_channels=4,
        num_layers=1,
        num_single_layers=1,
        attention_head_dim=16,
        num_attention_heads=2,
        joint_attention_dim=32,
        pooled_projection_dim=32,
        axes_dims_rope=[4, 4, 8],
    )
    clip_tokenizer, t5_tokenizer = build_clip_tokenizer(), build_t5_tokenizer()
    return FluxPipeline(
        transformer=transformer,
        vae=one_level_autoencoder(latent_channels=1),
        scheduler=FlowMatchEulerDiscreteScheduler(),
        text_encoder=CLIPTextModel(clip_text_config(clip_tokenizer, **GELU_CLIP)),
        text_encoder_2=t5_encoder(t5_tokenizer),
        tokenizer=clip_tokenizer,
        tokenizer_2=t5_tokenizer,
    )


def build_pixart(pipeline_class: type[DiffusionPipeline]) -> DiffusionPipeline:
    """PixArt-alpha/-sigma: two-layer DiT on 4x8x8 latents (8x8 RGB, default ``AutoencoderKL``), T5, DDIM."""
    transformer = PixArtTransformer2DModel(
        sample_size=8,
        num_layers=2,
        patch_size=2,
        attention_head_dim=8,
        num_attention_heads=3,
        caption_channels=32,
        in_channels=4,
        cross_attention_dim=24,
        out_channels=8,
        attention_bias=True,
        activation_fn="gelu-approximate",
        num_embeds_ada_norm=1000,
        norm_type="ada_norm_single",
        norm_elementwise_affine=False,
        norm_eps=1e-6,
    )
    tokenizer = build_t5_tokenizer()
    return pipeline_class(
        transformer=transformer,
        vae=AutoencoderKL(),
        scheduler=DDIMScheduler(),
        text_encoder=t5_encoder(tokenizer),
        tokenizer=tokenizer,
    )


def build_sana() -> SanaPipeline:
    """Sana: one-layer linear-attention DiT, DC autoencoder (32x32 RGB <-> 4x16x16), Gemma2 text encoder."""
    transformer = SanaTransformer2DModel(
        patch_size=1,
        in_channels=4,
        out_channels=4,
        num_layers=1,
        num_attention_heads=2,
        attention_head_dim=4,
        num_cross_attention_heads=2,
        cross_attention_head_dim=4,
        cross_attention_dim=8,
        caption_channels=8,
        sample_size=32,
    )
    tokenizer = build_gemma_tokenizer()
    return SanaPipeline(
        transformer=transformer,
        vae=_sana_autoencoder(),
        scheduler=FlowMatchEulerDiscreteScheduler(shift=7.0),
        text_encoder=gemma2_encoder(tokenizer),
        tokenizer=tokenizer,
    )


def build_aura_flow() -> AuraFlowPipeline:
    """AuraFlow: one MMDiT + one single DiT layer on 4x32x32 latents (64x64 RGB), UMT5 text encoder.

    At these random weights the prompt barely reaches the image (it moves no uint8 pixel at 2 steps).
    """
    transformer = AuraFlowTransformer2DModel(
        sample_size=32,
        patch_size=2,
        in_channels=4,
        num_mmdit_layers=1,
        num_single_dit_layers=1,
        attention_head_dim=8,
        num_attention_heads=4,
        caption_projection_dim=32,
        joint_attention_dim=32,
        out_channels=4,
        pos_embed_max_size=256,
    )
    vae = AutoencoderKL(
        block_out_channels=[32, 64],
        in_channels=3,
        out_channels=3,
        down_block_types=["DownEncoderBlock2D", "DownEncoderBlock2D"],
        up_block_types=["UpDecoderBlock2D", "UpDecoderBlock2D"],
        latent_channels=4,
        sample_size=32,
    )
    tokenizer = build_t5_tokenizer()
    return AuraFlowPipeline(
        transformer=transformer,
        vae=vae,
        scheduler=FlowMatchEulerDiscreteScheduler(),
        text_encoder=umt5_encoder(tokenizer),
        tokenizer=tokenizer,
    )


SCAN = {"prompts": ["a photo of a face"], "steps": 2}
"""``hubaudit.scan`` arguments of a test scan of any of these families."""


def text_to_image_family(
    name: str,
    pipeline_class: type[DiffusionPipeline],
    build: Callable[[], DiffusionPipeline],
    image_shape: tuple[int, int, int],
    *,
    sized: bool = False,
) -> Family:
    """A text-to-image ``Family`` saving ``build()`` (weights drawn under seed 0), scanned with ``SCAN``.

    ``sized``: the scan asks for ``image_shape``'s height and width, where the pipeline's default
    size (Flux 128, Sana and AuraFlow 1024 pixels) does not fit the tiny model.
    """
    size = {"height": image_shape[0], "width": image_shape[1]} if sized else {}
    return Family(
        name=name,
        pipeline_class=pipeline_class.__name__,
        kind="text-to-image",
        save=partial(tiny_models.save_pipeline, build),
        scan={**SCAN, **size},
        image_shape=image_shape,
    )


FAMILIES: dict[str, Family] = {
    family.name: family
    for family in (
        text_to_image_family("stable-diffusion-3", StableDiffusion3Pipeline, build_stable_diffusion_3, (32, 32, 3)),
        text_to_image_family("flux", FluxPipeline, build_flux, (8, 8, 3), sized=True),
        text_to_image_family(
            "pixart-alpha", PixArtAlphaPipeline, partial(build_pixart, PixArtAlphaPipeline), (8, 8, 3)
        ),
        text_to_image_family(
            "pixart-sigma", PixArtSigmaPipeline, partial(build_pixart, PixArtSigmaPipeline), (8, 8, 3)
        ),
        text_to_image_family("sana", SanaPipeline, build_sana, (32, 32, 3), sized=True),
        text_to_image_family("aura-flow", AuraFlowPipeline, build_aura_flow, (64, 64, 3), sized=True),
    )
}
"""Family name -> tiny transformer text-to-image family (image sizes those of the diffusers tests)."""
