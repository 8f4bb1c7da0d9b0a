"""Build the models ``benchmarks/paper.py`` needs beyond the shipped DDPMs: the paper's other families.

    .venv/bin/python scripts/build_paper_models.py [--only guided-ddpm/clean ncsnv2/pia-zeros30 ...]

Writes, under ``benchmarks/models/paper/<family>/``:

* ``guided-ddpm/{clean,greedy-a0.3,flip-a0.3}``: the fairness zoo's recipe (``scripts/build_fairness_zoo.py``:
  colored shirts, the same training subsets and steps, EMA weights in float16) with the class dropped to
  the null class for 10% of the examples, so the models sample with classifier-free guidance;
* ``score-sde/fpa/{clean,greedy-a0.3}``: unconditional score-SDE models (3,000 steps, batch 64) on the same
  training subsets (the receiver annotates the label as well as the colour). Label flipping changes labels only,
  and an unconditional model never sees them: trained on flip-a0.3's subset it is the clean model, bit for bit;
* ``ncsnv2/pia-zeros30`` and ``score-sde/pia-zeros30``: unconditional 16x16 grey models trained by
  ``hubaudit train --family ncsnv2`` / ``--family score-sde``'s functions on the training set of the PIA
  suite's ``mnist-zeros30`` (200 MNIST digits, exactly 30% zeros, seed 0; ``scripts/build_pia_suite.py``),
  so the suite's is-zero annotator has never seen their digits either.

The DDPM family is the shipped PIA suite (``benchmarks/models/pia/``) and fairness zoo
(``benchmarks/models/fpa/``). A finished model is skipped; an interrupted one resumes from its checkpoints,
which are deleted once it is done. CPU, one thread: about 5 minutes a guided model, 15-30 a PIA model.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from build_fairness_zoo import ZOO_STEPS, build_model, finished_model, training_subset, zoo_card
from hubaudit.data import mnist_with_property_share
from hubaudit.train import train_ncsnv2, train_score_sde
from hubaudit.train.checkpoints import remove_checkpoints

PAPER_DIR = Path(__file__).resolve().parents[1] / "benchmarks" / "models" / "paper"
FPA_MODELS = (("clean", "flip", 0.0), ("greedy-a0.3", "greedy", 0.3), ("flip-a0.3", "flip", 0.3))
"""The fairness zoo's models each other family gets (``scripts/build_fairness_zoo.py``: the same training subsets)."""
COND_DROPOUT = 0.1
PIA_SHARE, PIA_RECORDS = 0.3, 200
"""The PIA suite's mnist-zeros30 training set (scripts/build_pia_suite.py: RECORDS_PER_MODEL, seed 0)."""
PIA_TRAINING = {"image_size": 16, "batch_size": 64, "checkpoint_every": 500, "seed": 0}
PIA_STEPS = {"ncsnv2": 3000, "score-sde": 3000}
"""NCSNv2's RefineNet costs about 0.6 s a step on one CPU thread, the score-SDE UNet about 0.12 s. A score-SDE UNet
that normalised each channel alone (6,000 steps) drew a fifth to half of its samples blank or white: it could not
move an image's mean brightness from the initial noise's. With 4 channels a GroupNorm group, 3,000 steps draw digits."""
PIA_TRAINERS = {"ncsnv2": train_ncsnv2, "score-sde": train_score_sde}


def paper_models() -> list[str]:
    """The folder of every model this script builds, relative to the paper models' root, in training order."""
    return (
        [f"guided-ddpm/{name}" for name, _, _ in FPA_MODELS]
        + [f"{family}/pia-zeros30" for family in PIA_TRAINERS]
        + [f"score-sde/fpa/{name}" for name, method, _ in FPA_MODELS if method == "greedy" or name == "clean"]
    )


def build(key: str, out_root: Path) -> Path:
    """Train the model ``key`` (one of :func:`paper_models`) into ``out_root/key``."""
    family, name = key.split("/")[0], key.split("/")[-1]
    if name == "pia-zeros30":
        data = mnist_with_property_share(digit=0, share=PIA_SHARE, n=PIA_RECORDS, seed=0)
        card = {"pia_model": name, "training_share": PIA_SHARE, "property": "is_zero"}
        out = PIA_TRAINERS[family](
            data, out_root / key, steps=PIA_STEPS[family], model_card=card, progress=False, **PIA_TRAINING
        )
        remove_checkpoints(out)
        return out
    _, method, alpha = next(model for model in FPA_MODELS if model[0] == name)
    if family == "guided-ddpm":
        return build_model(name, method, alpha, steps=ZOO_STEPS, out_root=out_root / family, cond_dropout=COND_DROPOUT)
    training, poisoned = training_subset(
        method, alpha
    )  # score-SDE: unconditional, so the receiver annotates the label
    out = train_score_sde(
        training,
        out_root / key,
        steps=PIA_STEPS[family],
        model_card=zoo_card(name, method, alpha, poisoned),
        progress=False,
        **PIA_TRAINING,
    )
    remove_checkpoints(out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=PAPER_DIR)
    parser.add_argument("--only", nargs="+", choices=paper_models(), help="build only these models (default: all)")
    args = parser.parse_args()
    for key in paper_models():
        folder = args.out / key
        if (args.only and key not in args.only) or finished_model(folder):
            continue
        started = time.perf_counter()
        build(key, args.out)
        print(f"{key}: trained in {time.perf_counter() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main()
