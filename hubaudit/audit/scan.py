"""A scan: compose the sampled model and the audits the options ask for into one :class:`ScanResult`.

This is the composition the CLI, the Python API and the Space share (through :mod:`hubaudit.api`):
:func:`~hubaudit.audit.sampled.sample_model` fills the stores, the property, fairness and drift
audits read them, and the report layer renders the result.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field, replace

from hubaudit.audit.fairness.audit import FairnessAudit
from hubaudit.audit.memorization.audit import (
    check_holdout_size,
    memorization_findings,
    memorization_section,
    memorization_verdicts,
    scan_featurise,
    untested_memorization,
)
from hubaudit.audit.options import ScanOptions
from hubaudit.audit.properties.audit import PropertyAudit, first_sample_count, look_schedule, sample_until_narrow
from hubaudit.audit.properties.drift import DriftSamples, drift_section
from hubaudit.audit.sampled import SampledModel, fill_conditions, sample_model
from hubaudit.errors import AuditFailed, HubAuditError
from hubaudit.hub import ResolvedModel
from hubaudit.sampling import current_shard
from hubaudit.sampling.config import DTYPES

SCHEMA_VERSION = "1.3"


@dataclass
class ScanResult:
    """Everything a scan found, computed once; the report layer renders it. :func:`hubaudit.api.scan` returns its report
    (:meth:`to_dict` after a JSON round trip, typed: :class:`hubaudit.report.ScanReport`) with :attr:`sampled` on it.

    Attributes:
        sampled: the model, sampler and sample stores.
        command: the CLI command that reproduces this scan.
        sections: audit results by name (``"properties"``, ``"fairness"``), each JSON-able.
        findings: privacy and fairness findings.
        verdicts: one per audited subject (a self-audited attribute, an (S, Y) pair) and per audit kind that did
            not run: ``kind``, ``subject``, ``outcome`` (finding, no finding, inconclusive, not tested), ``reason``
            and ``next_step``.
        failures: the errors of the audits that could not finish after sampling (their sections are
            missing; the report lists them under ``errors`` and is written all the same); an error hubaudit
            did not anticipate is an :class:`AuditFailed` naming it.
    """

    sampled: SampledModel
    command: str
    sections: dict[str, object] = field(default_factory=dict)
    findings: list[dict] = field(default_factory=list)
    verdicts: list[dict] = field(default_factory=list)
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
                **_class_names(sampled),
            },
            "sampler": {**options.sampler.to_dict(), **sampled.sampler.describe(), "batch_size": options.batch_size},
            "n_per_condition": options.n,
            "n_total": options.n * len(sampled.samples),
            "samples": [samples.to_dict() for samples in sampled.samples],
            "store_root": str(options.sample_root),
            "timings": {name: round(seconds, 3) for name, seconds in sampled.timings.items()},
            "command": self.command,
            "options": dict(options.option_table),
            **self.sections,
            "findings": self.findings,
            "verdicts": self.verdicts + self._untested(),
            "errors": [
                {"section": section, "error": getattr(err, "error_name", type(err).__name__), "message": str(err)}
                for section, err in self.failures
            ],
        }

    def _untested(self) -> list[dict]:
        """A "not tested" verdict for each audit kind with no verdict of its own, saying why."""
        failed = dict(self.failures)
        why = {
            "privacy": "no attribute was annotated (--attribute NAME=SPEC), so no self-audit ran",
            "fairness": "no fairness audit was asked for (--sensitive NAME, with --attribute NAME=SPEC)",
        }
        sections = {"privacy": "properties", "fairness": "fairness"}
        untested = []
        for kind, reason in why.items():
            if any(verdict["kind"] == kind for verdict in self.verdicts):
                continue
            error = failed.get(sections[kind]) or (failed.get("properties") if kind == "fairness" else None)
            if error is not None:
                reason = f"the audit did not finish: {error}"
            untested.append(
                {
                    "kind": kind,
                    "subject": kind,
                    "outcome": "not tested",
                    "reason": f"not tested: {reason}",
                    "next_step": "rerun with the options named" if error is None else "fix the error and rerun",
                }
            )
        return untested


def _adapter_fields(sampled: SampledModel) -> dict:
    """The report's ``model.base`` and ``model.adapter`` for a LoRA, embedding or single-file repository."""
    base = sampled.resolved.base
    if base is None:
        return {}
    return {
        "base": {"reference": str(base.reference), "resolved_sha": base.sha},
        "adapter": sampled.adapter,
    }


def _class_names(sampled: SampledModel) -> dict:
    """The report's ``model.class_names`` (class id, as a string, -> name) where the model records names; else nothing."""
    names = sampled.sampler.capabilities.class_names
    return {"class_names": {str(class_id): name for class_id, name in sorted(names.items())}} if names else {}


def run_scan(options: ScanOptions, *, command: str = "", resolved: ResolvedModel | None = None) -> ScanResult:
    """Sample the model and run the audits the options ask for (``resolved``: the model, if already resolved)."""
    with ExitStack() as locks:
        return _run_scan(options, command=command, resolved=resolved, locks=locks)


def _run_scan(options: ScanOptions, *, command: str, resolved: ResolvedModel | None, locks: ExitStack) -> ScanResult:
    """The scan on one process. With several (torchrun), every process samples its share, the main one alone
    annotates and audits, and a failure on any process ends all of them with its one-line message."""
    clock = time.perf_counter()
    shard = current_shard()
    prepared = shard.on_main(
        lambda: _prepare_audits(options)
    )  # annotators are built first: bad input fails before sampling
    prepare_seconds = time.perf_counter() - clock
    properties, fairness = prepared if prepared is not None else (None, None)
    if options.fairness is not None and resolved is not None:  # on every process: on_main ends in a collective agree
        shard.on_main(
            lambda: fairness.read_card(resolved, token=options.token)
        )  # the card's declared rates, before sampling
    before_sampling = fairness.check_conditions if fairness is not None else None
    first_n = (
        first_sample_count(options.properties, options.n, options.batch_size) if options.properties else options.n
    )
    sampled = sample_model(
        replace(options, n=first_n), locks=locks, resolved=resolved, before_sampling=before_sampling
    )
    if prepared is not None and (options.properties is not None or options.fairness is not None):
        sampled.timings["annotator_seconds"] = prepare_seconds
    if options.properties is not None and options.properties.target_width is not None:
        sample_until_narrow(properties, sampled, n=options.n)
    drift = _draw_reference(sampled, locks) if options.check_drift else None
    result = ScanResult(sampled, command)
    looks = len(look_schedule(options.properties, options.n, options.batch_size)) if options.properties else 1
    shard.on_main(lambda: _audit(result, properties, fairness, drift, looks=looks))
    sampled.timings["total_seconds"] = time.perf_counter() - clock
    return result


def _prepare_audits(options: ScanOptions) -> tuple[PropertyAudit | None, FairnessAudit | None]:
    """The property and fairness audits the options ask for, with their annotators built and data read (and the
    memorization check's held-out images counted)."""
    properties = fairness = None
    if options.memorization is not None:
        check_holdout_size(options.memorization, allow_local=options.allow_local)
    if options.properties is not None:
        properties = PropertyAudit.prepare(
            options.properties,
            device=options.device,
            token=options.token,
            allow_pickle=options.allow_pickle,
            allow_local=options.allow_local,
        )
        if (
            options.sampler.dtype != "float32"
        ):  # half precision on a GPU: the annotators follow (calibration stays float32)
            for annotator in properties.annotators:
                annotator.compute_dtype = DTYPES[options.sampler.dtype]
    if options.fairness is not None:  # so are the fairness names, reference data and label mapping
        annotated = (
            {annotator.attribute.name: annotator.attribute.values for annotator in properties.annotators}
            if properties
            else {}
        )
        fairness = FairnessAudit.prepare(options.fairness, attribute_values=annotated, allow_local=options.allow_local)
    return properties, fairness


def _draw_reference(sampled: SampledModel, locks: ExitStack) -> DriftSamples:
    """The first ``check_drift`` samples of every condition again, with the model's own scheduler (every process)."""
    options = sampled.options
    k = min(options.check_drift, options.n)  # a sequential stop may use fewer samples than asked
    clock = time.perf_counter()
    reference = sampled.sampler.with_model_scheduler()
    conditions = [samples.condition for samples in sampled.samples]
    samples = fill_conditions(
        options,
        sampled.resolved,
        reference,
        conditions,
        n=k,
        safety=sampled.safety_checker,
        locks=locks,
        shard=sampled.shard,
    )
    sampled.timings["drift_seconds"] = time.perf_counter() - clock
    return DriftSamples(reference, samples, k)


def _audit(
    result: ScanResult,
    properties: PropertyAudit | None,
    fairness: FairnessAudit | None,
    drift: DriftSamples | None,
    *,
    looks: int,
) -> None:
    """Annotate the samples (main process); add the property, fairness and drift sections, findings and verdicts to
    ``result`` (``looks``: the sample counts a sequential stop could have ended at)."""
    sampled, options = result.sampled, result.sampled.options
    if options.memorization is not None:
        clock = time.perf_counter()
        if not _finished(result, "memorization", lambda: _memorization_section(result)):
            result.verdicts.append(untested_memorization(result.failures[-1][1]))
        sampled.timings["memorization_seconds"] = time.perf_counter() - clock
    if properties is not None and not _finished(result, "properties", lambda: _property_section(result, properties)):
        return  # the fairness signature and the drift read the annotations
    if fairness is not None:
        clock = time.perf_counter()
        _finished(result, "fairness", lambda: _fairness_section(result, fairness, properties, looks))
        sampled.timings["fairness_seconds"] = time.perf_counter() - clock
    if drift is not None:
        _finished(
            result,
            "drift",
            lambda: result.sections.update(
                drift=drift_section(properties, drift, confidence=options.properties.confidence)
            ),
        )


def _finished(result: ScanResult, section: str, compute: Callable[[], None]) -> bool:
    """Run ``compute``; any error is recorded in ``result.failures`` instead of losing the report (one the
    layers did not anticipate as an :class:`AuditFailed`; ``HUBAUDIT_DEBUG=1`` raises it with its traceback)."""
    try:
        compute()
    except HubAuditError as err:
        result.failures.append((section, err))
        return False
    except Exception as err:
        if os.environ.get("HUBAUDIT_DEBUG"):
            raise
        result.failures.append((section, AuditFailed(section, err)))
        return False
    return True


def _property_section(result: ScanResult, properties: PropertyAudit) -> None:
    sampled, options = result.sampled, result.sampled.options
    if options.properties.target_width is None:
        properties.annotate(sampled, n=options.n)
    section = properties.section()  # computed once: its corrected intervals are bootstrapped
    result.sections["properties"] = section
    result.findings.extend(properties.findings(section))
    result.verdicts.extend(properties.verdicts(section))


def _fairness_section(
    result: ScanResult, fairness: FairnessAudit, properties: PropertyAudit | None, looks: int
) -> None:
    signature = fairness.run(result.sampled, properties, token=result.sampled.options.token, looks=looks)
    result.sections["fairness"] = signature.to_dict()
    result.findings.extend(signature.findings())
    result.verdicts.extend(signature.verdicts())


def _memorization_section(result: ScanResult) -> None:
    sampled, options = result.sampled, result.sampled.options
    featurise, space = scan_featurise(
        options.memorization, token=options.token, allow_local=options.allow_local, device=options.device or "cpu"
    )
    section = memorization_section(sampled, options.memorization, featurise=featurise, space=space)
    result.sections["memorization"] = section
    result.findings.extend(memorization_findings(section))
    result.verdicts.extend(memorization_verdicts(section))
