"""Training checkpoints: ``OUT/checkpoints/step-NNNNNNNN/`` folders of safetensors and JSON only.

Nothing here unpickles: a checkpoint folder someone else wrote cannot run code. Each folder holds

- ``model.safetensors``: the UNet's state dict;
- ``ema.safetensors``: the EMA shadow weights, one tensor per UNet parameter name;
- ``optimizer.safetensors``: AdamW's per-parameter state (``exp_avg``, ``exp_avg_sq``, ``step``),
  keyed ``"{param_index}.{name}"``;
- ``training_state.json``: the step, the run settings a resumed run must share, the EMA's scalar
  state, the optimizer's param groups (without their ``params`` lists) and the fp16 gradient
  scaler's state (``null`` without one).

No RNG states are saved: batches, noise and timesteps come from generators seeded by
``(seed, step)``. A folder is renamed into place only once complete, so a run killed while saving
leaves the previous checkpoint as the latest. Resuming refuses a folder holding any other file
(an accelerate checkpoint's ``*.pkl``, ``*.bin``, ``*.pt``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
from accelerate import Accelerator
from diffusers import UNet2DModel
from diffusers.training_utils import EMAModel
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from hubaudit.errors import TrainingError, first_line

CHECKPOINTS_DIR = "checkpoints"
STATE_FILE = "training_state.json"
MODEL_FILE = "model.safetensors"
EMA_FILE = "ema.safetensors"
OPTIMIZER_FILE = "optimizer.safetensors"
LOADABLE_SUFFIXES = (".safetensors", ".json")
"""The only file kinds a checkpoint folder may hold (neither can run code when read)."""
KEEP_CHECKPOINTS = 2
"""How many of the newest checkpoints stay on disk."""


def latest_checkpoint(out_dir: Path) -> Path | None:
    """The newest complete checkpoint folder under ``out_dir/checkpoints``, or ``None``."""
    complete = [folder for folder in _checkpoint_folders(out_dir) if (folder / STATE_FILE).exists()]
    return complete[-1] if complete else None


def save_checkpoint(
    accelerator: Accelerator,
    out_dir: Path,
    *,
    step: int,
    run_settings: dict,
    unet: UNet2DModel,
    optimizer: torch.optim.Optimizer,
    ema: EMAModel,
) -> Path:
    """Save the training state after ``step`` optimizer steps (main process only); keep the newest few.

    ``unet`` is the unwrapped model (``accelerator.unwrap_model``); ``optimizer`` its (prepared) AdamW.
    """
    folder = out_dir / CHECKPOINTS_DIR / f"step-{step:08d}"
    if accelerator.is_main_process:
        partial = folder.with_name(folder.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        optimizer_state = optimizer.state_dict()
        parameter_names = [name for name, _ in unet.named_parameters()]
        tensor_files = {
            MODEL_FILE: unet.state_dict(),
            EMA_FILE: dict(zip(parameter_names, ema.shadow_params, strict=True)),
            OPTIMIZER_FILE: {
                f"{index}.{name}": value
                for index, state in optimizer_state["state"].items()
                for name, value in state.items()
            },
        }
        for file_name, tensors in tensor_files.items():
            save_file({key: _cpu_copy(tensor) for key, tensor in tensors.items()}, partial / file_name)
        training_state = {
            "step": step,
            "run_settings": run_settings,
            "ema": _without(ema.state_dict(), "shadow_params"),
            "optimizer_param_groups": [_without(group, "params") for group in optimizer_state["param_groups"]],
            "grad_scaler": accelerator.scaler.state_dict() if accelerator.scaler is not None else None,
        }
        (partial / STATE_FILE).write_text(json.dumps(training_state, indent=1))
        shutil.rmtree(folder, ignore_errors=True)
        partial.rename(folder)
        for stale in _checkpoint_folders(out_dir)[:-KEEP_CHECKPOINTS]:
            shutil.rmtree(stale)
    accelerator.wait_for_everyone()
    return folder


def load_checkpoint(
    accelerator: Accelerator,
    folder: Path,
    *,
    run_settings: dict,
    unet: UNet2DModel,
    optimizer: torch.optim.Optimizer,
    ema: EMAModel,
) -> int:
    """Restore ``unet``, ``optimizer``, ``ema`` and the gradient scaler from ``folder``; return its step.

    Every process loads. Raises :class:`TrainingError` when the folder holds a file that is not
    safetensors or JSON, was made with other run settings (model size, data, batch size, ...) or
    cannot be read.
    """
    unloadable = sorted(
        path.name for path in folder.iterdir() if not path.is_file() or path.suffix not in LOADABLE_SUFFIXES
    )
    if unloadable:
        raise TrainingError(
            f"checkpoint {folder} holds pickle files ({', '.join(unloadable)}), which hubaudit never loads: "
            "delete it or start over with --no-resume"
        )
    try:
        saved = json.loads((folder / STATE_FILE).read_text())
        saved_settings, step = saved["run_settings"], int(saved["step"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise TrainingError(f"cannot resume from {folder}: {first_line(err)}") from err
    differing = sorted(
        key for key in run_settings.keys() | saved_settings.keys() if saved_settings.get(key) != run_settings.get(key)
    )
    if differing:
        changes = ", ".join(f"{key}: {saved_settings.get(key)!r} -> {run_settings.get(key)!r}" for key in differing)
        raise TrainingError(
            f"checkpoint {folder} does not match this run ({changes}); start over with --no-resume (resume=False in Python)"
        )
    try:
        unet.load_state_dict(load_file(folder / MODEL_FILE))
        shadow_params = load_file(folder / EMA_FILE)
        ema.load_state_dict(
            {**saved["ema"], "shadow_params": [shadow_params[name] for name, _ in unet.named_parameters()]}
        )
        optimizer_tensors = load_file(folder / OPTIMIZER_FILE)
        optimizer.load_state_dict(_optimizer_state_dict(optimizer_tensors, saved["optimizer_param_groups"], optimizer))
        if accelerator.scaler is not None and saved["grad_scaler"]:
            accelerator.scaler.load_state_dict(saved["grad_scaler"])
    except (SafetensorError, OSError, RuntimeError, ValueError, KeyError, TypeError) as err:
        raise TrainingError(f"cannot resume from {folder}: {first_line(err)}") from err
    return step


def remove_checkpoints(out_dir: Path) -> None:
    """Delete every checkpoint under ``out_dir`` (a fresh run must not mix with an old one)."""
    shutil.rmtree(out_dir / CHECKPOINTS_DIR, ignore_errors=True)


def _cpu_copy(tensor: torch.Tensor) -> torch.Tensor:
    """A contiguous CPU copy sharing no memory (``save_file`` refuses shared or strided tensors)."""
    return tensor.detach().cpu().contiguous().clone()


def _without(state: dict, key: str) -> dict:
    """``state`` less ``key``: the JSON part of a state dict whose ``key`` is tensors or indices."""
    return {name: value for name, value in state.items() if name != key}


def _optimizer_state_dict(
    tensors: dict[str, torch.Tensor], saved_groups: list[dict], optimizer: torch.optim.Optimizer
) -> dict:
    """Rebuild ``optimizer.state_dict()`` from ``"{param_index}.{name}"`` tensors and the saved param groups."""
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, tensor in tensors.items():
        index, name = key.split(".", 1)
        state.setdefault(int(index), {})[name] = tensor
    live_groups = optimizer.state_dict()["param_groups"]
    param_groups = [{**saved, "params": live["params"]} for saved, live in zip(saved_groups, live_groups, strict=True)]
    return {"state": state, "param_groups": param_groups}


def _checkpoint_folders(out_dir: Path) -> list[Path]:
    """The ``step-*`` folders under ``out_dir/checkpoints``, oldest first (partial ones excluded)."""
    root = out_dir / CHECKPOINTS_DIR
    return sorted(folder for folder in root.glob("step-*") if folder.is_dir() and not folder.name.endswith(".partial"))
