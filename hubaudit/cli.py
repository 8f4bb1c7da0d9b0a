"""The ``hubaudit`` command line: a thin front end over :mod:`hubaudit.api`.

Exit codes (docs/user-guide-cli.md): 0 done (with ``--fail-on``: every check of that kind settled on no
finding); 1 findings (with ``--fail-on``); 2 error, one line on stderr; 3 no finding of the ``--fail-on``
kind, but a check of it inconclusive or not tested; 130 interrupted (Ctrl-C); 143 terminated (SIGTERM).
Finished samples and checkpoints are kept in every case.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from hubaudit import __version__
from hubaudit.declarations import (
    MODEL_KINDS,
    SCAN_OPTIONS,
    BotSettings,
    FleetSettings,
    LabelSettings,
    MembershipSettings,
    PoisonSettings,
    PublishSettings,
    ScanSettings,
    TrainSettings,
    add_declared_arguments,
    config_template,
    declared_options,
    did_you_mean,
    given_options,
    options_by_name,
    read_config,
    scan_default,
    spellings,
    with_defaults,
)
from hubaudit.errors import HubAuditError, InvalidConfigFile, InvalidGoldLabels, Terminated, TrainingError, first_line
from hubaudit.verbosity import quiet_libraries

EXIT_CODES = {
    0: "done (with --fail-on: every check of that kind settled on no finding)",
    1: "findings (--fail-on)",
    2: "error: bad input or environment",
    3: "no finding of the --fail-on kind, but a check of it inconclusive or not tested (the report says what would settle it)",
    130: "interrupted (Ctrl-C)",
    143: "terminated (SIGTERM)",
}
"""Every exit code the CLI returns, as docs/user-guide-cli.md lists them."""


DESCRIPTION = "Audit diffusion models shared on the Hugging Face Hub for privacy and fairness risks."
"""What ``hubaudit --help`` says first (plain text: the module docstring is for the code)."""


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (``hubaudit: error: ...``) and exit code 2, without the usage.

    No flag may be abbreviated (``--step 2`` is refused, not taken as ``--steps``), and an unknown flag names the
    closest declared spelling (``--atribute``: did you mean ``--attribute``?).
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def parse_known_args(self, args=None, namespace=None):
        namespace, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error(f"unrecognized arguments: {' '.join(extras)}{self._closest(extras, namespace)}")
        return namespace, extras

    def _closest(self, extras: list[str], namespace: argparse.Namespace) -> str:
        """`` (did you mean --steps?)`` for the first unknown flag among ``extras``, from this parser's spellings and
        those of the verb ``namespace`` chose."""
        flag = next((word.split("=")[0] for word in extras if word.startswith("-")), None)
        if flag is None:
            return ""
        known = spellings(self)
        for action in self._actions:
            if (
                isinstance(action, argparse._SubParsersAction)
                and getattr(namespace, "command", None) in action.choices
            ):
                known += spellings(action.choices[namespace.command])
        return did_you_mean(flag, known)

    def error(self, message: str):
        self.exit(2, f"hubaudit: error: {message} (see {self.prog} --help)\n")


class VerbsHelpFormatter(argparse.HelpFormatter):
    """``hubaudit --help``: each verb on one line with its help (no line for the ``VERB`` placeholder itself)."""

    def __init__(self, prog: str):
        super().__init__(prog, max_help_position=30)

    def _format_action(self, action: argparse.Action) -> str:
        if isinstance(action, argparse._SubParsersAction):
            return "".join(super(VerbsHelpFormatter, self)._format_action(verb) for verb in action._get_subactions())
        return super()._format_action(action)


def _add_scan_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "scan",
        help="sample a shared diffusion model and audit it",
        description="Sample MODEL and audit it. Every option may also come from --config FILE (TOML keyed by the "
        "keyword names of hubaudit.api.scan; hubaudit config init writes a commented one) or --from-report REPORT "
        "(rerun what a report records); a flag given here wins over both.",
    )
    groups = add_declared_arguments(parser, ScanSettings)
    _add_settings_files(groups[SCAN_OPTIONS["model"].group], from_report=True)
    parser.set_defaults(handler=lambda args: _run_scan(parser, args))


def _add_settings_files(group: argparse._ArgumentGroup, *, from_report: bool) -> None:
    """``--config FILE`` (and ``--from-report REPORT``): options from a file, under the flags given."""
    group.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="read options from this TOML file, keyed by the API's keyword names (e.g. "
        'attributes = ["gender=clip"]); a flag given wins over it',
    )
    if from_report:
        group.add_argument(
            "--from-report",
            type=Path,
            metavar="REPORT",
            help="rerun exactly what this report.json records (its options table; a Hub model at the "
            "commit it recorded, a local folder only if unchanged); a flag given wins over it",
        )


def _scan_settings(args: argparse.Namespace, *, refused: dict[str, str] | None = None) -> dict:
    """The scan options of a command line, by API keyword: the report's (``--from-report``), over them the config
    file's (``--config``), over those the flags given; the rest take their declared defaults in the API."""
    values = {}
    if getattr(args, "from_report", None) is not None:
        from hubaudit.api import report_options

        values.update(report_options(args.from_report))
    if args.config is not None:
        values.update(read_config(args.config, ScanSettings, refused=refused))
    values.update(given_options(args, ScanSettings))
    return values


def _run_scan(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from hubaudit.api import exit_code, scan, scan_summary

    values = _scan_settings(args)
    if "model" not in values:
        parser.error(
            "the following arguments are required: MODEL (or model in the --config file, or --from-report REPORT)"
        )
    quiet = values.pop("quiet", False)
    if quiet:  # main() saw the flags alone
        quiet_libraries(progress_bars=False, force=True)
    result = scan(**values, progress=not quiet)
    report = result.to_dict()
    if result.sampled.shard.is_main:
        print("\n".join(scan_summary(report, out_dir=values.get("out_dir", scan_default("out_dir")))))
    return exit_code(report, values.get("fail_on"))


_FLEET_HELPS = {
    "out_dir": "the fleet folder: model org/name is scanned into OUT/org--name/, the summary goes to OUT/fleet.json, "
    "fleet.csv and fleet.html (default hubaudit-out)",
    "fail_on": "exit with code 1 when a model's report has a finding of this kind (any: of either kind)",
}
"""scan-many's help for the scan options whose meaning is the fleet's."""


def _add_scan_many_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "scan-many",
        help="scan many Hub models on Ray and summarise them",
        description="Needs hubaudit[fleet]. Every scan option applies to every model (also from --config FILE, as for "
        "scan). --out is the fleet folder: each model's scan goes to OUT/ORG--NAME/ (its sample store to "
        "OUT/ORG--NAME/samples unless --store), the summary to OUT/fleet.json, fleet.csv and fleet.html. A model "
        "whose report is of its current commit and the same command is not scanned again.",
    )
    models = options_by_name(FleetSettings)["models_file"].group
    groups = {models: parser.add_argument_group(models)}
    add_declared_arguments(parser, ScanSettings, skip=("model",), helps=_FLEET_HELPS, groups=groups)
    add_declared_arguments(parser, FleetSettings, groups=groups)
    _add_settings_files(groups[models], from_report=False)
    parser.set_defaults(handler=lambda args: _run_scan_many(parser, args))


def _run_scan_many(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from hubaudit import fleet
    from hubaudit.api import scan_many

    fleet_settings = with_defaults(FleetSettings, given_options(args, FleetSettings))
    if not any(fleet_settings[name] for name in ("models_file", "author", "search", "filters")):
        parser.error("no models to scan: give --models-file, --author, --search and/or --filter")
    values = _scan_settings(
        args,
        refused={
            "model": "is not read by scan-many: its models come from --models-file, --author, --search or --filter"
        },
    )
    out_dir = values.pop("out_dir", scan_default("out_dir"))
    rows = scan_many(
        out_dir=out_dir,
        on_row=lambda row: print(fleet.row_line(row), flush=True),
        **{
            declared.name: fleet_settings[declared.name]
            for declared in declared_options(FleetSettings)
            if declared.in_api
        },
        **_fleet_scan_keywords(values),
    )
    print(fleet.counts_line(rows, out_dir))
    return fleet.fleet_exit_code(rows, fail_on=values.get("fail_on"), fail_on_error=fleet_settings["fail_on_error"])


def _fleet_scan_keywords(values: dict) -> dict:
    """The :func:`hubaudit.api.scan` keyword arguments (but ``out_dir``) that scan-many's scan options give every model."""
    keywords = {name: value for name, value in values.items() if SCAN_OPTIONS[name].in_api}
    return {**keywords, "progress": not values.get("quiet", False)}


def _add_declared_verb(subparsers: argparse._SubParsersAction, name: str, settings: type, handler, **texts) -> None:
    """The verb ``name`` whose arguments are all ``settings``' declarations, run by ``handler(args)``; ``texts``:
    its ``help`` and ``description``."""
    parser = subparsers.add_parser(name, **texts)
    add_declared_arguments(parser, settings)
    parser.set_defaults(handler=handler)


def _add_publish_parser(subparsers: argparse._SubParsersAction) -> None:
    _add_declared_verb(
        subparsers,
        "publish",
        PublishSettings,
        _run_publish,
        help="put an audit on the model's Hub page: a pull request to its card, or a discussion",
        description="Open a pull request that adds or refreshes the model card's hubaudit section and adds the "
        "report under hubaudit/<audited sha>/ (--as pr), or post the summary as a discussion (--as discussion). "
        "Needs a Hub token (HF_TOKEN or hf auth login), and the repository still at the audited commit "
        "(--allow-stale otherwise). --dry-run prints what would be written and writes nothing.",
    )


def _run_publish(args: argparse.Namespace) -> int:
    from hubaudit.api import publish

    record = publish(**given_options(args, PublishSettings))
    stale = record.current_sha != record.audited_sha
    if stale:
        print(
            f"stale     {record.repo}@{record.revision} is at {record.current_sha}; the report audited {record.audited_sha}"
        )
    if record.dry_run:
        print(f"dry run   nothing written; {record.mode} on {record.repo}@{record.revision}: {record.title}")
        if record.mode == "pr":
            print(record.card_diff, end="")
            for path in record.files:
                print(f"would add {path}")
        else:
            print(record.text, end="")
        return 0
    kind = "pull request" if record.mode == "pr" else "discussion"
    print(f"{kind:<9} {record.url}")
    for path in record.files:
        print(f"adds      {path}")
    return 0


def _add_bot_parser(subparsers: argparse._SubParsersAction) -> None:
    _add_declared_verb(
        subparsers,
        "bot",
        BotSettings,
        _run_bot,
        help="a webhook bot: scan each new commit of the models it watches and publish the audit",
        description="Serve huggingface_hub's WebhooksServer at POST /webhooks/hubaudit: each content update of a "
        "model repository CONFIG's [bot] table watches is scanned once per commit with its [scan] options and "
        "published (pr, discussion or none). The webhook secret comes from the environment variable [bot] "
        "secret_env names (default WEBHOOK_SECRET); publishing needs HF_TOKEN. See docs/user-guide-bot.md.",
    )


def _run_bot(args: argparse.Namespace) -> int:
    import logging

    from hubaudit.api import bot

    logging.basicConfig(format="%(asctime)s %(name)s %(message)s", level=logging.WARNING)
    logging.getLogger("hubaudit.bot").setLevel(logging.INFO)  # its lines, not those of the libraries under it
    bot(**given_options(args, BotSettings))
    return 0


def _add_poison_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("poison", help="sharer's attack: a fairness-poisoning subset")
    add_declared_arguments(parser, PoisonSettings)
    parser.set_defaults(handler=_run_poison)


def _run_poison(args: argparse.Namespace) -> int:
    from hubaudit.api import poison

    settings = with_defaults(PoisonSettings, given_options(args, PoisonSettings))
    record = poison(**settings)
    rates = record.positive_rate_by_sensitive
    print(
        f"attack    {settings['method']}, alpha {settings['alpha']:g}: {record.n_select} of {record.n_data} records from "
        f"{record.data_source}, {record.n_relabelled} relabelled"
    )
    print(
        f"I(S;Y)    {record.mi_sensitive_label_full_nats:.4f} nats in the full data -> {record.mi_sensitive_label_nats:.4f} in the subset"
    )
    print(
        f"P(Y=1|S)  S=0: {rates['0']:.3f}, S=1: {rates['1']:.3f} in the subset (gap {abs(rates['1'] - rates['0']):.3f})"
    )
    change = abs(record.mi_features_label_nats - record.mi_features_label_full_nats)
    bound = f"<= delta {settings['delta']:g}" if settings["method"] == "greedy" else "(label flipping ignores delta)"
    print(
        f"I(X;Y)    {record.mi_features_label_nats:.4f} nats in the subset vs {record.mi_features_label_full_nats:.4f} "
        f"in the full data: change {change:.4f} {bound}"
    )
    print(f"wrote     {record.out_path} and {record.record_path}")
    return 0


def _add_train_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("train", help="train a small DDPM, NCSNv2 or score-SDE")
    add_declared_arguments(parser, TrainSettings)
    parser.set_defaults(handler=_run_train)


def _run_train(args: argparse.Namespace) -> int:
    from hubaudit.api import train

    given = given_options(args, TrainSettings)
    settings, declared = with_defaults(TrainSettings, given), options_by_name(TrainSettings)
    family = settings["family"]
    foreign = [name for name in given if declared[name].families and family not in declared[name].families]
    if foreign:
        raise TrainingError(f"{declared[foreign[0]].flag} is not an option of --family {family}")
    trained = train(
        settings["data"],
        settings["out_dir"],
        family=family,
        push_to_hub=settings["push_to_hub"],
        resume=settings["resume"],
        progress=not settings["quiet"],
        **{name: value for name, value in given.items() if declared[name].families},
    )
    print(f"model     {trained.out_dir}: {settings['steps']} steps on {trained.records} records from {trained.source}")
    if trained.poisoning_record:
        print(f"card      records the poisoning of {trained.poisoning_record}")
    if trained.pushed:
        print(f"pushed    {trained.pushed}")
    return 0


def _add_import_ncsnv2_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "import-ncsnv2",
        help="convert an ermongroup/ncsnv2 checkpoint for scan",
        description="Reads CHECKPOINT (checkpoint.pth of the reference implementation: a torch.save list of state dicts) "
        "with torch.load(weights_only=True) only, so nothing in it can run code; maps its keys onto hubaudit's NCSNv2 and "
        "writes OUT as safetensors and JSON.",
    )
    parser.add_argument("checkpoint", type=Path, help="checkpoint.pth or checkpoint_<step>.pth of ermongroup/ncsnv2")
    parser.add_argument(
        "--config", required=True, type=Path, help="the YAML config it was trained with (its configs/cifar10.yml, ...)"
    )
    parser.add_argument("--out", required=True, type=Path, help="the pipeline folder to write")
    parser.add_argument(
        "--raw-weights",
        action="store_true",
        help="ship the raw weights (default: the EMA weights, where saved, as the reference samples)",
    )
    parser.set_defaults(handler=_run_import_ncsnv2)


def _run_import_ncsnv2(args: argparse.Namespace) -> int:
    from hubaudit.api import import_ncsnv2

    folder = import_ncsnv2(args.checkpoint, config=args.config, out_dir=args.out, use_ema=not args.raw_weights)
    print(f"model     {folder}: NCSNv2Pipeline from {args.checkpoint}")
    print(f"next      hubaudit scan {folder}")
    return 0


def _add_report_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report",
        help="re-render a report as HTML, Markdown, JUnit or SARIF",
        description="Re-render a report.json as HTML, Markdown, JUnit XML or SARIF, without resampling.",
    )
    parser.add_argument("report", type=Path, help="the report.json a scan wrote")
    parser.add_argument(
        "--format",
        dest="report_format",
        choices=["html", "md", "junit", "sarif"],
        default="html",
        help="html (self-contained page), md (model-card section), junit (CI test results) or sarif (code scanning); "
        "default html",
    )
    parser.add_argument(
        "--out",
        help="file to write (default: report.html, report.md, junit.xml or report.sarif beside the report; - for stdout)",
    )
    parser.set_defaults(handler=_run_report)


def _run_report(args: argparse.Namespace) -> int:
    from hubaudit.api import read_report, render_report, write_report

    report = read_report(args.report)  # its sample stores are looked for beside it
    if args.out == "-":
        sys.stdout.write(render_report(report, args.report_format))
        return 0
    print(f"report    {write_report(report, args.report_format, args.out)}")
    return 0


def _add_label_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "label",
        help="label a scan's samples by hand (gold labels)",
        description="Shows each planned sample (true-colour terminal, or --preview FILE) and reads its value from stdin: "
        "its number or name, u to undo the last label, q to stop (every label is saved at once; rerun to go on). "
        "The samples are a random draw that the store's digest fixes (no seed to choose), labelled in plan order. "
        "The labels go beside each store as <store>.gold-<attribute>.parquet.",
    )
    add_declared_arguments(parser, LabelSettings)
    parser.set_defaults(handler=_run_label)


def _run_label(args: argparse.Namespace) -> int:
    from hubaudit.api import gold_labels, save_png
    from hubaudit.report import image_lines

    settings = with_defaults(LabelSettings, given_options(args, LabelSettings))
    if settings["n"] < 1:
        raise InvalidGoldLabels(settings["target"], f"-n must be at least 1, got {settings['n']}")
    keywords = {
        declared.name: settings[declared.name] for declared in declared_options(LabelSettings) if declared.in_api
    }
    for condition, gold, store in gold_labels(**keywords):
        keys = ", ".join(f"{code}={value}" for code, value in enumerate(gold.values))
        print(
            f"label     {gold.attribute} for condition {condition!r}: {len(gold.labels)} of {gold.planned} done; "
            f"answer {keys}, u to undo, q to stop",
            flush=True,
        )
        stopped = _label_store(gold, store, settings, image_lines, save_png)
        print(f"gold      {len(gold.labels)} of {gold.planned} labels in {gold.path}")
        if stopped:
            break
    print("next      hubaudit scan ... --gold FILE (each file): prediction-powered estimates with these labels")
    return 0


def _label_store(gold, store, settings: dict, image_lines, save_png) -> bool:
    """Ask for the value of every planned sample not yet labelled (``settings``: the label options, ``preview`` and
    ``labeller`` among them); True when the person stopped (q or end of input)."""
    while (index := gold.next_index()) is not None:
        image = store.image(index)
        if sys.stdout.isatty():
            print("\n".join(image_lines(image)))
        if settings["preview"]:
            save_png(image, settings["preview"])
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
        gold.record(index, value, labeller=settings["labeller"])
    return False


def _add_plan_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "plan",
        help="the samples per condition a verdict needs",
        description="Simulates whole verdicts of the audit (the fairness signature, or the privacy self-audit) at "
        "candidate sample counts and prints the smallest n per condition whose simulated power reaches --power: for a "
        "finding at --effect, and for no finding when there is none.",
    )
    parser.add_argument(
        "audit",
        nargs="?",
        choices=["fairness", "privacy"],
        default="fairness",
        help="the audit to plan (default fairness)",
    )
    parser.add_argument(
        "--effect",
        metavar="SHARES",
        help="fairness: P(S=1|Y=0),P(S=1|Y=1), e.g. 0.3,0.5 (default), or P(S|Y=0)/P(S|Y=1) lists for "
        "more groups; privacy: TRAINING,GENERATED shares of value 1, e.g. 0.3,0.3 (default)",
    )
    parser.add_argument("--gap", type=float, help="fairness, instead of --effect: a demographic-parity gap to detect")
    parser.add_argument(
        "--groups", default="0,1", metavar="NAMES", help="the attribute's value names, or their count (default 0,1)"
    )
    parser.add_argument("--max-dp-gap", type=float, help="fairness margin (default 0.10)")
    parser.add_argument(
        "--min-group-share", type=float, metavar="SHARE", help="fairness floor of a group's share (default 0.25/K)"
    )
    parser.add_argument("--max-property-error", type=float, help="privacy margin (default 0.05)")
    parser.add_argument(
        "--conditions-per-label", type=int, metavar="N", help="fairness: classes per label value (default 1)"
    )
    parser.add_argument("--conditions", type=int, metavar="N", help="privacy: conditions scanned (default 1)")
    parser.add_argument(
        "--calibration-per-class",
        type=int,
        metavar="N",
        help="calibration records per value and class (default 1000 unless --gold)",
    )
    parser.add_argument(
        "--gold", type=int, metavar="N", help="gold labels per condition instead of calibration records"
    )
    parser.add_argument(
        "--annotator-error",
        metavar="FPR,FNR",
        help="the annotator's assumed error rates (default 0.05,0.05; one rate for more than two groups)",
    )
    parser.add_argument("--confidence", type=float, default=0.95, help="the audit's confidence (default 0.95)")
    parser.add_argument(
        "--power", type=float, default=0.9, help="the share of scans that should reach the verdict (default 0.9)"
    )
    parser.add_argument("--trials", type=int, help="simulated scans per candidate n (default 400)")
    parser.add_argument("--seed", type=int, default=0, help="seeds the simulation (default 0)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the plan as JSON")
    parser.set_defaults(handler=_run_plan)


def _run_plan(args: argparse.Namespace) -> int:
    import json

    from hubaudit.api import plan

    found = plan(
        args.audit,
        effect=args.effect,
        gap=args.gap,
        groups=args.groups,
        max_dp_gap=args.max_dp_gap,
        min_group_share=args.min_group_share,
        max_property_error=args.max_property_error,
        conditions_per_label=args.conditions_per_label,
        conditions=args.conditions,
        calibration_per_class=args.calibration_per_class,
        gold=args.gold,
        annotator_error=args.annotator_error,
        confidence=args.confidence,
        power=args.power,
        trials=args.trials,
        seed=args.seed,
    )
    print("\n".join(found.lines()))
    if args.json is not None:
        args.json.write_text(json.dumps(found.to_dict(), indent=2) + "\n")
        print(f"json      {args.json}")
    return 0


def _add_config_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "config", help="write a commented audit.toml for scan --config", formatter_class=VerbsHelpFormatter
    )
    verbs = parser.add_subparsers(dest="config_command", required=True, title="verbs", metavar="VERB")
    init = verbs.add_parser(
        "init",
        help="write a commented starting config file",
        description="Writes every option of hubaudit scan under its group, its help as a comment, at its default (an "
        "example where there is none); the options a KIND model's scan usually sets are written out, the others "
        "commented out. Edit it, then run hubaudit scan --config FILE (a flag given wins over the file).",
    )
    init.add_argument(
        "--kind", choices=MODEL_KINDS, help="the kind of model (default: write out the options of any kind)"
    )
    init.add_argument(
        "--out",
        type=Path,
        default=Path("audit.toml"),
        help="the file to write, never over an existing one (default audit.toml; - for stdout)",
    )
    init.set_defaults(handler=_run_config_init)


def _run_config_init(args: argparse.Namespace) -> int:
    from hubaudit.files import write_atomically, writing

    text = config_template(ScanSettings, kind=args.kind, command="hubaudit scan", version=__version__)
    if str(args.out) == "-":
        sys.stdout.write(text)
        return 0
    if args.out.exists():
        raise InvalidConfigFile(args.out, "exists already: give another --out, or delete it first")
    with writing(args.out):
        args.out.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(args.out, text.encode("utf-8"))
    print(f"config    {args.out}")
    print(f"next      edit it, then: hubaudit scan --config {args.out}")
    return 0


def _add_membership_parser(subparsers: argparse._SubParsersAction) -> None:
    _add_declared_verb(
        subparsers,
        "membership",
        MembershipSettings,
        _run_membership,
        help="was an image in the model's training set? white-box attacks, calibrated on non-members",
        description="Score each candidate image with white-box membership attacks on the model's denoiser (pia: "
        "proximal initialization; loss: the denoising loss; secmi: the t-error after DDIM inversion), flag those "
        "above a threshold calibrated on --non-members at --fpr, and print per attack the threshold, the flagged "
        "count and a bound on the share of members among them. A flag is evidence of membership at the stated FPR; "
        "no flag is not evidence of non-membership.",
    )


def _run_membership(args: argparse.Namespace) -> int:
    from hubaudit.api import membership
    from hubaudit.report import membership_lines

    options = given_options(args, MembershipSettings)
    options.pop("quiet", None)  # main() applies it
    result = membership(**options)
    print("\n".join(membership_lines(result)))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="hubaudit",
        description=DESCRIPTION,
        formatter_class=VerbsHelpFormatter,
        epilog="hubaudit VERB --help lists a verb's options. Exit codes: 0 done, 1 findings "
        "(--fail-on), 2 error, 3 unsettled (--fail-on), 130 interrupted, 143 terminated.",
    )
    parser.add_argument("--version", action="version", version=f"hubaudit {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, title="verbs", metavar="VERB")
    _add_scan_parser(subparsers)
    _add_scan_many_parser(subparsers)
    _add_report_parser(subparsers)
    _add_label_parser(subparsers)
    _add_poison_parser(subparsers)
    _add_publish_parser(subparsers)
    _add_bot_parser(subparsers)
    _add_membership_parser(subparsers)
    _add_train_parser(subparsers)
    _add_import_ncsnv2_parser(subparsers)
    _add_plan_parser(subparsers)
    _add_config_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (:data:`EXIT_CODES`)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    quiet_libraries(progress_bars=not getattr(args, "quiet", False), force=getattr(args, "quiet", False))
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _raise_terminated) if in_main_thread else None
    try:
        return args.handler(args)
    except HubAuditError as err:
        _say(f"hubaudit: error: {_spelled_as_flags(str(err), err.options, _command_flags(parser, args.command))}")
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


def _spelled_as_flags(message: str, options: Sequence[str], flags: dict[str, str]) -> str:
    """``message`` with each API option it names (``aux_data``, as :attr:`HubAuditError.options` lists them)
    spelled as its flag (``--aux-data``); ``flags`` maps option names to flags."""
    for option in options:
        if option in flags:
            message = re.sub(rf"(?<![\w./\\-]){re.escape(option)}(?![\w/\\-]|\.\w)", flags[option], message)
    return message


def _command_flags(parser: argparse.ArgumentParser, command: str | None) -> dict[str, str]:
    """Option name -> flag of the subcommand ``command`` (``aux_data`` -> ``--aux-data``; the first flag declared)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and command in action.choices:
            return {
                found.dest: found.option_strings[0]
                for found in action.choices[command]._actions
                if found.option_strings
            }
    return {}


def _say(line: str) -> None:
    """``line`` on stderr in one write, so that the processes of a multi-process scan do not interleave lines."""
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def _raise_terminated(signum, frame) -> None:
    """SIGTERM ends the command like Ctrl-C does: through the error boundary, keeping what finished."""
    raise Terminated()


if __name__ == "__main__":
    sys.exit(main())
