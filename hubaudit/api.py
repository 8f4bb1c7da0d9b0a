"""The Python API: the same scan as ``hubaudit scan``, for scripts and release checklists.

Example:
    >>> import hubaudit
    >>> result = hubaudit.scan("org/model", n=256, steps=50, scheduler="ddim")  # doctest: +SKIP
    >>> result.to_dict()["model"]["resolved_sha"]  # doctest: +SKIP
"""

from __future__ import annotations

import inspect
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from hubaudit.files import writable_folder
from hubaudit.hub import resolve_reference

if TYPE_CHECKING:
    from hubaudit.audit.scan import ScanOptions, ScanResult


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
    sensitive: Sequence[str] | None = None,
    labels: Sequence[str] | None = None,
    label_map: Mapping[int, int] | None = None,
    label_prompts: Mapping[str, int] | None = None,
    reference: str | Path | None = None,
    max_dp_gap: float | None = None,
    max_gap_increase: float | None = None,
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
        guidance_scale: classifier-free guidance (DiT, text-to-image); None: the pipeline's default,
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
        max_property_error: a self-audit estimate within this of the training share is a privacy finding.
        sensitive: attribute names (among ``attributes``) of sensitive attributes S: adds the
            fairness signature (the report's ``fairness`` section) and fairness findings.
        labels: names of the binary labels Y (default ``["label"]``); an attribute name is annotated,
            another name is read off each sample's class (``label_map``) or prompt (``label_prompts``).
        label_map: class id -> 0/1 label, e.g. ``{0: 0, 1: 0, 2: 1}`` (a two-class model needs none).
        label_prompts: prompt -> 0/1 label; these prompts are scanned too.
        reference: trusted labelled data with columns for every S and Y: baseline gap and downstream probe.
        max_dp_gap: a demographic-parity gap whose interval lies above this is a finding (default 0.10).
        max_gap_increase: so is a gap exceeding the reference's or the model card's by more (default 0.05).
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
    from hubaudit.report.render import write_report

    options = scan_options(**arguments)
    result = run_scan(options, command=reproduce_command(options), resolved=resolved)
    if result.sampled.shard.is_main:
        report = result.to_dict()
        write_json_report(report, Path(out_dir) / "report.json")
        write_report(report, "html", Path(out_dir) / "report.html")
    result.sampled.shard.agree(result.first_failure)  # an audit that failed late: raised once its report is written
    return result


def scan_options(model: str, **arguments) -> ScanOptions:
    """The :class:`~hubaudit.audit.scan.ScanOptions` :func:`scan` runs for ``model`` and ``arguments`` (its
    keyword arguments; those left out take its defaults). Nothing is resolved or loaded."""
    from hubaudit.audit.fairness import FairnessOptions
    from hubaudit.audit.properties import PropertyOptions
    from hubaudit.audit.scan import ScanOptions
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
        ),
        fairness=FairnessOptions.from_arguments(
            given["sensitive"], labels=given["labels"], label_map=given["label_map"], label_prompts=given["label_prompts"],
            reference=str(given["reference"]) if given["reference"] is not None else None, confidence=given["confidence"],
            max_dp_gap=given["max_dp_gap"], max_gap_increase=given["max_gap_increase"], probe=given["probe"],
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
    from hubaudit.audit.scan import model_capabilities

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
