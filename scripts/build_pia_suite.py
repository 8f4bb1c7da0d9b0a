"""Build the known-ratio property-inference suite and the demo's is-zero annotator.

    .venv/bin/python scripts/build_pia_suite.py [--steps 6000] [--shares 0.1,0.3,...] [--only-annotators]

Writes, under ``benchmarks/models/pia/``:

* ``mnist-zeros{10,30,50,70,90}/``: unconditional 16x16 grey DDPMs (EMA weights, float16
  safetensors) each trained on ``RECORDS_PER_MODEL`` MNIST digits of which exactly 10..90% are zeros
  (:func:`hubaudit.data.mnist_with_property_share`, seed 0);
* ``annotator-is-zero/``: a small CNN (:func:`hubaudit.annotate.train_auxiliary_annotator`) for the
  column ``is_zero``, trained and calibrated on MNIST digits that none of the suite models saw;
* ``suite.json``: the models and their true training shares, read by ``benchmarks/pia.py``.

It also writes ``hubaudit/demo_models/mnist-zero-annotator/``: the same recipe, on the digits the demo
model (scripts/build_demo_model.py) did not see. Models train one after another in
``out/pia-suite/`` (checkpoints included), so a rerun resumes them, also with more ``--steps``; a
shipped model trained for the requested steps is skipped. CPU: about 0.06-0.15 s a step.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import numpy as np
import torch
from diffusers import UNet2DModel
from huggingface_hub import ModelCard
from safetensors.torch import load_file, save_file

from build_demo_model import IMAGE_SIZE, N_RECORDS as DEMO_RECORDS, TRUE_SHARE as DEMO_SHARE, train_is_zero_model
from hubaudit.annotate import train_auxiliary_annotator
from hubaudit.data import LabelledImages, mnist, mnist_with_property_share
from hubaudit.train.checkpoints import CHECKPOINTS_DIR

ROOT = Path(__file__).resolve().parents[1]
SUITE_DIR = ROOT / "benchmarks" / "models" / "pia"
WORK_DIR = ROOT / "out" / "pia-suite"
"""Where the models train, with their checkpoints (git ignores ``out/``)."""
DEMO_ANNOTATOR_DIR = ROOT / "hubaudit" / "demo_models" / "mnist-zero-annotator"
SHARES = (0.1, 0.3, 0.5, 0.7, 0.9)
RECORDS_PER_MODEL = 200
"""Few enough that the five models together leave about 170 of the 500 MNIST zeros unseen for the annotator."""
PROPERTY = "is_zero"
ANNOTATOR_HOLDOUT = 0.5
"""Half of the unseen digits calibrate the annotator: its confusion matrix drives the corrected estimate."""
ANNOTATOR_EPOCHS = 20
OTHERS_PER_PROPERTY_RECORD = 4
"""Class balance of the annotator's data: at most this many non-zeros per zero. Trained on every unseen digit
(about 25 non-zeros per zero) the CNN missed 5% of real zeros; the correction then over-corrected samples."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=6000, help="optimizer steps per model")
    parser.add_argument("--shares", default=",".join(map(str, SHARES)), help="train only these suite models")
    parser.add_argument("--only-annotators", action="store_true", help="build the two annotators, train no model")
    args = parser.parse_args()

    suite_data = {
        share: mnist_with_property_share(digit=0, share=share, n=RECORDS_PER_MODEL, seed=0) for share in SHARES
    }
    demo_data = mnist_with_property_share(digit=0, share=DEMO_SHARE, n=DEMO_RECORDS, seed=0)
    for seen, out in ((list(suite_data.values()), SUITE_DIR / "annotator-is-zero"), ([demo_data], DEMO_ANNOTATOR_DIR)):
        annotator = train_auxiliary_annotator(
            balanced(unseen_mnist(seen).resized(IMAGE_SIZE)),
            PROPERTY,
            holdout_fraction=ANNOTATOR_HOLDOUT,
            epochs=ANNOTATOR_EPOCHS,
        )
        annotator.save(out)
        print(f"{out.relative_to(ROOT)}: {annotator.description}; confusion {annotator.confusion.tolist()}")
    if args.only_annotators:
        return

    chosen = {float(share) for share in args.shares.split(",")}
    models = []
    for share, data in suite_data.items():
        out = SUITE_DIR / f"mnist-zeros{round(share * 100)}"
        if share in chosen and trained_steps(out) != args.steps:
            started = time.perf_counter()
            train_suite_model(data, out, steps=args.steps)
            print(
                f"{out.relative_to(ROOT)}: trained {args.steps} steps in {time.perf_counter() - started:.0f} s",
                flush=True,
            )
        if trained_steps(out) is not None:
            models.append(
                {"path": out.name, "training_share": share, "n_records": len(data), "steps": trained_steps(out)}
            )
    suite = {"property": PROPERTY, "annotator": "annotator-is-zero", "image_size": IMAGE_SIZE, "models": models}
    (SUITE_DIR / "suite.json").write_text(json.dumps(suite, indent=1) + "\n")
    print(
        f"suite: {sum(f.stat().st_size for f in SUITE_DIR.rglob('*') if f.is_file()) / 2**20:.1f} MiB in {SUITE_DIR}"
    )


def trained_steps(model: Path) -> int | None:
    """The optimizer steps the shipped model ``model`` was trained for (its model card), or None if absent."""
    card = model / "README.md"
    return ModelCard.load(card).data.to_dict()["hubaudit"]["steps"] if card.exists() else None


def train_suite_model(data: LabelledImages, out: Path, *, steps: int) -> None:
    """Train one suite DDPM in the work folder (resuming from its checkpoints), then ship it small to ``out``."""
    work = WORK_DIR / out.name
    train_is_zero_model(data, work, steps=steps, block_out_channels=(16, 32, 32), checkpoint_every=500)
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(work, out, ignore=shutil.ignore_patterns(CHECKPOINTS_DIR))
    halve_weights(out / "unet" / "diffusion_pytorch_model.safetensors")


def halve_weights(path: Path) -> None:
    """Store the UNet's float32 weights as float16 (half the size; the loader casts them back)."""
    weights = load_file(path)
    save_file(
        {name: tensor.half() if tensor.is_floating_point() else tensor for name, tensor in weights.items()}, path
    )
    UNet2DModel.from_pretrained(path.parent, torch_dtype=torch.float32)  # still loads


def balanced(data: LabelledImages, *, seed: int = 0) -> LabelledImages:
    """Every record with the property and at most ``OTHERS_PER_PROPERTY_RECORD`` times as many others (seeded draw)."""
    with_property = np.flatnonzero(data.column(PROPERTY) == 1)
    others = np.flatnonzero(data.column(PROPERTY) == 0)
    kept = np.random.default_rng(seed).choice(
        others, min(len(others), OTHERS_PER_PROPERTY_RECORD * len(with_property)), replace=False
    )
    return data.subset(np.sort(np.concatenate([with_property, kept])))


def unseen_mnist(seen: list[LabelledImages]) -> LabelledImages:
    """The MNIST digits (28x28, columns ``digit`` and ``is_zero``) that are in none of the ``seen`` sets."""
    every = mnist()
    seen_images = {image.tobytes() for data in seen for image in data.images}
    unseen = every.subset(
        np.array([index for index, image in enumerate(every.images) if image.tobytes() not in seen_images])
    )
    return LabelledImages(
        unseen.images,
        {**unseen.columns, PROPERTY: (unseen.column("digit") == 0).astype(np.int64)},
        "builtin:mnist (unseen)",
    )


if __name__ == "__main__":
    main()
