"""Corrected-share intervals side by side: hubaudit's Rogan-Gladen interval and QuaPy's (ACC + bootstrap, BayesianCC).

Simulation with a known truth. A feature ``x ~ N(0, 1)`` for absent, ``N(2, 1)`` for present; a
scikit-learn ``LogisticRegression`` annotator (tpr about 0.84, fpr about 0.16; the newton-cholesky
solver, which finds lbfgs's fit ten times faster on one feature). Each trial draws, for calibration
size ``c`` (per class) and true share ``p``:

- a training set of ``c`` per class, on which the annotator is fitted;
- a labelled calibration split of ``c`` per class;
- a test sample of ``n`` (default 2000), labels ``Bernoulli(p)``: the share to cover is ``p``, the
  population's (as ``simulate_coverage`` of ``tests/coverage_simulation.py`` checks it).

Every method gets the same fitted annotator and the same calibration split, so they differ only in
how they build the interval:

- **hubaudit**: ``corrected_binary_share(k, n, confusion=C)`` with ``C`` the annotator's confusion
  counts on the calibration split, ``k`` its positive predictions on the test sample; default draws
  (4000), as audits call it;
- **ACC + bootstrap (test)**: ``AggregativeBootstrap(ACC(annotator, fit_classifier=False,
  val_split=None, solver="exact-raise", norm="mapsimplex"), n_test_samples=500)`` fitted on the
  calibration split (with that solver and norm ACC's point estimate *is* Rogan-Gladen clipped to
  [0, 1]: a target checks they agree). It resamples the test predictions only, so it ignores
  the calibration split's error by construction;
- **ACC + bootstrap (calibration and test)**: the same with ``n_train_samples=100,
  n_test_samples=10``, QuaPy's model-based bootstrap that also resamples the calibration split.
  It is reported as unavailable when QuaPy raises (0.2.3 does, on every fit);
- **BayesianCC**: ``quapy.method.confidence.BayesianCC(annotator, fit_classifier=False,
  val_split=None)`` fitted on the calibration split, its equal-tailed 95% posterior interval
  (QuaPy's defaults: NUTS, 500 warm-up, 1000 draws, uniform priors). It needs ``quapy[bayes]``
  (jax, numpyro, pystan; with QuaPy 0.2.3 a numpyro before 0.20, 0.22 fails while tracing, and so a
  jax before 0.5; the ``bench`` extra pins them), and
  a trial takes seconds (the sampler is compiled anew for each), so it runs on the first
  ``--bayesian-trials`` trials of each row only (default 0: skipped).

QuaPy's bootstrap resamples run in this process (joblib's sequential backend) so that its
``random_state`` makes them reproducible; a rerun with the same ``--seed`` gives the same table.

Targets (printed PASS/FAIL; exit 1 on any miss): hubaudit's coverage >= 0.93 in every row, and its
point estimate equals ACC's in every trial. QuaPy's coverage and half-widths are a comparison,
not a target.

The six rows (c in 100, 500; p in 0.1, 0.3, 0.5) run in ``--jobs`` processes (default 2).

Usage: ``python benchmarks/quantifiers.py [--trials 200] [--bayesian-trials 0] [--n 2000] [--seed 0]
[--jobs 2] [--json PATH]``; needs the ``bench`` extra (quapy).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import numpy as np

CALIBRATION_SIZES = (100, 500)
TRUE_SHARES = (0.1, 0.3, 0.5)
CLASS_SEPARATION = 2.0
CONFIDENCE = 0.95
TARGET_COVERAGE = 0.93
POINT_TOLERANCE = 1e-9
METHODS = {
    "hubaudit": "hubaudit Rogan-Gladen",
    "acc_bootstrap_test": "ACC + bootstrap (test)",
    "acc_bootstrap_both": "ACC + bootstrap (cal.+test)",
    "bayesian_cc": "BayesianCC",
}

Interval = tuple[float, float]


def draw(rng: np.random.Generator, labels: np.ndarray) -> np.ndarray:
    """Features ``float [N, 1]`` for ``labels`` ``int [N]``: ``N(2 * label, 1)``."""
    return (rng.normal(size=labels.size) + CLASS_SEPARATION * labels)[:, None]


def balanced(rng: np.random.Generator, per_class: int) -> tuple[np.ndarray, np.ndarray]:
    labels = np.repeat([0, 1], per_class)
    return draw(rng, labels), labels


def quapy_interval(quantifier, test: np.ndarray) -> Interval:
    """QuaPy's 95% interval of the present share (class 1)."""
    from joblib import parallel_config

    with parallel_config(backend="sequential"):
        _, region = quantifier.predict_conf(test, confidence_level=CONFIDENCE)
    return float(region.I_low[1]), float(region.I_high[1])


def rogan_gladen_acc(classifier):
    """QuaPy's ACC over an already fitted annotator, solved exactly and projected: Rogan-Gladen clipped to [0, 1]."""
    from quapy.method.aggregative import ACC

    return ACC(classifier, fit_classifier=False, val_split=None, solver="exact-raise", norm="mapsimplex")


def quapy_methods(classifier, seed: int) -> dict[str, Callable]:
    """Builders of the QuaPy interval methods of one trial (a builder may raise, e.g. without quapy[bayes])."""
    from quapy.method.confidence import AggregativeBootstrap, BayesianCC

    return {
        "acc_bootstrap_test": lambda: AggregativeBootstrap(
            rogan_gladen_acc(classifier), n_test_samples=500, random_state=seed
        ),
        "acc_bootstrap_both": lambda: AggregativeBootstrap(
            rogan_gladen_acc(classifier), n_train_samples=100, n_test_samples=10, random_state=seed
        ),
        "bayesian_cc": lambda: BayesianCC(classifier, fit_classifier=False, val_split=None, mcmc_seed=seed),
    }


def simulate_row(calibration_size: int, share: float, *, n: int, trials: int, bayesian_trials: int, seed: int) -> dict:
    """One table row: per method, its coverage and mean half-width over the trials it answered.

    A QuaPy method that raises is recorded in the row's ``unavailable`` (name -> error) and not tried again.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import confusion_matrix

    from hubaudit.stats import corrected_binary_share

    rng = np.random.default_rng([seed, calibration_size, round(share * 1000)])
    unavailable: dict[str, str] = {}
    outcomes: dict[str, list[tuple[bool, float]]] = {name: [] for name in METHODS}
    point_gap = 0.0
    for trial in range(trials):
        classifier = LogisticRegression(solver="newton-cholesky").fit(*balanced(rng, calibration_size))
        calibration = balanced(rng, calibration_size)
        test = draw(rng, (rng.random(n) < share).astype(int))
        trial_seed = int(rng.integers(2**31))
        positives = int(classifier.predict(test).sum())
        confusion = confusion_matrix(calibration[1], classifier.predict(calibration[0]), labels=[0, 1])
        ours = corrected_binary_share(
            positives, n, confusion=confusion, confidence=CONFIDENCE, random_state=trial_seed
        )
        intervals: dict[str, Interval] = {"hubaudit": (ours.low, ours.high)}
        acc_share = float(rogan_gladen_acc(classifier).fit(*calibration).quantify(test)[1])
        point_gap = max(point_gap, abs(ours.value - acc_share))
        for name, build in quapy_methods(classifier, trial_seed).items():
            if name in unavailable or (name == "bayesian_cc" and trial >= bayesian_trials):
                continue
            try:
                intervals[name] = quapy_interval(build().fit(*calibration), test)
            except Exception as err:  # noqa: BLE001 - reported as the method being unavailable
                unavailable[name] = f"{type(err).__name__}: {err}".splitlines()[0][:200]
        for name, (low, high) in intervals.items():
            outcomes[name].append((low <= share <= high, (high - low) / 2))
    return {
        "calibration_per_class": calibration_size,
        "share": share,
        "point_estimate_max_difference": point_gap,
        "unavailable": unavailable,
        "methods": {
            name: {
                "trials": len(results),
                "coverage": float(np.mean([hit for hit, _ in results])) if results else None,
                "mean_half_width": float(np.mean([width for _, width in results])) if results else None,
            }
            for name, results in outcomes.items()
        },
    }


def evaluate(rows: list[dict]) -> dict[str, bool]:
    targets = {}
    for row in rows:
        ours = row["methods"]["hubaudit"]
        label = f"c={row['calibration_per_class']} share={row['share']}"
        targets[f"hubaudit coverage {ours['coverage']:.3f} >= {TARGET_COVERAGE} at {label}"] = (
            ours["coverage"] >= TARGET_COVERAGE
        )
    gap = max(row["point_estimate_max_difference"] for row in rows)
    targets[f"hubaudit's point estimate equals QuaPy ACC's in every trial (max difference {gap:.1e})"] = (
        gap <= POINT_TOLERANCE
    )
    return targets


def print_table(figures: dict) -> None:
    settings = figures["settings"]
    print(
        f"95% intervals of a corrected share: classes N(0,1) / N({CLASS_SEPARATION:g},1), logistic-regression annotator, "
        f"n={settings['n']}, {settings['trials']} trials per row (BayesianCC: {settings['bayesian_trials']}); "
        f"c = calibration samples per class; cover / mean half-width"
    )
    print(f"{'c':>4} {'share':>5} | " + " | ".join(f"{label:>27}" for label in METHODS.values()))
    for row in figures["rows"]:
        cells = []
        for name in METHODS:
            result = row["methods"][name]
            cells.append(
                f"{'n/a':>27}"
                if not result["trials"]
                else f"{result['coverage']:>13.3f} / {result['mean_half_width']:.4f}".rjust(27)
            )
        print(f"{row['calibration_per_class']:>4} {row['share']:>5.2f} | " + " | ".join(cells))
    for name, reason in figures["unavailable"].items():
        print(f"n/a {METHODS[name]}: {reason}")
    if not settings["bayesian_trials"] and "bayesian_cc" not in figures["unavailable"]:
        print(f"n/a {METHODS['bayesian_cc']}: skipped (--bayesian-trials 0; a trial takes seconds)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=200, help="simulated audits per row (default 200)")
    parser.add_argument(
        "--bayesian-trials",
        type=int,
        default=0,
        help="of those, how many also run BayesianCC (default 0: skipped; seconds each)",
    )
    parser.add_argument("--n", type=int, default=2000, help="test samples per trial (default 2000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2, help="rows simulated in parallel processes (default 2)")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)
    if args.trials < 1 or args.n < 1 or args.jobs < 1 or args.bayesian_trials < 0:
        parser.error("--trials, --n and --jobs must be positive, --bayesian-trials not negative")

    from joblib import Parallel, delayed

    started = time.perf_counter()
    bayesian_trials = min(args.bayesian_trials, args.trials)
    rows = Parallel(n_jobs=args.jobs)(
        delayed(simulate_row)(c, share, n=args.n, trials=args.trials, bayesian_trials=bayesian_trials, seed=args.seed)
        for c in CALIBRATION_SIZES
        for share in TRUE_SHARES
    )
    figures = {
        "settings": {
            "trials": args.trials,
            "bayesian_trials": bayesian_trials,
            "n": args.n,
            "seed": args.seed,
            "jobs": args.jobs,
            "confidence": CONFIDENCE,
            "class_separation": CLASS_SEPARATION,
        },
        "versions": {package: version(package) for package in ("hubaudit", "quapy", "scikit-learn", "numpy")},
        "rows": rows,
        "unavailable": {name: reason for row in rows for name, reason in row["unavailable"].items()},
    }
    print_table(figures)
    targets = evaluate(rows)
    for target, met in targets.items():
        print(f"{'PASS' if met else 'FAIL'}  {target}")
    figures |= {
        "targets": targets,
        "passed": all(targets.values()),
        "seconds": round(time.perf_counter() - started, 1),
    }
    print(f"{figures['seconds']} s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=1) + "\n")
    return 0 if figures["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
