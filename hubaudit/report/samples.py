"""Read back the first samples of each condition from the sample stores a report names.

A report records each store's folder (``samples[i].store_path``); the folder's
``manifest.json`` holds the store key, so the store opens without the model. A report that
was moved keeps working when its stores sit in the default ``samples/`` folder beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hubaudit.errors import IncompleteSampleStore
from hubaudit.report.content import condition_label
from hubaudit.sampling.store import open_sample_store


@dataclass(frozen=True)
class ConditionImages:
    """The first samples of one condition: ``images`` uint8 ``[k, H, W, C]``, or None with ``missing`` saying why."""

    condition: str
    images: np.ndarray | None
    missing: str = ""


def read_condition_images(
    report: dict, *, per_condition: int = 8, max_conditions: int | None = None, report_dir: Path | str | None = None
) -> list[ConditionImages]:
    """Up to ``per_condition`` samples (indices 0..k-1) of each condition in ``report["samples"]``.

    Args:
        report: a report dict (docs/report-schema.md).
        per_condition: samples to read per condition (never more than the scan made).
        max_conditions: read only the first this many conditions (None: all).
        report_dir: the report's folder; stores are looked for at their recorded path,
            then in ``report_dir/samples/``.
    """
    k = min(per_condition, int(report.get("n_per_condition") or 0))
    found = []
    for samples in report.get("samples", [])[:max_conditions]:
        label = condition_label(samples.get("condition"))
        recorded = Path(samples.get("store_path", ""))
        candidates = [recorded] + ([Path(report_dir) / "samples" / recorded.name] if report_dir is not None else [])
        store = next((store for store in map(open_sample_store, candidates) if store is not None), None)
        if store is None:
            found.append(ConditionImages(label, None, f"sample store not found at {recorded}"))
            continue
        try:
            found.append(ConditionImages(label, store.load(k) if k else None, "" if k else "no samples"))
        except IncompleteSampleStore as err:
            found.append(ConditionImages(label, None, str(err)))
    return found
