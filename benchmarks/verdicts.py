"""Verdicts that hold (issue 22): how often each verdict is wrong, by simulation through the functions a scan uses.

Every verdict is "finding", "no finding" (shown by an equivalence test), "inconclusive" or "not tested". Each row
simulates ``--trials`` scans at the verdict level: true S codes per condition, an annotator that errs on them, its
calibration records (per (S value, class) cell), and the scan's own verdict function on the annotations:
``hubaudit.audit.fairness.audit_fairness`` (``explain=False``: no search for what would settle or change a verdict)
for the fairness signature; for the privacy self-audit, on entries built by
``hubaudit.audit.properties.entries.condition_entry``, ``hubaudit.audit.properties.self_audit.self_audit`` (``explain=False``).
Errors are P(annotated green | red), P(annotated red | green); the margins are the scan's defaults (``--max-dp-gap``
0.10, ``--max-gap-increase`` 0.05, ``--max-property-error`` 0.05) at confidence 0.95.

Targets, each printed PASS or FAIL; the script exits 1 when one is missed:

* assurances: "no finding" while the true gap violates ``--max-dp-gap`` in <= 5% of scans, in each case: (a) a gap of
  0.20 with 150 samples and 100 calibration records per class; (b) a sequential stop (looks at the scan's
  ``look_schedule``, 50 to 2,000 per class; stop at the first look whose gap interval's half-width is <= 0.05; judged
  with ``looks`` = the number of looks) at a gap of 0.15; (c) annotator errors that differ by class and hide a gap of
  0.15 (per-class calibration);
* findings: <= 5% false findings per null pair with one unfair pair beside three null pairs in one scan (null gaps
  exactly at both margins), and <= 5% over the three at once; a faithful model whose card declares its rates at
  training P(Y=1) = 0.2 (``label_share``), scanned at equal samples per class: ``declared_excess`` a finding in <= 5%;
  the privacy self-audit: a model whose generated share is twice the margin off its training share is a "finding"
  (discloses) in <= 5%, a faithful one a "no finding" in <= 5% at each n of 100, 1,000 and 10,000;
* coverage >= 0.93 of the corrected gap and of P(S=1 | Y=1) with 5 classes per label corrected by one shared
  (overall) calibration matrix (``shared_key="overall"``);
* detection >= 90% of a gap of 0.30 beside a rare third group (0.5%), at 2,000 samples per class and 1,000 calibration
  records per (S, class) cell (the sizes of docs/statistics.md's power table);
* planning: the n of each default plan (``plan_fairness()``, ``plan_privacy()`` of ``hubaudit.audit.plan``) reaches its
  stated power within +-5 points over ``--trials`` scans simulated here, independently of the plan's own simulation;
  "FAIL (not run: ...)" while the planner is missing or fails.

Figures marked "info" have no target: what the old reading would have said (a pass wherever there was no finding; the
annotated gap; declared rates taken at their own P(Y=1); a shared calibration drawn per condition), and the level of
the equivalence test with the true gap exactly at the margin.

Usage: ``python benchmarks/verdicts.py [--trials 1000] [--seed 0] [--json PATH] [--only NAME ...]``
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from hubaudit.audit.fairness.correction import ConditionCalibration
from hubaudit.audit.fairness.options import FairnessOptions
from hubaudit.audit.fairness.signature import audit_fairness
from hubaudit.stats.corrected_gap import ConditionCounts, corrected_parity_gap, gap_excess_p_value

GROUPS = ("red", "green")
TARGET_WRONG, TARGET_COVERAGE, TARGET_DETECTION, TARGET_POWER_POINTS = 0.05, 0.93, 0.90, 0.05
OUTCOMES = ("finding", "no finding", "inconclusive", "not tested")
STOP_DRAWS = 1000
"""Joint draws of the sequential stopping rule's gap interval (the verdict at the stop uses the audit's own)."""


def error_rates(false_positive: float, false_negative: float) -> np.ndarray:
    """``float [2, 2]`` P(annotated j | true i) of a two-valued annotator (rows true S)."""
    return np.array([[1 - false_positive, false_positive], [false_negative, 1 - false_negative]])


SAME_ERRORS = error_rates(0.05, 0.05)
HIDING_ERRORS = (error_rates(0.15, 0.02), error_rates(0.02, 0.15))
"""Class 0 calls 15% of the reds green, class 1 misses 15% of the greens: a true gap in favour of class 1 shrinks."""
INVENTING_ERRORS = (error_rates(0.02, 0.15), error_rates(0.15, 0.02))
"""The other way round: class 0 misses greens, class 1 calls reds green, so a gap is invented (or widened)."""


def annotate(rng, shares: np.ndarray, errors: np.ndarray, n: int) -> np.ndarray:
    """Annotated S codes ``int [n]`` of n samples with true P(S = s) = ``shares[s]``, annotated with ``errors`` ``[G, G]``."""
    truth = rng.choice(len(shares), size=n, p=shares)
    return (rng.random(n)[:, None] >= np.cumsum(errors, axis=1)[truth][:, :-1]).sum(axis=1)


def confusion_counts(rng, per_value: int, errors: np.ndarray) -> np.ndarray:
    """Confusion counts ``int [G, G]`` of ``per_value`` calibration records of each true S value."""
    return np.stack([rng.multinomial(per_value, row) for row in errors])


def green_shares(*by_class: float) -> list[np.ndarray]:
    return [np.array([1 - share, share]) for share in by_class]


def draw_scan(
    rng, attributes: dict, *, n: int, calibration: int | None, source: str = "per-class calibration"
) -> tuple[dict, dict]:
    """One simulated class-conditional scan: per S name, the annotated codes ``int [n]`` of each condition and the
    condition's :class:`ConditionCalibration` (none when ``calibration`` is None).

    ``attributes``: S name -> (true shares per condition ``float [G]``, annotator errors per condition ``[G, G]``, group
    names); ``calibration``: records per (S value, class) cell; ``source`` "overall calibration" draws one matrix that
    every condition shares (``shared_key="overall"``), with the errors of the first condition.
    """
    annotated, calibrations = {}, {}
    for name, (shares, errors, _) in attributes.items():
        annotated[name] = [annotate(rng, share, error, n) for share, error in zip(shares, errors)]
        if calibration is None:
            continue
        if source == "overall calibration":
            shared = ConditionCalibration(
                source, "simulated", confusion_counts(rng, calibration, errors[0]), shared_key="overall"
            )
            calibrations[name] = [shared] * len(shares)
        else:
            calibrations[name] = [
                ConditionCalibration(source, "simulated", confusion_counts(rng, calibration, error))
                for error in errors
            ]
    return annotated, calibrations


def judge(
    rng,
    attributes: dict,
    annotated: dict,
    calibrations: dict,
    *,
    card=None,
    looks: int = 1,
    prefix: int | None = None,
    **options,
):
    """The scan's signature (``audit_fairness``, ``explain=False``) of the first ``prefix`` samples of each condition
    (all when None); conditions are the classes 0..C-1; ``options``: :class:`FairnessOptions` fields (``label_map``,
    margins)."""
    groups = {name: names for name, (_, _, names) in attributes.items()}
    conditions = list(range(len(next(iter(annotated.values())))))
    return audit_fairness(
        kind="class-conditional",
        conditions=conditions,
        probabilities={
            name: [np.eye(len(groups[name]))[codes[:prefix]] for codes in per_condition]
            for name, per_condition in annotated.items()
        },
        attribute_values=groups,
        options=FairnessOptions(sensitive=tuple(attributes), **options),
        calibrations={(name, "label"): found for name, found in calibrations.items()} or None,
        card=card,
        seed=int(rng.integers(1 << 31)),
        looks=looks,
        explain=False,
    )


def fairness_scan(
    rng, attributes: dict, *, n: int, calibration: int | None, source: str = "per-class calibration", **judged
):
    """:func:`draw_scan`, then :func:`judge` of all its samples."""
    annotated, calibrations = draw_scan(rng, attributes, n=n, calibration=calibration, source=source)
    return judge(rng, attributes, annotated, calibrations, **judged)


def criterion(pair, name: str) -> str:
    return next((c.outcome for c in pair.verdict.criteria if c.name == name), "not tested")


def rates(outcomes: list[str]) -> dict[str, float]:
    counted = Counter(outcomes)
    return {outcome: counted[outcome] / len(outcomes) for outcome in OUTCOMES}


def mean(values) -> float:
    return float(np.mean(values)) if len(values) else float("nan")


# --- assurances: "no finding" while the truth violates the margin -------------------------------------------------


def fixed_scan_row(
    name: str, setting: str, shares, errors, *, n: int, calibration: int, trials: int, rng, target: bool = True
) -> dict:
    """Outcomes of a one-pair scan whose true gap violates the margin; the old reading: no finding = a pass."""
    outcomes, within = [], 0
    for _ in range(trials):
        signature = fairness_scan(rng, {"color": (shares, errors, GROUPS)}, n=n, calibration=calibration)
        pair = signature.pairs[0]
        outcomes.append(pair.verdict.outcome)
        within += pair.generated.dp_gap is not None and pair.generated.dp_gap.high <= 0.10
    found = rates(outcomes)
    figures = {"not a finding (old: a pass)": 1 - found["finding"], "annotated gap shown <= 0.10": within / trials}
    targets = [(f"{name}: no finding", found["no finding"], "<=", TARGET_WRONG)] if target else []
    return row(name, setting, trials, found, figures, targets)


def stop_half_width(rng, annotated: list[np.ndarray], calibrations: list, n: int) -> float:
    """The stopping rule's look at the first ``n`` samples per class: the corrected gap's half-width, from
    ``corrected_parity_gap`` on the counts the audit corrects (:data:`STOP_DRAWS` joint draws: the rule, not the verdict)."""
    counts = [
        ConditionCounts(f"class {c}", c, n, np.bincount(codes[:n], minlength=2), calibration.confusion)
        for c, (codes, calibration) in enumerate(zip(annotated, calibrations))
    ]
    gap = corrected_parity_gap(
        counts, group_names=GROUPS, n_draws=STOP_DRAWS, random_state=int(rng.integers(1 << 31))
    ).dp_gap
    return gap.half_width if gap is not None else 1.0


def sequential_row(args, rng) -> dict:
    """(b): looks at the scan's schedule, stop at the first whose gap half-width is <= ``--stop-half-width`` (else at
    the last), and the verdict there judged with ``looks`` = the number of looks."""
    from hubaudit.audit.options import PropertyOptions
    from hubaudit.audit.properties.audit import look_schedule

    schedule = look_schedule(PropertyOptions(("color=aux",), target_width=args.stop_half_width), 2000, 50)
    looks = len(schedule)
    attributes = {"color": (green_shares(0.425, 0.575), [SAME_ERRORS] * 2, GROUPS)}
    outcomes, stops = [], []
    for _ in range(args.trials):
        annotated, calibrations = draw_scan(rng, attributes, n=schedule[-1], calibration=1000)
        narrow = (
            n
            for n in schedule
            if stop_half_width(rng, annotated["color"], calibrations["color"], n) <= args.stop_half_width
        )
        stop = next(narrow, schedule[-1])
        outcomes.append(
            judge(rng, attributes, annotated, calibrations, prefix=stop, looks=looks).pairs[0].verdict.outcome
        )
        stops.append(stop)
    found = rates(outcomes)
    figures = {"looks": looks, "mean stop n": mean(stops), "stopped before 2000": mean(np.array(stops) < schedule[-1])}
    setting = (
        f"gap 0.15; looks at {schedule[0]}..{schedule[-1]}/class ({looks}); stop at half-width "
        f"<= {args.stop_half_width:g}; calibration 1000/cell"
    )
    return row(
        "(b) sequential stop",
        setting,
        args.trials,
        found,
        figures,
        [("(b) sequential stop: no finding", found["no finding"], "<=", TARGET_WRONG)],
    )


# --- findings ----------------------------------------------------------------------------------------------------


def pairs_row(args, rng) -> dict:
    """One unfair pair (gap 0.30) and three null pairs (gap exactly 0.10, exactly 0.05 above the declared gap)."""
    names = ("s1", "s2", "s3", "s4")
    card = {
        "positive_rate_by_sensitive": {f"{name}/label": {"0": 0.475, "1": 0.525} for name in names},
        "label_share": 0.5,
    }
    attributes = {
        name: (green_shares(0.35, 0.65) if name == "s1" else green_shares(0.45, 0.55), INVENTING_ERRORS, ("0", "1"))
        for name in names
    }
    found, annotated_above = np.zeros((args.trials, 4), bool), np.zeros((args.trials, 4), bool)
    for trial in range(args.trials):
        pairs = fairness_scan(rng, attributes, n=1000, calibration=1000, card=card).pairs
        found[trial] = [pair.verdict.finding for pair in pairs]
        annotated_above[trial] = [pair.generated.dp_gap.low > 0.10 for pair in pairs]
    per_pair = found[:, 1:].mean(axis=0)
    family = found[:, 1:].any(axis=1).mean()
    figures = {
        "unfair pair found": found[:, 0].mean(),
        "null pairs' false findings": [round(float(r), 4) for r in per_pair],
        "family-wise (3 null pairs)": family,
        "annotated gap shown above 0.10, any null pair (info)": annotated_above[:, 1:].any(axis=1).mean(),
    }
    setting = (
        "4 pairs in one scan: s1 gap 0.30; s2-s4 gap 0.10 and declared +0.05; class-dependent errors; n 1000/class"
    )
    return row(
        "false findings",
        setting,
        args.trials,
        None,
        figures,
        [
            ("false findings, worst null pair", float(per_pair.max()), "<=", TARGET_WRONG),
            ("false findings, family-wise over the 3 null pairs", float(family), "<=", TARGET_WRONG),
        ],
    )


def label_balance_row(args, rng) -> dict:
    """A faithful model with training P(green | Y) = (0.3, 0.7) at P(Y=1) = 0.2, declared with ``label_share: 0.2``."""
    green, share = np.array([0.3, 0.7]), 0.2  # training P(green | Y=y), P(Y=1)
    by_group = np.stack([1 - green, green])  # [group, y]: P(S=s | Y=y)
    training_rates = (
        share * by_group[:, 1] / ((1 - share) * by_group[:, 0] + share * by_group[:, 1])
    )  # training P(Y=1 | S=s)
    declared = dict(zip(GROUPS, map(float, training_rates)))
    card = {"training_statistics": {"positive_rate_by_sensitive": declared, "label_share": share}}
    attributes = {"color": (green_shares(0.3, 0.7), [SAME_ERRORS] * 2, GROUPS)}
    outcomes, unmoved = [], 0
    for _ in range(args.trials):
        signature = fairness_scan(rng, attributes, n=1000, calibration=1000, card=card)
        pair = signature.pairs[0]
        outcomes.append(criterion(pair, "declared_excess"))
        unmoved += (
            gap_excess_p_value(pair.judged.rate_draws, margin=0.05, baseline=np.array(list(declared.values()))) <= 0.05
        )
    found = rates(outcomes)
    figures = {
        "declared gap at its own P(Y=1)": max(declared.values()) - min(declared.values()),
        "finding, declared rates not moved (info)": unmoved / args.trials,
    }
    return row(
        "label balance",
        "faithful, training P(green|Y) = (0.3, 0.7) at P(Y=1) = 0.2; card label_share 0.2; n 1000/class",
        args.trials,
        found,
        figures,
        [("label balance: declared_excess finding", found["finding"], "<=", TARGET_WRONG)],
    )


def privacy_outcome(
    rng,
    *,
    training: float,
    generated: float,
    n: int,
    margin: float,
    calibration: int = 1000,
    errors: np.ndarray = SAME_ERRORS,
    confidence: float = 0.95,
) -> str:
    """One simulated self-audit of one condition: ``self_audit``'s outcome (``explain=False``)."""
    from hubaudit.audit.properties.audit import primary_method
    from hubaudit.audit.properties.entries import condition_entry
    from hubaudit.audit.properties.self_audit import TrainingShares, self_audit

    confusion = confusion_counts(rng, calibration, errors)
    annotator = SimpleNamespace(attribute=SimpleNamespace(name="attr", values=("0", "1")), confusion=confusion)
    codes = annotate(rng, np.array([1 - generated, generated]), errors, n)
    condition = condition_entry(None, np.eye(2)[codes], annotator, confidence)
    entry = {
        "name": "attr",
        "values": ["0", "1"],
        "annotator": {"confusion": confusion.tolist()},
        "by_condition": [condition],
        "primary_method": primary_method(condition),
    }
    shares = TrainingShares(np.array([1 - training, training]))
    return self_audit(entry, shares, margin, confidence=confidence, explain=False)["outcome"]


def privacy_rows(args, rng) -> list[dict]:
    """The self-audit of one condition, training share 0.3, margin 0.05, annotator errors 0.05 both ways calibrated
    on 1,000 records per value: a faithful model and one off by twice the margin (0.4), each at n = 100, 1,000, 10,000."""
    margin, training = 0.05, 0.3
    rows = []
    for generated, n in [(share, n) for share in (training, training + 2 * margin) for n in (100, 1000, 10_000)]:
        outcomes = [
            privacy_outcome(rng, training=training, generated=generated, n=n, margin=margin)
            for _ in range(args.trials)
        ]
        found = rates(outcomes)
        faithful = generated == training
        wrong = "no finding" if faithful else "finding"
        name = f"privacy, {'faithful' if faithful else 'off by 2 margins'}, n={n}"
        rows.append(
            row(
                name,
                f"generated share {generated:.2f}, training {training:.2f} +- {margin:g}; corrected (1000/value)",
                args.trials,
                found,
                {},
                [(f"{name}: {wrong}", found[wrong], "<=", TARGET_WRONG)],
            )
        )
    return rows


# --- coverage and detection --------------------------------------------------------------------------------------


def coverage_row(args, rng) -> dict:
    """5 classes per label, P(green | class) spread around 0.2 (Y=0) and 0.7 (Y=1), one overall calibration matrix
    shared by all 10 (``shared_key="overall"``); for information, the same matrix drawn independently per condition
    (no ``shared_key``: the old joint draws, which let its error average away over the conditions)."""
    by_class = (0.10, 0.15, 0.20, 0.25, 0.30, 0.60, 0.65, 0.70, 0.75, 0.80)
    shares, positive = green_shares(*by_class), np.mean(by_class[5:])  # P(green | Y=1) = 0.7, P(green | Y=0) = 0.2
    true_gap = positive / (positive + 0.2) - (1 - positive) / (
        1 - positive + 0.8
    )  # P(Y=1 | green) - P(Y=1 | red) = 0.505
    attributes = {"color": (shares, [error_rates(0.1, 0.1)] * 10, GROUPS)}
    label_map = {c: int(c >= 5) for c in range(10)}
    covered, widths = np.zeros((2, 2)), []  # [shared, independent] x [gap, P(S=1|Y=1)]
    for _ in range(args.trials):
        annotated, calibrations = draw_scan(rng, attributes, n=1000, calibration=100, source="overall calibration")
        independent = {name: [replace(c, shared_key=None) for c in found] for name, found in calibrations.items()}
        for row_index, drawn in enumerate((calibrations, independent)):
            pair = judge(rng, attributes, annotated, drawn, label_map=label_map).pairs[0]
            share = pair.corrected.gap.shares_by_label[1]["green"]
            covered[row_index] += [pair.corrected_gap.contains(true_gap), share.contains(positive)]
            if row_index == 0:
                widths.append(pair.corrected_gap.half_width)
    gap, share = covered[0] / args.trials
    figures = {
        "gap coverage": gap,
        "P(S=1|Y=1) coverage": share,
        "gap mean half-width": mean(widths),
        "drawn per condition (old, info): gap": covered[1, 0] / args.trials,
        "P(S=1|Y=1)": covered[1, 1] / args.trials,
    }
    setting = (
        "10 classes, 5 per label, n 1000/class; errors 0.1 both ways; one overall matrix of 100/value (shared_key)"
    )
    return row(
        "coverage",
        setting,
        args.trials,
        None,
        figures,
        [
            (f"coverage: corrected gap (true {true_gap:.3f})", gap, ">=", TARGET_COVERAGE),
            (f"coverage: P(S=1|Y=1) (true {positive:.2f})", share, ">=", TARGET_COVERAGE),
        ],
    )


def detection_row(args, rng) -> dict:
    """Groups A, B, C: A-B gap 0.30, C at 0.5% under both labels; class-dependent errors, per-class calibration."""
    low = 0.995 * 0.35  # P(A | Y=0) = P(B | Y=1): rates 0.65 (A) and 0.35 (B) at equal samples per class
    shares = [np.array([low, 0.995 - low, 0.005]), np.array([0.995 - low, low, 0.005])]
    errors = [
        np.array([[0.92, 0.06, 0.02], [0.06, 0.92, 0.02], [0.03, 0.03, 0.94]]),
        np.array([[0.88, 0.10, 0.02], [0.04, 0.94, 0.02], [0.02, 0.04, 0.94]]),
    ]
    gap_found, outcomes, under = 0, [], 0
    for _ in range(args.trials):
        signature = fairness_scan(rng, {"group": (shares, errors, ("A", "B", "C"))}, n=2000, calibration=1000)
        pair = signature.pairs[0]
        gap_found += criterion(pair, "max_dp_gap") == "finding"
        under += criterion(pair, "under_represented") == "finding"
        outcomes.append(pair.verdict.outcome)
    found = rates(outcomes)
    figures = {"max_dp_gap a finding": gap_found / args.trials, "C under-represented (info)": under / args.trials}
    setting = "A-B gap 0.30, C at 0.5%; n 2000/class; calibration 1000/cell; class-dependent errors"
    return row(
        "detection",
        setting,
        args.trials,
        found,
        figures,
        [("detection: gap 0.30 beside a rare group (max_dp_gap)", gap_found / args.trials, ">=", TARGET_DETECTION)],
    )


# --- planning ----------------------------------------------------------------------------------------------------


def planning_rows(args, rng) -> list[dict]:
    """The default plans of ``hubaudit plan`` (``plan_fairness()``, ``plan_privacy()``), each planned n simulated
    afresh here (``--trials`` scans, plain random draws, not the plan's common random numbers or its code)."""
    try:
        from hubaudit.audit.plan import plan_fairness, plan_privacy
    except ImportError as err:
        return [not_run("planning", f"{err}")]
    rows = []
    for planner in (plan_fairness, plan_privacy):
        try:
            plan = planner(seed=args.seed)
        except Exception as err:  # the planner is being written: say so instead of stopping the benchmark
            rows.append(not_run(f"plan: {planner.__name__}", f"{type(err).__name__}: {err}"))
            continue
        for planned in (plan.finding, plan.no_finding):
            name = f"plan: {plan.kind} {planned.outcome}"
            if planned.n_per_condition is None:
                rows.append(not_run(name, planned.note))
                continue
            try:
                outcomes = [
                    simulated_outcome(rng, planned.scenario, planned.n_per_condition) for _ in range(args.trials)
                ]
            except (AttributeError, NotImplementedError) as err:
                rows.append(not_run(name, f"{type(err).__name__}: {err}"))
                continue
            power = outcomes.count(planned.outcome) / args.trials
            figures = {
                "n per condition": planned.n_per_condition,
                "stated power": planned.power,
                "simulated power": power,
                "plan seconds": plan.seconds,
            }
            rows.append(
                row(
                    name,
                    planned.truth,
                    args.trials,
                    rates(outcomes),
                    figures,
                    [
                        (
                            f"{name} at n={planned.n_per_condition}: simulated - stated power",
                            power - planned.power,
                            "within",
                            TARGET_POWER_POINTS,
                        )
                    ],
                )
            )
    return rows


def not_run(name: str, why: str) -> dict:
    return row(name, "hubaudit plan", 0, None, {}, [(f"{name}: simulated - stated power", None, "not run", why)])


def simulated_outcome(rng, scenario, n: int) -> str:
    """One scan of a plan's scenario (its truth, annotator errors, calibration records, margins) at n per condition."""
    correction = scenario.correction
    errors = np.asarray(correction.error_rates)
    if correction.calibration_per_class is None:
        raise NotImplementedError("a plan corrected by gold labels is not simulated here")
    if hasattr(scenario, "shares_by_label"):  # fairness: classes 0 .. 2c-1, the first c labelled 0
        per_label = scenario.conditions_per_label
        shares = [np.asarray(scenario.shares_by_label[c // per_label]) for c in range(2 * per_label)]
        attributes = {"S": (shares, [errors] * len(shares), tuple(scenario.groups))}
        signature = fairness_scan(
            rng,
            attributes,
            n=n,
            calibration=correction.calibration_per_class,
            label_map={c: c // per_label for c in range(2 * per_label)},
            max_dp_gap=scenario.max_dp_gap,
            min_group_share=scenario.min_group_share,
            confidence=scenario.confidence,
        )
        return signature.pairs[0].verdict.outcome
    if scenario.conditions != 1:
        raise NotImplementedError("a privacy plan over several conditions is not simulated here")
    return privacy_outcome(
        rng,
        training=scenario.training_shares[1],
        generated=scenario.generated_shares[1],
        n=n,
        margin=scenario.max_property_error,
        calibration=correction.calibration_per_class,
        errors=errors,
        confidence=scenario.confidence,
    )


# --- report ------------------------------------------------------------------------------------------------------


def row(name: str, setting: str, trials: int, outcomes: dict | None, figures: dict, targets: list[tuple]) -> dict:
    return {
        "name": name,
        "setting": setting,
        "trials": trials,
        "outcomes": outcomes,
        "figures": figures,
        "targets": [{"name": t[0], "value": t[1], "sense": t[2], "target": t[3]} for t in targets],
    }


def figure_text(value) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if value < 10 else f"{value:.0f}"
    return str(value)


def small_scan_row(args, rng) -> dict:
    """(a): a gap of 0.20 scanned with 150 samples and 100 calibration records (50 of each colour) per class."""
    return fixed_scan_row(
        "(a) small scan",
        "gap 0.20, n 150/class, calibration 100/class (50/cell), errors 0.05 both ways",
        green_shares(0.4, 0.6),
        [SAME_ERRORS] * 2,
        n=150,
        calibration=50,
        trials=args.trials,
        rng=rng,
    )


def class_error_rows(args, rng) -> list[dict]:
    """(c): errors that differ by class hide a gap of 0.15; and the same at a gap of exactly the margin (info)."""
    sizes = dict(n=2000, calibration=1000, trials=args.trials, rng=rng)
    return [
        fixed_scan_row(
            "(c) class-dependent errors",
            "gap 0.15 hidden by errors (0.15, 0.02)/(0.02, 0.15); n 2000/class; calibration 1000/cell",
            green_shares(0.425, 0.575),
            HIDING_ERRORS,
            **sizes,
        ),
        fixed_scan_row(
            "at the margin (info)",
            "gap exactly 0.10, same errors and sizes: the equivalence test's level",
            green_shares(0.45, 0.55),
            HIDING_ERRORS,
            target=False,
            **sizes,
        ),
    ]


SCENARIOS: dict[str, Callable] = {
    "a": small_scan_row,
    "b": sequential_row,
    "c": class_error_rows,
    "pairs": pairs_row,
    "label-balance": label_balance_row,
    "privacy": privacy_rows,
    "coverage": coverage_row,
    "detection": detection_row,
    "planning": planning_rows,
}


def print_rows(rows: list[dict]) -> None:
    print(f"{'row':<36}{'trials':>7}{'finding':>9}{'no find.':>9}{'inconcl.':>9}   figures")
    for entry in rows:
        found = entry["outcomes"]
        cells = "".join(f"{found[o]:>9.3f}" if found and o in found else f"{'-':>9}" for o in OUTCOMES[:3])
        figures = "; ".join(f"{key} {figure_text(value)}" for key, value in entry["figures"].items())
        print(f"{entry['name']:<36}{entry['trials']:>7}{cells}   {figures}")
        print(f"{'':<4}{entry['setting']}")


def check_targets(rows: list[dict]) -> bool:
    met = []
    print("\nTargets:")
    for target in (t for entry in rows for t in entry["targets"]):
        if target["sense"] == "not run":
            met.append(False)
            print(f"  FAIL (not run: {target['target']})  {target['name']}")
            continue
        value, bound, sense = target["value"], target["target"], target["sense"]
        passed = {"<=": value <= bound, ">=": value >= bound, "within": abs(value) <= bound}[sense]
        met.append(passed)
        wanted = f"within +-{bound:g}" if sense == "within" else f"{sense} {bound:g}"
        print(
            f"  {'PASS' if passed else 'FAIL'}  {target['name']}: {value:{'+' if sense == 'within' else ''}.3f} (target {wanted})"
        )
    return bool(met) and all(met)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=1000, help="simulated scans per row (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="seeds every row's generator (default 0)")
    parser.add_argument(
        "--stop-half-width",
        type=float,
        default=0.05,
        help="(b): stop at the first look whose gap interval's half-width is at most this (default 0.05)",
    )
    parser.add_argument("--only", nargs="*", choices=list(SCENARIOS), help="run these scenarios only (default: all)")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    started, rows, seconds = time.perf_counter(), [], {}
    for index, (name, scenario) in enumerate(SCENARIOS.items()):
        if args.only and name not in args.only:
            continue
        began = time.perf_counter()
        found = scenario(args, np.random.default_rng([args.seed, index]))
        rows += found if isinstance(found, list) else [found]  # a scenario gives one row or several
        seconds[name] = round(time.perf_counter() - began, 1)
    print(
        f"Verdicts: {args.trials} simulated scans per row, seed {args.seed}, confidence 0.95; "
        "margins --max-dp-gap 0.10, --max-gap-increase 0.05, --max-property-error 0.05"
    )
    print_rows(rows)
    meets = check_targets(rows)
    total = time.perf_counter() - started
    print(f"\n{total:.0f} s (" + ", ".join(f"{name} {s:g}" for name, s in seconds.items()) + ")")
    if args.json:
        figures = {
            "settings": {key: str(value) for key, value in vars(args).items()},
            "rows": rows,
            "meets_targets": meets,
            "seconds": total,
            "seconds_by_scenario": seconds,
        }
        args.json.write_text(json.dumps(figures, indent=1, default=float) + "\n")
        print(f"wrote {args.json}")
    if not meets:
        print("targets missed")
        sys.exit(1)


if __name__ == "__main__":
    main()
