"""Sampling throughput and memory: plain diffusers vs. ``hubaudit scan``, side by side in one run.

Prints two ratios (targets from the foundation issue):

- throughput: hubaudit samples/s over plain ``pipeline(batch_size=B, num_inference_steps=S)`` in a loop,
  same model, same steps, same batch size; target >= 0.95. Runs alternate (plain, hubaudit, plain,
  ...) and the best of each is kept, so background load hits both alike.
- memory: peak RSS of a whole ``hubaudit scan`` process at n=4096 over n=256; target <= 1.2
  (samples stream to the store, so memory must not grow with n).

Usage: ``python benchmarks/sampling.py [--model PATH] [--batch-size 64] [--steps 20] [--json out.json]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEMO_MODEL = Path(__file__).resolve().parents[1] / "hubaudit" / "demo_models" / "mnist-zeros30"


def plain_diffusers_rate(model: Path, *, n: int, batch_size: int, steps: int) -> float:
    """Samples/s of ``pipeline(batch_size=B, num_inference_steps=S)`` in a loop."""
    import torch
    from diffusers import DiffusionPipeline

    pipeline = DiffusionPipeline.from_pretrained(model)
    pipeline.set_progress_bar_config(disable=True)
    generator = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    for _ in range(n // batch_size):
        pipeline(batch_size=batch_size, num_inference_steps=steps, generator=generator, output_type="np")
    return n // batch_size * batch_size / (time.perf_counter() - start)


def hubaudit_rate(model: Path, *, n: int, batch_size: int, steps: int) -> float:
    """Samples/s of ``hubaudit.scan`` (sampling phase: per-sample noise, PNG encoding, Parquet writes)."""
    import hubaudit

    with tempfile.TemporaryDirectory() as out:
        result = hubaudit.scan(str(model), n=n, batch_size=batch_size, steps=steps, progress=False, out_dir=out)
    return n / result.sampled.timings["sample_seconds"]


def scan_peak_rss_mib(model: Path, *, n: int, batch_size: int, steps: int) -> float:
    """Peak resident memory (MiB) of a separate process running ``hubaudit scan`` for n samples."""
    code = (
        "import resource, sys, tempfile, hubaudit\n"
        "with tempfile.TemporaryDirectory() as out:\n"
        f"    hubaudit.scan({str(model)!r}, n={n}, batch_size={batch_size}, steps={steps}, progress=False, out_dir=out)\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ)
    return int(result.stdout.split()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=DEMO_MODEL, help="a diffusers pipeline folder (default: the demo model)")
    parser.add_argument("--n", type=int, default=256, help="samples per throughput run")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3, help="alternating runs of each; the best is kept")
    parser.add_argument("--rss-n", type=int, nargs=2, default=(256, 4096), metavar=("SMALL", "LARGE"))
    parser.add_argument("--rss-steps", type=int, default=2, help="steps in the memory runs (memory does not depend on it)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    import torch

    settings = {"n": args.n, "batch_size": args.batch_size, "steps": args.steps}
    plain, ours = [], []
    hubaudit_rate(args.model, n=args.batch_size, batch_size=args.batch_size, steps=1)  # warm-up: imports, caches
    for _ in range(args.repeats):
        plain.append(plain_diffusers_rate(args.model, **settings))
        ours.append(hubaudit_rate(args.model, **settings))
    throughput_ratio = max(ours) / max(plain)

    small, large = args.rss_n
    rss = {n: scan_peak_rss_mib(args.model, n=n, batch_size=args.batch_size, steps=args.rss_steps) for n in (small, large)}
    rss_ratio = rss[large] / rss[small]

    print(f"model: {args.model}  device: cpu  torch threads: {torch.get_num_threads()}")
    print(f"throughput ({args.n} samples, batch {args.batch_size}, {args.steps} steps, best of {args.repeats})")
    print(f"  plain diffusers pipeline loop  {max(plain):8.2f} samples/s   runs: {', '.join(f'{r:.2f}' for r in plain)}")
    print(f"  hubaudit scan                  {max(ours):8.2f} samples/s   runs: {', '.join(f'{r:.2f}' for r in ours)}")
    print(f"  ratio hubaudit / plain         {throughput_ratio:8.3f}   (target >= 0.95)")
    print(f"peak RSS of a whole scan ({args.rss_steps} steps)")
    print(f"  n={small:<6}                       {rss[small]:8.1f} MiB")
    print(f"  n={large:<6}                       {rss[large]:8.1f} MiB")
    print(f"  ratio n={large} / n={small}          {rss_ratio:8.3f}   (target <= 1.2)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        figures = {
            "model": str(args.model),
            "settings": {**settings, "repeats": args.repeats, "rss_steps": args.rss_steps},
            "plain_samples_per_second": plain,
            "hubaudit_samples_per_second": ours,
            "throughput_ratio": throughput_ratio,
            "peak_rss_mib": {str(n): value for n, value in rss.items()},
            "rss_ratio": rss_ratio,
        }
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
