"""The options of the other verbs, each declared once: ``scan-many``'s own (:class:`FleetSettings`; every scan option
applies too), ``label`` (:class:`LabelSettings`, :func:`hubaudit.api.gold_labels`), ``poison``
(:class:`PoisonSettings`, :func:`hubaudit.api.poison`), ``train`` (:class:`TrainSettings`, :func:`hubaudit.api.train`)
and ``publish`` (:class:`PublishSettings`, :func:`hubaudit.api.publish`).
Their flags and their API keywords are derived from these fields."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from hubaudit.declarations.fields import API_ONLY, CLI_ONLY, option

MODELS = "models (any combination; each model is scanned once)"
RAY = "Ray"


def comma_list(text: str) -> tuple[str, ...]:
    """``"red,green"`` -> ``("red", "green")``."""
    return tuple(text.split(","))


def channel_widths(text: str) -> tuple[int, ...]:
    """``"16,32,32"`` -> ``(16, 32, 32)``."""
    try:
        return tuple(int(width) for width in text.split(","))
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers like 32,64,64, got {text!r}") from err


def _comma_words(flag: str):
    return lambda value: [flag, ",".join(map(str, value))]


@dataclass(frozen=True, kw_only=True)
class FleetSettings:
    """``hubaudit scan-many``'s own options: where its models come from, Ray, and its exit code."""

    models_file: Path | str | None = option(
        None, help="one org/name[@revision] per line; # starts a comment", group=MODELS, metavar="FILE"
    )
    author: str | None = option(None, help="the Hub models of this user or organisation", group=MODELS, metavar="ORG")
    search: str | None = option(None, help="the Hub models whose id contains TEXT", group=MODELS, metavar="TEXT")
    filters: Sequence[str] | None = option(
        None,
        help="the Hub models with this tag (repeatable: all of them)",
        group=MODELS,
        flags=("--filter",),
        metavar="TAG",
    )
    limit: int | None = option(
        None, help="at most this many models from the Hub listing (default: all it lists)", group=MODELS
    )
    address: str | None = option(
        None,
        help="run on this Ray cluster: HEAD:6379 (from one of its nodes) or ray://HEAD:10001 (default: a local Ray)",
        group=RAY,
        exclusive="where",
    )
    num_cpus: int | None = option(
        None, help="CPUs of the local Ray (default: every core)", group=RAY, exclusive="where"
    )
    cpus_per_scan: float = option(1.0, help="CPUs each scan reserves", group=RAY)
    gpus_per_scan: float | None = option(
        None,
        help="GPUs each scan reserves; 0.5 puts two on one GPU (default: 1 if this "
        "machine has CUDA, else 0: CPU scans)",
        group=RAY,
    )
    fail_on_error: bool = option(
        False,
        help="exit with code 2 when a model's scan failed (and no --fail-on finding)",
        group="output",
        scope=CLI_ONLY,
    )


@dataclass(frozen=True, kw_only=True)
class LabelSettings:
    """``hubaudit label`` and :func:`hubaudit.api.gold_labels`: a random, recorded subset of a scan's samples to label."""

    target: Path | str = option(
        help="a scan's report.json (or its folder), whose report gives every condition's store, "
        "the attribute's values and the samples the scan used; or a sample store folder (then "
        "give values)",
        group="",
        positional=True,
        api_positional=True,
        metavar="TARGET",
    )
    attribute: str = option(help="the attribute to label (an --attribute of the scan)", group="", metavar="NAME")
    n: int = option(
        200,
        help="labels to plan per store: a random, recorded subset of its samples (more later extends the plan)",
        group="",
        flags=("-n",),
    )
    values: Sequence[str] | None = option(
        None,
        help="the attribute's value names in code order (default: the report's)",
        group="",
        metavar="V0,V1,...",
        argparse={"action": "store", "type": comma_list},
        to_words=_comma_words("--values"),
    )
    labeller: str = option("person", help="who labels, recorded with each label", group="", scope=CLI_ONLY)
    preview: Path | str | None = option(
        None, help="also write the sample being labelled to this PNG", group="", scope=CLI_ONLY, metavar="FILE"
    )


@dataclass(frozen=True, kw_only=True)
class PoisonSettings:
    """``hubaudit poison`` and :func:`hubaudit.api.poison`: the sharer's attack on a labelled data set."""

    data: Path | str = option(
        help="labelled images: builtin:colored-mnist, a Parquet file or folder, an image folder, a Hub data set",
        group="",
        positional=True,
        api_positional=True,
        metavar="DATA",
    )
    sensitive: str = option(help="0/1 column of the sensitive attribute S", group="", metavar="S")
    label: str = option(help="0/1 column of the label Y", group="", metavar="Y")
    alpha: float = option(help="poisoning rate in [0, 1]: share of records added greedily or relabelled", group="")
    out_path: Path | str = option(
        help="Parquet file for the subset; the attack's record goes beside it as *.poisoning.json",
        group="",
        flags=("--out",),
        metavar="FILE",
    )
    method: Literal["greedy", "flip"] = option(
        "greedy", help="greedy I(S;Y) maximisation keeping I(X;Y) within delta, or label flipping", group=""
    )
    n: int | None = option(
        None, help="records in the training subset (default: half the data)", group="", flags=("--n",)
    )
    delta: float = option(0.05, help="greedy: tolerance on I(X;Y) in nats", group="")
    seed: int = option(0, help="seeds the random base, the draws and the embeddings", group="")


@dataclass(frozen=True, kw_only=True)
class PublishSettings:
    """``hubaudit publish`` and :func:`hubaudit.api.publish`: put a scan's audit where the model's readers see it."""

    report_or_path: Path | str = option(
        help="a scan's report.json (or its folder); from Python also a ScanReport or its dict",
        group="",
        positional=True,
        api_positional=True,
        metavar="REPORT",
    )
    repo: str = option(help="the model's Hub repository, org/name", group="", metavar="ORG/NAME")
    mode: Literal["pr", "discussion"] = option(
        "pr",
        help="pr: a pull request adding the card's hubaudit section and the report files; discussion: the "
        "Markdown summary as a discussion",
        group="",
        flags=("--as",),
    )
    dry_run: bool = option(
        False, help="print the card diff and the files that would be written; write nothing", group=""
    )
    allow_stale: bool = option(
        False, help="publish even when the repository's revision is no longer the commit the report audited", group=""
    )
    revision: str | None = option(
        None,
        help="the branch the pull request targets and the audited sha is checked against (default: main)",
        group="",
    )
    token: str | None = option(
        None, help="Hub token with write access (default: HF_TOKEN or the login's)", group="", scope=API_ONLY
    )
    endpoint: str | None = option(
        None, help="the Hub's address (default: HF_ENDPOINT, else huggingface.co)", group="", scope=API_ONLY
    )


_DDPM, _NCSNV2, _SDE = "ddpm", "ncsnv2", "score-sde"
_ALL = (_DDPM, _NCSNV2, _SDE)


@dataclass(frozen=True, kw_only=True)
class TrainSettings:
    """``hubaudit train`` and :func:`hubaudit.api.train`. An option with ``families`` is a setting of those families'
    trainers (:data:`hubaudit.train.TRAINERS`), passed under the same name when given (else the trainer's default,
    the one declared here); giving it to another family is an error. The others are ``train``'s own."""

    data: Path | str = option(
        help="labelled images, as for poison; a file written by poison has its *.poisoning.json "
        "recorded in the model card",
        group="",
        positional=True,
        api_positional=True,
        metavar="DATA",
    )
    out_dir: Path | str = option(
        help="pipeline folder; checkpoints go to OUT/checkpoints",
        group="",
        flags=("--out",),
        api_positional=True,
        metavar="OUT",
    )
    family: Literal["ddpm", "ncsnv2", "score-sde"] = option(
        "ddpm",
        help="ddpm (a DDPMPipeline), ncsnv2 (an NCSNv2Pipeline: denoising score matching, annealed Langevin "
        "sampling) or score-sde (a ScoreSdeVePipeline: variance-exploding SDE, predictor-corrector sampling)",
        group="",
    )
    class_column: str | None = option(
        None, help="train a class-conditional model on this integer column", group="", families=(_DDPM,)
    )
    cond_dropout: float = option(
        0.0,
        help="with --class-column: replace each example's class by a null class with probability P in [0, 1), so "
        "that scan --guidance-scale can guide it (0: no null class)",
        group="",
        metavar="P",
        families=(_DDPM,),
    )
    steps: int = option(4000, help="total optimizer steps", group="", families=_ALL)
    batch_size: int = option(64, help="images per step", group="", families=_ALL)
    image_size: int = option(16, help="side in pixels", group="", families=_ALL)
    learning_rate: float = option(
        1e-3, help="learning rate, AdamW (ddpm, score-sde) or Adam (ncsnv2)", group="", families=_ALL
    )
    ema_decay: float = option(0.999, help="maximum EMA decay; the EMA weights are saved", group="", families=_ALL)
    block_out_channels: Sequence[int] | None = option(
        None,
        help="UNet widths per level (default: 32,64,64 for ddpm, 16,32,32 for score-sde)",
        group="",
        families=(_DDPM, _SDE),
        metavar="W1,W2,...",
        argparse={"action": "store", "type": channel_widths},
        to_words=_comma_words("--block-out-channels"),
    )
    mixed_precision: Literal["no", "fp16", "bf16"] = option("no", help="GPU mixed precision", group="", families=_ALL)
    seed: int = option(0, help="seeds weights, batches, noise and timesteps", group="", families=_ALL)
    checkpoint_every: int = option(500, help="steps between checkpoints", group="", families=_ALL)
    ngf: int | None = option(
        None, help="ncsnv2: the network's base width (default: 16)", group="", families=(_NCSNV2,)
    )
    noise_levels: int | None = option(
        None, help="ncsnv2: noise levels of the geometric ladder (default: 50)", group="", families=(_NCSNV2,)
    )
    resume: bool = option(
        True,
        help="resume from OUT's newest checkpoint; --no-resume deletes the checkpoints and starts over",
        group="",
        flags=("--no-resume",),
    )
    push_to_hub: str | None = option(
        None, help="upload the trained folder (without checkpoints) to this Hub repo", group="", metavar="REPO"
    )
    quiet: bool = option(False, help="no progress bar (the API's progress=False)", group="", scope=CLI_ONLY)
    progress: bool = option(True, help="show a progress bar", group="", scope=API_ONLY)


@dataclass(frozen=True, kw_only=True)
class BotSettings:
    """``hubaudit bot`` and :func:`hubaudit.api.bot`: the webhook bot's command line; what it watches and does is
    its config file's (:class:`BotConfig`)."""

    config: Path | str = option(
        help="TOML file: a [bot] table (what to watch, how to publish) and a [scan] table (the scan's options, "
        "as a scan --config file holds them)",
        group="",
        positional=True,
        api_positional=True,
        metavar="CONFIG.toml",
    )
    host: str = option("127.0.0.1", help="the address to listen on (0.0.0.0 in a Space or container)", group="")
    port: int = option(7860, help="the port to listen on (a Space's is 7860)", group="")
    block: bool = option(
        True,
        help="serve until interrupted; False returns the running bot (stop it with close())",
        group="",
        scope=API_ONLY,
    )


@dataclass(frozen=True, kw_only=True)
class BotConfig:
    """The ``[bot]`` table of ``hubaudit bot``'s config file (docs/user-guide-bot.md)."""

    repos: Sequence[str] = option((), help="model repositories to watch, org/name", group="bot", example=["org/model"])
    authors: Sequence[str] = option(
        (), help="users or organisations whose model repositories to watch", group="bot", example=["org"]
    )
    publish: Literal["pr", "discussion", "none"] = option(
        "pr",
        help="what a finished scan becomes: a pull request to the card (as hubaudit publish), a discussion, or "
        "nothing (the report stays in state_dir)",
        group="bot",
    )
    secret_env: str = option(
        "WEBHOOK_SECRET",
        help="the environment variable holding the webhook secret (the bot refuses to start without it)",
        group="bot",
    )
    state_dir: Path | str = option(
        "hubaudit-bot",
        help="folder of the bot's state: seen.json (every repo and sha already taken) and scans/ (one report each)",
        group="bot",
    )
    publish_endpoint: str | None = option(
        None, help="the Hub to publish to (default: HF_ENDPOINT, else huggingface.co)", group="bot"
    )
    ray: bool = option(
        False, help="run each scan as a Ray task, as scan-many does (needs hubaudit[fleet])", group="bot"
    )
    ray_address: str | None = option(
        None, help="with ray: the cluster, HEAD:6379 or ray://HEAD:10001 (default: a local Ray)", group="bot"
    )


@dataclass(frozen=True, kw_only=True)
class MembershipSettings:
    """``hubaudit membership`` and :func:`hubaudit.api.membership`: white-box membership inference on candidate images,
    thresholds calibrated on images known not to be members."""

    model: str = option(
        help="org/name[@revision] or a local pipeline folder",
        group="",
        positional=True,
        api_positional=True,
        metavar="MODEL",
    )
    candidates: Path | str = option(
        help="the images to test: builtin:NAME, a Parquet file or folder, an image folder, a Hub data set",
        group="",
        metavar="DATA",
    )
    non_members: Path | str | None = option(
        None,
        help="images the model did not see (required: they calibrate the thresholds; at least 1/FPR - 1 of them)",
        group="",
        metavar="DATA",
    )
    attacks: Sequence[str] = option(
        ("pia", "loss", "secmi"),
        help="pia (proximal initialization, Kong et al. 2024), loss (the denoising loss) or secmi (Duan et al. 2023) "
        "(repeatable)",
        group="",
        flags=("--attack",),
        metavar="NAME",
    )
    fpr: float = option(0.01, help="false-positive rate the thresholds are calibrated to on the non-members", group="")
    loss_timesteps: Sequence[int] = option(
        (50, 100, 200),
        help="timesteps (of the scheduler's training steps) the loss attack averages over: small t, where a "
        "memorized image is denoised best",
        group="",
        metavar="T1,T2,...",
        argparse={"action": "store", "type": channel_widths},
        to_words=_comma_words("--loss-timesteps"),
    )
    pia_timestep: int = option(
        200, help="the timestep the proximal initialization attack queries (Kong et al.'s for DDPMs)", group=""
    )
    class_column: str | None = option(
        None, help="a class-conditional model: the column with each image's class", group="", metavar="NAME"
    )
    caption_column: str | None = option(
        None, help="a text-to-image model: the column with each image's caption", group="", metavar="NAME"
    )
    image_column: str = option("image", help="the column holding the images", group="", metavar="NAME")
    limit: int | None = option(None, help="use only the first N images of each data set", group="", metavar="N")
    seed: int = option(0, help="image i's noise depends only on (seed, i, its set)", group="")
    batch_size: int = option(32, help="images per forward pass", group="")
    confidence: float = option(0.95, help="nominal coverage of the share of members among the flagged", group="")
    device: str | None = option(None, help="cuda, mps or cpu (default: the best available)", group="")
    out_path: Path | str | None = option(
        None,
        help="write the result JSON here (default: print the summary only)",
        group="",
        flags=("--out",),
        metavar="FILE",
    )
    token: str | None = option(
        None, help="Hub token (default: HF_TOKEN or the stored login)", group="", scope=API_ONLY
    )
    allow_local: bool = option(True, help="accept local folders as models and data", group="", scope=API_ONLY)
    quiet: bool = option(False, help="no progress or library log lines", group="", scope=CLI_ONLY)
