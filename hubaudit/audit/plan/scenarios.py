"""What a planned audit is and what one simulated scan of it gives (for :mod:`hubaudit.audit.plan`).

A scenario states the truth (each condition's true shares of the attribute's values), how the annotator errs
(``error_rates``, the same on every condition's generated images and calibration records) and what corrects it
(calibration records per value and class, or gold labels on each condition's own samples), and the audit's margins.
:meth:`FairnessScenario.outcome` and :meth:`PrivacyScenario.outcome` simulate one whole scan of ``n`` samples per
condition and return the verdict the audit itself gives: through :func:`~hubaudit.audit.fairness.audit_fairness`
(``explain=False``), or through :func:`~hubaudit.audit.properties.self_audit.self_audit` (``explain=False``: without its
``settle`` and ``sensitivity`` searches).

Common random numbers: a :class:`Trial` is drawn once (calibration records, gold labels, one uniform per value and
condition, the audit's seed) and serves every candidate n; the annotated counts at n are binomial quantiles of its
uniforms, so a trial's counts move monotonically with n.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import binom

from hubaudit.annotate.base import Attribute
from hubaudit.audit.fairness.correction import ConditionCalibration, gold_calibration
from hubaudit.audit.fairness.options import FairnessOptions
from hubaudit.audit.fairness.signature import audit_fairness
from hubaudit.audit.properties.audit import primary_method
from hubaudit.audit.properties.entries import condition_entry, gold_entry
from hubaudit.audit.properties.self_audit import self_audit
from hubaudit.audit.properties.training_shares import TrainingShares
from hubaudit.stats.outcome import Outcome
from hubaudit.stats.ppi import GoldStratum

SENSITIVE = "S"
"""Name of the simulated sensitive attribute (and of the privacy attribute)."""


@dataclass(frozen=True)
class Correction:
    """How the annotator errs and what corrects it.

    Attributes:
        error_rates: ``float [K, K]``, row i: P(annotated j | true value i), on generated images and calibration
            records alike, the same for every condition.
        calibration_per_class: calibration records per (true value, class) cell; None with gold labels.
        gold_per_condition: gold labels on each condition's own samples (a uniform random subset); None with
            calibration records.
    """

    error_rates: tuple[tuple[float, ...], ...]
    calibration_per_class: int | None = None
    gold_per_condition: int | None = None

    def scaled(self, factor: int) -> Correction:
        """The same correction with ``factor`` times the calibration records or gold labels."""
        if self.gold_per_condition is not None:
            return Correction(self.error_rates, None, self.gold_per_condition * factor)
        return Correction(self.error_rates, self.calibration_per_class * factor, None)

    def words(self, cell: str) -> str:
        """The correction in words; ``cell``: what one set of calibration records covers (e.g. "value and class")."""
        rates = np.asarray(self.error_rates)
        if len(rates) == 2:
            errors = f"false-positive rate {rates[0, 1]:g}, false-negative rate {rates[1, 0]:g}"
        else:
            errors = f"error rate {1 - rates[0, 0]:g} spread evenly over the other values"
        if self.gold_per_condition is not None:
            return (
                f"{self.gold_per_condition:,} gold labels per condition; the annotator's {errors} on every condition"
            )
        return (
            f"{self.calibration_per_class:,} calibration records per {cell}; the annotator's {errors} on every "
            "condition, on generated images as on its records"
        )


@dataclass(frozen=True)
class Trial:
    """The random part of one simulated scan, fixed across candidate n (common random numbers).

    ``uniforms``: ``float [C, K - 1]``; ``calibration``: per condition ``int [K, K]`` record counts (rows true value);
    ``gold_truth``, ``gold_annotated``: per condition ``int [G]`` true and annotated codes of its gold-labelled samples.
    """

    seed: int
    uniforms: np.ndarray
    calibration: tuple[np.ndarray, ...]
    gold_truth: tuple[np.ndarray, ...]
    gold_annotated: tuple[np.ndarray, ...]


def draw_trial(rng: np.random.Generator, shares: np.ndarray, correction: Correction) -> Trial:
    """One :class:`Trial` of a scan whose conditions have true shares ``shares`` ``float [C, K]``."""
    rates = np.asarray(correction.error_rates)
    conditions, values = shares.shape
    uniforms = rng.random((conditions, values - 1))
    calibration, gold_truth, gold_annotated = [], [], []
    for share in shares:
        if correction.calibration_per_class is not None:
            calibration.append(np.stack([rng.multinomial(correction.calibration_per_class, row) for row in rates]))
        if correction.gold_per_condition is not None:
            truth = rng.choice(values, size=correction.gold_per_condition, p=share)
            gold_truth.append(truth)
            below = np.cumsum(rates, axis=1)[truth][
                :, :-1
            ]  # a code is annotated j where its uniform passes j cumulants
            gold_annotated.append((rng.random((len(truth), 1)) >= below).sum(axis=1).astype(np.int64))
    return Trial(int(rng.integers(1 << 31)), uniforms, tuple(calibration), tuple(gold_truth), tuple(gold_annotated))


def coupled_counts(uniforms: np.ndarray, n: int, rates: np.ndarray) -> np.ndarray:
    """``int [K]`` multinomial counts of ``n`` draws with probabilities ``rates`` ``float [K]``, as conditional
    binomial quantiles of ``uniforms`` ``float [K - 1]`` (monotone in n for fixed uniforms)."""
    counts = np.zeros(len(rates), dtype=np.int64)
    left, remaining = n, 1.0
    for k, uniform in enumerate(uniforms):
        p = min(1.0, rates[k] / remaining) if remaining > 1e-12 else 0.0
        counts[k] = 0 if p <= 0 else left if p >= 1 else int(binom.ppf(uniform, left, p))
        left -= counts[k]
        remaining -= rates[k]
    counts[-1] = left
    return counts


def simulated_codes(
    trial: Trial, condition: int, n: int, share: np.ndarray, correction: Correction
) -> tuple[np.ndarray, int]:
    """Annotated codes ``int [n]`` of one condition's n samples (its gold-labelled samples first) and how many of them
    carry a gold label."""
    rates = np.asarray(correction.error_rates)
    gold = min(n, correction.gold_per_condition or 0)
    counts = coupled_counts(trial.uniforms[condition], n - gold, share @ rates)
    rest = np.repeat(np.arange(len(share)), counts)
    return (np.concatenate([trial.gold_annotated[condition][:gold], rest]) if gold else rest), gold


def one_hot(codes: np.ndarray, values: int) -> np.ndarray:
    """``float32 [n, K]`` probabilities that put all mass on ``codes``."""
    probabilities = np.zeros((len(codes), values), dtype=np.float32)
    probabilities[np.arange(len(codes)), codes] = 1
    return probabilities


@dataclass(frozen=True)
class FairnessScenario:
    """A class-conditional fairness audit of one sensitive attribute S against a label Y read off the classes.

    Attributes:
        groups: S's K value names.
        shares_by_label: ``float [2][K]``, P(S = s | Y = y): the true shares the model generates under each label.
        conditions_per_label: classes per label value (class ids ``0 .. 2c - 1``, the first c labelled 0).
        max_dp_gap, min_group_share, confidence: the audit's margins and level (:class:`FairnessOptions`).
        correction: the annotator's errors and what corrects them.
    """

    groups: tuple[str, ...]
    shares_by_label: tuple[tuple[float, ...], tuple[float, ...]]
    conditions_per_label: int
    max_dp_gap: float
    min_group_share: float
    confidence: float
    correction: Correction

    @property
    def condition_shares(self) -> np.ndarray:
        """``float [2c, K]`` true shares per class."""
        return np.repeat(np.asarray(self.shares_by_label, dtype=float), self.conditions_per_label, axis=0)

    def dp_gap(self) -> float:
        """The true demographic-parity gap at P(Y=1) = 1/2 (equal samples per condition and classes per label)."""
        shares = np.asarray(self.shares_by_label, dtype=float)
        totals = shares.sum(axis=0)
        rates = np.divide(shares[1], totals, out=np.full(len(totals), np.nan), where=totals > 0)
        return float(np.nanmax(rates) - np.nanmin(rates))

    def outcome(self, trial: Trial, n: int) -> Outcome:
        """The verdict of :func:`audit_fairness` on one simulated scan of ``n`` samples per class."""
        values = len(self.groups)
        conditions = list(range(2 * self.conditions_per_label))
        probabilities, calibrations = [], []
        for condition, share in zip(conditions, self.condition_shares):
            codes, gold = simulated_codes(trial, condition, n, share, self.correction)
            probabilities.append(one_hot(codes, values))
            if self.correction.gold_per_condition is not None:
                calibrations.append(
                    gold_calibration(np.arange(gold), trial.gold_truth[condition][:gold], codes, values)
                )
            else:
                calibrations.append(
                    ConditionCalibration("per-class calibration", "planned", trial.calibration[condition])
                )
        options = FairnessOptions(
            sensitive=(SENSITIVE,),
            label_map={c: c // self.conditions_per_label for c in conditions},
            confidence=self.confidence,
            max_dp_gap=self.max_dp_gap,
            min_group_share=self.min_group_share,
            probe=False,
        )
        signature = audit_fairness(
            kind="class-conditional",
            conditions=conditions,
            probabilities={SENSITIVE: probabilities},
            attribute_values={SENSITIVE: self.groups},
            options=options,
            calibrations={(SENSITIVE, options.labels[0]): calibrations},
            seed=trial.seed,
            explain=False,
        )
        return signature.pairs[0].verdict.outcome


@dataclass(frozen=True)
class _PlannedAnnotator:
    """The annotator as the property entries read it: its attribute and calibration counts (or None)."""

    attribute: Attribute
    confusion: np.ndarray | None


@dataclass(frozen=True)
class PrivacyScenario:
    """The sharer's self-audit of one attribute: is its generated share within ``max_property_error`` of the training
    share?

    Attributes:
        values: the attribute's K value names.
        training_shares: ``float [K]`` its shares in the training set.
        generated_shares: ``float [K]`` the shares the model generates (the same in every condition).
        conditions: the scanned conditions, equally weighted in training.
        max_property_error, confidence: the self-audit's margin and level.
        correction: the annotator's errors and what corrects them.
    """

    values: tuple[str, ...]
    training_shares: tuple[float, ...]
    generated_shares: tuple[float, ...]
    conditions: int
    max_property_error: float
    confidence: float
    correction: Correction

    @property
    def condition_shares(self) -> np.ndarray:
        """``float [C, K]`` true generated shares per condition."""
        return np.tile(np.asarray(self.generated_shares, dtype=float), (self.conditions, 1))

    def audited(self, trial: Trial, n: int) -> tuple[dict, TrainingShares]:
        """The attribute entry a scan of ``n`` samples per condition gives (as :class:`PropertyAudit` builds it:
        estimates per condition, pooled over several, prediction-powered with gold labels) and the training shares:
        what :func:`~hubaudit.audit.properties.self_audit.self_audit` takes."""
        values, confidence = list(self.values), self.confidence
        calibrated = self.correction.calibration_per_class is not None
        annotator = _PlannedAnnotator(Attribute(SENSITIVE, self.values), trial.calibration[0] if calibrated else None)
        per_condition, strata = [], []
        for condition, share in enumerate(self.condition_shares):
            codes, gold = simulated_codes(trial, condition, n, share, self.correction)
            per_condition.append(one_hot(codes, len(values)))
            if gold:
                strata.append(
                    GoldStratum(trial.gold_truth[condition][:gold], per_condition[-1][:gold], per_condition[-1][gold:])
                )
        by_condition = [condition_entry(c, p, annotator, confidence) for c, p in enumerate(per_condition)]
        for entry, stratum in zip(by_condition, strata):
            gold_entry(entry, [stratum], values, confidence, described={})
        entry = {
            "name": SENSITIVE,
            "values": values,
            "by_condition": by_condition,
            "annotator": {"confusion": None if annotator.confusion is None else annotator.confusion.tolist()},
        }
        if self.conditions > 1:
            entry["overall"] = condition_entry(
                list(range(self.conditions)), np.concatenate(per_condition), annotator, confidence
            )
            if strata:
                gold_entry(entry["overall"], strata, values, confidence, described={})
        entry["primary_method"] = primary_method(entry.get("overall") or by_condition[0])
        weights = np.full(self.conditions, 1 / self.conditions) if self.conditions > 1 else None
        return entry, TrainingShares(np.asarray(self.training_shares, dtype=float), weights)

    def outcome(self, trial: Trial, n: int) -> Outcome:
        """The self-audit's outcome on one simulated scan of ``n`` samples per condition
        (:func:`~hubaudit.audit.properties.self_audit.self_audit`, without the searches that explain an outcome)."""
        entry, training = self.audited(trial, n)
        return self_audit(entry, training, self.max_property_error, confidence=self.confidence, explain=False)[
            "outcome"
        ]
