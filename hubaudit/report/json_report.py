"""The report JSON: written once by a scan, read back to re-render without resampling."""

from __future__ import annotations

import errno
import json
from pathlib import Path

from hubaudit.errors import InvalidReport
from hubaudit.files import write_atomically, writing

SUPPORTED_SCHEMA_MAJOR = "1"


def write_json_report(report: dict, path: Path | str) -> Path:
    """Write ``report`` (a ``ScanResult.to_dict()``) to ``path`` atomically; returns the path."""
    return write_text_atomically(json.dumps(report, indent=2, default=str) + "\n", Path(path))


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
    """Read a report written by :func:`write_json_report`; raises :class:`InvalidReport`."""
    path = Path(path)
    try:
        report = json.loads(path.read_text())
    except FileNotFoundError as err:
        raise InvalidReport(f"no report at {path}") from err
    except (OSError, ValueError) as err:
        raise InvalidReport(f"{path} is not a JSON report: {err}") from err
    version = str(report.get("schema_version", "")) if isinstance(report, dict) else ""
    if version.split(".")[0] != SUPPORTED_SCHEMA_MAJOR:
        raise InvalidReport(f"{path}: unknown report schema version {version or '(none)'!r}")
    return report
