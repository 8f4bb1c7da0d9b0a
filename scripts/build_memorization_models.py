"""Build the memorization suite: DDPMs trained on 64, 512 and 4,096 MNIST digits, with their member lists.

    nice -n 10 .venv/bin/python scripts/build_memorization_models.py [--steps N] [--sizes 64,512,4096]

Writes, under ``benchmarks/models/memorization/``:

* ``mnist-{64,512,4096}/``: unconditional 16x16 grey DDPMs (EMA weights, float16 safetensors), each trained for
  :data:`STEPS` on the first N digits of one seeded permutation of ``builtin:mnist`` (so the members of a smaller
  model are members of every larger one): the 64- and 512-digit models see each image 2,000 and 1,500 times; the 4,096-digit model sees each about 31 times and copies much less;
* ``suite.json``: per model its folder, its steps, its members (indices into ``builtin:mnist``, sorted) and the
  held-out digits no suite model saw (the last 904 of the permutation, in drawn order: ``builtin:mnist`` is sorted by
  digit, so a prefix of this list is a random sample), read by the tests and ``benchmarks/memorization.py``.

Models train in ``out/memorization-suite/`` (checkpoints included), so a rerun resumes. Deterministic: seed 0
for the permutation and for training. CPU: about 0.1-0.3 s a step (7-10 minutes a model on a shared machine).
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import numpy as np

from build_pia_suite import halve_weights, trained_steps
from hubaudit.data import mnist
from hubaudit.train import train_ddpm
from hubaudit.train.checkpoints import CHECKPOINTS_DIR

ROOT = Path(__file__).resolve().parents[1]
SUITE_DIR = ROOT / "benchmarks" / "models" / "memorization"
WORK_DIR = ROOT / "out" / "memorization-suite"
SIZES = (64, 512, 4096)
STEPS = {64: 2000, 512: 12000, 4096: 2000}
"""Optimizer steps of 64 images per model: the 64-digit model sees each digit 2,000 times and copies; the 512-digit
one copied none of 64 samples at 2,000 steps (250 passes) nor at 6,000 (its samples nearer its digits than unseen
ones, but no copies), so it trains 12,000 (1,500 passes); the 4,096-digit one sees each digit about 31 times."""
IMAGE_SIZE = 16
SOURCE = "builtin:mnist"


def member_permutation(seed: int = 0) -> np.ndarray:
    """The seeded permutation of the 5,000 ``builtin:mnist`` indices: members are prefixes, held-out the tail."""
    return np.random.default_rng(seed).permutation(len(mnist()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, help="optimizer steps of every model trained (default: STEPS)")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="train only these suite models")
    args = parser.parse_args()

    order = member_permutation()
    held_out = order[max(SIZES) :]  # in drawn order: builtin:mnist is sorted by digit, so any prefix is random
    digits = mnist(image_size=IMAGE_SIZE)
    chosen = {int(size) for size in args.sizes.split(",")}
    models = []
    for size in SIZES:
        out = SUITE_DIR / f"mnist-{size}"
        members = np.sort(order[:size])
        steps = args.steps or STEPS[size]
        if size in chosen and trained_steps(out) != steps:
            started = time.perf_counter()
            work = WORK_DIR / out.name
            train_ddpm(
                digits.subset(members),
                work,
                image_size=IMAGE_SIZE,
                steps=steps,
                batch_size=64,
                learning_rate=1e-3,
                ema_decay=0.999,
                block_out_channels=(16, 32, 32),
                checkpoint_every=500,
                seed=0,
                model_card={"members": {"source": SOURCE, "n": size, "list": "suite.json"}},
            )
            shutil.rmtree(out, ignore_errors=True)
            shutil.copytree(work, out, ignore=shutil.ignore_patterns(CHECKPOINTS_DIR))
            halve_weights(out / "unet" / "diffusion_pytorch_model.safetensors")
            print(f"{out.relative_to(ROOT)}: {steps} steps in {time.perf_counter() - started:.0f} s", flush=True)
        if trained_steps(out) is not None:
            models.append(
                {"path": out.name, "n_members": size, "steps": trained_steps(out), "members": members.tolist()}
            )
    suite = {"source": SOURCE, "image_size": IMAGE_SIZE, "held_out": held_out.tolist(), "models": models}
    (SUITE_DIR / "suite.json").write_text(json.dumps(suite) + "\n")


if __name__ == "__main__":
    main()
