"""The memorization suite's models (scripts/build_memorization_models.py) and their members, for the tests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from hubaudit.data import LabelledImages, mnist, save_labelled_images

SUITE = Path(__file__).resolve().parents[1] / "benchmarks" / "models" / "memorization"


def suite() -> dict:
    return json.loads((SUITE / "suite.json").read_text())


def suite_model(n_members: int) -> tuple[Path, np.ndarray, np.ndarray]:
    """(model folder, member indices, held-out indices) of the suite model trained on ``n_members`` digits."""
    found = suite()
    model = next(model for model in found["models"] if model["n_members"] == n_members)
    return SUITE / model["path"], np.array(model["members"]), np.array(found["held_out"])


def save_digits(indices: np.ndarray, path: Path) -> Path:
    """The ``builtin:mnist`` digits at ``indices`` (16x16, column ``digit``) as a Parquet file."""
    digits = mnist(image_size=suite()["image_size"]).subset(indices)
    return save_labelled_images(LabelledImages(digits.images, dict(digits.columns), "mnist-subset"), path)


def suite_files(n_members: int, folder: Path, *, n_held_out: int) -> tuple[Path, Path, Path]:
    """(model folder, members Parquet, first ``n_held_out`` held-out digits Parquet) of a suite model."""
    model, members, held_out = suite_model(n_members)
    return (
        model,
        save_digits(members, folder / "members.parquet"),
        save_digits(held_out[:n_held_out], folder / "held.parquet"),
    )
