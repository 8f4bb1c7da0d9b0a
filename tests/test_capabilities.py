"""How a pipeline is driven is read off what its call takes, and bad settings are refused before loading."""

from __future__ import annotations

import pytest

from hubaudit.errors import InvalidSamplerConfig, UnsupportedPipeline
from hubaudit.sampling import SamplerConfig, pipeline_capabilities


class TextToImage:
    def __call__(
        self, prompt=None, num_inference_steps=28, guidance_scale=3.5, generator=None, height=None, output_type="pil"
    ): ...


class ClassConditional:
    def __call__(
        self, class_labels, guidance_scale=4.0, generator=None, num_inference_steps=50, output_type="pil"
    ): ...


class Unconditional:
    def __call__(self, batch_size=1, generator=None, num_inference_steps=1000, output_type="pil"): ...


class Upscaler:
    def __call__(self, prompt=None, image=None, generator=None): ...


class NeedsEmbeddings:
    def __call__(self, image_embeds, generator=None): ...


class NoGenerator:
    def __call__(self, batch_size=1, num_inference_steps=50): ...


class ControlNet:
    def __call__(self, prompt=None, image=None, controlnet_conditioning_scale=1.0, generator=None): ...


class TextToVideo:
    def __call__(self, prompt=None, num_frames=132, image=None, video=None, generator=None): ...


class ScheduledGuidance:
    def __call__(
        self,
        prompt=None,
        num_inference_steps=3,
        guidance_scale=None,
        guidance_schedule=(7.0, 7.0, 3.0),
        generator=None,
    ): ...


SCHEDULER = {"scheduler": {"num_train_timesteps": 1000}}


def capabilities(pipeline_class, configs=SCHEDULER, class_names=None):
    return pipeline_capabilities(pipeline_class, configs, reference="org/model", class_names=class_names)


def test_kind_follows_the_call_signature_and_the_component_configs():
    assert capabilities(TextToImage).kind == "text-to-image"
    assert capabilities(Unconditional).kind == "unconditional"
    dit = capabilities(ClassConditional, {"transformer": {"num_embeds_ada_norm": 3}})
    assert (dit.kind, dit.num_classes, dit.default_conditions()) == ("class-conditional", 3, [0, 1, 2])
    looped = capabilities(Unconditional, {"unet": {"num_class_embeds": 2}})
    assert (looped.kind, looped.class_embedding_loop) == ("class-conditional", True)
    assert capabilities(TextToImage).default_guidance == 3.5 and capabilities(Unconditional).default_guidance is None


@pytest.mark.parametrize(
    "pipeline_class, message",
    [
        (Upscaler, "transforms an input (image)"),
        (NeedsEmbeddings, "transforms an input (image_embeds)"),
        (NoGenerator, "takes no generator"),
        (ControlNet, "needs a control image (image) to steer the model"),
        (TextToVideo, "draws videos (num_frames)"),
    ],
)
def test_pipelines_that_cannot_be_sampled_are_refused_with_the_reason(pipeline_class, message):
    with pytest.raises(UnsupportedPipeline, match=message.replace("(", r"\(").replace(")", r"\)")):
        capabilities(pipeline_class)


def test_many_classes_without_names_must_be_named_with_the_class_flag():
    imagenet = capabilities(ClassConditional, {"transformer": {"num_embeds_ada_norm": 1000}})
    with pytest.raises(InvalidSamplerConfig, match="1000 classes: name the ones to scan with --class ID"):
        imagenet.default_conditions()
    named = capabilities(
        ClassConditional, {"transformer": {"num_embeds_ada_norm": 1000}}, {str(i): f"c{i}" for i in range(1000)}
    )
    with pytest.raises(InvalidSamplerConfig, match="--class"):
        named.default_conditions()
    imagenet.check_condition(207)


def test_settings_the_pipeline_cannot_honour_are_refused():
    with pytest.raises(InvalidSamplerConfig, match="more than the 1000 steps"):
        capabilities(Unconditional).check_settings(SamplerConfig(num_inference_steps=2000))
    with pytest.raises(InvalidSamplerConfig, match="takes no guidance scale"):
        capabilities(Unconditional).check_settings(SamplerConfig(guidance_scale=2.0))
    with pytest.raises(InvalidSamplerConfig, match="takes no width"):
        capabilities(TextToImage).check_settings(SamplerConfig(height=64, width=64))
    with pytest.raises(InvalidSamplerConfig, match="give at least one --prompt"):
        capabilities(TextToImage).default_conditions()
    capabilities(TextToImage).check_settings(SamplerConfig(num_inference_steps=1000, height=64))


def test_a_default_guidance_schedule_fixes_the_steps_unless_a_guidance_scale_replaces_it():
    scheduled = capabilities(ScheduledGuidance)
    assert scheduled.guidance_schedule_steps == 3
    scheduled.check_settings(SamplerConfig())
    with pytest.raises(InvalidSamplerConfig, match="schedule has 3 steps, not 2: give --guidance-scale"):
        scheduled.check_settings(SamplerConfig(num_inference_steps=2))
    scheduled.check_settings(SamplerConfig(num_inference_steps=2, guidance_scale=3.0))
