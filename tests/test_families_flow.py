"""The flow-matching families beyond their parametrised scan (tests/test_families.py): control entries of diffusers'
text-to-image mapping are refused from model_index.json alone; an optional reference image is left unset only in
pipelines diffusers registers as text-to-image; GLM-Image, whose pipeline couples the samples of a batch, is drawn
one at a time."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest
import torch
from diffusers import FluxKontextPipeline, StableDiffusionControlNetPipeline
from diffusers.pipelines.auto_pipeline import AUTO_TEXT2IMAGE_PIPELINES_MAPPING

from families_flow import REFUSED, build_glm_image
from hubaudit.cli import main
from hubaudit.errors import UnsupportedPipeline
from hubaudit.sampling import SamplerConfig, build_sampler, pipeline_capabilities
from hubaudit.sampling.noise import sample_generators
from hubaudit.sampling.samplers import to_uint8


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_control_entry_is_refused_with_its_reason_before_any_weight_loads(tmp_path, capsys, name):
    pipeline_class = AUTO_TEXT2IMAGE_PIPELINES_MAPPING[name]
    folder = tmp_path / name  # no weights: the refusal is decided by model_index.json
    folder.mkdir()
    (folder / "model_index.json").write_text(json.dumps({"_class_name": pipeline_class.__name__}))
    code = main(["scan", str(folder), "--prompt", "a cat", "--quiet", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert f"is a {pipeline_class.__name__}, which hubaudit cannot sample: {REFUSED[name]}" in err


class UnregisteredKontext(FluxKontextPipeline):
    """A Kontext pipeline diffusers does not register as text-to-image: its ``image`` is an input to transform."""


def test_optional_reference_image_is_left_unset_only_in_a_registered_text_to_image_pipeline():
    assert pipeline_capabilities(FluxKontextPipeline, {}, reference="org/kontext").kind == "text-to-image"
    with pytest.raises(UnsupportedPipeline, match=r"transforms an input \(image\)"):
        pipeline_capabilities(UnregisteredKontext, {}, reference="org/kontext")
    # a registered ControlNet pipeline's optional image is the control image it needs
    with pytest.raises(UnsupportedPipeline, match=r"needs a control image \(image\)"):
        pipeline_capabilities(StableDiffusionControlNetPipeline, {}, reference="org/controlnet")


def test_glm_image_couples_a_batch_so_hubaudit_draws_it_one_at_a_time():
    torch.manual_seed(0)
    pipeline = build_glm_image()
    pipeline.set_progress_bar_config(disable=True)
    indices = np.arange(3)

    def draw(chosen: np.ndarray) -> np.ndarray:
        generators = sample_generators(0, chosen, "a cat")
        call = dict(num_inference_steps=2, height=32, width=32, output_type="np")
        return to_uint8(pipeline(prompt=["a cat"] * len(chosen), generator=generators, **call).images)

    together, alone = draw(indices), np.concatenate([draw(indices[i : i + 1]) for i in indices])
    assert np.abs(together.astype(int) - alone).max() > 1  # the pipeline's own batch changes sample i
    sampler = build_sampler(pipeline, SamplerConfig(num_inference_steps=2, height=32, width=32), torch.device("cpu"))
    assert sampler.describe()["fixed_batch_size"] == 1
    np.testing.assert_array_equal(sampler.generate(indices, "a cat"), alone)


@pytest.mark.skipif(importlib.util.find_spec("torchvision") is not None, reason="torchvision is installed")
@pytest.mark.parametrize(
    "pipeline_class, component, component_class, config_file",
    [
        ("Flux2Pipeline", "tokenizer", "PixtralProcessor", "processor_config.json"),  # FLUX.2-dev's tokenizer
        ("QwenImage21Pipeline", "processor", "Qwen3VLProcessor", "processor_config.json"),  # loads a video processor
    ],
)
def test_a_component_needing_an_absent_package_is_refused_naming_the_package(
    tmp_path, capsys, pipeline_class, component, component_class, config_file
):
    folder = tmp_path / "model"
    (folder / component).mkdir(parents=True)
    index = {"_class_name": pipeline_class, component: ["transformers", component_class]}
    (folder / "model_index.json").write_text(json.dumps(index))
    (folder / component / config_file).write_text(json.dumps({"processor_class": component_class}))
    code = main(["scan", str(folder), "--prompt", "a cat", "--quiet", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert f"needs torchvision for its {component_class}: pip install torchvision" in err
