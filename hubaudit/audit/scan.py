"""A scan: resolve and load a model, then fill one sample store per condition.

This is the composition the CLI, the Python API and the Space share; the audits
(property inference, fairness signature) read the stores it fills.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path

from hubaudit.audit.fairness import FairnessOptions
from hubaudit.audit.fairness_scan import FairnessAudit
from hubaudit.audit.properties import PropertyAudit, PropertyOptions
from hubaudit.errors import InvalidSamplerConfig
from hubaudit.hub import ResolvedModel, resolve_reference
from hubaudit.hub.loading import apply_adapter_of, load_pipeline, pipeline_class_of, safety_checker_state
from hubaudit.sampling.config import DTYPES
from hubaudit.sampling import (
    Condition,
    PipelineCapabilities,
    SampleStore,
    Sampler,
    SamplerConfig,
    Shard,
    build_sampler,
    current_shard,
    fill_store,
    pick_device,
    pipeline_capabilities,
)

MAX_SAMPLES_PER_CONDITION = 10_000_000
"""Most samples per condition a scan may ask for (the store's index bookkeeping is O(n) memory)."""

#: Component configs read before loading: what decides the kind, the classes and the step limit.
_CONFIG_FILES = ("unet/config.json", "transformer/config.json", "scheduler/scheduler_config.json")


@dataclass(frozen=True)
class ScanOptions:
    """Everything a scan needs.

    Attributes:
        model: ``org/name``, ``org/name@revision`` or a local folder.
        n: samples per condition.
        batch_size: samples per forward pass (halved automatically on out-of-memory).
        sampler: steps, scheduler swap, guidance, dtype, seed.
        conditions: class ids or prompts; None scans the model's default (unconditional: one
            condition; class-conditional: every class).
        device: ``cuda``, ``mps`` or ``cpu``; None picks the best available.
        out_dir: where ``report.json`` (and, by default, the sample store) go.
        store_dir: the sample store root; default ``out_dir / "samples"``.
        token: Hub token; None uses ``HF_TOKEN`` or the stored login.
        allow_pickle: accept pickle weights (they can run code when loaded) once picklescan finds no
            dangerous import in them; ``"unsafe"`` accepts those it flags too.
        trust_remote_code: run custom pipeline code from the repository.
        allow_local: accept local folders as models (the Space turns this off).
        base: the base pipeline of a LoRA, embedding or single-file repository (default: the
            ``base_model`` its card names).
        lora_scale: weight of a LoRA adapter (0 gives the base model).
        keep_safety_checker: keep a safety checker the model ships (it blacks out the images it
            flags, which biases every share; by default it is left out and the report says so).
        progress: show progress bars.
        properties: property inference (attributes, annotators, target width); None skips it.
        fairness: fairness signature (sensitive attributes and labels among the properties'
            attributes, label mapping, reference data, thresholds); None skips it.
    """

    model: str
    n: int = 64
    batch_size: int = 16
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    conditions: tuple[Condition, ...] | None = None
    device: str | None = None
    out_dir: Path = Path("hubaudit-out")
    store_dir: Path | None = None
    token: str | None = None
    allow_pickle: bool | str = False
    trust_remote_code: bool = False
    allow_local: bool = True
    keep_safety_checker: bool = False
    base: str | None = None
    lora_scale: float = 1.0
    progress: bool = True
    properties: PropertyOptions | None = None
    fairness: FairnessOptions | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.n <= MAX_SAMPLES_PER_CONDITION:
            raise InvalidSamplerConfig(f"n must be from 1 to {MAX_SAMPLES_PER_CONDITION:,} samples per condition, got {self.n:,}")
        if self.batch_size < 1:
            raise InvalidSamplerConfig(f"batch size must be at least 1, got {self.batch_size}")

    @property
    def sample_root(self) -> Path:
        return Path(self.store_dir) if self.store_dir is not None else Path(self.out_dir) / "samples"


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
    resolved: ResolvedModel, config: SamplerConfig, condition: Condition, *, lora_scale: float = 1.0,
    safety_checker: str = "absent",
) -> dict:
    """What a sample depends on, beyond its index: the store's key."""
    key = {
        "model": str(resolved.reference),
        "sha": resolved.sha,
        "pipeline_class": resolved.pipeline_class,
        "sampler": config.to_dict(),
        "condition": condition,
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
        options.model, token=options.token, allow_pickle=options.allow_pickle,
        trust_remote_code=options.trust_remote_code, base=options.base, allow_local=options.allow_local,
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
        pipeline_class, {name: config for name, config in configs.items() if config},
        reference=str(resolved.reference), class_names=source.model_index.get("id2label"),
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
    clock = time.perf_counter()
    resolved = resolved or resolve_options_model(options)
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
    shard = current_shard()
    sampler = build_sampler(pipeline, options.sampler, pick_device(options.device), capabilities)
    if capabilities is None:  # repository code: checked now that its class is known
        conditions = _checked_conditions(sampler, options.conditions, before_sampling)
    timings["load_seconds"] = time.perf_counter() - clock

    clock = time.perf_counter()
    safety = safety_checker_state(resolved, keep_safety_checker=options.keep_safety_checker)
    samples = []
    for condition in conditions:
        key = store_key(resolved, options.sampler, condition, lora_scale=options.lora_scale, safety_checker=safety)
        store = SampleStore(options.sample_root, key)
        if shard.is_main:
            locks.enter_context(store.lock())
        stats = fill_store(
            sampler, store, n=options.n, condition=condition, batch_size=options.batch_size,
            shard=shard, progress=options.progress,
        )
        samples.append(ConditionSamples(condition, store, stats.generated, stats.reused, stats.seconds, stats.batch_size))
    timings["sample_seconds"] = time.perf_counter() - clock
    return SampledModel(options, resolved, sampler, samples, shard, timings, safety, adapter)


SCHEMA_VERSION = "1.0"


@dataclass
class ScanResult:
    """Everything a scan found, computed once; the report layer renders it.

    Attributes:
        sampled: the model, sampler and sample stores.
        command: the CLI command that reproduces this scan.
        sections: audit results by name (``"properties"``, ``"fairness"``), each JSON-able.
    """

    sampled: SampledModel
    command: str
    sections: dict[str, object] = field(default_factory=dict)
    findings: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        """The report JSON (schema ``SCHEMA_VERSION``; see docs/report-schema.md)."""
        sampled, options = self.sampled, self.sampled.options
        return {
            "schema_version": SCHEMA_VERSION,
            "model": {
                "reference": str(sampled.resolved.reference),
                "resolved_sha": sampled.resolved.sha,
                "pipeline_class": sampled.resolved.pipeline_class,
                "kind": sampled.sampler.kind,
                "offline": sampled.resolved.offline,
                "safety_checker": sampled.safety_checker,
                "pickle_scan": sampled.resolved.pipeline_model.pickle_scan,
                **_adapter_fields(sampled),
            },
            "sampler": {**options.sampler.to_dict(), **sampled.sampler.describe(), "batch_size": options.batch_size},
            "n_per_condition": options.n,
            "n_total": options.n * len(sampled.samples),
            "samples": [samples.to_dict() for samples in sampled.samples],
            "store_root": str(options.sample_root),
            "timings": {name: round(seconds, 3) for name, seconds in sampled.timings.items()},
            "command": self.command,
            **self.sections,
            "findings": self.findings,
        }


def _adapter_fields(sampled: SampledModel) -> dict:
    """The report's ``model.base`` and ``model.adapter`` for a LoRA, embedding or single-file repository."""
    base = sampled.resolved.base
    if base is None:
        return {}
    return {
        "base": {"reference": str(base.reference), "resolved_sha": base.sha},
        "adapter": sampled.adapter,
    }


def run_scan(options: ScanOptions, *, command: str = "", resolved: ResolvedModel | None = None) -> ScanResult:
    """Sample the model and run the audits the options ask for (``resolved``: the model, if already resolved)."""
    with ExitStack() as locks:
        return _run_scan(options, command=command, resolved=resolved, locks=locks)


def _run_scan(options: ScanOptions, *, command: str, resolved: ResolvedModel | None, locks: ExitStack) -> ScanResult:
    clock = time.perf_counter()
    resolved = resolved or resolve_options_model(options)  # the refusals that need only metadata come first
    properties = fairness = None
    if options.properties is not None:  # annotators are built first: bad input fails before sampling
        properties = PropertyAudit.prepare(
            options.properties, device=options.device, token=options.token, allow_pickle=options.allow_pickle,
            allow_local=options.allow_local,
        )
    if options.fairness is not None:  # so are the fairness names, reference data and label mapping
        annotated = {annotator.attribute.name: annotator.attribute.values for annotator in properties.annotators} if properties else {}
        fairness = FairnessAudit.prepare(options.fairness, attribute_values=annotated, allow_local=options.allow_local)
    before_sampling = fairness.check_conditions if fairness is not None else None
    if properties is not None:
        first_n = properties.first_sample_count(options.n, options.batch_size)
        sampled = sample_model(replace(options, n=first_n), locks=locks, resolved=resolved, before_sampling=before_sampling)
        properties.annotate(sampled, n=options.n)
    else:
        sampled = sample_model(options, locks=locks, resolved=resolved, before_sampling=before_sampling)
    signature = fairness.run(sampled, properties, token=options.token) if fairness is not None else None
    sampled.timings["total_seconds"] = time.perf_counter() - clock
    result = ScanResult(sampled, command)
    if properties is not None:
        section = properties.section()  # computed once: its corrected intervals are bootstrapped
        result.sections["properties"] = section
        result.findings.extend(properties.findings(section))
    if signature is not None:
        result.sections["fairness"] = signature.to_dict()
        result.findings.extend(signature.findings())
    return result
