"""Tiny tokenizers and text encoders for the test families, built offline.

diffusers' tests download their tokenizers (``hf-internal-testing/tiny-random-t5``, ``tiny-random-clip``,
``tiny-random-BertModel``, ``dummy-gemma``, ``tiny-random-Qwen2VLForConditionalGeneration``, ``THUDM/glm-4-9b-chat``); here each is a
hand-built vocabulary of single characters (or bytes) without merges, and every text encoder's vocabulary
is sized to its tokenizer. The encoders' widths and depths are those of the diffusers tests.
"""

from __future__ import annotations

import string
import tempfile
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
from transformers import (
    BertConfig,
    BertModel,
    BertTokenizerFast,
    CLIPTextConfig,
    CLIPTokenizer,
    Gemma2Config,
    Gemma2Model,
    GemmaConfig,
    GemmaForCausalLM,
    GemmaTokenizerFast,
    GlmConfig,
    GlmImageConfig,
    GlmImageForConditionalGeneration,
    GlmImageImageProcessorPil,
    GlmImageProcessor,
    GlmModel,
    Mistral3Config,
    Mistral3ForConditionalGeneration,
    PreTrainedTokenizerFast,
    Qwen2_5_VLConfig,
    Qwen2_5_VLForConditionalGeneration,
    Qwen2Tokenizer,
    Qwen3Config,
    Qwen3Model,
    Qwen3VLConfig,
    Qwen3VLForConditionalGeneration,
    Qwen3VLModel,
    T5Config,
    T5EncoderModel,
    T5TokenizerFast,
    UMT5Config,
    UMT5EncoderModel,
    XLMRobertaTokenizerFast,
)

import tiny_models

# --- tokenizers ------------------------------------------------------------------------------

TOKEN_CHARACTERS = string.ascii_letters + string.digits + string.punctuation + "\n"
"""Characters every hand-built tokenizer knows (one token each); any other character is ``<unk>``."""

T5_MAX_TOKENS = 512
"""``model_max_length`` of the tiny T5 tokenizer (as t5-small's)."""

T5_SPECIALS = ("<pad>", "</s>", "<unk>")
"""T5's special tokens, at ids 0, 1, 2 (the ids ``T5Config`` defaults to)."""

GEMMA_SPECIALS = ("<pad>", "<eos>", "<bos>", "<unk>", "<mask>")
"""Gemma's special tokens, at ids 0-4 (the ids ``Gemma2Config`` defaults to)."""

BERT_SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
"""BERT's special tokens, at ids 0-4 (``[PAD]`` at ``BertConfig``'s default ``pad_token_id`` 0)."""

BERT_MAX_TOKENS = 77
"""``model_max_length`` of the tiny BERT tokenizer, as HunyuanDiT's (its call pads the prompt to it)."""

XLM_ROBERTA_SPECIALS = ("<s>", "<pad>", "</s>", "<unk>")
"""XLM-RoBERTa's special tokens, at ids 0-3 (``<pad>`` at 1, as ``MCLIPConfig``'s RoBERTa expects)."""

CHATML_SPECIALS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
"""The ChatML special tokens of the Qwen tokenizers, after the 256 byte tokens."""

CHATML_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}{{ part['text'] }}{% endfor %}{% endif %}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
"""A ChatML chat template (what ``apply_chat_template`` of the Qwen tokenizers renders); a message's content is
a string or a list of ``{"type": "text", "text": ...}`` parts."""


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


def build_bert_tokenizer() -> BertTokenizerFast:
    """A BERT tokenizer: WordPiece over ``TOKEN_CHARACTERS`` (lower-cased) and their ``##`` forms, ``[CLS] .. [SEP]``."""
    pieces = [*BERT_SPECIALS, *TOKEN_CHARACTERS, *("##" + char for char in TOKEN_CHARACTERS)]
    vocabulary = {piece: index for index, piece in enumerate(dict.fromkeys(pieces))}
    return BertTokenizerFast(vocab=vocabulary, model_max_length=BERT_MAX_TOKENS)


def build_xlm_roberta_tokenizer() -> XLMRobertaTokenizerFast:
    """An XLM-RoBERTa tokenizer: Unigram over ``TOKEN_CHARACTERS`` and their ``▁`` forms (as T5's), ``<s> .. </s>``."""
    pieces = [*XLM_ROBERTA_SPECIALS, "▁", *TOKEN_CHARACTERS, *("▁" + char for char in TOKEN_CHARACTERS)]
    vocabulary = [(piece, 0.0 if piece in XLM_ROBERTA_SPECIALS else -1.0) for piece in pieces]
    return XLMRobertaTokenizerFast(vocab=vocabulary, model_max_length=T5_MAX_TOKENS)


def build_clip_tokenizer() -> CLIPTokenizer:
    """The byte-level CLIP tokenizer of ``tiny_models`` (77 positions)."""
    with tempfile.TemporaryDirectory() as folder:
        return tiny_models.save_tiny_clip_tokenizer(Path(folder))


def build_qwen2_tokenizer() -> Qwen2Tokenizer:
    """A Qwen2 tokenizer: byte-level BPE without merges (one token a byte), the ChatML specials and template.

    Serves the Qwen2.5-VL (Qwen-Image), Qwen3 (Z-Image) and Qwen3-VL (Krea 2, Ideogram 4) text encoders alike.
    """
    vocabulary = {byte: index for index, byte in enumerate(tiny_models.byte_level_alphabet())}
    tokenizer = Qwen2Tokenizer(vocab=vocabulary, merges=[], model_max_length=T5_MAX_TOKENS)
    tokenizer.add_special_tokens({"additional_special_tokens": list(CHATML_SPECIALS[1:])})
    tokenizer.chat_template = CHATML_TEMPLATE
    return tokenizer


GLM_PREFIX = ("[gMASK]", "<sop>")
"""The tokens a GLM-4 tokenizer puts before every text (so even an empty prompt is two tokens long)."""


def byte_level_tokenizer(specials: list[str], prefix: tuple[str, ...] = (), **options) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer without merges (one token a byte), ``specials`` after the 256 bytes, ``prefix``
    put before every text; ``options`` (special-token roles, ``padding_side``, ``chat_template``) as
    ``PreTrainedTokenizerFast`` takes them."""
    vocabulary = {token: index for index, token in enumerate([*tiny_models.byte_level_alphabet(), *specials])}
    backend = Tokenizer(models.BPE(vocabulary, merges=[]))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    backend.add_special_tokens(specials)
    if prefix:
        backend.post_processor = processors.TemplateProcessing(
            single=" ".join([*prefix, "$A"]), special_tokens=[(token, vocabulary[token]) for token in prefix]
        )
    return PreTrainedTokenizerFast(tokenizer_object=backend, model_max_length=T5_MAX_TOKENS, **options)


def build_glm_tokenizer() -> PreTrainedTokenizerFast:
    """A GLM-4 tokenizer: byte-level, prepends ``[gMASK]<sop>`` (so even an empty prompt has tokens), pads left."""
    return byte_level_tokenizer(
        ["<|endoftext|>", *GLM_PREFIX],
        GLM_PREFIX,
        pad_token="<|endoftext|>",
        eos_token="<|endoftext|>",
        padding_side="left",
    )


MISTRAL_SPECIALS = ("<unk>", "<s>", "</s>", "<pad>", "[IMG]", "[IMG_BREAK]", "[IMG_END]")
"""Mistral 3's special tokens (the Pixtral image tokens among them), after the 256 byte tokens."""

MISTRAL_TEMPLATE = (
    "{% for message in messages %}{% for part in message['content'] %}"
    "{% if message['role'] == 'system' %}[SYSTEM_PROMPT]{{ part['text'] }}[/SYSTEM_PROMPT]"
    "{% else %}[INST]{{ part['text'] }}[/INST]{% endif %}{% endfor %}{% endfor %}"
)
"""A Mistral chat template over messages whose content is a list of ``{"type": "text", "text": ...}`` parts."""


def build_mistral3_tokenizer() -> PreTrainedTokenizerFast:
    """FLUX.2's Mistral 3 tokenizer, byte-level, with a chat template.

    FLUX.2-dev ships it inside a Pixtral processor, which needs torchvision to build; the pipeline's text-only
    call uses nothing of the processor but this tokenizer's ``apply_chat_template``.
    """
    return byte_level_tokenizer(
        list(MISTRAL_SPECIALS),
        unk_token="<unk>",
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        chat_template=MISTRAL_TEMPLATE,
    )


GLM_IMAGE_ROLES = {"image_token": "<|image|>", "grid_bos_token": "<sop>", "grid_eos_token": "<eop>"}
"""The special-token roles a GLM-Image processor reads off its tokenizer."""

GLM_IMAGE_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>{% for part in message['content'] %}"
    "{% if part['type'] == 'text' %}{{ part['text'] }}{% else %}<|image|>{% endif %}{% endfor %}{% endfor %}"
    "<|assistant|>"
)
"""A GLM chat template over ``{"type": "text" | "image", ...}`` parts, ending on the assistant's turn."""


def build_glm_image_processor() -> GlmImageProcessor:
    """GLM-Image's processor: the PIL image processor and a byte-level GLM tokenizer with the image-grid tokens."""
    specials = ["<|endoftext|>", *GLM_IMAGE_ROLES.values(), "<|begin_of_image|>", "<|end_of_image|>"]
    tokenizer = byte_level_tokenizer(
        [*specials, "<|user|>", "<|assistant|>"],
        pad_token="<|endoftext|>",
        eos_token="<|endoftext|>",
        bos_token="<|begin_of_image|>",
        extra_special_tokens=GLM_IMAGE_ROLES,
        padding_side="left",
    )
    return GlmImageProcessor(
        image_processor=GlmImageImageProcessorPil(), tokenizer=tokenizer, chat_template=GLM_IMAGE_TEMPLATE
    )


# --- text encoders -----------------------------------------------------------------------------


def clip_text_config(tokenizer: CLIPTokenizer, **fields) -> CLIPTextConfig:
    """``tiny_models``' CLIP text config (2 layers, 32 wide, projection 32) over ``tokenizer``, a test's ``fields`` on
    top (:data:`GELU_CLIP` for those of SD 2.x, SDXL, SD3 and Flux)."""
    config = tiny_models.tiny_clip_text_config(len(tokenizer))
    config.update(fields)
    return config


GELU_CLIP = dict(num_hidden_layers=5, hidden_act="gelu")
"""What the SD 2.x, SDXL, SD3 and Flux tests' CLIP text encoders change: 5 layers, exact GELU."""


_TINY_BERT = dict(hidden_size=32, num_hidden_layers=5, num_attention_heads=4, intermediate_size=37)
"""Shape of ``hf-internal-testing/tiny-random-BertModel`` (HunyuanDiT's test): 5 layers, 32 wide."""


def bert_encoder(tokenizer: BertTokenizerFast) -> BertModel:
    """A tiny random ``BertModel`` (32 wide) over ``tokenizer``'s vocabulary."""
    return BertModel(BertConfig(**_TINY_BERT, vocab_size=len(tokenizer)))


_TINY_T5 = dict(d_model=32, d_ff=37, d_kv=8, num_heads=4, num_layers=5, relative_attention_num_buckets=8)
"""Shape of ``hf-internal-testing/tiny-random-t5`` (and of the tiny UMT5): 5 layers, 32 wide."""


def t5_encoder(tokenizer: T5TokenizerFast) -> T5EncoderModel:
    """A tiny random ``T5EncoderModel`` (32 wide) over ``tokenizer``'s vocabulary."""
    return T5EncoderModel(T5Config(**_TINY_T5, vocab_size=len(tokenizer)))


def umt5_encoder(tokenizer: T5TokenizerFast) -> UMT5EncoderModel:
    """A tiny random ``UMT5EncoderModel`` (32 wide) over ``tokenizer``'s vocabulary."""
    return UMT5EncoderModel(UMT5Config(**_TINY_T5, vocab_size=len(tokenizer)))


def gemma2_encoder(tokenizer: GemmaTokenizerFast, **shape) -> Gemma2Model:
    """A ``Gemma2Model`` over ``tokenizer``'s vocabulary: the Sana test's (1 layer, 8 wide) unless ``shape`` says."""
    config = Gemma2Config(
        **{
            "head_dim": 16,
            "hidden_size": 8,
            "initializer_range": 0.02,
            "intermediate_size": 64,
            "max_position_embeddings": 8192,
            "num_attention_heads": 2,
            "num_hidden_layers": 1,
            "num_key_value_heads": 2,
            **shape,
        },
        vocab_size=len(tokenizer),
        attn_implementation="eager",
    )
    return Gemma2Model(config)


def gemma_encoder(tokenizer: GemmaTokenizerFast) -> GemmaForCausalLM:
    """The Lumina test's ``GemmaForCausalLM`` (2 layers, 8 wide) over ``tokenizer``'s vocabulary."""
    config = GemmaConfig(
        head_dim=2,
        hidden_size=8,
        intermediate_size=37,
        num_attention_heads=4,
        num_hidden_layers=2,
        num_key_value_heads=4,
        vocab_size=len(tokenizer),
    )
    return GemmaForCausalLM(config)


_TINY_DECODER = dict(
    hidden_size=16, intermediate_size=16, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2
)
"""Width and depth of the Qwen-Image and Z-Image tests' decoder text encoders (2 layers, 16 wide)."""


def qwen25_vl_encoder(tokenizer: Qwen2Tokenizer) -> Qwen2_5_VLForConditionalGeneration:
    """The Qwen-Image test's ``Qwen2_5_VLForConditionalGeneration`` (2 text and 2 vision layers, 16 wide)."""
    config = Qwen2_5_VLConfig(
        text_config={
            **_TINY_DECODER,
            "rope_scaling": {"mrope_section": [1, 1, 2], "rope_type": "default", "type": "default"},
            "rope_theta": 1000000.0,
            "vocab_size": len(tokenizer),
            "bos_token_id": tokenizer.eos_token_id,
            "eos_token_id": tokenizer.eos_token_id,
        },
        vision_config={"depth": 2, "hidden_size": 16, "intermediate_size": 16, "num_heads": 2, "out_hidden_size": 16},
        hidden_size=16,
        vocab_size=len(tokenizer),
        bos_token_id=tokenizer.eos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        vision_start_token_id=len(tokenizer),
        vision_end_token_id=len(tokenizer) + 1,
        vision_token_id=len(tokenizer) + 2,
    )
    return Qwen2_5_VLForConditionalGeneration(config).eval()


def qwen3_encoder(tokenizer: Qwen2Tokenizer, model_class: type = Qwen3Model, **shape) -> Qwen3Model:
    """The Z-Image test's ``Qwen3Model`` (2 layers, 16 wide, unless ``shape`` says) over ``tokenizer``'s vocabulary;
    ``model_class`` ``Qwen3ForCausalLM`` for the FLUX.2-klein test's."""
    config = Qwen3Config(
        **{**_TINY_DECODER, **shape},
        vocab_size=len(tokenizer),
        max_position_embeddings=T5_MAX_TOKENS,
        bos_token_id=tokenizer.eos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    return model_class(config)


def qwen3_vl_encoder(tokenizer: Qwen2Tokenizer, num_hidden_layers: int) -> Qwen3VLForConditionalGeneration:
    """The NucleusMoE test's ``Qwen3VLForConditionalGeneration`` (16 wide, 2 vision layers) with
    ``num_hidden_layers`` text layers, over ``tokenizer``'s vocabulary (its image tokens past the end)."""
    vocab_size = len(tokenizer)
    config = Qwen3VLConfig(
        text_config={
            **_TINY_DECODER,
            "num_hidden_layers": num_hidden_layers,
            "rope_scaling": {"mrope_section": [1, 1, 2], "rope_type": "default", "type": "default"},
            "rope_theta": 1000000.0,
            "vocab_size": vocab_size,
            "head_dim": 8,
            "bos_token_id": tokenizer.eos_token_id,
            "eos_token_id": tokenizer.eos_token_id,
        },
        vision_config={"depth": 2, "hidden_size": 16, "intermediate_size": 16, "num_heads": 2, "out_channels": 16},
        image_token_id=vocab_size,
        video_token_id=vocab_size + 1,
        vision_start_token_id=vocab_size + 2,
        vision_end_token_id=vocab_size + 3,
    )
    return Qwen3VLForConditionalGeneration(config).eval()


def qwen3_vl_model(tokenizer: Qwen2Tokenizer, num_hidden_layers: int, vision_depth: int) -> Qwen3VLModel:
    """The Qwen3-VL text tower of the Krea 2 and Ideogram 4 models (16 wide, 2 heads of 8), ``num_hidden_layers``
    text and ``vision_depth`` vision layers, over ``tokenizer``'s vocabulary."""
    text = dict(num_attention_heads=2, num_key_value_heads=2, head_dim=8, vocab_size=len(tokenizer))
    config = Qwen3VLConfig(
        text_config=dict(hidden_size=16, intermediate_size=16, num_hidden_layers=num_hidden_layers, **text),
        vision_config=dict(depth=vision_depth, hidden_size=16, intermediate_size=16, num_heads=2, out_hidden_size=16),
        vocab_size=len(tokenizer),
    )
    return Qwen3VLModel(config).eval()


def glm_encoder(tokenizer: PreTrainedTokenizerFast) -> GlmModel:
    """The CogView4 test's GLM (2 layers, 32 wide) over ``tokenizer``'s vocabulary, as the ``GlmModel`` the
    pipeline declares (the test's ``GlmForCausalLM`` adds only an LM head the pipeline does not call)."""
    config = GlmConfig(
        hidden_size=32,
        intermediate_size=8,
        num_hidden_layers=2,
        num_attention_heads=4,
        head_dim=8,
        vocab_size=len(tokenizer),
        pad_token_id=tokenizer.pad_token_id,
    )
    return GlmModel(config)


def mistral3_encoder(tokenizer: PreTrainedTokenizerFast, num_hidden_layers: int) -> Mistral3ForConditionalGeneration:
    """The FLUX.2 test's ``Mistral3ForConditionalGeneration`` (16 wide, one vision layer) with
    ``num_hidden_layers`` text layers, over ``tokenizer``'s vocabulary."""
    ids = {f"{role}_token_id": getattr(tokenizer, f"{role}_token_id") for role in ("bos", "eos", "pad")}
    config = Mistral3Config(
        text_config={
            "model_type": "mistral",
            "vocab_size": len(tokenizer),
            "hidden_size": 16,
            "intermediate_size": 37,
            "max_position_embeddings": T5_MAX_TOKENS,
            "num_attention_heads": 4,
            "num_hidden_layers": num_hidden_layers,
            "num_key_value_heads": 2,
            "rms_norm_eps": 1e-05,
            "rope_theta": 1000000000.0,
            "sliding_window": None,
            **ids,
        },
        vision_config={
            "model_type": "pixtral",
            "hidden_size": 16,
            "num_hidden_layers": 1,
            "num_attention_heads": 4,
            "intermediate_size": 37,
            "image_size": 30,
            "patch_size": 6,
            "num_channels": 3,
        },
        image_seq_length=4,
        vision_feature_layer=-1,
        image_token_index=tokenizer.convert_tokens_to_ids("[IMG]"),
        **ids,
    )
    return Mistral3ForConditionalGeneration(config)


_GLM_IMAGE_IDS = {"image": "<|image|>", "image_start": "<|begin_of_image|>", "image_end": "<|end_of_image|>"}
"""GLM-Image config id roles -> the tokens they name."""


def glm_image_encoder(processor: GlmImageProcessor) -> GlmImageForConditionalGeneration:
    """The GLM-Image test's autoregressive vision-language model (2 text and 2 vision layers, 32 wide, 128 vision
    tokens) over ``processor``'s tokenizer."""
    tokenizer = processor.tokenizer
    ids = {f"{role}_token_id": tokenizer.convert_tokens_to_ids(token) for role, token in _GLM_IMAGE_IDS.items()}
    config = GlmImageConfig(
        text_config={
            "vocab_size": len(tokenizer),
            "hidden_size": 32,
            "intermediate_size": 32,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "num_key_value_heads": 2,
            "max_position_embeddings": T5_MAX_TOKENS,
            "vision_vocab_size": 128,
            "rope_parameters": {"mrope_section": (4, 2, 2)},
            "pad_token_id": tokenizer.pad_token_id,
            "bos_token_id": tokenizer.eos_token_id,
            "eos_token_id": tokenizer.eos_token_id,
        },
        vision_config={
            "depth": 2,
            "hidden_size": 32,
            "num_heads": 2,
            "image_size": 32,
            "patch_size": 8,
            "intermediate_size": 32,
        },
        vq_config={"embed_dim": 32, "num_embeddings": 128, "latent_channels": 32},
        **ids,
    )
    return GlmImageForConditionalGeneration(config)
