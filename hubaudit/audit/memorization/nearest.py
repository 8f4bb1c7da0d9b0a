"""Nearest training images of generated samples: Carlini et al.'s normalised tiled L2, searched in a streaming way.

Distance (Carlini et al. 2023, "Extracting Training Data from Diffusion Models", Sec. 4): both images, pixel values
scaled to [0, 1], are cut into the same ``g x g`` grid of tiles; the distance is the largest per-tile normalised L2
over the tiles,

    d(a, b) = max_t ||a_t - b_t||_2 / sqrt(D_t),

with ``D_t`` the number of values (pixels x channels) in tile ``t`` (so ``d`` is the worst tile's root-mean-square
difference, in [0, 1]). The paper cuts its 512-pixel Stable Diffusion images into 4 x 4 tiles (of 128 pixels) and
compares its 32-pixel CIFAR-10 images whole (one tile): ``g`` is the number of tiles of at least
:data:`MIN_TILE_SIDE` pixels that fit along the shorter side, at most :data:`TILES_PER_SIDE` (so 16 tiles from
128 pixels up, one tile below 64). The max over tiles means that a sample which matches a training image in one
tile only (a shared background, a logo) is not near it. An embedding space is the case of one tile of unit vectors.

Search: the training images are read from their source in chunks (:class:`~hubaudit.data.ImageChunks`: a
memory-mapped data set decoded one chunk at a time); for each chunk the sample-by-chunk distance matrix is computed
tile by tile (a running max, ``[queries, chunk]`` float32) and merged into each sample's running top-k, so memory is
flat in the training-set size (one chunk's images and features plus about ``query_block x chunk x 12`` bytes).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # numpy only at run time
    from hubaudit.data import ImageChunks

TILES_PER_SIDE = 4
"""Most tiles along each side: 16 tiles, as Carlini et al. cut their 512-pixel images."""
MIN_TILE_SIDE = 32
"""Fewest pixels along a tile's side: smaller images are compared in fewer tiles (32-pixel ones whole, as Carlini et
al. compare CIFAR-10 images): tiles of a few pixels turn a copy's sampling noise into a large worst-tile distance."""
TRAINING_CHUNK = 2048
"""Training images featurised and compared at once."""
QUERY_BLOCK = 1024
"""Generated samples compared with one training chunk at once."""

Features = list[np.ndarray]
"""One float32 array ``[N, D_t]`` per tile, each row scaled by ``1 / sqrt(D_t)``."""


def grid_side(height: int, width: int) -> int:
    """The grid of an image of this size: as many tiles of at least :data:`MIN_TILE_SIDE` pixels as fit along the
    shorter side, from 1 to :data:`TILES_PER_SIDE`."""
    return int(np.clip(min(height, width) // MIN_TILE_SIDE, 1, TILES_PER_SIDE))


def tile_features(images: np.ndarray, *, tiles_per_side: int | None = None) -> Features:
    """The tiles of ``uint8 [N, H, W, C]`` images as :data:`Features` (values in [0, 1], tile ``t`` scaled by
    ``1/sqrt(D_t)``); ``tiles_per_side`` defaults to :func:`grid_side` of the size; tiles are as equal as the
    size allows (a 28-pixel side in 3: 9, 10 and 9 pixels)."""
    if tiles_per_side is None:
        tiles_per_side = grid_side(*images.shape[1:3])
    pixels = images.astype(np.float32) / 255.0
    rows = np.linspace(0, images.shape[1], tiles_per_side + 1).round().astype(int)
    columns = np.linspace(0, images.shape[2], tiles_per_side + 1).round().astype(int)
    tiles = []
    for top, bottom in zip(rows[:-1], rows[1:], strict=True):
        for left, right in zip(columns[:-1], columns[1:], strict=True):
            tile = pixels[:, top:bottom, left:right].reshape(len(images), -1)
            tiles.append(np.ascontiguousarray(tile / np.sqrt(tile.shape[1], dtype=np.float32)))
    return tiles


def tiled_distances(queries: Features, references: Features) -> np.ndarray:
    """``float32 [Q, R]``: the largest per-tile L2 distance between each query and each reference."""
    largest = None
    for query_tile, reference_tile in zip(queries, references, strict=True):
        squared = (
            np.einsum("ij,ij->i", query_tile, query_tile)[:, None]
            + np.einsum("ij,ij->i", reference_tile, reference_tile)[None, :]
            - 2.0 * (query_tile @ reference_tile.T)
        )
        largest = squared if largest is None else np.maximum(largest, squared, out=largest)
    return np.sqrt(np.clip(largest, 0.0, None, out=largest), out=largest)


@dataclass(frozen=True)
class Neighbours:
    """Each query's ``k`` nearest references, nearest first: ``distances`` float ``[Q, k]`` and ``indices`` int64
    ``[Q, k]`` (positions in the reference set)."""

    distances: np.ndarray
    indices: np.ndarray


def nearest_neighbours(
    queries: Features,
    references: ImageChunks,
    featurise: Callable[[np.ndarray], Features],
    *,
    k: int,
    chunk: int = TRAINING_CHUNK,
    query_block: int = QUERY_BLOCK,
) -> Neighbours:
    """The ``k`` nearest of the ``R`` ``references`` (read and featurised ``chunk`` at a time) to each query.

    Memory stays flat in ``R``: one chunk's images and features and one ``[query_block, chunk]`` distance block at a time,
    merged into a running top-k per query. ``k`` is capped at ``R``.
    """
    n_queries, k = len(queries[0]), min(k, len(references))
    best_distances = np.full((n_queries, k), np.inf, dtype=np.float32)
    best_indices = np.zeros((n_queries, k), dtype=np.int64)
    offset = 0
    for images in references.chunks(chunk):
        features = featurise(images)
        chunk_indices = np.arange(offset, offset + len(images))
        offset += len(images)
        for start in range(0, n_queries, query_block):
            block = slice(start, start + query_block)
            distances = tiled_distances([tile[block] for tile in queries], features)
            merged_distances = np.concatenate([best_distances[block], distances], axis=1)
            merged_indices = np.concatenate(
                [best_indices[block], np.broadcast_to(chunk_indices, distances.shape)], axis=1
            )
            kept = np.argpartition(merged_distances, k - 1, axis=1)[:, :k]
            best_distances[block] = np.take_along_axis(merged_distances, kept, axis=1)
            best_indices[block] = np.take_along_axis(merged_indices, kept, axis=1)
    order = np.argsort(best_distances, axis=1, kind="stable")
    return Neighbours(np.take_along_axis(best_distances, order, 1), np.take_along_axis(best_indices, order, 1))


NEIGHBOURS = 50
"""Carlini et al.'s n: a sample's nearest training image is compared with its 50 nearest."""
ALPHA = 0.5
"""Carlini et al.'s alpha: the distance to the nearest is divided by alpha times the mean distance to the n nearest."""


def relative_distances(neighbours: Neighbours, *, alpha: float = ALPHA) -> np.ndarray:
    """Carlini et al.'s relative distance of each query, ``float [Q]``:
    ``d(x, nearest) / (alpha * mean of d(x, y) over its n nearest y)`` (a copy when below the threshold, 1/3 in
    the paper). 0 when all its neighbours are at distance 0."""
    scale = alpha * neighbours.distances.mean(axis=1)
    nearest = neighbours.distances[:, 0]
    return np.divide(nearest, scale, out=np.zeros_like(nearest), where=scale > 0)
