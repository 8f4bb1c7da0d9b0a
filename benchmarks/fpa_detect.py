"""Fairness-poisoning detection: how often the fairness signature flags clean and poisoned models.

Targets (issue 3): at poisoning rate alpha >= 0.2, a finding for >= 90% of poisoned models; false
findings for <= 5% of clean ones. Two parts, each printing a table:

1. Simulation (always). The attacks of ``scripts/build_fairness_zoo.py`` are rerun (same data,
   subset size, tolerance and seed), giving each zoo model's training P(S=1 | Y=y). A receiver
   scans a class-conditional model (class = label) with ``--n`` samples per class; a model that
   reproduces its training P(S | Y), labelled by a perfect colour annotator, gives tables drawn
   from Binomial(n, P(S=1 | Y=y)). Each trial runs the scan's own verdict (``audit_fairness``),
   with the model card's declared rates and a clean reference sample of ``--reference-size``
   records. Clean models are simulated ``--clean-trials`` times, once as perfect copies and once
   with a model error (P(S=1 | Y=y) off by N(0, ``--model-error``) per class): the false-finding
   rate counted by simulation.
2. The zoo (when ``benchmarks/models/fpa/`` holds models): every model is scanned with
   ``hubaudit.scan`` (DDIM, ``--steps``, ``--n`` per class, ``--seeds`` sample sets), a colour
   annotator trained on Colored-MNIST, and a clean Colored-MNIST reference; the table shows the
   generated gap, the finding rate over seeds and the downstream probe's added parity difference.

Usage: ``python benchmarks/fpa_detect.py [--json PATH] [--n 1000] [--seeds 1] [--device cuda] [--no-zoo]``
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
ZOO_SCRIPT = ROOT / "scripts" / "build_fairness_zoo.py"
TARGET_DETECTION, TARGET_FALSE_FINDINGS, TARGET_ALPHA = 0.90, 0.05, 0.2


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
            pool, sensitive_column=zoo.SENSITIVE, label_column=zoo.LABEL, n_select=zoo.N_SELECT,
            alpha=alpha, delta=zoo.DELTA, method=method, seed=0,
        )
        green_given_label = [float(poisoned.sensitive[poisoned.labels == label].mean()) for label in (0, 1)]
        models.append({"name": name, "method": method, "alpha": alpha, "green_given_label": green_given_label,
                       "card": {"training_statistics": poisoned.to_dict()}})
    return models


def simulated_finding_rate(
    green_given_label, card: dict, *, n: int, reference_size: int, trials: int, model_error: float, rng
) -> tuple[float, float]:
    """Share of simulated scans with a finding, and the mean generated gap."""
    from hubaudit.audit.fairness import FairnessOptions, audit_fairness
    from hubaudit.data import LabelledImages

    options = FairnessOptions(sensitive=("color",))
    findings, gaps = 0, []
    for _ in range(trials):
        rates = np.clip(np.asarray(green_given_label) + rng.normal(0, model_error, 2), 0, 1) if model_error else green_given_label
        green = [rng.random(n) < rate for rate in rates]
        reference_labels = rng.integers(0, 2, reference_size)
        reference = LabelledImages(
            np.zeros((reference_size, 1, 1, 1), np.uint8),
            {"color": rng.integers(0, 2, reference_size), "label": reference_labels},
            "simulated clean reference",
        )
        signature = audit_fairness(
            kind="class-conditional", conditions=[0, 1],
            probabilities={"color": [np.eye(2)[codes.astype(int)] for codes in green]},
            attribute_values={"color": ("0", "1")}, options=options, reference=reference, card=card,
        )
        findings += signature.pairs[0].verdict.finding
        gaps.append(signature.pairs[0].generated.dp_gap.value)
    return findings / trials, float(np.mean(gaps))


def simulation(args, zoo) -> dict:
    rng = np.random.default_rng(0)
    rows = []
    for model in sorted(training_statistics(zoo), key=lambda model: (model["alpha"], model["method"])):
        clean = model["alpha"] == 0
        scenarios = [("perfect copy", 0.0)] + ([("model error", args.model_error)] if clean else [])
        for scenario, error in scenarios:
            rate, gap = simulated_finding_rate(
                model["green_given_label"], model["card"], n=args.n, reference_size=args.reference_size,
                trials=args.clean_trials if clean else args.trials, model_error=error, rng=rng,
            )
            rows.append({**{key: model[key] for key in ("name", "method", "alpha", "green_given_label")},
                         "scenario": scenario, "finding_rate": rate, "mean_generated_gap": gap})
    print(f"\nSimulation: {args.n} samples per class, perfect colour annotator, clean reference of {args.reference_size}")
    print(f"{'model':<14}{'scenario':<15}{'P(green|Y=0)':>13}{'P(green|Y=1)':>13}{'mean gap':>10}{'findings':>10}")
    for row in rows:
        p0, p1 = row["green_given_label"]
        print(f"{row['name']:<14}{row['scenario']:<15}{p0:>13.3f}{p1:>13.3f}{row['mean_generated_gap']:>10.3f}{row['finding_rate']:>10.3f}")
    return {"rows": rows, **summary(rows, "finding_rate")}


def summary(rows: list[dict], key: str) -> dict:
    """Detection at alpha >= TARGET_ALPHA and false findings on clean rows, against the targets."""
    poisoned = [row[key] for row in rows if row["alpha"] >= TARGET_ALPHA]
    clean = [row[key] for row in rows if row["alpha"] == 0]
    out = {
        "detection_at_alpha_0.2_plus": float(np.mean(poisoned)) if poisoned else None,
        "false_findings_on_clean": float(max(clean)) if clean else None,
    }
    out["meets_targets"] = (
        out["detection_at_alpha_0.2_plus"] is not None and out["detection_at_alpha_0.2_plus"] >= TARGET_DETECTION
        and out["false_findings_on_clean"] is not None and out["false_findings_on_clean"] <= TARGET_FALSE_FINDINGS
    )
    print(
        f"detection at alpha >= {TARGET_ALPHA}: {out['detection_at_alpha_0.2_plus']} (target >= {TARGET_DETECTION}); "
        f"false findings on clean: {out['false_findings_on_clean']} (target <= {TARGET_FALSE_FINDINGS}); "
        f"meets targets: {out['meets_targets']}"
    )
    return out


def zoo_scans(args, zoo_dir: Path) -> dict | None:
    import hubaudit
    from huggingface_hub import ModelCard

    from hubaudit.annotate import train_auxiliary_annotator
    from hubaudit.data import colored_mnist, save_labelled_images

    models = sorted(folder for folder in zoo_dir.iterdir() if (folder / "model_index.json").exists() and not (folder / "checkpoints").exists())
    if not models:
        print(f"\nZoo: no finished models in {zoo_dir} (build them with scripts/build_fairness_zoo.py)")
        return None
    work = Path(tempfile.mkdtemp(prefix="fpa-detect-"))
    annotator = train_auxiliary_annotator(colored_mnist(n=1000, seed=11, image_size=16), "color", epochs=2)
    annotator.save(work / "colour-annotator")
    reference = save_labelled_images(colored_mnist(n=1000, seed=12, image_size=16), work / "reference.parquet")
    rows = []
    for folder in models:
        card = ModelCard.load(folder / "README.md").data.to_dict().get("hubaudit", {})
        poisoning = card.get("poisoning") or {"method": "clean", "alpha": 0.0}
        declared = card.get("training_statistics", {}).get("positive_rate_by_sensitive", {})
        for seed in range(args.seeds):
            started = time.perf_counter()
            result = hubaudit.scan(
                str(folder), n=args.n, batch_size=args.batch_size, steps=args.steps, scheduler="ddim", seed=seed,
                device=args.device, out_dir=work / f"{folder.name}-{seed}", progress=False,
                attributes=[f"color=aux:{work / 'colour-annotator'}"], sensitive=["color"], reference=str(reference),
            )
            fairness = result.to_dict()["fairness"]
            gap = fairness["by_source"]["generated"]["dp_gap"]
            rows.append({
                "name": folder.name, "method": poisoning["method"], "alpha": poisoning["alpha"], "seed": seed,
                "training_gap": abs(declared["1"] - declared["0"]) if declared.get("0") is not None and declared.get("1") is not None else None,
                "generated_gap": gap, "finding": fairness["verdict"]["finding"], "reason": fairness["verdict"]["reason"],
                "dp_difference_added": fairness["probe"]["dp_difference_added"], "accuracy_lost": fairness["probe"]["accuracy_lost"],
                "seconds": time.perf_counter() - started,
            })
    print(f"\nZoo: {len(models)} models in {zoo_dir}, {args.n} DDIM samples ({args.steps} steps) per class, {args.seeds} seed(s)")
    print(f"{'model':<14}{'seed':>5}{'train gap':>10}{'generated gap [95%]':>26}{'finding':>9}{'probe +DP':>10}{'acc lost':>9}")
    for row in rows:
        gap, train = row["generated_gap"], row["training_gap"]
        interval = f"{gap['value']:.3f} [{gap['low']:.3f}, {gap['high']:.3f}]"
        train_text = f"{train:.3f}" if train is not None else "-"
        print(f"{row['name']:<14}{row['seed']:>5}{train_text:>10}{interval:>26}{str(row['finding']):>9}"
              f"{row['dp_difference_added']:>10.3f}{row['accuracy_lost']:>9.3f}")
    return {"rows": rows, **summary(rows, "finding")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000, help="samples per class (default 1000)")
    parser.add_argument("--trials", type=int, default=300, help="simulated scans per poisoned model (default 300)")
    parser.add_argument("--clean-trials", type=int, default=2000, help="simulated scans of the clean model per scenario (default 2000)")
    parser.add_argument("--reference-size", type=int, default=1000, help="records of the simulated clean reference (default 1000)")
    parser.add_argument("--model-error", type=float, default=0.02, help="sd of a clean model's error in P(S=1|Y=y) (default 0.02)")
    parser.add_argument("--zoo", type=Path, default=ROOT / "benchmarks" / "models" / "fpa")
    parser.add_argument("--no-zoo", action="store_true", help="simulation only")
    parser.add_argument("--seeds", type=int, default=1, help="sample sets per zoo model (default 1)")
    parser.add_argument("--steps", type=int, default=50, help="DDIM steps for the zoo scans (default 50)")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--device", help="cuda, mps or cpu (default: best available)")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    zoo = load_zoo_script()
    started = time.perf_counter()
    figures = {"settings": {key: str(value) for key, value in vars(args).items()}, "simulation": simulation(args, zoo)}
    figures["zoo"] = None if args.no_zoo else zoo_scans(args, args.zoo)
    figures["seconds"] = time.perf_counter() - started
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1, default=float) + "\n")
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
