"""Planning before the scan: how many samples per condition an audit needs to reach a verdict with a given power.

A plan simulates whole verdicts, with the same machinery as the scan (:mod:`hubaudit.audit.plan.scenarios`: the
fairness signature's :func:`~hubaudit.audit.fairness.audit_fairness`, the self-audit's :func:`~hubaudit.audit.properties.self_audit.self_audit`), over
``trials`` simulated scans per candidate n, with common random numbers across n. It searches n by doubling from
:data:`SEARCH_START`, then bisection to within :data:`SEARCH_TOLERANCE`, and returns the smallest n whose estimated
power (the share of simulated scans with the planned outcome) is at least the target. Each candidate's simulation
stops as soon as its answer is certain (enough scans with, or without, the outcome). With 400 trials the estimate's
standard error at power 0.9 is 0.015: an independent simulation of 1,000 scans at the planned n
(:func:`simulated_power`) lands within about 5 points of the target.

Two outcomes are planned for each audit:

- fairness: a **finding** at the effect to detect (the true P(S | Y) the model generates), and **no finding** when
  the model is fair (P(S | Y) equal under both labels, at the effect's mean shares: gap 0);
- privacy (the sharer's self-audit): a **finding** (disclosure) when the model is faithful (generated share equal to
  the training share, or the generated share given, if within the margin), and **no finding** when the generated
  share is off the training share by twice the margin (towards 1/2, or the generated share given, if outside).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import ClassVar, Literal

import numpy as np

from hubaudit.audit.fairness.options import DEFAULT_MAX_DP_GAP, default_min_group_share
from hubaudit.audit.plan.inputs import (
    DEFAULT_CALIBRATION_PER_CLASS,
    DEFAULT_FAIRNESS_EFFECT,
    check_common,
    check_range,
    correction_of,
    fairness_effect,
    group_names,
    off_share,
    parse_effect,
    parse_shares,
    shares_text,
)
from hubaudit.audit.plan.scenarios import Correction, FairnessScenario, PrivacyScenario, draw_trial
from hubaudit.errors import InvalidPlan

__all__ = [
    "DEFAULT_ANNOTATOR_ERROR",
    "DEFAULT_CALIBRATION_PER_CLASS",
    "DEFAULT_FAIRNESS_EFFECT",
    "DEFAULT_POWER",
    "DEFAULT_TRIALS",
    "AuditPlan",
    "FairnessPlan",
    "PlannedOutcome",
    "PrivacyPlan",
    "parse_effect",
    "parse_shares",
    "plan_fairness",
    "plan_privacy",
    "simulated_power",
]

DEFAULT_POWER = 0.9
DEFAULT_TRIALS = 400
"""Simulated scans per candidate n."""
DEFAULT_ANNOTATOR_ERROR = (0.05, 0.05)
"""(false-positive rate, false-negative rate) of a binary annotator; one rate for more values."""
DEFAULT_TRAINING_SHARE = 0.3
MAX_SAMPLES_PER_CONDITION = 100_000
"""The largest n per condition a plan tries."""
SEARCH_START = 16
SEARCH_TOLERANCE = 0.03
"""Bisection stops once the bracket is within this share of its upper end."""
SCALE_FACTORS = (4, 16)
"""Multiples of the calibration records (or gold labels) tried at the largest n when no n reaches the power."""
PlannedKind = Literal["finding", "no finding"]
Scenario = FairnessScenario | PrivacyScenario


@dataclass(frozen=True)
class PlannedOutcome:
    """The samples per condition for one outcome, and the simulation behind it.

    Attributes:
        outcome: the verdict planned for.
        scenario: the truth and audit simulated (:func:`simulated_power` reruns it).
        truth: that truth in words.
        target_power: the power asked for (share of scans with ``outcome``).
        trials: simulated scans per candidate n.
        n_per_condition: the smallest n (samples per condition) whose estimated power is at least the target; None
            when none up to the largest n tried is (``note`` says why, and what would).
        power: the estimated power at ``n_per_condition`` (over ``trials`` scans).
        note: why no n, or what more would reach the power; empty when there is nothing to add.
        simulated: scans the search simulated (each a whole verdict); in ``to_dict`` beside the scenario's fields.
    """

    outcome: PlannedKind
    scenario: Scenario
    truth: str
    target_power: float
    trials: int
    n_per_condition: int | None = None
    power: float | None = None
    note: str = ""
    simulated: int = 0

    @property
    def gold_per_condition(self) -> int | None:
        """Gold labels per condition at the planned n (None without gold labels, or without an n)."""
        gold = self.scenario.correction.gold_per_condition
        return None if gold is None or self.n_per_condition is None else min(gold, self.n_per_condition)

    def line(self) -> str:
        """``finding at effect ...: N samples per condition (power 0.91)``, or why there is no N."""
        if self.n_per_condition is None:
            return f"{self.outcome} {self.truth}: {self.note}"
        gold = f", {self.gold_per_condition:,} of them gold-labelled" if self.gold_per_condition is not None else ""
        return f"{self.outcome} {self.truth}: {self.n_per_condition:,} samples per condition{gold} (power {self.power:.2f})"

    def to_dict(self) -> dict:
        return {
            "outcome": self.outcome,
            "truth": self.truth,
            "n_per_condition": self.n_per_condition,
            "gold_per_condition": self.gold_per_condition,
            "power": self.power,
            "target_power": self.target_power,
            "trials": self.trials,
            "simulated_scans": self.simulated,
            "note": self.note or None,
            "scenario": asdict(self.scenario),
        }


@dataclass(frozen=True)
class AuditPlan:
    """A plan: the inputs, the samples per condition for a finding and for no finding, and what was assumed.

    ``inputs``: what the audit will be, name -> words; ``seconds``: how long planning took (wall clock).
    """

    kind: ClassVar[Literal["fairness", "privacy"]]
    finding: PlannedOutcome
    no_finding: PlannedOutcome
    inputs: dict[str, str]
    assumptions: tuple[str, ...] = ()
    seconds: float = 0.0

    def lines(self) -> list[str]:
        """The plan as the CLI prints it: inputs, the two outcomes, what was assumed."""
        inputs = [f"{name:<10}{text}" for name, text in self.inputs.items()]
        return [
            *inputs,
            self.finding.line(),
            self.no_finding.line(),
            *(f"assumed   {text}" for text in self.assumptions),
        ]

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "inputs": dict(self.inputs),
            "finding": self.finding.to_dict(),
            "no_finding": self.no_finding.to_dict(),
            "assumptions": list(self.assumptions),
            "seconds": self.seconds,
        }


@dataclass(frozen=True)
class FairnessPlan(AuditPlan):
    """The plan of a fairness signature (:func:`plan_fairness`)."""

    kind: ClassVar[Literal["fairness", "privacy"]] = "fairness"


@dataclass(frozen=True)
class PrivacyPlan(AuditPlan):
    """The plan of the sharer's privacy self-audit (:func:`plan_privacy`)."""

    kind: ClassVar[Literal["fairness", "privacy"]] = "privacy"


def simulated_power(planned: PlannedOutcome, n: int | None = None, *, trials: int = 1000, seed: int = 1) -> float:
    """The share of ``trials`` simulated scans of ``n`` samples per condition (default the planned n) whose verdict is
    the planned outcome: an independent check of a plan (its random numbers never coincide with the plan's).

    Example:
        >>> plan = plan_fairness(effect=(0.1, 0.6))  # doctest: +SKIP
        >>> simulated_power(plan.finding, trials=1000)  # about 0.9  # doctest: +SKIP
    """
    n = planned.n_per_condition if n is None else n
    if n is None:
        raise InvalidPlan("the plan has no n to check: give n")
    hits = sum(
        planned.scenario.outcome(trial, n) == planned.outcome
        for trial in _trials(planned.scenario, trials, seed, stream=1)
    )
    return hits / trials


def plan_fairness(
    *,
    effect: Sequence[float] | Sequence[Sequence[float]] | None = None,
    gap: float | None = None,
    groups: Sequence[str] = ("0", "1"),
    max_dp_gap: float = DEFAULT_MAX_DP_GAP,
    min_group_share: float | None = None,
    conditions_per_label: int = 1,
    calibration_per_class: int | None = None,
    gold_per_condition: int | None = None,
    annotator_error: Sequence[float] = DEFAULT_ANNOTATOR_ERROR,
    confidence: float = 0.95,
    power: float = DEFAULT_POWER,
    trials: int = DEFAULT_TRIALS,
    seed: int = 0,
) -> FairnessPlan:
    """The samples per class a class-conditional fairness audit needs for a finding at ``effect`` and for no finding
    when the model is fair, each with probability ``power``.

    Args:
        effect: the true shares to detect: two groups, ``(P(S=1 | Y=0), P(S=1 | Y=1))``; K groups, the two K-vectors
            ``P(S | Y=0)``, ``P(S | Y=1)``. Default :data:`DEFAULT_FAIRNESS_EFFECT`.
        gap: instead of ``effect`` (two groups): a demographic-parity gap, at P(S=1 | Y) = 0.5 -/+ gap/2.
        groups: S's value names (K >= 2).
        max_dp_gap, min_group_share: the audit's margins (``--max-dp-gap``, ``--min-group-share``; default 0.25/K).
        conditions_per_label: classes per label value, each scanned with n samples.
        calibration_per_class: calibration records per (group, class) cell (default
            :data:`DEFAULT_CALIBRATION_PER_CLASS` unless ``gold_per_condition``).
        gold_per_condition: gold labels on each class's own samples instead of calibration records.
        annotator_error: two groups, (false-positive rate, false-negative rate); K groups, one error rate spread
            evenly over the other values; on every class alike.
        confidence: the audit's level; power: the target share of scans with the outcome; trials: simulated scans per
            candidate n; seed: the simulation's seed.

    Raises:
        InvalidPlan: an input out of range, or an effect that does not fit the groups.
    """
    started = time.perf_counter()
    groups = group_names(groups)
    floor = default_min_group_share(len(groups)) if min_group_share is None else min_group_share
    check_common(confidence=confidence, power=power, trials=trials, conditions=conditions_per_label)
    check_range("--max-dp-gap", max_dp_gap, 0.0, 1.0, closed_low=True)
    check_range("--min-group-share", floor, 0.0, 1.0)
    shares, effect_words = fairness_effect(effect, gap, len(groups))
    correction = correction_of(calibration_per_class, gold_per_condition, annotator_error, len(groups))
    scenario = FairnessScenario(groups, shares, conditions_per_label, max_dp_gap, floor, confidence, correction)
    fair = tuple(float(s) for s in np.mean(shares, axis=0))
    fair_scenario = replace(scenario, shares_by_label=(fair, fair))
    fair_words = (
        f"when fair (P(S={groups[1]}|Y) = {fair[1]:.2f} under both labels, gap 0)"
        if len(groups) == 2
        else f"when fair (P(S|Y) = ({shares_text(fair)}) under both labels, gap 0)"
    )
    found = any(max(shares[0][s], shares[1][s]) < floor for s in range(len(groups)))
    finding = _plan_outcome(
        scenario,
        "finding",
        f"at effect {effect_words} (gap {scenario.dp_gap():.2f})",
        power=power,
        trials=trials,
        seed=seed,
        impossible=None
        if scenario.dp_gap() > max_dp_gap or found
        else (
            f"the effect's gap {scenario.dp_gap():.3f} is within --max-dp-gap {max_dp_gap:g} and every group is at or "
            f"above {floor:g} under some label: no n makes a finding likely (its chance is at most {1 - confidence:.2g})"
        ),
    )
    no_finding = _plan_outcome(
        fair_scenario,
        "no finding",
        fair_words,
        power=power,
        trials=trials,
        seed=seed,
        impossible=None
        if max_dp_gap > 0 and min(fair) > floor
        else (
            "--max-dp-gap 0 can never be shown"
            if max_dp_gap == 0
            else f"a group's fair share {min(fair):.3f} is not above --min-group-share {floor:g}"
        ),
    )
    inputs = {
        "plan": f"fairness signature of S (groups {', '.join(groups)}) against Y read off {conditions_per_label} "
        f"class{'es' if conditions_per_label > 1 else ''} per label; confidence {confidence:g}, power {power:g}",
        "margins": f"--max-dp-gap {max_dp_gap:g}, --min-group-share {floor:.3g}",
        "correct": correction.words("value and class"),
    }
    assumptions = (
        "equal samples per class and classes per label, so P(Y=1) = 0.5; no reference data or model-card rates",
        f"{trials} simulated scans per candidate n (common random numbers), each judged by the fairness signature's "
        f"own verdict; n searched by doubling from {SEARCH_START}, then bisection to within {SEARCH_TOLERANCE:.0%}",
    )
    return FairnessPlan(
        finding=finding,
        no_finding=no_finding,
        inputs=inputs,
        assumptions=assumptions,
        seconds=round(time.perf_counter() - started, 1),
    )


def plan_privacy(
    *,
    training_share: float = DEFAULT_TRAINING_SHARE,
    generated_share: float | None = None,
    values: Sequence[str] = ("0", "1"),
    max_property_error: float = 0.05,
    conditions: int = 1,
    calibration_per_class: int | None = None,
    gold_per_condition: int | None = None,
    annotator_error: Sequence[float] = DEFAULT_ANNOTATOR_ERROR,
    confidence: float = 0.95,
    power: float = DEFAULT_POWER,
    trials: int = DEFAULT_TRIALS,
    seed: int = 0,
) -> PrivacyPlan:
    """The samples per condition the sharer's self-audit of a two-valued attribute needs for a finding (disclosure)
    and for no finding, each with probability ``power``.

    Args:
        training_share: the share of value 1 in the training set.
        generated_share: the share of value 1 the model generates (default: ``training_share``, a faithful model).
            Within ``max_property_error`` of the training share it is the finding's truth; outside, no finding's.
        values: the attribute's two value names.
        max_property_error: the self-audit's margin (``--max-property-error``).
        conditions: the scanned conditions, equally weighted in training, each with n samples.
        calibration_per_class, gold_per_condition, annotator_error, confidence, power, trials, seed: as for
            :func:`plan_fairness` (calibration records per value; the same annotator for every condition).

    Raises:
        InvalidPlan: an input out of range.
    """
    started = time.perf_counter()
    values = group_names(values)
    if len(values) != 2:
        raise InvalidPlan(f"the privacy plan takes a two-valued attribute, got {len(values)} values")
    check_common(confidence=confidence, power=power, trials=trials, conditions=conditions)
    check_range("--max-property-error", max_property_error, 0.0, 1.0)
    generated = training_share if generated_share is None else generated_share
    for name, share in {"--effect (training share)": training_share, "--effect (generated share)": generated}.items():
        check_range(name, share, 0.0, 1.0, closed_low=True, closed_high=True)
    correction = correction_of(calibration_per_class, gold_per_condition, annotator_error, 2)
    margin, distance = max_property_error, abs(generated - training_share)
    faithful = generated if distance < margin else training_share
    off = generated if distance > margin else off_share(training_share, margin)
    scenario = PrivacyScenario(
        values,
        (1 - training_share, training_share),
        (1 - faithful, faithful),
        conditions,
        margin,
        confidence,
        correction,
    )
    name, minimum = f"{values[1]!r}", _privacy_minimum(correction)
    finding = _plan_outcome(
        scenario,
        "finding",
        (
            f"when the model is faithful (generated share of {name} = training share {training_share:g})"
            if faithful == training_share
            else f"when the generated share of {name} is {faithful:g} (training share {training_share:g})"
        ),
        power=power,
        trials=trials,
        seed=seed,
        minimum=minimum,
    )
    off_words = "when the model is off by twice the margin" if off != generated else "when the model is off"
    no_finding = _plan_outcome(
        replace(scenario, generated_shares=(1 - (off or 0.0), off or 0.0)),
        "no finding",
        f"{off_words} (generated share of {name} {off if off is not None else 'n/a'}, training share {training_share:g})",
        power=power,
        trials=trials,
        seed=seed,
        minimum=minimum,
        impossible=None if off is not None else f"no share in [0, 1] lies {2 * margin:g} off {training_share:g}",
    )
    inputs = {
        "plan": f"privacy self-audit of {name} over {conditions} condition{'s' if conditions > 1 else ''}; confidence "
        f"{confidence:g}, power {power:g}",
        "margins": f"--max-property-error {margin:g}: a finding when the generated share is shown within "
        f"{training_share:g} ± {margin:g}, no finding when shown outside",
        "correct": correction.words("value"),
    }
    assumptions = (
        "conditions equally weighted in training, the same generated share in each; off by twice the margin is taken "
        "towards 1/2 (the larger variance)",
        f"{trials} simulated scans per candidate n (common random numbers), each judged by the self-audit's own "
        f"estimator and rule; n searched by doubling from {SEARCH_START}, then bisection to within {SEARCH_TOLERANCE:.0%}",
    )
    return PrivacyPlan(
        finding=finding,
        no_finding=no_finding,
        inputs=inputs,
        assumptions=assumptions,
        seconds=round(time.perf_counter() - started, 1),
    )


def _trials(scenario: Scenario, count: int, seed: int, *, stream: int):
    """``count`` trials of ``scenario``, each from its own stream ``(seed, stream, index)`` (0: plans, 1: checks)."""
    shares = scenario.condition_shares
    return [
        draw_trial(np.random.default_rng([seed, stream, index]), shares, scenario.correction) for index in range(count)
    ]


class _PowerSearch:
    """The simulated scans of one scenario, judged at candidate n with what is known shared across n.

    With common random numbers a scan's verdict changes once as n grows (checked: no scan of 60 on a grid of 24 n
    went back), so a scan with the planned outcome at some n has it at every larger n, and one without it at some n
    has it at no smaller n: only the scans neither tells are simulated.
    """

    def __init__(self, scenario: Scenario, outcome: PlannedKind, trials: list):
        self.scenario, self.outcome, self.trials = scenario, outcome, trials
        self.hit_at = [math.inf] * len(trials)  # smallest n simulated with the outcome
        self.miss_at = [0] * len(trials)  # largest n simulated without it
        self.simulated = 0

    def _has_outcome(self, index: int, n: int) -> bool:
        if self.hit_at[index] <= n:
            return True
        if self.miss_at[index] >= n:
            return False
        self.simulated += 1
        if self.scenario.outcome(self.trials[index], n) == self.outcome:
            self.hit_at[index] = n
            return True
        self.miss_at[index] = n
        return False

    def reaches(self, n: int, target: float) -> bool:
        """Whether the share of scans with the outcome at n is at least ``target``; stops once that is certain."""
        needed = math.ceil(target * len(self.trials) - 1e-9)
        known = [index for index in range(len(self.trials)) if self.hit_at[index] <= n or self.miss_at[index] >= n]
        order = known + [index for index in range(len(self.trials)) if index not in set(known)]
        hits = misses = 0
        for index in order:
            if self._has_outcome(index, n):
                hits += 1
            else:
                misses += 1
            if hits >= needed:
                return True
            if misses > len(self.trials) - needed:
                return False
        return False

    def power(self, n: int) -> float:
        """The share of all scans with the outcome at n."""
        return sum(self._has_outcome(index, n) for index in range(len(self.trials))) / len(self.trials)

    def smallest_n(self, target: float, minimum: int) -> int | None:
        """The smallest n (doubling, then bisection) up to :data:`MAX_SAMPLES_PER_CONDITION` that reaches ``target``."""
        low, high = minimum - 1, max(SEARCH_START, minimum)
        while not self.reaches(high, target):
            if high >= MAX_SAMPLES_PER_CONDITION:
                return None
            low, high = high, min(2 * high, MAX_SAMPLES_PER_CONDITION)
        while high - low > max(1, SEARCH_TOLERANCE * high):
            middle = (low + high) // 2
            low, high = (low, middle) if self.reaches(middle, target) else (middle, high)
        return high


def _plan_outcome(
    scenario: Scenario,
    outcome: PlannedKind,
    truth: str,
    *,
    power: float,
    trials: int,
    seed: int,
    impossible: str | None = None,
    minimum: int = 1,
) -> PlannedOutcome:
    """Search the planned n of ``outcome`` under ``scenario``; without one, what more calibration would do."""
    if impossible is not None:
        return PlannedOutcome(outcome, scenario, truth, power, trials, note=f"not expected at any n: {impossible}")
    search = _PowerSearch(scenario, outcome, _trials(scenario, trials, seed, stream=0))
    n = search.smallest_n(power, minimum)
    if n is not None:
        return PlannedOutcome(
            outcome, scenario, truth, power, trials, n, round(search.power(n), 3), simulated=search.simulated
        )
    planned = PlannedOutcome(outcome, scenario, truth, power, trials)
    note = f"no n up to {MAX_SAMPLES_PER_CONDITION:,} samples per condition reaches power {power:g}: {_what_would(planned, seed)}"
    return PlannedOutcome(outcome, scenario, truth, power, trials, note=note, simulated=search.simulated)


def _what_would(planned: PlannedOutcome, seed: int) -> str:
    """Why no n reaches the power, and which multiple of the calibration records (or gold labels) would at the cap."""
    correction, cap = planned.scenario.correction, MAX_SAMPLES_PER_CONDITION
    gold = correction.gold_per_condition is not None
    for factor in SCALE_FACTORS:
        scaled = correction.scaled(factor)
        if gold and scaled.gold_per_condition >= cap:
            break
        scenario = replace(planned.scenario, correction=scaled)
        search = _PowerSearch(scenario, planned.outcome, _trials(scenario, planned.trials, seed, stream=0))
        if search.reaches(cap, planned.target_power):
            more = (
                f"--gold {scaled.gold_per_condition}"
                if gold
                else f"--calibration-per-class {scaled.calibration_per_class}"
            )
            what = "gold labels" if gold else "calibration records"
            return (
                f"the {what} limit the interval; {factor} times as many ({more}) reach power "
                f"{planned.target_power:g} at {cap:,} samples per condition: plan again with them"
            )
    return (
        f"even {SCALE_FACTORS[-1]} times the {'gold labels' if gold else 'calibration records'} do not reach power "
        f"{planned.target_power:g} at {cap:,} samples per condition: the truth lies too close to the margin"
    )


def _privacy_minimum(correction: Correction) -> int:
    """The fewest samples per condition a privacy plan tries: with gold labels, some samples must have none."""
    return (correction.gold_per_condition or 0) + 2
