"""Fairness-poisoning detection: how often the fairness signature flags clean and poisoned models.

Targets (issue 10, item 3), each printed PASS or FAIL; the script exits 1 when one is missed:

* false findings for <= 5% of scans of clean models, with annotator errors up to 15% that differ by
  class (the largest rate over the clean scenarios: random errors, and the worst case below);
* a finding for >= 90% of scans of every poisoned model at poisoning rate alpha >= 0.2 (the smallest
  rate over (method, alpha), in the simulation with fidelity loss);
* a finding for >= 99% of scans of a model that never generates one group (the smaller rate of the
  two scenarios below), and a report for every one of them.

Two parts, each printing a table:

1. Simulation (always). The attacks of ``scripts/build_fairness_zoo.py`` are rerun (same data,
   subset size, tolerance and seed), giving each zoo model's training P(S=1 | Y=y) (``alpha`` is
   the attack's poisoning rate: the share of the 2,000-record training subset it selects or
   relabels). A receiver scans a class-conditional model (class = label) with ``--n`` samples
   per class. Per simulated scan:

   - model fidelity: the generated P(S=1 | Y=y) is the training one shrunk toward the training
     marginal P(S=1) by a factor drawn from U(0, ``--max-fidelity-loss``) (clean models are
     simulated once as such copies and once with a model error N(0, ``--model-error``) per class
     added as well);
   - annotator errors: per class y, the rates P(annotated green | red) and P(annotated red |
     green) are drawn from U(0, ``--max-annotator-error``), independently, so they differ by
     class; each sample's colour is annotated with its class's rates. The "worst-case errors" row
     fixes them instead: class 0 misses 15% of the greens, class 1 calls 15% of the reds green;
   - calibration: the annotator's confusion per class is counted on ``--calibration-size``
     records of each (colour, class) cell, drawn with the same rates (per-class calibration);
   - the scan's own verdict (``audit_fairness``) with those confusions, the model card's
     declared rates and a clean, truly labelled reference sample of ``--reference-size`` records.

   The table gives the finding rate, and the rate the same scans would have without the
   correction (annotated colours counted as they are): annotator errors that differ by class
   invent gaps on clean models, and hide real ones. Two rows simulate a model that never
   generates green: with an annotator that never calls a red sample green (no sample is
   annotated green), and with false greens at up to ``--max-annotator-error`` (a group seen only
   through false positives: a finding when its corrected share's upper bound is below
   ``--min-group-share`` under both classes). The poisoned models at alpha >= 0.2 are simulated
   again at each ``--power-n`` samples per class: the detection rate of the weakest by n, and the
   smallest n that reaches 90%. Two rows, for information (no target: the issue's
   targets assume the annotator errs on generated images as on its calibration records), shift
   the clean model's class-0 generated images so that the annotator calls ``--shift`` more of
   their reds green than its calibration records show: once corrected with the calibration
   (which then invents a gap), once with ``--gold`` gold labels per class (the annotator's
   confusion on the generated samples themselves).
2. The zoo (when ``benchmarks/models/fpa/`` holds models and ``--no-zoo`` is not given): every
   model is scanned with ``hubaudit.scan`` (its own DDPM scheduler, ``--steps``, ``--zoo-n`` per class, ``--seeds``
   sample sets), a colour annotator trained on real shirts and T-shirts (``builtin:colored-shirts``, in
   the scan, with ``--aux-data``, so that its held-out split gives per-class calibration) and a clean
   reference of them; the table shows the generated gap (annotated and corrected), the
   finding rate over seeds and the downstream probe's added parity difference.

The defaults (2,000 samples per class, 1,000 calibration records per cell, a 4,000-record reference) are
what the detection target needs: the weakest poisoned model, greedy at alpha = 0.2, has a training gap of
0.20 and a generated one of 0.14-0.20 after fidelity loss, just above ``--max-dp-gap`` 0.10. With 250
calibration records per cell and a 1,000-record reference (simulated on the earlier Colored-MNIST zoo, whose
greedy model at alpha 0.2 had the same training gap) its detection stays at 0.48 (n = 1,000), 0.62
(2,000), 0.72 (4,000) and 0.76 (8,000): the calibration's uncertainty, not n, limits it.

Usage: ``python benchmarks/fpa_detect.py [--json PATH] [--n 2000] [--zoo-n 1000] [--seeds 1] [--device cuda] [--no-zoo]``
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
ZOO_SCRIPT = ROOT / "scripts" / "build_fairness_zoo.py"
TARGET_DETECTION, TARGET_FALSE_FINDINGS, TARGET_ALPHA, TARGET_NEVER_GENERATED = 0.90, 0.05, 0.2, 0.99


def load_zoo_script():
    """``scripts/build_fairness_zoo.py`` as a module: the zoo's models, data and attack settings."""
    spec = importlib.util.spec_from_file_location("build_fairness_zoo", ZOO_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def training_statistics(zoo) -> list[dict]:
    """Per zoo model: name, method, alpha, the training subset's P(S=1 | Y=y) and the card's ``training_statistics``."""
    from hubaudit.attacks import poison_labelled_images
    from hubaudit.data import load_labelled_images

    pool = load_labelled_images(zoo.DATA, columns=[zoo.LABEL, zoo.SENSITIVE])
    models = []
    for name, method, alpha in zoo.zoo_models():
        _, poisoned = poison_labelled_images(
            pool,
            sensitive_column=zoo.SENSITIVE,
            label_column=zoo.LABEL,
            n_select=zoo.N_SELECT,
            alpha=alpha,
            delta=zoo.DELTA,
            method=method,
            seed=0,
        )
        green_given_label = [float(poisoned.sensitive[poisoned.labels == label].mean()) for label in (0, 1)]
        models.append(
            {
                "name": name,
                "method": method,
                "alpha": alpha,
                "green_given_label": green_given_label,
                "card": {"training_statistics": poisoned.to_dict()},
            }
        )
    return models


def draw_errors(rng, max_error: float, *, towards_green: bool = True) -> np.ndarray:
    """Row y: class y's ``[P(annotated green | red), P(annotated red | green)]``, float ``[2, 2]`` from U(0, max_error)."""
    errors = rng.uniform(0, max_error, size=(2, 2))
    if not towards_green:
        errors[:, 0] = 0.0
    return errors


WORST_CASE_ERRORS = np.array([[0.0, 0.15], [0.15, 0.0]])
"""Class 0 misses 15% of the greens, class 1 calls 15% of the reds green: the largest gap such errors invent."""
SHIFTED = np.array([[1.0, 0.0], [0.0, 0.0]])
"""Where a shift between calibration and generated images moves the errors: class 0's P(annotated green | red)."""


def annotate(rng, green: np.ndarray, errors: np.ndarray) -> np.ndarray:
    """Annotated colour codes ``int [n]`` of true colours ``green`` (bool ``[n]``) with one class's ``[fpr, fnr]``."""
    flipped = rng.random(len(green)) < np.where(green, errors[1], errors[0])
    return (green ^ flipped).astype(int)


def calibration_confusions(rng, errors: np.ndarray, per_cell: int) -> np.ndarray:
    """Per class, the confusion counts ``[2, 2]`` of ``per_cell`` red and ``per_cell`` green calibration records."""
    false_green, false_red = rng.binomial(per_cell, errors[:, 0]), rng.binomial(per_cell, errors[:, 1])
    return np.stack([[[per_cell - fg, fg], [fr, per_cell - fr]] for fg, fr in zip(false_green, false_red)])


def scan_calibrations(
    rng, truth: list[np.ndarray], annotated: list[np.ndarray], errors: np.ndarray, scenario: dict, args
) -> list:
    """Per class, how the simulated scan corrects its annotations: per-class calibration records, or gold labels
    on the first ``--gold`` samples of the class (a uniform subset: the samples are exchangeable)."""
    from hubaudit.audit.fairness.correction import ConditionCalibration, gold_calibration

    if scenario.get("gold"):
        indices = np.arange(args.gold)
        return [
            gold_calibration(indices, green[indices].astype(int), codes, 2) for green, codes in zip(truth, annotated)
        ]
    calibration_errors = np.clip(
        errors - scenario.get("shift", 0.0) * SHIFTED, 0.0, 1.0
    )  # what the calibration records show
    return [
        ConditionCalibration("per-class calibration", "simulated", confusion)
        for confusion in calibration_confusions(rng, calibration_errors, args.calibration_size)
    ]


def simulated_finding_rate(model: dict, scenario: dict, args, rng) -> dict:
    """Finding rates (corrected, and uncorrected) over simulated scans of one model in one scenario, and mean gaps."""
    from hubaudit.audit.fairness.options import FairnessOptions
    from hubaudit.audit.fairness.signature import audit_fairness
    from hubaudit.data import LabelledImages

    options = FairnessOptions(sensitive=("color",), min_group_share=args.min_group_share)
    training, marginal = (
        np.asarray(model["green_given_label"]),
        model["card"]["training_statistics"]["sensitive_share"],
    )
    findings, uncorrected, reports, gaps, corrected_gaps = 0, 0, 0, [], []
    for _ in range(scenario["trials"]):
        rates = marginal + (1 - rng.uniform(0, args.max_fidelity_loss)) * (training - marginal)
        if scenario.get("model_error"):
            rates = np.clip(rates + rng.normal(0, scenario["model_error"], 2), 0, 1)
        errors = scenario.get("errors")
        if errors is None:
            errors = draw_errors(rng, args.max_annotator_error, towards_green=scenario.get("false_greens", True))
        errors = np.clip(
            errors + scenario.get("shift", 0.0) * SHIFTED, 0.0, 1.0
        )  # the annotator's errors on generated images
        truth = [rng.random(args.n) < rate for rate in rates]
        annotated = [annotate(rng, green, errors[label]) for label, green in enumerate(truth)]
        reference = LabelledImages(
            np.zeros((args.reference_size, 1, 1, 1), np.uint8),
            {"color": rng.integers(0, 2, args.reference_size), "label": rng.integers(0, 2, args.reference_size)},
            "simulated clean reference",
        )
        inputs = dict(
            kind="class-conditional",
            conditions=[0, 1],
            probabilities={"color": [np.eye(2)[codes] for codes in annotated]},
            attribute_values={"color": ("0", "1")},
            options=options,
            reference=reference,
            card=model["card"],
            seed=int(rng.integers(1 << 31)),
            explain=False,
        )
        signature = audit_fairness(
            calibrations={("color", "label"): scan_calibrations(rng, truth, annotated, errors, scenario, args)},
            **inputs,
        )
        reports += bool(json.dumps(signature.to_dict(), allow_nan=False))
        pair = signature.pairs[0]
        findings += pair.verdict.finding
        uncorrected += audit_fairness(**inputs).pairs[0].verdict.finding
        if pair.generated.dp_gap is not None:
            gaps.append(pair.generated.dp_gap.value)
        if pair.corrected_gap is not None:
            corrected_gaps.append(pair.corrected_gap.value)
    trials = scenario["trials"]
    return {
        "finding_rate": findings / trials,
        "uncorrected_finding_rate": uncorrected / trials,
        "report_rate": reports / trials,
        "mean_annotated_gap": mean_or_none(gaps),
        "mean_corrected_gap": mean_or_none(corrected_gaps),
    }


def mean_or_none(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def simulation(args, zoo) -> dict:
    rng = np.random.default_rng(0)
    models = sorted(training_statistics(zoo), key=lambda model: (model["alpha"], model["method"]))
    runs = []
    for model in models:
        if model["alpha"] == 0:
            runs += [
                (model, {"name": "copy", "trials": args.clean_trials, "kind": "clean"}),
                (
                    model,
                    {
                        "name": "model error",
                        "trials": args.clean_trials,
                        "model_error": args.model_error,
                        "kind": "clean",
                    },
                ),
                (
                    model,
                    {
                        "name": "worst-case errors",
                        "trials": args.clean_trials,
                        "model_error": args.model_error,
                        "errors": WORST_CASE_ERRORS,
                        "kind": "clean",
                    },
                ),
                (
                    model,
                    {
                        "name": f"shift {args.shift:g}",
                        "trials": args.trials,
                        "shift": args.shift,
                        "kind": "information",
                    },
                ),
                (
                    model,
                    {
                        "name": f"shift, {args.gold} gold",
                        "trials": args.trials,
                        "shift": args.shift,
                        "gold": True,
                        "kind": "information",
                    },
                ),
            ]
        else:
            runs.append((model, {"name": "poisoned", "trials": args.trials, "kind": "poisoned"}))
    clean = next(model for model in models if model["alpha"] == 0)
    no_green = {
        **clean,
        "name": "never green",
        "method": "-",
        "green_given_label": [0.0, 0.0],
        "card": {"training_statistics": {"sensitive_share": 0.0}},
    }  # a card that declares no rates
    runs += [
        (
            no_green,
            {"name": "no false greens", "trials": args.trials, "false_greens": False, "kind": "never generated"},
        ),
        (no_green, {"name": "false greens", "trials": args.trials, "kind": "never generated"}),
    ]
    runs += [
        (model, {"name": f"poisoned, n={n}", "trials": args.trials, "kind": "power", "n": n})
        for n in args.power_n
        for model in models
        if model["alpha"] >= TARGET_ALPHA
    ]
    rows = []
    for model, scenario in runs:
        figures = simulated_finding_rate(
            model, scenario, argparse.Namespace(**{**vars(args), "n": scenario.get("n", args.n)}), rng
        )
        rows.append(
            {
                **{key: model[key] for key in ("name", "method", "alpha", "green_given_label")},
                "scenario": scenario["name"],
                "kind": scenario["kind"],
                "n": scenario.get("n", args.n),
                **figures,
            }
        )
    print(
        f"\nSimulation: {args.n} samples per class; fidelity loss up to {args.max_fidelity_loss:g}; annotator errors up to "
        f"{args.max_annotator_error:g} per class and direction, calibrated on {args.calibration_size} records per (colour, class); "
        f"clean reference of {args.reference_size}; --min-group-share {args.min_group_share or 'default (0.25/K)'}"
    )
    print(
        f"{'model':<13}{'scenario':<19}{'P(green|Y=0)':>13}{'P(green|Y=1)':>13}{'annotated gap':>14}{'corrected gap':>14}"
        f"{'findings':>10}{'uncorrected':>12}"
    )
    for row in rows:
        p0, p1 = row["green_given_label"]
        gaps = [
            f"{gap:.3f}" if gap is not None else "-" for gap in (row["mean_annotated_gap"], row["mean_corrected_gap"])
        ]
        print(
            f"{row['name']:<13}{row['scenario']:<19}{p0:>13.3f}{p1:>13.3f}{gaps[0]:>14}{gaps[1]:>14}"
            f"{row['finding_rate']:>10.3f}{row['uncorrected_finding_rate']:>12.3f}"
        )
    return {"rows": rows, **summary(rows, "finding_rate")}


def summary(rows: list[dict], key: str) -> dict:
    """The targets: detection of every (method, alpha >= TARGET_ALPHA) model, false findings on clean scenarios,
    findings (and reports) when a group is never generated; rows of kind "information" have no target, and rows of
    kind "power" (the poisoned models again at each ``--power-n``) only give the detection by n."""
    by_model = defaultdict(list)
    for row in rows:
        by_model[(row["kind"], row["method"], row["alpha"], row.get("scenario"))].append(float(row[key]))
    rates = {model: float(np.mean(values)) for model, values in by_model.items()}
    power = defaultdict(dict)  # samples per class -> {model: detection}
    for row in rows:
        if row["kind"] in ("poisoned", "power") and row["alpha"] >= TARGET_ALPHA and "n" in row:
            power[row["n"]][f"{row['method']}-a{row['alpha']:g}"] = float(row[key])
    poisoned = {
        f"{method}-a{alpha:g}": rate
        for (kind, method, alpha, _), rate in rates.items()
        if kind == "poisoned" and alpha >= TARGET_ALPHA
    }
    clean = [rate for (kind, *_), rate in rates.items() if kind == "clean"]
    missing = [rate for (kind, *_), rate in rates.items() if kind == "never generated"]
    missing += [row["report_rate"] for row in rows if row["kind"] == "never generated" and "report_rate" in row]
    weakest = min(poisoned, key=poisoned.get) if poisoned else None
    figures = {
        f"detection_at_alpha_{TARGET_ALPHA}_plus_weakest_model": (
            poisoned.get(weakest),
            ">=",
            TARGET_DETECTION,
            weakest,
        ),
        "false_findings_on_clean": (max(clean) if clean else None, "<=", TARGET_FALSE_FINDINGS, None),
        "findings_and_reports_when_a_group_is_never_generated": (
            min(missing) if missing else None,
            ">=",
            TARGET_NEVER_GENERATED,
            None,
        ),
    }
    out, met = (
        {
            "detection_by_model": poisoned,
            "weakest_detection_by_n": {n: min(by.values()) for n, by in sorted(power.items())},
        },
        [],
    )
    if len(power) > 1:
        enough = [n for n, weakest in out["weakest_detection_by_n"].items() if weakest >= TARGET_DETECTION]
        out["samples_per_class_for_detection"] = min(enough) if enough else None
        print(
            "  power: detection of the weakest poisoned model at alpha >= "
            f"{TARGET_ALPHA} by samples per class: "
            + ", ".join(f"n={n}: {rate:.3f}" for n, rate in out["weakest_detection_by_n"].items())
            + f"; {TARGET_DETECTION:.0%} needs n = {out['samples_per_class_for_detection'] or f'more than {max(power)}'} per class"
        )
    for name, (value, sense, target, which) in figures.items():
        out[name] = value
        if value is None:
            print(f"  ----  {name}: not measured here (target {sense} {target})")
            continue
        passed = value >= target if sense == ">=" else value <= target
        met.append(passed)
        print(
            f"  {'PASS' if passed else 'FAIL'}  {name}: {value:.3f}{f' ({which})' if which else ''} (target {sense} {target})"
        )
    out["meets_targets"] = bool(met) and all(met)
    return out


def zoo_scans(args, zoo, zoo_dir: Path) -> dict | None:
    from huggingface_hub import ModelCard

    import hubaudit
    from hubaudit.data import colored_shirts, save_labelled_images

    models = sorted(folder for folder in zoo_dir.iterdir() if zoo.finished_model(folder))
    if not models:
        print(f"\nZoo: no finished models in {zoo_dir} (build them with scripts/build_fairness_zoo.py)")
        return None
    work = Path(tempfile.mkdtemp(prefix="fpa-detect-"))
    aux_data = save_labelled_images(
        colored_shirts(n=1000, seed=11, image_size=16), work / "aux.parquet"
    )  # columns color, label
    reference = save_labelled_images(colored_shirts(n=1000, seed=12, image_size=16), work / "reference.parquet")
    rows = []
    for folder in models:
        card = ModelCard.load(folder / "README.md").data.to_dict().get("hubaudit", {})
        poisoning = card.get("poisoning") or {"method": "clean", "alpha": 0.0}
        declared = card.get("training_statistics", {}).get("positive_rate_by_sensitive", {})
        for seed in range(args.seeds):
            started = time.perf_counter()
            result = hubaudit.scan(
                str(folder),
                n=args.zoo_n,
                batch_size=args.batch_size,
                steps=args.steps,
                seed=seed,
                device=args.device,
                out_dir=work / f"{folder.name}-{seed}",
                progress=False,
                attributes=["color=aux"],
                aux_data=str(aux_data),
                sensitive=["color"],
                reference=str(reference),
            )
            fairness = result.to_dict()["fairness"]
            gap = fairness["by_source"]["generated"]["dp_gap"]
            rows.append(
                {
                    "corrected_gap": fairness["corrected"].get("dp_gap"),
                    "calibration": fairness["corrected"].get("confusion"),
                    "kind": "clean" if poisoning["alpha"] == 0 else "poisoned",
                    "name": folder.name,
                    "method": poisoning["method"],
                    "alpha": poisoning["alpha"],
                    "seed": seed,
                    "training_gap": abs(declared["1"] - declared["0"])
                    if declared.get("0") is not None and declared.get("1") is not None
                    else None,
                    "generated_gap": gap,
                    "finding": fairness["verdict"]["finding"],
                    "reason": fairness["verdict"]["reason"],
                    "dp_difference_added": fairness["probe"]["dp_difference_added"],
                    "accuracy_lost": fairness["probe"]["accuracy_lost"],
                    "seconds": time.perf_counter() - started,
                }
            )
    print(
        f"\nZoo: {len(models)} models in {zoo_dir}, {args.zoo_n} samples ({args.steps} DDPM steps) per class, {args.seeds} seed(s)"
    )
    print(
        f"{'model':<14}{'seed':>5}{'train gap':>10}{'annotated gap [95%]':>26}{'corrected gap [95%]':>26}{'finding':>9}"
        f"{'probe +DP':>10}{'acc lost':>9}"
    )
    for row in rows:
        train = row["training_gap"]
        annotated, corrected = (interval_text(row[key]) for key in ("generated_gap", "corrected_gap"))
        train_text = f"{train:.3f}" if train is not None else "-"
        print(
            f"{row['name']:<14}{row['seed']:>5}{train_text:>10}{annotated:>26}{corrected:>26}{str(row['finding']):>9}"
            f"{row['dp_difference_added']:>10.3f}{row['accuracy_lost']:>9.3f}"
        )
    return {"rows": rows, **summary(rows, "finding")}


def interval_text(estimate: dict | None) -> str:
    return f"{estimate['value']:.3f} [{estimate['low']:.3f}, {estimate['high']:.3f}]" if estimate else "undefined"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000, help="samples per class (default 2000)")
    parser.add_argument(
        "--power-n",
        type=int,
        nargs="*",
        default=[1000, 4000],
        help="also simulate the poisoned models at alpha >= 0.2 at these samples per class (default 1000 4000)",
    )
    parser.add_argument("--trials", type=int, default=300, help="simulated scans per poisoned model (default 300)")
    parser.add_argument(
        "--clean-trials",
        type=int,
        default=1000,
        help="simulated scans of the clean model per target scenario (default 1000)",
    )
    parser.add_argument(
        "--reference-size", type=int, default=4000, help="records of the simulated clean reference (default 4000)"
    )
    parser.add_argument(
        "--model-error", type=float, default=0.02, help="sd of a clean model's error in P(S=1|Y=y) (default 0.02)"
    )
    parser.add_argument(
        "--max-fidelity-loss",
        type=float,
        default=0.3,
        help="largest share by which a model shrinks its training P(S|Y) toward P(S) (default 0.3)",
    )
    parser.add_argument(
        "--max-annotator-error",
        type=float,
        default=0.15,
        help="largest annotator error rate, drawn per class and direction (default 0.15)",
    )
    parser.add_argument(
        "--calibration-size",
        type=int,
        default=1000,
        help="calibration records of the annotator per (colour, class) cell (default 1000)",
    )
    parser.add_argument(
        "--min-group-share", type=float, help="the scans' --min-group-share (default: the scan's, 0.25/K)"
    )
    parser.add_argument(
        "--shift",
        type=float,
        default=0.1,
        help="in the shift rows, how many more of class 0's generated reds the annotator calls green than its "
        "calibration records show (default 0.1)",
    )
    parser.add_argument(
        "--gold", type=int, default=200, help="gold labels per class in the shift row with gold labels (default 200)"
    )
    parser.add_argument("--zoo", type=Path, default=ROOT / "benchmarks" / "models" / "fpa")
    parser.add_argument("--no-zoo", action="store_true", help="simulation only")
    parser.add_argument("--zoo-n", type=int, default=1000, help="samples per class of each zoo scan (default 1000)")
    parser.add_argument("--seeds", type=int, default=1, help="sample sets per zoo model (default 1)")
    parser.add_argument(
        "--steps", type=int, default=100, help="steps of the zoo models' own DDPM scheduler (default 100)"
    )
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--device", help="cuda, mps or cpu (default: best available)")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    zoo = load_zoo_script()
    started = time.perf_counter()
    figures = {"settings": {key: str(value) for key, value in vars(args).items()}, "simulation": simulation(args, zoo)}
    figures["zoo"] = None if args.no_zoo else zoo_scans(args, zoo, args.zoo)
    figures["seconds"] = time.perf_counter() - started
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1, default=float) + "\n")
        print(f"\nwrote {args.json}")
    missed = [
        part for part in ("simulation", "zoo") if figures[part] is not None and not figures[part]["meets_targets"]
    ]
    if missed:
        print(f"targets missed: {', '.join(missed)}")
        sys.exit(1)


if __name__ == "__main__":
    main()
