"""The sampled model the audits consume: resolve and load a model, then fill one sample store per condition.

:func:`sample_model` is the first half of every scan; the audits (property inference, fairness
signature, drift) read the :class:`SampledModel` it returns.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from importlib.metadata import version

from hubaudit.audit.options import ScanOptions
from hubaudit.hub import ResolvedModel, check_lora_scale, resolve_reference
from hubaudit.hub.loading import apply_adapter_of, load_pipeline, pipeline_class_of, safety_checker_state
from hubaudit.sampling import (
    Condition,
    PipelineCapabilities,
    Sampler,
    SamplerConfig,
    SampleStore,
    Shard,
    build_sampler,
    current_shard,
    fill_store,
    pick_device,
    pipeline_capabilities,
)
from hubaudit.sampling.config import DTYPES

_LOG = logging.getLogger("hubaudit.scan")

#: Component configs read before loading: what decides the kind, the classes and the step limit.
_CONFIG_FILES = ("unet/config.json", "transformer/config.json", "scheduler/scheduler_config.json")


@dataclass
class ConditionSamples:
    """The samples of one condition: where they are and how they were obtained."""

    condition: Condition
    store: SampleStore
    generated: int
    reused: int
    seconds: float
    final_batch_size: int

    def to_dict(self) -> dict:
        return {
            "condition": self.condition,
            "store_path": str(self.store.path),
            "generated": self.generated,
            "reused": self.reused,
            "seconds": round(self.seconds, 3),
            "final_batch_size": self.final_batch_size,
            "set_aside_shards": list(self.store.set_aside),
        }


@dataclass
class SampledModel:
    """A loaded model and its filled sample stores: what the audits consume."""

    options: ScanOptions
    resolved: ResolvedModel
    sampler: Sampler
    samples: list[ConditionSamples]
    shard: Shard
    timings: dict[str, float]
    safety_checker: str = "absent"
    adapter: dict | None = None


def store_key(
    resolved: ResolvedModel,
    config: SamplerConfig,
    condition: Condition,
    *,
    device_type: str,
    lora_scale: float = 1.0,
    safety_checker: str = "absent",
) -> dict:
    """What a sample depends on, beyond its index: the store's key.

    ``runtime`` (device type, torch and diffusers versions) is part of it: the same seed gives other
    pixels on another device or library version, and one store must never mix the two.
    """
    key = {
        "model": str(resolved.reference),
        "sha": resolved.sha,
        "pipeline_class": resolved.pipeline_class,
        "sampler": config.to_dict(),
        "condition": condition,
        "runtime": {"device": device_type, "torch": version("torch"), "diffusers": version("diffusers")},
    }
    if resolved.base is not None:
        key["base_sha"] = resolved.base.sha
        key["lora_scale"] = lora_scale
    if safety_checker != "absent":
        key["safety_checker"] = safety_checker
    return key


def resolve_options_model(options: ScanOptions) -> ResolvedModel:
    """Pin and check ``options.model`` from its files alone (no torch, no diffusers): the fast refusals."""
    return resolve_reference(
        options.model,
        token=options.token,
        allow_pickle=options.allow_pickle,
        trust_remote_code=options.trust_remote_code,
        base=options.base,
        allow_local=options.allow_local,
    )


def model_capabilities(resolved: ResolvedModel, *, token: str | None = None) -> PipelineCapabilities | None:
    """How to drive the model, from its pipeline class and component configs, before any weight loads.

    None for a pipeline defined by repository code: its capabilities are read once it is loaded.
    """
    pipeline_class = pipeline_class_of(resolved)
    if pipeline_class is None:
        return None
    source = resolved.pipeline_model
    configs = {path.partition("/")[0]: source.read_json(path, token=token) for path in _CONFIG_FILES}
    return pipeline_capabilities(
        pipeline_class,
        {name: config for name, config in configs.items() if config},
        reference=str(resolved.reference),
        class_names=source.model_index.get("id2label"),
    )


def _checked_conditions(
    model: PipelineCapabilities | Sampler,
    requested: tuple[Condition, ...] | None,
    before_sampling: Callable[[str, list[Condition]], None] | None,
) -> list[Condition]:
    """The conditions to scan (``requested``, else the model's default), each checked against the model."""
    conditions = list(dict.fromkeys(requested)) if requested else model.default_conditions()  # each store once
    for condition in conditions:
        model.check_condition(condition)
    if before_sampling is not None:
        before_sampling(model.kind, conditions)
    return conditions


def _load_and_check(
    options: ScanOptions,
    resolved: ResolvedModel | None,
    before_sampling: Callable[[str, list[Condition]], None] | None,
    timings: dict[str, float],
) -> tuple[ResolvedModel, Sampler, list[Condition], dict | None]:
    """Resolve and check ``options.model``, load it and build its sampler: (model, sampler, conditions, adapter applied)."""
    clock = time.perf_counter()
    resolved = resolved or resolve_options_model(options)
    check_lora_scale(resolved, options.lora_scale)
    capabilities = model_capabilities(resolved, token=options.token)
    if capabilities is not None:
        capabilities.check_settings(options.sampler)
        conditions = _checked_conditions(capabilities, options.conditions, before_sampling)
    timings["resolve_seconds"] = time.perf_counter() - clock

    clock = time.perf_counter()
    pipeline = load_pipeline(
        resolved,
        token=options.token,
        allow_pickle=options.allow_pickle,
        trust_remote_code=options.trust_remote_code,
        keep_safety_checker=options.keep_safety_checker,
        dtype=DTYPES[options.sampler.dtype],
    )
    adapter = apply_adapter_of(pipeline, resolved, scale=options.lora_scale, token=options.token)
    sampler = build_sampler(pipeline, options.sampler, pick_device(options.device), capabilities)
    if options.compile:
        sampler.compile()
    if capabilities is None:  # repository code: checked now that its class is known
        conditions = _checked_conditions(sampler, options.conditions, before_sampling)
    timings["load_seconds"] = time.perf_counter() - clock
    return resolved, sampler, conditions, adapter


def sample_model(
    options: ScanOptions,
    *,
    locks: ExitStack,
    resolved: ResolvedModel | None = None,
    before_sampling: Callable[[str, list[Condition]], None] | None = None,
) -> SampledModel:
    """Resolve, load and sample ``options.model``: the first half of every scan.

    Settings and conditions the model cannot take are refused before its weights load.
    ``before_sampling(kind, conditions)`` may raise to refuse the conditions before any sample is drawn.
    The main process holds each sample store's lock until ``locks`` closes (the end of the scan).
    """
    timings: dict[str, float] = {}
    shard = current_shard()
    error = None
    try:  # a refusal or load failure on one process ends them all (agree), instead of leaving them waiting
        resolved, sampler, conditions, adapter = _load_and_check(options, resolved, before_sampling, timings)
    except Exception as err:
        error = err
    shard.agree(error)

    clock = time.perf_counter()
    safety = safety_checker_state(resolved, keep_safety_checker=options.keep_safety_checker)
    samples = fill_conditions(
        options, resolved, sampler, conditions, n=options.n, safety=safety, locks=locks, shard=shard
    )
    timings["sample_seconds"] = time.perf_counter() - clock
    return SampledModel(options, resolved, sampler, samples, shard, timings, safety, adapter)


def fill_conditions(
    options: ScanOptions,
    resolved: ResolvedModel,
    sampler: Sampler,
    conditions: list[Condition],
    *,
    n: int,
    safety: str,
    locks: ExitStack,
    shard: Shard,
) -> list[ConditionSamples]:
    """Open (and, on the main process, lock) the store of every condition and fill it to ``n`` samples."""
    samples = []
    for condition in conditions:
        key = store_key(
            resolved,
            sampler.config,
            condition,
            device_type=sampler.device.type,
            lora_scale=options.lora_scale,
            safety_checker=safety,
        )
        error = None
        try:
            store = SampleStore(options.sample_root, key)
            if shard.is_main:
                locks.enter_context(store.lock())
                _say_other_runtimes(store)
        except Exception as err:  # a store in use or unwritable: every process stops
            error = err
        shard.agree(error)
        stats = fill_store(
            sampler,
            store,
            n=n,
            condition=condition,
            batch_size=options.batch_size,
            shard=shard,
            progress=options.progress,
        )
        samples.append(
            ConditionSamples(condition, store, stats.generated, stats.reused, stats.seconds, stats.batch_size)
        )
    return samples


def _say_other_runtimes(store: SampleStore) -> None:
    """Warn when stores of the same model and settings drawn on another device or library version lie beside
    a store that has no sample yet: this scan draws its own instead of resuming them."""
    if not store.empty:
        return
    for other in store.differing_only_in("runtime"):
        _LOG.warning(
            "sample store %s was drawn with %s; this scan runs with %s, so it draws its own samples in %s",
            other.path,
            json.dumps(other.key["runtime"]),
            json.dumps(store.key["runtime"]),
            store.path,
        )
