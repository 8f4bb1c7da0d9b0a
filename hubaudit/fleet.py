"""Fleet scans (``hubaudit scan-many``, :func:`hubaudit.api.scan_many`): one scan per Hub model, each a Ray task, and
a summary.

Each model's scan goes to ``OUT/<org>--<name>/`` (``@<revision>`` appended when one is given)
with its own report; a model whose report is of its current commit and of the same scan
command is not scanned again. ``OUT/fleet.json``, ``fleet.csv`` and ``fleet.html`` hold one
:class:`FleetRow` per model (:data:`SUMMARY_COLUMNS`). Importing this module imports neither ray nor torch.

This module sits below :mod:`hubaudit.api`: the API passes in the scan each task runs (``scan``) and the command its
report records (``command``).
"""

from __future__ import annotations

import csv
import html
import io
import json
import os
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

from hubaudit.errors import CannotRead, FleetUnavailable, HubAuditError, InvalidReport, first_line
from hubaudit.files import write_atomically, writing
from hubaudit.hub import parse_model_reference, resolve_reference
from hubaudit.report.content import CHECK_KINDS, attribute_groups, estimate_text, fail_on_exit_code, primary_estimates
from hubaudit.report.json_report import read_json_report

STATUSES = ("scanned", "skipped", "error")
"""A row's ``status``: scanned by this run, ``skipped`` (its report was current and is reused), or failed."""

SUMMARY_COLUMNS = ("model", "status", "resolved_sha", "kind", "findings", "estimates", "error", "report")
"""Columns of ``fleet.csv`` and ``fleet.html``; ``fleet.json`` rows hold the same, structured (docs/user-guide-fleet.md)."""

_RESOLVE_ARGUMENTS = ("token", "allow_pickle", "trust_remote_code", "base", "allow_local")
"""``api.scan`` keyword arguments that decide how a reference resolves (and so the commit it pins)."""


@dataclass(frozen=True)
class FleetRow:
    """One model of a fleet: its row of ``fleet.json`` (:meth:`to_dict`), ``fleet.csv`` and ``fleet.html``.

    Attributes:
        model: the reference as given.
        status: one of :data:`STATUSES`.
        resolved_sha: the commit its report pins; None for an error.
        kind: ``unconditional``, ``class-conditional`` or ``text-to-image``; None for an error.
        findings: finding kind -> count (``{}`` for none).
        exit_codes: ``privacy``, ``fairness``, ``any`` -> the exit code ``--fail-on`` that kind gives its report (3 for
            an error: nothing was tested).
        estimates: attribute -> value -> ``{"value", "low", "high"}``: the primary estimate (pooled over conditions).
        error: the one-line message of the failure, else None.
        folder: the model's folder inside the fleet folder (:func:`model_folder`).
    """

    model: str
    status: str
    resolved_sha: str | None
    kind: str | None
    findings: dict[str, int]
    exit_codes: dict[str, int]
    estimates: dict[str, dict[str, dict[str, float]]]
    error: str | None
    folder: str

    @classmethod
    def from_dict(cls, row: Mapping[str, Any]) -> FleetRow:
        """The row of one entry of ``fleet.json``."""
        return cls(**row)

    def to_dict(self) -> dict:
        """The entry of ``fleet.json``: every field by name."""
        return asdict(self)


class ScanFunction(Protocol):
    """:func:`hubaudit.api.scan`'s shape, as a fleet task calls it: a report (anything with ``to_dict()``) back."""

    def __call__(self, model: str, *, out_dir: str, **scan_kwargs: Any) -> Any: ...


def import_ray():
    """The ``ray`` module; :class:`FleetUnavailable` when it is not installed."""
    try:
        import ray
    except ImportError:
        raise FleetUnavailable() from None
    return ray


def read_models_file(path: Path | str) -> list[str]:
    """The model references in ``path``: one ``org/name[@revision]`` per line; ``#`` starts a comment.

    Raises:
        CannotRead: the file cannot be read or is not UTF-8 text.
        InvalidModelReference: a line is not ``org/name[@revision]``.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise CannotRead(path, err.strerror or first_line(err)) from None
    except UnicodeDecodeError:
        raise CannotRead(path, "not UTF-8 text") from None
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [hub_reference(line) for line in lines if line]


def hub_models(
    *,
    author: str | None = None,
    search: str | None = None,
    filters: Sequence[str] | None = None,
    limit: int | None = None,
) -> list[str]:
    """Ids of the Hub models ``HfApi().list_models`` lists for these criteria (at most ``limit``; None: all)."""
    from huggingface_hub import HfApi

    listed = HfApi().list_models(author=author, search=search, filter=list(filters) if filters else None, limit=limit)
    return [hub_reference(info.id) for info in listed]


def fleet_models(
    *,
    models_file: Path | str | None = None,
    author: str | None = None,
    search: str | None = None,
    filters: Sequence[str] | None = None,
    limit: int | None = None,
) -> list[str]:
    """The models of a fleet: those of ``models_file``, then those the Hub lists; each reference once, in that order."""
    models = read_models_file(models_file) if models_file is not None else []
    if author or search or filters:
        models += hub_models(author=author, search=search, filters=filters, limit=limit)
    return list(dict.fromkeys(models))


def hub_reference(text: str) -> str:
    """``text`` if it is ``org/name[@revision]`` (fleets scan Hub models only), else :class:`InvalidModelReference`."""
    parse_model_reference(text, allow_local=False)
    return text


def model_folder(model: str) -> str:
    """The folder of ``model``'s scan inside the fleet folder: ``org/name@rev`` -> ``org--name@rev``."""
    return model.replace("/", "--")


def default_gpus_per_scan() -> int:
    """GPUs a scan reserves unless told: 1 when this machine has CUDA, else 0."""
    import torch

    return int(torch.cuda.is_available())


@contextmanager
def ray_session(*, address: str | None = None, num_cpus: int | None = None) -> Iterator[None]:
    """Ray for the fleet: the cluster at ``address`` (``HEAD:6379`` or ``ray://HEAD:10001``), else a local Ray of
    ``num_cpus`` CPUs (None: every core), shut down on exit; a Ray this process already started is used as it is."""
    ray = import_ray()
    started = not ray.is_initialized()
    if started:
        ray.init(**({"address": address} if address else {"num_cpus": num_cpus, "include_dashboard": False}))
    try:
        yield
    finally:
        if started:
            ray.shutdown()


def hub_environment() -> dict[str, str]:
    """This process's Hugging Face settings (``HF_*`` variables: endpoint, token, cache, offline), which every task gets."""
    return {
        name: value for name, value in os.environ.items() if name.startswith("HF_") or name == "HUGGING_FACE_HUB_TOKEN"
    }


def scan_fleet(
    models: Sequence[str],
    out_dir: Path | str,
    scan_kwargs: Mapping[str, object],
    *,
    scan: ScanFunction,
    command: Callable[[str, Mapping[str, object]], str],
    cpus_per_scan: float = 1,
    gpus_per_scan: float = 0,
    on_row: Callable[[FleetRow], None] | None = None,
) -> list[FleetRow]:
    """Scan every model as a Ray task (Ray must be initialised: :func:`ray_session`); one row each, in ``models``' order.

    Args:
        models: ``org/name[@revision]`` references.
        out_dir: the fleet folder; model m's scan goes to ``out_dir / model_folder(m)``. On a cluster every node
            must see it at the same path.
        scan_kwargs: keyword arguments of ``scan`` for every model (not ``out_dir``).
        scan, command: what each task runs (:func:`scan_fleet_model`): :func:`hubaudit.api.scan` and
            :func:`hubaudit.api.scan_command`, module-level functions that Ray passes to its workers by name.
        cpus_per_scan: CPUs each task reserves.
        gpus_per_scan: GPUs each task reserves (a fraction shares one); with 0 the scans run on the CPU unless
            ``scan_kwargs["device"]`` says otherwise.
        on_row: called with each row as it arrives.
    """
    ray = import_ray()
    scan_kwargs = {**scan_kwargs, "device": scan_kwargs.get("device") or (None if gpus_per_scan else "cpu")}
    task = ray.remote(scan_fleet_model).options(
        num_cpus=cpus_per_scan, num_gpus=gpus_per_scan, runtime_env={"env_vars": hub_environment()}
    )
    folders = {model: str(Path(out_dir).resolve() / model_folder(model)) for model in models}
    pending = {task.remote(model, folders[model], scan_kwargs, scan=scan, command=command): model for model in models}
    rows = {}
    try:
        while pending:
            (done,), _ = ray.wait(list(pending), num_returns=1)
            model = pending.pop(done)
            try:
                rows[model] = ray.get(done)
            except Exception as err:  # the task itself failed (its worker died): the model's row says so
                rows[model] = error_row(model, folders[model], err)
            if on_row is not None:
                on_row(rows[model])
    finally:  # interrupted: the scans still running stop too (each keeps its finished batches)
        for ref in pending:
            ray.cancel(ref)
    return [rows[model] for model in models]


def scan_fleet_model(
    model: str,
    out_dir: str,
    scan_kwargs: Mapping[str, object],
    *,
    scan: ScanFunction,
    command: Callable[[str, Mapping[str, object]], str],
) -> FleetRow:
    """The Ray task: ``model``'s row, from the report in ``out_dir`` if current (same commit, and the ``command`` that
    ``scan(model, out_dir=out_dir, **scan_kwargs)`` records), else from scanning it there with ``scan``; an error is its
    row."""
    from hubaudit.verbosity import quiet_libraries

    progress = bool(scan_kwargs.get("progress", True))
    quiet_libraries(progress_bars=progress, force=not progress)
    try:
        report = current_report(
            model, out_dir, scan_kwargs, command=command(model, {**scan_kwargs, "out_dir": out_dir})
        )
        if report is not None:
            return summary_row(model, out_dir, report, "skipped")
        return summary_row(model, out_dir, scan(model, out_dir=out_dir, **scan_kwargs).to_dict(), "scanned")
    except Exception as err:  # one model's failure is its row, never the end of the fleet
        return error_row(model, out_dir, err)


def current_report(model: str, out_dir: Path | str, scan_kwargs: Mapping[str, object], *, command: str) -> dict | None:
    """The report dict in ``out_dir`` if it is of ``model``'s current commit (and its base's) and records ``command``
    (what a scan with ``scan_kwargs`` would)."""
    try:
        report = read_json_report(out_dir)
    except InvalidReport:  # none yet, or unreadable: scan
        return None
    resolved = resolve_reference(
        model, **{name: scan_kwargs[name] for name in _RESOLVE_ARGUMENTS if name in scan_kwargs}
    )
    recorded = report.get("model", {})
    pins = (resolved.sha, resolved.base.sha if resolved.base is not None else None)
    recorded_pins = (recorded.get("resolved_sha"), recorded.get("base", {}).get("resolved_sha"))
    return report if pins == recorded_pins and report.get("command") == command else None


def summary_row(model: str, out_dir: Path | str, report: dict, status: str) -> FleetRow:
    """The fleet row of ``model`` whose scan wrote ``report`` (a report dict) into ``out_dir``."""
    return FleetRow(
        model=model,
        status=status,
        resolved_sha=report["model"]["resolved_sha"],
        kind=report["model"]["kind"],
        findings=dict(Counter(finding["kind"] for finding in report["findings"])),
        exit_codes={kind: fail_on_exit_code(report, kind) for kind in (*CHECK_KINDS, "any")},
        estimates=primary_shares(report),
        error=None,
        folder=Path(out_dir).name,
    )


def error_row(model: str, out_dir: Path | str, err: Exception) -> FleetRow:
    """The fleet row of a model whose scan raised ``err``: a HubAuditError's message, or ``Type: first line``."""
    message = first_line(err) if isinstance(err, HubAuditError) else f"{type(err).__name__}: {first_line(err)}"
    return FleetRow(
        model, "error", None, None, {}, {kind: 3 for kind in (*CHECK_KINDS, "any")}, {}, message, Path(out_dir).name
    )


def primary_shares(report: dict) -> dict[str, dict[str, dict[str, float]]]:
    """Attribute -> value -> ``{"value", "low", "high"}`` of its primary estimate (pooled over conditions when several)."""
    shares = {}
    for attribute in report.get("properties", {}).get("attributes", []):
        groups = attribute_groups(attribute)
        if groups:
            _, estimates = primary_estimates(attribute, groups[-1][1])
            shares[attribute["name"]] = {
                value: {bound: estimate[bound] for bound in ("value", "low", "high")}
                for value, estimate in estimates.items()
            }
    return shares


def fleet_exit_code(rows: Sequence[FleetRow], *, fail_on: str | None = None, fail_on_error: bool = False) -> int:
    """1 if a model has a finding of kind ``fail_on`` (``any``: of either kind), else 2 if one failed and
    ``fail_on_error``, else 3 if a model's check of that kind is inconclusive or not tested (a failed scan's are not
    tested), else 0."""
    codes = {row.exit_codes.get(fail_on, 3) for row in rows} if fail_on is not None else {0}
    if 1 in codes:
        return 1
    if fail_on_error and any(row.status == "error" for row in rows):
        return 2
    return 3 if 3 in codes else 0


def row_line(row: FleetRow) -> str:
    """The terminal line of one model's row."""
    if row.status == "error":
        return f"error     {row.model}: {row.error}"
    return f"{row.status:<9} {row.model} @ {row.resolved_sha} ({row.kind}): findings {_findings_text(row.findings)}"


def counts_line(rows: Sequence[FleetRow], out_dir: Path | str) -> str:
    """The final terminal line: how many models ended in each status, and where the summary is."""
    counts = Counter(row.status for row in rows)
    statuses = ", ".join(f"{counts[status]} {status}" for status in STATUSES)
    return f"fleet     {len(rows)} models: {statuses}; summary in {Path(out_dir) / 'fleet.html'}, fleet.json and fleet.csv"


def write_fleet_summary(rows: Sequence[FleetRow], out_dir: Path | str) -> list[Path]:
    """Write ``fleet.json`` (the rows), ``fleet.csv`` and ``fleet.html`` into ``out_dir``; returns their paths."""
    texts = {
        "fleet.json": json.dumps([row.to_dict() for row in rows], indent=2) + "\n",
        "fleet.csv": fleet_csv(rows),
        "fleet.html": fleet_html(rows),
    }
    paths = [Path(out_dir) / name for name in texts]
    for path, text in zip(paths, texts.values()):
        with writing(path):
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(path, text.encode("utf-8"))
    return paths


def summary_cells(row: FleetRow) -> dict[str, str]:
    """One row as the text of each of :data:`SUMMARY_COLUMNS`."""
    estimates = "; ".join(
        f"{name}: " + ", ".join(f"{value} {estimate_text(estimate, digits=2)}" for value, estimate in shares.items())
        for name, shares in row.estimates.items()
    )
    return {
        "model": row.model,
        "status": row.status,
        "resolved_sha": row.resolved_sha or "",
        "kind": row.kind or "",
        "findings": "" if row.status == "error" else _findings_text(row.findings),
        "estimates": estimates,
        "error": row.error or "",
        "report": "" if row.status == "error" else f"{row.folder}/report.json",
    }


def fleet_csv(rows: Sequence[FleetRow]) -> str:
    """``fleet.csv``: a header of :data:`SUMMARY_COLUMNS`, then one line per row."""
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=SUMMARY_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(summary_cells(row) for row in rows)
    return text.getvalue()


def fleet_html(rows: Sequence[FleetRow]) -> str:
    """``fleet.html``: a self-contained page with one table row per model, its name linking to its ``report.html``."""
    head = "".join(f"<th>{name}</th>" for name in _HTML_COLUMNS)
    body = "\n".join(_html_row(row) for row in rows)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>hubaudit fleet: {len(rows)} models</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}th,td{{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}}
tr.error td{{background:#fdecea}}tr.skipped td{{color:#555}}</style></head>
<body><h1>hubaudit fleet: {len(rows)} models</h1>
<table><thead><tr>{head}</tr></thead><tbody>
{body}
</tbody></table></body></html>
"""


_HTML_COLUMNS = SUMMARY_COLUMNS[:-1]
"""The page's columns: the report path is the model's link."""


def _html_row(row: FleetRow) -> str:
    cells = {column: html.escape(text) for column, text in summary_cells(row).items()}
    if cells["report"]:
        cells["model"] = f'<a href="{html.escape(quote(row.folder))}/report.html">{cells["model"]}</a>'
    cells["resolved_sha"] = f"<code>{cells['resolved_sha']}</code>"
    return f'<tr class="{row.status}">' + "".join(f"<td>{cells[column]}</td>" for column in _HTML_COLUMNS) + "</tr>"


def _findings_text(findings: Mapping[str, int]) -> str:
    """``{"privacy": 1, "fairness": 2}`` -> ``"3 (privacy 1, fairness 2)"``; none -> ``"0"``."""
    kinds = ", ".join(f"{kind} {count}" for kind, count in findings.items())
    return f"{sum(findings.values())} ({kinds})" if findings else "0"
