"""Tiny random pipelines of the PAG variants, HunyuanDiT, Kandinsky 2.1 and 3, Würstchen and Stable Cascade.

Each builder follows ``get_dummy_components`` of the family's test in diffusers (``tests/pipelines/<family>/``;
Würstchen's from before its pipelines moved to ``deprecated``). The PAG variants reuse the components of their
base family's builder (:mod:`tiny_models`, :mod:`families_unet`, :mod:`families_transformer`): a PAG pipeline is
its base pipeline plus perturbed-attention guidance on the layers its ``pag_applied_layers`` default names (that
choice is not saved with the model, so a loaded PAG model always uses the default). Tokenizers are built offline:
CLIP, T5 and XLM-RoBERTa (Unigram, as T5's) from :mod:`families_transformer`, BERT's WordPiece here.

:data:`REFUSED` lists the text-to-image mapping entries of this half that hubaudit refuses, with the reason
hubaudit derives from the pipeline's call signature.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from pathlib import Path

from diffusers import (
    AutoencoderKL,
    AutoencoderKLWan,
    ControlNetModel,
    ControlNetUnionModel,
    DDIMScheduler,
    DDPMScheduler,
    DDPMWuerstchenScheduler,
    DiffusionPipeline,
    HeliosPipeline,
    HeliosPyramidPipeline,
    HeliosScheduler,
    HeliosTransformer3DModel,
    HunyuanDiT2DModel,
    HunyuanDiTPAGPipeline,
    HunyuanDiTPipeline,
    Kandinsky3Pipeline,
    Kandinsky3UNet,
    KandinskyCombinedPipeline,
    PixArtSigmaPAGPipeline,
    SanaPAGPipeline,
    SD3ControlNetModel,
    SD3Transformer2DModel,
    StableCascadeCombinedPipeline,
    StableCascadeUNet,
    StableDiffusion3PAGPipeline,
    StableDiffusionPAGPipeline,
    StableDiffusionXLPAGPipeline,
    UNet2DConditionModel,
    VQModel,
    WuerstchenCombinedPipeline,
)
from diffusers.pipelines.auto_pipeline import AUTO_TEXT2IMAGE_PIPELINES_MAPPING
from diffusers.pipelines.kandinsky.text_encoder import MCLIPConfig, MultilingualCLIP
from diffusers.pipelines.deprecated import wuerstchen as deprecated_wuerstchen
from diffusers.pipelines.deprecated.wuerstchen import PaellaVQModel, WuerstchenDiffNeXt, WuerstchenPrior
from transformers import (
    BertConfig,
    BertModel,
    BertTokenizerFast,
    CLIPTextModel,
    CLIPTextModelWithProjection,
    PreTrainedTokenizerFast,
    XLMRobertaTokenizerFast,
)

import families_transformer
import families_unet
import tiny_models
from families_transformer import SCAN, TOKEN_CHARACTERS, build_clip_tokenizer, build_t5_tokenizer, t5_encoder
from family_spec import Family
from hubaudit.sampling import signature_refusal

# --- tokenizers and text encoders ---------------------------------------------------------------

BERT_SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
"""BERT's special tokens, at ids 0-4 (``[PAD]`` at ``BertConfig``'s default ``pad_token_id`` 0)."""

XLM_ROBERTA_SPECIALS = ("<s>", "<pad>", "</s>", "<unk>")
"""XLM-RoBERTa's special tokens, at ids 0-3 (``<pad>`` at 1, as ``MCLIPConfig``'s RoBERTa expects)."""

HUNYUAN_CLIP_TOKENS = 77
"""``model_max_length`` of HunyuanDiT's BERT tokenizer (its call pads the prompt to it)."""


def build_bert_tokenizer() -> BertTokenizerFast:
    """A BERT tokenizer: WordPiece over ``TOKEN_CHARACTERS`` (lower-cased) and their ``##`` forms, ``[CLS] .. [SEP]``."""
    pieces = [*BERT_SPECIALS, *TOKEN_CHARACTERS, *("##" + char for char in TOKEN_CHARACTERS)]
    vocabulary = {piece: index for index, piece in enumerate(dict.fromkeys(pieces))}
    return BertTokenizerFast(vocab=vocabulary, model_max_length=HUNYUAN_CLIP_TOKENS)


def build_xlm_roberta_tokenizer() -> XLMRobertaTokenizerFast:
    """An XLM-RoBERTa tokenizer: Unigram over ``TOKEN_CHARACTERS`` and their ``▁`` forms, ``<s> .. </s>``."""
    pieces = [*XLM_ROBERTA_SPECIALS, "▁", *TOKEN_CHARACTERS, *("▁" + char for char in TOKEN_CHARACTERS)]
    vocabulary = [(piece, 0.0 if piece in XLM_ROBERTA_SPECIALS else -1.0) for piece in pieces]
    return XLMRobertaTokenizerFast(vocab=vocabulary, model_max_length=families_transformer.T5_MAX_TOKENS)


def bert_encoder(tokenizer: PreTrainedTokenizerFast) -> BertModel:
    """A ``BertModel`` of ``hf-internal-testing/tiny-random-BertModel``'s shape (5 layers, 32 wide)."""
    config = BertConfig(
        hidden_size=32,
        num_hidden_layers=5,
        num_attention_heads=4,
        intermediate_size=37,
        vocab_size=len(tokenizer),
        max_position_embeddings=512,
    )
    return BertModel(config)


def _clip_text_config(tokenizer, **fields):
    """The 32-wide, 5-layer CLIP text config of the Kandinsky, Würstchen and Cascade tests over ``tokenizer``."""
    return families_unet.clip_text_config(tokenizer, num_hidden_layers=5, **fields)


def _movq() -> VQModel:
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
        unet=unet, scheduler=scheduler, movq=_movq(), text_encoder=t5_encoder(tokenizer).eval(), tokenizer=tokenizer
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
    unet = UNet2DConditionModel(
        in_channels=4,
        out_channels=8,  # mean and variance
        addition_embed_type="text_image",
        down_block_types=("ResnetDownsampleBlock2D", "SimpleCrossAttnDownBlock2D"),
        up_block_types=("SimpleCrossAttnUpBlock2D", "ResnetUpsampleBlock2D"),
        mid_block_type="UNetMidBlock2DSimpleCrossAttn",
        block_out_channels=(32, 64),
        layers_per_block=1,
        encoder_hid_dim=32,
        encoder_hid_dim_type="text_image_proj",
        cross_attention_dim=32,
        attention_head_dim=4,
        resnet_time_scale_shift="scale_shift",
        class_embed_type=None,
    )
    scheduler = DDIMScheduler(
        num_train_timesteps=1000,
        beta_schedule="linear",
        beta_start=0.00085,
        beta_end=0.012,
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
        prediction_type="epsilon",
        thresholding=False,
    )
    return KandinskyCombinedPipeline(
        text_encoder=text_encoder.eval(),
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        movq=_movq(),
        **families_unet._kandinsky_prior_parts(),
    )


# --- Würstchen and Stable Cascade ---------------------------------------------------------------------------


def build_wuerstchen() -> WuerstchenCombinedPipeline:
    """Würstchen v2 in one repository: the tests' 2-channel prior, 320-wide DiffNeXt decoder, Paella VQ-GAN, CLIP."""
    tokenizer = build_clip_tokenizer()
    scheduler = DDPMWuerstchenScheduler()
    return WuerstchenCombinedPipeline(
        tokenizer=tokenizer,
        text_encoder=CLIPTextModel(_clip_text_config(tokenizer, projection_dim=32)).eval(),
        decoder=WuerstchenDiffNeXt(
            c_cond=32, c_hidden=[320], nhead=[-1], blocks=[4], level_config=["CT"], clip_embd=32, inject_effnet=[False]
        ).eval(),
        vqgan=PaellaVQModel(bottleneck_blocks=1, num_vq_embeddings=2).eval(),
        scheduler=scheduler,
        prior_prior=WuerstchenPrior(c_in=2, c=8, depth=2, c_cond=32, c_r=8, nhead=2).eval(),
        prior_text_encoder=CLIPTextModel(_clip_text_config(tokenizer)).eval(),
        prior_tokenizer=tokenizer,
        prior_scheduler=scheduler,
    )


def build_stable_cascade() -> StableCascadeCombinedPipeline:
    """Stable Cascade in one repository: the tests' 128-wide prior and four-level decoder UNets, Paella VQ-GAN, CLIP."""
    tokenizer = build_clip_tokenizer()
    text_encoder = CLIPTextModelWithProjection(_clip_text_config(tokenizer, projection_dim=32)).eval()
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
    path = families_unet._save_with_card(build, path)
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
            partial(over_components, PixArtSigmaPAGPipeline, partial(families_transformer._build_pixart, PixArtSigmaPAGPipeline)),
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


_REFUSED_BUILDERS = {
    **{
        name: partial(
            over_components, AUTO_TEXT2IMAGE_PIPELINES_MAPPING[name], build_base, controlnet=make_controlnet
        )
        for name, (build_base, make_controlnet) in _CONTROLNETS.items()
    },
    "helios": build_helios,
    "helios-pyramid": partial(build_helios, HeliosPyramidPipeline),
}

REFUSED_MODELS: dict[str, Callable[[Path], Path]] = {
    name: partial(tiny_models.save_pipeline, build) for name, build in _REFUSED_BUILDERS.items()
}
"""Mapping name -> saves a tiny model of that entry that hubaudit must refuse: a ControlNet pipeline (its base
family's components and a ControlNet over its denoiser), or a Helios video pipeline."""

REFUSED: dict[str, str] = {
    name: signature_refusal(AUTO_TEXT2IMAGE_PIPELINES_MAPPING[name]) or "" for name in _REFUSED_BUILDERS
}
"""Text-to-image mapping name -> why hubaudit refuses it (the reason it derives from the pipeline's call signature;
empty, and so failing the coverage test, if hubaudit would not refuse it)."""
