"""One interface over pipeline kinds, deterministic noise per index, and the sample store."""

from hubaudit.sampling.capabilities import PipelineCapabilities, pipeline_capabilities
from hubaudit.sampling.config import Condition, SamplerConfig, pick_device, pick_dtype
from hubaudit.sampling.noise import sample_generator
from hubaudit.sampling.runner import FillStats, Shard, current_shard, fill_store
from hubaudit.sampling.samplers import Sampler, build_sampler
from hubaudit.sampling.store import SampleStore, open_sample_store

__all__ = [
    "Condition",
    "FillStats",
    "PipelineCapabilities",
    "SampleStore",
    "Sampler",
    "SamplerConfig",
    "Shard",
    "build_sampler",
    "current_shard",
    "fill_store",
    "open_sample_store",
    "pick_device",
    "pipeline_capabilities",
    "pick_dtype",
    "sample_generator",
]
