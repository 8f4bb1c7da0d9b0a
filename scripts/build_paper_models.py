"""Build the models ``benchmarks/paper.py`` needs beyond the shipped DDPMs: the paper's other families.

    .venv/bin/python scripts/build_paper_models.py [--only guided-ddpm/clean ncsnv2/pia-zeros30 ...]

Writes, under ``benchmarks/models/paper/<family>/``:

* ``guided-ddpm/{clean,greedy-a0.3,flip-a0.3}``: the fairness zoo's recipe (``scripts/build_fairness_zoo.py``:
  Colored-MNIST, the same training subsets, 12,000 steps, EMA weights in float16) with the class dropped to
  the null class for 10% of the examples, so the models sample with classifier-free guidance (``flip-a0.3`` is
  not committed yet: CPU time);
* ``ncsnv2/pia-zeros30`` and ``score-sde/pia-zeros30``: unconditional 16x16 grey models trained by
  ``hubaudit train --family ncsnv2`` / ``--family score-sde``'s functions on the training set of the PIA
  suite's ``mnist-zeros30`` (200 MNIST digits, exactly 30% zeros, seed 0; ``scripts/build_pia_suite.py``),
  so the suite's is-zero annotator has never seen their digits either.

The DDPM family is the shipped PIA suite (``benchmarks/models/pia/``) and fairness zoo
(``benchmarks/models/fpa/``). A finished model is skipped; an interrupted one resumes from its checkpoints,
which are deleted once it is done. CPU, one thread: about 16 minutes a guided model, 15-30 a PIA model.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from build_fairness_zoo import build_model, finished_model
from hubaudit.data import mnist_with_property_share
from hubaudit.train import train_ncsnv2, train_score_sde
from hubaudit.train.checkpoints import remove_checkpoints

PAPER_DIR = Path(__file__).resolve().parents[1] / "benchmarks" / "models" / "paper"
GUIDED_MODELS = (("clean", "flip", 0.0), ("greedy-a0.3", "greedy", 0.3), ("flip-a0.3", "flip", 0.3))
COND_DROPOUT = 0.1
FAIRNESS_STEPS = 12000
PIA_SHARE, PIA_RECORDS = 0.3, 200
"""The PIA suite's mnist-zeros30 training set (scripts/build_pia_suite.py: RECORDS_PER_MODEL, seed 0)."""
PIA_TRAINING = {"image_size": 16, "batch_size": 64, "checkpoint_every": 500, "seed": 0}
PIA_STEPS = {"ncsnv2": 3000, "score-sde": 6000}
"""NCSNv2's RefineNet costs about 0.6 s a step on one CPU thread (the score-SDE UNet about 0.15 s): half the steps."""
PIA_TRAINERS = {"ncsnv2": train_ncsnv2, "score-sde": train_score_sde}


def paper_models() -> list[str]:
    """``<family>/<model>`` of every model this script builds, in training order."""
    return [f"guided-ddpm/{name}" for name, _, _ in GUIDED_MODELS] + [f"{family}/pia-zeros30" for family in PIA_TRAINERS]


def build(key: str, out_root: Path) -> Path:
    """Train the model ``<family>/<model>`` into ``out_root/<family>/<model>``."""
    family, name = key.split("/")
    if family == "guided-ddpm":
        _, method, alpha = next(model for model in GUIDED_MODELS if model[0] == name)
        return build_model(name, method, alpha, steps=FAIRNESS_STEPS, out_root=out_root / family, cond_dropout=COND_DROPOUT)
    data = mnist_with_property_share(digit=0, share=PIA_SHARE, n=PIA_RECORDS, seed=0)
    card = {"pia_model": name, "training_share": PIA_SHARE, "property": "is_zero"}
    out = PIA_TRAINERS[family](data, out_root / key, steps=PIA_STEPS[family], model_card=card, progress=False, **PIA_TRAINING)
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
