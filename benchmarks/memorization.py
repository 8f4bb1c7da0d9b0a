"""Memorization and membership on the suite with known members: every figure against exact ground truth.

For each model of ``benchmarks/models/memorization/`` (scripts/build_memorization_models.py: 16x16 DDPMs trained on
64, 512 and 4,096 MNIST digits, with their member and held-out lists):

- **Replication.** The held-out digits are split in two halves (the list's order): the first half is the scan's
  ``--holdout-data`` (it calibrates the copy threshold at the default ``--copy-fpr``), the second half defines the
  ground truth. ``hubaudit.scan(..., memorization=True)`` on n samples (the models' own DDPM scheduler at
  ``--steps``) against the members. The rate estimates the share of samples nearer a member than all but
  ``copy_fpr`` (1%) of fresh real digits come; ground truth is that share with the second half standing for fresh
  digits: a sample is a true copy when its whole-image root-mean-square pixel difference to some member is below the
  k-th smallest second-half distance to a member (k = floor(0.01 (m + 1)), computed here by brute force, the
  tool's code unused). The stricter share of samples nearer a member than every second-half digit comes is printed
  beside it ("strict", a figure). Targets: the replication rate's interval (Clopper-Pearson widened by the
  threshold's calibration error) covers the true-copy rate on every model; the rates are ordered by training-set size (64 >= 512 >= 4,096); every top pair the report shows as a copy
  is a true copy. Carlini et al.'s relative-criterion rate (uncalibrated) is printed beside it, a figure, not a
  target.
- **Membership.** ``hubaudit.api.membership`` with the members as candidates (at most ``--members``) and the first
  half of the held-out digits as non-members (calibration); the second half are scored too (test). Per attack (PIA, loss, SecMI) side by
  side: the AUC of members vs test non-members, the TPR at the calibrated 1% threshold, and the realised FPR on the
  test half (target: within 1% +- 1 point).
- **Cost.** The streaming tiled-L2 search of ``--cost-queries`` (10,000) samples against ``--cost-references``
  (100,000) 28x28 images (Fashion-MNIST's 70,000 and mirrored copies), time and peak memory (tracemalloc), beside
  sklearn's ``NearestNeighbors`` (brute force, plain L2) on the same data in the same run. Target: the streaming
  search's peak memory stays under ``MEMORY_TARGET_MIB``.

Usage: ``python benchmarks/memorization.py [--n 1000] [--steps 100] [--json PATH]``; ``--quick`` runs a small size
(n=64, 50 steps, 256 members, 1,000 x 10,000 cost) that checks the script works, not the targets' full power.
Prints PASS/FAIL per target and exits 1 on a miss.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

from hubaudit.declarations import scan_default

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # memorization_suite.py: the suite's members as Parquet files

FPR = 0.01
COPY_FPR = scan_default("copy_fpr")
"""``--copy-fpr``'s default (0.01), the level the ground truth is defined at."""
MEMORY_TARGET_MIB = 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000, help="samples per model (default 1000)")
    parser.add_argument("--steps", type=int, default=100, help="DDPM steps (default 100)")
    parser.add_argument("--members", type=int, default=1000, help="most members scored per model (default 1000)")
    parser.add_argument("--cost-queries", type=int, default=10_000)
    parser.add_argument("--cost-references", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="a small size that checks the script works")
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "benchmarks" / "memorization")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    if args.quick:
        args.n, args.steps, args.members = 64, 50, 256
        args.cost_queries, args.cost_references = 1000, 10_000

    from memorization_suite import save_digits, suite

    rows = []
    for model in suite()["models"]:
        started = time.perf_counter()
        rows.append(benchmark_model(model["n_members"], args, save_digits))
        rows[-1]["seconds"] = round(time.perf_counter() - started, 1)
        print(f"{model['path']}: done in {rows[-1]['seconds']} s", file=sys.stderr, flush=True)
    figures = {
        "n": args.n,
        "steps": args.steps,
        "models": rows,
        "cost": search_cost(args.cost_queries, args.cost_references),
    }
    figures["targets"] = targets(figures)
    print_figures(figures)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=1) + "\n")
    return 0 if all(target["passed"] for target in figures["targets"]) else 1


def benchmark_model(n_members: int, args: argparse.Namespace, save_digits) -> dict:
    import hubaudit
    from hubaudit.api import membership
    from hubaudit.sampling import open_sample_store
    from memorization_suite import suite_model

    model, members, held_out = suite_model(n_members)
    out = args.out / model.name
    data = out / "data"
    members_file = save_digits(members, data / "members.parquet")
    calibration, test = np.array_split(held_out, 2)
    holdout_file = save_digits(calibration, data / "held-out.parquet")
    report = hubaudit.scan(
        str(model),
        n=args.n,
        steps=args.steps,
        out_dir=out / "scan",
        training_data=str(members_file),
        memorization=True,
        holdout_data=str(holdout_file),
        max_replication=0.01,
        progress=False,
    ).to_dict()
    section = report["memorization"]
    samples = open_sample_store(report["samples"][0]["store_path"]).load(args.n)
    from hubaudit.data import load_labelled_images

    member_images = load_labelled_images(str(members_file), columns=[]).images
    truth_images = load_labelled_images(str(save_digits(test, data / "ground-truth.parquet")), columns=[]).images
    truth_distances = np.sort(whole_image_rms(truth_images, member_images))
    true_copy_rms = float(truth_distances[math.floor(COPY_FPR * (len(truth_distances) + 1)) - 1])
    sample_distances = whole_image_rms(samples, member_images)
    true_copy = sample_distances < true_copy_rms
    rate = section["replication_rate"]
    row = {
        "model": model.name,
        "n_members": n_members,
        "replication_rate": [rate["value"], rate["low"], rate["high"]],
        "true_copy_rms": true_copy_rms,
        "true_copy_rate": float(true_copy.mean()),
        "strict_copy_rate": float(np.mean(sample_distances < truth_distances[0])),
        "covers": rate["low"] <= float(true_copy.mean()) <= rate["high"],
        "agreement_with_truth": float(np.mean(true_copy == _flagged(section, samples, member_images))),
        "relative_rate": section["relative_rate"]["value"],
        "copy_threshold": section["copy_threshold"]["threshold"],
        "held_out_rate": section["held_out_rate"]["value"],
        "distinct_training_images": section["distinct_training_images"],
        "top_pairs_true_copies": all(true_copy[pair["sample_index"]] for pair in section["top_pairs"] if pair["copy"]),
        "outcome": section["outcome"],
    }
    rng = np.random.default_rng(0)
    scored = np.sort(rng.choice(members, min(args.members, len(members)), replace=False))
    result = membership(
        str(model),
        candidates=str(save_digits(np.concatenate([scored, test]), data / "candidates.parquet")),
        non_members=str(save_digits(calibration, data / "calibration.parquet")),
        fpr=FPR,
    )
    is_member = np.r_[np.ones(len(scored), bool), np.zeros(len(test), bool)]
    for attack, found in result["attacks"].items():
        scores = np.array([entry["score"] for entry in found["per_candidate"]])
        flags = np.array([entry["member"] for entry in found["per_candidate"]])
        row[f"{attack}_auc"] = auc(scores[is_member], scores[~is_member])
        row[f"{attack}_tpr_at_fpr"] = float(flags[is_member].mean())
        row[f"{attack}_realised_fpr"] = float(flags[~is_member].mean())
    return row


def _flagged(section: dict, samples: np.ndarray, members: np.ndarray) -> np.ndarray:
    """hubaudit's copy decision per sample (the calibrated criterion), recomputed with its own search (the report
    keeps only the top pairs)."""
    from hubaudit.audit.memorization.nearest import nearest_neighbours, tile_features
    from hubaudit.data import ImageChunks

    neighbours = nearest_neighbours(tile_features(samples), ImageChunks.from_array(members), tile_features, k=1)
    return neighbours.distances[:, 0] < section["copy_threshold"]["threshold"]


def whole_image_rms(samples: np.ndarray, references: np.ndarray) -> np.ndarray:
    """Each sample's smallest whole-image RMS pixel difference to a reference (values in [0, 1]), brute force."""
    a = samples.reshape(len(samples), -1).astype(np.float64) / 255
    b = references.reshape(len(references), -1).astype(np.float64) / 255
    squared = (a**2).sum(1)[:, None] + (b**2).sum(1)[None] - 2 * a @ b.T
    return np.sqrt(np.clip(squared.min(1), 0, None) / a.shape[1])


def auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """P(a member scores above a non-member), ties half (Mann-Whitney)."""
    from scipy.stats import mannwhitneyu

    return float(mannwhitneyu(positive, negative).statistic / (len(positive) * len(negative)))


def search_cost(n_queries: int, n_references: int) -> dict:
    """Time and peak memory (tracemalloc) of the streaming tiled search, its training images read a chunk at a time
    from a Parquet file as the scan reads them (decoding included) and from the array in memory, and of sklearn's
    brute-force NearestNeighbors on the same array (like with like: the in-memory rows)."""
    import tempfile

    from sklearn.neighbors import NearestNeighbors

    from hubaudit.audit.memorization.nearest import nearest_neighbours, tile_features
    from hubaudit.data import ImageChunks, LabelledImages, fashion_mnist, open_image_chunks, save_labelled_images

    every = fashion_mnist(split="all").images
    references = np.concatenate([every, every[:, :, ::-1]])[:n_references]
    rng = np.random.default_rng(0)
    queries = np.clip(
        references[rng.choice(len(references), n_queries)] + rng.integers(-8, 9, (n_queries, 28, 28, 1)), 0, 255
    ).astype(np.uint8)
    found = {"queries": n_queries, "references": int(len(references)), "image": "28x28 grey"}

    with tempfile.TemporaryDirectory() as folder:
        path = save_labelled_images(LabelledImages(references, {}, "cost"), Path(folder) / "training.parquet")
        found["training_file_mib"] = round(path.stat().st_size / 2**20, 1)
        tracemalloc.start()
        started = time.perf_counter()
        training = open_image_chunks(str(path), image_size=28, channels=1)
        nearest_neighbours(tile_features(queries), training, tile_features, k=50)
        found["hubaudit_seconds"] = round(time.perf_counter() - started, 2)
        found["hubaudit_peak_mib"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
        tracemalloc.stop()

    tracemalloc.start()
    started = time.perf_counter()
    nearest_neighbours(tile_features(queries), ImageChunks.from_array(references), tile_features, k=50)
    found["hubaudit_array_seconds"] = round(time.perf_counter() - started, 2)
    found["hubaudit_array_peak_mib"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
    tracemalloc.stop()

    tracemalloc.start()
    started = time.perf_counter()
    flat = references.reshape(len(references), -1).astype(np.float32) / 255
    index = NearestNeighbors(n_neighbors=50, algorithm="brute").fit(flat)
    index.kneighbors(queries.reshape(n_queries, -1).astype(np.float32) / 255)
    found["sklearn_seconds"] = round(time.perf_counter() - started, 2)
    found["sklearn_peak_mib"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
    tracemalloc.stop()
    return found


def targets(figures: dict) -> list[dict]:
    rows = figures["models"]
    found = [
        {"name": f"{row['model']}: replication interval covers the true-copy rate", "passed": row["covers"]}
        for row in rows
    ]
    by_size = sorted(rows, key=lambda row: row["n_members"])
    rates = [row["replication_rate"][0] for row in by_size]
    found.append(
        {"name": "replication rates ordered by training-set size", "passed": rates == sorted(rates, reverse=True)}
    )
    found += [
        {
            "name": f"{row['model']}: every top pair marked a copy is a true copy",
            "passed": row["top_pairs_true_copies"],
        }
        for row in rows
    ]
    for row in rows:
        for attack in ("pia", "loss", "secmi"):
            realised = row[f"{attack}_realised_fpr"]
            found.append(
                {
                    "name": f"{row['model']}: {attack} realised FPR {realised:.3f} within {FPR} +- 0.01",
                    "passed": abs(realised - FPR) <= 0.01,
                }
            )
    cost = figures["cost"]
    found.append(
        {
            "name": f"search of {cost['queries']} x {cost['references']} peak memory {cost['hubaudit_peak_mib']} MiB "
            f"< {MEMORY_TARGET_MIB} MiB",
            "passed": cost["hubaudit_peak_mib"] < MEMORY_TARGET_MIB,
        }
    )
    return found


def print_figures(figures: dict) -> None:
    print(
        f"n={figures['n']} samples per model, the models' DDPMScheduler at {figures['steps']} steps; copy threshold "
        "calibrated on the first half of the held-out digits; true copy: nearer a member (whole-image RMS) than all but "
        "1% of the second-half held-out digits come; strict: nearer than every one; Carlini: the relative criterion's rate (uncalibrated, not a target)"
    )
    print(
        f"{'model':<12} {'replication [CI]':<26} {'true':>6} {'strict':>6} {'Carlini':>7} {'t':>6} {'held-out':>8} {'distinct':>8}  "
        + "  ".join(f"{attack + ' AUC':>9} {'TPR@1%':>6} {'FPR':>6}" for attack in ("pia", "loss", "secmi"))
    )
    for row in figures["models"]:
        value, low, high = row["replication_rate"]
        print(
            f"{row['model']:<12} {value:.3f} [{low:.3f}, {high:.3f}]{'':<6} {row['true_copy_rate']:>6.3f} "
            f"{row['strict_copy_rate']:>6.3f} {row['relative_rate']:>7.3f} {row['copy_threshold']:>6.3f} {row['held_out_rate']:>8.3f} {row['distinct_training_images']:>8}  "
            + "  ".join(
                f"{row[attack + '_auc']:>9.3f} {row[attack + '_tpr_at_fpr']:>6.3f} {row[attack + '_realised_fpr']:>6.3f}"
                for attack in ("pia", "loss", "secmi")
            )
        )
    cost = figures["cost"]
    print(
        f"cost: {cost['queries']} x {cost['references']} ({cost['image']}): hubaudit tiled streaming from Parquet "
        f"(decoding included) {cost['hubaudit_seconds']} s, peak {cost['hubaudit_peak_mib']} MiB; on the array in "
        f"memory {cost['hubaudit_array_seconds']} s, peak {cost['hubaudit_array_peak_mib']} MiB; sklearn brute L2 on "
        f"the array {cost['sklearn_seconds']} s, peak {cost['sklearn_peak_mib']} MiB"
    )
    for target in figures["targets"]:
        print(f"  {'PASS' if target['passed'] else 'FAIL'}  {target['name']}")


if __name__ == "__main__":
    sys.exit(main())
