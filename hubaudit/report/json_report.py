"""The report JSON: written once by a scan, read back to re-render without resampling."""

from __future__ import annotations

import errno
import json
from pathlib import Path

from hubaudit.errors import InvalidReport
from hubaudit.files import write_atomically, writing

SUPPORTED_SCHEMA_MAJOR = "1"
REPORT_FILE = "report.json"
"""The name of the report a scan writes into its output folder."""


def report_file(path: Path | str) -> Path:
    """The ``report.json`` that ``path`` names: the file itself, or the one inside the folder ``path``."""
    path = Path(path)
    return path / REPORT_FILE if path.is_dir() else path


def report_text(report: dict) -> str:
    """``report`` as the text of ``report.json`` (2-space indented JSON, a final newline; a value JSON lacks as its ``str``)."""
    return json.dumps(report, indent=2, default=str) + "\n"


def write_json_report(report: dict, path: Path | str) -> Path:
    """Write ``report`` (a ``ScanResult.to_dict()``) to ``path`` atomically; returns the path."""
    return write_text_atomically(report_text(report), Path(path))


def write_text_atomically(text: str, path: Path | str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` via a temporary file and a rename; returns the path.

    Raises:
        CannotWrite: the folder cannot be created or written, or ``path`` is a folder.
    """
    path = Path(path)
    with writing(path):
        if path.is_dir():
            raise IsADirectoryError(errno.EISDIR, "it is a folder", str(path))
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, text.encode("utf-8"))
    return path


def read_json_report(path: Path | str) -> dict:
    """The report dict in ``path`` (a ``report.json`` written by :func:`write_json_report`, or the folder holding one).

    Raises:
        InvalidReport: no report there, not JSON, or of an unknown schema major version.
    """
    path = report_file(path)
    try:
        text = path.read_text()
    except FileNotFoundError as err:
        raise InvalidReport(f"no report at {path}") from err
    except (OSError, ValueError) as err:  # permissions, a folder named report.json, not UTF-8
        raise InvalidReport(f"{path} is not a JSON report: {err}") from err
    return parse_json_report(text, source=str(path))


def parse_json_report(text: str, *, source: str = "the report") -> dict:
    """The report dict of the JSON ``text`` (``source``: what to call it in an error).

    Raises:
        InvalidReport: not JSON, of an unknown schema major version, lacking a required field, or with a field of
            the wrong type (:func:`checked_fields`).
    """
    try:
        report = json.loads(text)
    except ValueError as err:
        raise InvalidReport(f"{source} is not a JSON report: {err}") from err
    return checked_fields(checked_version(report, source=source), source=source)


def checked_version(report: object, *, source: str = "the report") -> dict:
    """``report`` if it is a dict of a schema version this reader knows (any ``1.x``), else :class:`InvalidReport`."""
    version = str(report.get("schema_version", "")) if isinstance(report, dict) else ""
    if version.split(".")[0] != SUPPORTED_SCHEMA_MAJOR:
        raise InvalidReport(f"{source}: unknown report schema version {version or '(none)'!r}")
    return report


REQUIRED_FIELDS = ("model", "model.reference", "model.resolved_sha")
"""The fields every report has (schema 1.0 on): a report without them is not one a scan wrote."""
FIELD_TYPES = {
    "model": dict,
    "model.reference": str,
    "model.resolved_sha": str,
    "model.pipeline_class": str,
    "model.kind": str,
    "sampler": dict,
    "n_per_condition": int,
    "n_total": int,
    "samples": list,
    "store_root": str,
    "timings": dict,
    "command": str,
    "properties": dict,
    "fairness": dict,
    "drift": dict,
    "memorization": dict,
    "findings": list,
    "verdicts": list,
    "errors": list,
}
"""The JSON type of each field docs/report-schema.md gives a type, where the report has it (a dotted name is nested)."""
LISTS_OF_OBJECTS = ("samples", "findings", "verdicts", "errors")
_JSON_TYPES = {dict: "an object", list: "a list", str: "a string", int: "a whole number", float: "a number"}


def checked_fields(report: dict, *, source: str = "the report") -> dict:
    """``report`` if it has every :data:`REQUIRED_FIELDS` and each field of :data:`FIELD_TYPES` it has is of its type
    (and each entry of :data:`LISTS_OF_OBJECTS` an object), else :class:`InvalidReport` naming ``source`` and the field.
    """
    for name, expected in FIELD_TYPES.items():
        found, value = _field(report, name)
        if not found:
            if name in REQUIRED_FIELDS:
                raise InvalidReport(f"{source} lacks the field {name!r}, which every report a scan writes has")
            continue
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise InvalidReport(f"{source}: field {name!r} is {_json_type(value)}, not {_JSON_TYPES[expected]}")
    for name in LISTS_OF_OBJECTS:
        for position, entry in enumerate(report.get(name, [])):
            if not isinstance(entry, dict):
                raise InvalidReport(f"{source}: {name}[{position}] is {_json_type(entry)}, not an object")
    return report


def _field(report: dict, name: str) -> tuple[bool, object]:
    """(whether ``report`` has the dotted field ``name``, its value); a parent that is no object has none."""
    value: object = report
    for part in name.split("."):
        if not isinstance(value, dict) or part not in value:
            return False, None
        value = value[part]
    return True, value


def _json_type(value: object) -> str:
    """``value``'s JSON type, as an error names it (``"a string"``, ``"null"``, ``"true/false"``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    return next((name for kind, name in _JSON_TYPES.items() if isinstance(value, kind)), type(value).__name__)
