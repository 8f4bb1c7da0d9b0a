"""The entries of the report's ``properties`` section: estimates per condition, the sequential
estimate, the self-audit verdict, and the CLI's summary lines (shape: docs/report-schema.md)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np

from hubaudit.annotate import Annotator
from hubaudit.errors import ClassifierNoBetterThanChance
from hubaudit.stats import (
    ConfidenceSequence,
    corrected_shares,
    hoeffding_interval,
    hoeffding_sample_size,
    simultaneous_intervals,
    soft_share_intervals,
)

if TYPE_CHECKING:
    from hubaudit.audit.properties import PropertyOptions


def condition_entry(condition: object, probabilities: np.ndarray, annotator: Annotator, confidence: float) -> dict:
    """One ``by_condition`` entry from the annotator's probabilities ``float [n, K]`` for n samples."""
    values = annotator.attribute.values
    n = len(probabilities)
    counts = np.bincount(probabilities.argmax(axis=1), minlength=len(values))
    per_value_confidence = simultaneous_level(confidence, len(values))
    estimates = {
        "classify_and_count": simultaneous_intervals(counts, names=values, confidence=confidence),
        "hoeffding": {
            value: dataclasses.replace(hoeffding_interval(int(count), n, confidence=per_value_confidence), confidence=confidence)
            for value, count in zip(values, counts)
        },
        "soft": soft_share_intervals(probabilities, names=values, confidence=confidence),
    }
    corrected_error = None
    if annotator.confusion is None:
        corrected_error = "the annotator has no confusion matrix (give --aux-data with a column of this name to calibrate it)"
    else:
        try:
            estimates["corrected"] = corrected_shares(counts, confusion=annotator.confusion, names=values, confidence=confidence)
        except ClassifierNoBetterThanChance as err:
            corrected_error = str(err)
    return {
        "condition": condition,
        "n": n,
        "counts": {value: int(count) for value, count in zip(values, counts)},
        "estimates": {method: {value: share.to_dict() for value, share in shares.items()} for method, shares in estimates.items()},
        "corrected_error": corrected_error,
    }


def simultaneous_level(confidence: float, value_count: int) -> float:
    """Per-value level of intervals (or confidence sequences) that hold together over K values: Bonferroni (none for K = 2)."""
    return confidence if value_count == 2 else 1 - (1 - confidence) / value_count


def sequential_entry(probabilities: np.ndarray, annotator: Annotator, options: PropertyOptions, reached: bool) -> dict:
    """The ``sequential`` block: confidence-sequence estimates of the labelled shares after ``len(probabilities)`` samples."""
    values = annotator.attribute.values
    level = simultaneous_level(options.confidence, len(values))
    predicted = probabilities.argmax(axis=1)
    estimates = {}
    for k, value in enumerate(values):
        sequence = ConfidenceSequence(confidence=level, target_half_width=options.target_width)
        sequence.update((predicted == k).astype(float))
        estimates[value] = dataclasses.replace(sequence.estimate(), confidence=options.confidence).to_dict()
    return {
        "target_half_width": options.target_width,
        "reached": reached,
        "n_used": len(probabilities),
        "hoeffding_plan": hoeffding_sample_size(options.target_width, confidence=level),
        **({"estimate": estimates[values[1]]} if len(values) == 2 else {}),
        "estimates": estimates,
    }


def self_audit(entry: dict, shares: np.ndarray, max_property_error: float) -> dict:
    """The ``self_audit`` block: the outsider's primary estimate (pooled over conditions) beside the
    true training shares ``float [K]``, the gap (the model's fidelity) and a verdict.

    The rule for a privacy finding: the estimate of every value is within ``max_property_error``
    of its training share.
    """
    pooled = entry.get("overall") or entry["by_condition"][0]
    method, values, n = entry["primary_method"], entry["values"], pooled["n"]
    estimates = pooled["estimates"][method]
    gaps = {value: abs(estimates[value]["value"] - float(share)) for value, share in zip(values, shares)}
    value = values[-1] if len(values) == 2 else max(gaps, key=gaps.get)
    estimate, true_share, gap = estimates[value], float(shares[values.index(value)]), gaps[value]
    disclosed = max(gaps.values()) <= max_property_error
    verdict = (
        f"An outsider with {n} samples estimates the training share of {entry['name']}={value} as "
        f"{estimate['value']:.3f} [{estimate['low']:.3f}, {estimate['high']:.3f}] ({method}); the true training share "
        f"is {true_share:.3f}. The gap, {gap:.3f}, is the model's fidelity; with the interval's half-width the "
        f"outsider learns the training share to within about ±{gap + estimate['half_width']:.3f}. "
    )
    verdict += (
        f"That is within --max-property-error {max_property_error:g}: sharing this model discloses the training share."
        if disclosed
        else f"The estimate is off by more than --max-property-error {max_property_error:g}: "
        "the model does not disclose the training share to that precision."
    )
    finding = (
        f"{entry['name']}: an outsider with {n} samples estimates the training share of {entry['name']}={value} "
        f"({true_share:.3f}) as {estimate['value']:.3f}, within --max-property-error {max_property_error:g}"
        if disclosed
        else None
    )
    return {
        "training_share": {value: float(share) for value, share in zip(values, shares)},
        "gap": gaps,
        "max_property_error": max_property_error,
        "verdict": verdict,
        "finding": finding,
    }


def summary_lines(section: dict) -> list[str]:
    """A few lines for the terminal: per attribute and condition the corrected and naive estimates."""
    lines = [f"property  estimates of the GENERATED share, {section['confidence']:.0%} intervals (see report.json 'statement')"]
    for attribute in section["attributes"]:
        annotator = attribute["annotator"]
        calibration = (f"accuracy {annotator['accuracy']:.3f} (calibration: {annotator.get('calibration') or 'not recorded'})"
                       if annotator["accuracy"] is not None else "uncalibrated")
        lines.append(f"property  {attribute['name']}: {annotator['type']} annotator, {calibration}")
        shown = attribute["values"][1:] if len(attribute["values"]) == 2 else attribute["values"]
        entries = attribute["by_condition"] + ([attribute["overall"]] if "overall" in attribute else [])
        for entry in entries:
            where = " overall" if isinstance(entry["condition"], list) else "" if entry["condition"] is None else f" [{entry['condition']}]"
            for value in shown:
                corrected = entry["estimates"].get("corrected", {}).get(value)
                text = f"corrected {_interval(corrected)}" if corrected else f"corrected: undefined ({entry['corrected_error']})"
                naive = _interval(entry["estimates"]["classify_and_count"][value])
                lines.append(f"  {attribute['name']}={value}{where}: {text}; classify-and-count {naive}; n={entry['n']}")
            if "sequential" in entry:
                sequential = entry["sequential"]
                outcome = "reached" if sequential["reached"] else "not reached"
                estimates = "; ".join(f"{value} {_interval(sequential['estimates'][value])}" for value in shown)
                lines.append(
                    f"  sequential: half-width {sequential['target_half_width']:g} {outcome} after {sequential['n_used']} "
                    f"samples (Hoeffding plan {sequential['hoeffding_plan']}): {estimates}"
                )
        if "self_audit" in attribute:
            lines.append(f"  self-audit: {attribute['self_audit']['verdict']}")
    return lines


def _interval(estimate: dict) -> str:
    return f"{estimate['value']:.3f} [{estimate['low']:.3f}, {estimate['high']:.3f}]"
