"""How far the fast sampler moves the generated shares: K paired seeds drawn again with the model's own
scheduler at its default steps, labelled by the same annotators (``--check-drift K``).

Sample i of both samplers starts from the same noise (seed, condition, i), so the difference of the
two shares of a value is a paired difference (:func:`hubaudit.stats.paired.paired_difference_interval`).
A difference whose interval lies wholly outside +-``DRIFT_TOLERANCE`` is a warning: the estimates
describe the fast sampler's images, which differ from what the model's own sampler draws.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from hubaudit.stats.paired import paired_difference_interval

if TYPE_CHECKING:
    from hubaudit.audit.properties.audit import PropertyAudit
    from hubaudit.audit.sampled import ConditionSamples
    from hubaudit.sampling import Sampler

DRIFT_TOLERANCE = 0.01
"""A drift whose interval excludes [-0.01, 0.01] is a warning; one inside it is negligible."""
ANNOTATION_BATCH = 256


@dataclass
class DriftSamples:
    """The reference sampler and its stores of the first ``k`` samples of every condition."""

    sampler: Sampler
    samples: list[ConditionSamples]
    k: int


def drift_section(properties: PropertyAudit, reference: DriftSamples, *, confidence: float) -> dict:
    """The report's ``drift`` section: per attribute, condition and value, the fast minus the reference share."""
    attributes, warnings = [], []
    for attribute_index, annotator in enumerate(properties.annotators):
        by_condition = []
        for position, samples in enumerate(reference.samples):
            fast = properties.probabilities[position][attribute_index][: reference.k].argmax(axis=1)
            slow = np.zeros(reference.k, dtype=np.int64)
            for indices, images in samples.store.iter_batches(reference.k, batch_size=ANNOTATION_BATCH):
                slow[indices] = annotator.predict_proba(images).argmax(axis=1)
            by_value = {}
            for value_index, value in enumerate(annotator.attribute.values):
                difference = paired_difference_interval(
                    fast == value_index, slow == value_index, confidence=confidence
                )
                verdict = _verdict(difference.low, difference.high)
                by_value[value] = {
                    "fast_share": float(np.mean(fast == value_index)),
                    "reference_share": float(np.mean(slow == value_index)),
                    "difference": difference.to_dict(),
                    "verdict": verdict,
                }
                if verdict == "drift":
                    warnings.append(
                        f"{annotator.attribute.name}={value} (condition {samples.condition!r}): the fast sampler draws "
                        f"{difference.value:+.3f} [{difference.low:+.3f}, {difference.high:+.3f}] of it vs the model's own "
                        "sampler; the estimates describe the fast sampler's images"
                    )
            by_condition.append({"condition": samples.condition, "by_value": by_value})
        attributes.append({"name": annotator.attribute.name, "by_condition": by_condition})
    return {
        "k": reference.k,
        "reference_sampler": {**reference.sampler.config.to_dict(), **reference.sampler.describe()},
        "tolerance": DRIFT_TOLERANCE,
        "confidence": confidence,
        "attributes": attributes,
        "warnings": warnings,
    }


def _verdict(low: float, high: float) -> str:
    """``drift`` (interval outside +-tolerance), ``negligible`` (inside it) or ``inconclusive`` (K too small to tell)."""
    if low > DRIFT_TOLERANCE or high < -DRIFT_TOLERANCE:
        return "drift"
    if -DRIFT_TOLERANCE <= low and high <= DRIFT_TOLERANCE:
        return "negligible"
    return "inconclusive"
