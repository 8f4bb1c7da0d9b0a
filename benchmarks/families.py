"""Every supported diffusers family, one row each: loads, samples, batch-invariant, seconds per sample, sampler.

Each family is the tiny random-weight pipeline the tests serve (built as diffusers' own tests build
it, ``tests/family_models.py``), saved to a folder and scanned through ``hubaudit.scan`` twice: n
samples one at a time and n in one batch. Batch-invariant means sample i is the same image
(within 1/255) both ways. Seconds per sample are those of the batched scan's sampling phase, at
the family's test steps on this machine: they compare families, not real model sizes.

Targets: every family loads, samples and is batch-invariant. Prints PASS/FAIL per target and exits
1 on a miss.

Usage: ``python benchmarks/families.py [--n 4] [--only NAME ...] [--json PATH] [--markdown PATH]``
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

COLUMNS = ("family", "pipeline", "kind", "loads", "samples", "batch-invariant", "s/sample", "sampler")


def _images(report: dict) -> list[np.ndarray]:
    from hubaudit.sampling import open_sample_store

    return [open_sample_store(samples["store_path"]).load(report["n_per_condition"]) for samples in report["samples"]]


def _sampler_words(report: dict) -> str:
    sampler = report["sampler"]
    words = [sampler["scheduler_class"], f"{sampler['num_inference_steps']} steps"]
    if sampler.get("guidance_scale") is not None:
        words.append(f"guidance {sampler['guidance_scale']:g}")
    words += [f"{key}={value}" for key, value in sampler.get("call_options", {}).items()]
    if "scheduler_note" in sampler:
        words.append(sampler["scheduler_note"])
    if "fixed_batch_size" in sampler:
        words.append(f"batch size fixed at {sampler['fixed_batch_size']}: {sampler['batch_note']}")
    return ", ".join(words)


def family_row(family, *, n: int, workdir: Path) -> dict:
    """Scan one family at batch 1 and batch n; the row of the table (``error`` set where it failed)."""
    import hubaudit
    from hubaudit.errors import HubAuditError

    row = {
        "family": family.name,
        "pipeline": family.pipeline_class,
        "kind": family.kind,
        "loads": False,
        "samples": False,
        "batch_invariant": False,
        "seconds_per_sample": None,
        "sampler": "",
    }
    folder = family.save(workdir / family.name / "model")
    try:
        reports = [
            hubaudit.scan(
                str(folder),
                n=n,
                batch_size=batch_size,
                progress=False,
                out_dir=workdir / family.name / str(batch_size),
                **family.scan,
            ).to_dict()
            for batch_size in (1, n)
        ]
    except HubAuditError as err:
        row["error"] = str(err)
        row["loads"] = "sampling" in str(err)
        return row
    alone, batched = reports
    row.update(loads=True, samples=True, kind=batched["model"]["kind"], sampler=_sampler_words(batched))
    row["batch_invariant"] = all(
        np.abs(a.astype(int) - b).max() <= 1 for a, b in zip(_images(alone), _images(batched), strict=True)
    )
    row["seconds_per_sample"] = batched["timings"]["sample_seconds"] / batched["n_total"]
    return row


def markdown_table(rows: list[dict]) -> str:
    """The rows as the Markdown table of docs/supported-families.md."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in rows:
        seconds = f"{row['seconds_per_sample']:.3f}" if row["seconds_per_sample"] is not None else "-"
        cells = [
            row["family"],
            f"`{row['pipeline']}`",
            row["kind"],
            _mark(row["loads"]),
            _mark(row["samples"]),
            _mark(row["batch_invariant"]),
            seconds,
            row.get("error") or row["sampler"],
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _mark(value: bool) -> str:
    return "yes" if value else "no"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4, help="samples per condition in each scan (default 4)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="these families only")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument("--markdown", type=Path, help="also write the Markdown table here")
    args = parser.parse_args(argv)
    from family_models import FAMILIES

    names = args.only or sorted(FAMILIES)
    with tempfile.TemporaryDirectory() as workdir:
        rows = [family_row(FAMILIES[name], n=args.n, workdir=Path(workdir)) for name in names]
    print(markdown_table(rows), end="")
    targets = {
        "every family loads": all(row["loads"] for row in rows),
        "every family samples": all(row["samples"] for row in rows),
        "every family is batch-invariant (batch 1 vs batch n, within 1/255)": all(
            row["batch_invariant"] for row in rows
        ),
    }
    for target, met in targets.items():
        print(f"{'PASS' if met else 'FAIL'}  {target}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"n": args.n, "rows": rows, "targets": targets}, indent=1))
    if args.markdown:
        args.markdown.write_text(markdown_table(rows))
    return 0 if all(targets.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
