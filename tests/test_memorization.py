"""Memorization (``scan --memorization``): Carlini et al.'s tiled distance, the streaming search, the relative
criterion, the copy threshold calibrated on held-out images, and the report on a model that copies its 64 training
digits."""

from __future__ import annotations

import json
import tracemalloc

import numpy as np
import pytest

from hubaudit.audit.memorization.audit import CopyThreshold
from hubaudit.audit.memorization.nearest import (
    grid_side,
    nearest_neighbours,
    relative_distances,
    tile_features,
    tiled_distances,
)
from hubaudit.cli import main
from hubaudit.data import ImageChunks, LabelledImages, open_image_chunks, save_labelled_images
from memorization_suite import suite_files, suite_model


def brute_force_tiled_distance(a: np.ndarray, b: np.ndarray, tiles_per_side: int) -> float:
    """The formula written out: the largest root-mean-square difference over a g x g grid of tiles."""
    a, b = a.astype(float) / 255, b.astype(float) / 255
    rows = np.linspace(0, a.shape[0], tiles_per_side + 1).round().astype(int)
    columns = np.linspace(0, a.shape[1], tiles_per_side + 1).round().astype(int)
    return max(
        np.sqrt(np.mean((a[top:bottom, left:right] - b[top:bottom, left:right]) ** 2))
        for top, bottom in zip(rows[:-1], rows[1:])
        for left, right in zip(columns[:-1], columns[1:])
    )


@pytest.fixture(scope="module")
def random_images():
    return np.random.default_rng(0).integers(0, 256, (40, 10, 10, 3), dtype=np.uint8)


def test_tiled_distance_is_the_largest_per_tile_rms_difference(random_images):
    queries, references = random_images[:3], random_images[3:8]
    found = tiled_distances(tile_features(queries, tiles_per_side=3), tile_features(references, tiles_per_side=3))
    expected = [[brute_force_tiled_distance(q, r, 3) for r in references] for q in queries]
    np.testing.assert_allclose(found, expected, atol=1e-5)


def test_a_difference_in_one_tile_counts_fully_however_small_the_tile():
    image = np.zeros((1, 128, 128, 1), dtype=np.uint8)
    changed = image.copy()
    changed[0, :32, :32] = 255  # one tile of 16 all white: 1/16 of the pixels
    assert tiled_distances(tile_features(image), tile_features(changed))[0, 0] == pytest.approx(1.0)


@pytest.mark.parametrize(("side", "grid"), [(16, 1), (32, 1), (64, 2), (100, 3), (128, 4), (512, 4)])
def test_tiles_are_at_least_32_pixels_and_at_most_4_per_side(side, grid):
    assert grid_side(side, side) == grid


def test_streaming_search_equals_the_full_distance_matrix(random_images):
    queries, references = tile_features(random_images[:7]), random_images[7:]
    found = nearest_neighbours(queries, ImageChunks.from_array(references), tile_features, k=4, chunk=5, query_block=3)
    full = tiled_distances(queries, tile_features(references))
    np.testing.assert_array_equal(found.indices, np.argsort(full, axis=1, kind="stable")[:, :4])
    np.testing.assert_allclose(found.distances, np.sort(full, axis=1)[:, :4], rtol=1e-6)


def peak_search_memory(queries, references: ImageChunks, chunk: int):
    """(neighbours, peak bytes allocated) of the search of ``references`` read ``chunk`` images at a time."""
    tracemalloc.start()
    try:
        found = nearest_neighbours(queries, references, tile_features, k=3, chunk=chunk)
        return found, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_search_read_from_a_parquet_file_is_flat_in_memory_and_equals_the_whole_array_search(tmp_path):
    rng = np.random.default_rng(3)
    training = rng.integers(0, 256, (1600, 16, 16, 1), dtype=np.uint8)
    queries = tile_features(rng.integers(0, 256, (20, 16, 16, 1), dtype=np.uint8))
    peaks = []
    for n in (400, 1600):
        path = save_labelled_images(LabelledImages(training[:n], {}, "test"), tmp_path / f"training-{n}.parquet")
        chunks = open_image_chunks(str(path), image_size=16, channels=1)
        assert len(chunks) == n
        found, peak = peak_search_memory(queries, chunks, chunk=100)
        whole = nearest_neighbours(queries, ImageChunks.from_array(training[:n]), tile_features, k=3, chunk=n)
        np.testing.assert_array_equal(found.indices, whole.indices)
        np.testing.assert_array_equal(found.distances, whole.distances)
        peaks.append(peak)
    assert peaks[1] < 1.25 * peaks[0], peaks  # 4x the images: the peak stays that of one chunk
    assert peaks[1] < training.size * 4  # below the float32 pixels of the whole 1600 a whole-array search holds


def test_relative_criterion_flags_near_copies_and_not_fresh_images(random_images):
    training = random_images[:30]
    noise = np.random.default_rng(1).integers(-3, 4, training[:5].shape)
    near_copies = np.clip(training[:5].astype(int) + noise, 0, 255).astype(np.uint8)
    samples = np.concatenate([near_copies, random_images[30:]])
    neighbours = nearest_neighbours(tile_features(samples), ImageChunks.from_array(training), tile_features, k=50)
    copies = relative_distances(neighbours) < 1 / 3
    assert copies.tolist() == [True] * 5 + [False] * 10
    assert neighbours.indices[:5, 0].tolist() == [0, 1, 2, 3, 4]


def nearest_training_distance(images: np.ndarray, training: np.ndarray) -> np.ndarray:
    return nearest_neighbours(tile_features(images), ImageChunks.from_array(training), tile_features, k=1).distances[
        :, 0
    ]


def test_calibrated_threshold_is_the_kth_smallest_held_out_distance():
    training = np.zeros((3, 8, 8, 1), dtype=np.uint8)  # black: a grey level v lies at distance v / 255
    levels = np.random.default_rng(2).permutation(np.arange(40, 239))  # 199 held-out images, one grey level each
    held_out = np.broadcast_to(levels[:, None, None, None], (199, 8, 8, 1)).astype(np.uint8)
    threshold = CopyThreshold.fit(nearest_training_distance(held_out, training), copy_fpr=0.01)
    assert threshold.rank == 2  # floor(0.01 x 200)
    assert threshold.threshold == pytest.approx(41 / 255, abs=1e-6)
    samples = np.stack([training[0], np.full((8, 8, 1), 41, np.uint8), np.full((8, 8, 1), 255, np.uint8)])
    assert threshold.copies(nearest_training_distance(samples, training)).tolist() == [True, False, False]


def test_false_copy_rate_on_fresh_exchangeable_images_is_at_most_copy_fpr():
    rng, alpha, m, fresh, trials = np.random.default_rng(3), 0.02, 99, 100, 600
    training = rng.integers(0, 256, (30, 4, 4, 1), dtype=np.uint8)
    rates = []
    for _ in range(trials):  # calibration and fresh images: independent draws of the same distribution
        draws = nearest_training_distance(rng.integers(0, 256, (m + fresh, 4, 4, 1), dtype=np.uint8), training)
        rates.append(CopyThreshold.fit(draws[:m], alpha).copies(draws[m:]).mean())
    monte_carlo_error = np.std(rates) / np.sqrt(trials)
    assert np.mean(rates) <= alpha + 3 * monte_carlo_error
    assert np.mean(rates) >= alpha - 6 * monte_carlo_error  # exact for continuous distances: k / (m + 1) = 0.02


def test_rate_interval_carries_the_thresholds_calibration_and_covers_the_share_below_the_true_quantile():
    rng, alpha, m, n, trials = np.random.default_rng(4), 0.05, 200, 300, 400
    share_below = 0.2629  # fresh distances ~ N(0, 1), 0.05-quantile -1.645; samples ~ N(-1, 1): P(below) = 0.2629
    covered = [
        CopyThreshold.fit(rng.normal(size=m), alpha)
        .rate(rng.normal(-1, 1, size=n), confidence=0.9)
        .contains(share_below)
        for _ in range(trials)
    ]
    assert np.mean(covered) >= 0.9 - 3 * np.sqrt(0.9 * 0.1 / trials)


def test_too_few_held_out_images_to_bound_the_threshold_leave_a_copying_model_inconclusive(tmp_path):
    training = np.zeros((3, 8, 8, 1), dtype=np.uint8)
    held_out = np.broadcast_to(np.arange(40, 240)[:, None, None, None], (200, 8, 8, 1)).astype(np.uint8)
    threshold = CopyThreshold.fit(nearest_training_distance(held_out, training), copy_fpr=0.01)
    rate = threshold.rate(np.zeros(50), confidence=0.95)  # every sample an exact copy
    assert rate.value == 1 and rate.low == 0  # 200 < 436: the 1% quantile may lie below every held-out distance
    assert CopyThreshold.fit(np.arange(1, 501) / 500, 0.01).rate(np.zeros(50), confidence=0.95).low > 0.9


@pytest.fixture(scope="module")
def copying_model(tmp_path_factory):
    """The suite's 64-digit DDPM, its members and 500 held-out digits as Parquet files (436 bound the 1% threshold
    from below at 95%)."""
    folder = tmp_path_factory.mktemp("memorization-data")
    return suite_files(64, folder, n_held_out=500)


@pytest.fixture(scope="module")
def copying_scan(copying_model, tmp_path_factory):
    model, members, held_out = copying_model
    out = tmp_path_factory.mktemp("memorization-scan")
    code = main(
        ["scan", str(model), "-n", "16", "--steps", "100", "--out", str(out), "--quiet"]
        + ["--training-data", str(members), "--memorization", "--holdout-data", str(held_out)]
        + ["--fail-on", "memorization"]
    )
    return code, json.loads((out / "report.json").read_text()), out


def test_scan_of_a_model_that_copies_its_training_images_is_a_memorization_finding(copying_scan):
    code, report, _ = copying_scan
    section = report["memorization"]
    assert code == 1  # --fail-on memorization
    assert section["outcome"] == "finding" and section["replication_rate"]["low"] > 0
    assert section["copies"] > 0 and 0 < section["distinct_training_images"] <= section["copies"]
    assert section["distances"]["training"]["q50"] < section["distances"]["held_out"]["q50"]
    assert section["held_out_rate"]["value"] < section["replication_rate"]["value"]
    assert {"kind": "memorization", "subject": "replication (pixel)"}.items() <= report["verdicts"][0].items()


def test_scan_calibrates_its_copy_threshold_on_the_held_out_images(copying_scan, copying_model):
    from hubaudit.data import load_labelled_images

    _, report, out = copying_scan
    section, (_, members, held_out) = report["memorization"], copying_model
    member_images, held_out_images = (
        load_labelled_images(str(path), columns=[]).images for path in (members, held_out)
    )
    distances = np.sort(nearest_training_distance(held_out_images, member_images))  # 16x16: one tile, whole RMS
    calibration = section["copy_threshold"]
    assert section["calibrated"] and calibration["n_held_out"] == 500 and calibration["rank"] == 5  # floor(.01 x 501)
    assert calibration["threshold"] == pytest.approx(distances[4], abs=1e-6)
    assert section["criterion"].startswith("calibrated on 500 held-out images")
    assert 0 <= section["relative_rate"]["value"] <= 1  # Carlini et al.'s rate kept beside it
    assert "relative criterion (uncalibrated), for comparison" in (out / "report.html").read_text()


def test_too_few_held_out_images_for_the_copy_fpr_are_refused_before_sampling(copying_model, capsys, tmp_path):
    model, members, held_out = copying_model
    arguments = ["--training-data", str(members), "--memorization", "--holdout-data", str(held_out)]
    assert main(["scan", str(model), "-n", "2", "--out", str(tmp_path), *arguments, "--copy-fpr", "0.001"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "give at least 999" in error and "--copy-fpr" in error
    assert not list(tmp_path.iterdir())  # nothing sampled


def test_report_shows_the_top_pairs_beside_their_training_images(copying_scan, copying_model):
    _, report, out = copying_scan
    pairs = report["memorization"]["top_pairs"]
    assert pairs[0]["copy"] and pairs[0]["distance"] <= pairs[-1]["distance"]  # the calibrated criterion's order
    html = (out / "report.html").read_text()
    assert "Nearest pairs" in html and pairs[0]["training_png"] in html
    assert main(["report", str(out / "report.json"), "--format", "md", "--out", str(out / "report.md")]) == 0
    assert "### Memorization" in (out / "report.md").read_text()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--memorization"], "--training-data"),
        (["--holdout-data", "builtin:mnist"], "--memorization"),
        (["--memorization", "--training-data", "builtin:mnist", "--max-replication", "1.5"], "--max-replication"),
        (["--memorization", "--training-data", "builtin:mnist", "--copy-fpr", "0"], "--copy-fpr"),
    ],
)
def test_memorization_options_that_do_not_fit_are_one_line_and_exit_2(arguments, message, capsys, tmp_path):
    model, _, _ = suite_model(64)
    assert main(["scan", str(model), "-n", "2", "--out", str(tmp_path), *arguments]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and message in error


def test_embedding_space_search_with_a_transformers_image_model(copying_model, clip_folder, tmp_path):
    import hubaudit

    model, members, _ = copying_model
    report = hubaudit.scan(
        str(model),
        n=4,
        steps=10,
        scheduler="ddim",
        out_dir=tmp_path,
        training_data=str(members),
        memorization=True,
        memorization_embedding=str(clip_folder),
        max_replication=0.5,
        progress=False,
    )
    section = report.to_dict()["memorization"]
    assert section["space"].startswith("embedding:") and section["n"] == 4
    assert 0 <= section["distances"]["training"]["q50"] <= 2  # unit vectors
