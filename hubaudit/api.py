"""The Python API: the same scan as ``hubaudit scan``, for scripts and release checklists.

Example:
    >>> import hubaudit
    >>> result = hubaudit.scan("org/model", n=256, steps=50, scheduler="ddim")  # doctest: +SKIP
    >>> result.to_dict()["model"]["resolved_sha"]  # doctest: +SKIP
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path

from hubaudit.audit.scan import ScanOptions, ScanResult, run_scan
from hubaudit.report.json_report import write_json_report
from hubaudit.sampling import SamplerConfig, pick_device, pick_dtype


def scan(
    model: str,
    *,
    n: int = 64,
    batch_size: int = 16,
    steps: int | None = None,
    scheduler: str | None = None,
    guidance_scale: float | None = None,
    dtype: str | None = None,
    seed: int = 0,
    classes: Sequence[int] | None = None,
    prompts: Sequence[str] | None = None,
    device: str | None = None,
    out_dir: Path | str = "hubaudit-out",
    store_dir: Path | str | None = None,
    token: str | None = None,
    allow_pickle: bool = False,
    trust_remote_code: bool = False,
    allow_local: bool = True,
    progress: bool = True,
) -> ScanResult:
    """Scan ``model`` and write ``out_dir/report.json``.

    Args:
        model: ``org/name``, ``org/name@revision`` (branch, tag or commit) or a local folder.
        n: samples per condition (class or prompt).
        batch_size: samples per forward pass; halved automatically on out-of-memory.
        steps: denoising steps (None: the pipeline's default).
        scheduler: ``"ddim"`` or ``"dpmsolver++"`` to swap the model's scheduler.
        guidance_scale: classifier-free guidance (DiT, text-to-image).
        dtype: ``"float32"``, ``"float16"`` or ``"bfloat16"``; None: float16 on GPUs, float32 on CPU.
        seed: sample i's noise depends only on (seed, i).
        classes: class ids to scan (class-conditional models; default: every class).
        prompts: prompts to scan (text-to-image models; required there).
        device: ``cuda``, ``mps`` or ``cpu``; None picks the best available.
        out_dir: where the report and (by default) the sample store go.
        store_dir: sample store root (default ``out_dir/samples``); rerunning resumes from it.
        token: Hub token (default: ``HF_TOKEN`` or the stored login).
        allow_pickle: accept pickle weights, which can run code when loaded.
        trust_remote_code: run custom pipeline code from the repository.
        allow_local: accept local folders as models.
        progress: show progress bars.

    Returns:
        The scan result; ``result.to_dict()`` is what ``report.json`` holds.

    Raises:
        hubaudit.errors.HubAuditError: any failure the user can act on (a subclass per failure).
    """
    resolved_device = pick_device(device)
    options = ScanOptions(
        model=model,
        n=n,
        batch_size=batch_size,
        sampler=SamplerConfig(
            num_inference_steps=steps,
            scheduler=scheduler,
            guidance_scale=guidance_scale,
            dtype=pick_dtype(dtype, resolved_device),
            seed=seed,
        ),
        conditions=tuple(classes or ()) + tuple(prompts or ()) or None,
        device=str(resolved_device),
        out_dir=Path(out_dir),
        store_dir=Path(store_dir) if store_dir is not None else None,
        token=token,
        allow_pickle=allow_pickle,
        trust_remote_code=trust_remote_code,
        allow_local=allow_local,
        progress=progress,
    )
    result = run_scan(options, command=reproduce_command(options))
    if result.sampled.shard.is_main:
        write_json_report(result.to_dict(), Path(out_dir) / "report.json")
    return result


def reproduce_command(options: ScanOptions) -> str:
    """The ``hubaudit scan`` command line that reproduces ``options``."""
    config = options.sampler
    words = ["hubaudit", "scan", options.model, "-n", str(options.n), "--seed", str(config.seed), "--dtype", config.dtype]
    optional = {
        "--steps": config.num_inference_steps,
        "--scheduler": config.scheduler,
        "--guidance-scale": config.guidance_scale,
    }
    for flag, value in optional.items():
        if value is not None:
            words += [flag, str(value)]
    for condition in options.conditions or ():
        words += ["--prompt" if isinstance(condition, str) else "--class", str(condition)]
    for flag, enabled in {"--allow-pickle": options.allow_pickle, "--trust-remote-code": options.trust_remote_code}.items():
        if enabled:
            words.append(flag)
    return shlex.join(words)
