"""Tiny random flow-matching text-to-image families (FLUX Kontext and FLUX.2, Chroma, Lumina 2, CogView4,
Qwen-Image, Z-Image), built offline as diffusers' tests build them, and the control entries hubaudit refuses.

Each builder follows ``get_dummy_components`` of the family's test in diffusers
(``tests/pipelines/<family>/test_*.py``), with the offline tokenizers and text encoders of :mod:`text_encoders`.
"""

from __future__ import annotations

from dataclasses import replace

import torch
from diffusers import (
    AutoencoderKL,
    AutoencoderKLFlux2,
    AutoencoderKLQwenImage,
    ChromaPipeline,
    ChromaTransformer2DModel,
    CogView4Pipeline,
    CogView4Transformer2DModel,
    FlowMatchEulerDiscreteScheduler,
    Flux2KleinPipeline,
    Flux2Pipeline,
    Flux2Transformer2DModel,
    FluxKontextPipeline,
    Lumina2Pipeline,
    Lumina2Transformer2DModel,
    QwenImagePipeline,
    QwenImageTransformer2DModel,
    ZImagePipeline,
    ZImageTransformer2DModel,
)
from transformers import Qwen3ForCausalLM

from families_transformer import build_flux, one_level_autoencoder, text_to_image_family
from family_spec import Family
from text_encoders import (
    build_gemma_tokenizer,
    build_glm_tokenizer,
    build_mistral3_tokenizer,
    build_qwen2_tokenizer,
    build_t5_tokenizer,
    gemma2_encoder,
    glm_encoder,
    mistral3_encoder,
    qwen3_encoder,
    qwen25_vl_encoder,
    t5_encoder,
)


def build_chroma() -> ChromaPipeline:
    """Chroma: FLUX-style one double- and one single-stream block with a modulation approximator, T5 only."""
    transformer = ChromaTransformer2DModel(
        patch_size=1,
        in_channels=4,
        num_layers=1,
        num_single_layers=1,
        attention_head_dim=16,
        num_attention_heads=2,
        joint_attention_dim=32,
        axes_dims_rope=[4, 4, 8],
        approximator_hidden_dim=32,
        approximator_layers=1,
        approximator_num_channels=16,
    )
    tokenizer = build_t5_tokenizer()
    return ChromaPipeline(
        transformer=transformer,
        vae=one_level_autoencoder(latent_channels=1),
        scheduler=FlowMatchEulerDiscreteScheduler(),
        text_encoder=t5_encoder(tokenizer),
        tokenizer=tokenizer,
    )


def build_flux_kontext() -> FluxKontextPipeline:
    """FLUX Kontext: the FLUX.1 test model (same transformer, CLIP + T5) under the Kontext pipeline."""
    return FluxKontextPipeline(**build_flux().components)


FLUX2_TEXT_LAYERS = 30
"""Text-encoder layers of the tiny FLUX.2 models: the pipelines stack hidden states 10, 20, 30 (FLUX.2) and
9, 18, 27 (klein) by default, so the encoder is that deep (the diffusers tests make it 1-2 layers and pass
``text_encoder_out_layers=(1,)``, which a scan does not)."""


def _flux2_parts(joint_attention_dim: int, **transformer_options) -> dict:
    """The FLUX.2 tests' one double- and one single-stream transformer (text width ``joint_attention_dim``)
    and their one-level ``AutoencoderKLFlux2`` on 1-channel latents."""
    transformer = Flux2Transformer2DModel(
        patch_size=1,
        in_channels=4,
        num_layers=1,
        num_single_layers=1,
        attention_head_dim=16,
        num_attention_heads=2,
        joint_attention_dim=joint_attention_dim,
        timestep_guidance_channels=256,
        axes_dims_rope=[4, 4, 4, 4],
        **transformer_options,
    )
    vae = AutoencoderKLFlux2(
        sample_size=32,
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",),
        up_block_types=("UpDecoderBlock2D",),
        block_out_channels=(4,),
        layers_per_block=1,
        latent_channels=1,
        norm_num_groups=1,
        use_quant_conv=False,
        use_post_quant_conv=False,
    )
    return {"transformer": transformer, "vae": vae, "scheduler": FlowMatchEulerDiscreteScheduler()}


def build_flux2() -> Flux2Pipeline:
    """FLUX.2: guidance-distilled transformer reading three stacked 16-wide Mistral 3 hidden states (48 wide)."""
    tokenizer = build_mistral3_tokenizer()
    return Flux2Pipeline(
        **_flux2_parts(joint_attention_dim=3 * 16),
        text_encoder=mistral3_encoder(tokenizer, FLUX2_TEXT_LAYERS),
        tokenizer=tokenizer,
    )


def build_flux2_klein() -> Flux2KleinPipeline:
    """FLUX.2-klein: the FLUX.2 transformer without guidance embedding, three stacked Qwen3 hidden states."""
    tokenizer = build_qwen2_tokenizer()
    return Flux2KleinPipeline(
        **_flux2_parts(joint_attention_dim=3 * 16, guidance_embeds=False),
        text_encoder=qwen3_encoder(tokenizer, Qwen3ForCausalLM, num_hidden_layers=FLUX2_TEXT_LAYERS),
        tokenizer=tokenizer,
    )


def build_lumina2() -> Lumina2Pipeline:
    """Lumina 2: two-layer, 8-wide next-DiT on 4-channel latents, one-level autoencoder, 2-layer Gemma2."""
    transformer = Lumina2Transformer2DModel(
        sample_size=4,
        patch_size=2,
        in_channels=4,
        hidden_size=8,
        num_layers=2,
        num_attention_heads=1,
        num_kv_heads=1,
        multiple_of=16,
        ffn_dim_multiplier=None,
        norm_eps=1e-5,
        scaling_factor=1.0,
        axes_dim_rope=[4, 2, 2],
        cap_feat_dim=8,
    )
    tokenizer = build_gemma_tokenizer()
    encoder = gemma2_encoder(tokenizer, head_dim=4, intermediate_size=8, num_hidden_layers=2, sliding_window=2)
    return Lumina2Pipeline(
        transformer=transformer,
        vae=one_level_autoencoder(latent_channels=4),
        scheduler=FlowMatchEulerDiscreteScheduler(),
        text_encoder=encoder,
        tokenizer=tokenizer,
    )


def _two_level_autoencoder(latent_channels: int, **options) -> AutoencoderKL:
    """The CogView4/Z-Image tests' two-level ``AutoencoderKL`` (32 and 64 channels, downsamples by 2)."""
    return AutoencoderKL(
        block_out_channels=[32, 64],
        in_channels=3,
        out_channels=3,
        down_block_types=["DownEncoderBlock2D", "DownEncoderBlock2D"],
        up_block_types=["UpDecoderBlock2D", "UpDecoderBlock2D"],
        latent_channels=latent_channels,
        **options,
    )


def build_cogview4() -> CogView4Pipeline:
    """CogView4: two-layer DiT on 4-channel latents (two-level autoencoder), GLM text encoder, dynamic shift."""
    transformer = CogView4Transformer2DModel(
        patch_size=2,
        in_channels=4,
        num_layers=2,
        attention_head_dim=4,
        num_attention_heads=4,
        out_channels=4,
        text_embed_dim=32,
        time_embed_dim=8,
        condition_dim=4,
    )
    scheduler = FlowMatchEulerDiscreteScheduler(
        base_shift=0.25, max_shift=0.75, base_image_seq_len=256, use_dynamic_shifting=True, time_shift_type="linear"
    )
    tokenizer = build_glm_tokenizer()
    return CogView4Pipeline(
        transformer=transformer,
        vae=_two_level_autoencoder(4, sample_size=128),
        scheduler=scheduler,
        text_encoder=glm_encoder(tokenizer),
        tokenizer=tokenizer,
    )


def build_qwenimage() -> QwenImagePipeline:
    """Qwen-Image: two-layer MMDiT, the Qwen causal 3-D autoencoder (4 latent channels), Qwen2.5-VL encoder."""
    transformer = QwenImageTransformer2DModel(
        patch_size=2,
        in_channels=16,
        out_channels=4,
        num_layers=2,
        attention_head_dim=16,
        num_attention_heads=3,
        joint_attention_dim=16,
        guidance_embeds=False,
        axes_dims_rope=(8, 4, 4),
    )
    vae = AutoencoderKLQwenImage(
        base_dim=4 * 6,
        z_dim=4,
        dim_mult=[1, 2, 4],
        num_res_blocks=1,
        temperal_downsample=[False, True],
        latents_mean=[0.0] * 4,
        latents_std=[1.0] * 4,
    )
    tokenizer = build_qwen2_tokenizer()
    return QwenImagePipeline(
        transformer=transformer,
        vae=vae,
        scheduler=FlowMatchEulerDiscreteScheduler(),
        text_encoder=qwen25_vl_encoder(tokenizer),
        tokenizer=tokenizer,
    )


def build_z_image() -> ZImagePipeline:
    """Z-Image: two-layer single-stream DiT on 16-channel latents (two-level autoencoder), Qwen3 encoder."""
    transformer = ZImageTransformer2DModel(
        all_patch_size=(2,),
        all_f_patch_size=(1,),
        in_channels=16,
        dim=32,
        n_layers=2,
        n_refiner_layers=1,
        n_heads=2,
        n_kv_heads=2,
        norm_eps=1e-5,
        qk_norm=True,
        cap_feat_dim=16,
        rope_theta=256.0,
        t_scale=1000.0,
        axes_dims=[8, 4, 4],
        axes_lens=[256, 32, 32],
    )
    with torch.no_grad():  # drawn with torch.empty: fixed, as the diffusers test fixes them, so no NaN slips in
        transformer.x_pad_token.fill_(1.0)
        transformer.cap_pad_token.fill_(1.0)
    tokenizer = build_qwen2_tokenizer()
    vae = _two_level_autoencoder(
        16, layers_per_block=1, norm_num_groups=32, sample_size=32, scaling_factor=0.3611, shift_factor=0.1159
    )
    return ZImagePipeline(
        transformer=transformer,
        vae=vae,
        scheduler=FlowMatchEulerDiscreteScheduler(),
        text_encoder=qwen3_encoder(tokenizer),
        tokenizer=tokenizer,
    )


FAMILIES: dict[str, Family] = {
    family.name: family
    for family in (
        text_to_image_family("chroma", ChromaPipeline, build_chroma, (8, 8, 3), sized=True),
        text_to_image_family("flux2", Flux2Pipeline, build_flux2, (8, 8, 3), sized=True),
        text_to_image_family("flux2-klein", Flux2KleinPipeline, build_flux2_klein, (8, 8, 3), sized=True),
        text_to_image_family("flux-kontext", FluxKontextPipeline, build_flux_kontext, (8, 8, 3), sized=True),
        # the Lumina pipelines take the autoencoder to downsample by 8: the one-level one returns 32 / 8 = 4 pixels
        replace(
            text_to_image_family("lumina2", Lumina2Pipeline, build_lumina2, (32, 32, 3), sized=True),
            image_shape=(4, 4, 3),
        ),
        text_to_image_family("cogview4", CogView4Pipeline, build_cogview4, (16, 16, 3), sized=True),
        text_to_image_family("qwenimage", QwenImagePipeline, build_qwenimage, (32, 32, 3), sized=True),
        text_to_image_family("z-image", ZImagePipeline, build_z_image, (32, 32, 3), sized=True),
    )
}
"""Family name -> tiny flow-matching text-to-image family (image sizes those of the diffusers tests)."""
