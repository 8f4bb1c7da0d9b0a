"""Tiny random pipelines of the PAG variants, HunyuanDiT, Kandinsky 2.1 and 3, Würstchen and Stable Cascade.

Each builder follows ``get_dummy_components`` of the family's test in diffusers (``tests/pipelines/<family>/``;
Würstchen's from before its pipelines moved to ``deprecated``). The PAG variants reuse the components of their
base family's builder (:mod:`tiny_models`, :mod:`families_unet`, :mod:`families_transformer`): a PAG pipeline is
its base pipeline plus perturbed-attention guidance on the layers its ``pag_applied_layers`` default names (that
choice is not saved with the model, so a loaded PAG model always uses the default). Tokenizers and text encoders
are built offline, in :mod:`text_encoders`.

:data:`REFUSED_MODELS` has a tiny model of each text-to-image mapping entry of this half that hubaudit refuses, with
the reason: the one hubaudit derives from the pipeline's call signature (ControlNets need a control image, Helios
draws videos), or, for PRX, why diffusers cannot load it under transformers 5.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from diffusers import (
    AutoencoderKL,
    AutoencoderKLWan,
    ControlNetModel,
    ControlNetUnionModel,
    DDPMScheduler,
    DDPMWuerstchenScheduler,
    DiffusionPipeline,
    FlowMatchEulerDiscreteScheduler,
    HeliosPipeline,
    HeliosPyramidPipeline,
    HeliosScheduler,
    HeliosTransformer3DModel,
    HunyuanDiT2DModel,
    HunyuanDiTPAGPipeline,
    HunyuanDiTPipeline,
    Ideogram4Pipeline,
    Ideogram4Transformer2DModel,
    Kandinsky3Pipeline,
    Kandinsky3UNet,
    KandinskyCombinedPipeline,
    Krea2Pipeline,
    Krea2Transformer2DModel,
    PixArtSigmaPAGPipeline,
    PRXPipeline,
    PRXTransformer2DModel,
    SanaPAGPipeline,
    SD3ControlNetModel,
    SD3Transformer2DModel,
    StableCascadeCombinedPipeline,
    StableCascadeUNet,
    StableDiffusion3PAGPipeline,
    StableDiffusionPAGPipeline,
    StableDiffusionXLPAGPipeline,
    WuerstchenCombinedPipeline,
)
from diffusers.pipelines.auto_pipeline import AUTO_TEXT2IMAGE_PIPELINES_MAPPING
from diffusers.pipelines.deprecated import wuerstchen as deprecated_wuerstchen
from diffusers.pipelines.deprecated.wuerstchen import PaellaVQModel, WuerstchenDiffNeXt, WuerstchenPrior
from diffusers.pipelines.ideogram4.pipeline_ideogram4 import QWEN3_VL_ACTIVATION_LAYERS as IDEOGRAM_TAPPED_LAYERS
from diffusers.pipelines.kandinsky.text_encoder import MCLIPConfig, MultilingualCLIP
from transformers import (
    CLIPTextModel,
    CLIPTextModelWithProjection,
    T5GemmaConfig,
)
from transformers.models.t5gemma.configuration_t5gemma import T5GemmaModuleConfig
from transformers.models.t5gemma.modeling_t5gemma import T5GemmaEncoder

import families_flow
import families_transformer
import families_unet
import tiny_models
from families_transformer import SCAN
from family_spec import Family
from hubaudit.sampling import signature_refusal
from text_encoders import (
    XLM_ROBERTA_SPECIALS,
    bert_encoder,
    build_bert_tokenizer,
    build_clip_tokenizer,
    build_gemma_tokenizer,
    build_qwen2_tokenizer,
    build_t5_tokenizer,
    build_xlm_roberta_tokenizer,
    clip_text_config,
    qwen3_vl_model,
    t5_encoder,
)

# --- PAG variants: their base family's components -------------------------------------------------------


def over_components(pipeline_class: type[DiffusionPipeline], build_base, **extra) -> DiffusionPipeline:
    """``pipeline_class`` over those of ``build_base()``'s components it takes, plus ``extra`` (name -> function of
    the base pipeline making a component: a ControlNet)."""
    base = build_base()
    accepted = set(pipeline_class._get_signature_keys(pipeline_class)[0]) | set(pipeline_class._optional_components)
    components = {name: part for name, part in base.components.items() if name in accepted}
    return pipeline_class(**components, **{name: make(base) for name, make in extra.items()})


def build_stable_diffusion_3_two_blocks():
    """The SD3 family with the PAG SD3 test's two transformer blocks (PAG's default layer is ``blocks.1``)."""
    pipeline = families_transformer.build_stable_diffusion_3()
    pipeline.transformer = SD3Transformer2DModel.from_config(pipeline.transformer.config, num_layers=2)
    return pipeline


# --- HunyuanDiT ----------------------------------------------------------------------------------------


def build_hunyuan_dit(pipeline_class: type[DiffusionPipeline] = HunyuanDiTPipeline) -> DiffusionPipeline:
    """HunyuanDiT: two-layer DiT on 4x16x16 latents (16x16 RGB: the default ``AutoencoderKL`` keeps the size), BERT + T5."""
    transformer = HunyuanDiT2DModel(
        sample_size=16,
        num_layers=2,
        patch_size=2,
        attention_head_dim=8,
        num_attention_heads=3,
        in_channels=4,
        cross_attention_dim=32,
        cross_attention_dim_t5=32,
        pooled_projection_dim=16,
        hidden_size=24,
        activation_fn="gelu-approximate",
    )
    bert_tokenizer, t5_tokenizer = build_bert_tokenizer(), build_t5_tokenizer()
    return pipeline_class(
        transformer=transformer.eval(),
        vae=AutoencoderKL().eval(),
        scheduler=DDPMScheduler(),
        text_encoder=bert_encoder(bert_tokenizer),
        tokenizer=bert_tokenizer,
        text_encoder_2=t5_encoder(t5_tokenizer),
        tokenizer_2=t5_tokenizer,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


# --- Kandinsky 2.1 and 3 -------------------------------------------------------------------------------


def build_kandinsky_3() -> Kandinsky3Pipeline:
    """Kandinsky 3: two-level ``Kandinsky3UNet`` on 4x8x8 latents (16x16 RGB), T5 encoder, MoVQ, DDPM."""
    unet = Kandinsky3UNet(
        in_channels=4,
        time_embedding_dim=4,
        groups=2,
        attention_head_dim=4,
        layers_per_block=3,
        block_out_channels=(32, 64),
        cross_attention_dim=4,
        encoder_hid_dim=32,
    )
    scheduler = DDPMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        steps_offset=1,
        beta_schedule="squaredcos_cap_v2",
        clip_sample=True,
        thresholding=False,
    )
    tokenizer = build_t5_tokenizer()
    return Kandinsky3Pipeline(
        unet=unet,
        scheduler=scheduler,
        movq=families_unet.kandinsky_movq(),
        text_encoder=t5_encoder(tokenizer).eval(),
        tokenizer=tokenizer,
    )


def build_kandinsky_2_1() -> KandinskyCombinedPipeline:
    """Kandinsky 2.1 text-to-image in one repository: the prior's test components, a multilingual CLIP + UNet decoder."""
    tokenizer = build_xlm_roberta_tokenizer()
    text_encoder = MultilingualCLIP(
        MCLIPConfig(
            numDims=32,
            transformerDimensions=32,
            hidden_size=32,
            intermediate_size=37,
            num_attention_heads=4,
            num_hidden_layers=5,
            vocab_size=len(tokenizer),
            pad_token_id=XLM_ROBERTA_SPECIALS.index("<pad>"),
        )
    )
    return KandinskyCombinedPipeline(
        text_encoder=text_encoder.eval(),
        tokenizer=tokenizer,
        **families_unet.kandinsky_decoder_parts("text_image"),
        **families_unet.kandinsky_prior_parts(),
    )


# --- Krea 2 ------------------------------------------------------------------------------------------------------


def build_krea_2() -> Krea2Pipeline:
    """Krea 2: two-layer transformer with its own text blocks on a 4-channel Qwen-Image autoencoder, Qwen3-VL text."""
    transformer = Krea2Transformer2DModel(
        in_channels=16,
        num_layers=2,
        attention_head_dim=8,
        num_attention_heads=4,
        num_key_value_heads=2,
        intermediate_size=32,
        timestep_embed_dim=8,
        text_hidden_dim=16,
        num_text_layers=3,
        text_num_attention_heads=2,
        text_num_key_value_heads=1,
        text_intermediate_size=16,
        num_layerwise_text_blocks=1,
        num_refiner_text_blocks=1,
        axes_dims_rope=(4, 2, 2),
        rope_theta=1000.0,
    )
    scheduler = FlowMatchEulerDiscreteScheduler(
        use_dynamic_shifting=True, base_shift=0.5, max_shift=1.15, base_image_seq_len=256, max_image_seq_len=6400
    )
    tokenizer = build_qwen2_tokenizer()
    return Krea2Pipeline(
        transformer=transformer,
        vae=families_flow.qwen_autoencoder(),
        scheduler=scheduler,
        text_encoder=qwen3_vl_model(tokenizer, num_hidden_layers=2, vision_depth=2),
        tokenizer=tokenizer,
        text_encoder_select_layers=(0, 1, 2),
    )


# --- Ideogram 4 ---------------------------------------------------------------------------------------------

IDEOGRAM_TEXT_LAYERS = 36
"""Text-encoder layers Ideogram 4 reads: its pipeline taps the hidden states of fixed layers up to 35."""


def build_ideogram_4() -> Ideogram4Pipeline:
    """Ideogram 4: a conditional and an unconditional one-layer transformer on 2x2 patches of a one-level FLUX.2
    autoencoder (1 latent channel), a 36-layer, 16-wide Qwen3-VL text tower (diffusers has no Ideogram 4 test:
    sizes are the smallest its fixed tapped layers and rotary sections allow)."""
    tokenizer = build_qwen2_tokenizer()
    tapped = len(IDEOGRAM_TAPPED_LAYERS)

    def transformer() -> Ideogram4Transformer2DModel:
        return Ideogram4Transformer2DModel(
            in_channels=4,  # 1 latent channel x a 2x2 patch
            num_layers=1,
            attention_head_dim=8,
            num_attention_heads=2,
            intermediate_size=16,
            adaln_dim=8,
            llm_features_dim=16 * tapped,
            mrope_section=(2, 1, 1),
        )

    return Ideogram4Pipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(),
        vae=families_flow.flux2_autoencoder(),
        text_encoder=qwen3_vl_model(tokenizer, num_hidden_layers=IDEOGRAM_TEXT_LAYERS, vision_depth=1),
        tokenizer=tokenizer,
        transformer=transformer(),
        unconditional_transformer=transformer(),
    )


# --- Würstchen and Stable Cascade ---------------------------------------------------------------------------


def build_wuerstchen() -> WuerstchenCombinedPipeline:
    """Würstchen v2 in one repository: the tests' 2-channel prior, 320-wide DiffNeXt decoder, Paella VQ-GAN, CLIP."""
    tokenizer = build_clip_tokenizer()
    scheduler = DDPMWuerstchenScheduler()
    return WuerstchenCombinedPipeline(
        tokenizer=tokenizer,
        text_encoder=CLIPTextModel(clip_text_config(tokenizer, num_hidden_layers=5)).eval(),
        decoder=WuerstchenDiffNeXt(
            c_cond=32, c_hidden=[320], nhead=[-1], blocks=[4], level_config=["CT"], clip_embd=32, inject_effnet=[False]
        ).eval(),
        vqgan=PaellaVQModel(bottleneck_blocks=1, num_vq_embeddings=2).eval(),
        scheduler=scheduler,
        prior_prior=WuerstchenPrior(c_in=2, c=8, depth=2, c_cond=32, c_r=8, nhead=2).eval(),
        prior_text_encoder=CLIPTextModel(clip_text_config(tokenizer, num_hidden_layers=5)).eval(),
        prior_tokenizer=tokenizer,
        prior_scheduler=scheduler,
    )


def build_stable_cascade() -> StableCascadeCombinedPipeline:
    """Stable Cascade in one repository: the tests' 128-wide prior and four-level decoder UNets, Paella VQ-GAN, CLIP."""
    tokenizer = build_clip_tokenizer()
    text_encoder = CLIPTextModelWithProjection(clip_text_config(tokenizer, num_hidden_layers=5)).eval()
    decoder = StableCascadeUNet(
        in_channels=4,
        out_channels=4,
        conditioning_dim=128,
        block_out_channels=(16, 32, 64, 128),
        num_attention_heads=(-1, -1, 1, 2),
        down_num_layers_per_block=(1, 1, 1, 1),
        up_num_layers_per_block=(1, 1, 1, 1),
        down_blocks_repeat_mappers=(1, 1, 1, 1),
        up_blocks_repeat_mappers=(3, 3, 2, 2),
        block_types_per_layer=(
            ("SDCascadeResBlock", "SDCascadeTimestepBlock"),
            ("SDCascadeResBlock", "SDCascadeTimestepBlock"),
            ("SDCascadeResBlock", "SDCascadeTimestepBlock", "SDCascadeAttnBlock"),
            ("SDCascadeResBlock", "SDCascadeTimestepBlock", "SDCascadeAttnBlock"),
        ),
        switch_level=None,
        clip_text_pooled_in_channels=32,
        dropout=(0.1, 0.1, 0.1, 0.1),
    )
    prior = StableCascadeUNet(
        conditioning_dim=128,
        block_out_channels=(128, 128),
        num_attention_heads=(2, 2),
        down_num_layers_per_block=(1, 1),
        up_num_layers_per_block=(1, 1),
        clip_image_in_channels=768,
        switch_level=(False,),
        clip_text_in_channels=32,
        clip_text_pooled_in_channels=32,
    )
    scheduler = DDPMWuerstchenScheduler()
    return StableCascadeCombinedPipeline(
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        decoder=decoder.eval(),
        scheduler=scheduler,
        vqgan=PaellaVQModel(bottleneck_blocks=1, num_vq_embeddings=2).eval(),
        prior_text_encoder=text_encoder,
        prior_tokenizer=tokenizer,
        prior_prior=prior.eval(),
        prior_scheduler=scheduler,
        prior_feature_extractor=None,
        prior_image_encoder=None,
    )


WUERSTCHEN_LIBRARY = "wuerstchen"
"""The library Würstchen and Stable Cascade repositories on the Hub name for ``PaellaVQModel``, ``WuerstchenPrior``
and ``WuerstchenDiffNeXt``: a pipeline module diffusers has since moved to ``pipelines/deprecated``. diffusers
0.42.1 saves them as ``["diffusers", class]``, a name it cannot load back."""


def save_as_published(build, path: Path) -> Path:
    """Save ``build()`` with a model card, its Würstchen classes under the library the Hub's repositories name."""
    path = families_unet.save_with_card(build, path)
    index_path = path / "model_index.json"
    model_index = json.loads(index_path.read_text())
    for spec in model_index.values():
        if isinstance(spec, list) and spec[0] == "diffusers" and spec[1] in dir(deprecated_wuerstchen):
            spec[0] = WUERSTCHEN_LIBRARY
    index_path.write_text(json.dumps(model_index, indent=2))
    return path


# --- families and refusals ------------------------------------------------------------------------------


def _family(
    name: str, pipeline_class: type[DiffusionPipeline], build, side: int, *, sized: bool = False, **scan
) -> Family:
    """A text-to-image ``Family`` saving ``build()`` (weights under seed 0), ``side`` x ``side`` RGB images.

    ``sized``: the scan asks for ``side`` as height and width (the pipeline's default size does not fit the model).
    """
    save = partial(
        save_as_published if getattr(pipeline_class, "_load_connected_pipes", False) else tiny_models.save_pipeline,
        build,
    )
    size = {"height": side, "width": side} if sized else {}
    return Family(name, pipeline_class.__name__, "text-to-image", save, {**SCAN, **size, **scan}, (side, side, 3))


FAMILIES: dict[str, Family] = {
    family.name: family
    for family in (
        _family(
            "stable-diffusion-pag",
            StableDiffusionPAGPipeline,
            partial(over_components, StableDiffusionPAGPipeline, tiny_models.build_stable_diffusion),
            16,
        ),
        _family(
            "stable-diffusion-xl-pag",
            StableDiffusionXLPAGPipeline,
            partial(over_components, StableDiffusionXLPAGPipeline, families_unet.build_stable_diffusion_xl),
            64,
        ),
        _family(
            "stable-diffusion-3-pag",
            StableDiffusion3PAGPipeline,
            partial(over_components, StableDiffusion3PAGPipeline, build_stable_diffusion_3_two_blocks),
            32,
        ),
        _family(
            "pixart-sigma-pag",
            PixArtSigmaPAGPipeline,
            partial(
                over_components,
                PixArtSigmaPAGPipeline,
                partial(families_transformer.build_pixart, PixArtSigmaPAGPipeline),
            ),
            8,
        ),
        _family(
            "sana-pag",
            SanaPAGPipeline,
            partial(over_components, SanaPAGPipeline, families_transformer.build_sana),
            32,
            sized=True,
        ),
        _family("hunyuan-dit", HunyuanDiTPipeline, build_hunyuan_dit, 16),
        _family("hunyuan-dit-pag", HunyuanDiTPAGPipeline, partial(build_hunyuan_dit, HunyuanDiTPAGPipeline), 16),
        _family("kandinsky-3", Kandinsky3Pipeline, build_kandinsky_3, 16, sized=True),
        _family("kandinsky-2-1", KandinskyCombinedPipeline, build_kandinsky_2_1, 64, sized=True),
        _family("wuerstchen", WuerstchenCombinedPipeline, build_wuerstchen, 128, sized=True),
        _family("stable-cascade", StableCascadeCombinedPipeline, build_stable_cascade, 128, sized=True),
        _family("krea-2", Krea2Pipeline, build_krea_2, 32, sized=True),
        _family("ideogram-4", Ideogram4Pipeline, build_ideogram_4, 16, sized=True, guidance_scale=3.0),
    )
}
"""Family name -> tiny family (image sizes those of the diffusers tests)."""


def _controlnet(base: DiffusionPipeline) -> ControlNetModel:
    return ControlNetModel.from_unet(base.unet)


def _controlnet_union(base: DiffusionPipeline) -> ControlNetUnionModel:
    return ControlNetUnionModel.from_unet(base.unet)


def _sd3_controlnet(base: DiffusionPipeline) -> SD3ControlNetModel:
    """The SD3 ControlNet test's one-layer ControlNet over ``base``'s transformer shape."""
    config = base.transformer.config
    return SD3ControlNetModel(
        sample_size=config.sample_size,
        patch_size=config.patch_size,
        in_channels=config.in_channels,
        num_layers=1,
        attention_head_dim=config.attention_head_dim,
        num_attention_heads=config.num_attention_heads,
        joint_attention_dim=config.joint_attention_dim,
        caption_projection_dim=config.caption_projection_dim,
        pooled_projection_dim=config.pooled_projection_dim,
        out_channels=config.out_channels,
    )


_CONTROLNETS = {
    "stable-diffusion-controlnet": (tiny_models.build_stable_diffusion, _controlnet),
    "stable-diffusion-xl-controlnet": (families_unet.build_stable_diffusion_xl, _controlnet),
    "stable-diffusion-xl-controlnet-union": (families_unet.build_stable_diffusion_xl, _controlnet_union),
    "stable-diffusion-3-controlnet": (families_transformer.build_stable_diffusion_3, _sd3_controlnet),
    "stable-diffusion-controlnet-pag": (tiny_models.build_stable_diffusion, _controlnet),
    "stable-diffusion-xl-controlnet-pag": (families_unet.build_stable_diffusion_xl, _controlnet),
}
"""Mapping name -> (base family builder, its ControlNet) of the entries that need a control image."""


def build_helios(pipeline_class: type[DiffusionPipeline] = HeliosPipeline) -> DiffusionPipeline:
    """Helios text-to-video: the test's two-layer 3D transformer, Wan video autoencoder, T5."""
    transformer = HeliosTransformer3DModel(
        patch_size=(1, 2, 2),
        num_attention_heads=2,
        attention_head_dim=12,
        in_channels=16,
        out_channels=16,
        text_dim=32,
        freq_dim=256,
        ffn_dim=32,
        num_layers=2,
        cross_attn_norm=True,
        qk_norm="rms_norm_across_heads",
        rope_dim=(4, 4, 4),
        has_multi_term_memory_patch=True,
        guidance_cross_attn=True,
        zero_history_timestep=True,
        is_amplify_history=False,
    )
    vae = AutoencoderKLWan(
        base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1, temperal_downsample=[False, True, True]
    )
    tokenizer = build_t5_tokenizer()
    return pipeline_class(
        transformer=transformer,
        vae=vae,
        scheduler=HeliosScheduler(stage_range=[0, 1], stages=1, use_dynamic_shifting=True),
        text_encoder=t5_encoder(tokenizer),
        tokenizer=tokenizer,
    )


def build_prx() -> PRXPipeline:
    """PRX: one-block transformer on 4-channel one-level ``AutoencoderKL`` latents, a one-layer T5Gemma encoder."""
    transformer = PRXTransformer2DModel(
        patch_size=1,
        in_channels=4,
        context_in_dim=8,
        hidden_size=8,
        mlp_ratio=2.0,
        num_heads=2,
        depth=1,
        axes_dim=[2, 2],
    )
    vae = AutoencoderKL(
        sample_size=32,
        in_channels=3,
        out_channels=3,
        block_out_channels=(4,),
        layers_per_block=1,
        latent_channels=4,
        norm_num_groups=1,
        use_quant_conv=False,
        use_post_quant_conv=False,
        shift_factor=0.0,
        scaling_factor=1.0,
    )
    tokenizer = build_gemma_tokenizer()
    tokenizer.model_max_length = 64
    encoder = dict(
        vocab_size=len(tokenizer),
        hidden_size=8,
        intermediate_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=4,
        max_position_embeddings=64,
        layer_types=["full_attention"],
        attention_bias=False,
        attention_dropout=0.0,
        dropout_rate=0.0,
        hidden_activation="gelu_pytorch_tanh",
        rms_norm_eps=1e-06,
        attn_logit_softcapping=50.0,
        final_logit_softcapping=30.0,
        query_pre_attn_scalar=4,
        rope_theta=10000.0,
        sliding_window=4096,
    )
    config = T5GemmaConfig(encoder=T5GemmaModuleConfig(**encoder), is_encoder_decoder=False, **encoder)
    return PRXPipeline(
        transformer=transformer,
        vae=vae.eval(),
        scheduler=FlowMatchEulerDiscreteScheduler(),
        text_encoder=T5GemmaEncoder(config.encoder),
        tokenizer=tokenizer,
    )


@dataclass(frozen=True)
class RefusedModel:
    """A mapping entry hubaudit refuses: its tiny model and the reason hubaudit's one-line error gives.

    Attributes:
        save: writes the tiny model into an empty folder and returns it.
        reason: why the entry is refused, as docs/supported-families.md lists it.
        error: what hubaudit's error line says (the reason itself where hubaudit derives it).
        fresh_process: check the error in a new process, as a user meets it: here the tests have imported a class
            (PRX's ``T5GemmaEncoder``) that changes what the library offers.
    """

    save: Callable[[Path], Path]
    reason: str
    error: str
    fresh_process: bool = False


def _derived(pipeline_class: type[DiffusionPipeline], build) -> RefusedModel:
    """A refused model of ``pipeline_class``, whose reason hubaudit derives from the class's call signature."""
    reason = signature_refusal(pipeline_class) or ""
    return RefusedModel(partial(tiny_models.save_pipeline, build), reason, reason)


PRX_TEXT_ENCODER = "T5GemmaEncoder"
"""The class PRX's ``model_index.json`` names for its text encoder."""

REFUSED_MODELS: dict[str, RefusedModel] = {
    **{
        name: _derived(
            pipeline_class, partial(over_components, pipeline_class, build_base, controlnet=make_controlnet)
        )
        for name, (build_base, make_controlnet) in _CONTROLNETS.items()
        for pipeline_class in [AUTO_TEXT2IMAGE_PIPELINES_MAPPING[name]]
    },
    "helios": _derived(HeliosPipeline, build_helios),
    "helios-pyramid": _derived(HeliosPyramidPipeline, partial(build_helios, HeliosPyramidPipeline)),
    "prx": RefusedModel(
        partial(tiny_models.save_pipeline, build_prx),
        f"its text encoder, {PRX_TEXT_ENCODER}, is not a class transformers 5 exports, so diffusers cannot load "
        "it (diffusers' own PRX tests skip saving and loading under transformers 5)",
        f"names unknown class {PRX_TEXT_ENCODER}",
        fresh_process=True,
    ),
}
"""Mapping name -> a tiny model of that entry that hubaudit refuses: ControlNet pipelines (their base family's
components and a ControlNet over its denoiser), Helios video pipelines, PRX."""

REFUSED: dict[str, str] = {name: refused.reason for name, refused in REFUSED_MODELS.items()}
"""Text-to-image mapping name -> why hubaudit refuses it (the reason it derives from the pipeline's call signature;
empty, and so failing the coverage test, if hubaudit would not refuse it)."""
