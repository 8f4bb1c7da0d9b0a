"""Sampling throughput, CPU noise and memory: plain diffusers vs. ``hubaudit.scan``, like with like.

Both sides run the same pipeline folder on one ``--device`` in one ``--dtype`` (defaults:
``pick_device(None)`` and ``pick_dtype(None, device)``, what ``hubaudit scan`` itself picks), with the
same steps, batch size, scheduler (the model's own), guidance and image size:

- plain: ``DiffusionPipeline.from_pretrained(folder, dtype=dtype).to(device)`` (``dtype`` is diffusers 0.42's
  name for ``torch_dtype``) called as
  ``pipeline(batch_size=B | prompt=[p] * B, num_inference_steps=S, generator=g, output_type="np")``
  n/B times, ``g`` one CPU generator for the run (diffusers' advice for reproducible noise);
- hubaudit: ``hubaudit.scan(folder, n=n, batch_size=B, steps=S, device=..., dtype=...)``, timed by
  its sampling phase (``timings["sample_seconds"]``: opening the sample store, per-sample generators,
  the same pipeline call, PNG encoding, Parquet writes).

A side that raises is reported as an error and fails that model's targets (DDPMPipeline at
bfloat16 does: diffusers' ``output_type="np"`` calls ``.numpy()`` on a bfloat16 tensor).

Whole pipelines are compared for every model (loading is not timed on either side):

- ``tiny``: the demo model shipped in the package (DDPMPipeline, 1x16x16);
- ``ddpm256``: a DDPMPipeline whose UNet2DModel has the configuration of google/ddpm-celebahq-256
  (3x256x256, 114M parameters), random weights, DDPMScheduler;
- ``sd15``: a StableDiffusionPipeline of Stable Diffusion 1.5's size, random weights: its UNet
  (860M parameters, 4x64x64 latents), its VAE, a CLIP ViT-L/14-sized text encoder (12 layers,
  768 wide) and PNDMScheduler; guidance 7.5, one prompt. Only the tokenizer is smaller: the
  offline byte-level one of ``tests/tiny_models.py`` (514 tokens; prompts still pad to 77).

No weight is downloaded: the two real-size pipelines are built and saved to a temporary folder.
On the CPU the real-size models run a few samples at 2 steps (sd15 at 256x256 pixels) so a run
finishes in minutes; on a GPU they run at realistic settings (see ``MODELS``).

Targets (printed PASS/FAIL; exit 1 on any miss):

- throughput: hubaudit samples/s over plain samples/s >= 0.95 for each model. Runs alternate
  (plain, hubaudit, plain, ...) after a warm-up, and the best of each side is kept;
- CPU noise: hubaudit draws each sample's noise on the CPU from its own generator
  (``hubaudit/sampling/noise.py``): the time to create a batch's generators and draw its noise
  (moved to the device) is at most 5% of one denoising step (the interval between successive UNet
  calls in the plain runs). That draw is made once per batch, and again at every step by a
  stochastic scheduler (DDPM), where the share is a per-step overhead;
- memory: peak RSS of a whole ``hubaudit.scan`` process of the tiny model at n=4096 over n=256
  (same device and dtype) <= 1.2: samples stream to the store, so memory must not grow with n.

``--json PATH`` writes every figure (device, dtype, versions; per model samples/s of each side,
ratio, step and noise seconds, noise share, and on CUDA each side's peak GPU memory, weights
included, from ``torch.cuda.max_memory_allocated``). ``benchmarks/gpu.sh`` runs it on a GPU.

Usage: ``python benchmarks/sampling.py [--models tiny,ddpm256,sd15] [--device cuda] [--dtype float16]
[--n N] [--batch-size B] [--steps S] [--repeats R] [--json out.json]``
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
DEMO_MODEL = ROOT / "hubaudit" / "demo_models" / "mnist-zeros30"
THROUGHPUT_TARGET, NOISE_SHARE_TARGET, RSS_TARGET = 0.95, 0.05, 1.2


@dataclass(frozen=True)
class Settings:
    """How one model is run, the same on both sides."""

    n: int
    batch_size: int
    steps: int
    repeats: int
    size: int | None = None
    """Image height and width in pixels; None: the pipeline's default."""


@dataclass(frozen=True)
class ModelSpec:
    """A model to benchmark: how to save its pipeline folder, how to call it, and its default settings."""

    name: str
    save: Callable[[Path, torch.dtype], Path]
    cpu: Settings
    gpu: Settings
    prompt: str | None = None
    guidance_scale: float | None = None

    def _shared(self, settings: Settings) -> dict:
        options = {"guidance_scale": self.guidance_scale, "height": settings.size, "width": settings.size}
        return {name: value for name, value in options.items() if value is not None}

    def plain_arguments(self, settings: Settings, steps: int) -> dict:
        """Arguments of one plain pipeline call (one batch)."""
        batch = {"prompt": [self.prompt] * settings.batch_size} if self.prompt else {"batch_size": settings.batch_size}
        return batch | {"num_inference_steps": steps} | self._shared(settings)

    def scan_arguments(self, settings: Settings) -> dict:
        """Arguments of ``hubaudit.scan`` for the same samples."""
        prompts = {"prompts": [self.prompt]} if self.prompt else {}
        return (
            prompts
            | {"n": settings.n, "batch_size": settings.batch_size, "steps": settings.steps}
            | self._shared(settings)
        )


# --- the models ---------------------------------------------------------------------------


def _save(pipeline, folder: Path, dtype: torch.dtype) -> Path:
    pipeline.to(dtype).save_pretrained(folder, safe_serialization=True)
    return folder


def save_ddpm256(folder: Path, dtype: torch.dtype) -> Path:
    """A DDPMPipeline with google/ddpm-celebahq-256's UNet2DModel shape, random weights."""
    from diffusers import DDPMPipeline, DDPMScheduler, UNet2DModel

    torch.manual_seed(0)
    unet = UNet2DModel(
        sample_size=256,
        in_channels=3,
        out_channels=3,
        block_out_channels=(128, 128, 256, 256, 512, 512),
        layers_per_block=2,
        down_block_types=("DownBlock2D",) * 4 + ("AttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "AttnUpBlock2D") + ("UpBlock2D",) * 4,
    )
    return _save(DDPMPipeline(unet=unet, scheduler=DDPMScheduler(num_train_timesteps=1000)), folder, dtype)


def save_sd15(folder: Path, dtype: torch.dtype) -> Path:
    """A StableDiffusionPipeline of SD 1.5's size (UNet, VAE, text encoder), random weights, offline tokenizer."""
    from diffusers import AutoencoderKL, PNDMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextModel

    sys.path.insert(0, str(ROOT / "tests"))
    from tiny_models import save_tiny_clip_tokenizer, tiny_clip_text_config

    torch.manual_seed(0)
    tokenizer = save_tiny_clip_tokenizer(folder / "tokenizer-source")
    text_config = tiny_clip_text_config(
        len(tokenizer)
    )  # its token ids; the width and depth of CLIP ViT-L/14's text tower:
    text_config.update(
        dict(
            hidden_size=768,
            intermediate_size=3072,
            num_hidden_layers=12,
            num_attention_heads=12,
            projection_dim=768,
            hidden_act="quick_gelu",
        )
    )
    unet = UNet2DConditionModel(
        sample_size=64,
        in_channels=4,
        out_channels=4,
        block_out_channels=(320, 640, 1280, 1280),
        layers_per_block=2,
        cross_attention_dim=768,
        attention_head_dim=8,
        down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
        up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
    )
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        latent_channels=4,
        block_out_channels=(128, 256, 512, 512),
        layers_per_block=2,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        sample_size=512,
    )
    scheduler = PNDMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        skip_prk_steps=True,
        steps_offset=1,
        set_alpha_to_one=False,
    )
    pipeline = StableDiffusionPipeline(
        vae=vae,
        text_encoder=CLIPTextModel(text_config),
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    return _save(pipeline, folder / "pipeline", dtype)


MODELS = {
    "tiny": ModelSpec(
        "tiny",
        lambda folder, dtype: DEMO_MODEL,
        cpu=Settings(n=256, batch_size=64, steps=20, repeats=3),
        gpu=Settings(n=2048, batch_size=256, steps=40, repeats=3),
    ),
    "ddpm256": ModelSpec(
        "ddpm256",
        save_ddpm256,
        cpu=Settings(n=2, batch_size=2, steps=2, repeats=2),
        gpu=Settings(n=64, batch_size=32, steps=50, repeats=2),
    ),
    "sd15": ModelSpec(
        "sd15",
        save_sd15,
        prompt="a photograph of a face",
        guidance_scale=7.5,
        cpu=Settings(n=1, batch_size=1, steps=2, repeats=2, size=256),
        gpu=Settings(n=16, batch_size=8, steps=25, repeats=2),
    ),
}


# --- the two sides ------------------------------------------------------------------------


@dataclass
class Side:
    """One run of one side."""

    samples_per_second: float
    scheduler: str
    peak_gpu_mib: float | None


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def _fresh_memory(device: torch.device) -> None:
    """Free the previous run's memory and restart the peak GPU memory count."""
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def _peak_gpu_mib(device: torch.device) -> float | None:
    return torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None


class StepClock:
    """Times the denoising steps of pipeline calls: the intervals between successive UNet calls.

    On CUDA the marks are events (no synchronisation added to the loop); a call's output is copied
    to the CPU, so all its events have completed when :meth:`end_call` reads them.
    """

    def __init__(self, unet: torch.nn.Module, device: torch.device):
        self.cuda = device.type == "cuda"
        self.marks: list = []
        self.step_seconds: list[float] = []
        self.sample_shape: tuple[int, ...] | None = None
        self._handle = unet.register_forward_pre_hook(self._mark, with_kwargs=True)

    def _mark(self, module, args, kwargs) -> None:
        self.sample_shape = tuple((args[0] if args else kwargs["sample"]).shape)
        if self.cuda:
            event = torch.cuda.Event(enable_timing=True)
            event.record()
            self.marks.append(event)
        else:
            self.marks.append(time.perf_counter())

    def end_call(self, *, keep: bool = True) -> None:
        pairs = zip(self.marks, self.marks[1:])
        if keep:
            self.step_seconds += [a.elapsed_time(b) / 1000 if self.cuda else b - a for a, b in pairs]
        self.marks = []

    def remove(self) -> None:
        self._handle.remove()


def plain_run(
    folder: Path, spec: ModelSpec, settings: Settings, device: torch.device, dtype: torch.dtype, *, warm_up: bool
) -> tuple[Side, StepClock]:
    """Samples/s of the plain pipeline called n/B times (``warm_up``: one untimed 2-step call first)."""
    from diffusers import DiffusionPipeline

    _fresh_memory(device)
    pipeline = DiffusionPipeline.from_pretrained(folder, dtype=dtype).to(device)
    pipeline.set_progress_bar_config(disable=True)
    clock = StepClock(pipeline.unet, device)
    generator = torch.Generator("cpu").manual_seed(0)
    if warm_up:
        pipeline(**spec.plain_arguments(settings, 2), generator=generator, output_type="np")
        clock.end_call(keep=False)
    arguments = spec.plain_arguments(settings, settings.steps)
    start = time.perf_counter()
    for _ in range(settings.n // settings.batch_size):
        pipeline(**arguments, generator=generator, output_type="np")
        clock.end_call()
    seconds = time.perf_counter() - start
    clock.remove()
    side = Side(settings.n / seconds, type(pipeline.scheduler).__name__, _peak_gpu_mib(device))
    del pipeline
    return side, clock


def hubaudit_run(folder: Path, spec: ModelSpec, settings: Settings, device: torch.device, dtype: str) -> Side:
    """Samples/s of ``hubaudit.scan``'s sampling phase."""
    import hubaudit

    _fresh_memory(device)
    with tempfile.TemporaryDirectory() as out:
        result = hubaudit.scan(
            str(folder), **spec.scan_arguments(settings), device=str(device), dtype=dtype, progress=False, out_dir=out
        )
    batch_sizes = {samples.final_batch_size for samples in result.sampled.samples}
    if batch_sizes != {settings.batch_size}:
        raise RuntimeError(f"hubaudit halved the batch to {min(batch_sizes)} (out of memory): not like with like")
    return Side(
        settings.n / result.sampled.timings["sample_seconds"],
        result.sampled.sampler.describe()["scheduler_class"],
        _peak_gpu_mib(device),
    )


def noise_seconds(shape: tuple[int, ...], device: torch.device, dtype: torch.dtype, *, repeats: int = 5) -> float:
    """Best time to create a batch's per-sample CPU generators and draw its noise onto ``device``, as hubaudit does."""
    from diffusers.utils.torch_utils import randn_tensor

    from hubaudit.sampling.noise import sample_generators

    times = []
    for _ in range(repeats + 1):  # the first is a warm-up
        start = time.perf_counter()
        randn_tensor(shape, generator=sample_generators(0, np.arange(shape[0])), device=device, dtype=dtype)
        synchronize(device)
        times.append(time.perf_counter() - start)
    return min(times[1:])


def benchmark_model(spec: ModelSpec, settings: Settings, device: torch.device, dtype: str, workdir: Path) -> dict:
    """Both sides of one model, alternating; its figures."""
    from hubaudit.sampling.config import DTYPES

    torch_dtype = DTYPES[dtype]
    folder = spec.save(workdir / spec.name, torch_dtype)
    plain, ours, steps = [], [], []
    for repeat in range(settings.repeats):
        side, clock = plain_run(folder, spec, settings, device, torch_dtype, warm_up=repeat == 0)
        plain.append(side)
        steps += clock.step_seconds
        noise_shape = (settings.batch_size, *clock.sample_shape[1:])  # the UNet's input, less the guidance copy
        ours.append(hubaudit_run(folder, spec, settings, device, dtype))
    schedulers = {side.scheduler for side in plain + ours}
    if len(schedulers) != 1:
        raise RuntimeError(f"the two sides ran different schedulers: {sorted(schedulers)}")
    step = statistics.median(steps)
    noise = noise_seconds(noise_shape, device, torch_dtype)
    figures = {
        "settings": asdict(settings),
        "scheduler": schedulers.pop(),
        "plain_samples_per_second": [side.samples_per_second for side in plain],
        "hubaudit_samples_per_second": [side.samples_per_second for side in ours],
        "throughput_ratio": max(side.samples_per_second for side in ours)
        / max(side.samples_per_second for side in plain),
        "step_seconds": step,
        "noise_seconds": noise,
        "noise_share": noise / step,
    }
    if device.type == "cuda":
        figures["peak_gpu_mib"] = {
            "plain": max(s.peak_gpu_mib for s in plain),
            "hubaudit": max(s.peak_gpu_mib for s in ours),
        }
    return figures


def scan_peak_rss_mib(*, n: int, batch_size: int, steps: int, device: torch.device, dtype: str) -> float:
    """Peak resident memory (MiB) of a separate process running ``hubaudit.scan`` of the tiny model for n samples.

    Read from ``VmHWM`` (Linux): ``ru_maxrss`` would carry over this process's own peak through the exec.
    """
    code = (
        "import re, resource, tempfile, hubaudit\n"
        "with tempfile.TemporaryDirectory() as out:\n"
        f"    hubaudit.scan({str(DEMO_MODEL)!r}, n={n}, batch_size={batch_size}, steps={steps}, device={str(device)!r},"
        f" dtype={dtype!r}, progress=False, out_dir=out)\n"
        "try:\n"
        "    print(re.search(r'VmHWM:\\s*(\\d+) kB', open('/proc/self/status').read()).group(1))\n"
        "except OSError:  # not Linux\n"
        "    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=os.environ)
    if result.returncode:
        raise RuntimeError((result.stderr.strip().splitlines() or ["(no output)"])[-1])
    return int(result.stdout.split()[-1]) / 1024


# --- output -------------------------------------------------------------------------------


def _error(err: BaseException) -> str:
    return f"{type(err).__name__}: {(str(err).strip().splitlines() or [''])[0]}"


def _print_model(name: str, figures: dict) -> None:
    if "error" in figures:
        print(f"model {name}: error: {figures['error']}")
        return
    s = figures["settings"]
    size = f", {s['size']}x{s['size']} px" if s["size"] else ""
    print(
        f"model {name}  ({figures['scheduler']}; {s['n']} samples, batch {s['batch_size']}, {s['steps']} steps{size},"
        f" best of {s['repeats']})"
    )
    peak = figures.get("peak_gpu_mib", {})
    for label, key, side in (
        ("plain diffusers pipeline loop", "plain_samples_per_second", "plain"),
        ("hubaudit scan", "hubaudit_samples_per_second", "hubaudit"),
    ):
        runs = figures[key]
        memory = f"   peak GPU {peak[side]:.0f} MiB" if side in peak else ""
        print(f"  {label:<30} {max(runs):9.3f} samples/s   runs: {', '.join(f'{r:.3f}' for r in runs)}{memory}")
    print(f"  ratio hubaudit / plain         {figures['throughput_ratio']:9.3f}   (target >= {THROUGHPUT_TARGET})")
    print(
        f"  one denoising step             {figures['step_seconds'] * 1000:9.2f} ms; a batch's per-sample CPU noise"
        f" {figures['noise_seconds'] * 1000:.2f} ms = {figures['noise_share']:.2%} of a step"
        f" (target <= {NOISE_SHARE_TARGET:.0%})"
    )


def evaluate(models: dict[str, dict], memory: dict) -> tuple[dict[str, bool], list[str]]:
    """Target line -> met, and the findings to print."""
    targets, findings = {}, []
    for name, figures in models.items():
        if "error" in figures:
            targets[f"{name}: runs on both sides ({figures['error']})"] = False
            continue
        ratio, share = figures["throughput_ratio"], figures["noise_share"]
        targets[f"{name}: throughput ratio hubaudit / plain {ratio:.3f} >= {THROUGHPUT_TARGET}"] = (
            ratio >= THROUGHPUT_TARGET
        )
        targets[f"{name}: CPU noise {share:.2%} of a denoising step <= {NOISE_SHARE_TARGET:.0%}"] = (
            share <= NOISE_SHARE_TARGET
        )
        if share > NOISE_SHARE_TARGET:
            when = "again at every step" if figures["scheduler"] == "DDPMScheduler" else "once per batch"
            findings.append(
                f"finding: {name}: creating a batch's per-sample generators and drawing its noise on the CPU"
                f" (hubaudit/sampling/noise.py) takes {share:.1%} of a denoising step"
                f" ({figures['noise_seconds'] * 1000:.2f} ms vs {figures['step_seconds'] * 1000:.2f} ms; drawn {when})"
            )
    if "error" in memory:
        targets[f"memory: scans of the tiny model run ({memory['error']})"] = False
    elif memory:
        ratio = memory["rss_ratio"]
        small, large = memory["n"]
        targets[f"memory: peak RSS n={large} / n={small} {ratio:.3f} <= {RSS_TARGET}"] = ratio <= RSS_TARGET
    return targets, findings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--models", default=",".join(MODELS), help=f"comma-separated, from {', '.join(MODELS)} (default: all)"
    )
    parser.add_argument("--device", help="cuda, mps or cpu (default: what hubaudit picks)")
    parser.add_argument(
        "--dtype", choices=["float32", "float16", "bfloat16"], help="default: float16 on GPUs, float32 on CPU"
    )
    parser.add_argument(
        "--n", type=int, help="samples per throughput run, a multiple of the batch size (default: per model)"
    )
    parser.add_argument("--batch-size", type=int, help="default: per model")
    parser.add_argument("--steps", type=int, help="denoising steps, at least 2 (default: per model)")
    parser.add_argument(
        "--repeats", type=int, help="alternating runs of each side; the best is kept (default: per model)"
    )
    parser.add_argument(
        "--rss-n",
        type=int,
        nargs=2,
        default=(256, 4096),
        metavar=("SMALL", "LARGE"),
        help="samples of the two memory runs (tiny model; 0 0 skips them)",
    )
    parser.add_argument(
        "--rss-steps", type=int, default=2, help="steps in the memory runs (memory does not depend on it)"
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)

    from importlib.metadata import version

    import diffusers

    from hubaudit.sampling import pick_device, pick_dtype

    names = [name.strip() for name in args.models.split(",") if name.strip()]
    if unknown := sorted(set(names) - set(MODELS)):
        parser.error(f"unknown model {', '.join(unknown)}; choose from {', '.join(MODELS)}")
    device = pick_device(args.device)
    dtype = pick_dtype(args.dtype, device)
    overrides = {
        key: value
        for key, value in {
            "n": args.n,
            "batch_size": args.batch_size,
            "steps": args.steps,
            "repeats": args.repeats,
        }.items()
        if value is not None
    }

    def settings_of(name: str) -> Settings:
        return replace(MODELS[name].cpu if device.type == "cpu" else MODELS[name].gpu, **overrides)

    settings = {name: settings_of(name) for name in names}
    for name, s in settings.items():
        if s.n < s.batch_size or s.n % s.batch_size or s.steps < 2 or s.repeats < 1:
            parser.error(
                f"{name}: n ({s.n}) must be a multiple of the batch size ({s.batch_size}), steps ({s.steps}) at least 2,"
                f" repeats ({s.repeats}) at least 1"
            )
    diffusers.utils.logging.disable_progress_bar()
    diffusers.utils.logging.set_verbosity_error()

    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else None
    header = {
        "device": str(device),
        "gpu": gpu,
        "dtype": dtype,
        "torch": torch.__version__,
        "diffusers": diffusers.__version__,
        "torch_threads": torch.get_num_threads(),
    }
    print("  ".join(f"{key}: {value}" for key, value in header.items() if value is not None), flush=True)

    # Imports, the store's writers and the device's context, once, before anything is timed.
    hubaudit_run(DEMO_MODEL, MODELS["tiny"], Settings(n=1, batch_size=1, steps=2, repeats=1), device, "float32")
    models: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as workdir:
        for name in names:
            try:
                models[name] = benchmark_model(MODELS[name], settings[name], device, dtype, Path(workdir))
            except Exception as err:  # noqa: BLE001 - reported as a failed target
                models[name] = {"settings": asdict(settings[name]), "error": _error(err)}
            _print_model(name, models[name])
            _fresh_memory(device)

    memory: dict = {}
    small, large = args.rss_n
    if large:
        batch_size = settings_of("tiny").batch_size
        memory = {"n": [small, large], "steps": args.rss_steps, "batch_size": batch_size}
        try:
            rss = {
                n: scan_peak_rss_mib(n=n, batch_size=batch_size, steps=args.rss_steps, device=device, dtype=dtype)
                for n in (small, large)
            }
            memory |= {
                "peak_rss_mib": {str(n): value for n, value in rss.items()},
                "rss_ratio": rss[large] / rss[small],
            }
            print(f"peak RSS of a whole scan of the tiny model (batch {batch_size}, {args.rss_steps} steps)")
            for n in (small, large):
                print(f"  n={n:<6}                       {rss[n]:9.1f} MiB")
            print(f"  ratio n={large} / n={small}          {memory['rss_ratio']:9.3f}   (target <= {RSS_TARGET})")
        except Exception as err:  # noqa: BLE001 - reported as a failed target
            memory["error"] = _error(err)
            print(f"peak RSS: error: {memory['error']}")

    targets, findings = evaluate(models, memory)
    for target, met in targets.items():
        print(f"{'PASS' if met else 'FAIL'}  {target}")
    for finding in findings:
        print(finding)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        figures = {
            **header,
            "hubaudit": version("hubaudit"),
            "models": models,
            "memory": memory,
            "targets": targets,
            "passed": all(targets.values()),
        }
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0 if all(targets.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
