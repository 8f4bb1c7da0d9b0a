"""Memorization (``scan --memorization``): Carlini et al.'s tiled distance, the streaming search, the relative
criterion, and the report on a model that copies its 64 training digits."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hubaudit.audit.memorization.nearest import (
    grid_side,
    nearest_neighbours,
    relative_distances,
    tile_features,
    tiled_distances,
)
from hubaudit.cli import main
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
    found = nearest_neighbours(queries, references, tile_features, k=4, chunk=5, query_block=3)
    full = tiled_distances(queries, tile_features(references))
    np.testing.assert_array_equal(found.indices, np.argsort(full, axis=1, kind="stable")[:, :4])
    np.testing.assert_allclose(found.distances, np.sort(full, axis=1)[:, :4], rtol=1e-6)


def test_relative_criterion_flags_near_copies_and_not_fresh_images(random_images):
    training = random_images[:30]
    noise = np.random.default_rng(1).integers(-3, 4, training[:5].shape)
    near_copies = np.clip(training[:5].astype(int) + noise, 0, 255).astype(np.uint8)
    samples = np.concatenate([near_copies, random_images[30:]])
    neighbours = nearest_neighbours(tile_features(samples), training, tile_features, k=50)
    copies = relative_distances(neighbours) < 1 / 3
    assert copies.tolist() == [True] * 5 + [False] * 10
    assert neighbours.indices[:5, 0].tolist() == [0, 1, 2, 3, 4]


@pytest.fixture(scope="module")
def copying_model(tmp_path_factory):
    """The suite's 64-digit DDPM, its members and 200 held-out digits as Parquet files."""
    folder = tmp_path_factory.mktemp("memorization-data")
    return suite_files(64, folder, n_held_out=200)


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


def test_report_shows_the_top_pairs_beside_their_training_images(copying_scan, copying_model):
    _, report, out = copying_scan
    pairs = report["memorization"]["top_pairs"]
    assert pairs[0]["copy"] and pairs[0]["relative_distance"] <= pairs[-1]["relative_distance"]
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
