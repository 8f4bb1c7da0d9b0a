"""LoRA, textual-inversion and single-file repositories: recognised from their headers, applied to the tiny SD."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from diffusers import StableDiffusionPipeline, StableDiffusionXLPipeline
from safetensors.torch import load_file, save_file
from transformers import CLIPTextModelWithProjection

import adapter_models
import tiny_models
from hubaudit.errors import AdapterDoesNotFit, PipelineLoadFailed, SingleFileNeedsConfig, UnknownPipelineClass
from hubaudit.hub.adapters import (
    ADAPTER_NAME,
    AdapterSpec,
    apply_adapter,
    base_model_from_card,
    detect_adapter,
    detect_local_adapter,
    load_single_file,
)

PROMPT = "a photo of <tiny-face>"


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    """The tiny SD base (``"base"``) and one folder per adapter repository of ``adapter_models.ADAPTER_REPOS``."""
    root = tmp_path_factory.mktemp("adapters")
    built = {name: save(root / name) for name, save in adapter_models.ADAPTER_REPOS.items()}
    built["base"] = tiny_models.save_pipeline(tiny_models.build_stable_diffusion, root / "base")
    return built


def load_base(folders) -> StableDiffusionPipeline:
    pipeline = StableDiffusionPipeline.from_pretrained(folders["base"])
    pipeline.set_progress_bar_config(disable=True)
    return pipeline


def sample(pipeline, prompt: str = PROMPT) -> np.ndarray:
    """One 16x16 RGB image in [0, 1], shape (1, 16, 16, 3), from seed 0 in 2 steps."""
    generator = torch.Generator().manual_seed(0)
    return pipeline(prompt=[prompt], num_inference_steps=2, output_type="np", generator=generator).images


def with_adapter(folders, name: str, **options) -> tuple[StableDiffusionPipeline, dict]:
    """A fresh base pipeline with the adapter repository ``name`` applied, and its description."""
    pipeline = load_base(folders)
    spec = detect_local_adapter(folders[name])
    return pipeline, apply_adapter(pipeline, spec, folders[name], **options)


# --- detection ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, kind, format, weight_name, token",
    [
        ("lora", "lora", "diffusers", adapter_models.DIFFUSERS_LORA_FILE, None),
        ("lora-kohya", "lora", "kohya", adapter_models.KOHYA_LORA_FILE, None),
        ("textual-inversion", "textual-inversion", "diffusers", adapter_models.TEXTUAL_INVERSION_FILE, "<tiny-face>"),
        ("single-file", "single-file", "stable-diffusion", adapter_models.SINGLE_FILE, None),
    ],
)
def test_each_adapter_repository_is_classified_from_its_tensor_names(folders, name, kind, format, weight_name, token):
    expected = AdapterSpec(kind, weight_name, format, base_model=adapter_models.BASE_MODEL, token=token)
    assert detect_local_adapter(folders[name]) == expected


def test_a_folder_with_an_unrelated_safetensors_file_is_no_adapter(tmp_path):
    tiny_models.save_tiny_image_classifier(tmp_path, {0: "no", 1: "yes"})
    assert detect_local_adapter(tmp_path) is None


def test_detection_imports_neither_torch_nor_diffusers(folders):
    script = (
        "import sys; from hubaudit.hub.adapters import detect_local_adapter; "
        f"assert detect_local_adapter({str(folders['lora-kohya'])!r}).format == 'kohya'; "
        "print(sorted(m for m in ('torch', 'diffusers') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "card, base",
    [
        ("---\nbase_model: org/base\ntags: [lora]\n---\n# card", "org/base"),
        ("---\nbase_model:\n- org/first\n- org/second\n---\n", "org/first"),
        ("---\ntags: [lora]\n---\n", None),
        ("# a card without front matter", None),
        ("---\nbase_model: [unclosed\n---\n", None),
        (None, None),
    ],
)
def test_base_model_is_read_from_the_card_front_matter(card, base):
    assert base_model_from_card(card) == base
    spec = detect_adapter(["embedding.safetensors"], lambda name: ["emb_params"], card)
    assert spec.base_model == base


@pytest.mark.parametrize(
    "names, kind, format, token",
    [
        (["emb_params"], "textual-inversion", "a1111", "style"),
        (["clip_g", "clip_l"], "textual-inversion", "sdxl", "style"),
        (["lora_te_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight"], "lora", "kohya", None),
        (["text_encoder.text_model.encoder.layers.0.mlp.fc1.lora_linear_layer.up.weight"], "lora", "diffusers", None),
        (["transformer.transformer_blocks.0.attn.to_q.lora_A.weight"], "lora", "diffusers", None),
        (["conditioner.embedders.0.transformer.text_model.embeddings"], "single-file", "stable-diffusion-xl", None),
    ],
)
def test_other_layouts_are_classified_by_their_keys(names, kind, format, token):
    spec = detect_adapter(["style.safetensors"], lambda name: names, None)
    assert (spec.kind, spec.format, spec.token) == (kind, format, token)


def test_diffusers_default_file_names_are_inspected_first():
    files = ["README.md", "checkpoint-100/other.safetensors", "a.safetensors", "pytorch_lora_weights.safetensors"]
    inspected = []

    def tensor_names(name):
        inspected.append(name)
        return ["unet.conv_in.lora_A.weight"]

    assert detect_adapter(files, tensor_names, None).weight_name == "pytorch_lora_weights.safetensors"
    assert inspected == ["pytorch_lora_weights.safetensors"]


# --- application --------------------------------------------------------------------------------


def test_lora_at_scale_one_changes_the_images_and_is_described(folders):
    base_images = sample(load_base(folders))
    pipeline, description = with_adapter(folders, "lora")
    assert np.abs(sample(pipeline) - base_images).max() > 0.01
    assert pipeline.get_list_adapters() == {"unet": [ADAPTER_NAME]}
    assert description == {
        "kind": "lora",
        "weight_name": adapter_models.DIFFUSERS_LORA_FILE,
        "format": "diffusers",
        "base_model": adapter_models.BASE_MODEL,
        "token": None,
        "scale": 1.0,
        "tensors": 64,  # 16 attention projections x (lora_A, lora_B) x (self-, cross-attention)
    }


def test_lora_at_scale_zero_gives_the_base_images(folders):
    pipeline, _ = with_adapter(folders, "lora", scale=0.0)
    np.testing.assert_allclose(sample(pipeline), sample(load_base(folders)), atol=1e-6)


def test_kohya_lora_gives_the_images_of_the_same_diffusers_lora(folders):
    kohya, description = with_adapter(folders, "lora-kohya")
    diffusers_layout, _ = with_adapter(folders, "lora")
    assert description["format"] == "kohya" and description["tensors"] == 96  # plus one alpha per layer
    np.testing.assert_allclose(sample(kohya), sample(diffusers_layout), atol=1 / 255)


def test_textual_inversion_adds_its_token_to_the_tokenizer_and_prompts(folders):
    base_images = sample(load_base(folders))
    pipeline, description = with_adapter(folders, "textual-inversion")
    vocabulary = pipeline.tokenizer.get_vocab()
    assert "<tiny-face>" in vocabulary and "<tiny-face>_1" in vocabulary  # a 2-vector embedding
    assert description["token"] == "<tiny-face>" and description["scale"] is None
    assert np.abs(sample(pipeline) - base_images).max() > 1e-3


SDXL_ENCODERS = [("clip_l", "text_encoder", "tokenizer"), ("clip_g", "text_encoder_2", "tokenizer_2")]
"""SDXL embedding tensor, the text encoder and the tokenizer it extends."""


def test_an_sdxl_embedding_extends_both_text_encoders(tmp_path):
    sd = tiny_models.build_stable_diffusion()  # loading an embedding needs only the text encoders and tokenizers
    pipeline = StableDiffusionXLPipeline(
        vae=sd.vae,
        text_encoder=sd.text_encoder,
        text_encoder_2=CLIPTextModelWithProjection(tiny_models.tiny_clip_text_config(len(sd.tokenizer))),
        tokenizer=sd.tokenizer,
        tokenizer_2=tiny_models.save_tiny_clip_tokenizer(tmp_path / "tokenizer_2"),
        unet=sd.unet,
        scheduler=sd.scheduler,
    )
    embeddings = {"clip_l": torch.randn(1, 32), "clip_g": torch.randn(1, 32)}
    save_file(embeddings, tmp_path / "style.safetensors")
    spec = detect_local_adapter(tmp_path)
    apply_adapter(pipeline, spec, tmp_path)
    for tensor_name, encoder, tokenizer in SDXL_ENCODERS:
        token_id = getattr(pipeline, tokenizer).convert_tokens_to_ids("style")
        row = getattr(pipeline, encoder).get_input_embeddings().weight[token_id]
        torch.testing.assert_close(row, embeddings[tensor_name][0])


def test_an_sdxl_embedding_does_not_fit_a_single_text_encoder(folders, tmp_path):
    save_file({"clip_l": torch.randn(1, 32), "clip_g": torch.randn(1, 32)}, tmp_path / "style.safetensors")
    with pytest.raises(AdapterDoesNotFit, match="text_encoder_2"):
        apply_adapter(load_base(folders), detect_local_adapter(tmp_path), tmp_path)


def _write_lora(folder: Path, tensors: dict[str, torch.Tensor]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    save_file(tensors, folder / "pytorch_lora_weights.safetensors")
    return folder


ATTENTION = "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q"


@pytest.mark.parametrize(
    "tensors, message",
    [
        (
            {f"{ATTENTION}.lora_A.weight": torch.zeros(4, 99), f"{ATTENTION}.lora_B.weight": torch.zeros(8, 4)},
            "size mismatch for down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.lora_A",
        ),
        (
            {
                "unet.down_blocks.3.attentions.0.proj_in.lora_A.weight": torch.zeros(4, 8),
                "unet.down_blocks.3.attentions.0.proj_in.lora_B.weight": torch.zeros(8, 4),
            },
            "not found in the base model",
        ),
        ({f"{ATTENTION}.lora_A.weight": torch.zeros(4, 8)}, "does not fit"),
    ],
    ids=["wrong-shape", "missing-module", "lora_A-without-lora_B"],
)
def test_a_lora_whose_keys_do_not_fit_the_base_raises(folders, tmp_path, tensors, message):
    folder = _write_lora(tmp_path, tensors)
    with pytest.raises(AdapterDoesNotFit, match=message) as raised:
        apply_adapter(load_base(folders), detect_local_adapter(folder), folder)
    assert raised.value.weight_name == "pytorch_lora_weights.safetensors"
    assert len(str(raised.value).splitlines()) == 1


def test_a_lora_that_fits_only_partly_raises_instead_of_auditing_another_model(folders, tmp_path):
    fitting = load_file(folders["lora"] / adapter_models.DIFFUSERS_LORA_FILE)
    extra = {
        "unet.down_blocks.3.attentions.0.proj_in.lora_A.weight": torch.zeros(4, 8),
        "unet.down_blocks.3.attentions.0.proj_in.lora_B.weight": torch.zeros(8, 4),
    }
    folder = _write_lora(tmp_path, fitting | extra)
    with pytest.raises(AdapterDoesNotFit, match="only 32 of the 33 layers"):
        apply_adapter(load_base(folders), detect_local_adapter(folder), folder)


def test_a_lora_on_a_pipeline_without_lora_support_raises(folders):
    spec = detect_local_adapter(folders["lora"])
    with pytest.raises(AdapterDoesNotFit, match="DDPMPipeline cannot load LoRA"):
        apply_adapter(tiny_models.build_ddpm(), spec, folders["lora"])


# --- single-file checkpoints --------------------------------------------------------------------


def test_a_single_file_checkpoint_loads_with_the_base_config_and_its_own_weights(folders):
    checkpoint = folders["single-file"] / adapter_models.SINGLE_FILE
    pipeline = load_single_file("StableDiffusionPipeline", checkpoint, folders["base"], torch.float32)
    base = load_base(folders)
    for component in ("unet", "vae", "text_encoder"):
        loaded, expected = getattr(pipeline, component).state_dict(), getattr(base, component).state_dict()
        assert loaded.keys() == expected.keys()
        for name, tensor in expected.items():
            torch.testing.assert_close(loaded[name], tensor, rtol=0, atol=0)
    pipeline.set_progress_bar_config(disable=True)
    np.testing.assert_allclose(sample(pipeline), sample(base), atol=1e-6)


@pytest.mark.parametrize("config", [None, "empty"])
def test_a_single_file_checkpoint_without_a_config_asks_for_a_base(folders, tmp_path, config):
    config_folder = None if config is None else tmp_path
    with pytest.raises(SingleFileNeedsConfig, match="needs a diffusers config.*pass --base ORG/NAME"):
        load_single_file("StableDiffusionPipeline", folders["single-file"] / adapter_models.SINGLE_FILE, config_folder)


def test_a_single_file_checkpoint_for_an_unknown_pipeline_class_raises(folders):
    with pytest.raises(UnknownPipelineClass):
        load_single_file(
            "StableDiffusionPipelin", folders["single-file"] / adapter_models.SINGLE_FILE, folders["base"]
        )


def test_a_single_file_checkpoint_missing_a_component_raises(folders, tmp_path):
    weights = load_file(folders["single-file"] / adapter_models.SINGLE_FILE)
    without_text_encoder = {k: v for k, v in weights.items() if not k.startswith("cond_stage_model.")}
    save_file(without_text_encoder, tmp_path / "unet_vae.safetensors")
    with pytest.raises(PipelineLoadFailed, match="CLIPTextModel"):
        load_single_file("StableDiffusionPipeline", tmp_path / "unet_vae.safetensors", folders["base"])
