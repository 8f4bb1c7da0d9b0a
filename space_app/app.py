"""hubaudit as a Gradio app (a Hugging Face Space): audit a diffusion model on the Hub from a browser.

It runs the same scan as ``hubaudit scan`` (:func:`hubaudit.api.scan`), with every field checked,
one scan at a time (the queue runs one GPU job), and errors shown as one-line messages. Checking a
model (:func:`hubaudit.api.inspect_model`, no weights loaded) shows its kind and the fields it
takes: prompts for a text-to-image model, classes for a class-conditional one, a guidance scale.

Limits, so that visitors cannot turn the Space against its host:

- Hub ids only: a model, revision or annotator id that is a path on this machine is refused
  (:class:`~hubaudit.errors.LocalPathRefused`), custom attribute names are plain names, and the
  scan runs with ``allow_local=False`` (no local model, annotator or data set is ever loaded).
- :data:`MAX_MODEL_BYTES`: the model and the annotator model repositories are sized on the Hub
  before a scan; a larger one is refused (:class:`~hubaudit.errors.ModelTooLarge`).
- :data:`MAX_SAMPLES`, :data:`MAX_STEPS` (and the prompt, class and guidance caps) bound the work.
- :data:`REPORT_MAX_AGE_SECONDS`: older report folders are deleted at startup and before each scan
  (:func:`prune_old_scans`); Gradio's copies of outputs expire as fast.
- :data:`MAX_CACHE_BYTES`: after each scan the Hub cache is trimmed back under the cap, least
  recently used revisions first (:func:`trim_hub_cache`).

:func:`build_demo` takes each of the three as a keyword argument (tests use small values).

Run locally: ``python space_app/app.py [--host 127.0.0.1] [--port 7860] [--work-dir DIR]``;
on Spaces, ``app.py`` is started as is (``GRADIO_SERVER_NAME``/``GRADIO_SERVER_PORT`` apply).
"""

from __future__ import annotations

import argparse
import io
import logging
import re
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
from huggingface_hub import HfApi, RepoFile, scan_cache_dir
from huggingface_hub import constants as hub_constants
from PIL import Image

from hubaudit.api import (
    CLIP_PRESETS,
    DEFAULT_CLIP_MODEL,
    attribute_chart_png,
    attribute_rows,
    fairness_heatmap_png,
    fairness_pairs,
    findings_lines,
    hub_errors,
    inspect_model,
    model_title,
    pair_name,
    parse_attribute_spec,
    parse_model_reference,
    read_condition_images,
    render_markdown,
    scan,
)
from hubaudit.errors import (
    HubAuditError,
    InvalidAttributeSpec,
    InvalidModelReference,
    InvalidSamplerConfig,
    LocalPathRefused,
    ModelTooLarge,
)

MAX_SAMPLES = 256
"""Most samples one web request may ask for, over all its prompts or classes."""
MAX_PROMPTS = 4
"""Most prompts one request may scan (text-to-image models)."""
MAX_PROMPT_CHARS = 300
"""Longest prompt accepted."""
MAX_CLASSES = 8
"""Most classes one request may scan (class-conditional models)."""
DEFAULT_CLASSES = 4
"""Classes the class picker starts with (the first ones)."""
MAX_GUIDANCE = 20.0
"""Largest classifier-free guidance scale accepted."""
MAX_STEPS = 200
"""Most denoising steps one web request may ask for."""
MAX_MODEL_BYTES = 10 * 2**30
"""Largest model or annotator repository a scan may use, in bytes: all its files at the revision, summed."""
REPORT_MAX_AGE_SECONDS = 3600
"""Seconds after which a scan's report folder (``scan-*`` under the work folder) is deleted."""
MAX_CACHE_BYTES = 50 * 2**30
"""Size of the Hub cache, in bytes, that each scan trims it back under (least recently used revisions first)."""
GALLERY_PER_CONDITION = 16
"""Samples shown per condition."""
ESTIMATE_HEADERS = ["attribute", "condition", "value", "count", "share", "low", "high", "method"]
_REVISION = re.compile(r"[A-Za-z0-9][\w.\-/]{0,99}")
_ATTRIBUTE_NAME = re.compile(r"[A-Za-z0-9_][\w.-]*")
_LOG = logging.getLogger("hubaudit.space")


@dataclass(frozen=True)
class ScanRequest:
    """A checked web request: ``model`` is ``org/name[@revision]``, ``attributes`` ``NAME=SPEC`` strings.

    ``n`` is samples per condition: per prompt (``prompts``), per class (``classes``) or in all.
    """

    model: str
    attributes: tuple[str, ...]
    n: int
    steps: int
    prompts: tuple[str, ...] = ()
    classes: tuple[int, ...] = ()
    guidance_scale: float | None = None


def model_reference(model_id: str, revision: str) -> str:
    """``org/name[@revision]`` from the two fields; raises :class:`InvalidModelReference` or :class:`LocalPathRefused`."""
    model_id, revision = (model_id or "").strip(), (revision or "").strip()
    if revision:
        if "@" in model_id:
            raise InvalidModelReference(f"{model_id}@{revision}")
        model_id = f"{model_id}@{revision}"
    return hub_id(model_id, "model")


def hub_id(text: str, field: str) -> str:
    """``text`` if it is ``org/name[@revision]`` and no path on this machine, else :class:`InvalidModelReference`
    or :class:`LocalPathRefused` (naming ``field``)."""
    try:
        revision = parse_model_reference(text, allow_local=False).revision
    except LocalPathRefused:
        raise LocalPathRefused(text, field) from None
    if revision is not None and (not _REVISION.fullmatch(revision) or ".." in revision):
        raise InvalidModelReference(text)
    return text


def scan_request(
    model_id: str, revision: str, presets: Sequence[str], custom_attributes: str, annotator_id: str, n: float, steps: float,
    *, info: Mapping | None = None, prompts: str = "", classes: Sequence[int | str] = (), guidance: float | None = None,
) -> ScanRequest:
    """Check every field of the form; raises a :class:`HubAuditError` naming the first bad one.

    ``custom_attributes`` holds one attribute per line, ``NAME: PROMPT | PROMPT [| ...]`` (or
    ``NAME: VALUE:PROMPT | VALUE:PROMPT``); presets and custom attributes use the CLIP model
    ``annotator_id``. ``info`` is :func:`hubaudit.api.inspect_model`'s answer for the model: of
    ``prompts`` (one per line), ``classes`` and ``guidance``, only the fields its kind takes are read.
    """
    model = model_reference(model_id, revision)
    try:
        annotator_id = hub_id((annotator_id or "").strip(), "annotator model")
    except InvalidModelReference as err:
        raise InvalidAttributeSpec(f"annotator model: {err}") from None
    unknown = sorted(set(presets or ()) - set(CLIP_PRESETS))
    if unknown:
        raise InvalidAttributeSpec(f"no CLIP preset {', '.join(unknown)} (presets: {', '.join(CLIP_PRESETS)})")
    attributes = [f"{preset}=clip@{annotator_id}" for preset in presets or ()]
    for line in filter(None, (line.strip() for line in (custom_attributes or "").splitlines())):
        name, colon, attribute_prompts = line.partition(":")
        if not colon or "|" not in attribute_prompts:
            raise InvalidAttributeSpec(f"custom attribute {line!r}: expected NAME: PROMPT | PROMPT (one attribute per line)")
        if not _ATTRIBUTE_NAME.fullmatch(name.strip()):
            raise InvalidAttributeSpec(
                f"custom attribute name {name.strip()!r}: use letters, digits, _ . - (starting with a letter, digit or _)"
            )
        attributes.append(f"{name.strip()}=clip@{annotator_id}:{attribute_prompts.strip()}")
    names = [parse_attribute_spec(text, allow_local=False).name for text in attributes]
    if not names:
        raise InvalidAttributeSpec("choose at least one attribute (a preset or a custom CLIP attribute)")
    if len(set(names)) != len(names):
        raise InvalidAttributeSpec(f"attribute names must differ: {', '.join(names)}")
    info = info or {}
    kind = info.get("kind")
    chosen_prompts = _prompts(model, prompts) if kind == "text-to-image" else ()
    chosen_classes = _classes(model, classes, int(info.get("num_classes") or 0)) if kind == "class-conditional" else ()
    per_condition = _whole_number("samples", n, MAX_SAMPLES)
    conditions = max(1, len(chosen_prompts) + len(chosen_classes))
    if per_condition * conditions > MAX_SAMPLES:
        raise InvalidSamplerConfig(
            f"{per_condition} samples x {conditions} {'prompts' if chosen_prompts else 'classes'} = "
            f"{per_condition * conditions}: at most {MAX_SAMPLES} samples per scan"
        )
    scale = _guidance(guidance) if info.get("default_guidance") is not None else None
    return ScanRequest(model, tuple(attributes), per_condition, _whole_number("steps", steps, MAX_STEPS),
                       chosen_prompts, chosen_classes, scale)


def _prompts(model: str, text: str) -> tuple[str, ...]:
    prompts = tuple(dict.fromkeys(filter(None, (line.strip() for line in (text or "").splitlines()))))
    if not prompts:
        raise InvalidSamplerConfig(f"{model} is a text-to-image model: enter at least one prompt (one per line)")
    if len(prompts) > MAX_PROMPTS:
        raise InvalidSamplerConfig(f"{len(prompts)} prompts: at most {MAX_PROMPTS} per scan")
    too_long = next((prompt for prompt in prompts if len(prompt) > MAX_PROMPT_CHARS), None)
    if too_long is not None:
        raise InvalidSamplerConfig(f"prompt {too_long[:40]!r}... has {len(too_long)} characters: at most {MAX_PROMPT_CHARS}")
    return prompts


def _classes(model: str, classes: Sequence[int | str], num_classes: int) -> tuple[int, ...]:
    try:  # the picker's values are ids; "ID: name" strings are read too
        ids = tuple(dict.fromkeys(int(str(value).partition(":")[0]) for value in classes or ()))
    except ValueError:
        raise InvalidSamplerConfig(f"classes must be class ids, got {list(classes)}") from None
    if not ids:
        raise InvalidSamplerConfig(f"{model} is a class-conditional model: choose at least one class")
    if len(ids) > MAX_CLASSES:
        raise InvalidSamplerConfig(f"{len(ids)} classes: at most {MAX_CLASSES} per scan")
    outside = [class_id for class_id in ids if not 0 <= class_id < num_classes]
    if outside:
        raise InvalidSamplerConfig(f"class {outside[0]} is not a class of {model} (0 to {num_classes - 1})")
    return ids


def _guidance(value: float | None) -> float | None:
    if value is None:
        return None
    if not 0 <= float(value) <= MAX_GUIDANCE:  # NaN fails too
        raise InvalidSamplerConfig(f"guidance scale must be from 0 to {MAX_GUIDANCE:g}, got {value}")
    return float(value)


def _whole_number(name: str, value: float | None, maximum: int) -> int:
    if value is None or float(value) != int(value) or not 1 <= int(value) <= maximum:
        raise InvalidSamplerConfig(f"{name} must be a whole number from 1 to {maximum}, got {value}")
    return int(value)


def repo_size_bytes(reference: str) -> int:
    """Bytes of all the files of the Hub model ``org/name[@revision]`` at that revision (default: its main branch)."""
    parsed = parse_model_reference(reference, allow_local=False)
    with hub_errors(str(parsed.repo_id), parsed.revision, token=None):
        entries = HfApi().list_repo_tree(str(parsed.repo_id), revision=parsed.revision, recursive=True)
        return sum(entry.size for entry in entries if isinstance(entry, RepoFile))


def check_model_sizes(references: Sequence[str], max_bytes: int) -> None:
    """Raise :class:`ModelTooLarge` for the first of ``references`` (``org/name[@revision]``) over ``max_bytes`` bytes."""
    for reference in references:
        size = repo_size_bytes(reference)
        if size > max_bytes:
            raise ModelTooLarge(reference, size, max_bytes)


def prune_old_scans(work_root: Path | str, max_age_seconds: float, now: float | None = None) -> list[Path]:
    """Delete the ``scan-*`` folders under ``work_root`` last modified over ``max_age_seconds`` seconds before
    ``now`` (seconds since the epoch; default: now); return the folders deleted."""
    cutoff = (time.time() if now is None else now) - max_age_seconds
    old = [path for path in sorted(Path(work_root).glob("scan-*")) if path.is_dir() and path.stat().st_mtime < cutoff]
    for path in old:
        shutil.rmtree(path, ignore_errors=True)
    return old


def trim_hub_cache(cache_dir: Path | str, max_bytes: int) -> list[str]:
    """Delete the least recently accessed revisions of the Hub cache ``cache_dir`` until it holds at most
    ``max_bytes`` bytes; return them as ``repo_id@commit``, oldest first."""
    if not Path(cache_dir).is_dir():
        return []
    cache = scan_cache_dir(cache_dir)
    revisions = sorted(
        ((repo, revision) for repo in cache.repos for revision in repo.revisions),
        key=lambda item: max((file.blob_last_accessed for file in item[1].files), default=item[1].last_modified),
    )
    deleted, strategy = [], None
    for repo, revision in revisions:  # blobs shared by revisions are freed with the last one: the strategy counts them
        if cache.size_on_disk - (strategy.expected_freed_size if strategy else 0) <= max_bytes:
            break
        deleted.append((repo, revision))
        strategy = cache.delete_revisions(*(revision.commit_hash for _, revision in deleted))
    if strategy is not None:
        strategy.execute()
    return [f"{repo.repo_id}@{revision.commit_hash}" for repo, revision in deleted]


def _trim_cache_quietly(cache_dir: Path, max_bytes: int) -> None:
    """:func:`trim_hub_cache`, logging a failure instead of hiding the scan's own result or error."""
    try:
        trim_hub_cache(cache_dir, max_bytes)
    except Exception:
        _LOG.exception("trimming the Hub cache %s failed", cache_dir)


@dataclass(frozen=True)
class ScanView:
    """What the page shows after a scan."""

    verdict: str
    estimates: list[list]
    charts: list[tuple[Image.Image, str]]
    samples: list[tuple[Image.Image, str]]
    files: list[str]
    model_card: str


def run_request(request: ScanRequest, work_root: Path) -> ScanView:
    """Scan as the request says in a fresh folder under ``work_root``; the samples are deleted once rendered or failed."""
    out_dir = Path(tempfile.mkdtemp(prefix="scan-", dir=work_root))
    try:
        return _scan_view(request, out_dir)
    finally:
        shutil.rmtree(out_dir / "samples", ignore_errors=True)  # the HTML report inlines what it shows


def _scan_view(request: ScanRequest, out_dir: Path) -> ScanView:
    result = scan(request.model, n=request.n, steps=request.steps, attributes=list(request.attributes),
                  prompts=list(request.prompts) or None, classes=list(request.classes) or None,
                  guidance_scale=request.guidance_scale, out_dir=out_dir, allow_local=False, progress=True)
    report = result.to_dict()
    return ScanView(
        verdict=_verdict_markdown(report),
        estimates=[
            [row.attribute, row.condition, row.value, row.count,
             *(round(float(row.estimate[key]), 4) for key in ("value", "low", "high")), row.method]
            for attribute in (report.get("properties") or {}).get("attributes", []) for row in attribute_rows(attribute)
        ],
        charts=_charts(report),
        samples=[
            (Image.fromarray(image.squeeze(-1) if image.shape[-1] == 1 else image), f"{found.condition} #{index}")
            for found in read_condition_images(report, per_condition=GALLERY_PER_CONDITION)
            if found.images is not None for index, image in enumerate(found.images)
        ],
        files=[str(out_dir / "report.json"), str(out_dir / "report.html")],
        model_card=render_markdown(report),
    )


def _verdict_markdown(report: dict) -> str:
    lines = [f"### {model_title(report)}", "", f"{report.get('n_total')} samples.", "", *findings_lines(report)]
    statement = (report.get("properties") or {}).get("statement")
    return "\n".join(lines + ([f"_{statement}_"] if statement else []))


def _charts(report: dict) -> list[tuple[Image.Image, str]]:
    properties = report.get("properties") or {}
    charts = [(attribute_chart_png(attribute, confidence=properties.get("confidence")), attribute.get("name", ""))
              for attribute in properties.get("attributes", [])]
    charts += [(fairness_heatmap_png(pair), f"fairness: {pair_name(pair)}") for pair in fairness_pairs(report.get("fairness") or {})]
    return [(Image.open(io.BytesIO(png)), caption) for png, caption in charts if png]


def describe_model(info: Mapping) -> str:
    """One Markdown line for :func:`hubaudit.api.inspect_model`'s answer: the kind and what the form asks for it."""
    kind = info.get("kind")
    asks = {
        "text-to-image": f"enter up to {MAX_PROMPTS} prompts below, one per line.",
        "class-conditional": f"{info.get('num_classes')} classes: pick up to {MAX_CLASSES} below.",
        "unconditional": "it takes no prompt or class.",
    }.get(kind, "its pipeline is defined by repository code.")
    defaults = [f"{info['default_steps']} steps" if info.get("default_steps") else "",
                f"guidance {info['default_guidance']:g}" if info.get("default_guidance") is not None else ""]
    line = f"**{kind or 'unknown kind'}** (`{info.get('pipeline_class')}` at `{str(info.get('resolved_sha'))[:12]}`): {asks}"
    return line + (f" Defaults: {', '.join(filter(None, defaults))}." if any(defaults) else "")


def class_choices(info: Mapping) -> list[tuple[str, int]]:
    """The class picker's ``("ID: name", ID)`` choices (names where the model records them)."""
    names = {int(key): str(value) for key, value in (info.get("class_names") or {}).items()}
    ids = sorted(names) or range(int(info.get("num_classes") or 0))
    return [(f"{class_id}: {names[class_id]}" if class_id in names else str(class_id), class_id) for class_id in ids]


def check_model(model_id: str, revision: str) -> tuple:
    """The check step: the model's description, then updates to the prompts, class and guidance fields."""
    hidden = gr.update(visible=False)
    if not (model_id or "").strip():
        return "", hidden, hidden, hidden
    try:
        info = inspect_model(model_reference(model_id, revision), allow_local=False)
    except Exception as err:
        return f"**Cannot scan this model:** {_error_line(err, 'the check')}", hidden, hidden, hidden
    choices = class_choices(info) if info.get("kind") == "class-conditional" else []
    return (
        describe_model(info),
        gr.update(visible=info.get("kind") == "text-to-image"),
        gr.update(visible=bool(choices), choices=choices, value=[value for _, value in choices[:DEFAULT_CLASSES]]),
        gr.update(visible=info.get("default_guidance") is not None, value=info.get("default_guidance")),
    )


def _error_line(err: Exception, doing: str) -> str:
    """The one line a failure shows; call inside ``except`` (other exceptions are bugs: logged here)."""
    if isinstance(err, HubAuditError):
        return str(err)
    _LOG.exception("%s failed", doing)
    return f"internal error ({type(err).__name__}); {doing} did not finish"


def _cleared() -> tuple:
    """Blank outputs while a scan waits or runs, so that no earlier result shows beside a new error."""
    return "Scanning (scans run one at a time)...", None, None, None, None, ""


def build_demo(
    *,
    work_root: Path | str | None = None,
    cache_dir: Path | str | None = None,
    max_model_bytes: int = MAX_MODEL_BYTES,
    report_max_age_seconds: int = REPORT_MAX_AGE_SECONDS,
    max_cache_bytes: int = MAX_CACHE_BYTES,
) -> gr.Blocks:
    """The app; scans write under ``work_root`` (default: a fresh temporary folder) and download into the Hub
    cache ``cache_dir`` (default: huggingface_hub's ``HF_HUB_CACHE``); the limits are in bytes and seconds."""
    work_root = Path(work_root) if work_root is not None else Path(tempfile.mkdtemp(prefix="hubaudit-space-"))
    work_root.mkdir(parents=True, exist_ok=True)
    cache_dir = Path(cache_dir if cache_dir is not None else hub_constants.HF_HUB_CACHE)
    prune_old_scans(work_root, report_max_age_seconds)

    def audit(model_id, revision, presets, custom_attributes, annotator_id, n, steps, prompts, classes, guidance,
              progress=gr.Progress(track_tqdm=True)):
        try:
            prune_old_scans(work_root, report_max_age_seconds)
            # the model is inspected again: the fields it takes are those of the model scanned, checked or not
            info = inspect_model(model_reference(model_id, revision), allow_local=False)
            request = scan_request(model_id, revision, presets, custom_attributes, annotator_id, n, steps,
                                   info=info, prompts=prompts, classes=classes, guidance=guidance)
            base = info.get("base")  # a LoRA's base pipeline is downloaded too
            bases = [f"{base['reference'].partition('@')[0]}@{base['resolved_sha']}"] if base else []
            check_model_sizes([request.model, *bases, annotator_id.strip()], max_model_bytes)
            progress(0, desc=f"Loading {request.model}")
            view = run_request(request, work_root)
        except Exception as err:
            raise gr.Error(_error_line(err, "the scan"), duration=None, print_exception=False) from None
        finally:
            _trim_cache_quietly(cache_dir, max_cache_bytes)
        return view.verdict, view.estimates, view.charts, view.samples, view.files, view.model_card

    with gr.Blocks(title="hubaudit", delete_cache=(report_max_age_seconds, report_max_age_seconds)) as demo:
        gr.Markdown(
            "# hubaudit: audit a shared diffusion model\n"
            "Samples a diffusion model from the Hugging Face Hub, labels the samples with a CLIP model and "
            "estimates the share of each attribute value among the **generated** samples, with confidence intervals."
        )
        with gr.Row():
            with gr.Column(scale=1):
                model_id = gr.Textbox(label="Model id", placeholder="org/name", elem_id="model-id")
                revision = gr.Textbox(label="Revision (optional)", placeholder="branch, tag or commit sha", elem_id="revision")
                check = gr.Button("Check model", size="sm", elem_id="check")
                model_info = gr.Markdown(elem_id="model-info")
                prompts = gr.Textbox(
                    label=f"Prompts (one per line, at most {MAX_PROMPTS})", lines=3, visible=False, elem_id="prompts",
                    max_length=MAX_PROMPTS * (MAX_PROMPT_CHARS + 1), placeholder="a photo of a doctor",
                )
                classes = gr.Dropdown(label=f"Classes (at most {MAX_CLASSES})", multiselect=True, max_choices=MAX_CLASSES,
                                      choices=[], value=[], visible=False, elem_id="classes")
                guidance = gr.Number(label="Guidance scale", minimum=0, maximum=MAX_GUIDANCE, visible=False, elem_id="guidance")
                presets = gr.CheckboxGroup(list(CLIP_PRESETS), value=["gender"], label="Attributes (CLIP presets)", elem_id="presets")
                custom_attributes = gr.Textbox(
                    label="Custom CLIP attributes (one per line)", lines=2, elem_id="custom-attributes",
                    placeholder="smile: a photo of a smiling person | a photo of a person with a neutral face",
                )
                annotator_id = gr.Textbox(label="Annotator model id (CLIP or SigLIP)", value=DEFAULT_CLIP_MODEL, elem_id="annotator-id")
                n = gr.Slider(1, MAX_SAMPLES, value=64, step=1, elem_id="samples-count",
                              label=f"Samples per prompt or class (at most {MAX_SAMPLES} in all)")
                steps = gr.Slider(1, MAX_STEPS, value=50, step=1, label="Denoising steps", elem_id="steps")
                run = gr.Button("Run audit", variant="primary", elem_id="run")
            with gr.Column(scale=2):
                verdict = gr.Markdown(elem_id="verdict")
                estimates = gr.Dataframe(headers=ESTIMATE_HEADERS, label="Estimates", interactive=False, elem_id="estimates")
                charts = gr.Gallery(label="Charts", columns=2, format="png", object_fit="contain", height="auto", elem_id="charts")
                samples = gr.Gallery(label="Samples", columns=8, format="png", height="auto", elem_id="samples")
                files = gr.File(label="Reports (JSON, HTML)", file_count="multiple", elem_id="reports")
                model_card = gr.Code(label="Model card section (Markdown)", language="markdown", elem_id="model-card")
        gr.on([check.click, model_id.submit, model_id.blur, revision.submit, revision.blur], check_model,
              [model_id, revision], [model_info, prompts, classes, guidance], concurrency_limit=4, concurrency_id="check")
        outputs = [verdict, estimates, charts, samples, files, model_card]
        run.click(_cleared, None, outputs, queue=False).then(
            audit,
            [model_id, revision, presets, custom_attributes, annotator_id, n, steps, prompts, classes, guidance],
            outputs,
            concurrency_limit=1,
            concurrency_id="scan",
        )
    demo.queue(default_concurrency_limit=1, max_size=32)
    return demo


def main(argv: Sequence[str] | None = None) -> None:
    """Serve the app (host and port default to ``GRADIO_SERVER_NAME``/``GRADIO_SERVER_PORT``, then Gradio's)."""
    parser = argparse.ArgumentParser(description="Serve the hubaudit Gradio app.")
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1; Spaces set 0.0.0.0)")
    parser.add_argument("--port", type=int, help="port (default 7860)")
    parser.add_argument("--work-dir", type=Path, help="where scans write (default: a temporary folder)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    theme = gr.themes.Default(font=["system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])  # no web fonts
    allowed = [str(args.work_dir.resolve())] if args.work_dir else None
    build_demo(work_root=args.work_dir).launch(server_name=args.host, server_port=args.port, allowed_paths=allowed, theme=theme)


if __name__ == "__main__":
    main()
