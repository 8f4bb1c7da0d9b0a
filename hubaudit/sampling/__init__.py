"""One interface over pipeline kinds, deterministic noise per index, and the sample store.

Names are imported on first use (PEP 562), so that reading a sample store
(:mod:`hubaudit.sampling.store`, e.g. by ``hubaudit report``) imports neither torch nor diffusers.
"""

from importlib import import_module

_MODULE_OF = {
    "PipelineCapabilities": "capabilities",
    "pipeline_capabilities": "capabilities",
    "signature_refusal": "capabilities",
    "Condition": "config",
    "SamplerConfig": "config",
    "pick_device": "config",
    "pick_dtype": "config",
    "sample_generator": "noise",
    "FillStats": "runner",
    "Shard": "runner",
    "current_shard": "runner",
    "fill_store": "runner",
    "Sampler": "samplers",
    "build_sampler": "samplers",
    "SampleStore": "store",
    "open_sample_store": "store",
}

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str):
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_MODULE_OF[name]}"), name)
