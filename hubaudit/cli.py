"""The ``hubaudit`` command line: a thin front end over :mod:`hubaudit.api`.

Exit codes (docs/user-guide-cli.md): 0 done (with ``--fail-on``: every check of that kind settled on no
finding); 1 findings (with ``--fail-on``); 2 error, one line on stderr; 3 no finding of the ``--fail-on``
kind, but a check of it inconclusive or not tested; 130 interrupted (Ctrl-C); 143 terminated (SIGTERM).
Finished samples and checkpoints are kept in every case.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from hubaudit import __version__
from hubaudit.errors import HubAuditError, InvalidGoldLabels, Terminated, TrainingError, first_line
from hubaudit.files import writable_folder
from hubaudit.verbosity import quiet_libraries

EXIT_CODES = {0: "done (with --fail-on: every check of that kind settled on no finding)", 1: "findings (--fail-on)",
              2: "error: bad input or environment",
              3: "no finding of the --fail-on kind, but a check of it inconclusive or not tested (the report says what would settle it)",
              130: "interrupted (Ctrl-C)", 143: "terminated (SIGTERM)"}
"""Every exit code the CLI returns, as docs/user-guide-cli.md lists them."""


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (``hubaudit: error: ...``) and exit code 2, without the usage."""

    def error(self, message: str):
        self.exit(2, f"hubaudit: error: {message} (see {self.prog} --help)\n")


def _add_scan_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("scan", help="sample a shared diffusion model and audit it")
    parser.add_argument("model", help="org/name, org/name@revision (branch, tag or commit), or a local folder")
    _add_sampling_arguments(parser.add_argument_group("sampling"))
    _add_loading_arguments(parser.add_argument_group("loading"))
    _add_property_arguments(parser.add_argument_group("property inference"))
    _add_fairness_arguments(parser.add_argument_group("fairness signature"))
    parser.add_argument(
        "--fail-on", choices=["privacy", "fairness", "any"],
        help="exit with code 1 when the report has a finding of this kind (any: of either kind), 3 when it has none but a "
        "check of that kind is inconclusive or not tested, 0 only when every check of that kind settled on no finding",
    )
    parser.set_defaults(handler=_run_scan)


def _add_sampling_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument("-n", "--num-samples", dest="n", type=int, default=64, help="samples per condition (default 64)")
    group.add_argument("--batch-size", type=int, default=16, help="samples per forward pass; halved on out-of-memory")
    group.add_argument("--steps", type=int, help="denoising steps (default: the pipeline's)")
    group.add_argument("--scheduler", choices=["ddim", "dpmsolver++"], help="swap the model's scheduler")
    group.add_argument(
        "--guidance-scale", type=float,
        help="classifier-free guidance (DiT, text-to-image, class-conditional UNets trained with --cond-dropout)",
    )
    group.add_argument("--height", type=int, help="image height in pixels (default: the pipeline's)")
    group.add_argument("--width", type=int, help="image width in pixels (default: the pipeline's)")
    group.add_argument("--dtype", choices=["float32", "float16", "bfloat16"], help="default: float16 on GPU, float32 on CPU")
    group.add_argument("--seed", type=int, default=0, help="sample i's noise depends only on (seed, condition, i)")
    group.add_argument("--class", dest="classes", type=int, action="append", metavar="ID", help="class id to scan (repeatable; default every class of a model with at most 20)")
    group.add_argument("--prompt", dest="prompts", action="append", help="prompt to scan (repeatable; text-to-image)")
    group.add_argument("--device", help="cuda, mps or cpu (default: best available)")
    group.add_argument("--out", default="hubaudit-out", help="output folder for report.json (default hubaudit-out)")
    group.add_argument("--store", help="sample store folder (default OUT/samples); a rerun resumes from it")
    group.add_argument("--compile", action="store_true", help="torch.compile the UNet or transformer (slower first batch, faster after)")
    group.add_argument("--quiet", action="store_true", help="no progress bars")


def _add_loading_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--allow-pickle", nargs="?", const=True, default=False, type=_pickle_mode, metavar="unsafe",
        help="accept pickle weights (they can run code) that picklescan finds no dangerous import in; "
        "--allow-pickle=unsafe accepts flagged ones too",
    )
    group.add_argument("--trust-remote-code", action="store_true", help="run custom pipeline code from the repo")
    group.add_argument(
        "--keep-safety-checker", action="store_true",
        help="keep the model's safety checker (default: left out, since it blacks out the images it flags)",
    )
    group.add_argument("--base", metavar="MODEL", help="base pipeline of a LoRA, embedding or single-file repo (default: its card's base_model)")
    group.add_argument("--lora-scale", type=float, default=1.0, help="weight of a LoRA adapter (default 1; 0 is the base model)")


def _pickle_mode(text: str) -> str:
    """``--allow-pickle=unsafe``: the only value the flag takes."""
    if text != "unsafe":
        raise argparse.ArgumentTypeError(f"the only value is 'unsafe' (--allow-pickle=unsafe), got {text!r}")
    return text


def _add_property_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--attribute", dest="attributes", action="append", metavar="NAME=SPEC",
        help="estimate the generated share of attribute NAME labelled by SPEC: clip[:PRESET|PROMPT|...], "
        "clip@MODEL:..., hub:MODEL[:LABEL=VALUE,...], aux (train on --aux-data) or aux:FOLDER (repeatable)",
    )
    group.add_argument("--aux-data", help="labelled images (column NAME) to train aux annotators and calibrate the others")
    group.add_argument("--training-data", help="your own training data (column NAME): self-audit of what an outsider learns")
    group.add_argument("--target-width", type=float, help="sample until the interval half-width is at most this (or -n)")
    group.add_argument(
        "--check-drift", type=int, metavar="K",
        help="draw K samples per condition again with the model's own scheduler at its default steps and report how far "
        "the fast sampler (--scheduler, --steps) moves each estimated share",
    )
    group.add_argument(
        "--gold", action="append", type=Path, metavar="FILE",
        help="gold labels from hubaudit label (repeatable, one file per store and attribute): prediction-powered "
        "estimates, valid whatever the annotator's error on generated images (for a --sensitive attribute, also "
        "the fairness correction of that class or prompt)",
    )
    group.add_argument("--confidence", type=float, default=0.95, help="interval confidence (default 0.95)")
    group.add_argument(
        "--max-property-error", type=float, default=0.05,
        help="self-audit margin: a privacy finding when every value's interval lies within this of its training share, "
        "no finding when one lies wholly outside, else inconclusive (default 0.05)",
    )


def _add_fairness_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--sensitive", action="append", metavar="NAME",
        help="attribute NAME (an --attribute) is a sensitive attribute S: measure its link to the label (repeatable)",
    )
    group.add_argument(
        "--label", dest="labels", action="append", metavar="NAME",
        help="the binary label Y (default 'label'): an --attribute NAME is annotated, any other name is read off "
        "the class (--label-map) or prompt (--label-prompt) (repeatable)",
    )
    group.add_argument("--label-map", metavar="CLASS=LABEL,...", help="class ids to labels 0/1, e.g. 0=0,1=0,2=1 (a two-class model needs none)")
    group.add_argument(
        "--label-prompt", dest="label_prompts", action="append", metavar="LABEL=PROMPT",
        help="scan PROMPT and give its samples label 0 or 1, e.g. '1=a photo of a doctor' (repeatable; text-to-image)",
    )
    group.add_argument("--reference", metavar="DATA", help="your trusted labelled data with columns S and Y: baseline gap and downstream probe")
    group.add_argument("--max-dp-gap", type=float, help="a demographic-parity gap whose interval lies above this is a finding (default 0.10)")
    group.add_argument("--max-gap-increase", type=float, help="so is a gap above the reference's or the model card's by more than this (default 0.05)")
    group.add_argument(
        "--min-group-share", type=float, metavar="SHARE",
        help="so is a sensitive group below this share of the samples of every label value (default 0.25/K for K groups)",
    )
    group.add_argument("--no-probe", dest="probe", action="store_false", help="skip the downstream probe (with --reference)")


def _run_scan(args: argparse.Namespace) -> int:
    from hubaudit.api import exit_code, parse_label_map, parse_label_prompts, scan, scan_summary

    result = scan(
        args.model,
        n=args.n,
        batch_size=args.batch_size,
        steps=args.steps,
        scheduler=args.scheduler,
        guidance_scale=args.guidance_scale,
        height=args.height,
        width=args.width,
        dtype=args.dtype,
        seed=args.seed,
        classes=args.classes,
        prompts=args.prompts,
        device=args.device,
        out_dir=args.out,
        store_dir=args.store,
        allow_pickle=args.allow_pickle,
        trust_remote_code=args.trust_remote_code,
        keep_safety_checker=args.keep_safety_checker,
        base=args.base,
        lora_scale=args.lora_scale,
        progress=not args.quiet,
        attributes=args.attributes,
        aux_data=args.aux_data,
        training_data=args.training_data,
        target_width=args.target_width,
        confidence=args.confidence,
        max_property_error=args.max_property_error,
        gold=args.gold,
        sensitive=args.sensitive,
        labels=args.labels,
        label_map=parse_label_map(args.label_map) if args.label_map is not None else None,
        label_prompts=parse_label_prompts(args.label_prompts) if args.label_prompts else None,
        reference=args.reference,
        max_dp_gap=args.max_dp_gap,
        max_gap_increase=args.max_gap_increase,
        min_group_share=args.min_group_share,
        probe=args.probe,
        check_drift=args.check_drift,
        compile=args.compile,
    )
    report = result.to_dict()
    if result.sampled.shard.is_main:
        print("\n".join(scan_summary(report, out_dir=args.out)))
    return exit_code(report, args.fail_on)


def _add_scan_many_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "scan-many", help="scan many Hub models, one Ray task each, and summarise them (needs hubaudit[fleet])",
        description="Every scan option applies to every model. --out is the fleet folder: each model's scan goes to "
        "OUT/ORG--NAME/ (its sample store to OUT/ORG--NAME/samples unless --store), the summary to OUT/fleet.json, "
        "fleet.csv and fleet.html. A model whose report is of its current commit and the same command is not scanned again.",
    )
    sources = parser.add_argument_group("models (any combination; each model is scanned once)")
    sources.add_argument("--models-file", type=Path, metavar="FILE", help="one org/name[@revision] per line; # starts a comment")
    sources.add_argument("--author", metavar="ORG", help="the Hub models of this user or organisation")
    sources.add_argument("--search", metavar="TEXT", help="the Hub models whose id contains TEXT")
    sources.add_argument("--filter", dest="filters", action="append", metavar="TAG", help="the Hub models with this tag (repeatable: all of them)")
    sources.add_argument("--limit", type=int, help="at most this many models from the Hub listing (default: all it lists)")
    _add_sampling_arguments(parser.add_argument_group("sampling"))
    _add_loading_arguments(parser.add_argument_group("loading"))
    _add_property_arguments(parser.add_argument_group("property inference"))
    _add_fairness_arguments(parser.add_argument_group("fairness signature"))
    cluster = parser.add_argument_group("Ray")
    where = cluster.add_mutually_exclusive_group()
    where.add_argument("--address", help="run on this Ray cluster: HEAD:6379 (from one of its nodes) or ray://HEAD:10001 (default: a local Ray)")
    where.add_argument("--num-cpus", type=int, help="CPUs of the local Ray (default: every core)")
    cluster.add_argument("--cpus-per-scan", type=float, default=1, help="CPUs each scan reserves (default 1)")
    cluster.add_argument("--gpus-per-scan", type=float, help="GPUs each scan reserves; 0.5 puts two on one GPU (default 1 if this machine has CUDA, else 0: CPU scans)")
    parser.add_argument(
        "--fail-on", choices=["privacy", "fairness", "any"],
        help="exit with code 1 when a model's report has a finding of this kind (any: of either kind)",
    )
    parser.add_argument("--fail-on-error", action="store_true", help="exit with code 2 when a model's scan failed (and no --fail-on finding)")
    parser.set_defaults(handler=lambda args: _run_scan_many(parser, args))


def _run_scan_many(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from hubaudit import fleet

    if not (args.models_file or args.author or args.search or args.filters):
        parser.error("no models to scan: give --models-file, --author, --search and/or --filter")
    fleet.import_ray()
    models = fleet.fleet_models(
        models_file=args.models_file, author=args.author, search=args.search, filters=args.filters, limit=args.limit
    )
    out = writable_folder(args.out, "--out").resolve()
    gpus_per_scan = args.gpus_per_scan if args.gpus_per_scan is not None else fleet.default_gpus_per_scan()
    with fleet.ray_session(address=args.address, num_cpus=args.num_cpus):
        rows = fleet.scan_fleet(
            models, out, _fleet_scan_keywords(args), cpus_per_scan=args.cpus_per_scan, gpus_per_scan=gpus_per_scan,
            on_row=lambda row: print(fleet.row_line(row), flush=True),
        )
    fleet.write_fleet_summary(rows, out)
    print(fleet.counts_line(rows, args.out))
    return fleet.fleet_exit_code(rows, fail_on=args.fail_on, fail_on_error=args.fail_on_error)


def _fleet_scan_keywords(args: argparse.Namespace) -> dict:
    """The :func:`hubaudit.api.scan` keyword arguments (but ``out_dir``) that scan-many's scan options give every model."""
    import inspect

    from hubaudit.api import parse_label_map, parse_label_prompts, scan

    named_alike = {name: value for name, value in vars(args).items() if name in inspect.signature(scan).parameters}
    return {
        **named_alike,
        "store_dir": Path(args.store).resolve() if args.store else None,
        "progress": not args.quiet,
        "allow_local": False,
        "label_map": parse_label_map(args.label_map) if args.label_map is not None else None,
        "label_prompts": parse_label_prompts(args.label_prompts) if args.label_prompts else None,
    }


def _add_poison_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("poison", help="sharer-side attack: choose a training subset that poisons fairness")
    parser.add_argument("data", help="labelled images: builtin:colored-mnist, a Parquet file or folder, an image folder, a Hub data set")
    parser.add_argument("--sensitive", required=True, metavar="S", help="0/1 column of the sensitive attribute")
    parser.add_argument("--label", required=True, metavar="Y", help="0/1 column of the label")
    parser.add_argument("--alpha", type=float, required=True, help="poisoning rate in [0, 1]: share of records added greedily or relabelled")
    parser.add_argument("--method", choices=["greedy", "flip"], default="greedy", help="greedy I(S;Y) maximisation (default) or label flipping")
    parser.add_argument("--n", type=int, help="records in the training subset (default: half the data)")
    parser.add_argument("--delta", type=float, default=0.05, help="greedy: tolerance on I(X;Y) in nats (default 0.05)")
    parser.add_argument("--seed", type=int, default=0, help="seeds the random base, the draws and the embeddings")
    parser.add_argument("--out", required=True, type=Path, help="Parquet file for the subset; the attack's record goes beside it as *.poisoning.json")
    parser.set_defaults(handler=_run_poison)


def _run_poison(args: argparse.Namespace) -> int:
    from hubaudit.api import poison, poisoning_record_path

    record = poison(
        args.data, sensitive=args.sensitive, label=args.label, alpha=args.alpha, out=args.out, method=args.method,
        n=args.n, delta=args.delta, seed=args.seed,
    )
    rates = record["positive_rate_by_sensitive"]
    print(
        f"attack    {args.method}, alpha {args.alpha:g}: {record['n_select']} of {record['n_data']} records from "
        f"{record['data_source']}, {record['n_relabelled']} relabelled"
    )
    print(f"I(S;Y)    {record['mi_sensitive_label_full_nats']:.4f} nats in the full data -> {record['mi_sensitive_label_nats']:.4f} in the subset")
    print(f"P(Y=1|S)  S=0: {rates['0']:.3f}, S=1: {rates['1']:.3f} in the subset (gap {abs(rates['1'] - rates['0']):.3f})")
    change = abs(record["mi_features_label_nats"] - record["mi_features_label_full_nats"])
    bound = f"<= delta {args.delta:g}" if args.method == "greedy" else "(label flipping ignores delta)"
    print(
        f"I(X;Y)    {record['mi_features_label_nats']:.4f} nats in the subset vs {record['mi_features_label_full_nats']:.4f} "
        f"in the full data: change {change:.4f} {bound}"
    )
    print(f"wrote     {args.out} and {poisoning_record_path(args.out)}")
    return 0


TRAIN_SETTINGS = (
    "class_column", "cond_dropout", "image_size", "steps", "batch_size", "learning_rate", "ema_decay",
    "block_out_channels", "mixed_precision", "seed", "checkpoint_every",
)
"""``hubaudit train`` options passed to :func:`hubaudit.train.train_ddpm` under the same names."""
FAMILY_TRAIN_SETTINGS = {
    "ddpm": TRAIN_SETTINGS,
    "ncsnv2": ("image_size", "steps", "batch_size", "learning_rate", "ema_decay", "mixed_precision", "seed", "checkpoint_every",
               "ngf", "noise_levels"),
    "score-sde": ("image_size", "steps", "batch_size", "learning_rate", "ema_decay", "block_out_channels", "mixed_precision", "seed",
                  "checkpoint_every"),
}
"""``hubaudit train --family F`` -> the options passed to F's trainer (:data:`hubaudit.train.TRAINERS`) under the same
names; those left at None go to the trainer's default. Another family's option given is an error."""


def _add_train_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("train", help="train a small DDPM, NCSNv2 or score-SDE (EMA, checkpoints; a rerun resumes)")
    parser.add_argument("data", help="labelled images, as for poison; a file written by poison has its *.poisoning.json recorded in the model card")
    parser.add_argument("--out", required=True, type=Path, help="pipeline folder; checkpoints go to OUT/checkpoints")
    parser.add_argument(
        "--family", choices=list(FAMILY_TRAIN_SETTINGS), default="ddpm",
        help="ddpm (a DDPMPipeline, default), ncsnv2 (an NCSNv2Pipeline: denoising score matching, annealed Langevin "
        "sampling) or score-sde (a ScoreSdeVePipeline: variance-exploding SDE, predictor-corrector sampling)",
    )
    parser.add_argument("--class-column", help="train a class-conditional model on this integer column")
    parser.add_argument(
        "--cond-dropout", type=float, default=0.0, metavar="P",
        help="with --class-column: replace each example's class by a null class with probability P in [0, 1), "
        "so that scan --guidance-scale can guide it (default 0: no null class)",
    )
    parser.add_argument("--steps", type=int, default=4000, help="total optimizer steps (default 4000)")
    parser.add_argument("--batch-size", type=int, default=64, help="images per step (default 64)")
    parser.add_argument("--image-size", type=int, default=16, help="side in pixels (default 16)")
    parser.add_argument("--learning-rate", type=float, default=1e-3, help="learning rate, AdamW (ddpm, score-sde) or Adam (ncsnv2) (default 1e-3)")
    parser.add_argument("--ema-decay", type=float, default=0.999, help="maximum EMA decay (default 0.999); the EMA weights are saved")
    parser.add_argument(
        "--block-out-channels", type=_channel_widths, help="UNet widths per level (default 32,64,64 for ddpm, 16,32,32 for score-sde)",
    )
    parser.add_argument("--mixed-precision", choices=["no", "fp16", "bf16"], default="no", help="GPU mixed precision (default no)")
    parser.add_argument("--seed", type=int, default=0, help="seeds weights, batches, noise and timesteps")
    parser.add_argument("--checkpoint-every", type=int, default=500, help="steps between checkpoints (default 500)")
    parser.add_argument("--ngf", type=int, help="ncsnv2: the network's base width (default 16)")
    parser.add_argument("--noise-levels", type=int, help="ncsnv2: noise levels of the geometric ladder (default 50)")
    parser.add_argument("--no-resume", action="store_true", help="delete OUT's checkpoints and start over")
    parser.add_argument("--push-to-hub", metavar="REPO", help="upload the trained folder (without checkpoints) to this Hub repo")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=lambda args: _run_train(parser, args))


def _channel_widths(text: str) -> tuple[int, ...]:
    """``"16,32,32"`` -> ``(16, 32, 32)``."""
    try:
        return tuple(int(width) for width in text.split(","))
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers like 32,64,64, got {text!r}") from err


def _run_train(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from hubaudit.api import train

    names = FAMILY_TRAIN_SETTINGS[args.family]
    foreign = [name for settings in FAMILY_TRAIN_SETTINGS.values() for name in settings
               if name not in names and getattr(args, name) != parser.get_default(name)]
    if foreign:
        raise TrainingError(f"--{foreign[0].replace('_', '-')} is not an option of --family {args.family}")
    trained = train(
        args.data, args.out, family=args.family, push_to_hub=args.push_to_hub, resume=not args.no_resume,
        progress=not args.quiet, **{name: value for name in names if (value := getattr(args, name)) is not None},
    )
    print(f"model     {trained['out']}: {args.steps} steps on {trained['records']} records from {trained['source']}")
    if trained["poisoning_record"]:
        print(f"card      records the poisoning of {trained['poisoning_record']}")
    if trained["pushed"]:
        print(f"pushed    {trained['pushed']}")
    return 0


def _add_import_ncsnv2_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "import-ncsnv2", help="convert an ermongroup/ncsnv2 checkpoint into an NCSNv2Pipeline folder that scan audits",
        description="Reads CHECKPOINT (checkpoint.pth of the reference implementation: a torch.save list of state dicts) "
        "with torch.load(weights_only=True) only, so nothing in it can run code; maps its keys onto hubaudit's NCSNv2 and "
        "writes OUT as safetensors and JSON.",
    )
    parser.add_argument("checkpoint", type=Path, help="checkpoint.pth or checkpoint_<step>.pth of ermongroup/ncsnv2")
    parser.add_argument("--config", required=True, type=Path, help="the YAML config it was trained with (its configs/cifar10.yml, ...)")
    parser.add_argument("--out", required=True, type=Path, help="the pipeline folder to write")
    parser.add_argument("--raw-weights", action="store_true", help="ship the raw weights (default: the EMA weights, where saved, as the reference samples)")
    parser.set_defaults(handler=_run_import_ncsnv2)


def _run_import_ncsnv2(args: argparse.Namespace) -> int:
    from hubaudit.api import import_ncsnv2

    folder = import_ncsnv2(args.checkpoint, config=args.config, out=args.out, use_ema=not args.raw_weights)
    print(f"model     {folder}: NCSNv2Pipeline from {args.checkpoint}")
    print(f"next      hubaudit scan {folder}")
    return 0


def _add_report_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("report", help="re-render a report.json as HTML, Markdown or JUnit XML, without resampling")
    parser.add_argument("report", type=Path, help="the report.json a scan wrote")
    parser.add_argument("--format", dest="report_format", choices=["html", "md", "junit"], default="html",
                        help="html (self-contained page), md (model-card section) or junit (CI test results); default html")
    parser.add_argument("--out", help="file to write (default: report.html, report.md or junit.xml beside the report; - for stdout)")
    parser.set_defaults(handler=_run_report)


def _run_report(args: argparse.Namespace) -> int:
    from hubaudit.api import read_report, render_report, write_report

    report = read_report(args.report)
    if args.out == "-":
        sys.stdout.write(render_report(report, args.report_format, report_dir=args.report.parent))
        return 0
    print(f"report    {write_report(report, args.report_format, args.out, report_dir=args.report.parent)}")
    return 0


def _add_label_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "label", help="label a random, recorded subset of a scan's samples by hand: gold labels for scan --gold",
        description="Shows each planned sample (true-colour terminal, or --preview FILE) and reads its value from stdin: "
        "its number or name, u to undo the last label, q to stop (every label is saved at once; rerun to go on). "
        "The samples are a random draw that the store's digest fixes (no seed to choose), labelled in plan order. "
        "The labels go beside each store as <store>.gold-<attribute>.parquet.",
    )
    parser.add_argument("target", type=Path, help="a scan's report.json (or its folder), or a sample store folder")
    parser.add_argument("--attribute", required=True, metavar="NAME", help="the attribute to label (an --attribute of the scan)")
    parser.add_argument("-n", type=int, default=200, help="samples to label per store (default 200; more later extends the plan)")
    parser.add_argument("--values", metavar="V0,V1,...", help="the attribute's value names in code order (default: the report's)")
    parser.add_argument("--labeller", default="person", help="who labels, recorded with each label (default person)")
    parser.add_argument("--preview", type=Path, metavar="FILE", help="also write the sample being labelled to this PNG")
    parser.set_defaults(handler=_run_label)


def _run_label(args: argparse.Namespace) -> int:
    from hubaudit.api import gold_labels, image_lines, save_png

    if args.n < 1:
        raise InvalidGoldLabels(args.target, f"-n must be at least 1, got {args.n}")
    values = args.values.split(",") if args.values else None
    for condition, gold, store in gold_labels(args.target, attribute=args.attribute, n=args.n, values=values):
        keys = ", ".join(f"{code}={value}" for code, value in enumerate(gold.values))
        print(f"label     {gold.attribute} for condition {condition!r}: {len(gold.labels)} of {gold.planned} done; "
              f"answer {keys}, u to undo, q to stop", flush=True)
        stopped = _label_store(gold, store, args, image_lines, save_png)
        print(f"gold      {len(gold.labels)} of {gold.planned} labels in {gold.path}")
        if stopped:
            break
    print("next      hubaudit scan ... --gold FILE (each file): prediction-powered estimates with these labels")
    return 0


def _label_store(gold, store, args: argparse.Namespace, image_lines, save_png) -> bool:
    """Ask for the value of every planned sample not yet labelled; True when the person stopped (q or end of input)."""
    while (index := gold.next_index()) is not None:
        image = store.image(index)
        if sys.stdout.isatty():
            print("\n".join(image_lines(image)))
        if args.preview:
            save_png(image, args.preview)
        try:
            answer = input(f"[{len(gold.labels) + 1}/{gold.planned}] sample {index}: ").strip()
        except EOFError:
            return True
        if answer == "q":
            return True
        if answer == "u":
            undone = gold.undo()
            print("          nothing to undo" if undone is None else f"          undid sample {undone}")
            continue
        value = gold.values[int(answer)] if answer.isdigit() and int(answer) < len(gold.values) else answer
        if value not in gold.values:
            print(f"          {answer!r} is not a value: answer {', '.join(gold.values)} (or its number), u or q")
            continue
        gold.record(index, value, labeller=args.labeller)
    return False


def _add_plan_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "plan", help="before a scan: the samples per condition a finding, or no finding, needs with a given power",
        description="Simulates whole verdicts of the audit (the fairness signature, or the privacy self-audit) at "
        "candidate sample counts and prints the smallest n per condition whose simulated power reaches --power: for a "
        "finding at --effect, and for no finding when there is none.",
    )
    parser.add_argument("audit", nargs="?", choices=["fairness", "privacy"], default="fairness",
                        help="the audit to plan (default fairness)")
    parser.add_argument("--effect", metavar="SHARES",
                        help="fairness: P(S=1|Y=0),P(S=1|Y=1), e.g. 0.3,0.5 (default), or P(S|Y=0)/P(S|Y=1) lists for "
                        "more groups; privacy: TRAINING,GENERATED shares of value 1, e.g. 0.3,0.3 (default)")
    parser.add_argument("--gap", type=float, help="fairness, instead of --effect: a demographic-parity gap to detect")
    parser.add_argument("--groups", default="0,1", metavar="NAMES", help="the attribute's value names, or their count (default 0,1)")
    parser.add_argument("--max-dp-gap", type=float, help="fairness margin (default 0.10)")
    parser.add_argument("--min-group-share", type=float, metavar="SHARE", help="fairness floor of a group's share (default 0.25/K)")
    parser.add_argument("--max-property-error", type=float, help="privacy margin (default 0.05)")
    parser.add_argument("--conditions-per-label", type=int, metavar="N", help="fairness: classes per label value (default 1)")
    parser.add_argument("--conditions", type=int, metavar="N", help="privacy: conditions scanned (default 1)")
    parser.add_argument("--calibration-per-class", type=int, metavar="N",
                        help="calibration records per value and class (default 1000 unless --gold)")
    parser.add_argument("--gold", type=int, metavar="N", help="gold labels per condition instead of calibration records")
    parser.add_argument("--annotator-error", metavar="FPR,FNR",
                        help="the annotator's assumed error rates (default 0.05,0.05; one rate for more than two groups)")
    parser.add_argument("--confidence", type=float, default=0.95, help="the audit's confidence (default 0.95)")
    parser.add_argument("--power", type=float, default=0.9, help="the share of scans that should reach the verdict (default 0.9)")
    parser.add_argument("--trials", type=int, help="simulated scans per candidate n (default 400)")
    parser.add_argument("--seed", type=int, default=0, help="seeds the simulation (default 0)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the plan as JSON")
    parser.set_defaults(handler=_run_plan)


def _run_plan(args: argparse.Namespace) -> int:
    import json

    from hubaudit.api import plan

    found = plan(
        args.audit, effect=args.effect, gap=args.gap, groups=args.groups, max_dp_gap=args.max_dp_gap,
        min_group_share=args.min_group_share, max_property_error=args.max_property_error,
        conditions_per_label=args.conditions_per_label, conditions=args.conditions,
        calibration_per_class=args.calibration_per_class, gold=args.gold, annotator_error=args.annotator_error,
        confidence=args.confidence, power=args.power, trials=args.trials, seed=args.seed,
    )
    print("\n".join(found.lines()))
    if args.json is not None:
        args.json.write_text(json.dumps(found.to_dict(), indent=2) + "\n")
        print(f"json      {args.json}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="hubaudit", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"hubaudit {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True)
    _add_scan_parser(subparsers)
    _add_scan_many_parser(subparsers)
    _add_report_parser(subparsers)
    _add_label_parser(subparsers)
    _add_poison_parser(subparsers)
    _add_train_parser(subparsers)
    _add_import_ncsnv2_parser(subparsers)
    _add_plan_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (:data:`EXIT_CODES`)."""
    args = build_parser().parse_args(argv)
    quiet_libraries(progress_bars=not getattr(args, "quiet", False), force=getattr(args, "quiet", False))
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _raise_terminated) if in_main_thread else None
    try:
        return args.handler(args)
    except HubAuditError as err:
        _say(f"hubaudit: error: {err}")
        return err.exit_code
    except KeyboardInterrupt:
        _say("hubaudit: interrupted; finished samples are kept: rerun the same command to resume")
        return 130
    except Terminated:
        _say("hubaudit: terminated; finished samples are kept: rerun the same command to resume")
        return 143
    except OSError as err:  # a file the user named: missing, a folder, permissions, disk full
        _say(f"hubaudit: error: {err.strerror or first_line(err)}: {err.filename or ''}".rstrip(": "))
        return 2
    except MemoryError:
        _say("hubaudit: error: out of memory (host RAM): lower --batch-size or -n")
        return 2
    except Exception as err:  # a library error no layer anticipated: still one line and exit 2, never a traceback
        if os.environ.get("HUBAUDIT_DEBUG"):
            raise
        _say(f"hubaudit: error: {type(err).__name__}: {first_line(err)} (HUBAUDIT_DEBUG=1 shows the traceback)")
        return 2
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)


def _say(line: str) -> None:
    """``line`` on stderr in one write, so that the processes of a multi-process scan do not interleave lines."""
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def _raise_terminated(signum, frame) -> None:
    """SIGTERM ends the command like Ctrl-C does: through the error boundary, keeping what finished."""
    raise Terminated()


if __name__ == "__main__":
    sys.exit(main())
