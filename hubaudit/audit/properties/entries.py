"""The entries of the report's ``properties`` section: estimates per condition, gold labels, and the
sequential estimate (shape: docs/report-schema.md; the self-audit: :mod:`hubaudit.audit.properties.self_audit`)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np

from hubaudit.annotate import Annotator
from hubaudit.audit.properties.gold import GoldLabels
from hubaudit.errors import ClassifierNoBetterThanChance
from hubaudit.stats import (
    ShareEstimate,
    corrected_shares,
    hoeffding_interval,
    hoeffding_sample_size,
    simultaneous_intervals,
    soft_share_intervals,
)
from hubaudit.stats.anytime import CorrectedConfidenceSequence, LabelledShareSequences, fixed_n_plan
from hubaudit.stats.correction import confusion_shift_p_value
from hubaudit.stats.ppi import GoldStratum, gold_confusion, pooled_ppi_shares

if TYPE_CHECKING:
    from hubaudit.audit.options import PropertyOptions


def condition_entry(condition: object, probabilities: np.ndarray, annotator: Annotator, confidence: float) -> dict:
    """One ``by_condition`` entry from the annotator's probabilities ``float [n, K]`` for n samples."""
    values = annotator.attribute.values
    n = len(probabilities)
    counts = np.bincount(probabilities.argmax(axis=1), minlength=len(values))
    per_value_confidence = simultaneous_level(confidence, len(values))
    estimates = {
        "classify_and_count": simultaneous_intervals(counts, names=values, confidence=confidence),
        "hoeffding": {
            value: dataclasses.replace(
                hoeffding_interval(int(count), n, confidence=per_value_confidence), confidence=confidence
            )
            for value, count in zip(values, counts)
        },
        "soft": soft_share_intervals(probabilities, names=values, confidence=confidence),
    }
    corrected_error = None
    if annotator.confusion is None:
        corrected_error = (
            "the annotator has no confusion matrix (give --aux-data with a column of this name to calibrate it)"
        )
    else:
        try:
            estimates["corrected"] = corrected_shares(
                counts, confusion=annotator.confusion, names=values, confidence=confidence
            )
        except ClassifierNoBetterThanChance as err:
            corrected_error = str(err)
    return {
        "condition": condition,
        "n": n,
        "counts": {value: int(count) for value, count in zip(values, counts)},
        "estimates": {
            method: {value: share.to_dict() for value, share in shares.items()} for method, shares in estimates.items()
        },
        "corrected_error": corrected_error,
    }


def gold_stratum(gold: GoldLabels, probabilities: np.ndarray) -> GoldStratum:
    """``gold``'s labels beside the annotator's probabilities ``float [n, K]`` of the n samples the estimates use
    (labels of samples beyond n are left out; the labelled samples are left out of the unlabelled set)."""
    n = len(probabilities)
    indices, codes = gold.codes(below=n)
    unlabelled = np.ones(n, dtype=bool)
    unlabelled[indices] = False
    return GoldStratum(codes, probabilities[indices], probabilities[unlabelled])


def gold_entry(
    entry: dict,
    strata: list[GoldStratum],
    values: list[str],
    confidence: float,
    *,
    described: dict,
    calibration: np.ndarray | None = None,
) -> None:
    """Add the prediction-powered estimates of ``strata`` (one per condition the ``entry`` covers) to ``entry`` (in
    place): ``estimates.ppi`` and the ``gold`` block (``described``: what the gold-label files say of themselves; the
    labels used, gold-only intervals, effective sample size, the annotator's confusion on these generated samples,
    and, given the annotator's ``calibration`` counts ``int [K, K]``, whether it errs differently there)."""
    powered = pooled_ppi_shares(strata, names=values, confidence=confidence)
    codes = np.concatenate([stratum.gold_codes for stratum in strata])
    predicted = np.concatenate([stratum.gold_probabilities for stratum in strata]).argmax(axis=1)
    on_generated = gold_confusion(codes, predicted, value_count=len(values))
    entry["estimates"]["ppi"] = {value: share.to_dict() for value, share in powered.shares.items()}
    entry["gold"] = {
        **described,
        "used": int(codes.size),
        "gold_only": {value: share.to_dict() for value, share in powered.gold_only.items()},
        "power_tuning": powered.power_tuning,
        "effective_gold": powered.effective_gold,
        "confusion_on_generated": on_generated.tolist(),
    }
    if calibration is not None:
        entry["gold"]["calibration_shift"] = calibration_shift(on_generated, calibration, confidence)


def calibration_shift(on_generated: np.ndarray, calibration: np.ndarray, confidence: float) -> dict:
    """``{"p_value", "shifted", "message"}``: whether the annotator errs on gold-labelled generated samples (confusion
    ``int [K, K]``) as on its calibration records; shifted when ``p_value <= 1 - confidence``."""
    p_value = confusion_shift_p_value(on_generated, calibration)
    if p_value is None:
        return {
            "p_value": None,
            "shifted": False,
            "message": "not tested: no true value has records both among the gold labels and in the calibration",
        }
    shifted = p_value <= 1 - confidence
    message = (
        f"the annotator errs differently on generated images than on its calibration records (p = {p_value:.3g}): the "
        "calibration-corrected estimate does not hold on generated images; read the prediction-powered one (ppi), "
        "which does"
        if shifted
        else f"no evidence (p = {p_value:.3g}) that the annotator errs differently on generated images than on its "
        "calibration records; a small shift may go unseen with few gold labels, and the prediction-powered estimate "
        "(ppi) holds either way"
    )
    return {"p_value": p_value, "shifted": shifted, "message": message}


def simultaneous_level(confidence: float, value_count: int) -> float:
    """Per-value level of intervals (or confidence sequences) that hold together over K values: Bonferroni (none for K = 2)."""
    return confidence if value_count == 2 else 1 - (1 - confidence) / value_count


def headline_sequence(annotator: Annotator, options: PropertyOptions, *, confidence: float | None = None):
    """The anytime-valid sequence a sequential scan stops on and reports as its headline: of the corrected shares
    (:class:`CorrectedConfidenceSequence`, carrying the calibration uncertainty) when the annotator is calibrated
    and correctable, else of its labelled shares; simultaneous over the values, at ``confidence`` (default the options')."""
    level = options.confidence if confidence is None else confidence
    values = list(annotator.attribute.values)
    if annotator.confusion is not None:
        try:
            return CorrectedConfidenceSequence(
                annotator.confusion, names=values, confidence=level, target_half_width=options.target_width
            )
        except ClassifierNoBetterThanChance:
            pass
    return LabelledShareSequences(values, confidence=level, target_half_width=options.target_width)


def sequential_entry(probabilities: np.ndarray, annotator: Annotator, options: PropertyOptions, reached: bool) -> dict:
    """The ``sequential`` block: the anytime-valid headline after ``len(probabilities)`` samples, what it is,
    and the fixed-n Clopper-Pearson plans that reach the same half-width, with a recommendation."""
    sequence = headline_sequence(annotator, options)
    predicted = probabilities.argmax(axis=1)
    sequence.update(predicted)
    values, n, target = annotator.attribute.values, len(probabilities), options.target_width
    labelled = np.bincount(predicted, minlength=len(values)) / n
    corrected = isinstance(sequence, CorrectedConfidenceSequence)
    plan = fixed_n_plan(
        target,
        labelled_shares=labelled,
        confusion=annotator.confusion if corrected else None,
        confidence=options.confidence,
    )
    fixed = plan.corrected if corrected else plan.labelled
    estimates = sequence.estimates()
    return {
        "target_half_width": target,
        "reached": reached,
        "n_used": n,
        "guarantee": "anytime-valid: the interval holds at every sample count at once, so at the data-dependent stop too",
        "estimates_what": "corrected shares (calibration uncertainty included)"
        if corrected
        else "the annotator's labelled shares",
        "floor_half_width": sequence.floor_half_width() if corrected else 0.0,
        "hoeffding_plan": hoeffding_sample_size(
            target, confidence=simultaneous_level(options.confidence, len(values))
        ),
        "fixed_n_plan": {"labelled": plan.labelled, "worst_case": plan.worst_case, "corrected": plan.corrected},
        "recommendation": _plan_recommendation(n, fixed, plan.worst_case, reached, sequence, target),
        **({"estimate": estimates[values[1]].to_dict()} if len(values) == 2 else {}),
        "estimates": {value: estimate.to_dict() for value, estimate in estimates.items()},
    }


def _plan_recommendation(
    n_used: int, fixed: int | None, worst_case: int, reached: bool, sequence, target: float
) -> str:
    """Whether the sequential stop or a fixed n (Clopper-Pearson, planned at the share now observed) is cheaper."""
    if fixed is None:
        floor = sequence.floor_half_width() if isinstance(sequence, CorrectedConfidenceSequence) else 0.0
        return (
            f"no sample count reaches +-{target:g}: the annotator's calibration alone leaves +-{floor:.3f}; "
            "calibrate it on more labelled data, or give --gold labels"
        )
    if not reached:
        return (
            f"+-{target:g} was not reached within n = {n_used}; a fixed-n scan of -n {fixed} would reach it at the "
            "share observed"
        )
    if fixed < n_used:
        return (
            f"a fixed-n scan of -n {fixed} (Clopper-Pearson, planned at the share observed) would have reached "
            f"+-{target:g} with fewer samples than this stop ({n_used}); fixed n is cheaper when the share is known "
            f"roughly in advance (without that, plan for the worst case, {worst_case} labelled samples)"
        )
    return f"the sequential stop ({n_used} samples) beat the fixed-n plan at the share observed ({fixed})"


def pooled_sequential(
    by_condition: list[np.ndarray], annotator: Annotator, options: PropertyOptions, weights: np.ndarray | None = None
) -> dict:
    """The pooled headline over C conditions: the mean of per-condition anytime-valid intervals at level
    ``1 - alpha / C`` each, weighted by ``weights`` ``float [C]`` (summing to 1; default equal, as the samples are),
    which holds for the weighted mean share whenever all of them do."""
    weights = (
        np.full(len(by_condition), 1 / len(by_condition)) if weights is None else np.asarray(weights, dtype=float)
    )
    level = 1 - (1 - options.confidence) / len(by_condition)
    intervals = []
    for probabilities in by_condition:
        sequence = headline_sequence(annotator, options, confidence=level)
        sequence.update(probabilities.argmax(axis=1))
        intervals.append(sequence.estimates())
    n = sum(len(probabilities) for probabilities in by_condition)
    pooled = {}
    for value in annotator.attribute.values:
        low, share, high = (
            float(np.dot(weights, [getattr(estimates[value], field) for estimates in intervals]))
            for field in ("low", "value", "high")
        )
        mean = (
            "mean"
            if np.allclose(weights, weights[0])
            else "weighted mean (" + ", ".join(f"{w:.3f}" for w in weights) + ")"
        )
        notes = (f"{mean} of {len(by_condition)} per-condition anytime-valid intervals, each at level {level:.4g}",)
        pooled[value] = ShareEstimate(
            share, low, high, intervals[0][value].method, n, options.confidence, notes
        ).to_dict()
    return pooled
