"""Tiny random transformer (DiT-style) text-to-image pipelines, built offline as diffusers' tests build them.

Each builder follows ``get_dummy_components`` of the family's test in diffusers
(``tests/pipelines/<family>/test_*.py``). Those tests download their tokenizers
(``hf-internal-testing/tiny-random-t5``, ``tiny-random-clip``, ``dummy-gemma``, ``tiny-random-umt5``);
here the tokenizers are hand-built character vocabularies, and every text encoder's vocabulary
is sized to its tokenizer.
"""

from __future__ import annotations

import string
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path

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
from transformers import (
    CLIPTextConfig,
    CLIPTextModel,
    CLIPTextModelWithProjection,
    CLIPTokenizer,
    Gemma2Config,
    Gemma2Model,
    GemmaTokenizerFast,
    T5Config,
    T5EncoderModel,
    T5TokenizerFast,
    UMT5Config,
    UMT5EncoderModel,
)

import tiny_models
from family_spec import Family

# --- tokenizers ------------------------------------------------------------------------------

TOKEN_CHARACTERS = string.ascii_letters + string.digits + string.punctuation + "\n"
"""Characters every hand-built tokenizer knows (one token each); any other character is ``<unk>``."""

T5_MAX_TOKENS = 512
"""``model_max_length`` of the tiny T5 tokenizer (as t5-small's)."""

T5_SPECIALS = ("<pad>", "</s>", "<unk>")
"""T5's special tokens, at ids 0, 1, 2 (the ids ``T5Config`` defaults to)."""

GEMMA_SPECIALS = ("<pad>", "<eos>", "<bos>", "<unk>", "<mask>")
"""Gemma's special tokens, at ids 0-4 (the ids ``Gemma2Config`` defaults to)."""


def build_t5_tokenizer() -> T5TokenizerFast:
    """A T5 tokenizer: Unigram over ``TOKEN_CHARACTERS`` and their ``▁``-prefixed forms, appends ``</s>``.

    Equal scores make Unigram take the fewest pieces: a word's first character with its ``▁``,
    then one piece per character.
    """
    pieces = [*T5_SPECIALS, "▁", *TOKEN_CHARACTERS, *("▁" + char for char in TOKEN_CHARACTERS)]
    vocabulary = [(piece, 0.0 if piece in T5_SPECIALS else -1.0) for piece in pieces]
    return T5TokenizerFast(vocab=vocabulary, extra_ids=0, model_max_length=T5_MAX_TOKENS)


def build_gemma_tokenizer() -> GemmaTokenizerFast:
    """A Gemma tokenizer: BPE without merges over ``TOKEN_CHARACTERS`` and ``▁``, prepends ``<bos>``."""
    pieces = [*GEMMA_SPECIALS, "▁", *TOKEN_CHARACTERS]
    vocabulary = {piece: index for index, piece in enumerate(pieces)}
    return GemmaTokenizerFast(vocab=vocabulary, merges=[], add_bos_token=True, add_eos_token=False)


def build_clip_tokenizer() -> CLIPTokenizer:
    """The byte-level CLIP tokenizer of ``tiny_models`` (77 positions)."""
    with tempfile.TemporaryDirectory() as folder:
        return tiny_models.save_tiny_clip_tokenizer(Path(folder))


# --- text encoders -----------------------------------------------------------------------------


def _clip_text_config(tokenizer: CLIPTokenizer) -> CLIPTextConfig:
    """The CLIP text config of the SD3 and Flux tests (5 layers, 32 wide, projection 32) over ``tokenizer``."""
    config = tiny_models.tiny_clip_text_config(len(tokenizer))
    config.update(dict(num_hidden_layers=5, hidden_act="gelu", layer_norm_eps=1e-5))
    return config


_TINY_T5 = dict(d_model=32, d_ff=37, d_kv=8, num_heads=4, num_layers=5, relative_attention_num_buckets=8)
"""Shape of ``hf-internal-testing/tiny-random-t5`` (and of the tiny UMT5): 5 layers, 32 wide."""


def t5_encoder(tokenizer: T5TokenizerFast) -> T5EncoderModel:
    """A tiny random ``T5EncoderModel`` (32 wide) over ``tokenizer``'s vocabulary."""
    return T5EncoderModel(T5Config(**_TINY_T5, vocab_size=len(tokenizer)))


def umt5_encoder(tokenizer: T5TokenizerFast) -> UMT5EncoderModel:
    """A tiny random ``UMT5EncoderModel`` (32 wide) over ``tokenizer``'s vocabulary."""
    return UMT5EncoderModel(UMT5Config(**_TINY_T5, vocab_size=len(tokenizer)))


def gemma2_encoder(tokenizer: GemmaTokenizerFast) -> Gemma2Model:
    """The 1-layer, 8-wide ``Gemma2Model`` of the Sana test, over ``tokenizer``'s vocabulary."""
    config = Gemma2Config(
        head_dim=16,
        hidden_size=8,
        initializer_range=0.02,
        intermediate_size=64,
        max_position_embeddings=8192,
        num_attention_heads=2,
        num_hidden_layers=1,
        num_key_value_heads=2,
        vocab_size=len(tokenizer),
        attn_implementation="eager",
    )
    return Gemma2Model(config)


# --- autoencoders ------------------------------------------------------------------------------


def _one_level_autoencoder(latent_channels: int) -> AutoencoderKL:
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
        vae=_one_level_autoencoder(latent_channels=4),
        scheduler=FlowMatchEulerDiscreteScheduler(),
        text_encoder=CLIPTextModelWithProjection(_clip_text_config(clip_tokenizer)),
        text_encoder_2=CLIPTextModelWithProjection(_clip_text_config(clip_tokenizer)),
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
        vae=_one_level_autoencoder(latent_channels=1),
        scheduler=FlowMatchEulerDiscreteScheduler(),
        text_encoder=CLIPTextModel(_clip_text_config(clip_tokenizer)),
        text_encoder_2=t5_encoder(t5_tokenizer),
        tokenizer=clip_tokenizer,
        tokenizer_2=t5_tokenizer,
    )


def _build_pixart(pipeline_class: type[DiffusionPipeline]) -> DiffusionPipeline:
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


def _family(
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
        _family("stable-diffusion-3", StableDiffusion3Pipeline, build_stable_diffusion_3, (32, 32, 3)),
        _family("flux", FluxPipeline, build_flux, (8, 8, 3), sized=True),
        _family("pixart-alpha", PixArtAlphaPipeline, partial(_build_pixart, PixArtAlphaPipeline), (8, 8, 3)),
        _family("pixart-sigma", PixArtSigmaPipeline, partial(_build_pixart, PixArtSigmaPipeline), (8, 8, 3)),
        _family("sana", SanaPipeline, build_sana, (32, 32, 3), sized=True),
        _family("aura-flow", AuraFlowPipeline, build_aura_flow, (64, 64, 3), sized=True),
    )
}
"""Family name -> tiny transformer text-to-image family (image sizes those of the diffusers tests)."""
