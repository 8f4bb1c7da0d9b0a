"""Empirical coverage of hubaudit's interval methods by simulation with a known truth.

A test helper, not part of the package: the tests check coverage >= nominal - a little, and the benchmark suites
(``benchmarks/pia.py``, which puts tests/ on ``sys.path``) print coverage tables. It calls only ``hubaudit.stats``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from hubaudit.errors import ClassifierNoBetterThanChance
from hubaudit.stats.anytime import CorrectedConfidenceSequence, LabelledShareSequences, fixed_n_plan
from hubaudit.stats.correction import corrected_shares
from hubaudit.stats.estimate import ShareEstimate
from hubaudit.stats.information import demographic_parity_gap
from hubaudit.stats.ppi import ppi_shares
from hubaudit.stats.proportion import clopper_pearson_interval, hoeffding_interval, simultaneous_intervals
from hubaudit.stats.sequential import ConfidenceSequence, samples_to_half_width

ShareMethod = Literal["hoeffding", "clopper-pearson", "bonferroni", "goodman", "corrected"]


@dataclass(frozen=True)
class CoverageResult:
    """Share of simulated trials whose interval(s) all contained the truth.

    ``answered`` trials returned an interval (a corrected estimator refuses when its simulated
    calibration split looks no better than chance); ``coverage`` is over answered trials.
    ``mean_half_width`` is the mean over answered trials (and over values, for K values).
    """

    method: str
    coverage: float
    trials: int
    answered: int
    mean_half_width: float

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form."""
        return asdict(self)


def _tally(method: str, trials: int, outcomes: list[tuple[bool, float]]) -> CoverageResult:
    """Coverage result from per-answered-trial ``(covered, half_width)`` pairs."""
    covered = [hit for hit, _ in outcomes]
    widths = [width for _, width in outcomes]
    return CoverageResult(
        method,
        float(np.mean(covered)) if covered else float("nan"),
        trials,
        len(outcomes),
        float(np.mean(widths)) if widths else float("nan"),
    )


def _all_cover(estimates: Sequence[ShareEstimate], truths: Sequence[float]) -> tuple[bool, float]:
    return all(e.contains(t) for e, t in zip(estimates, truths)), float(np.mean([e.half_width for e in estimates]))


def simulate_coverage(
    *,
    method: ShareMethod,
    true_shares: float | Sequence[float],
    n: int,
    trials: int = 500,
    confidence: float = 0.95,
    confusion_rates: np.ndarray | None = None,
    calibration_size: int | Sequence[int] = 100,
    n_draws: int = 1000,
    random_state: int = 0,
) -> CoverageResult:
    """Coverage of a share interval method over ``trials`` simulated audits of ``n`` samples.

    ``true_shares``: the share of value 1 (binary) or a (K,) vector of true shares. Each trial
    draws the annotator's predicted counts from ``Multinomial(n, M^T p)`` with ``M =
    confusion_rates`` (row-normalised, rows = true value; identity when None, i.e. a perfect
    annotator). For ``"corrected"`` each trial also draws a calibration split of
    ``calibration_size`` samples per true value and estimates ``M`` from it. ``"hoeffding"``
    and ``"clopper-pearson"`` are binary and check the share of value 1; the others check all
    K shares at once. Uncorrected methods with a noisy ``M`` show the cost of ignoring it.
    """
    shares = np.atleast_1d(np.asarray(true_shares, dtype=float))
    shares = np.array([1 - shares[0], shares[0]]) if shares.size == 1 else shares
    size = shares.size
    rates = np.eye(size) if confusion_rates is None else np.asarray(confusion_rates, dtype=float)
    calibration = np.broadcast_to(np.asarray(calibration_size), (size,))
    rng = np.random.default_rng(random_state)
    estimators: dict[str, Callable[[np.ndarray], list[ShareEstimate]]] = {
        "hoeffding": lambda counts: [hoeffding_interval(counts[1], n, confidence=confidence)],
        "clopper-pearson": lambda counts: [clopper_pearson_interval(counts[1], n, confidence=confidence)],
        "bonferroni": lambda counts: list(simultaneous_intervals(counts, confidence=confidence).values()),
        "goodman": lambda counts: list(
            simultaneous_intervals(counts, confidence=confidence, method="goodman").values()
        ),
        "corrected": lambda counts: list(
            corrected_shares(
                counts,
                confusion=np.array([rng.multinomial(cal, row) for cal, row in zip(calibration, rates)]),
                confidence=confidence,
                n_draws=n_draws,
                random_state=rng,
            ).values()
        ),
    }
    if method not in estimators:
        raise ValueError(f"unknown method {method!r}; expected one of {sorted(estimators)}")
    if method in ("hoeffding", "clopper-pearson") and size != 2:
        raise ValueError(f"{method!r} is a binary method, got {size} true shares")
    truths = shares[1:] if method in ("hoeffding", "clopper-pearson") else shares
    outcomes = []
    for _ in range(trials):
        counts = rng.multinomial(n, rates.T @ shares)
        try:
            outcomes.append(_all_cover(estimators[method](counts), truths))
        except ClassifierNoBetterThanChance:
            continue
    return _tally(method, trials, outcomes)


def simulate_gap_coverage(
    *,
    positive_rates: Sequence[float],
    group_size: int | Sequence[int],
    trials: int = 500,
    confidence: float = 0.95,
    random_state: int = 0,
) -> CoverageResult:
    """Coverage of :func:`demographic_parity_gap` over simulated (S, 2) tables.

    Group s has ``group_size`` (or ``group_size[s]``) samples with P(Y=1) = ``positive_rates[s]``.
    """
    rates = np.asarray(positive_rates, dtype=float)
    sizes = np.broadcast_to(np.asarray(group_size), rates.shape)
    true_gap = float(rates.max() - rates.min())
    rng = np.random.default_rng(random_state)
    outcomes = []
    for _ in range(trials):
        positives = rng.binomial(sizes, rates)
        gap = demographic_parity_gap(np.stack([sizes - positives, positives], axis=1), confidence=confidence)
        outcomes.append(_all_cover([gap], [true_gap]))
    return _tally("demographic-parity-gap", trials, outcomes)


def simulate_sequence_coverage(
    *,
    true_share: float,
    length: int,
    trials: int = 200,
    confidence: float = 0.95,
    target_half_width: float | None = None,
    grid_size: int = 401,
    random_state: int = 0,
) -> CoverageResult:
    """Share of Bernoulli(``true_share``) paths of ``length`` outcomes whose confidence sequence covers at *every* n.

    ``mean_half_width`` is the mean final half-width.
    """
    rng = np.random.default_rng(random_state)
    outcomes = []
    for _ in range(trials):
        sequence = ConfidenceSequence(confidence=confidence, target_half_width=target_half_width, grid_size=grid_size)
        sequence.update((rng.random(length) < true_share).astype(float))
        lows, highs = sequence.intervals()
        outcomes.append((bool(np.all((lows <= true_share) & (true_share <= highs))), sequence.half_width))
    return _tally("betting-confidence-sequence", trials, outcomes)


def simulate_gold_coverage(
    *,
    true_share: float | Sequence[float],
    n: int,
    gold: int,
    calibration_confusion: np.ndarray,
    generated_confusion: np.ndarray,
    calibration_size: int | Sequence[int] = 500,
    trials: int = 500,
    confidence: float = 0.95,
    n_draws: int = 1000,
    seed: int = 0,
) -> dict[str, CoverageResult]:
    """Coverage of PPI++ (:func:`ppi_shares`) and of the confusion-corrected shares when the annotator errs
    differently on generated images than on its calibration split.

    ``true_share``: the share of value 1 (binary) or a (K,) vector. Each trial draws ``n``
    generated samples, labels them with an annotator that outputs one-hot probabilities drawn
    from ``generated_confusion`` (row-normalised (K, K), rows = true value), and gold-labels
    ``gold`` of them at random. ``"ppi++"`` uses those gold labels; ``"corrected"``
    (Rogan-Gladen / BBSE) ignores them and corrects with a calibration split of
    ``calibration_size`` samples per true value drawn from ``calibration_confusion``.
    A trial covers when the intervals of all K values contain their true shares.
    """
    shares = np.atleast_1d(np.asarray(true_share, dtype=float))
    shares = np.array([1 - shares[0], shares[0]]) if shares.size == 1 else shares
    size = shares.size
    generated = np.asarray(generated_confusion, dtype=float)
    calibration_rates = np.asarray(calibration_confusion, dtype=float)
    calibration = np.broadcast_to(np.asarray(calibration_size), (size,))
    rng = np.random.default_rng(seed)
    outcomes: dict[str, list[tuple[bool, float]]] = {"ppi++": [], "corrected": []}
    for _ in range(trials):
        true_codes = rng.choice(size, n, p=shares)
        predicted = np.empty(n, dtype=np.int64)
        for value in range(size):
            carriers = true_codes == value
            predicted[carriers] = rng.choice(size, int(carriers.sum()), p=generated[value])
        probabilities = np.eye(size)[predicted]
        labelled = np.zeros(n, dtype=bool)
        labelled[rng.choice(n, gold, replace=False)] = True
        ppi = ppi_shares(
            true_codes[labelled], probabilities[labelled], probabilities[~labelled], confidence=confidence
        )
        outcomes["ppi++"].append(_all_cover(list(ppi.shares.values()), shares))
        calibration_counts = np.array([rng.multinomial(cal, row) for cal, row in zip(calibration, calibration_rates)])
        try:
            corrected = corrected_shares(
                np.bincount(predicted, minlength=size),
                confusion=calibration_counts,
                confidence=confidence,
                n_draws=n_draws,
                random_state=rng,
            )
        except ClassifierNoBetterThanChance:
            continue
        outcomes["corrected"].append(_all_cover(list(corrected.values()), shares))
    return {method: _tally(method, trials, results) for method, results in outcomes.items()}


@dataclass(frozen=True)
class StoppingResult:
    """Samples a tuned confidence sequence took to reach a half-width, beside fixed-n Clopper-Pearson plans.

    ``mean_samples`` is over the ``reached`` of ``trials`` paths that reached ``half_width``
    within their length; ``fixed_n_at_share`` plans at the true share, ``fixed_n_worst_case`` at 0.5.
    """

    true_share: float
    half_width: float
    mean_samples: float
    reached: int
    trials: int
    fixed_n_at_share: int
    fixed_n_worst_case: int

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form."""
        return asdict(self)


def simulate_anytime_coverage(
    *,
    method: Literal["labelled", "corrected"],
    true_shares: float | Sequence[float],
    confusion_rates: np.ndarray | None = None,
    calibration_size: int | Sequence[int] = 500,
    length: int = 3000,
    batch: int = 50,
    trials: int = 200,
    confidence: float = 0.95,
    target_half_width: float | None = None,
    grid_size: int = 401,
    random_state: int = 0,
) -> CoverageResult:
    """Share of simulated paths whose anytime-valid intervals contain the truth at *every* look.

    ``true_shares``: the share of value 1 (binary) or a (K,) vector. Each path draws ``length``
    predicted codes from ``Categorical(M^T p)`` (``M = confusion_rates``, rows = true value;
    identity when None) and looks after every ``batch`` of them. ``"labelled"`` checks
    :class:`LabelledShareSequences` against ``M^T p``; ``"corrected"`` checks
    :class:`CorrectedConfidenceSequence`, with a calibration split of ``calibration_size``
    samples per true value drawn from ``M``, against ``p`` (paths whose split is too
    ill-conditioned to correct are not answered). ``mean_half_width``: mean final half-width.
    """
    if method not in ("labelled", "corrected"):
        raise ValueError(f"unknown method {method!r}; expected 'labelled' or 'corrected'")
    shares = np.atleast_1d(np.asarray(true_shares, dtype=float))
    shares = np.array([1 - shares[0], shares[0]]) if shares.size == 1 else shares
    size = shares.size
    rates = np.eye(size) if confusion_rates is None else np.asarray(confusion_rates, dtype=float)
    labelled_shares = rates.T @ shares
    calibration = np.broadcast_to(np.asarray(calibration_size), (size,))
    rng = np.random.default_rng(random_state)
    options = dict(confidence=confidence, target_half_width=target_half_width, grid_size=grid_size)
    outcomes = []
    for _ in range(trials):
        if method == "corrected":
            counts = np.array([rng.multinomial(cal, row) for cal, row in zip(calibration, rates)])
            try:
                sequence = CorrectedConfidenceSequence(counts, **options)
            except ClassifierNoBetterThanChance:
                continue
            truth = shares
        else:
            sequence = LabelledShareSequences([str(k) for k in range(size)], **options)
            truth = labelled_shares
        codes = rng.choice(size, length, p=labelled_shares)
        covered = True
        for start in range(0, length, batch):
            sequence.update(codes[start : start + batch])
            # Inside the polytope (or the labelled box) every interval contains the truth: no LP needed.
            covered = covered and (
                sequence.admits(truth) or all(e.contains(t) for e, t in zip(sequence.estimates().values(), truth))
            )
        outcomes.append((covered, sequence.half_width))
    return _tally(f"anytime-{method}", trials, outcomes)


def simulate_stopping(
    *,
    true_share: float,
    half_width: float = 0.03,
    length: int = 3000,
    trials: int = 100,
    confidence: float = 0.95,
    grid_size: int = 1001,
    random_state: int = 0,
) -> StoppingResult:
    """Samples a confidence sequence tuned for ``half_width`` needs on Bernoulli(``true_share``) paths, vs fixed n.

    The fixed-n plans are :func:`fixed_n_plan`'s Clopper-Pearson plans at the true share and at 0.5.
    """
    rng = np.random.default_rng(random_state)
    needed = [
        samples_to_half_width(
            (rng.random(length) < true_share).astype(float),
            half_width=half_width,
            confidence=confidence,
            grid_size=grid_size,
        )
        for _ in range(trials)
    ]
    reached = [count for count in needed if count is not None]
    plan = fixed_n_plan(half_width, labelled_shares=[1 - true_share, true_share], confidence=confidence)
    mean_samples = float(np.mean(reached)) if reached else float("nan")
    return StoppingResult(true_share, half_width, mean_samples, len(reached), trials, plan.labelled, plan.worst_case)
