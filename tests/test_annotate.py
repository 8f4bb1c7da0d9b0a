"""Zero-shot CLIP and Hub image-classifier annotators on tiny random models."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoImageProcessor, AutoModelForImageClassification

import tiny_models
from hub_server import CLASSIFIER_LABELS
from hubaudit.annotate import CLIP_PRESETS, ClipAnnotator, HubClassifierAnnotator, load_annotator
from hubaudit.errors import (
    InvalidData,
    InvalidLabelMapping,
    InvalidSavedAnnotator,
    PickleWeightsRefused,
    RepoNotFound,
    RevisionNotFound,
    UnsafePickle,
    UnsupportedAnnotatorModel,
)

CLASSIFIER_ID2LABEL = {0: "cat", 1: "dog", 2: "bird"}


@pytest.fixture(scope="module")
def classifier_folder(tmp_path_factory):
    return tiny_models.save_tiny_image_classifier(tmp_path_factory.mktemp("classifier"), CLASSIFIER_ID2LABEL)


@pytest.fixture(scope="module")
def gender_clip(clip_folder):
    return ClipAnnotator("gender", CLIP_PRESETS["gender"], model_id=str(clip_folder), device="cpu")


def _images(count: int, *, size: int = 16, channels: int = 3, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(count, size, size, channels), dtype=np.uint8)


def _classifier_softmax(folder, images: np.ndarray) -> np.ndarray:
    """The classifier's own softmax over all its labels, computed with transformers directly."""
    model = AutoModelForImageClassification.from_pretrained(folder).eval()
    processor = AutoImageProcessor.from_pretrained(folder)
    with torch.no_grad():
        logits = model(**processor(images=list(images), return_tensors="pt")).logits
    return logits.double().softmax(dim=1).numpy()


def test_clip_gives_one_probability_row_per_image_summing_to_one(gender_clip):
    probabilities = gender_clip.predict_proba(_images(5))
    assert gender_clip.attribute.values == ("female", "male")
    assert probabilities.shape == (5, 2)
    assert (probabilities >= 0).all()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, atol=1e-12)
    assert probabilities.std(axis=0).max() > 0, "different images should get different probabilities"


def test_clip_probabilities_do_not_depend_on_batch_size(gender_clip):
    images = _images(7)
    whole = gender_clip.predict_proba(images)
    np.testing.assert_allclose(gender_clip.predict_proba(images, batch_size=1), whole, atol=1e-6)
    np.testing.assert_allclose(gender_clip.predict_proba(images, batch_size=3), whole, atol=1e-6)


def test_clip_scores_grey_and_small_images_as_their_rgb_copies(gender_clip):
    grey = _images(4, size=8, channels=1)
    rgb, rgba = np.repeat(grey, 3, axis=-1), np.concatenate([np.repeat(grey, 3, axis=-1), grey], axis=-1)
    np.testing.assert_allclose(gender_clip.predict_proba(grey), gender_clip.predict_proba(rgb), atol=1e-12)
    np.testing.assert_allclose(gender_clip.predict_proba(rgba), gender_clip.predict_proba(rgb), atol=1e-12)


def test_clip_columns_follow_the_prompts(clip_folder, gender_clip):
    swapped = ClipAnnotator(
        "gender", {"male": "a photo of a man", "female": "a photo of a woman"}, model_id=str(clip_folder)
    )
    images = _images(4)
    assert swapped.attribute.values == ("male", "female")
    np.testing.assert_allclose(swapped.predict_proba(images), gender_clip.predict_proba(images)[:, ::-1], atol=1e-6)


def test_clip_values_named_0_to_k_minus_1_are_put_in_numeric_order(clip_folder):
    annotator = ClipAnnotator(
        "smiling", {"1": "a smiling person", "0": "a person not smiling"}, model_id=str(clip_folder)
    )
    assert annotator.attribute.values == ("0", "1")
    assert annotator.prompts == {"0": "a person not smiling", "1": "a smiling person"}


def test_clip_save_and_load_give_identical_probabilities_and_calibration(gender_clip, tmp_path):
    gender_clip.confusion = np.array([[40, 10], [5, 45]])
    try:
        gender_clip.save(tmp_path / "saved")
        loaded = load_annotator(tmp_path / "saved", device="cpu")
    finally:
        gender_clip.confusion = None
    images = _images(6, seed=1)
    assert isinstance(loaded, ClipAnnotator)
    assert loaded.attribute == gender_clip.attribute and loaded.prompts == gender_clip.prompts
    np.testing.assert_array_equal(loaded.confusion, [[40, 10], [5, 45]])
    assert loaded.accuracy == pytest.approx(0.85)
    np.testing.assert_array_equal(loaded.predict_proba(images), gender_clip.predict_proba(images))


def test_clip_from_the_hub_is_pinned_to_the_commit_and_matches_the_folder(test_hub):
    from_hub = ClipAnnotator("gender", CLIP_PRESETS["gender"], model_id=test_hub.repo("clip"))
    from_folder = ClipAnnotator("gender", CLIP_PRESETS["gender"], model_id=str(test_hub.local_path("clip")))
    images = _images(3)
    assert from_hub.revision == test_hub.sha("clip")
    assert test_hub.sha("clip")[:12] in from_hub.description
    np.testing.assert_allclose(from_hub.predict_proba(images), from_folder.predict_proba(images), atol=1e-12)


def test_unknown_hub_repo_and_revision_are_reported_as_such(test_hub):
    with pytest.raises(RepoNotFound):
        ClipAnnotator("gender", CLIP_PRESETS["gender"], model_id=test_hub.repo("no-such-model"))
    with pytest.raises(RevisionNotFound):
        ClipAnnotator("gender", CLIP_PRESETS["gender"], model_id=test_hub.repo("clip"), revision="no-such-branch")


def test_pickle_weights_are_refused_unless_allowed(clip_folder, tmp_path):
    pickled = shutil.copytree(clip_folder, tmp_path / "pickled")
    torch.save(load_file(pickled / "model.safetensors"), pickled / "pytorch_model.bin")
    (pickled / "model.safetensors").unlink()
    with pytest.raises(PickleWeightsRefused):
        ClipAnnotator("gender", CLIP_PRESETS["gender"], model_id=str(pickled))
    allowed = ClipAnnotator("gender", CLIP_PRESETS["gender"], model_id=str(pickled), allow_pickle=True)
    assert allowed.predict_proba(_images(2)).shape == (2, 2)
    assert allowed.pickle_scan["verdict"] == "clean" and list(allowed.pickle_scan["files"]) == ["pytorch_model.bin"]
    assert "pickle weights, picklescan" in allowed.description


def test_pickle_weights_that_run_code_are_refused_even_when_pickle_is_allowed(clip_folder, tmp_path):
    pickled = shutil.copytree(clip_folder, tmp_path / "pickled")
    (pickled / "model.safetensors").unlink()
    (pickled / "pytorch_model.bin").write_bytes(tiny_models.code_running_pickle(tmp_path / "pwned"))
    with pytest.raises(UnsafePickle, match="pytorch_model.bin of .* imports posix.mkdir"):
        ClipAnnotator("gender", CLIP_PRESETS["gender"], model_id=str(pickled), allow_pickle=True)
    assert not (tmp_path / "pwned").exists()
    (pickled / "decoy.safetensors").write_bytes((clip_folder / "model.safetensors").read_bytes())
    with pytest.raises(UnsafePickle, match="pytorch_model.bin"):  # a safetensors file transformers does not read
        ClipAnnotator("gender", CLIP_PRESETS["gender"], model_id=str(pickled), allow_pickle=True)
    assert not (tmp_path / "pwned").exists()


def test_a_model_of_the_wrong_kind_is_refused(clip_folder, classifier_folder):
    with pytest.raises(UnsupportedAnnotatorModel, match="not"):
        ClipAnnotator("gender", CLIP_PRESETS["gender"], model_id=str(classifier_folder))
    with pytest.raises(UnsupportedAnnotatorModel, match="classifier"):
        HubClassifierAnnotator("gender", str(clip_folder))


def test_images_must_be_uint8_nhwc(gender_clip):
    with pytest.raises(InvalidData):
        gender_clip.predict_proba(np.zeros((2, 16, 16, 3), dtype=np.float32))
    with pytest.raises(InvalidData):
        gender_clip.predict_proba(np.zeros((16, 16, 3), dtype=np.uint8))


def test_classifier_drops_unmapped_labels_and_renormalises(classifier_folder):
    annotator = HubClassifierAnnotator(
        "cat", str(classifier_folder), label_to_value={"cat": "1", "bird": "0"}, device="cpu"
    )
    images = _images(5)
    full = _classifier_softmax(classifier_folder, images)
    kept = full[:, [2, 0]]  # bird -> "0", cat -> "1"
    assert annotator.attribute.values == ("0", "1")
    np.testing.assert_allclose(annotator.predict_proba(images), kept / kept.sum(axis=1, keepdims=True), atol=1e-6)


def test_classifier_adds_up_labels_mapped_to_one_value(classifier_folder):
    annotator = HubClassifierAnnotator(
        "pet", str(classifier_folder), label_to_value={"cat": "pet", "dog": "pet", "bird": "wild"}
    )
    images = _images(5)
    full = _classifier_softmax(classifier_folder, images)
    assert annotator.attribute.values == ("pet", "wild")
    np.testing.assert_allclose(
        annotator.predict_proba(images), np.stack([full[:, 0] + full[:, 1], full[:, 2]], axis=1), atol=1e-6
    )


def test_classifier_without_mapping_uses_its_labels_as_values(classifier_folder):
    annotator = HubClassifierAnnotator("animal", str(classifier_folder))
    images = _images(3)
    assert annotator.attribute.values == ("cat", "dog", "bird")
    np.testing.assert_allclose(
        annotator.predict_proba(images), _classifier_softmax(classifier_folder, images), atol=1e-6
    )


def test_classifier_mapping_naming_unknown_labels_is_an_error(classifier_folder):
    with pytest.raises(InvalidLabelMapping, match="cow"):
        HubClassifierAnnotator("cat", str(classifier_folder), label_to_value={"cat": "1", "cow": "0"})


def test_classifier_save_and_load_give_identical_probabilities(classifier_folder, tmp_path):
    annotator = HubClassifierAnnotator(
        "cat", str(classifier_folder), label_to_value={"cat": "1", "dog": "0", "bird": "0"}
    )
    loaded = load_annotator(annotator.save(tmp_path / "saved"))
    images = _images(4)
    assert isinstance(loaded, HubClassifierAnnotator)
    assert loaded.attribute == annotator.attribute and loaded.label_to_value == annotator.label_to_value
    assert loaded.confusion is None
    np.testing.assert_array_equal(loaded.predict_proba(images), annotator.predict_proba(images))


def test_classifier_from_the_hub_keeps_its_labels(test_hub):
    mapping = {label: str(index) for index, label in CLASSIFIER_LABELS.items()}
    annotator = HubClassifierAnnotator("male", test_hub.repo("classifier"), label_to_value=mapping)
    assert annotator.revision == test_hub.sha("classifier")
    assert annotator.attribute.values == ("0", "1")
    assert annotator.predict_proba(_images(2)).shape == (2, 2)


def test_loading_a_folder_without_a_saved_annotator_is_an_error(tmp_path):
    with pytest.raises(InvalidSavedAnnotator):
        load_annotator(tmp_path)
    (tmp_path / "annotator.json").write_text(
        '{"format_version": 1, "type": "oracle", "attribute": {"name": "x", "values": ["0", "1"]}}'
    )
    with pytest.raises(InvalidSavedAnnotator, match="oracle"):
        load_annotator(tmp_path)


def test_an_annotator_in_half_precision_labels_like_float32(clip_folder):
    annotator = ClipAnnotator("gender", CLIP_PRESETS["gender"], model_id=str(clip_folder), device="cpu")
    images = _images(6)
    full = annotator.predict_proba(images)
    annotator.compute_dtype = torch.bfloat16  # what a GPU scan in bfloat16 sets (CPU autocast takes bfloat16)
    half = annotator.predict_proba(images)
    assert half.dtype == full.dtype and np.abs(half - full).max() < 0.05
    assert not np.array_equal(half, full)  # it did run in bfloat16
