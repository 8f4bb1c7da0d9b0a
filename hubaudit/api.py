"""The Python API: the same scan as ``hubaudit scan``, for scripts and release checklists.

Every verb returns a typed record: :func:`scan` a :class:`ScanReport` (``report.json`` as an object: its ``to_dict()`` is
what the file holds), :func:`inspect_model` a :class:`ModelInfo`, :func:`poison` a :class:`PoisonRecord`,
:func:`train` a :class:`TrainedModel`, :func:`scan_many` one :class:`~hubaudit.fleet.FleetRow` per model. The report
views a front end shows are :mod:`hubaudit.report`'s.

Example:
    >>> import hubaudit
    >>> report = hubaudit.scan("org/model", n=256, steps=50, scheduler="ddim")  # doctest: +SKIP
    >>> report.model["resolved_sha"], [verdict.outcome for verdict in report.verdicts]  # doctest: +SKIP
"""

from __future__ import annotations

import inspect
import json
import shlex
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from hubaudit.declarations import (  # noqa: F401 (SCAN_OPTIONS: the declarations the Space's form fields read)
    SCAN_OPTIONS,
    BotSettings,
    LabelSettings,
    MembershipSettings,
    PoisonSettings,
    PublishSettings,
    ScanSettings,
    TrainSettings,
    command_words,
    read_options_table,
    signature_from,
)
from hubaudit.declarations.signature import api_values
from hubaudit.declarations.values import canonical, table_value
from hubaudit.files import writable_folder, write_atomically, writing
from hubaudit.hub import hub_errors, parse_model_reference, resolve_reference  # noqa: F401 (the Space's reference checks)
from hubaudit.report.card_section import PublishRecord
from hubaudit.report.json_report import report_file, report_text
from hubaudit.report.scan_report import Finding, ScanReport, Verdict  # noqa: F401 (the types scan returns)
from hubaudit.results import ModelInfo, PoisonRecord, TrainedModel

if TYPE_CHECKING:
    from hubaudit.annotate import AttributeSpec
    from hubaudit.audit.options import ScanOptions
    from hubaudit.audit.plan import FairnessPlan, PrivacyPlan
    from hubaudit.audit.properties.gold import GoldLabels
    from hubaudit.bot import AuditBot
    from hubaudit.fleet import FleetRow
    from hubaudit.sampling.store import SampleStore

_RESOLVE_OPTIONS = ("token", "allow_pickle", "trust_remote_code", "base", "allow_local")
"""The :func:`scan` options that decide how its model reference resolves."""


@signature_from(ScanSettings)
def scan(model: str, **keywords) -> ScanReport:
    """Scan ``model`` and write ``out_dir/report.json`` and its rendering ``out_dir/report.html``.

    The keyword arguments are declared once, as the fields of :class:`hubaudit.declarations.ScanSettings` (each with
    its type, default and help). This function's signature (what ``inspect.signature(scan)`` and ``help(scan)``
    show) and the Args below are derived from them when the module is imported, as are ``hubaudit scan``'s flags,
    the config file's keys, the report's ``options`` table, the command it records and the Space's form fields; a
    keyword they do not declare is a ``TypeError``. (A static type checker sees ``**keywords``.)

    Returns:
        The report: ``report.to_dict()`` is what ``out_dir/report.json`` holds (its ``path``), its ``verdicts`` and
        ``findings`` typed; ``report.sampled`` is the sampled model (pipeline, sampler, sample stores).

    Raises:
        hubaudit.errors.HubAuditError: any failure the user can act on (a subclass per failure). An audit
            that fails after sampling (e.g. a fairness table too sparse for its test) is raised only after
            ``report.json`` is written with every section that finished and an ``errors`` entry for it.
    """
    values = api_values(ScanSettings, "scan", {"model": model, **keywords})
    writable_folder(values["out_dir"], "--out")  # output folders that cannot be written are refused before any work
    if values["store_dir"] is not None:
        writable_folder(values["store_dir"], "--store")
    # What the repository's files decide is refused before torch and diffusers are imported.
    resolved = resolve_reference(model, **{name: values[name] for name in _RESOLVE_OPTIONS})
    from hubaudit.audit.scan import run_scan
    from hubaudit.report.render import write_report as write_rendered

    options = scan_options(model, **keywords)
    result = run_scan(options, command=reproduce_command(options), resolved=resolved)
    report = ScanReport.from_json(report_text(result.to_dict()))  # exactly what report.json holds, typed
    report.sampled, report.path = result.sampled, Path(values["out_dir"]) / "report.json"
    if result.sampled.shard.is_main:
        report.save(report.path)
        write_rendered(report.to_dict(), "html", Path(values["out_dir"]) / "report.html")
    result.sampled.shard.agree(result.first_failure)  # an audit that failed late: raised once its report is written
    return report


def scan_options(model: str, **arguments) -> ScanOptions:
    """The :class:`~hubaudit.audit.options.ScanOptions` :func:`scan` runs for ``model`` and ``arguments`` (its
    keyword arguments; those left out take their declared defaults), with the ``option_table`` its report records.
    Nothing is resolved or loaded."""
    from hubaudit.audit.fairness.label_mapping import parse_label_map, parse_label_prompts
    from hubaudit.audit.fairness.options import FairnessOptions
    from hubaudit.audit.memorization.options import MemorizationOptions
    from hubaudit.audit.options import PropertyOptions, ScanOptions
    from hubaudit.sampling import SamplerConfig, pick_device, pick_dtype

    given = {
        name: canonical(SCAN_OPTIONS[name].annotation, value)
        for name, value in api_values(ScanSettings, "scan", {"model": model, **arguments}).items()
    }
    device = pick_device(given["device"])
    given["dtype"] = pick_dtype(given["dtype"], device)  # the report records the precision that ran
    if isinstance(given["label_map"], str):
        given["label_map"] = parse_label_map(given["label_map"])
    if given["label_prompts"] is not None and not isinstance(given["label_prompts"], Mapping):
        given["label_prompts"] = parse_label_prompts(list(given["label_prompts"]))
    prompts = dict.fromkeys([*(given["prompts"] or ()), *(given["label_prompts"] or ())])
    table = {name: table_value(value) for name, value in given.items() if SCAN_OPTIONS[name].recorded}
    return ScanOptions(
        model=model,
        n=given["n"],
        batch_size=given["batch_size"],
        sampler=SamplerConfig(
            num_inference_steps=given["steps"],
            scheduler=given["scheduler"],
            guidance_scale=given["guidance_scale"],
            height=given["height"],
            width=given["width"],
            dtype=given["dtype"],
            seed=given["seed"],
        ),
        conditions=tuple(given["classes"] or ()) + tuple(prompts) or None,
        device=str(device),
        out_dir=Path(given["out_dir"]),
        store_dir=Path(given["store_dir"]) if given["store_dir"] is not None else None,
        **{
            name: given[name]
            for name in (
                "token",
                "allow_pickle",
                "trust_remote_code",
                "allow_local",
                "keep_safety_checker",
                "base",
                "lora_scale",
                "progress",
                "check_drift",
                "compile",
            )
        },
        properties=PropertyOptions.from_arguments(
            given["attributes"],
            aux_data=given["aux_data"],
            training_data=given["training_data"] if given["attributes"] or not given["memorization"] else None,
            confidence=given["confidence"],
            target_width=given["target_width"],
            max_property_error=given["max_property_error"],
            gold=given["gold"],
        ),
        fairness=FairnessOptions.from_arguments(
            given["sensitive"],
            labels=given["labels"],
            label_map=given["label_map"],
            label_prompts=given["label_prompts"],
            reference=str(given["reference"]) if given["reference"] is not None else None,
            confidence=given["confidence"],
            max_dp_gap=given["max_dp_gap"],
            max_gap_increase=given["max_gap_increase"],
            min_group_share=given["min_group_share"],
            probe=given["probe"],
        ),
        memorization=MemorizationOptions.from_arguments(
            given["memorization"],
            training_data=given["training_data"],
            holdout_data=given["holdout_data"],
            embedding=given["memorization_embedding"],
            threshold=given["replication_threshold"],
            copy_fpr=given["copy_fpr"],
            max_replication=given["max_replication"],
            confidence=given["confidence"],
        ),
        option_table=table,
    )


def reproduce_command(options: ScanOptions) -> str:
    """The ``hubaudit scan`` command line that reproduces ``options``: derived from its ``option_table`` and the
    declared flags, every option that differs from its default (``-n``, ``--seed`` and ``--dtype`` always), so
    ``--out``, ``--batch-size`` and ``--fail-on`` where given."""
    words = command_words(ScanSettings, options.option_table, always=("n", "seed", "dtype"))
    return shlex.join(["hubaudit", "scan", *words])


def report_options(path: str | Path) -> dict[str, object]:
    """The :func:`scan` keyword arguments (``model`` among them) that rerun what the report at ``path`` records: its
    ``options`` table, with a Hub model (and a base) pinned to the commit it recorded (``org/name@sha``). A local
    model folder cannot be pinned: it is checked against the sha the report recorded.

    Raises:
        InvalidReport: the report cannot be read, or records no options table (written before schema 1.3).
        InvalidConfigFile: its options table has a key or a value this version does not take.
        ModelChangedSinceReport: the local folder's files are no longer those the report recorded.
    """
    from hubaudit.errors import InvalidReport, ModelChangedSinceReport

    report = read_report(path).to_dict()
    if "options" not in report:
        raise InvalidReport(
            f"{path} records no options table (a report of schema {report.get('schema_version')}, before "
            f"1.3): rerun its command instead: {report.get('command')}"
        )
    values = read_options_table(report["options"], ScanSettings, source=path)
    recorded = report["model"]
    reference = parse_model_reference(str(values["model"]))
    if reference.is_local:
        resolved = resolve_reference(
            str(values["model"]), **{name: values.get(name) for name in _RESOLVE_OPTIONS if name in values}
        )
        if resolved.sha != recorded["resolved_sha"]:
            raise ModelChangedSinceReport(reference.local_path, recorded["resolved_sha"], resolved.sha)
        return values
    values["model"] = f"{reference.repo_id}@{recorded['resolved_sha']}"
    base = recorded.get("base")
    if base:
        base_reference = parse_model_reference(base["reference"])
        if not base_reference.is_local:
            values["base"] = f"{base_reference.repo_id}@{base['resolved_sha']}"
    return values


def inspect_model(
    model: str,
    *,
    token: str | None = None,
    allow_local: bool = True,
    allow_pickle: bool = False,
    trust_remote_code: bool = False,
    base: str | None = None,
) -> ModelInfo:
    """What a scan of ``model`` can ask for, read from its files without loading any weight.

    Returns:
        Its :class:`ModelInfo`: ``reference``, ``resolved_sha``, ``pipeline_class``, ``kind`` (``unconditional``,
        ``class-conditional`` or ``text-to-image``; None for a pipeline defined by repository code, known only once
        loaded), ``num_classes``, ``class_names`` (class id -> name, where the model records them), ``default_steps``,
        ``default_guidance`` and ``base`` (``{"reference", "resolved_sha"}`` of the base pipeline of a LoRA, embedding
        or single-file repository, else None); ``to_dict()`` gives them by name.

    Raises:
        hubaudit.errors.HubAuditError: the model cannot be scanned (the same refusals as :func:`scan`).

    Example:
        >>> hubaudit.api.inspect_model("facebook/DiT-XL-2-256").kind  # doctest: +SKIP
        'class-conditional'
    """
    resolved = resolve_reference(
        model,
        token=token,
        allow_pickle=allow_pickle,
        trust_remote_code=trust_remote_code,
        base=base,
        allow_local=allow_local,
    )
    from hubaudit.audit.sampled import model_capabilities

    capabilities = model_capabilities(resolved, token=token)
    found = (
        {}
        if capabilities is None
        else {
            "kind": capabilities.kind,
            "num_classes": capabilities.num_classes,
            "class_names": dict(capabilities.class_names),
            "default_steps": capabilities.default_steps,
            "default_guidance": capabilities.default_guidance,
        }
    )
    base = (
        None
        if resolved.base is None
        else {"reference": str(resolved.base.reference), "resolved_sha": resolved.base.sha}
    )
    return ModelInfo(str(resolved.reference), resolved.sha, resolved.pipeline_class, **found, base=base)


def scan_many(
    models: Sequence[str] = (),
    *,
    out_dir: str | Path,
    models_file: str | Path | None = None,
    author: str | None = None,
    search: str | None = None,
    filters: Sequence[str] | None = None,
    limit: int | None = None,
    address: str | None = None,
    num_cpus: int | None = None,
    cpus_per_scan: float = 1,
    gpus_per_scan: float | None = None,
    on_row: Callable[[FleetRow], None] | None = None,
    **options,
) -> list[FleetRow]:
    """Scan many Hub models, one Ray task each (``hubaudit scan-many``; needs ``hubaudit[fleet]``), and write the summary
    ``out_dir/fleet.json``, ``fleet.csv`` and ``fleet.html`` (docs/user-guide-fleet.md).

    Model m's scan goes to ``out_dir/<org>--<name>[@revision]/``; a model whose report there is of its current commit
    and of the same scan command is not scanned again. Local folders are refused: fleets scan Hub models only.

    Args:
        models: ``org/name[@revision]`` references; then those of ``models_file`` and of the Hub listing, each once.
        out_dir: the fleet folder (on a cluster, at the same path on every node).
        models_file: a file of references, one per line (``#`` starts a comment).
        author, search, filters, limit: the Hub models ``HfApi().list_models`` lists for these (at most ``limit``).
        address: the Ray cluster (``HEAD:6379`` or ``ray://HEAD:10001``); None: a local Ray of ``num_cpus`` CPUs
            (None: every core). A Ray this process already started is used as it is.
        cpus_per_scan, gpus_per_scan: what each scan reserves (a GPU fraction shares one; None: 1 GPU if this machine
            has CUDA, else 0, and then the scans run on the CPU).
        on_row: called with each model's row as its scan ends (the CLI prints it).
        **options: :func:`scan`'s keyword arguments (but ``out_dir``), for every model.

    Returns:
        One :class:`~hubaudit.fleet.FleetRow` per model, in the order given: ``status`` ``scanned``, ``skipped`` (its
        report was current) or ``error`` (with the one-line ``error``; one model's failure never ends the fleet).

    Raises:
        hubaudit.errors.FleetUnavailable: ray is not installed.
        TypeError: an option :func:`scan` does not take.
    """
    from hubaudit import fleet

    unknown = sorted(
        name for name in options if name not in inspect.signature(scan).parameters or name in ("model", "out_dir")
    )
    if unknown:
        raise TypeError(f"scan_many() got unexpected keyword arguments {', '.join(unknown)}")
    fleet.import_ray()  # before listing the Hub: without ray nothing can run
    references = fleet.fleet_models(
        models_file=models_file, author=author, search=search, filters=filters, limit=limit
    )
    references = list(dict.fromkeys([*(fleet.hub_reference(model) for model in models), *references]))
    out_dir = writable_folder(out_dir, "--out").resolve()
    options = {"allow_local": False, **options}
    if options.get("store_dir") is not None:  # every task, on any node, sees one path
        options["store_dir"] = Path(options["store_dir"]).resolve()
    gpus = gpus_per_scan if gpus_per_scan is not None else fleet.default_gpus_per_scan()
    with fleet.ray_session(address=address, num_cpus=num_cpus):
        rows = fleet.scan_fleet(
            references,
            out_dir,
            options,
            scan=scan,
            command=scan_command,
            cpus_per_scan=cpus_per_scan,
            gpus_per_scan=gpus,
            on_row=on_row,
        )
    fleet.write_fleet_summary(rows, out_dir)
    return rows


def scan_command(model: str, options: Mapping[str, object]) -> str:
    """The ``command`` that ``scan(model, **options)`` records in ``report.json``, without scanning (a fleet reuses a
    model's report only when it records this)."""
    return reproduce_command(scan_options(model, **options))


POISON_RECORD_SUFFIX = ".poisoning.json"
""":func:`poison` writes the attack's record beside its Parquet file with this suffix instead of ``.parquet``."""


def poisoning_record_path(data_path: str | Path) -> Path:
    """Where the attack's record of the Parquet file ``data_path`` lies (``x.parquet`` -> ``x.poisoning.json``)."""
    return Path(data_path).with_suffix(POISON_RECORD_SUFFIX)


@signature_from(PoisonSettings)
def poison(data, *, sensitive, label, alpha, out_path, method, n, delta, seed) -> PoisonRecord:
    """Sharer-side attack: write the poisoned training subset of ``data`` to the Parquet file ``out_path`` and the
    attack's record beside it (:func:`poisoning_record_path`); return the record. The parameters are those
    :class:`hubaudit.declarations.PoisonSettings` declares (as are ``hubaudit poison``'s flags).

    Returns:
        The :class:`PoisonRecord`: what the attack chose and did to I(S;Y) and I(X;Y); ``to_dict()`` is the JSON
        written beside the subset (its ``record_path``).
    """
    from hubaudit.attacks import poison_labelled_images
    from hubaudit.data import load_labelled_images, save_labelled_images
    from hubaudit.errors import InvalidData

    out_path = Path(out_path)
    if out_path.suffix != ".parquet":
        raise InvalidData(f"--out must name a .parquet file, got {out_path}")
    writable_folder(out_path.parent, "the folder of --out")
    images = load_labelled_images(str(data))
    training, poisoned = poison_labelled_images(
        images,
        sensitive_column=sensitive,
        label_column=label,
        n_select=n if n is not None else len(images) // 2,
        alpha=alpha,
        delta=delta,
        method=method,
        seed=seed,
    )
    record = PoisonRecord(
        data_source=images.source,
        sensitive_column=sensitive,
        label_column=label,
        seed=seed,
        n_data=len(images),
        **poisoned.to_dict(),
        out_path=out_path,
        record_path=poisoning_record_path(out_path),
    )
    save_labelled_images(training, out_path)
    write_atomically(record.record_path, json.dumps(record.to_dict(), indent=1).encode())
    return record


@signature_from(
    TrainSettings,
    more_keywords="settings",
    more_help="**settings: the family trainer's other settings "
    "(hubaudit.train.train_ncsnv2's sigma_end, train_score_sde's sigma_min, sigma_max, layers_per_block, ...).",
)
def train(data, out_dir, *, family, push_to_hub, resume, progress, **settings) -> TrainedModel:
    """Train a small DDPM, NCSNv2 or VE score-SDE (``family``: ``ddpm``, ``ncsnv2`` or ``score-sde``) on ``data`` into the
    pipeline folder ``out_dir`` (checkpoints in ``out_dir/checkpoints``; a rerun resumes). The parameters are those
    :class:`hubaudit.declarations.TrainSettings` declares (as are ``hubaudit train``'s flags); a family setting not
    given takes its trainer's default.

    ``settings`` are the family's trainer's: :func:`hubaudit.train.train_ddpm`'s (``class_column``, ``cond_dropout``,
    ``image_size``, ``steps``, ...; ``cond_dropout`` trains a null class for classifier-free guidance),
    :func:`hubaudit.train.train_ncsnv2`'s (``ngf``, ``noise_levels``, ``image_size``, ``steps``, ...) or
    :func:`hubaudit.train.train_score_sde`'s (``block_out_channels``, ``sigma_min``, ``sigma_max``, ``steps``, ...). A Parquet
    file written by :func:`poison` has its attack record copied into the model card. ``push_to_hub`` uploads the
    folder (checked before training). Returns the :class:`TrainedModel`: ``out_dir``, ``records``, ``source``,
    ``poisoning_record`` (the record copied into the card, or None) and ``pushed`` (the upload's commit URL, or None).
    """
    from hubaudit.data import load_labelled_images
    from hubaudit.errors import TrainingError
    from hubaudit.train import TRAINERS, check_can_upload, push_to_hub as upload

    trainer = TRAINERS.get(family)
    if trainer is None:
        raise TrainingError(f"unknown family {family!r}; choose from {', '.join(TRAINERS)}")
    unknown = sorted(set(settings) - set(inspect.signature(trainer).parameters))
    if unknown:
        raise TrainingError(f"{family} training takes no {', '.join(unknown)}")
    if push_to_hub:
        check_can_upload(push_to_hub)  # before training: an upload that cannot happen should not wait for the end
    images = load_labelled_images(str(data), image_size=settings.get("image_size", 16))
    record_path = poisoning_record_path(data)
    poisoned = Path(data).suffix == ".parquet" and record_path.exists()
    # The card keeps the attack's summary; its step-by-step I(S;Y) trace stays in the JSON beside the data.
    record = json.loads(record_path.read_text()) if poisoned else {}
    card = (
        {"poisoning": {k: v for k, v in record.items() if k != "mi_sensitive_label_trace_nats"}} if poisoned else None
    )
    folder = trainer(images, out_dir, resume=resume, model_card=card, progress=progress, **settings)
    return TrainedModel(
        Path(folder),
        len(images),
        images.source,
        poisoning_record=record_path if poisoned else None,
        pushed=upload(folder, push_to_hub) if push_to_hub else None,
    )


def import_ncsnv2(checkpoint: str | Path, *, config: str | Path, out_dir: str | Path, use_ema: bool = True) -> Path:
    """Convert a checkpoint of the reference NCSNv2 (ermongroup/ncsnv2) and its YAML ``config`` into the
    ``NCSNv2Pipeline`` folder ``out_dir``, which :func:`scan` audits; return ``out_dir``.

    The checkpoint is read with ``torch.load(weights_only=True)`` only; ``use_ema`` ships its EMA weights where it has
    them (as the reference samples). See :func:`hubaudit.families.ncsnv2_import.import_ncsnv2_checkpoint` for the errors.

    Example:
        >>> hubaudit.api.import_ncsnv2("logs/cifar10/checkpoint.pth", config="configs/cifar10.yml", out_dir="ncsnv2-cifar10")  # doctest: +SKIP
    """
    from hubaudit.families.ncsnv2_import import import_ncsnv2_checkpoint

    return import_ncsnv2_checkpoint(checkpoint, config, out_dir, use_ema=use_ema)


def read_report(path: str | Path) -> ScanReport:
    """The :class:`ScanReport` in ``path``: a ``report.json`` a scan wrote, or the folder holding one; no torch.

    Raises:
        hubaudit.errors.InvalidReport: no report there, not JSON, of an unknown schema major version, or with
            malformed findings or verdicts.
    """
    return ScanReport.from_json(Path(path))


def render_report(report: ScanReport | dict, report_format: str, *, report_dir: str | Path | None = None) -> str:
    """``report`` as ``html``, ``md``, ``junit`` or ``sarif`` text (``report_dir``: where its sample stores are looked for when
    moved; default the folder of the report's ``path``)."""
    from hubaudit.report.render import render_report as render

    report, report_dir = _report_and_folder(report, report_dir)
    return render(report, report_format, report_dir=report_dir)


def write_report(
    report: ScanReport | dict,
    report_format: str,
    out_path: str | Path | None = None,
    *,
    report_dir: str | Path | None = None,
) -> Path:
    """Write ``report`` rendered as ``report_format`` to ``out_path`` (default: its usual name, ``report.html``,
    ``report.md``, ``junit.xml`` or ``report.sarif``, in ``report_dir``, which defaults to the folder of the report's ``path``)."""
    from hubaudit.report.render import REPORT_FILES, write_report as write

    report, report_dir = _report_and_folder(report, report_dir)
    if out_path is None and report_dir is None:
        raise TypeError("write_report() needs out_path or report_dir for a report read from no file")
    path = Path(out_path) if out_path else Path(report_dir) / REPORT_FILES[report_format]
    write(report, report_format, path, report_dir=report_dir)
    return path


def _report_and_folder(report: ScanReport | dict, report_dir: str | Path | None) -> tuple[dict, Path | None]:
    """The report dict of ``report``, and the folder its sample stores are looked for in (``report_dir``, else the
    folder of the file a :class:`ScanReport` was read from or saved to)."""
    if isinstance(report, ScanReport):
        report_dir = report_dir if report_dir is not None else (report.path.parent if report.path else None)
        report = report.to_dict()
    return report, Path(report_dir) if report_dir is not None else None


@signature_from(PublishSettings)
def publish(report_or_path, *, repo, mode, dry_run, allow_stale, revision, token, endpoint) -> PublishRecord:
    """Put the audit of ``report_or_path`` (a :class:`ScanReport`, its dict, or a ``report.json`` or its folder)
    where the readers of the model ``repo`` see it, and return what was written (or, ``dry_run``, what would be).

    ``mode="pr"`` opens a pull request that adds or refreshes the card's hubaudit section (between
    ``<!-- hubaudit:begin -->`` and ``<!-- hubaudit:end -->``; the YAML front matter and the rest of the card are
    kept) and adds ``report.json`` and ``report.html`` under ``hubaudit/<audited sha>/``; ``mode="discussion"`` posts
    the Markdown summary as a discussion. The parameters are those :class:`hubaudit.declarations.PublishSettings`
    declares (as are ``hubaudit publish``'s flags).

    Raises:
        hubaudit.errors.PublishNeedsToken: no token (and not ``dry_run``).
        hubaudit.errors.StaleReport: ``revision`` of ``repo`` is at another commit than the report audited, and not
            ``allow_stale``.

    Example:
        >>> publish("runs/org--model/report.json", repo="org/model", dry_run=True).card_diff  # doctest: +SKIP
    """
    from hubaudit.report.publish import publish_audit

    if isinstance(report_or_path, (str, Path)):
        report_or_path = read_report(report_or_path)
    report, report_dir = _report_and_folder(report_or_path, None)
    return publish_audit(
        report,
        report_json=report_text(report).encode("utf-8"),
        report_html=render_report(report, "html", report_dir=report_dir),
        repo=repo,
        mode=mode,
        dry_run=dry_run,
        allow_stale=allow_stale,
        token=token,
        revision=revision,
        endpoint=endpoint,
    )


def scan_summary(report: ScanReport | dict, *, out_dir: str | Path) -> list[str]:
    """The lines ``hubaudit scan`` prints for ``report`` (model, samples, estimates, fairness, findings)."""
    from hubaudit.report.terminal import scan_lines

    return scan_lines(_report_and_folder(report, None)[0], out_dir=str(out_dir))


def exit_code(report: ScanReport | dict, fail_on: str | None) -> int:
    """The exit code ``--fail-on KIND`` gives ``report``: 1 a finding of that kind; 3 none, but a check of that kind is
    inconclusive or not tested; 0 every check of that kind settled on no finding (or no ``fail_on``)."""
    from hubaudit.report.content import fail_on_exit_code

    return fail_on_exit_code(_report_and_folder(report, None)[0], fail_on)


def parse_label_map(text: str) -> dict[int, int]:
    """``"0=0,1=0,2=1"`` -> ``{0: 0, 1: 0, 2: 1}`` (class id -> label), or :class:`~hubaudit.errors.InvalidLabelMapping`."""
    from hubaudit.audit.fairness.label_mapping import parse_label_map as parse

    return parse(text)


def parse_label_prompts(texts: Sequence[str]) -> dict[str, int]:
    """``["1=a photo of a doctor", ...]`` -> ``{prompt: label}``, or :class:`~hubaudit.errors.InvalidLabelMapping`."""
    from hubaudit.audit.fairness.label_mapping import parse_label_prompts as parse

    return parse(texts)


def parse_attribute_spec(text: str, *, allow_local: bool = True) -> AttributeSpec:
    """``"NAME=SPEC"`` (as ``--attribute``) -> its :class:`~hubaudit.annotate.AttributeSpec`, nothing loaded; or
    :class:`~hubaudit.errors.InvalidAttributeSpec` (``allow_local=False`` also refuses local folders)."""
    from hubaudit.annotate import parse_attribute_spec as parse

    return parse(text, allow_local=allow_local)


def clip_presets() -> dict[str, dict[str, str]]:
    """The CLIP presets ``--attribute NAME=clip[:PRESET]`` takes: preset -> value -> the prompt it is read with."""
    from hubaudit.annotate import CLIP_PRESETS

    return {preset: dict(prompts) for preset, prompts in CLIP_PRESETS.items()}


def default_clip_model() -> str:
    """The zero-shot model ``clip`` annotators use unless ``clip@MODEL`` names another."""
    from hubaudit.annotate import DEFAULT_CLIP_MODEL

    return DEFAULT_CLIP_MODEL


@signature_from(LabelSettings)
def gold_labels(target, *, attribute, n, values) -> list[tuple[object, GoldLabels, SampleStore]]:
    """The gold-label files to fill for ``attribute``: one per sample store of ``target``, each with its plan (a
    random order of the store's samples that the store's digest fixes: :func:`~hubaudit.audit.properties.gold.plan_seed`).
    The parameters are those :class:`hubaudit.declarations.LabelSettings` declares (as are ``hubaudit label``'s flags).

    Returns:
        ``(condition, gold, store)`` per store, each :class:`~hubaudit.audit.properties.gold.GoldLabels` created or resumed.
    """
    import numpy as np

    from hubaudit.audit.properties.gold import GoldLabels
    from hubaudit.errors import InvalidGoldLabels
    from hubaudit.sampling.store import open_sample_store

    target = Path(target)
    report_path = report_file(target)
    if report_path.is_file():
        report = read_report(report_path)
        known = {entry["name"]: entry["values"] for entry in (report.properties or {}).get("attributes", [])}
        values = tuple(values or known.get(attribute) or ())
        if not values:
            raise InvalidGoldLabels(report_path, f"the report has no attribute {attribute!r}: give --values V0,V1,...")
        sets = []
        for samples in report.samples or []:
            store = open_sample_store(samples["store_path"])
            if store is None:
                raise InvalidGoldLabels(
                    report_path, f"its sample store {samples['store_path']} is gone: rerun the scan"
                )
            gold = GoldLabels.open(store, attribute, values, n=n, pool=report.n_per_condition)
            sets.append((samples["condition"], gold, store))
        return sets
    store = open_sample_store(target)
    if store is None:
        raise InvalidGoldLabels(target, "neither a scan's report.json (or its folder) nor a sample store folder")
    if not values:
        raise InvalidGoldLabels(target, "a store folder does not say the attribute's values: give --values V0,V1,...")
    indices = store.indices()  # sorted: the plan draws from the samples 0..k-1 before the first gap
    pool = int(np.count_nonzero(indices == np.arange(len(indices))))
    return [(store.key.get("condition"), GoldLabels.open(store, attribute, tuple(values), n=n, pool=pool), store)]


def save_png(image, path: str | Path) -> Path:
    """Write ``uint8 [H, W, C]`` ``image`` to the PNG file ``path``."""
    from hubaudit.sampling.store import encode_png

    path = Path(path)
    with writing(path):
        write_atomically(path, encode_png(image))
    return path


def plan(
    kind: str = "fairness",
    *,
    effect: str | Sequence | None = None,
    gap: float | None = None,
    groups: str | Sequence[str] | int = ("0", "1"),
    max_dp_gap: float | None = None,
    min_group_share: float | None = None,
    max_property_error: float | None = None,
    conditions_per_label: int | None = None,
    conditions: int | None = None,
    calibration_per_class: int | None = None,
    gold: int | None = None,
    annotator_error: str | Sequence[float] | None = None,
    confidence: float = 0.95,
    power: float = 0.9,
    trials: int | None = None,
    seed: int = 0,
) -> FairnessPlan | PrivacyPlan:
    """The samples per condition an audit needs, before the scan (``hubaudit plan``): for a finding at ``effect`` and
    for no finding without one, each with probability ``power``, by simulating whole verdicts
    (:mod:`hubaudit.audit.plan`).

    Args:
        kind: ``"fairness"`` (the fairness signature of a class-conditional model) or ``"privacy"`` (the sharer's
            self-audit).
        effect: fairness: ``"0.3,0.5"`` or ``(0.3, 0.5)``, P(S=1 | Y=0) and P(S=1 | Y=1) (more groups:
            ``"0.5,0.3,0.2/0.3,0.3,0.4"``, P(S | Y=0)/P(S | Y=1)); privacy: ``"0.3,0.32"``, the training share and
            the generated share of value 1 (one number: a faithful model).
        gap: fairness, instead of ``effect``: a demographic-parity gap to detect.
        groups: the attribute's value names (``"red,green"``, a sequence) or their count.
        max_dp_gap, min_group_share: the fairness margins; max_property_error: the self-audit's.
        conditions_per_label: fairness, classes per label value; conditions: privacy, conditions scanned.
        calibration_per_class: calibration records per (value, class) cell (default 1,000 unless ``gold``).
        gold: gold labels per condition instead of calibration records.
        annotator_error: ``"FPR,FNR"`` or a sequence (one rate for more than two groups); default 0.05 each.
        confidence: the audit's level; power: the target; trials: simulated scans per candidate n (default 400);
            seed: the simulation's seed.

    Raises:
        InvalidPlan: an input malformed, out of range, or of the other kind's audit.

    Example:
        >>> hubaudit.api.plan("fairness", effect="0.3,0.5").finding.n_per_condition  # doctest: +SKIP
    """
    from hubaudit.audit.plan import (
        DEFAULT_ANNOTATOR_ERROR,
        DEFAULT_TRIALS,
        parse_effect,
        parse_shares,
        plan_fairness,
        plan_privacy,
    )
    from hubaudit.errors import InvalidPlan

    if kind not in ("fairness", "privacy"):
        raise InvalidPlan(f"the plan is of a 'fairness' or a 'privacy' audit, got {kind!r}")
    other = {
        "fairness": {"--max-property-error": max_property_error, "--conditions": conditions},
        "privacy": {
            "--gap": gap,
            "--max-dp-gap": max_dp_gap,
            "--min-group-share": min_group_share,
            "--conditions-per-label": conditions_per_label,
        },
    }[kind]
    misplaced = sorted(flag for flag, value in other.items() if value is not None)
    if misplaced:
        belongs = "privacy" if kind == "fairness" else "fairness"
        raise InvalidPlan(f"{misplaced[0]} belongs to the {belongs} plan (hubaudit plan {belongs})")
    if isinstance(groups, str):
        groups = int(groups) if groups.strip().isdigit() else tuple(groups.split(","))
    if isinstance(effect, str):
        effect = parse_effect(effect, kind=kind)
    errors = (
        parse_shares(annotator_error, flag="--annotator-error")
        if isinstance(annotator_error, str)
        else annotator_error
    )
    common = {
        "calibration_per_class": calibration_per_class,
        "gold_per_condition": gold,
        "annotator_error": DEFAULT_ANNOTATOR_ERROR if errors is None else errors,
        "confidence": confidence,
        "power": power,
        "trials": DEFAULT_TRIALS if trials is None else trials,
        "seed": seed,
    }
    if kind == "fairness":
        margins = {
            name: value
            for name, value in {"max_dp_gap": max_dp_gap, "min_group_share": min_group_share}.items()
            if value is not None
        }
        return plan_fairness(
            effect=effect, gap=gap, groups=groups, conditions_per_label=conditions_per_label or 1, **margins, **common
        )
    training, generated = (None, None) if effect is None else (effect[0], effect[-1])
    if effect is not None and len(effect) not in (1, 2):
        raise InvalidPlan("--effect for privacy takes TRAINING,GENERATED shares of value 1, e.g. 0.3,0.3")
    shares = {"training_share": training} if training is not None else {}
    margin = {"max_property_error": max_property_error} if max_property_error is not None else {}
    return plan_privacy(
        **shares, generated_share=generated, values=groups, conditions=conditions or 1, **margin, **common
    )


@signature_from(BotSettings)
def bot(config, *, host, port, block) -> AuditBot:
    """Run the webhook bot of the TOML file ``config`` (``hubaudit bot``; needs ``hubaudit[bot]``): on each new commit
    of a model repository it watches, scan it with the config's ``[scan]`` options and publish the report as its
    ``[bot]`` table says, once per commit (docs/user-guide-bot.md). The parameters are those
    :class:`hubaudit.declarations.BotSettings` declares; ``block=False`` returns the running :class:`~hubaudit.bot.AuditBot`
    (its ``outcomes``, ``wait_idle()``, ``close()``).

    Raises:
        hubaudit.errors.BotNeedsSecret: the environment variable ``[bot] secret_env`` names is unset.
        hubaudit.errors.InvalidConfigFile: a key or value of the file is wrong, or it watches nothing.
        hubaudit.errors.BotUnavailable: gradio is not installed.
    """
    from hubaudit.bot import BotVerbs, start_bot

    verbs = BotVerbs(scan=scan, scan_command=scan_command, scan_many=scan_many, publish=publish)
    return start_bot(config, verbs, host=host, port=port, block=block)


@signature_from(MembershipSettings)
def membership(model, **keywords) -> dict:
    """Membership inference on ``model`` (white-box: its denoiser and scheduler): score each image of ``candidates``
    with each attack (``pia``, ``loss``), flag those above a threshold calibrated on ``non_members`` at false-positive
    rate ``fpr``, and return the result (``out_path``: also written there as JSON; docs/report-schema.md,
    "membership"). The parameters are those :class:`hubaudit.declarations.MembershipSettings` declares.

    Raises:
        hubaudit.errors.InvalidMembershipOptions: no ``non_members`` (uncalibrated scores mislead), too few of them
            for ``fpr``, or a class-conditional / text-to-image model without its ``class_column`` / ``caption_column``.
        hubaudit.errors.UnsupportedMembershipModel: a model the attacks cannot run on (no DDPM noise schedule).

    Example:
        >>> result = membership("org/model", candidates="mine.parquet", non_members="public.parquet")  # doctest: +SKIP
        >>> result["attacks"]["pia"]["flagged"]  # doctest: +SKIP
    """
    from hubaudit.attacks.membership import MembershipRequest, run_membership
    from hubaudit.sampling import pick_device

    values = api_values(MembershipSettings, "membership", {"model": model, **keywords})
    out_path = values.pop("out_path")
    if out_path is not None:
        writable_folder(Path(out_path).parent, "--out")
    values["device"] = str(pick_device(values["device"]))
    request = MembershipRequest(**{name: values[name] for name in MembershipRequest.__dataclass_fields__})
    result = run_membership(request)
    if out_path is not None:
        with writing(out_path):
            write_atomically(Path(out_path), (json.dumps(result, indent=1) + "\n").encode())
    return result
