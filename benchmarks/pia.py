"""Property inference on the known-ratio suite: estimates against the true training share of zeros.

For every model of ``benchmarks/models/pia/`` (scripts/build_pia_suite.py: DDPMs trained on MNIST
with 10..90% zeros) this scans n samples with the hubaudit API (by default the models' own ancestral
DDPM sampler at 100 steps), labels them with the suite's is-zero annotator (trained on MNIST digits no
model saw) and prints:

- training share, naive classify-and-count estimate and error, corrected (Rogan-Gladen) estimate,
  error, 95% interval and whether it covers the training share; mean absolute errors
  (targets: corrected MAE <= 0.03 at n=2000, and below the naive MAE when the annotator errs);
- the share of samples whose nearest training image (pixel L2) is a zero: a stand-in for the true
  generated share, since these small models mostly reproduce their training images; it separates the
  model's fidelity (vs the training share) from the estimators' error (vs this share);
- QuaPy's ACC, PACC and EMQ (logistic regression on pixels, fit on the annotator's MNIST digits) as
  a reference;
- the simulated coverage of the corrected 95% interval of the generated share, with the
  annotator's confusion matrix as the truth and its calibration split's size (target >= 0.93);
- the samples a sequential scan needs for half-width 0.03 next to the Hoeffding plan (target: fewer).

Usage: ``python benchmarks/pia.py [--n 2000] [--scheduler ddpm|ddim] [--steps 100] [--json PATH]``;
a rerun reuses the sample store under ``--out``.

The sampler moves the generated share: deterministic DDIM (``--scheduler ddim --steps 40``) makes
these small models draw more zeros than their training share (by nearest training image: 0.14 at
10% and 0.35 at 30% zeros), while ancestral DDPM sampling at 100 steps stays within 0.03 (0.10 and
0.31). Both are "the model's generated share"; the default is the one closer to the training share,
so the table measures the estimators more than the sampler.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SUITE = ROOT / "benchmarks" / "models" / "pia"
sys.path.insert(0, str(ROOT / "scripts"))

TARGET_HALF_WIDTH = 0.03


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000, help="samples per model")
    parser.add_argument("--steps", type=int, default=100, help="denoising steps")
    parser.add_argument("--scheduler", choices=["ddim", "ddpm"], default="ddpm",
                        help="ddim (deterministic) or the models' own ancestral DDPM sampler")
    parser.add_argument("--batch-size", type=int, default=250)
    parser.add_argument("--trials", type=int, default=400, help="simulated audits per share for the coverage check")
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "benchmarks" / "pia", help="reports and sample store")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()

    suite = json.loads((SUITE / "suite.json").read_text())
    annotator = SUITE / suite["annotator"]
    quantifiers = fit_quapy_quantifiers(suite["image_size"])
    rows = []
    for model in suite["models"]:
        started = time.perf_counter()
        row = scan_model(SUITE / model["path"], annotator, model["training_share"], args)
        features = row.pop("features")
        row["nearest_training_share"] = nearest_training_share(features, model["training_share"], suite["image_size"])
        row["quapy"] = {name: float(quantifier.quantify(features)[1]) for name, quantifier in quantifiers.items()}
        row["seconds"] = round(time.perf_counter() - started, 1)
        rows.append(row)
        print(f"{model['path']}: done in {row['seconds']} s", file=sys.stderr, flush=True)
    confusion = np.array(json.loads((annotator / "annotator.json").read_text())["confusion"])
    figures = {
        "n": args.n,
        "sampler": f"{args.scheduler.upper()}, {args.steps} steps",
        "annotator_confusion": confusion.tolist(),
        "models": rows,
        "mean_absolute_error": {
            "naive": mean_error(rows, lambda row: row["naive"]["value"]),
            "corrected": mean_error(rows, lambda row: row["corrected"]["value"]),
            **{f"quapy_{name}": mean_error(rows, lambda row, name=name: row["quapy"][name]) for name in quantifiers},
            "nearest_training_image": mean_error(rows, lambda row: row["nearest_training_share"]),
        },
        "mean_absolute_error_vs_nearest_training_share": {
            method: float(np.mean([abs(row[method]["value"] - row["nearest_training_share"]) for row in rows]))
            for method in ("naive", "corrected")
        },
        "coverage": simulated_coverage([row["training_share"] for row in rows], confusion, n=args.n, trials=args.trials),
    }
    print_table(figures)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=1) + "\n")


def scan_model(model: Path, annotator: Path, training_share: float, args: argparse.Namespace) -> dict:
    """Scan ``model`` at n (fixed) and sequentially; the row of the table plus the samples' pixel features."""
    import hubaudit
    from hubaudit.sampling import open_sample_store
    from hubaudit.stats import hoeffding_sample_size

    options = {
        "steps": args.steps, "scheduler": "ddim" if args.scheduler == "ddim" else None, "batch_size": args.batch_size, "progress": False,
        "attributes": [f"is_zero=aux:{annotator}"], "store_dir": args.out / "samples",
    }
    fixed = hubaudit.scan(str(model), n=args.n, out_dir=args.out / model.name, **options).to_dict()
    entry = fixed["properties"]["attributes"][0]["by_condition"][0]
    naive, corrected = entry["estimates"]["classify_and_count"]["1"], entry["estimates"]["corrected"]["1"]
    plan = hoeffding_sample_size(TARGET_HALF_WIDTH)
    sequential_scan = hubaudit.scan(
        str(model), n=plan, target_width=TARGET_HALF_WIDTH, out_dir=args.out / f"{model.name}-sequential", **options
    ).to_dict()
    sequential = sequential_scan["properties"]["attributes"][0]["by_condition"][0]["sequential"]
    store_path = Path(fixed["samples"][0]["store_path"])
    images = open_sample_store(store_path).load(args.n)
    return {
        "model": model.name,
        "training_share": training_share,
        "naive": naive,
        "corrected": corrected,
        "naive_error": abs(naive["value"] - training_share),
        "corrected_error": abs(corrected["value"] - training_share),
        "corrected_covers_training_share": corrected["low"] <= training_share <= corrected["high"],
        "sequential": {"n_used": sequential["n_used"], "reached": sequential["reached"], "hoeffding_plan": plan,
                       "estimate": sequential["estimate"]},
        "features": pixel_features(images),
    }


def nearest_training_share(features: np.ndarray, training_share: float, image_size: int) -> float:
    """Share of samples (pixel features ``[N, D]``) whose nearest training image of the model is a zero."""
    from build_pia_suite import PROPERTY, RECORDS_PER_MODEL

    from hubaudit.data import mnist_with_property_share

    training = mnist_with_property_share(digit=0, share=training_share, n=RECORDS_PER_MODEL, seed=0).resized(image_size)
    references = pixel_features(training.images)
    distances = (features**2).sum(1)[:, None] - 2 * features @ references.T + (references**2).sum(1)[None, :]
    return float(training.column(PROPERTY)[distances.argmin(axis=1)].mean())


def pixel_features(images: np.ndarray) -> np.ndarray:
    """``float [N, H*W*C]`` in 0..1."""
    return images.reshape(len(images), -1) / 255.0


def fit_quapy_quantifiers(image_size: int) -> dict:
    """QuaPy ACC, PACC and EMQ over a logistic regression on pixels, fit on the MNIST digits no suite model saw."""
    from build_pia_suite import PROPERTY, RECORDS_PER_MODEL, SHARES, balanced, unseen_mnist
    from quapy.method.aggregative import ACC, EMQ, PACC
    from sklearn.linear_model import LogisticRegression

    from hubaudit.data import mnist_with_property_share

    seen = [mnist_with_property_share(digit=0, share=share, n=RECORDS_PER_MODEL, seed=0) for share in SHARES]
    unseen = balanced(unseen_mnist(seen).resized(image_size))
    features, labels = pixel_features(unseen.images), unseen.column(PROPERTY)
    quantifiers = {
        "acc": ACC(LogisticRegression(max_iter=2000, C=0.1)),
        "pacc": PACC(LogisticRegression(max_iter=2000, C=0.1)),
        "emq": EMQ(LogisticRegression(max_iter=2000, C=0.1)),
    }
    for quantifier in quantifiers.values():
        quantifier.fit(features, labels)
    return quantifiers


def simulated_coverage(shares: list[float], confusion: np.ndarray, *, n: int, trials: int) -> list[dict]:
    """Per share: coverage of the corrected and the naive 95% interval of the generated share, simulated
    with the annotator's confusion rates as the truth and its calibration split's size per value."""
    from hubaudit.stats import confusion_rates, simulate_coverage

    rates, calibration = confusion_rates(confusion), confusion.sum(axis=1)
    common = {"n": n, "trials": trials, "confusion_rates": rates, "calibration_size": calibration, "n_draws": 1000}
    return [
        {
            "share": share,
            "corrected": simulate_coverage(method="corrected", true_shares=share, **common).to_dict(),
            "naive": simulate_coverage(method="clopper-pearson", true_shares=share, **common).to_dict(),
        }
        for share in shares
    ]


def mean_error(rows: list[dict], estimate) -> float:
    return float(np.mean([abs(estimate(row) - row["training_share"]) for row in rows]))


def print_table(figures: dict) -> None:
    print(f"property inference on the known-ratio suite: n={figures['n']} per model, {figures['sampler']}, "
          f"annotator confusion {figures['annotator_confusion']}")
    print(f"{'model':15} {'train':>5} {'NN':>5} | {'naive':>5} {'err':>5} | {'corr.':>5} {'err':>5} {'95% interval':>15} {'covers':>6} | "
          f"{'ACC':>5} {'PACC':>5} {'EMQ':>5} | {'seq. n':>6} {'plan':>5}")
    for row in figures["models"]:
        corrected, quapy, sequential = row["corrected"], row["quapy"], row["sequential"]
        used = f"{sequential['n_used']}" + ("" if sequential["reached"] else "!")
        print(
            f"{row['model']:15} {row['training_share']:5.2f} {row['nearest_training_share']:5.3f} | {row['naive']['value']:5.3f} {row['naive_error']:5.3f} | "
            f"{corrected['value']:5.3f} {row['corrected_error']:5.3f} [{corrected['low']:.3f}, {corrected['high']:.3f}] "
            f"{'yes' if row['corrected_covers_training_share'] else 'no':>6} | "
            f"{quapy['acc']:5.3f} {quapy['pacc']:5.3f} {quapy['emq']:5.3f} | {used:>6} {sequential['hoeffding_plan']:5}"
        )
    errors = figures["mean_absolute_error"]
    print("mean absolute error vs the training share: " + ", ".join(f"{name} {value:.4f}" for name, value in errors.items()))
    versus_nearest = figures["mean_absolute_error_vs_nearest_training_share"]
    print("mean absolute error vs the nearest-training-image share (NN): "
          + ", ".join(f"{name} {value:.4f}" for name, value in versus_nearest.items()))
    print("simulated coverage of the generated share (95% intervals; corrected / naive classify-and-count):")
    for item in figures["coverage"]:
        print(f"  share {item['share']:.2f}: corrected {item['corrected']['coverage']:.3f} "
              f"(half-width {item['corrected']['mean_half_width']:.3f}), naive {item['naive']['coverage']:.3f}")
    print(f"sequential (half-width {TARGET_HALF_WIDTH}) vs Hoeffding plan: mean "
          f"{np.mean([row['sequential']['n_used'] for row in figures['models']]):.0f} vs "
          f"{figures['models'][0]['sequential']['hoeffding_plan']} samples ('!': not reached within the plan)")


if __name__ == "__main__":
    main()
