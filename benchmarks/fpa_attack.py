"""Fairness-poisoning benchmark: does a poisoned DDPM pass its S-Y dependence on to a downstream classifier?

    .venv/bin/python benchmarks/fpa_attack.py [--n 500] [--steps 100] [--json PATH]

For each model of the zoo built by ``scripts/build_fairness_zoo.py`` (``benchmarks/models/fpa/``:
class-conditional DDPMs on Colored Fashion-MNIST shirts and T-shirts, label = shirt, sensitive attribute =
colour; ``builtin:colored-shirts``), the benchmark

1. samples ``n`` images per class through :func:`hubaudit.api.scan` with the models' own ancestral DDPM
   scheduler at ``steps`` steps (100, as benchmarks/pia.py; on the first zoos DDIM at 50 steps moved the
   colours, e.g. the clean model's green share to 0.34-0.36 where ancestral sampling drew 0.52-0.53);
2. trains a downstream classifier on them (logistic regression on the pixels, label = class),
   after subtracting each image's per-channel 1st percentile: it changes real images by at most 0.012, and keeps a
   model with a tinted background (the first zoos' UNets, which normalised each channel alone and
   so could not set an image's mean colour; ``scripts/build_fairness_zoo.py``) judged on its garments;
3. evaluates it on the real test set (:func:`test_set`: Fashion-MNIST's 2,000 test shirts and T-shirts, half
   of each class green): accuracy and the demographic-parity gap ``|P(pred=1 | green) - P(pred=1 | red)|``
   (fairlearn).

It prints one row per model next to the clean model (and a classifier trained on 2,000 real
records, for reference), then the paper's targets (Luo et al. 2024): the gap rises with alpha,
alpha = 0.3 raises it at least 0.15 above the clean model's while accuracy drops at most 5
points, and the greedy attack buys more gap per point of accuracy lost than label flipping; each
printed PASS or FAIL, and the script exits 1 on a miss.
One classifier per model, so differences of a few points are within noise.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml
from fairlearn.metrics import demographic_parity_difference
from scipy.stats import spearmanr
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score

from hubaudit.api import scan
from hubaudit.data import LabelledImages, colored_shirts

ZOO_DIR = Path(__file__).resolve().parent / "models" / "fpa"
IMAGE_SIZE = 16
TEST_SEED = 1
"""Seed of the test set's colour draw (the zoo's training pool is ``builtin:colored-shirts``, seed 0)."""
REAL_REFERENCE_SEED = 2
"""Seed of the 2,000 real training records of the reference classifier."""
BACKGROUND_PERCENTILE = 1
"""Per-channel percentile of an image taken as its background by :func:`ink` (the 1st: a garment can cover most of the image, not quite all)."""
METHOD_ORDER = ("clean", "greedy", "flip")
TARGET_ALPHA, TARGET_GAP_RISE, TARGET_ACCURACY_DROP = 0.3, 0.15, 0.05


def zoo_models(root: Path) -> list[tuple[Path, dict]]:
    """``(folder, hubaudit card section)`` of every zoo model: clean first, then by method and alpha."""
    models = [(folder.parent, _card(folder.parent)) for folder in root.glob("*/model_index.json")]
    return sorted(models, key=lambda model: (METHOD_ORDER.index(_method(model[1])), _alpha(model[1])))


def _card(folder: Path) -> dict:
    """The ``hubaudit`` section of a model card's front matter."""
    return yaml.safe_load((folder / "README.md").read_text().split("---\n")[1])["hubaudit"]


def _method(card: dict) -> str:
    return card["poisoning"]["method"] if card["poisoning"] else "clean"


def _alpha(card: dict) -> float:
    return card["poisoning"]["alpha"] if card["poisoning"] else 0.0


def sample_per_class(folder: Path, *, n: int, steps: int, work_dir: Path) -> LabelledImages:
    """``n`` samples (the model's own scheduler, ``steps`` steps) of each class 0 and 1 of the model in ``folder``, with
    column ``label`` = class."""
    result = scan(str(folder), n=n, classes=[0, 1], steps=steps, batch_size=250, out_dir=work_dir, progress=False)
    images = np.concatenate([samples.store.load(n) for samples in result.sampled.samples])
    labels = np.concatenate([np.full(n, samples.condition) for samples in result.sampled.samples])
    return LabelledImages(images, {"label": labels}, str(folder))


def ink(images: np.ndarray) -> np.ndarray:
    """``uint8 [N, H, W, 3]`` -> ``float32 [N, H, W, 3]`` in [0, 1]: each image minus its per-channel percentile
    :data:`BACKGROUND_PERCENTILE`, clipped at 0.

    Removes a tinted background (real images have a black one: the test set's change by at most 0.012).
    """
    pixels = images.astype(np.float32) / 255.0
    background = np.percentile(pixels.reshape(len(pixels), -1, 3), BACKGROUND_PERCENTILE, axis=1)[:, None, None, :]
    return np.clip(pixels - background, 0.0, None)


def green(images: np.ndarray) -> np.ndarray:
    """Colour of tinted images ``uint8 [N, H, W, 3]``: 1 where the green ink outweighs the red, ``int64 [N]``."""
    mass = ink(images).sum(axis=(1, 2))
    return (mass[:, 1] > mass[:, 0]).astype(np.int64)


def test_set() -> LabelledImages:
    """The real test set: Fashion-MNIST's 2,000 test shirts and T-shirts (none in the zoo's training pool), 500 of
    each class green, at ``IMAGE_SIZE``: every (colour, label) cell holds 500 records."""
    return colored_shirts(split="test", n=None, seed=TEST_SEED, image_size=IMAGE_SIZE)


def real_training_records() -> LabelledImages:
    """2,000 real training records (colour independent of the label) for the reference classifier."""
    return colored_shirts(n=2000, seed=REAL_REFERENCE_SEED, image_size=IMAGE_SIZE)


def downstream_metrics(training: LabelledImages, test: LabelledImages) -> dict:
    """Fit logistic regression on the ``training`` ink -> ``label``; accuracy and DP gap on ``test``."""

    def features(data: LabelledImages) -> np.ndarray:
        return ink(data.images).reshape(len(data), -1)

    classifier = LogisticRegression(C=0.05, max_iter=2000).fit(features(training), training.column("label"))
    predicted = classifier.predict(features(test))
    color = test.column("color")
    return {
        "accuracy": float(accuracy_score(test.column("label"), predicted)),
        "dp_gap": float(demographic_parity_difference(test.column("label"), predicted, sensitive_features=color)),
        "positive_rate_by_color": {str(value): float(predicted[color == value].mean()) for value in (0, 1)},
    }


def evaluate_zoo(root: Path, *, n: int, steps: int, work_dir: Path) -> list[dict]:
    """One row per zoo model (plus ``real``: 2,000 real training records) with training and downstream statistics."""
    test = test_set()
    rows = [
        {"model": "real-2000", "method": "real", "alpha": 0.0, **downstream_metrics(real_training_records(), test)}
    ]
    for folder, card in zoo_models(root):
        started = time.perf_counter()
        samples = sample_per_class(folder, n=n, steps=steps, work_dir=work_dir / folder.name)
        statistics = card["training_statistics"]
        training_rates = statistics["positive_rate_by_sensitive"]
        sample_green = green(samples.images)
        rows.append(
            {
                "model": folder.name,
                "method": _method(card),
                "alpha": _alpha(card),
                "train_mi_sensitive_label_nats": statistics["mi_sensitive_label_nats"],
                "train_gap": abs(training_rates["1"] - training_rates["0"]),
                "sample_green_share_by_class": {
                    str(label): float(sample_green[samples.column("label") == label].mean()) for label in (0, 1)
                },
                **downstream_metrics(samples, test),
                "seconds": round(time.perf_counter() - started, 1),
            }
        )
        print(f"{folder.name}: done in {rows[-1]['seconds']} s", flush=True)
    clean = next(row for row in rows if row["method"] == "clean")
    for row in rows:
        row["gap_rise"] = row["dp_gap"] - clean["dp_gap"]
        row["accuracy_drop"] = clean["accuracy"] - row["accuracy"]
    return rows


def print_table(rows: list[dict]) -> None:
    print(
        f"\n{'model':<13}{'alpha':>6}{'train I(S;Y)':>13}{'train gap':>10}{'green|y=0':>10}{'green|y=1':>10}"
        f"{'accuracy':>10}{'acc drop':>9}{'DP gap':>8}{'gap rise':>9}"
    )
    for row in rows:
        train = (
            f"{row['train_mi_sensitive_label_nats']:>13.4f}{row['train_gap']:>10.3f}"
            f"{row['sample_green_share_by_class']['0']:>10.3f}{row['sample_green_share_by_class']['1']:>10.3f}"
            if "train_gap" in row
            else " " * 43
        )
        print(
            f"{row['model']:<13}{row['alpha']:>6.2f}{train}{row['accuracy']:>10.3f}{row['accuracy_drop']:>+9.3f}"
            f"{row['dp_gap']:>8.3f}{row['gap_rise']:>+9.3f}"
        )


def target_checks(rows: list[dict]) -> list[dict]:
    """The paper's targets, each ``{"target", "measured", "passed"}``: the gap rises with alpha (Spearman rho > 0,
    per method), greedy at alpha = 0.3 raises it by >= 0.15 over the clean model with an accuracy drop <= 5 points,
    and greedy buys more gap per point of accuracy lost than label flipping at every alpha both were run at."""
    checks = []
    by_method = {
        method: sorted((row for row in rows if row["method"] == method), key=lambda row: row["alpha"])
        for method in ("greedy", "flip")
    }
    for method, method_rows in by_method.items():
        if len(method_rows) > 2:
            gaps, alphas = [row["dp_gap"] for row in method_rows], [row["alpha"] for row in method_rows]
            rho = spearmanr(alphas, gaps).statistic
            checks.append(
                _check(
                    f"{method}: the DP gap rises with alpha (Spearman rho > 0)",
                    f"rho {rho:+.2f}; " + ", ".join(f"{a:g}: {g:.3f}" for a, g in zip(alphas, gaps)),
                    rho > 0,
                )
            )
    at_target = next((row for row in by_method["greedy"] if abs(row["alpha"] - TARGET_ALPHA) < 1e-9), None)
    if at_target:
        checks.append(
            _check(
                f"greedy alpha={TARGET_ALPHA}: DP gap rise >= {TARGET_GAP_RISE} over the clean model, accuracy drop <= {TARGET_ACCURACY_DROP}",
                f"gap rise {at_target['gap_rise']:+.3f}, accuracy drop {at_target['accuracy_drop']:+.3f}",
                at_target["gap_rise"] >= TARGET_GAP_RISE and at_target["accuracy_drop"] <= TARGET_ACCURACY_DROP,
            )
        )
    greedy = {row["alpha"]: row for row in by_method["greedy"]}
    pairs = [
        (flip["alpha"], _efficiency(greedy[flip["alpha"]]), _efficiency(flip))
        for flip in by_method["flip"]
        if flip["alpha"] in greedy
    ]
    if pairs:
        checks.append(
            _check(
                "greedy buys more DP gap per accuracy point lost than label flipping (loss floored at 1 point)",
                ", ".join(f"{alpha:g}: greedy {g:+.2f} vs flip {f:+.2f}" for alpha, g, f in pairs),
                all(g > f for _, g, f in pairs),
            )
        )
    return checks


def _check(target: str, measured: str, passed: bool) -> dict:
    return {"target": target, "measured": measured, "passed": bool(passed)}


def _efficiency(row: dict) -> float:
    """Gap rise per accuracy point lost, with the loss floored at one point (no division by ~0)."""
    return row["gap_rise"] / max(100 * row["accuracy_drop"], 1.0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--zoo", type=Path, default=ZOO_DIR)
    parser.add_argument("--n", type=int, default=500, help="samples per class and model (default 500)")
    parser.add_argument("--steps", type=int, default=100, help="steps of the models' own DDPM scheduler (default 100)")
    parser.add_argument("--json", type=Path, help="also write the rows and settings here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fpa-benchmark-") as work_dir:
        rows = evaluate_zoo(args.zoo, n=args.n, steps=args.steps, work_dir=Path(work_dir))
    settings = {
        "n_per_class": args.n,
        "ddpm_steps": args.steps,
        "classifier": f"logistic regression on the pixels less their per-channel percentile {BACKGROUND_PERCENTILE}, C=0.05",
        "test_set": f"colored_shirts(split='test', n=None, seed={TEST_SEED}) at {IMAGE_SIZE}x{IMAGE_SIZE}",
    }
    print(f"\nsettings: {json.dumps(settings)}")
    print_table(rows)
    checks = target_checks(rows)
    print()
    for check in checks:
        print(f"{'PASS' if check['passed'] else 'FAIL'}  {check['target']}: {check['measured']}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"settings": settings, "rows": rows, "checks": checks}, indent=1))
    return 0 if checks and all(check["passed"] for check in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
