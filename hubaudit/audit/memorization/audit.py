"""The memorization check of a scan: how many generated samples copy a training image.

For each sample, its :data:`~hubaudit.audit.memorization.nearest.NEIGHBOURS` nearest training images are found
(:func:`~hubaudit.audit.memorization.nearest.nearest_neighbours`, pixel space or an embedding). The copy criterion:

* with held-out images (calibrated): each held-out image's distance to its nearest training image is found the same
  way; with ``m`` of them and the false-copy rate ``alpha`` (``--copy-fpr``), the threshold ``t`` is their
  ``k``-th smallest, ``k = floor(alpha (m + 1))``, and a sample is a copy when its nearest-training distance is
  below ``t``: a fresh real image exchangeable with the held-out ones is called a copy with probability at most
  ``alpha`` (conformal, :mod:`hubaudit.stats.conformal`);
* without them, Carlini et al.'s relative criterion (uncalibrated): the relative distance below the threshold.

The replication rate (copies / samples) gets a Clopper-Pearson interval; the verdict compares that interval with
``--max-replication``. With held-out images the search against them also gives the baseline: the distances, and
the rate the criterion reaches on images the model never saw.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from hubaudit.audit.memorization.nearest import (
    MIN_TILE_SIDE,
    NEIGHBOURS,
    TRAINING_CHUNK,
    Features,
    grid_side,
    nearest_neighbours,
    relative_distances,
    tile_features,
)
from hubaudit.audit.memorization.options import MemorizationOptions
from hubaudit.audit.sampled import SampledModel
from hubaudit.data import ImageChunks, load_labelled_images, open_image_chunks
from hubaudit.errors import InvalidMemorizationOptions
from hubaudit.sampling.store import encode_png
from hubaudit.stats import ShareEstimate, clopper_pearson_interval
from hubaudit.stats.conformal import (
    calibration_size,
    lower_rank,
    lower_threshold,
    quantile_bound_size,
    quantile_rank_bounds,
)
from hubaudit.stats.outcome import Outcome
from hubaudit.stats.proportion import clopper_pearson_sample_size

TOP_PAIRS = 8
"""Sample / training-image pairs the report shows, nearest first (by the criterion's distance)."""
THUMBNAIL_SIDE = 96
"""Largest side of a pair's thumbnails in the report (pixels)."""
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


@dataclass(frozen=True)
class Replication:
    """Carlini et al.'s relative criterion applied to samples against one reference set.

    ``nearest`` float ``[N]``: the distance to the nearest reference; ``nearest_index`` int ``[N]``: its position;
    ``relative`` float ``[N]``: the relative distance; ``copies`` bool ``[N]``: relative below the threshold."""

    nearest: np.ndarray
    nearest_index: np.ndarray
    relative: np.ndarray
    copies: np.ndarray


def replication(sample_features: Features, references: ImageChunks, featurise, *, threshold: float) -> Replication:
    """Search ``references`` (read a chunk at a time) for each sample's nearest and apply the criterion."""
    neighbours = nearest_neighbours(sample_features, references, featurise, k=NEIGHBOURS)
    relative = relative_distances(neighbours)
    return Replication(neighbours.distances[:, 0], neighbours.indices[:, 0], relative, relative < threshold)


@dataclass(frozen=True)
class CopyThreshold:
    """The calibrated criterion: a sample is a copy when its nearest-training distance is below ``threshold``, the
    ``rank``-th smallest of ``held_out`` (``float [m]``: each held-out image's distance to its nearest training
    image), ``rank = floor(copy_fpr (m + 1))``."""

    held_out: np.ndarray
    copy_fpr: float
    threshold: float
    rank: int

    @classmethod
    def fit(cls, held_out: np.ndarray, copy_fpr: float) -> CopyThreshold:
        require_calibration(len(held_out), copy_fpr)
        return cls(held_out, copy_fpr, *lower_threshold(held_out, copy_fpr))

    def copies(self, nearest: np.ndarray) -> np.ndarray:
        return nearest < self.threshold

    @staticmethod
    def part_error(confidence: float) -> float:
        """The error each part of :meth:`rate`'s interval may spend: half of ``1 - confidence`` on the threshold's
        bounds, half on Clopper-Pearson (each then at level ``1 - part_error``)."""
        return (1 - confidence) / 2

    def bounding_size(self, confidence: float) -> int | None:
        """The held-out images :meth:`rate` needs to bound the threshold from below at ``confidence`` (its low end
        is 0 with fewer), or None when it has them."""
        needed = quantile_bound_size(self.copy_fpr, self.part_error(confidence))
        return needed if len(self.held_out) < needed else None

    def rate(self, nearest: np.ndarray, *, confidence: float) -> ShareEstimate:
        """The replication rate of samples at ``nearest`` (``float [n]``): the share below :attr:`threshold`, with an
        interval for the share below the ``copy_fpr``-quantile ``q`` of fresh images' distances that also carries the
        threshold's own calibration error. Half the error goes to order-statistic bounds ``d_(l) <= q <= d_(u)`` of
        the held-out distances (:func:`~hubaudit.stats.conformal.quantile_rank_bounds`), half to Clopper-Pearson
        bounds on the shares below ``d_(l)`` (low) and at or below ``d_(u)`` (high); a union bound joins them."""
        error = self.part_error(confidence)
        ordered, n = np.sort(self.held_out), len(nearest)
        lower, upper = quantile_rank_bounds(len(ordered), self.copy_fpr, error)
        below_low = int(np.sum(nearest < ordered[lower - 1])) if lower >= 1 else 0
        below_high = int(np.sum(nearest <= ordered[upper - 1])) if upper <= len(ordered) else n
        return ShareEstimate(
            float(np.mean(self.copies(nearest))),
            clopper_pearson_interval(below_low, n, confidence=1 - error).low,
            clopper_pearson_interval(below_high, n, confidence=1 - error).high,
            "clopper-pearson with the threshold's calibration error (order-statistic bounds, union bound)",
            n,
            confidence,
            (
                f"the copy_fpr-quantile of held-out distances lies between the {lower}-th and {upper}-th smallest "
                f"of {len(ordered)} (0: none below, {len(ordered) + 1}: none above) with confidence {1 - error:g}",
            ),
        )

    def words(self) -> str:
        return (
            f"calibrated on {len(self.held_out)} held-out images: distance to the nearest training image below "
            f"{self.threshold:.4g}, the {self.rank}-th smallest held-out distance; false-copy rate <= {self.copy_fpr:g}"
        )


def require_calibration(n_held_out: int, copy_fpr: float) -> None:
    """Refuse (one line) when ``n_held_out`` images are too few to calibrate a threshold at ``copy_fpr``."""
    if lower_rank(n_held_out, copy_fpr) < 1:
        raise InvalidMemorizationOptions(
            f"{n_held_out} held-out images cannot calibrate a copy threshold at --copy-fpr {copy_fpr:g}: give at "
            f"least {calibration_size(copy_fpr)} in --holdout-data, or raise --copy-fpr"
        )


def check_holdout_size(options: MemorizationOptions, *, allow_local: bool) -> None:
    """Before sampling: refuse when ``--holdout-data`` holds too few images for ``--copy-fpr`` (reads only as many
    as are needed)."""
    if options.holdout_data is None:
        return
    needed = calibration_size(options.copy_fpr)
    held_out = load_labelled_images(
        options.holdout_data, columns=[], limit=needed, image_size=MIN_TILE_SIDE, allow_local=allow_local
    )
    require_calibration(len(held_out), options.copy_fpr)


def memorization_section(
    sampled: SampledModel,
    options: MemorizationOptions,
    *,
    featurise: Callable[[np.ndarray], Features] = tile_features,
    space: str = "pixel",
) -> dict:
    """The report's ``memorization`` section for the scan's samples (every condition pooled).

    ``featurise`` maps ``uint8 [N, H, W, C]`` images to features (default: the tiled pixel features); ``space``
    names it in the report."""
    conditions, images = _samples(sampled)
    training = _read(options.training_data, images, sampled.options.allow_local)
    sample_features = featurise(images)
    found = replication(sample_features, training, featurise, threshold=options.threshold)
    relative_copies = found.copies
    relative_words = (
        f"Carlini et al.'s relative criterion (uncalibrated): relative distance (nearest / (0.5 x mean of the "
        f"{NEIGHBOURS} nearest)) below {options.threshold:g}"
    )
    calibration = None
    if options.holdout_data is not None:
        held_out = _read(options.holdout_data, images, sampled.options.allow_local)
        held_out_nearest = _nearest_of_chunks(held_out, training, featurise)
        calibration = CopyThreshold.fit(held_out_nearest, options.copy_fpr)
        found = replace(found, copies=calibration.copies(found.nearest))
    if calibration is None:
        rate = clopper_pearson_interval(int(found.copies.sum()), len(images), confidence=options.confidence)
    else:
        rate = calibration.rate(found.nearest, confidence=options.confidence)
    section = {
        "space": space,
        "distance": _distance_words(space, grid_side(*images.shape[1:3])),
        "criterion": calibration.words() if calibration else relative_words,
        "calibrated": calibration is not None,
        "threshold": options.threshold,
        "training_data": options.training_data,
        "n_training": len(training),
        "n": len(images),
        "copies": int(found.copies.sum()),
        "replication_rate": {
            **rate.to_dict(),
            "estimates": "share of samples nearer a training image than all but copy_fpr of fresh real images come "
            "(the held-out images' distances)"
            if calibration
            else "share of samples the relative criterion calls copies of a training image",
        },
        "distinct_training_images": int(len(np.unique(found.nearest_index[found.copies]))),
        "distances": {"training": _quantiles(found.nearest), "training_relative": _quantiles(found.relative)},
        "max_replication": options.max_replication,
        "top_pairs": _top_pairs(conditions, images, training, found, calibrated=calibration is not None),
    }
    if calibration is not None:
        baseline = replication(sample_features, held_out, featurise, threshold=options.threshold)
        section["holdout_data"] = options.holdout_data
        section["n_held_out"] = len(held_out)
        section["copy_threshold"] = {
            "method": "conformal: the k-th smallest held-out distance to the nearest training image, "
            "k = floor(copy_fpr (m + 1))",
            "threshold": calibration.threshold,
            "rank": calibration.rank,
            "copy_fpr": calibration.copy_fpr,
            "n_held_out": len(held_out),
        }
        section["relative_rate"] = {
            **clopper_pearson_interval(
                int(relative_copies.sum()), len(images), confidence=options.confidence
            ).to_dict(),
            "estimates": f"share of samples {relative_words} calls copies (for comparison)",
        }
        section["distances"]["held_out"] = _quantiles(baseline.nearest)
        section["distances"]["held_out_relative"] = _quantiles(baseline.relative)
        section["distances"]["held_out_to_training"] = _quantiles(calibration.held_out)
        section["held_out_rate"] = {
            **clopper_pearson_interval(
                int(calibration.copies(baseline.nearest).sum()), len(images), confidence=options.confidence
            ).to_dict(),
            "estimates": "share of samples the criterion calls copies of a held-out image the model never saw",
        }
        section["closer_to_training"] = float(np.mean(found.nearest < baseline.nearest))
    if calibration is None:
        settling = {"held_out_needed": None, "clopper_pearson_confidence": options.confidence}
    else:
        settling = {
            "held_out_needed": calibration.bounding_size(options.confidence),
            "clopper_pearson_confidence": 1 - calibration.part_error(options.confidence),
        }
    section.update(memorization_verdict(rate, options, **settling))
    return section


def memorization_verdict(
    rate: ShareEstimate,
    options: MemorizationOptions,
    *,
    held_out_needed: int | None,
    clopper_pearson_confidence: float,
) -> dict:
    """``outcome``, ``verdict`` and ``next_step`` of a replication rate's interval against the margin: a finding when
    it lies above ``max_replication``; no finding when it lies below it (equivalence: only possible with a margin
    above 0); else inconclusive, with what would settle it (``held_out_needed``: the held-out images without which
    the interval's low end stays 0; ``clopper_pearson_confidence``: the level of the interval's Clopper-Pearson
    part, which sets the samples that would settle it)."""
    margin, level = options.max_replication, f"{100 * options.confidence:g}%"
    value, low, high = rate.value, rate.low, rate.high
    interval = f"replication rate {value:.3f} [{low:.3f}, {high:.3f}] ({level} {rate.method}, n={rate.n})"
    outcome: Outcome
    if low > margin:
        outcome, next_step = (
            "finding",
            "do not release the model as is: retrain with deduplicated data or fewer epochs",
        )
        verdict = f"finding: {interval} lies above the accepted {margin:g}"
    elif high < margin:
        outcome, next_step = "no finding", ""
        verdict = f"no finding: {interval} lies below the accepted {margin:g}"
    else:
        outcome = "inconclusive"
        verdict = f"inconclusive: {interval} straddles the accepted {margin:g}"
        next_step = _settling_step(value, margin, clopper_pearson_confidence)
        if held_out_needed is not None and low <= margin < value:
            next_step = (
                f"give at least {held_out_needed} held-out images (--holdout-data): with fewer, the copy threshold "
                f"at --copy-fpr {options.copy_fpr:g} cannot be bounded from below, so no copy rate can be shown"
            )
    return {"outcome": outcome, "verdict": verdict, "next_step": next_step}


def _settling_step(value: float, margin: float, confidence: float) -> str:
    """What would settle an inconclusive rate: a margin above 0, or the samples that narrow the interval enough."""
    if margin == 0:
        zero_copies_n = math.ceil(math.log((1 - confidence) / 2) / math.log(1 - 0.01))
        return (
            "no sample count shows a replication rate of exactly 0: set --max-replication to the rate you accept "
            f"(with 0.01, {zero_copies_n} samples without a copy would show no finding)"
        )
    distance = abs(value - margin)
    if distance == 0:
        return "the rate sits on the margin: rescan with more samples (-n) to see which side it lies on"
    needed = clopper_pearson_sample_size(min(distance, 0.5), confidence=confidence, anticipated_share=value)
    return f"rescan with about {needed} samples (-n): the interval then narrows to ±{distance:.3f}"


def memorization_verdicts(section: dict) -> list[dict]:
    """The report's ``verdicts`` entry (kind ``memorization``) for the section."""
    return [
        {
            "kind": "memorization",
            "subject": f"replication ({section['space']})",
            "outcome": section["outcome"],
            "reason": section["verdict"],
            "next_step": section["next_step"],
        }
    ]


def memorization_findings(section: dict) -> list[dict]:
    """The report's ``findings`` entry (kind ``memorization``) when the section is a finding."""
    if section["outcome"] != "finding":
        return []
    return [
        {
            "kind": "memorization",
            "attribute": f"replication ({section['space']})",
            "message": f"{section['copies']} of {section['n']} samples copy one of "
            f"{section['distinct_training_images']} training images: {section['verdict']}",
        }
    ]


def untested_memorization(error: Exception) -> dict:
    """The ``verdicts`` entry of a memorization check that did not finish."""
    return {
        "kind": "memorization",
        "subject": "replication",
        "outcome": "not tested",
        "reason": f"not tested: the memorization check did not finish: {error}",
        "next_step": "fix the error and rerun",
    }


def _samples(sampled: SampledModel) -> tuple[list[tuple[object, int]], np.ndarray]:
    """(condition, index) of every sample and the images ``uint8 [N, H, W, C]``, every condition pooled."""
    n, names, images = sampled.options.n, [], []
    for samples in sampled.samples:
        images.append(samples.store.load(n))
        names.extend((samples.condition, index) for index in range(n))
    return names, np.concatenate(images)


def _read(source: str, samples: np.ndarray, allow_local: bool) -> ImageChunks:
    """The images of ``source`` at the size and channels of ``samples`` (``uint8 [N, H, W, C]``), read a chunk at a
    time."""
    return open_image_chunks(source, image_size=samples.shape[1], channels=samples.shape[-1], allow_local=allow_local)


def _nearest_of_chunks(queries: ImageChunks, references: ImageChunks, featurise) -> np.ndarray:
    """``float [len(queries)]``: each query image's distance to its nearest reference, the queries read
    :data:`~hubaudit.audit.memorization.nearest.TRAINING_CHUNK` at a time."""
    return np.concatenate(
        [
            nearest_neighbours(featurise(chunk), references, featurise, k=1).distances[:, 0]
            for chunk in queries.chunks(TRAINING_CHUNK)
        ]
    )


def _distance_words(space: str, grid: int) -> str:
    if space == "pixel":
        return (
            f"normalised tiled L2 (Carlini et al.): the largest root-mean-square pixel difference over {grid}x{grid} "
            "tiles, in [0, 1]"
        )
    return f"L2 between unit-length embeddings of {space.removeprefix('embedding:')} (sqrt(2 - 2 cos))"


def _quantiles(values: np.ndarray) -> dict[str, float]:
    return {f"q{round(100 * q):02d}": float(np.quantile(values, q)) for q in QUANTILES}


def _top_pairs(
    conditions: list[tuple[object, int]],
    images: np.ndarray,
    training: ImageChunks,
    found: Replication,
    *,
    calibrated: bool,
) -> list[dict]:
    """The :data:`TOP_PAIRS` samples nearest their training image (the distance when ``calibrated``, else the
    relative distance), each with that image (PNG thumbnails, base64, so that the report renders without the
    data); only the training images shown are read."""

    def thumbnail(image: np.ndarray) -> str:
        repeat = max(1, THUMBNAIL_SIDE // max(image.shape[:2]))
        scaled = image.repeat(repeat, 0).repeat(repeat, 1) if max(image.shape[:2]) <= THUMBNAIL_SIDE else image
        return base64.b64encode(encode_png(scaled)).decode("ascii")

    shown = np.argsort(found.nearest if calibrated else found.relative, kind="stable")[:TOP_PAIRS]
    training_images = training.fetch([int(found.nearest_index[position]) for position in shown])
    pairs = []
    for position, training_image in zip(shown, training_images, strict=True):
        condition, index = conditions[position]
        training_index = int(found.nearest_index[position])
        pairs.append(
            {
                "condition": condition,
                "sample_index": index,
                "training_index": training_index,
                "distance": float(found.nearest[position]),
                "relative_distance": float(found.relative[position]),
                "copy": bool(found.copies[position]),
                "sample_png": thumbnail(images[position]),
                "training_png": thumbnail(training_image),
            }
        )
    return pairs


def scan_featurise(options: MemorizationOptions, *, token: str | None, allow_local: bool, device: str):
    """(featurise, space) for the options: tiled pixels, or the named embedding model's unit vectors."""
    if options.embedding is None:
        return tile_features, "pixel"
    from hubaudit.audit.memorization.embedding import ImageEmbedding

    embedding = ImageEmbedding(options.embedding, token=token, allow_local=allow_local, device=device)
    return embedding, f"embedding:{embedding.description}"
