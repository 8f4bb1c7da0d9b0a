"""The local test Hub serves the tiny models over the Hub HTTP API, and fails the way tests/hub_server.py says."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from diffusers import DiffusionPipeline
from huggingface_hub import HfApi, close_session, hf_hub_download
from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError, RepositoryNotFoundError, RevisionNotFoundError
from PIL import Image
from transformers import AutoImageProcessor, AutoModelForImageClassification, CLIPModel, CLIPProcessor

import tiny_models
from hub_server import CLASSIFIER_LABELS

PIPELINE_CLASS_OF_KIND = {
    "ddpm": "DDPMPipeline",
    "ddim": "DDIMPipeline",
    "score-sde-ve": "ScoreSdeVePipeline",
    "ldm": "LDMPipeline",
    "ddpm-class-conditional": "DDPMPipeline",
    "dit": "DiTPipeline",
    "stable-diffusion": "StableDiffusionPipeline",
}


def _random_image(seed: int = 0) -> Image.Image:
    pixels = np.random.default_rng(seed).integers(0, 256, size=(40, 48, 3), dtype=np.uint8)
    return Image.fromarray(pixels)


def _sample_two(pipeline: DiffusionPipeline, kind: str) -> np.ndarray:
    """Two images from ``pipeline`` in 2 steps, as a (2, side, side, 3) float array in [0, 1]."""
    generator = torch.Generator().manual_seed(0)
    if kind == "ddpm-class-conditional":
        scheduler, unet = pipeline.scheduler, pipeline.unet
        scheduler.set_timesteps(2)
        side = tiny_models.PIPELINE_IMAGE_SIZE
        sample = torch.randn(2, 3, side, side, generator=generator)
        for timestep in scheduler.timesteps:
            noise = unet(sample, timestep, class_labels=torch.tensor([0, 2])).sample
            sample = scheduler.step(noise, timestep, sample).prev_sample
        return (sample.clamp(-1, 1).permute(0, 2, 3, 1).detach().numpy() + 1) / 2
    options = {"num_inference_steps": 2, "generator": generator, "output_type": "np"}
    if kind == "dit":
        return pipeline(class_labels=[0, 2], **options).images
    if kind == "stable-diffusion":
        return pipeline(["a photo of a person"] * 2, **options).images
    return pipeline(batch_size=2, **options).images


# --- what the Hub serves ------------------------------------------------------------------


def test_model_info_without_revision_reports_the_main_commit(test_hub):
    info = HfApi().model_info(test_hub.repo("ddpm"))
    assert info.sha == test_hub.sha("ddpm") != test_hub.sha("ddpm", "v1")
    assert "unet/diffusion_pytorch_model.safetensors" in {sibling.rfilename for sibling in info.siblings}


@pytest.mark.parametrize("revision", ["v1", "dev", "full-sha", "short-sha"])
def test_model_info_resolves_tags_branches_and_commit_shas(test_hub, revision):
    first_commit = test_hub.sha("ddpm", "v1")
    requested = {"full-sha": first_commit, "short-sha": first_commit[:7]}.get(revision, revision)
    assert HfApi().model_info(test_hub.repo("ddpm"), revision=requested).sha == first_commit


def test_every_repository_has_its_head_commit_served(test_hub):
    api = HfApi()
    served = {name: api.model_info(test_hub.repo(name)).sha for name in test_hub.shas}
    assert served == {name: refs["main"] for name, refs in test_hub.shas.items()}


@pytest.mark.parametrize("kind", list(PIPELINE_CLASS_OF_KIND))
def test_each_supported_kind_loads_from_the_hub_and_samples_images(test_hub, kind):
    assert test_hub.supported[kind] == f"tiny/{kind}"
    pipeline = DiffusionPipeline.from_pretrained(test_hub.supported[kind])
    assert type(pipeline).__name__ == PIPELINE_CLASS_OF_KIND[kind]
    images = _sample_two(pipeline, kind)
    side = tiny_models.PIPELINE_IMAGE_SIZE
    assert images.shape == (2, side, side, 3)
    assert np.isfinite(images).all() and images.min() >= 0 and images.max() <= 1


def test_dit_repo_carries_class_labels_in_model_index(test_hub):
    model_index = json.loads(open(hf_hub_download(test_hub.repo("dit"), "model_index.json")).read())
    assert model_index["id2label"] == {str(index): label for index, label in tiny_models.CLASS_LABELS.items()}
    assert DiffusionPipeline.from_pretrained(test_hub.repo("dit")).labels == {"bird": 2, "cat": 0, "dog": 1}


def test_tag_and_commit_revisions_load_the_older_weights(test_hub):
    def unet_weights(revision):
        pipeline = DiffusionPipeline.from_pretrained(test_hub.repo("ddpm"), revision=revision)
        return pipeline.unet.conv_in.weight.detach()

    tagged = unet_weights("v1")
    assert torch.equal(tagged, unet_weights(test_hub.sha("ddpm", "v1")))
    assert not torch.equal(tagged, unet_weights("main"))


def test_classifier_and_clip_repos_load_with_transformers(test_hub):
    classifier = AutoModelForImageClassification.from_pretrained(test_hub.repo("classifier"))
    assert classifier.config.id2label == CLASSIFIER_LABELS
    clip, processor = (
        CLIPModel.from_pretrained(test_hub.repo("clip")),
        CLIPProcessor.from_pretrained(test_hub.repo("clip")),
    )
    inputs = processor(text=["a man", "a woman"], images=[_random_image()], return_tensors="pt", padding=True)
    assert clip(**inputs).logits_per_image.shape == (1, 2)


# --- repositories hubaudit must refuse -----------------------------------------------------


def test_refused_repos_show_their_failure(test_hub):
    api = HfApi()
    files = {failure: set(api.list_repo_files(repo)) for failure, repo in test_hub.refused.items()}
    assert "model_index.json" not in files["not-diffusers"] and "config.json" in files["not-diffusers"]
    with pytest.raises(EntryNotFoundError):
        hf_hub_download(test_hub.refused["not-diffusers"], "model_index.json")
    assert "unet/diffusion_pytorch_model.bin" in files["pickle-only"]
    assert not any(name.endswith(".safetensors") for name in files["pickle-only"])
    assert "pipeline.py" in files["remote-code"]
    model_index = json.loads(open(hf_hub_download(test_hub.refused["remote-code"], "model_index.json")).read())
    assert model_index["_class_name"] == ["pipeline", "MyPipeline"]


def test_remote_code_repo_needs_trust_remote_code(test_hub):
    with pytest.raises(ValueError, match="custom code"):
        DiffusionPipeline.from_pretrained(test_hub.refused["remote-code"])


def test_unsupported_repo_is_a_loadable_upscale_pipeline(test_hub):
    pipeline = DiffusionPipeline.from_pretrained(test_hub.refused["unsupported"])
    assert type(pipeline).__name__ == "StableDiffusionUpscalePipeline"


# --- how failures reach huggingface_hub clients (the lead maps these) ----------------------


def test_unknown_repo_is_repository_not_found(test_hub):
    api = HfApi()
    with pytest.raises(RepositoryNotFoundError):
        api.model_info("tiny/no-such-model")
    with pytest.raises(RepositoryNotFoundError):
        api.model_info("tiny/no-such-model", revision="main")
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download("tiny/no-such-model", "model_index.json")


def test_unknown_revision_is_repository_not_found_not_revision_not_found(test_hub):
    api = HfApi()
    with pytest.raises(RepositoryNotFoundError) as raised:
        api.model_info(test_hub.repo("ddpm"), revision="no-such-branch")
    assert not isinstance(raised.value, RevisionNotFoundError)
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download(test_hub.repo("ddpm"), "model_index.json", revision="no-such-branch")
    assert api.model_info(test_hub.repo("ddpm")).sha == test_hub.sha("ddpm")  # the repository itself answers


def test_unknown_full_commit_sha_is_a_server_error(test_hub):
    try:
        with pytest.raises(HfHubHTTPError) as raised:
            HfApi().model_info(test_hub.repo("ddpm"), revision="0" * 40)
        assert raised.value.response.status_code == 500
    finally:
        close_session()  # olah drops the connection after a 500; a pooled client would reuse it


@pytest.mark.parametrize("ref", ["main", "v1", "full-sha"])
def test_missing_file_is_entry_not_found(test_hub, ref):
    revision = test_hub.sha("ddpm", "v1") if ref == "full-sha" else ref
    with pytest.raises(EntryNotFoundError):
        hf_hub_download(test_hub.repo("ddpm"), "no-such-file.json", revision=revision)


def test_diffusers_hides_an_unknown_repo_behind_an_os_error(test_hub):
    with pytest.raises(OSError, match="not fully cached locally"):
        DiffusionPipeline.from_pretrained("tiny/no-such-model")


# --- the tiny annotators, built locally ---------------------------------------------------


def test_tiny_clip_scores_prompts_for_an_image(tmp_path):
    path = tiny_models.save_tiny_clip(tmp_path / "clip")
    clip, processor = CLIPModel.from_pretrained(path), CLIPProcessor.from_pretrained(path)
    prompts = ["a photo of a man", "a photo of a woman", "a photo of a child"]
    inputs = processor(text=prompts, images=[_random_image(), _random_image(1)], return_tensors="pt", padding=True)
    probabilities = clip(**inputs).logits_per_image.softmax(dim=-1).detach().numpy()
    assert probabilities.shape == (2, 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-5)


def test_tiny_clip_tokenizer_encodes_any_text_without_unknown_tokens(tmp_path):
    tokenizer = tiny_models.save_tiny_clip_tokenizer(tmp_path)
    ids = tokenizer("Ünïcode & emoji 🙂 text")["input_ids"]
    assert ids[0] == tokenizer.bos_token_id and ids[-1] == tokenizer.eos_token_id
    assert tokenizer.unk_token_id not in ids[1:-1]


def test_tiny_image_classifier_keeps_its_labels(tmp_path):
    labels = {0: "young", 1: "old", 2: "unknown"}
    path = tiny_models.save_tiny_image_classifier(tmp_path / "classifier", labels)
    classifier = AutoModelForImageClassification.from_pretrained(path)
    processor = AutoImageProcessor.from_pretrained(path)
    logits = classifier(**processor(images=[_random_image()], return_tensors="pt")).logits
    assert classifier.config.id2label == labels and logits.shape == (1, 3)
