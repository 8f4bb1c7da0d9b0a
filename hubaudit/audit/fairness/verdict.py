"""The verdict of the fairness signature: per (S, Y) pair a few criteria, each tested both ways, and one
outcome per pair: finding, no finding, inconclusive or not tested (:mod:`hubaudit.stats.outcome`).

The gap a pair is judged by is the corrected one (:mod:`hubaudit.audit.fairness.correction`) when the
annotations could be corrected, the annotated one otherwise; its joint draws give both p-values of
every criterion (:data:`~hubaudit.audit.fairness.pair.CriterionName`):

- ``max_dp_gap``: the gap exceeds ``max_dp_gap``;
- ``reference_excess`` / ``declared_excess``: it exceeds the reference's / the model card's gap by
  more than ``max_gap_increase``, both taken at the judged gap's P(Y=1) (a parity gap depends on it);
- ``under_represented``: some group's share of the samples is below ``min_group_share`` under every
  label value (a group the model never generates is the extreme case).

**Finding**: a criterion's p-value of "no violation", Holm-adjusted over every criterion of every pair,
is at most alpha: the chance of any false finding is at most alpha. **No finding**: every criterion's
p-value of "a violation" (the equivalence side) is at most alpha: each is a test at level alpha, so the
pair's "no finding", and "no finding" on every pair at once, hold at level alpha (intersection-union);
it is given only when the correction removes errors that differ by class. **Inconclusive** otherwise,
with the samples per condition that would settle it at the observed effect (the same computation at
scaled counts). With a gap undefined for a group (its corrected share 0 under both label values), the gap
is tested over the other groups: a finding there holds for all groups, a no finding does not. Under a
sequential stop (``looks`` > 1: the sample counts the stopping rule could stop at) every test is at
alpha / looks, valid at whichever count it stopped (Bonferroni over the looks).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np

from hubaudit.audit.fairness.options import FairnessOptions
from hubaudit.audit.fairness.pair import Baseline, Criterion, PairSignature, Verdict
from hubaudit.errors import ClassifierNoBetterThanChance, TooFewSamples
from hubaudit.stats import ShareEstimate, holm
from hubaudit.stats.corrected_gap import (
    ConditionCounts,
    CorrectedGap,
    corrected_parity_gap,
    gap_excess_p_value,
    gap_within_p_value,
    positive_rates_at,
    rates_at_label_share,
    table_rate_draws,
)
from hubaudit.stats.correction import shifted_confusion
from hubaudit.stats.outcome import Outcome, combined, settled

SEARCH_DRAWS = 1000
"""Joint draws per evaluation when searching for the samples that settle an outcome, or the shift that changes it."""
MAX_SAMPLES_PER_CONDITION = 1_000_000
MAX_CALIBRATION_FACTOR = 64
REFERENCE_STREAM = 1
"""Second word of the reference draws' seed, so that they are independent of the judged draws (seeded by the pair's seed)."""
SHIFT_GRID = (0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.5)
"""Annotator error-rate shifts tried before bisection (absolute, in rate units)."""


def interval_text(estimate: ShareEstimate) -> str:
    return f"{estimate.value:.2f} [{estimate.low:.2f}, {estimate.high:.2f}]"


def pair_baselines(pair: PairSignature, judged: CorrectedGap, *, n_draws: int) -> dict[str, Baseline]:
    """The reference's and the declared rates of ``pair``, moved to ``judged``'s P(Y=1)."""
    share, found = judged.label_share, {}
    confidence = judged.confidence
    if pair.reference is not None:
        table = pair.reference.table
        # a stream of its own: the judged draws come from pair.seed, and shared random numbers would correlate the two
        draws = table_rate_draws(
            table,
            label_sizes=judged.label_sizes,
            n_draws=n_draws,
            random_state=np.random.default_rng((pair.seed, REFERENCE_STREAM)),
        )
        point = positive_rates_at((table / table.sum(axis=0)).T, np.array(judged.label_sizes, dtype=float))
        gaps = np.nanmax(draws, axis=1) - np.nanmin(draws, axis=1)
        value = float(point.max() - point.min())
        low, high = np.quantile(gaps, [(1 - confidence) / 2, (1 + confidence) / 2])
        note = (
            f"the reference's P(S | Y) taken at P(Y=1) = {share:.3f} (its own: {table[:, 1].sum() / table.sum():.3f})"
        )
        gap = ShareEstimate(
            value,
            min(value, float(low)),
            max(value, float(high)),
            "joint-draws",
            int(table.sum()),
            confidence,
            (note,),
        )
        found["reference_excess"] = Baseline("reference_excess", share, draws, gap)
    declared = pair.declared
    if declared is not None and declared.label_share is None:
        found["declared_excess"] = Baseline(
            "declared_excess",
            share,
            unavailable=(
                "the model card declares P(Y=1 | S) but not the training P(Y=1) it was taken at (label_share, or "
                "column_counts of the label), so its gap cannot be compared at this scan's P(Y=1)"
            ),
        )
    elif declared is not None:
        rates = rates_at_label_share(
            np.array([declared.positive_rates[name] for name in pair.group_names]),
            label_share=declared.label_share,
            target_label_share=share,
        )
        value = float(np.nanmax(rates) - np.nanmin(rates))
        note = f"declared at P(Y=1) = {declared.label_share:.3f}, taken at {share:.3f}"
        found["declared_excess"] = Baseline(
            "declared_excess", share, rates, ShareEstimate(value, value, value, "declared", 0, confidence, (note,))
        )
    return found


def _criteria(
    pair: PairSignature, judged: CorrectedGap, baselines: dict[str, Baseline], options: FairnessOptions
) -> list[Criterion]:
    """Both p-values of every criterion of ``pair`` on ``judged``, or why a criterion is not tested."""
    found = []
    defined = judged.defined_positions
    rates = judged.rate_draws[:, defined]
    partial = bool(judged.undefined_groups)  # a gap over some groups bounds the full gap from below only
    if judged.dp_gap is None:
        found.append(
            Criterion("max_dp_gap", options.max_dp_gap, not_tested="fewer than two groups have a defined rate")
        )
    else:
        within = 1.0 if partial else gap_within_p_value(rates, margin=options.max_dp_gap)
        found.append(
            Criterion("max_dp_gap", options.max_dp_gap, gap_excess_p_value(rates, margin=options.max_dp_gap), within)
        )
    for name, baseline in baselines.items():
        if baseline.unavailable is not None or judged.dp_gap is None:
            found.append(
                Criterion(
                    name,
                    options.max_gap_increase,
                    not_tested=baseline.unavailable or "fewer than two groups have a defined rate",
                )
            )
            continue
        base = baseline.rates[..., defined]
        within = 1.0 if partial else gap_within_p_value(rates, margin=options.max_gap_increase, baseline=base)
        found.append(
            Criterion(
                name,
                options.max_gap_increase,
                gap_excess_p_value(rates, margin=options.max_gap_increase, baseline=base),
                within,
            )
        )
    floor = options.group_floor(len(pair.group_names))
    by_group = {name: judged.under_representation_p_value(name, floor) for name in pair.group_names}
    represented = max(judged.representation_p_value(name, floor) for name in pair.group_names)
    found.append(
        Criterion("under_represented", floor, min(1.0, len(by_group) * min(by_group.values())), represented, by_group)
    )
    return found


def _settled(criterion: Criterion, adjusted_p_value: float | None, alpha: float, *, equivalence: bool) -> Criterion:
    """``criterion`` with its adjusted p-value and outcome (``equivalence``: whether "no finding" may be shown); a
    found ``under_represented`` names the groups whose Bonferroni p-value is at most ``alpha``."""
    if criterion.not_tested is not None:
        return criterion
    outcome = settled(adjusted_p_value, criterion.no_finding_p_value, alpha=alpha)
    if outcome == "no finding" and not equivalence:
        outcome = "inconclusive"
    by_group = criterion.group_p_values or {}
    groups = (
        tuple(group for group, p in by_group.items() if len(by_group) * p <= alpha) if outcome == "finding" else ()
    )
    return replace(criterion, adjusted_p_value=adjusted_p_value, outcome=outcome, groups=groups)


def _removes_class_dependent_error(pair: PairSignature) -> bool:
    return (
        pair.corrected is not None and pair.corrected.gap is not None and pair.corrected.removes_class_dependent_error
    )


def judge_pairs(
    pairs: Sequence[PairSignature], options: FairnessOptions, *, looks: int = 1, explain: bool = True
) -> None:
    """Set every pair's ``baselines`` and ``verdict`` (module docstring): tests at ``(1 - confidence) / looks``; with
    ``explain``, an inconclusive pair says what would settle it and a settled one the annotator shift that would
    change it (both searches; simulations may skip them)."""
    alpha = (1 - options.confidence) / looks
    per_pair = []
    for pair in pairs:
        judged = pair.judged
        pair.baselines = pair_baselines(pair, judged, n_draws=len(judged.rate_draws)) if judged is not None else {}
        per_pair.append(_criteria(pair, judged, pair.baselines, options) if judged is not None else [])
    tested = [criterion for criteria in per_pair for criterion in criteria if criterion.p_value is not None]
    adjusted = (
        dict(zip(map(id, tested), holm([c.p_value for c in tested], family_wise_error=alpha)[1])) if tested else {}
    )
    for pair, criteria in zip(pairs, per_pair):
        equivalence = _removes_class_dependent_error(pair)
        judged = [_settled(c, adjusted.get(id(c)), alpha, equivalence=equivalence) for c in criteria]
        pair.verdict = _verdict(pair, judged, options, alpha=alpha, tested=len(tested), looks=looks, explain=explain)


def _outcome_at(
    pair: PairSignature, options: FairnessOptions, counts: Sequence[ConditionCounts], *, alpha: float, tested: int
) -> Outcome:
    """The pair's outcome were its conditions' counts ``counts`` (the finding side at Holm's first step, alpha / tested)."""
    judged = corrected_parity_gap(
        counts,
        group_names=pair.group_names,
        confidence=options.confidence,
        n_draws=SEARCH_DRAWS,
        random_state=pair.seed,
    )
    criteria = _criteria(pair, judged, pair_baselines(pair, judged, n_draws=SEARCH_DRAWS), options)
    equivalence = _removes_class_dependent_error(pair)
    return combined(
        _settled(
            c, None if c.p_value is None else min(1.0, c.p_value * tested), alpha, equivalence=equivalence
        ).outcome
        for c in criteria
    )


def _scaled(counts: Sequence[ConditionCounts], samples: float, calibration: float = 1.0) -> list[ConditionCounts]:
    """``counts`` with ``samples`` times the samples (same shares) and ``calibration`` times the calibration records."""

    def times(array: np.ndarray | None, factor: float) -> np.ndarray | None:
        return None if array is None else np.round(array * factor).astype(np.int64)

    return [
        replace(
            c,
            weight=max(1, round(c.weight * samples)),
            counts=times(c.counts, samples),
            confusion=times(c.confusion, calibration),
        )
        for c in counts
    ]


def _smallest(settles: Callable[[float], bool], low: float, high: float, *, steps: int) -> float:
    """The smallest x in (low, high] with ``settles(x)`` (``settles(high)`` true, ``settles(low)`` false; monotone)."""
    for _ in range(steps):
        middle = (low + high) / 2
        low, high = (low, middle) if settles(middle) else (middle, high)
    return high


def samples_to_settle(pair: PairSignature, options: FairnessOptions, *, alpha: float, tested: int) -> dict:
    """The samples per condition (or, if the calibration limits the interval, the calibration) that would settle
    an inconclusive pair at the observed shares: ``{"n_per_condition", "calibration_factor", "why"}``."""
    counts, per_condition = pair.judged_counts, max(c.weight for c in pair.judged_counts)
    decided = lambda samples, calibration=1.0: (
        _outcome_at(pair, options, _scaled(counts, samples, calibration), alpha=alpha, tested=tested)
        not in ("inconclusive", "not tested")
    )
    most = MAX_SAMPLES_PER_CONDITION / per_condition
    factor = 2.0
    while factor < most and not decided(factor):
        factor *= 2
    if factor < most or decided(most):
        factor = _smallest(decided, factor / 2, min(factor, most), steps=6)
        n = int(np.ceil(per_condition * factor))
        return {
            "n_per_condition": n,
            "calibration_factor": None,
            "why": f"at the observed shares, about {n} samples per condition would settle it",
        }
    calibrated = any(c.confusion is not None for c in counts)
    calibration = 2.0
    while calibrated and calibration <= MAX_CALIBRATION_FACTOR and not decided(most, calibration):
        calibration *= 2
    if calibrated and calibration <= MAX_CALIBRATION_FACTOR:
        return {
            "n_per_condition": None,
            "calibration_factor": calibration,
            "why": (
                f"more samples alone cannot: the annotator's calibration limits the interval; about {calibration:g} times its "
                "calibration records (or gold labels on the generated samples, hubaudit label) with many more samples would"
            ),
        }
    return {
        "n_per_condition": None,
        "calibration_factor": None,
        "why": (
            "no sample count settles it at the observed shares: the effect lies at the margin, or a baseline's own "
            "uncertainty limits the comparison"
        ),
    }


def error_shift_to_change(
    pair: PairSignature, options: FairnessOptions, outcome: Outcome, *, alpha: float, tested: int
) -> dict:
    """The smallest shift of the annotator's error rates on one label value's generated images, away from its
    calibration records, that changes a settled outcome: ``{"error_rate_shift", "note"}``."""
    what = (
        "the smallest shift of the annotator's false-positive and false-negative rates (each by up to this much, "
        "in the worst direction) on one label value's generated images, away from its calibration records, that "
        "changes the outcome"
    )
    calibrated = [
        k
        for k, (c, calibration) in enumerate(
            zip(pair.judged_counts, pair.corrected.calibrations if pair.corrected else ())
        )
        if c.confusion is not None and not calibration.source.startswith("gold")
    ]
    if len(pair.group_names) != 2:
        return {"error_rate_shift": None, "note": "computed for a two-valued sensitive attribute only"}
    if not calibrated:
        return {
            "error_rate_shift": None,
            "note": "no condition rests on calibration records (gold labels measure the "
            "annotator on the generated samples themselves, or nothing is corrected)",
        }

    def changes(label: int, false_positive: int, false_negative: int) -> Callable[[float], bool]:
        def shifted(delta: float) -> bool:
            counts = list(pair.judged_counts)
            for k in calibrated:
                if counts[k].label == label:
                    moved = shifted_confusion(counts[k].confusion, false_positive * delta, false_negative * delta)
                    counts[k] = replace(counts[k], confusion=moved)
            try:
                return _outcome_at(pair, options, counts, alpha=alpha, tested=tested) != outcome
            except (
                ClassifierNoBetterThanChance,
                TooFewSamples,
            ):  # the shifted annotator tells nothing: that changes it
                return True

        return shifted

    tests = [
        changes(label, false_positive, false_negative)
        for label in (0, 1)
        for false_positive in (1, -1)
        for false_negative in (1, -1)
    ]
    previous = 0.0
    for delta in SHIFT_GRID:  # every direction at each step, so the search ends at the first step that changes it
        changed = [test for test in tests if test(delta)]
        if changed:
            return {
                "error_rate_shift": min(_smallest(test, previous, delta, steps=4) for test in changed),
                "note": what,
            }
        previous = delta
    return {"error_rate_shift": None, "note": what + ": none up to 0.5 does"}


def _judged_words(pair: PairSignature) -> tuple[str, str]:
    """(what the verdict judged, in a few words; the phrase that quotes the judged gap and its P(Y=1))."""
    gap = pair.judged.dp_gap if pair.judged is not None else None
    gap_text = interval_text(gap) if gap is not None else "undefined"
    at = f" at P(Y=1) = {pair.judged.label_share:.2f}" if pair.judged is not None else ""
    if pair.corrected is not None and pair.corrected.gap is not None:
        source = pair.corrected.source
        return (
            f"corrected ({source})",
            f"the demographic-parity gap{at}, corrected for the annotator's errors ({source}), is {gap_text}",
        )
    said = f"the demographic-parity gap{at} is {gap_text}"
    return "as annotated", said + (
        " as annotated (not corrected for annotator errors)" if pair.corrected is not None else ""
    )


def _criterion_words(pair: PairSignature, criterion: Criterion) -> str:
    """One criterion, its outcome and the p-value that decided it, in words."""
    margin = f"{criterion.margin:.3g}" if criterion.name == "under_represented" else f"{criterion.margin:.2f}"
    whose = {"reference_excess": "the reference's gap", "declared_excess": "the model card's declared gap"}.get(
        criterion.name
    )
    subject = (
        f"above {margin}"
        if criterion.name == "max_dp_gap"
        else (
            f"above {whose} by more than {margin}"
            if whose
            else f"a group below {margin} of every label value's samples"
        )
    )
    if criterion.outcome == "not tested":
        return f"{subject}: not tested ({criterion.not_tested})"
    if criterion.outcome == "finding":
        if criterion.name == "under_represented":
            return "; ".join(_under_represented_words(pair, criterion, group) for group in criterion.groups)
        excess = pair.excess(pair.judged.dp_gap).get(criterion.name)
        amount = f" ({interval_text(excess)})" if excess is not None else ""
        return f"{subject}{amount} (Holm-adjusted p = {criterion.adjusted_p_value:.2g})"
    if criterion.outcome == "no finding":
        within = (
            "every group at or above " + margin + " under some label value"
            if criterion.name == "under_represented"
            else (f"within {margin}" if criterion.name == "max_dp_gap" else f"within {margin} of {whose}")
        )
        return f"{within} (equivalence p = {criterion.no_finding_p_value:.2g})"
    words = f"neither {subject} nor shown otherwise (p = {criterion.adjusted_p_value:.2g}; equivalence p = {criterion.no_finding_p_value:.2g})"
    empty = pair.generated.empty_groups if criterion.name == "under_represented" else []
    if empty:
        words += (
            f"; group(s) {', '.join(map(repr, empty))}: none of the {int(pair.generated.table.sum())} samples was "
            f"annotated so, too few to tell from a share of {criterion.margin:.3g}"
        )
    return words


def _under_represented_words(pair: PairSignature, criterion: Criterion, group: str) -> str:
    """A group the found ``under_represented`` criterion names, in words: its upper bounds and annotated counts."""
    bounds = pair.judged.share_upper_bounds[group]
    counts = pair.generated.table[pair.group_names.index(group)]
    annotated = ", ".join(
        f"{int(count)} of {int(total)}" for count, total in zip(counts, pair.generated.table.sum(axis=0))
    )
    never = "never generated or under-represented" if counts.sum() == 0 else "absent or under-represented"
    return (
        f"sensitive group {group!r} {never}: its share of the samples of every label value is below "
        f"{criterion.margin:.3g} (one-sided {pair.judged.confidence:.0%} upper bounds {bounds['0']:.3f} (Y=0), "
        f"{bounds['1']:.3f} (Y=1); annotated so: {annotated}; Holm-adjusted p = {criterion.adjusted_p_value:.2g})"
    )


def criteria_sentence(criteria: Sequence[Criterion]) -> str:
    """The criteria actually applied, and those that were not, in one sentence."""
    names = {
        "max_dp_gap": "the gap above {m}",
        "reference_excess": "the gap above the reference's by more than {m}",
        "declared_excess": "the gap above the model card's declared gap by more than {m}",
        "under_represented": "a group below {m} of every label value's samples",
    }

    def named(c: Criterion) -> str:
        return names[c.name].format(m=f"{c.margin:.3g}" if c.name == "under_represented" else f"{c.margin:.2f}")

    applied = [named(c) for c in criteria if c.outcome != "not tested"]
    skipped = [f"{named(c)} ({c.not_tested})" for c in criteria if c.outcome == "not tested"]
    text = "a finding is " + " or ".join(applied) if applied else "no criterion could be applied"
    return text + (f"; not tested: {'; '.join(skipped)}" if skipped else "")


def _guarantee(pair: PairSignature, alpha: float, *, tested: int, looks: int) -> str | None:
    """The guarantee the pair's verdict carries, or None when the correction leaves errors that differ by class."""
    if not _removes_class_dependent_error(pair):
        return None
    stop = (
        f"; sampling stopped by a sequential rule: every test at {alpha * looks:g}/{looks} (the {looks} sample counts "
        "it could stop at), so valid at the count it stopped"
        if looks > 1
        else ""
    )
    shift = (
        ""
        if all(c.source.startswith("gold") for c in pair.corrected.calibrations)
        else (", and the annotator errs on generated images as on its calibration records")
    )
    return (
        f"a false finding on any of the {tested} criteria of all pairs has probability at most {alpha:g} (Holm); "
        f"a 'no finding' is an equivalence test at level {alpha:g} on each criterion, so this pair's, and 'no finding' "
        f"on every pair at once, hold at level {alpha:g}{stop}; when the samples are as drawn{shift}"
    )


def _no_guarantee(pair: PairSignature) -> str:
    corrected = pair.corrected
    if corrected is not None and corrected.gap is not None:
        return (
            f"{corrected.source}: errors that differ by class are NOT removed, so a finding carries no false-finding "
            "guarantee and no finding can be shown (give aux data with a class column, or gold labels)"
        )
    return (
        "annotator errors are not removed, so a finding carries no false-finding guarantee and no finding can be shown"
    )


def _shift_notes(pair: PairSignature, alpha: float) -> list[str]:
    """Conditions whose gold labels show the annotator erring on generated images otherwise than on its records."""
    calibrations = pair.corrected.calibrations if pair.corrected is not None else ()
    shifted = (
        [
            (condition, c.shift_p_value)
            for condition, c in zip(pair.corrected.conditions, calibrations)
            if c.shift_p_value is not None and c.shift_p_value <= alpha
        ]
        if calibrations
        else []
    )
    return [
        f"the annotator errs on the generated samples of condition {condition!r} otherwise than on its calibration "
        f"records (gold labels, p = {p:.2g}): a correction by those records would not hold; the gold labels correct it here"
        for condition, p in shifted
    ]


def _next_step(pair: PairSignature, outcome: Outcome, criteria: Sequence[Criterion], settle: dict | None) -> str:
    if outcome == "finding":
        return (
            f"do not train a classifier for {pair.label} on these samples as they are: rebalance them by {pair.sensitive}, "
            "or ask the sharer for its training statistics and an explanation"
        )
    if outcome == "no finding":
        return (
            f"nothing at these margins for the generated data at P(Y=1) = {pair.judged.label_share:.2f}; "
            "a tighter margin needs a larger scan"
        )
    if outcome == "not tested":
        return next((c.not_tested for c in criteria if c.not_tested), "label both values of Y in the scan")
    if not _removes_class_dependent_error(pair):
        return "give aux data with a class column, or gold labels (hubaudit label), so that errors that differ by class are removed"
    if settle is None:
        return "a larger scan would settle it"
    if settle["n_per_condition"] is not None:
        return f"rerun with -n {settle['n_per_condition']} (samples per condition): {settle['why']}"
    return settle["why"]


def _verdict(
    pair: PairSignature,
    criteria: list[Criterion],
    options: FairnessOptions,
    *,
    alpha: float,
    tested: int,
    looks: int,
    explain: bool,
) -> Verdict:
    judged_words, said = _judged_words(pair)
    gap = pair.judged.dp_gap if pair.judged is not None else None
    if pair.judged is None:
        reason = "not tested: Y takes one value in the generated samples, so there is no gap to judge"
        return Verdict(
            "not tested",
            reason,
            "scan conditions of both label values",
            judged_words,
            None,
            criteria_applied="no criterion could be applied",
        )
    outcome = combined(c.outcome for c in criteria)
    shown = [c for c in criteria if c.outcome == "finding"] if outcome == "finding" else criteria
    reason = f"{outcome}: {said}; " + "; ".join(_criterion_words(pair, c) for c in shown)
    if pair.judged.undefined_groups:
        reason += f"; {pair.judged.undefined}"
    guarantee = _guarantee(pair, alpha, tested=tested, looks=looks)
    notes = ([] if guarantee else [_no_guarantee(pair)]) + _shift_notes(pair, alpha)
    reason += "".join(f"; {note}" for note in notes)
    settle = sensitivity = None
    if explain and outcome == "inconclusive" and _removes_class_dependent_error(pair):
        settle = samples_to_settle(pair, options, alpha=alpha, tested=tested)
    if explain and outcome in ("finding", "no finding") and guarantee is not None:
        sensitivity = error_shift_to_change(pair, options, outcome, alpha=alpha, tested=tested)
    return Verdict(
        outcome,
        reason,
        _next_step(pair, outcome, criteria, settle),
        judged_words,
        gap,
        tuple(criteria),
        guarantee,
        criteria_sentence(criteria),
        settle,
        sensitivity,
    )
