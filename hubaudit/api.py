"""The Python API: the same scan as ``hubaudit scan``, for scripts and release checklists.

Example:
    >>> import hubaudit
    >>> result = hubaudit.scan("org/model", n=256, steps=50, scheduler="ddim")  # doctest: +SKIP
    >>> result.to_dict()["model"]["resolved_sha"]  # doctest: +SKIP
"""

from __future__ import annotations

import inspect
import json
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from hubaudit.files import writable_folder
from hubaudit.hub import resolve_reference

if TYPE_CHECKING:
    from hubaudit.audit.properties.gold import GoldLabels
    from hubaudit.audit.options import ScanOptions
    from hubaudit.audit.plan import FairnessPlan, PrivacyPlan
    from hubaudit.audit.scan import ScanResult
    from hubaudit.sampling.store import SampleStore

_FRONT_END_NAMES = {
    "CLIP_PRESETS": "hubaudit.annotate", "DEFAULT_CLIP_MODEL": "hubaudit.annotate", "parse_attribute_spec": "hubaudit.annotate",
    "hub_errors": "hubaudit.hub", "parse_model_reference": "hubaudit.hub",
    "attribute_chart_png": "hubaudit.report.charts", "fairness_heatmap_png": "hubaudit.report.charts",
    "attribute_rows": "hubaudit.report.content", "fairness_pairs": "hubaudit.report.content",
    "model_title": "hubaudit.report.content", "pair_name": "hubaudit.report.content",
    "attribute_groups": "hubaudit.report.content", "condition_label": "hubaudit.report.content",
    "confidence_text": "hubaudit.report.content", "estimate_text": "hubaudit.report.content",
    "fairness_sources": "hubaudit.report.content",
    "findings_lines": "hubaudit.report.markdown_report", "render_markdown": "hubaudit.report.markdown_report",
    "read_condition_images": "hubaudit.report.samples", "image_lines": "hubaudit.report.terminal",
}
"""What the front ends (the Space) show from the layers below, re-exported here so that they import this module
alone; each loads on first use."""


def __getattr__(name: str):
    if name in _FRONT_END_NAMES:
        from importlib import import_module

        return getattr(import_module(_FRONT_END_NAMES[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def scan(
    model: str,
    *,
    n: int = 64,
    batch_size: int = 16,
    steps: int | None = None,
    scheduler: str | None = None,
    guidance_scale: float | None = None,
    height: int | None = None,
    width: int | None = None,
    dtype: str | None = None,
    seed: int = 0,
    classes: Sequence[int] | None = None,
    prompts: Sequence[str] | None = None,
    device: str | None = None,
    out_dir: Path | str = "hubaudit-out",
    store_dir: Path | str | None = None,
    token: str | None = None,
    allow_pickle: bool | str = False,
    trust_remote_code: bool = False,
    allow_local: bool = True,
    keep_safety_checker: bool = False,
    base: str | None = None,
    lora_scale: float = 1.0,
    progress: bool = True,
    attributes: Sequence[str] | None = None,
    aux_data: str | Path | None = None,
    training_data: str | Path | None = None,
    target_width: float | None = None,
    confidence: float = 0.95,
    max_property_error: float = 0.05,
    gold: Sequence[str | Path] | None = None,
    sensitive: Sequence[str] | None = None,
    labels: Sequence[str] | None = None,
    label_map: Mapping[int, int] | None = None,
    label_prompts: Mapping[str, int] | None = None,
    reference: str | Path | None = None,
    max_dp_gap: float | None = None,
    max_gap_increase: float | None = None,
    min_group_share: float | None = None,
    probe: bool = True,
    check_drift: int | None = None,
    compile: bool = False,
) -> ScanResult:
    """Scan ``model`` and write ``out_dir/report.json`` and its rendering ``out_dir/report.html``.

    Args:
        model: ``org/name``, ``org/name@revision`` (branch, tag or commit) or a local folder.
        n: samples per condition (class or prompt).
        batch_size: samples per forward pass; halved automatically on out-of-memory.
        steps: denoising steps (None: the pipeline's default).
        scheduler: ``"ddim"`` or ``"dpmsolver++"`` to swap the model's scheduler.
        guidance_scale: classifier-free guidance (DiT, text-to-image, class-conditional UNets trained with
            ``cond_dropout``); None: the pipeline's default (1 for such a UNet: its plain conditional sample),
            which the report records.
        height: image height in pixels (pipelines whose call takes one); None: the pipeline's default.
        width: image width in pixels, likewise.
        dtype: ``"float32"``, ``"float16"`` or ``"bfloat16"``; None: float16 on GPUs, float32 on CPU.
        seed: sample i's noise depends only on (seed, condition, i).
        classes: class ids to scan (class-conditional models; default: every class).
        prompts: prompts to scan (text-to-image models; required there).
        device: ``cuda``, ``mps`` or ``cpu``; None picks the best available.
        out_dir: where the report and (by default) the sample store go.
        store_dir: sample store root (default ``out_dir/samples``); rerunning resumes from it.
        token: Hub token (default: ``HF_TOKEN`` or the stored login).
        allow_pickle: accept pickle weights, which can run code when loaded, once picklescan finds no
            dangerous import in them (the report's ``model.pickle_scan``); ``"unsafe"`` accepts flagged ones too.
        trust_remote_code: run custom pipeline code from the repository.
        allow_local: accept local folders as models.
        keep_safety_checker: keep a safety checker the model ships (by default it is left out: it
            blacks out the images it flags, which biases every share; the report says which).
        base: base pipeline (``org/name[@revision]``) of a LoRA, textual-inversion or single-file
            repository; default: the ``base_model`` its model card names.
        lora_scale: weight of a LoRA adapter (1: as trained; 0: the base model).
        progress: show progress bars.
        attributes: ``NAME=SPEC`` strings (e.g. ``"is_zero=aux"``, ``"gender=clip"``): estimate the
            generated share of each attribute's values (the report's ``properties`` section).
        aux_data: labelled images to train ``aux`` annotators on and calibrate the others (column NAME).
        training_data: the sharer's own training data (column NAME): adds a self-audit and privacy findings.
        target_width: sample sequentially until the confidence sequence's half-width is at most this (or n).
        confidence: nominal coverage of the property intervals.
        max_property_error: the self-audit's margin: a privacy finding when every value's interval lies within this of its
            training share, no finding when one lies wholly outside, else inconclusive.
        gold: gold-label files (:func:`gold_labels`, ``hubaudit label``): each labels some samples of one store
            (condition) by hand, giving that condition prediction-powered estimates (``estimates.ppi``), valid
            whatever the annotator's error on generated images, which become the primary ones; for a sensitive
            attribute they also correct that condition's annotations in the fairness signature.
        sensitive: attribute names (among ``attributes``) of sensitive attributes S: adds the
            fairness signature (the report's ``fairness`` section) and fairness findings.
        labels: names of the binary labels Y (default ``["label"]``); an attribute name is annotated,
            another name is read off each sample's class (``label_map``) or prompt (``label_prompts``).
        label_map: class id -> 0/1 label, e.g. ``{0: 0, 1: 0, 2: 1}`` (a two-class model needs none).
        label_prompts: prompt -> 0/1 label; these prompts are scanned too.
        reference: trusted labelled data with columns for every S and Y: baseline gap and downstream probe.
        max_dp_gap: a demographic-parity gap whose interval lies above this is a finding (default 0.10).
        max_gap_increase: so is a gap exceeding the reference's or the model card's by more (default 0.05).
        min_group_share: so is a sensitive group whose share of the samples of every label value is below this
            (absent or under-represented; default 0.25/K for K groups: 0.125 for two).
        probe: with ``reference``, train the downstream probes.
        compile: ``torch.compile`` the UNet or transformer (opt-in: the first batch compiles, later ones run faster).
        check_drift: draw this many of the samples of every condition again with the model's own
            scheduler at its default steps (paired seeds) and report, per estimated share, how far
            the fast sampler (``scheduler``, ``steps``) moves it (the report's ``drift`` section).

    Returns:
        The scan result; ``result.to_dict()`` is what ``report.json`` holds.

    Raises:
        hubaudit.errors.HubAuditError: any failure the user can act on (a subclass per failure). An audit
            that fails after sampling (e.g. a fairness table too sparse for its test) is raised only after
            ``report.json`` is written with every section that finished and an ``errors`` entry for it.
    """
    arguments = dict(locals())  # exactly scan's parameters: nothing else is defined yet
    writable_folder(out_dir, "--out")  # output folders that cannot be written are refused before any work
    if store_dir is not None:
        writable_folder(store_dir, "--store")
    # What the repository's files decide is refused before torch and diffusers are imported.
    resolved = resolve_reference(
        model, token=token, allow_pickle=allow_pickle, trust_remote_code=trust_remote_code, base=base, allow_local=allow_local
    )
    from hubaudit.audit.scan import run_scan
    from hubaudit.report.json_report import write_json_report
    from hubaudit.report.render import write_report as write_rendered

    options = scan_options(**arguments)
    result = run_scan(options, command=reproduce_command(options), resolved=resolved)
    if result.sampled.shard.is_main:
        report = result.to_dict()
        write_json_report(report, Path(out_dir) / "report.json")
        write_rendered(report, "html", Path(out_dir) / "report.html")
    result.sampled.shard.agree(result.first_failure)  # an audit that failed late: raised once its report is written
    return result


def scan_options(model: str, **arguments) -> ScanOptions:
    """The :class:`~hubaudit.audit.options.ScanOptions` :func:`scan` runs for ``model`` and ``arguments`` (its
    keyword arguments; those left out take its defaults). Nothing is resolved or loaded."""
    from hubaudit.audit.fairness.options import FairnessOptions
    from hubaudit.audit.options import PropertyOptions, ScanOptions
    from hubaudit.sampling import SamplerConfig, pick_device, pick_dtype

    parameters = inspect.signature(scan).parameters
    unknown = sorted(set(arguments) - set(parameters))
    if unknown:
        raise TypeError(f"scan() got unexpected keyword arguments {', '.join(unknown)}")
    given = {name: parameter.default for name, parameter in parameters.items() if name != "model"} | arguments
    device = pick_device(given["device"])
    prompts = dict.fromkeys([*(given["prompts"] or ()), *(given["label_prompts"] or ())])
    return ScanOptions(
        model=model,
        n=given["n"],
        batch_size=given["batch_size"],
        sampler=SamplerConfig(
            num_inference_steps=given["steps"], scheduler=given["scheduler"], guidance_scale=given["guidance_scale"],
            height=given["height"], width=given["width"], dtype=pick_dtype(given["dtype"], device), seed=given["seed"],
        ),
        conditions=tuple(given["classes"] or ()) + tuple(prompts) or None,
        device=str(device),
        out_dir=Path(given["out_dir"]),
        store_dir=Path(given["store_dir"]) if given["store_dir"] is not None else None,
        **{name: given[name] for name in (
            "token", "allow_pickle", "trust_remote_code", "allow_local", "keep_safety_checker", "base", "lora_scale",
            "progress", "check_drift", "compile",
        )},
        properties=PropertyOptions.from_arguments(
            given["attributes"], aux_data=given["aux_data"], training_data=given["training_data"],
            confidence=given["confidence"], target_width=given["target_width"], max_property_error=given["max_property_error"],
            gold=given["gold"],
        ),
        fairness=FairnessOptions.from_arguments(
            given["sensitive"], labels=given["labels"], label_map=given["label_map"], label_prompts=given["label_prompts"],
            reference=str(given["reference"]) if given["reference"] is not None else None, confidence=given["confidence"],
            max_dp_gap=given["max_dp_gap"], max_gap_increase=given["max_gap_increase"], min_group_share=given["min_group_share"],
            probe=given["probe"],
        ),
    )


def reproduce_command(options: ScanOptions) -> str:
    """The ``hubaudit scan`` command line that reproduces ``options``."""
    config = options.sampler
    words = ["hubaudit", "scan", options.model, "-n", str(options.n), "--seed", str(config.seed), "--dtype", config.dtype]
    optional = {
        "--steps": config.num_inference_steps,
        "--scheduler": config.scheduler,
        "--guidance-scale": config.guidance_scale,
        "--height": config.height,
        "--width": config.width,
    }
    for flag, value in optional.items():
        if value is not None:
            words += [flag, str(value)]
    for condition in options.conditions or ():
        words += ["--prompt" if isinstance(condition, str) else "--class", str(condition)]
    if options.allow_pickle:
        words.append("--allow-pickle=unsafe" if options.allow_pickle == "unsafe" else "--allow-pickle")
    flags = {
        "--compile": options.compile,
        "--trust-remote-code": options.trust_remote_code,
        "--keep-safety-checker": options.keep_safety_checker,
    }
    for flag, enabled in flags.items():
        if enabled:
            words.append(flag)
    if options.base is not None:
        words += ["--base", options.base]
    if options.lora_scale != 1.0:
        words += ["--lora-scale", str(options.lora_scale)]
    if options.properties is not None:
        words += options.properties.command_words()
    if options.fairness is not None:
        words += options.fairness.command_words()
    if options.check_drift is not None:
        words += ["--check-drift", str(options.check_drift)]
    return shlex.join(words)


def inspect_model(
    model: str, *, token: str | None = None, allow_local: bool = True, allow_pickle: bool = False,
    trust_remote_code: bool = False, base: str | None = None,
) -> dict:
    """What a scan of ``model`` can ask for, read from its files without loading any weight.

    Returns:
        ``{"reference", "resolved_sha", "pipeline_class", "kind", "num_classes", "class_names",
        "default_steps", "default_guidance", "base"}``: ``base`` is the base pipeline of a LoRA, embedding or
        single-file repository (``{"reference", "resolved_sha"}``, else None); ``kind`` is ``unconditional``, ``class-conditional``
        or ``text-to-image`` (None for a pipeline defined by repository code, known only once
        loaded); ``class_names`` maps class ids to names where the model records them.

    Raises:
        hubaudit.errors.HubAuditError: the model cannot be scanned (the same refusals as :func:`scan`).

    Example:
        >>> hubaudit.api.inspect_model("facebook/DiT-XL-2-256")["kind"]  # doctest: +SKIP
        'class-conditional'
    """
    resolved = resolve_reference(
        model, token=token, allow_pickle=allow_pickle, trust_remote_code=trust_remote_code, base=base, allow_local=allow_local
    )
    from hubaudit.audit.sampled import model_capabilities

    capabilities = model_capabilities(resolved, token=token)
    return {
        "reference": str(resolved.reference),
        "resolved_sha": resolved.sha,
        "pipeline_class": resolved.pipeline_class,
        "kind": capabilities.kind if capabilities else None,
        "num_classes": capabilities.num_classes if capabilities else None,
        "class_names": dict(capabilities.class_names) if capabilities else {},
        "default_steps": capabilities.default_steps if capabilities else None,
        "default_guidance": capabilities.default_guidance if capabilities else None,
        "base": None if resolved.base is None else {"reference": str(resolved.base.reference), "resolved_sha": resolved.base.sha},
    }


POISON_RECORD_SUFFIX = ".poisoning.json"
""":func:`poison` writes the attack's record beside its Parquet file with this suffix instead of ``.parquet``."""


def poisoning_record_path(data_path: str | Path) -> Path:
    """Where the attack's record of the Parquet file ``data_path`` lies (``x.parquet`` -> ``x.poisoning.json``)."""
    return Path(data_path).with_suffix(POISON_RECORD_SUFFIX)


def poison(
    data: str | Path, *, sensitive: str, label: str, alpha: float, out: str | Path, method: str = "greedy",
    n: int | None = None, delta: float = 0.05, seed: int = 0,
) -> dict:
    """Sharer-side attack: write the poisoned training subset of ``data`` to the Parquet file ``out`` and the
    attack's record beside it (:func:`poisoning_record_path`); return the record.

    Args:
        data: labelled images (``builtin:colored-mnist``, a Parquet file or folder, an image folder, a Hub data set).
        sensitive, label: names of the 0/1 columns S and Y.
        alpha: poisoning rate in [0, 1]: share of records added greedily (or relabelled, ``method="flip"``).
        method: ``"greedy"`` (maximise I(S;Y) keeping I(X;Y) within ``delta`` nats) or ``"flip"``.
        n: records in the subset (default half the data).
    """
    from hubaudit.attacks import poison_labelled_images
    from hubaudit.data import load_labelled_images, save_labelled_images
    from hubaudit.errors import InvalidData
    from hubaudit.files import write_atomically

    out = Path(out)
    if out.suffix != ".parquet":
        raise InvalidData(f"--out must name a .parquet file, got {out}")
    writable_folder(out.parent, "the folder of --out")
    images = load_labelled_images(data)
    training, poisoned = poison_labelled_images(
        images, sensitive_column=sensitive, label_column=label, n_select=n if n is not None else len(images) // 2,
        alpha=alpha, delta=delta, method=method, seed=seed,
    )
    record = {"data_source": images.source, "sensitive_column": sensitive, "label_column": label, "seed": seed,
              "n_data": len(images), **poisoned.to_dict()}
    save_labelled_images(training, out)
    write_atomically(poisoning_record_path(out), json.dumps(record, indent=1).encode())
    return record


def train(data: str | Path, out: str | Path, *, family: str = "ddpm", push_to_hub: str | None = None, resume: bool = True,
          progress: bool = True, **settings) -> dict:
    """Train a small DDPM, NCSNv2 or VE score-SDE (``family``: ``ddpm``, ``ncsnv2`` or ``score-sde``) on ``data`` into the
    pipeline folder ``out`` (checkpoints in ``out/checkpoints``; a rerun resumes).

    ``settings`` are the family's trainer's: :func:`hubaudit.train.train_ddpm`'s (``class_column``, ``cond_dropout``,
    ``image_size``, ``steps``, ...; ``cond_dropout`` trains a null class for classifier-free guidance),
    :func:`hubaudit.train.train_ncsnv2`'s (``ngf``, ``noise_levels``, ``image_size``, ``steps``, ...) or
    :func:`hubaudit.train.train_score_sde`'s (``block_out_channels``, ``sigma_min``, ``sigma_max``, ``steps``, ...). A Parquet
    file written by :func:`poison` has its attack record copied into the model card. ``push_to_hub`` uploads the
    folder (checked before training). Returns ``{"out", "records", "source", "poisoning_record", "pushed"}``.
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
    images = load_labelled_images(data, image_size=settings.get("image_size", 16))
    record_path = poisoning_record_path(data)
    poisoned = Path(data).suffix == ".parquet" and record_path.exists()
    # The card keeps the attack's summary; its step-by-step I(S;Y) trace stays in the JSON beside the data.
    record = json.loads(record_path.read_text()) if poisoned else {}
    card = {"poisoning": {k: v for k, v in record.items() if k != "mi_sensitive_label_trace_nats"}} if poisoned else None
    folder = trainer(images, out, resume=resume, model_card=card, progress=progress, **settings)
    return {
        "out": str(folder), "records": len(images), "source": images.source,
        "poisoning_record": str(record_path) if poisoned else None,
        "pushed": upload(folder, push_to_hub) if push_to_hub else None,
    }


def import_ncsnv2(checkpoint: str | Path, *, config: str | Path, out: str | Path, use_ema: bool = True) -> Path:
    """Convert a checkpoint of the reference NCSNv2 (ermongroup/ncsnv2) and its YAML ``config`` into the
    ``NCSNv2Pipeline`` folder ``out``, which :func:`scan` audits; return ``out``.

    The checkpoint is read with ``torch.load(weights_only=True)`` only; ``use_ema`` ships its EMA weights where it has
    them (as the reference samples). See :func:`hubaudit.families.ncsnv2_import.import_ncsnv2_checkpoint` for the errors.

    Example:
        >>> hubaudit.api.import_ncsnv2("logs/cifar10/checkpoint.pth", config="configs/cifar10.yml", out="ncsnv2-cifar10")  # doctest: +SKIP
    """
    from hubaudit.families.ncsnv2_import import import_ncsnv2_checkpoint

    return import_ncsnv2_checkpoint(checkpoint, config, out, use_ema=use_ema)


def read_report(path: str | Path) -> dict:
    """The report dict of a ``report.json`` a scan wrote (checked against docs/report-schema.md); no torch."""
    from hubaudit.report.json_report import read_json_report

    return read_json_report(path)


def render_report(report: dict, report_format: str, *, report_dir: str | Path | None = None) -> str:
    """``report`` as ``html``, ``md`` or ``junit`` text (``report_dir``: where its sample images lie)."""
    from hubaudit.report.render import render_report as render

    return render(report, report_format, report_dir=report_dir)


def write_report(report: dict, report_format: str, out: str | Path | None = None, *, report_dir: str | Path) -> Path:
    """Write ``report`` rendered as ``report_format`` to ``out`` (default: its usual name in ``report_dir``)."""
    from hubaudit.report.render import REPORT_FILES, write_report as write

    path = Path(out) if out else Path(report_dir) / REPORT_FILES[report_format]
    write(report, report_format, path, report_dir=report_dir)
    return path


def scan_summary(report: dict, *, out_dir: str | Path) -> list[str]:
    """The lines ``hubaudit scan`` prints for ``report`` (model, samples, estimates, fairness, findings)."""
    from hubaudit.report.terminal import scan_lines

    return scan_lines(report, out_dir=str(out_dir))


def exit_code(report: dict, fail_on: str | None) -> int:
    """The exit code ``--fail-on KIND`` gives ``report``: 1 a finding of that kind; 3 none, but a check of that kind is
    inconclusive or not tested; 0 every check of that kind settled on no finding (or no ``fail_on``)."""
    from hubaudit.report.content import fail_on_exit_code

    return fail_on_exit_code(report, fail_on)


def parse_label_map(text: str) -> dict[int, int]:
    """``"0=0,1=0,2=1"`` -> ``{0: 0, 1: 0, 2: 1}`` (class id -> label), or :class:`~hubaudit.errors.InvalidLabelMapping`."""
    from hubaudit.audit.fairness.label_mapping import parse_label_map as parse

    return parse(text)


def parse_label_prompts(texts: Sequence[str]) -> dict[str, int]:
    """``["1=a photo of a doctor", ...]`` -> ``{prompt: label}``, or :class:`~hubaudit.errors.InvalidLabelMapping`."""
    from hubaudit.audit.fairness.label_mapping import parse_label_prompts as parse

    return parse(texts)


def gold_labels(
    target: str | Path, *, attribute: str, n: int = 200, values: Sequence[str] | None = None,
) -> list[tuple[object, GoldLabels, SampleStore]]:
    """The gold-label files to fill for ``attribute``: one per sample store of ``target``, each with its plan (a
    random order of the store's samples that the store's digest fixes: :func:`~hubaudit.audit.properties.gold.plan_seed`).

    Args:
        target: a scan's ``report.json`` (or its folder): every condition's store, the attribute's values
            and the samples the scan used come from it; or a store folder (then give ``values``).
        n: labels to plan per store (a random, recorded subset of its samples; more later extends the plan).
        values: the attribute's value names, in code order (read from the report when it has them).

    Returns:
        ``(condition, gold, store)`` per store, each :class:`~hubaudit.audit.properties.gold.GoldLabels` created or resumed.
    """
    import numpy as np

    from hubaudit.audit.properties.gold import GoldLabels
    from hubaudit.errors import InvalidGoldLabels
    from hubaudit.sampling.store import open_sample_store

    target = Path(target)
    report_path = target / "report.json" if target.is_dir() and (target / "report.json").is_file() else target
    if report_path.is_file():
        report = read_report(report_path)
        known = {entry["name"]: entry["values"] for entry in report.get("properties", {}).get("attributes", [])}
        values = tuple(values or known.get(attribute) or ())
        if not values:
            raise InvalidGoldLabels(report_path, f"the report has no attribute {attribute!r}: give --values V0,V1,...")
        sets = []
        for samples in report["samples"]:
            store = open_sample_store(samples["store_path"])
            if store is None:
                raise InvalidGoldLabels(report_path, f"its sample store {samples['store_path']} is gone: rerun the scan")
            gold = GoldLabels.open(store, attribute, values, n=n, pool=report["n_per_condition"])
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
    from hubaudit.files import write_atomically, writing
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
    from hubaudit.audit.plan import DEFAULT_ANNOTATOR_ERROR, DEFAULT_TRIALS, parse_effect, parse_shares, plan_fairness, plan_privacy
    from hubaudit.errors import InvalidPlan

    if kind not in ("fairness", "privacy"):
        raise InvalidPlan(f"the plan is of a 'fairness' or a 'privacy' audit, got {kind!r}")
    other = {"fairness": {"--max-property-error": max_property_error, "--conditions": conditions},
             "privacy": {"--gap": gap, "--max-dp-gap": max_dp_gap, "--min-group-share": min_group_share,
                         "--conditions-per-label": conditions_per_label}}[kind]
    misplaced = sorted(flag for flag, value in other.items() if value is not None)
    if misplaced:
        belongs = "privacy" if kind == "fairness" else "fairness"
        raise InvalidPlan(f"{misplaced[0]} belongs to the {belongs} plan (hubaudit plan {belongs})")
    if isinstance(groups, str):
        groups = int(groups) if groups.strip().isdigit() else tuple(groups.split(","))
    if isinstance(effect, str):
        effect = parse_effect(effect, kind=kind)
    errors = parse_shares(annotator_error, flag="--annotator-error") if isinstance(annotator_error, str) else annotator_error
    common = {"calibration_per_class": calibration_per_class, "gold_per_condition": gold,
              "annotator_error": DEFAULT_ANNOTATOR_ERROR if errors is None else errors, "confidence": confidence,
              "power": power, "trials": DEFAULT_TRIALS if trials is None else trials, "seed": seed}
    if kind == "fairness":
        margins = {name: value for name, value in {"max_dp_gap": max_dp_gap, "min_group_share": min_group_share}.items()
                   if value is not None}
        return plan_fairness(effect=effect, gap=gap, groups=groups, conditions_per_label=conditions_per_label or 1,
                             **margins, **common)
    training, generated = (None, None) if effect is None else (effect[0], effect[-1])
    if effect is not None and len(effect) not in (1, 2):
        raise InvalidPlan("--effect for privacy takes TRAINING,GENERATED shares of value 1, e.g. 0.3,0.3")
    shares = {"training_share": training} if training is not None else {}
    margin = {"max_property_error": max_property_error} if max_property_error is not None else {}
    return plan_privacy(**shares, generated_share=generated, values=groups, conditions=conditions or 1, **margin, **common)
