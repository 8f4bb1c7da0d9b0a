"""Training checkpoints: ``OUT/checkpoints/step-NNNNNNNN/`` folders written atomically by accelerate.

Each folder holds what ``Accelerator.save_state`` writes (model weights as safetensors, optimizer,
RNG states, the registered EMA) plus ``training_state.json``: the step and the run settings a
resumed run must share. A folder is renamed into place only once complete, so a run killed while
saving leaves the previous checkpoint as the latest.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from accelerate import Accelerator

from hubaudit.errors import TrainingError

CHECKPOINTS_DIR = "checkpoints"
STATE_FILE = "training_state.json"
KEEP_CHECKPOINTS = 2
"""How many of the newest checkpoints stay on disk."""


def latest_checkpoint(out_dir: Path) -> Path | None:
    """The newest complete checkpoint folder under ``out_dir/checkpoints``, or ``None``."""
    complete = [folder for folder in _checkpoint_folders(out_dir) if (folder / STATE_FILE).exists()]
    return complete[-1] if complete else None


def save_checkpoint(accelerator: Accelerator, out_dir: Path, *, step: int, run_settings: dict) -> Path:
    """Save the accelerator's state after ``step`` optimizer steps; keep the newest few checkpoints."""
    folder = out_dir / CHECKPOINTS_DIR / f"step-{step:08d}"
    partial = folder.with_name(folder.name + ".partial")
    if accelerator.is_main_process:
        shutil.rmtree(partial, ignore_errors=True)
    accelerator.wait_for_everyone()
    accelerator.save_state(str(partial), safe_serialization=True)
    if accelerator.is_main_process:
        (partial / STATE_FILE).write_text(json.dumps({"step": step, "run_settings": run_settings}, indent=1))
        shutil.rmtree(folder, ignore_errors=True)
        partial.rename(folder)
        for stale in _checkpoint_folders(out_dir)[:-KEEP_CHECKPOINTS]:
            shutil.rmtree(stale)
    accelerator.wait_for_everyone()
    return folder


def load_checkpoint(accelerator: Accelerator, folder: Path, *, run_settings: dict) -> int:
    """Restore the accelerator's state from ``folder`` and return its step.

    Raises :class:`TrainingError` when the checkpoint was made with other run settings (model
    size, data, batch size, ...) or cannot be read.
    """
    saved = json.loads((folder / STATE_FILE).read_text())
    differing = sorted(key for key in run_settings.keys() | saved["run_settings"].keys()
                       if saved["run_settings"].get(key) != run_settings.get(key))
    if differing:
        changes = ", ".join(f"{key}: {saved['run_settings'].get(key)!r} -> {run_settings.get(key)!r}" for key in differing)
        raise TrainingError(
            f"checkpoint {folder} does not match this run ({changes}); start over with --no-resume (resume=False in Python)"
        )
    try:
        accelerator.load_state(str(folder))
    except (RuntimeError, OSError, KeyError, ValueError) as err:
        raise TrainingError(f"cannot resume from {folder}: {str(err).splitlines()[0]}") from err
    return int(saved["step"])


def remove_checkpoints(out_dir: Path) -> None:
    """Delete every checkpoint under ``out_dir`` (a fresh run must not mix with an old one)."""
    shutil.rmtree(out_dir / CHECKPOINTS_DIR, ignore_errors=True)


def _checkpoint_folders(out_dir: Path) -> list[Path]:
    """The ``step-*`` folders under ``out_dir/checkpoints``, oldest first (partial ones excluded)."""
    root = out_dir / CHECKPOINTS_DIR
    return sorted(folder for folder in root.glob("step-*") if folder.is_dir() and not folder.name.endswith(".partial"))
