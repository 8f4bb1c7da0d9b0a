"""The ``hubaudit`` command line: a thin front end over :mod:`hubaudit.api`.

Exit codes: 0 pass, 1 findings (with ``--fail-on``), 2 error (one line on stderr), 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from hubaudit import __version__
from hubaudit.errors import HubAuditError


def _add_scan_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("scan", help="sample a shared diffusion model and audit it")
    parser.add_argument("model", help="org/name, org/name@revision (branch, tag or commit), or a local folder")
    _add_sampling_arguments(parser.add_argument_group("sampling"))
    _add_loading_arguments(parser.add_argument_group("loading"))
    parser.set_defaults(handler=_run_scan)


def _add_sampling_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument("-n", "--num-samples", dest="n", type=int, default=64, help="samples per condition (default 64)")
    group.add_argument("--batch-size", type=int, default=16, help="samples per forward pass; halved on out-of-memory")
    group.add_argument("--steps", type=int, help="denoising steps (default: the pipeline's)")
    group.add_argument("--scheduler", choices=["ddim", "dpmsolver++"], help="swap the model's scheduler")
    group.add_argument("--guidance-scale", type=float, help="classifier-free guidance (DiT, text-to-image)")
    group.add_argument("--dtype", choices=["float32", "float16", "bfloat16"], help="default: float16 on GPU, float32 on CPU")
    group.add_argument("--seed", type=int, default=0, help="sample i's noise depends only on (seed, i)")
    group.add_argument("--class", dest="classes", type=int, action="append", help="class id to scan (repeatable)")
    group.add_argument("--prompt", dest="prompts", action="append", help="prompt to scan (repeatable; text-to-image)")
    group.add_argument("--device", help="cuda, mps or cpu (default: best available)")
    group.add_argument("--out", default="hubaudit-out", help="output folder for report.json (default hubaudit-out)")
    group.add_argument("--store", help="sample store folder (default OUT/samples); a rerun resumes from it")
    group.add_argument("--quiet", action="store_true", help="no progress bars")


def _add_loading_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--allow-pickle", action="store_true", help="accept pickle weights (they can run code)")
    group.add_argument("--trust-remote-code", action="store_true", help="run custom pipeline code from the repo")


def _run_scan(args: argparse.Namespace) -> int:
    from hubaudit.api import scan

    result = scan(
        args.model,
        n=args.n,
        batch_size=args.batch_size,
        steps=args.steps,
        scheduler=args.scheduler,
        guidance_scale=args.guidance_scale,
        dtype=args.dtype,
        seed=args.seed,
        classes=args.classes,
        prompts=args.prompts,
        device=args.device,
        out_dir=args.out,
        store_dir=args.store,
        allow_pickle=args.allow_pickle,
        trust_remote_code=args.trust_remote_code,
        progress=not args.quiet,
    )
    if result.sampled.shard.is_main:
        report = result.to_dict()
        model = report["model"]
        print(f"model     {model['reference']} @ {model['resolved_sha']} ({model['pipeline_class']}, {model['kind']})")
        for samples in report["samples"]:
            print(
                f"samples   {report['n_per_condition']} for condition {json.dumps(samples['condition'])}: "
                f"{samples['generated']} generated, {samples['reused']} reused from {samples['store_path']}"
            )
        print(f"report    {args.out}/report.json")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hubaudit", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"hubaudit {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True)
    _add_scan_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except HubAuditError as err:
        print(f"hubaudit: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("hubaudit: interrupted; finished samples are kept: rerun the same command to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
