"""A scan: resolve and load a model, then fill one sample store per condition.

This is the composition the CLI, the Python API and the Space share; the audits
(property inference, fairness signature) read the stores it fills.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from importlib.metadata import version
from pathlib import Path

from hubaudit.audit.drift import DriftSamples, drift_section
from hubaudit.audit.fairness import FairnessOptions
from hubaudit.audit.fairness_scan import FairnessAudit
from hubaudit.audit.properties import PropertyAudit, PropertyOptions, first_sample_count, sample_until_narrow
from hubaudit.errors import HubAuditError, InvalidSamplerConfig
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

_LOG = logging.getLogger("hubaudit.scan")

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
        compile: ``torch.compile`` the denoiser (a slower first batch, then faster; worth it for large n on a GPU).
        check_drift: draw this many samples per condition again with the model's own scheduler at
            its default steps and report how far the fast sampler moves each estimated share.
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
    check_drift: int | None = None
    compile: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.n <= MAX_SAMPLES_PER_CONDITION:
            raise InvalidSamplerConfig(f"n must be from 1 to {MAX_SAMPLES_PER_CONDITION:,} samples per condition, got {self.n:,}")
        if self.batch_size < 1:
            raise InvalidSamplerConfig(f"batch size must be at least 1, got {self.batch_size}")
        if self.check_drift is not None:
            if not 1 <= self.check_drift <= self.n:
                raise InvalidSamplerConfig(f"--check-drift K must be from 1 to n = {self.n}, got {self.check_drift}")
            if self.properties is None:
                raise InvalidSamplerConfig("--check-drift compares estimated shares: give an --attribute")
            if self.sampler.scheduler is None and self.sampler.num_inference_steps is None:
                raise InvalidSamplerConfig(
                    "--check-drift compares a fast sampler (--scheduler, --steps) with the model's own scheduler at its "
                    "default steps, which this scan already uses"
                )

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
    resolved: ResolvedModel, config: SamplerConfig, condition: Condition, *, device_type: str, lora_scale: float = 1.0,
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


def _load_and_check(
    options: ScanOptions,
    resolved: ResolvedModel | None,
    before_sampling: Callable[[str, list[Condition]], None] | None,
    timings: dict[str, float],
) -> tuple[ResolvedModel, Sampler, list[Condition], dict | None]:
    """Resolve and check ``options.model``, load it and build its sampler: (model, sampler, conditions, adapter applied)."""
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
    samples = fill_conditions(options, resolved, sampler, conditions, n=options.n, safety=safety, locks=locks, shard=shard)
    timings["sample_seconds"] = time.perf_counter() - clock
    return SampledModel(options, resolved, sampler, samples, shard, timings, safety, adapter)


def fill_conditions(
    options: ScanOptions, resolved: ResolvedModel, sampler: Sampler, conditions: list[Condition], *, n: int,
    safety: str, locks: ExitStack, shard: Shard,
) -> list[ConditionSamples]:
    """Open (and, on the main process, lock) the store of every condition and fill it to ``n`` samples."""
    samples = []
    for condition in conditions:
        key = store_key(resolved, sampler.config, condition, device_type=sampler.device.type,
                        lora_scale=options.lora_scale, safety_checker=safety)
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
            sampler, store, n=n, condition=condition, batch_size=options.batch_size, shard=shard, progress=options.progress,
        )
        samples.append(ConditionSamples(condition, store, stats.generated, stats.reused, stats.seconds, stats.batch_size))
    return samples


def _say_other_runtimes(store: SampleStore) -> None:
    """Warn when stores of the same model and settings drawn on another device or library version lie beside
    a store that has no sample yet: this scan draws its own instead of resuming them."""
    if not store.empty:
        return
    for other in store.differing_only_in("runtime"):
        _LOG.warning("sample store %s was drawn with %s; this scan runs with %s, so it draws its own samples in %s",
                     other.path, json.dumps(other.key["runtime"]), json.dumps(store.key["runtime"]), store.path)


SCHEMA_VERSION = "1.0"


@dataclass
class ScanResult:
    """Everything a scan found, computed once; the report layer renders it.

    Attributes:
        sampled: the model, sampler and sample stores.
        command: the CLI command that reproduces this scan.
        sections: audit results by name (``"properties"``, ``"fairness"``), each JSON-able.
        findings: privacy and fairness findings.
        failures: the errors of the audits that could not finish after sampling (their sections are
            missing; the report lists them under ``errors`` and is written all the same).
    """

    sampled: SampledModel
    command: str
    sections: dict[str, object] = field(default_factory=dict)
    findings: list[dict] = field(default_factory=list)
    failures: list[tuple[str, HubAuditError]] = field(default_factory=list)

    @property
    def first_failure(self) -> HubAuditError | None:
        """The first audit error, which the scan raises once the report is written; None when all finished."""
        return self.failures[0][1] if self.failures else None

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
            "errors": [{"section": section, "error": type(err).__name__, "message": str(err)} for section, err in self.failures],
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
    """The scan on one process. With several (torchrun), every process samples its share, the main one alone
    annotates and audits, and a failure on any process ends all of them with its one-line message."""
    clock = time.perf_counter()
    shard = current_shard()
    prepared = shard.on_main(lambda: _prepare_audits(options))  # annotators are built first: bad input fails before sampling
    properties, fairness = prepared if prepared is not None else (None, None)
    before_sampling = fairness.check_conditions if fairness is not None else None
    first_n = first_sample_count(options.properties, options.n, options.batch_size) if options.properties else options.n
    sampled = sample_model(replace(options, n=first_n), locks=locks, resolved=resolved, before_sampling=before_sampling)
    if options.properties is not None and options.properties.target_width is not None:
        sample_until_narrow(properties, sampled, n=options.n)
    drift = _draw_reference(sampled, locks) if options.check_drift else None
    result = ScanResult(sampled, command)
    shard.on_main(lambda: _audit(result, properties, fairness, drift))
    sampled.timings["total_seconds"] = time.perf_counter() - clock
    return result


def _prepare_audits(options: ScanOptions) -> tuple[PropertyAudit | None, FairnessAudit | None]:
    """The property and fairness audits the options ask for, with their annotators built and data read."""
    properties = fairness = None
    if options.properties is not None:
        properties = PropertyAudit.prepare(
            options.properties, device=options.device, token=options.token, allow_pickle=options.allow_pickle,
            allow_local=options.allow_local,
        )
        if options.sampler.dtype != "float32":  # half precision on a GPU: the annotators follow (calibration stays float32)
            for annotator in properties.annotators:
                annotator.compute_dtype = DTYPES[options.sampler.dtype]
    if options.fairness is not None:  # so are the fairness names, reference data and label mapping
        annotated = {annotator.attribute.name: annotator.attribute.values for annotator in properties.annotators} if properties else {}
        fairness = FairnessAudit.prepare(options.fairness, attribute_values=annotated, allow_local=options.allow_local)
    return properties, fairness


def _draw_reference(sampled: SampledModel, locks: ExitStack) -> DriftSamples:
    """The first ``check_drift`` samples of every condition again, with the model's own scheduler (every process)."""
    options = sampled.options
    k = min(options.check_drift, options.n)  # a sequential stop may use fewer samples than asked
    clock = time.perf_counter()
    reference = sampled.sampler.with_model_scheduler()
    conditions = [samples.condition for samples in sampled.samples]
    samples = fill_conditions(options, sampled.resolved, reference, conditions, n=k, safety=sampled.safety_checker,
                              locks=locks, shard=sampled.shard)
    sampled.timings["drift_seconds"] = time.perf_counter() - clock
    return DriftSamples(reference, samples, k)


def _audit(
    result: ScanResult, properties: PropertyAudit | None, fairness: FairnessAudit | None, drift: DriftSamples | None,
) -> None:
    """Annotate the samples (main process); add the property, fairness and drift sections and findings to ``result``."""
    sampled, options = result.sampled, result.sampled.options
    if properties is not None and not _finished(result, "properties", lambda: _property_section(result, properties)):
        return  # the fairness signature and the drift read the annotations
    if fairness is not None:
        _finished(result, "fairness", lambda: _fairness_section(result, fairness, properties))
    if drift is not None:
        _finished(result, "drift", lambda: result.sections.update(
            drift=drift_section(properties, drift, confidence=options.properties.confidence)))


def _finished(result: ScanResult, section: str, compute: Callable[[], None]) -> bool:
    """Run ``compute``; a :class:`HubAuditError` is recorded in ``result.failures`` instead of losing the report."""
    try:
        compute()
    except HubAuditError as err:
        result.failures.append((section, err))
        return False
    return True


def _property_section(result: ScanResult, properties: PropertyAudit) -> None:
    sampled, options = result.sampled, result.sampled.options
    if options.properties.target_width is None:
        properties.annotate(sampled, n=options.n)
    section = properties.section()  # computed once: its corrected intervals are bootstrapped
    result.sections["properties"] = section
    result.findings.extend(properties.findings(section))


def _fairness_section(result: ScanResult, fairness: FairnessAudit, properties: PropertyAudit | None) -> None:
    signature = fairness.run(result.sampled, properties, token=result.sampled.options.token)
    result.sections["fairness"] = signature.to_dict()
    result.findings.extend(signature.findings())
