"""Every option of a scan, declared once (:class:`ScanSettings`): ``hubaudit scan``'s flags and groups,
:func:`hubaudit.api.scan`'s signature and Args, the config file's keys, the report's ``options`` table, the command
that reproduces a scan and the Space's form fields are all derived from these fields."""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from hubaudit.declarations.fields import ANY_KIND, API_ONLY, CLI_ONLY, option

SAMPLING, OUTPUT, LOADING, PROPERTIES, FAIRNESS = (
    "sampling",
    "output",
    "loading",
    "property inference",
    "fairness signature",
)
MODEL = "model"
MEMORIZATION = "memorization"


def pickle_mode(text: str) -> str:
    """``--allow-pickle=unsafe``: the only value the flag takes."""
    if text != "unsafe":
        raise argparse.ArgumentTypeError(f"the only value is 'unsafe' (--allow-pickle=unsafe), got {text!r}")
    return text


def _allow_pickle_words(value: object) -> list[str]:
    return ["--allow-pickle=unsafe"] if value == "unsafe" else ["--allow-pickle"]


def _label_map_words(value: object) -> list[str]:
    text = value if isinstance(value, str) else ",".join(f"{key}={label}" for key, label in dict(value).items())
    return ["--label-map", text]


def _label_prompt_words(value: object) -> list[str]:
    items = [f"{label}={prompt}" for prompt, label in value.items()] if isinstance(value, Mapping) else list(value)
    return [word for item in items for word in ("--label-prompt", item)]


@dataclass(frozen=True, kw_only=True)
class ScanSettings:
    """What a scan is asked: one field per option of ``hubaudit scan`` and :func:`hubaudit.api.scan`."""

    model: str = option(
        help="org/name, org/name@revision (branch, tag or commit), or a local folder written by save_pretrained",
        group=MODEL,
        positional=True,
        api_positional=True,
        metavar="MODEL",
        label="Model id",
        example="org/name",
        starter=(ANY_KIND,),
        argparse={"nargs": "?"},
    )
    # --- sampling ---
    n: int = option(
        64,
        help="samples per condition (class or prompt)",
        group=SAMPLING,
        flags=("-n", "--num-samples"),
        label="Samples per condition",
        starter=(ANY_KIND,),
    )
    batch_size: int = option(
        16, help="samples per forward pass; halved automatically on out-of-memory", group=SAMPLING, starter=(ANY_KIND,)
    )
    steps: int | None = option(
        None, help="denoising steps (default: the pipeline's)", group=SAMPLING, label="Denoising steps", example=50
    )
    scheduler: Literal["ddim", "dpmsolver++"] | None = option(
        None, help="swap the model's scheduler for this one (default: keep it)", group=SAMPLING, example="ddim"
    )
    guidance_scale: float | None = option(
        None,
        help="classifier-free guidance (DiT, text-to-image, class-conditional UNets trained with --cond-dropout; "
        "default: the pipeline's, which the report records)",
        group=SAMPLING,
        label="Guidance scale",
        example=7.5,
        starter=("text-to-image",),
    )
    height: int | None = option(
        None,
        help="image height in pixels, where the pipeline's call takes one (default: the pipeline's)",
        group=SAMPLING,
        example=512,
    )
    width: int | None = option(
        None, help="image width in pixels, likewise (default: the pipeline's)", group=SAMPLING, example=512
    )
    dtype: Literal["float32", "float16", "bfloat16"] | None = option(
        None,
        help="precision of the pipeline (default: float16 on a GPU, float32 on a CPU)",
        group=SAMPLING,
        example="float16",
    )
    seed: int = option(
        0, help="sample i's noise depends only on (seed, condition, i)", group=SAMPLING, starter=(ANY_KIND,)
    )
    classes: Sequence[int] | None = option(
        None,
        help="class id to scan (repeatable; default: every class of a model with at most 20)",
        group=SAMPLING,
        flags=("--class",),
        metavar="ID",
        label="Classes",
        example=[0, 1],
        starter=("class-conditional",),
    )
    prompts: Sequence[str] | None = option(
        None,
        help="prompt to scan (repeatable; a text-to-image model needs at least one)",
        group=SAMPLING,
        flags=("--prompt",),
        metavar="TEXT",
        label="Prompts",
        example=["a photo of a doctor", "a photo of a nurse"],
        starter=("text-to-image",),
    )
    device: str | None = option(
        None, help="cuda, mps or cpu (default: the best available)", group=SAMPLING, example="cuda"
    )
    compile: bool = option(
        False, help="torch.compile the UNet or transformer (a slower first batch, faster after)", group=SAMPLING
    )
    check_drift: int | None = option(
        None,
        help="draw K samples per condition again with the model's own scheduler at its default steps and report "
        "how far the fast sampler (--scheduler, --steps) moves each estimated share",
        group=SAMPLING,
        metavar="K",
        example=64,
    )
    # --- output ---
    out_dir: Path | str = option(
        "hubaudit-out",
        help="folder for report.json and report.html (and the sample store unless --store)",
        group=OUTPUT,
        flags=("--out",),
        metavar="DIR",
        starter=(ANY_KIND,),
    )
    store_dir: Path | str | None = option(
        None,
        help="sample store folder (default: OUT/samples); a rerun resumes from it",
        group=OUTPUT,
        flags=("--store",),
        metavar="DIR",
        example="audit/samples",
    )
    quiet: bool = option(
        False, help="no progress bars or library log lines (the API's progress=False)", group=OUTPUT, scope=CLI_ONLY
    )
    fail_on: Literal["privacy", "fairness", "memorization", "any"] | None = option(
        None,
        help="exit with code 1 when the report has a finding of this kind (any: of any kind), 3 when it has "
        "none but a check of that kind is inconclusive or not tested, 0 only when every check of that kind settled on "
        "no finding (the API records it in the report; hubaudit.api.exit_code applies it)",
        group=OUTPUT,
        example="any",
    )
    progress: bool = option(
        True,
        help="show progress bars (not recorded: it changes no result)",
        group=OUTPUT,
        scope=API_ONLY,
        recorded=False,
    )
    # --- loading ---
    token: str | None = option(
        None,
        help="Hub token (default: HF_TOKEN or the stored login); never written to the report",
        group=LOADING,
        scope=API_ONLY,
        recorded=False,
    )
    allow_pickle: bool | Literal["unsafe"] = option(
        False,
        help="accept pickle weights (they can run code) once picklescan finds no dangerous import in them; "
        "'unsafe' (--allow-pickle=unsafe) accepts flagged ones too",
        group=LOADING,
        metavar="unsafe",
        example=True,
        argparse={"nargs": "?", "const": True, "type": pickle_mode},
        to_words=_allow_pickle_words,
    )
    trust_remote_code: bool = option(False, help="run custom pipeline code from the repository", group=LOADING)
    allow_local: bool = option(
        True,
        help="accept local folders as models and annotators (the Space turns this off)",
        group=LOADING,
        scope=API_ONLY,
    )
    keep_safety_checker: bool = option(
        False,
        help="keep a safety checker the model ships (by default it is left out: it blacks out the images it "
        "flags, which biases every share; the report says which)",
        group=LOADING,
    )
    base: str | None = option(
        None,
        help="base pipeline (org/name[@revision]) of a LoRA, embedding or single-file "
        "repository (default: the base_model its model card names)",
        group=LOADING,
        metavar="MODEL",
        example="org/base-model",
    )
    lora_scale: float = option(1.0, help="weight of a LoRA adapter (1: as trained; 0: the base model)", group=LOADING)
    # --- property inference ---
    attributes: Sequence[str] | None = option(
        None,
        help="estimate the generated share of attribute NAME labelled by SPEC: clip[:PRESET|PROMPT|...], "
        "clip@MODEL:..., hub:MODEL[:LABEL=VALUE,...], aux (trained on --aux-data) or aux:FOLDER (repeatable)",
        group=PROPERTIES,
        flags=("--attribute",),
        metavar="NAME=SPEC",
        label="Attributes",
        example=["gender=clip"],
        starter=(ANY_KIND,),
    )
    aux_data: Path | str | None = option(
        None,
        help="labelled images (column NAME) to train aux annotators on and calibrate the others",
        group=PROPERTIES,
        metavar="DATA",
        example="builtin:colored-mnist",
    )
    training_data: Path | str | None = option(
        None,
        help="your own training data (column NAME): a self-audit of what an outsider learns, and privacy findings",
        group=PROPERTIES,
        metavar="DATA",
        example="data.parquet",
    )
    target_width: float | None = option(
        None,
        help="sample sequentially until the confidence sequence's half-width is at most this (or n)",
        group=PROPERTIES,
        example=0.05,
    )
    gold: Sequence[Path | str] | None = option(
        None,
        help="gold labels from hubaudit label (repeatable, one file per store and attribute): prediction-powered "
        "estimates, valid whatever the annotator's error on generated images (for a --sensitive attribute, also the "
        "fairness correction of that class or prompt)",
        group=PROPERTIES,
        metavar="FILE",
        example=["audit/samples/STORE.gold-gender.parquet"],
    )
    confidence: float = option(0.95, help="nominal coverage of every interval", group=PROPERTIES)
    max_property_error: float = option(
        0.05,
        help="the self-audit's margin: a privacy finding when every value's interval lies within this of its "
        "training share, no finding when one lies wholly outside, else inconclusive",
        group=PROPERTIES,
    )
    # --- fairness signature ---
    sensitive: Sequence[str] | None = option(
        None,
        help="attribute NAME (an --attribute) is a sensitive attribute S: measure its link to the label (repeatable)",
        group=FAIRNESS,
        metavar="NAME",
        example=["gender"],
    )
    labels: Sequence[str] = option(
        ("label",),
        help="the binary label Y: an --attribute NAME is annotated, any other name is read off the class "
        "(--label-map) or prompt (--label-prompt) (repeatable)",
        group=FAIRNESS,
        flags=("--label",),
        metavar="NAME",
    )
    label_map: Mapping[int, int] | str | None = option(
        None,
        help="class ids to labels 0/1, e.g. 0=0,1=0,2=1 (a two-class model needs none)",
        group=FAIRNESS,
        metavar="CLASS=LABEL,...",
        example={0: 0, 1: 0, 2: 1},
        to_words=_label_map_words,
    )
    label_prompts: Mapping[str, int] | Sequence[str] | None = option(
        None,
        help="scan PROMPT and give its samples label 0 or 1, e.g. '1=a photo of a doctor' (repeatable; text-to-image)",
        group=FAIRNESS,
        flags=("--label-prompt",),
        metavar="LABEL=PROMPT",
        example={"a photo of a doctor": 1, "a photo of a nurse": 0},
        to_words=_label_prompt_words,
    )
    reference: Path | str | None = option(
        None,
        help="your trusted labelled data with columns S and Y: baseline gap and downstream probe",
        group=FAIRNESS,
        metavar="DATA",
        example="builtin:colored-shirts",
    )
    max_dp_gap: float = option(
        0.10, help="a demographic-parity gap whose interval lies above this is a finding", group=FAIRNESS
    )
    max_gap_increase: float = option(
        0.05, help="so is a gap above the reference's or the model card's by more than this", group=FAIRNESS
    )
    min_group_share: float | None = option(
        None,
        help="so is a sensitive group below this share of the samples of every label value (default: 0.25/K "
        "for K groups, 0.125 for two)",
        group=FAIRNESS,
        metavar="SHARE",
        example=0.125,
    )
    probe: bool = option(
        True,
        help="with --reference, train and compare the downstream probes; --no-probe skips them",
        group=FAIRNESS,
        flags=("--no-probe",),
    )
    # --- memorization ---
    memorization: bool = option(
        False,
        help="check whether the samples copy training images (needs --training-data): Carlini et al.'s relative "
        "distance, normalised tiled L2 in pixels, or distances in a --memorization-embedding",
        group=MEMORIZATION,
    )
    holdout_data: Path | str | None = option(
        None,
        help="images the model did not see, from the same distribution: they calibrate the copy threshold "
        "(--copy-fpr) and give the baseline distances for --memorization",
        group=MEMORIZATION,
        metavar="DATA",
        example="holdout.parquet",
    )
    memorization_embedding: str | None = option(
        None,
        help="compare in the embedding of this transformers image model (Hub id or folder; e.g. a DINO or "
        "copy-detection model) instead of pixels",
        group=MEMORIZATION,
        metavar="MODEL",
        example="facebook/dinov2-small",
    )
    replication_threshold: float = option(
        1 / 3,
        help="without --holdout-data: a sample copies a training image when its distance to the nearest is below "
        "this times half the mean distance to its 50 nearest (Carlini et al.'s 1/3; uncalibrated)",
        group=MEMORIZATION,
    )
    copy_fpr: float = option(
        0.01,
        help="with --holdout-data: the false-copy rate the copy threshold is calibrated to (a sample copies a "
        "training image when nearer one than all but this share of held-out images come; needs at least "
        "1/rate - 1 held-out images)",
        group=MEMORIZATION,
    )
    max_replication: float = option(
        0.0,
        help="the replication rate you accept: a memorization finding when the rate's interval lies above it, "
        "no finding only when it lies below",
        group=MEMORIZATION,
    )
