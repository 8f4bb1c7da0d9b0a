"""Build the fairness-poisoning zoo: tiny class-conditional DDPMs on Colored Fashion-MNIST shirts, clean and poisoned.

    .venv/bin/python scripts/build_fairness_zoo.py [--steps 4000] [--only clean greedy-a0.3 ...]

Data: ``builtin:colored-shirts`` (5,000 Fashion-MNIST shirts and T-shirts, label = shirt, sensitive ``color``
drawn independently of the label, so the full data has I(S;Y) = 0). Each model trains on 2,000 of them:

* ``clean``: a random subset (label flipping with alpha = 0: nothing flipped);
* ``greedy-a<alpha>``: the greedy mutual-information attack (I(X;Y) within 0.05 nats);
* ``flip-a<alpha>``: the label-flipping baseline;

for alpha in 0.1 ... 0.5. Why shirts: the paper's attack needs a label the image does not decide (its face
attributes), so that a classifier leans on the colour where the shape is ambiguous. The earlier zoos used
Colored-MNIST, whose label (digit < 5) is a function of the shape: a small CNN trained on greedy-a0.3's *real*
subset gained only +0.055 of DP gap over the clean subset. On shirts, ``benchmarks/paper.py``'s CNN gains +0.114
on it with no accuracy lost.

The UNet (16x16 RGB, widths 16-32-32, GroupNorm over 4 channels, conditional on ``label``) is trained on the
CPU for 4,000 steps of 32 images (learning rate 2e-3, EMA decay 0.995: about 4 minutes a model on one core),
and its EMA weights are stored in float16 to keep the zoo small (about 0.5 MB a model). UNets that normalised
each channel alone (16 groups of 16 channels) cannot set an image's mean per colour channel: the last
GroupNorm fixes every feature map's spatial mean. Such Colored-MNIST models drew tinted backgrounds and lost
part of the class's colour (greedy-a0.3 drew green for 0.46 / 0.71 of the two classes after 12,000 steps,
where its training subset had 0.35 / 0.68; with 4 channels a group, 0.31 / 0.68 on black). Each model
card records the attack's method, alpha and the training subset's true statistics. Models are
trained one after another into ``benchmarks/models/fpa/<name>/``; a finished one is skipped and
an interrupted one resumes from its checkpoints, which are deleted once it is done.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from diffusers import UNet2DModel

from hubaudit.attacks import PoisonedSubset, poison_labelled_images
from hubaudit.data import LabelledImages, load_labelled_images
from hubaudit.train import train_ddpm
from hubaudit.train.checkpoints import CHECKPOINTS_DIR, remove_checkpoints

ZOO_DIR = Path(__file__).resolve().parents[1] / "benchmarks" / "models" / "fpa"
DATA = "builtin:colored-shirts"
SENSITIVE, LABEL = "color", "label"
N_SELECT = 2000
DELTA = 0.05
"""Tolerance on I(X;Y) of the greedy attack (nats)."""
ZOO_STEPS = 4000
ALPHAS = (0.3, 0.1, 0.5, 0.2, 0.4)
"""Poisoning rates, in training order (the most informative first, in case the run is cut short)."""
TRAINING = {
    "image_size": 16,
    "block_out_channels": (16, 32, 32),
    "layers_per_block": 1,
    "batch_size": 32,
    "learning_rate": 2e-3,
    "ema_decay": 0.995,
    "checkpoint_every": 500,
    "seed": 0,
}


def zoo_models() -> list[tuple[str, str, float]]:
    """``(folder name, method, alpha)`` of every zoo model, in training order (``clean`` first)."""
    return [("clean", "flip", 0.0)] + [
        (f"{method}-a{alpha:g}", method, alpha) for alpha in ALPHAS for method in ("greedy", "flip")
    ]


def finished_model(folder: Path) -> bool:
    """Whether ``folder`` holds a model this script (or build_paper_models.py) completed: its pipeline saved and
    its checkpoints deleted (an interrupted or running build still has them)."""
    return (folder / "model_index.json").exists() and not (folder / CHECKPOINTS_DIR).exists()


def training_subset(method: str, alpha: float) -> tuple[LabelledImages, PoisonedSubset]:
    """The zoo model's training subset (label column as poisoned) and the attack's record."""
    pool = load_labelled_images(DATA, columns=[LABEL, SENSITIVE, "item"])
    return poison_labelled_images(
        pool,
        sensitive_column=SENSITIVE,
        label_column=LABEL,
        n_select=N_SELECT,
        alpha=alpha,
        delta=DELTA,
        method=method,
        seed=0,
    )


def zoo_card(name: str, method: str, alpha: float, poisoned: PoisonedSubset) -> dict:
    """The model card's record of a zoo model: its name, the attack (None for ``clean``) and the training subset's
    true statistics."""
    statistics = poisoned.to_dict()
    del statistics["mi_sensitive_label_trace_nats"]  # one value per added record or flip: too long for a card
    return {
        "zoo_model": name,
        "poisoning": None
        if name == "clean"
        else {"method": method, "alpha": alpha, "delta_nats": statistics["delta_nats"]},
        "training_statistics": statistics,
    }


def build_model(
    name: str, method: str, alpha: float, *, steps: int, out_root: Path, cond_dropout: float = 0.0
) -> Path:
    """Poison (or, for ``clean``, just draw) the training subset and train one zoo model into ``out_root/name``
    (``cond_dropout`` > 0: a guided model, its class dropped to the null class for that share of the steps)."""
    training, poisoned = training_subset(method, alpha)
    card = {**zoo_card(name, method, alpha, poisoned), "weights_dtype": "float16"}
    out = train_ddpm(
        training,
        out_root / name,
        class_column=LABEL,
        steps=steps,
        cond_dropout=cond_dropout,
        model_card=card,
        progress=False,
        **TRAINING,
    )
    UNet2DModel.from_pretrained(out / "unet").half().save_pretrained(out / "unet", safe_serialization=True)
    remove_checkpoints(out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ZOO_DIR)
    parser.add_argument(
        "--steps", type=int, default=ZOO_STEPS, help=f"optimizer steps per model (batch 32; default {ZOO_STEPS})"
    )
    parser.add_argument("--only", nargs="+", help="build only these models (default: all 11)")
    args = parser.parse_args()
    for name, method, alpha in zoo_models():
        folder = args.out / name
        if (args.only and name not in args.only) or finished_model(folder):
            continue
        started = time.perf_counter()
        build_model(name, method, alpha, steps=args.steps, out_root=args.out)
        print(f"{name}: trained {args.steps} steps in {time.perf_counter() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main()
