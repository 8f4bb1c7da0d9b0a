"""Tiny random flow-matching text-to-image families (FLUX Kontext, FLUX.2 and klein, Chroma, Lumina 1 and 2,
CogView 3-Plus and 4, Qwen-Image, Z-Image and Omni, Ovis-Image, NucleusMoE-Image, GLM-Image), built offline as
diffusers' tests build them and named by their ``AUTO_TEXT2IMAGE_PIPELINES_MAPPING`` entry; the control entries
hubaudit refuses (``REFUSED``) and those not built yet (``NOT_BUILT``), each with its reason.

Each builder follows ``get_dummy_components`` of the family's test in diffusers
(``tests/pipelines/<family>/test_*.py``), with the offline tokenizers and text encoders of :mod:`text_encoders`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import partial

import torch
from diffusers import (
    AutoencoderKL,
    AutoencoderKLFlux2,
    AutoencoderKLQwenImage,
    ChromaPipeline,
    ChromaTransformer2DModel,
    CogVideoXDDIMScheduler,
    CogView3PlusPipeline,
    CogView3PlusTransformer2DModel,
    CogView4Pipeline,
    CogView4Transformer2DModel,
    DiffusionPipeline,
    FlowMatchEulerDiscreteScheduler,
    Flux2KleinPipeline,
    Flux2Pipeline,
    Flux2Transformer2DModel,
    FluxKontextPipeline,
    GlmImagePipeline,
    GlmImageTransformer2DModel,
    Lumina2Pipeline,
    Lumina2Transformer2DModel,
    LuminaNextDiT2DModel,
    LuminaPipeline,
    NucleusMoEImagePipeline,
    NucleusMoEImageTransformer2DModel,
    OvisImagePipeline,
    OvisImageTransformer2DModel,
    QwenImagePipeline,
    QwenImageTransformer2DModel,
    ZImageOmniPipeline,
    ZImagePipeline,
    ZImageTransformer2DModel,
)
from diffusers.pipelines.auto_pipeline import AUTO_TEXT2IMAGE_PIPELINES_MAPPING
from transformers import (
    ByT5Tokenizer,
    Qwen3ForCausalLM,
    Siglip2ImageProcessorPil,
    Siglip2VisionConfig,
    Siglip2VisionModel,
)

from families_transformer import build_flux, one_level_autoencoder, text_to_image_family
from family_spec import Family
from hubaudit.sampling import signature_refusal
from text_encoders import (
    build_gemma_tokenizer,
    build_glm_image_processor,
    build_glm_tokenizer,
    build_mistral3_tokenizer,
    build_qwen2_tokenizer,
    build_t5_tokenizer,
    gemma2_encoder,
    gemma_encoder,
    glm_encoder,
    glm_image_encoder,
    mistral3_encoder,
    qwen3_encoder,
    qwen3_vl_encoder,
    qwen25_vl_encoder,
    t5_encoder,
)


def _assemble(
    pipeline_class: type[DiffusionPipeline],
    transformer: torch.nn.Module,
    vae: torch.nn.Module,
    tokenizer,
    text_encoder: Callable,
    scheduler=None,
) -> DiffusionPipeline:
    """``pipeline_class`` of one tokenizer and ``text_encoder(tokenizer)``; a default flow-matching Euler scheduler."""
    return pipeline_class(
        transformer=transformer,
        vae=vae,
        scheduler=scheduler or FlowMatchEulerDiscreteScheduler(),
        text_encoder=text_encoder(tokenizer),
        tokenizer=tokenizer,
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
    return _assemble(
        ChromaPipeline, transformer, one_level_autoencoder(latent_channels=1), build_t5_tokenizer(), t5_encoder
    )


def build_flux_kontext() -> FluxKontextPipeline:
    """FLUX Kontext: the FLUX.1 test model (same transformer, CLIP + T5) under the Kontext pipeline."""
    return FluxKontextPipeline(**build_flux().components)


FLUX2_TEXT_LAYERS = 30
"""Text-encoder layers of the tiny FLUX.2 models: the pipelines stack hidden states 10, 20, 30 (FLUX.2) and
9, 18, 27 (klein) by default, so the encoder is that deep (the diffusers tests make it 1-2 layers and pass
``text_encoder_out_layers=(1,)``, which a scan does not)."""


def flux2_autoencoder() -> AutoencoderKLFlux2:
    """The FLUX.2 tests' one-level ``AutoencoderKLFlux2`` on 1-channel latents (one 4-wide block, no quant convs)."""
    return AutoencoderKLFlux2(
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


def _flux2_parts(joint_attention_dim: int, **transformer_options) -> dict:
    """The FLUX.2 tests' one double- and one single-stream transformer (text width ``joint_attention_dim``)
    and their autoencoder (:func:`flux2_autoencoder`)."""
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
    return {"transformer": transformer, "vae": flux2_autoencoder(), "scheduler": FlowMatchEulerDiscreteScheduler()}


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


_LUMINA_DIT = dict(
    sample_size=4,
    patch_size=2,
    in_channels=4,
    num_layers=2,
    num_attention_heads=1,
    num_kv_heads=1,
    multiple_of=16,
    ffn_dim_multiplier=None,
    norm_eps=1e-5,
    scaling_factor=1.0,
)
"""What the Lumina and Lumina 2 tests' two-layer next-DiTs share (4-channel 4x4 latents, patches of 2)."""


def build_lumina2() -> Lumina2Pipeline:
    """Lumina 2: two-layer, 8-wide next-DiT on 4-channel latents, one-level autoencoder, 2-layer Gemma2."""
    transformer = Lumina2Transformer2DModel(**_LUMINA_DIT, hidden_size=8, axes_dim_rope=[4, 2, 2], cap_feat_dim=8)
    encoder = partial(gemma2_encoder, head_dim=4, intermediate_size=8, num_hidden_layers=2, sliding_window=2)
    return _assemble(
        Lumina2Pipeline, transformer, one_level_autoencoder(latent_channels=4), build_gemma_tokenizer(), encoder
    )


def build_lumina() -> LuminaPipeline:
    """Lumina-Next: two-layer, 4-wide next-DiT on 4-channel latents, default one-level autoencoder, Gemma."""
    transformer = LuminaNextDiT2DModel(
        **_LUMINA_DIT, hidden_size=4, learn_sigma=True, qk_norm=True, cross_attention_dim=8
    )
    return _assemble(LuminaPipeline, transformer, AutoencoderKL(), build_gemma_tokenizer(), gemma_encoder)


def build_ovis() -> OvisImagePipeline:
    """Ovis-Image: FLUX-style one double- and one single-stream block on 1-channel latents, Qwen3 (32 wide)."""
    transformer = OvisImageTransformer2DModel(
        patch_size=1,
        in_channels=4,
        out_channels=4,
        num_layers=1,
        num_single_layers=1,
        attention_head_dim=16,
        num_attention_heads=2,
        joint_attention_dim=32,
        axes_dims_rope=(4, 4, 8),
    )
    encoder = partial(
        qwen3_encoder, hidden_size=32, intermediate_size=64, num_attention_heads=4, num_key_value_heads=2, head_dim=8
    )
    return _assemble(
        OvisImagePipeline, transformer, one_level_autoencoder(latent_channels=1), build_qwen2_tokenizer(), encoder
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
    return _assemble(
        CogView4Pipeline,
        transformer,
        _two_level_autoencoder(4, sample_size=128),
        build_glm_tokenizer(),
        glm_encoder,
        scheduler=scheduler,
    )


def build_cogview3() -> CogView3PlusPipeline:
    """CogView3-Plus: one-layer DiT on 4-channel latents (two-level autoencoder), T5, CogVideoX DDIM."""
    transformer = CogView3PlusTransformer2DModel(
        patch_size=2,
        in_channels=4,
        num_layers=1,
        attention_head_dim=4,
        num_attention_heads=2,
        out_channels=4,
        text_embed_dim=32,
        time_embed_dim=8,
        condition_dim=2,
        pos_embed_max_size=8,
        sample_size=8,
    )
    return _assemble(
        CogView3PlusPipeline,
        transformer,
        _two_level_autoencoder(4, sample_size=128),
        build_t5_tokenizer(),
        t5_encoder,
        scheduler=CogVideoXDDIMScheduler(),
    )


def qwen_autoencoder() -> AutoencoderKLQwenImage:
    """The Qwen-Image and NucleusMoE tests' causal 3-D autoencoder (4 latent channels, downsamples by 8)."""
    return AutoencoderKLQwenImage(
        base_dim=4 * 6,
        z_dim=4,
        dim_mult=[1, 2, 4],
        num_res_blocks=1,
        temperal_downsample=[False, True],
        latents_mean=[0.0] * 4,
        latents_std=[1.0] * 4,
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
    return _assemble(QwenImagePipeline, transformer, qwen_autoencoder(), build_qwen2_tokenizer(), qwen25_vl_encoder)


NUCLEUS_TEXT_LAYERS = 8
"""Text-encoder layers of the tiny NucleusMoE model: the pipeline reads hidden state -8 by default."""


def build_nucleusmoe_image() -> NucleusMoEImagePipeline:
    """NucleusMoE-Image: two-layer DiT (experts off, as the test has it), Qwen autoencoder, 8-layer Qwen3-VL.

    Its ``processor`` (a Qwen3-VL processor on the Hub, which needs torchvision) is the Qwen2 tokenizer:
    the text-only call uses only its chat template and ``__call__``.
    """
    transformer = NucleusMoEImageTransformer2DModel(
        patch_size=2,
        in_channels=16,
        out_channels=4,
        num_layers=2,
        attention_head_dim=16,
        num_attention_heads=4,
        joint_attention_dim=16,
        axes_dims_rope=(8, 4, 4),
        moe_enabled=False,
        capacity_factors=[8.0, 8.0],
    )
    tokenizer = build_qwen2_tokenizer()
    return NucleusMoEImagePipeline(
        transformer=transformer,
        vae=qwen_autoencoder(),
        scheduler=FlowMatchEulerDiscreteScheduler(),
        text_encoder=qwen3_vl_encoder(tokenizer, NUCLEUS_TEXT_LAYERS),
        processor=tokenizer,
    )


def build_glm_image() -> GlmImagePipeline:
    """GLM-Image: an autoregressive GLM-Image model draws prior tokens, a two-layer DiT on 4-channel latents (a
    four-level autoencoder: patch 2 x 8 = the 16 pixels a prior token covers) renders them, ByT5 + T5 for glyphs."""
    transformer = GlmImageTransformer2DModel(
        patch_size=2,
        in_channels=4,
        out_channels=4,
        num_layers=2,
        attention_head_dim=8,
        num_attention_heads=2,
        text_embed_dim=32,
        time_embed_dim=16,
        condition_dim=8,
        prior_vq_quantizer_codebook_size=128,
    )
    vae = AutoencoderKL(
        block_out_channels=(4, 8, 16, 16),
        in_channels=3,
        out_channels=3,
        down_block_types=["DownEncoderBlock2D"] * 4,
        up_block_types=["UpDecoderBlock2D"] * 4,
        latent_channels=4,
        norm_num_groups=4,
        sample_size=128,
        latents_mean=[0.0] * 4,
        latents_std=[1.0] * 4,
    )
    processor, tokenizer = build_glm_image_processor(), ByT5Tokenizer()
    return GlmImagePipeline(
        tokenizer=tokenizer,
        processor=processor,
        text_encoder=t5_encoder(tokenizer),
        vision_language_encoder=glm_image_encoder(processor),
        vae=vae,
        transformer=transformer,
        scheduler=FlowMatchEulerDiscreteScheduler(),
    )


def _z_image_parts(**transformer_options) -> dict:
    """The Z-Image test's two-layer single-stream DiT on 16-channel latents, two-level autoencoder, Qwen3 encoder."""
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
        **transformer_options,
    )
    with torch.no_grad():  # drawn with torch.empty: fixed, as the diffusers test fixes them, so no NaN slips in
        transformer.x_pad_token.fill_(1.0)
        transformer.cap_pad_token.fill_(1.0)
    tokenizer = build_qwen2_tokenizer()
    vae = _two_level_autoencoder(
        16, layers_per_block=1, norm_num_groups=32, sample_size=32, scaling_factor=0.3611, shift_factor=0.1159
    )
    return {
        "transformer": transformer,
        "vae": vae,
        "scheduler": FlowMatchEulerDiscreteScheduler(),
        "text_encoder": qwen3_encoder(tokenizer),
        "tokenizer": tokenizer,
    }


def build_z_image() -> ZImagePipeline:
    """Z-Image: the Z-Image test model."""
    return ZImagePipeline(**_z_image_parts())


SIGLIP_WIDTH = 16
"""Width of the tiny SigLIP2 vision tower of Z-Image Omni (the transformer's ``siglip_feat_dim``)."""


def build_z_image_omni() -> ZImageOmniPipeline:
    """Z-Image Omni: the Z-Image test model with a SigLIP2 branch (one layer, 16 wide) for reference images,
    which a text-only call leaves unused (diffusers has no test for it)."""
    siglip = Siglip2VisionModel(
        Siglip2VisionConfig(
            hidden_size=SIGLIP_WIDTH, intermediate_size=16, num_hidden_layers=1, num_attention_heads=2, patch_size=8
        )
    )
    return ZImageOmniPipeline(
        **_z_image_parts(siglip_feat_dim=SIGLIP_WIDTH), siglip=siglip, siglip_processor=Siglip2ImageProcessorPil()
    )


def _lumina_family(
    name: str, pipeline_class: type[DiffusionPipeline], build: Callable[[], DiffusionPipeline]
) -> Family:
    """A Lumina family scanned at 32x32: its pipeline takes the autoencoder to downsample by 8, so the test's
    one-level autoencoder returns 32 / 8 = 4 pixels a side (as in the diffusers test)."""
    family = text_to_image_family(name, pipeline_class, build, (32, 32, 3), sized=True)
    return replace(family, image_shape=(4, 4, 3))


FAMILIES: dict[str, Family] = {
    family.name: family
    for family in (
        text_to_image_family("chroma", ChromaPipeline, build_chroma, (8, 8, 3), sized=True),
        text_to_image_family("flux2", Flux2Pipeline, build_flux2, (8, 8, 3), sized=True),
        text_to_image_family("flux2-klein", Flux2KleinPipeline, build_flux2_klein, (8, 8, 3), sized=True),
        text_to_image_family("flux-kontext", FluxKontextPipeline, build_flux_kontext, (8, 8, 3), sized=True),
        _lumina_family("lumina2", Lumina2Pipeline, build_lumina2),
        _lumina_family("lumina", LuminaPipeline, build_lumina),
        text_to_image_family("ovis", OvisImagePipeline, build_ovis, (16, 16, 3), sized=True),
        text_to_image_family("cogview3", CogView3PlusPipeline, build_cogview3, (16, 16, 3), sized=True),
        text_to_image_family(
            "nucleusmoe-image", NucleusMoEImagePipeline, build_nucleusmoe_image, (32, 32, 3), sized=True
        ),
        text_to_image_family("cogview4", CogView4Pipeline, build_cogview4, (16, 16, 3), sized=True),
        text_to_image_family("qwenimage", QwenImagePipeline, build_qwenimage, (32, 32, 3), sized=True),
        # its autoregressive prior is drawn from torch's global RNG, seeded from one generator per call
        replace(
            text_to_image_family("glm_image", GlmImagePipeline, build_glm_image, (32, 32, 3), sized=True),
            fixed_batch_size=1,
        ),
        text_to_image_family("z-image", ZImagePipeline, build_z_image, (32, 32, 3), sized=True),
        text_to_image_family("z-image-omni", ZImageOmniPipeline, build_z_image_omni, (32, 32, 3), sized=True),
    )
}
"""Family name -> tiny flow-matching text-to-image family (image sizes those of the diffusers tests)."""

REFUSED: dict[str, str] = {
    name: signature_refusal(AUTO_TEXT2IMAGE_PIPELINES_MAPPING[name])
    for name in (
        "flux-control",
        "flux-controlnet",
        "cogview4-control",
        "qwenimage-controlnet",
        "z-image-controlnet",
        "z-image-controlnet-inpaint",
    )
}
"""``AUTO_TEXT2IMAGE_PIPELINES_MAPPING`` name -> why hubaudit refuses it (the line ``hubaudit scan`` prints):
each draws what a control image (and a mask) lays out, so no image comes from text alone."""


NOT_BUILT: dict[str, str] = {
    "qwenimage21": "its processor (Qwen3VLProcessor) loads a video processor that needs torchvision, which hubaudit's "
    "install lacks: hubaudit refuses it in one line naming torchvision; no test model (diffusers has no test for it), "
    "so a scan with torchvision installed is untested",
}
"""``AUTO_TEXT2IMAGE_PIPELINES_MAPPING`` name -> why this module has no test model for it yet."""
