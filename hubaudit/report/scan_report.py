"""A scan's report, typed: :class:`ScanReport` is ``report.json`` (docs/report-schema.md) as one object, its checks
:class:`Verdict` records and its findings :class:`Finding` records.

``report.json`` is a ScanReport's serialisation: ``ScanReport.from_json(path).to_dict() == json.load(open(path))`` for
any report of schema 1.x (keys this version does not know are kept, in their place), and :meth:`ScanReport.save`
writes the same text back. Imports neither torch nor a renderer.

Example:
    >>> report = ScanReport.from_json("audit")  # doctest: +SKIP
    >>> [(verdict.subject, verdict.outcome) for verdict in report.verdicts]  # doctest: +SKIP
    [('is_zero', 'finding'), ('color/label', 'no finding')]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hubaudit.errors import InvalidReport
from hubaudit.report.content import fairness_pairs, pair_name
from hubaudit.report.json_report import (
    checked_version,
    parse_json_report,
    read_json_report,
    report_file,
    report_text,
    write_text_atomically,
)

if TYPE_CHECKING:
    from hubaudit.audit.sampled import SampledModel

OUTCOMES = ("finding", "no finding", "inconclusive", "not tested")
"""A verdict's outcomes (docs/statistics.md, "Verdicts: three outcomes"); the first two settle a check."""

TOP_LEVEL_KEYS = (
    "schema_version",
    "model",
    "sampler",
    "n_per_condition",
    "n_total",
    "samples",
    "store_root",
    "timings",
    "command",
    "options",
    "properties",
    "fairness",
    "drift",
    "memorization",
    "findings",
    "verdicts",
    "errors",
)
"""The keys of ``report.json`` a :class:`ScanReport` has a field for, in the order a scan writes them."""


@dataclass(frozen=True)
class Finding:
    """One entry of the report's ``findings``: a check that found a risk.

    Attributes:
        kind: ``"privacy"`` or ``"fairness"``.
        message: the finding in one line (a fairness finding's starts with its ``S/Y`` pair).
        attribute: the attribute a privacy finding is about; None for a fairness finding.
        extra: keys of the entry this version does not know, kept for the round trip.
    """

    kind: str
    message: str
    attribute: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, entry: Mapping[str, Any]) -> Finding:
        """The finding of one ``findings`` entry; :class:`InvalidReport` when it lacks ``kind`` or ``message``."""
        _require(entry, ("kind", "message"), "findings")
        attribute = entry.get("attribute")
        known = {"kind", "message"} | ({"attribute"} if attribute is not None else set())
        return cls(
            entry["kind"],
            entry["message"],
            attribute,
            {key: value for key, value in entry.items() if key not in known},
        )

    def to_dict(self) -> dict:
        """The report's ``findings`` entry."""
        attribute = {"attribute": self.attribute} if self.attribute is not None else {}
        return {"kind": self.kind, **attribute, "message": self.message, **self.extra}


@dataclass(frozen=True)
class Verdict:
    """One check of the audit and how it ended: an entry of the report's ``verdicts``, with the evidence its section's
    block gives (an attribute's ``self_audit``, an (S, Y) pair's ``verdict``).

    Attributes:
        kind: ``"privacy"`` (the sharer's self-audit of an attribute) or ``"fairness"`` (an (S, Y) pair's signature).
        subject: the attribute, the ``"S/Y"`` pair, or the kind itself for an audit that did not run.
        outcome: one of :data:`OUTCOMES`.
        reason: the verdict line.
        next_step: one line: what a finding means, what would settle an inconclusive outcome, what a check that
            did not run needs.
        interval: the estimate judged, a ShareEstimate dict (``value``, ``low``, ``high``, ``method``, ``n``, ...): a
            pair's demographic-parity gap; a two-valued attribute's generated share of its second value (the one its
            verdict names). None for an attribute of more values (its ``self_audit.estimates`` has each) or a check
            that did not run.
        margin: what the interval is judged against: the self-audit's ``max_property_error``, or the pair's
            ``max_dp_gap``; None for a kind that did not run.
        guarantee: the error rates the procedure gives, in words; None where it claims none.
        extra: keys of the entry this version does not know, kept for the round trip.
    """

    kind: str
    subject: str
    outcome: str
    reason: str
    next_step: str
    interval: Mapping[str, Any] | None = None
    margin: float | None = None
    guarantee: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def settled(self) -> bool:
        """Whether the check settled: a finding, or no finding shown."""
        return self.outcome in OUTCOMES[:2]

    @classmethod
    def from_dict(cls, entry: Mapping[str, Any], report: Mapping[str, Any] | None = None) -> Verdict:
        """The verdict of one ``verdicts`` entry, with its evidence read off ``report``'s sections when given.

        Raises:
            InvalidReport: the entry lacks one of ``kind``, ``subject``, ``outcome``, ``reason``, ``next_step``.
        """
        names = ("kind", "subject", "outcome", "reason", "next_step")
        _require(entry, names, "verdicts")
        evidence = _evidence(report or {}, entry["kind"], entry["subject"])
        return cls(
            *(entry[name] for name in names), **evidence, extra={k: v for k, v in entry.items() if k not in names}
        )

    def to_dict(self) -> dict:
        """The report's ``verdicts`` entry: ``kind``, ``subject``, ``outcome``, ``reason``, ``next_step`` (the interval,
        margin and guarantee stay in their section's block, where the report holds them)."""
        return {
            "kind": self.kind,
            "subject": self.subject,
            "outcome": self.outcome,
            "reason": self.reason,
            "next_step": self.next_step,
            **self.extra,
        }


@dataclass
class ScanReport:
    """Everything ``report.json`` holds (docs/report-schema.md), typed: what :func:`hubaudit.scan` returns and
    :func:`hubaudit.api.read_report` reads back. Computed once by the scan; :mod:`hubaudit.report` renders it.

    Attributes:
        schema_version: ``"1.2"`` for a report of this hubaudit (any ``1.x`` is read).
        model: ``reference``, ``resolved_sha``, ``pipeline_class``, ``kind``, ``offline``, ``safety_checker``, ...
        sampler: the sampler asked for and what ran (``num_inference_steps``, ``scheduler_class``, ``seed``, ...).
        n_per_condition, n_total: samples per condition, and over all conditions.
        samples: per condition: ``condition``, ``store_path``, ``generated``, ``reused``, ``seconds``, ...
        store_root: the sample store root a rerun resumes from.
        timings: seconds per stage (``resolve_seconds``, ``sample_seconds``, ``total_seconds``, ...).
        command: the ``hubaudit scan`` command that reproduces the scan.
        options: the scan's options, where the report records them.
        properties, fairness, drift, memorization: the audits' sections, each as the schema gives it; None when the audit was not
            asked for or failed (``errors`` says which).
        findings: the risks found (empty when none).
        verdicts: one per check, whatever its outcome (empty in a report before schema 1.2, which has none).
        errors: audits that failed after sampling: ``section``, ``error`` (a class name), ``message``.
        extra: top-level keys this version does not know (a later ``1.x``), kept for the round trip.
        sampled: the sampled model (pipeline, sampler, sample stores) of the scan that made this report in this
            process; None for a report read from a file. Not serialised.
        path: the ``report.json`` the report was read from or saved to, or None. Not serialised.
    """

    schema_version: str
    model: dict | None = None
    sampler: dict | None = None
    n_per_condition: int | None = None
    n_total: int | None = None
    samples: list[dict] | None = None
    store_root: str | None = None
    timings: dict | None = None
    command: str | None = None
    options: dict | None = None
    properties: dict | None = None
    fairness: dict | None = None
    drift: dict | None = None
    memorization: dict | None = None
    findings: list[Finding] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict, repr=False)
    sampled: SampledModel | None = field(default=None, repr=False, compare=False)
    path: Path | None = field(default=None, repr=False, compare=False)
    _source_keys: tuple[str, ...] | None = field(default=None, init=False, repr=False, compare=False)
    """The top-level keys of the dict it was read from, in order: :meth:`to_dict` writes those back (and only those,
    but fields set since)."""

    @classmethod
    def from_dict(cls, report: Mapping[str, Any]) -> ScanReport:
        """The report of a report dict (a parsed ``report.json``, or ``ScanResult.to_dict()`` after a JSON round trip).

        Raises:
            InvalidReport: an unknown schema version, or ``findings``/``verdicts`` that are not lists of entries with
                their keys.
        """
        report = checked_version(dict(report))
        for name in ("findings", "verdicts"):
            if not isinstance(report.get(name, []), list):
                raise InvalidReport(f"the report's {name} is not a list")
        known = {name: report[name] for name in TOP_LEVEL_KEYS if name in report}
        known["findings"] = [Finding.from_dict(entry) for entry in report.get("findings", [])]
        known["verdicts"] = [Verdict.from_dict(entry, report) for entry in report.get("verdicts", [])]
        scan_report = cls(**known, extra={key: value for key, value in report.items() if key not in TOP_LEVEL_KEYS})
        scan_report._source_keys = tuple(report)
        return scan_report

    @classmethod
    def from_json(cls, source: str | Path) -> ScanReport:
        """The report in ``source``: the path of a ``report.json`` or of the folder holding one (``path`` is then set),
        or the JSON text itself (a ``str`` starting with ``{``).

        Raises:
            InvalidReport: no report there, not JSON, an unknown schema version, or malformed findings or verdicts.
        """
        if isinstance(source, str) and source.lstrip().startswith("{"):
            return cls.from_dict(parse_json_report(source))
        path = report_file(source)
        scan_report = cls.from_dict(read_json_report(path))
        scan_report.path = path
        return scan_report

    def to_dict(self) -> dict:
        """The report dict, as ``report.json`` holds it (docs/report-schema.md): the keys it was read with, in their
        order, or (built otherwise) every field that is not None, in :data:`TOP_LEVEL_KEYS`' order; then ``extra``."""
        known = {name: getattr(self, name) for name in TOP_LEVEL_KEYS}
        known["findings"] = [finding.to_dict() for finding in self.findings]
        known["verdicts"] = [verdict.to_dict() for verdict in self.verdicts]
        values = {**known, **self.extra}
        if self._source_keys is None:
            return {name: value for name, value in values.items() if value is not None}
        added = [name for name, value in known.items() if name not in self._source_keys and value not in (None, [])]
        return {name: values[name] for name in (*self._source_keys, *added, *self.extra) if name in values}

    def to_json(self) -> str:
        """The text of ``report.json``: :meth:`to_dict` as 2-space indented JSON."""
        return report_text(self.to_dict())

    def save(self, path: str | Path) -> Path:
        """Write :meth:`to_json` to ``path`` (a file, or an existing folder: its ``report.json``) atomically; sets
        and returns :attr:`path`.

        Raises:
            hubaudit.errors.CannotWrite: the file or its folder cannot be written.
        """
        self.path = write_text_atomically(self.to_json(), report_file(path))
        return self.path


def _require(entry: object, names: tuple[str, ...], section: str) -> None:
    """:class:`InvalidReport` unless ``entry`` is a dict with every key of ``names``."""
    if not isinstance(entry, Mapping):
        raise InvalidReport(f"an entry of the report's {section} is not an object: {entry!r}")
    missing = [name for name in names if name not in entry]
    if missing:
        raise InvalidReport(f"an entry of the report's {section} has no {', '.join(missing)}: {dict(entry)!r}")


def _evidence(report: Mapping[str, Any], kind: str, subject: str) -> dict[str, Any]:
    """The ``interval``, ``margin`` and ``guarantee`` of the check ``kind``/``subject``, read off the block its section
    holds for it (an attribute's ``self_audit``, a pair's ``verdict``); empty when there is none."""
    if kind == "privacy":
        for attribute in _mapping(report.get("properties")).get("attributes") or []:
            block = _mapping(attribute.get("self_audit")) if isinstance(attribute, Mapping) else {}
            if block and attribute.get("name") == subject:
                values, estimates = attribute.get("values") or [], block.get("estimates") or {}
                interval = estimates.get(values[-1]) if len(values) == 2 else None
                return {
                    "interval": interval,
                    "margin": block.get("max_property_error"),
                    "guarantee": block.get("guarantee"),
                }
    if kind == "fairness":
        section = _mapping(report.get("fairness"))
        for pair in fairness_pairs(section):
            if isinstance(pair, Mapping) and pair_name(pair) == subject:
                block = _mapping(pair.get("verdict"))
                criteria = {
                    criterion.get("criterion"): criterion
                    for criterion in block.get("criteria") or []
                    if isinstance(criterion, Mapping)
                }
                margin = _mapping(criteria.get("max_dp_gap")).get("margin", section.get("threshold"))
                return {"interval": block.get("gap"), "margin": margin, "guarantee": block.get("guarantee")}
    if kind == "memorization":
        section = _mapping(report.get("memorization"))
        if section:
            return {
                "interval": section.get("replication_rate"),
                "margin": section.get("max_replication"),
                "guarantee": "Clopper-Pearson: coverage at least the confidence for every replication rate",
            }
    return {}


def _mapping(value: object) -> Mapping[str, Any]:
    """``value`` if it is a dict, else an empty one (a section a hand-edited report lacks or mangles)."""
    return value if isinstance(value, Mapping) else {}
