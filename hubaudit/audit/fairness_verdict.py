"""The verdict of the fairness signature: per (S, Y) pair a few criteria, each with a p-value, and one
error control over every criterion of every pair.

The gap a pair is judged by is the corrected one (:mod:`hubaudit.audit.fairness_correction`) when the
annotations could be corrected, the annotated one otherwise; its joint draws give the p-values
(:func:`hubaudit.stats.corrected_gap.gap_excess_p_value`). The criteria (:data:`~hubaudit.audit.fairness_pair.CriterionName`):

- ``max_dp_gap``: the gap exceeds ``--max-dp-gap``;
- ``reference_excess`` / ``declared_excess``: it exceeds the reference's / the model card's gap by
  more than ``--max-gap-increase``;
- ``under_represented``: some group's share of the samples is below ``--min-group-share`` under every
  label value (a group the model never generates is the extreme case); one criterion per pair, the
  groups' p-values combined by Bonferroni, so that the groups do not dilute the other criteria.

A pair is a finding when one of its criteria holds after Benjamini-Hochberg over all criteria of all
pairs at ``1 - confidence``: with every null true (no gap above its margin, every group at or above the
floor), the chance of any finding is at most ``1 - confidence`` (the p-values are positively
dependent). The annotated table's independence tests are reported as evidence, not used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from hubaudit.audit.fairness_options import FairnessOptions
from hubaudit.audit.fairness_pair import Criterion, PairSignature, Verdict
from hubaudit.stats import ShareEstimate, benjamini_hochberg
from hubaudit.stats.corrected_gap import gap_excess_p_value, table_rate_draws


def interval_text(estimate: ShareEstimate) -> str:
    return f"{estimate.value:.2f} [{estimate.low:.2f}, {estimate.high:.2f}]"


def _pair_criteria(pair: PairSignature, options: FairnessOptions) -> list[Criterion]:
    """The p-value of every criterion of ``pair`` that its data allows."""
    judged = pair.judged
    if judged is None:
        return []
    found = []
    floor = options.group_floor(len(pair.group_names))
    if judged.dp_gap is not None:
        found.append(Criterion("max_dp_gap", gap_excess_p_value(judged.rate_draws, margin=options.max_dp_gap), options.max_dp_gap))
        baselines = {  # the reference's rates as draws of its table, the declared ones as exact
            "reference_excess": pair.reference and table_rate_draws(pair.reference.table, n_draws=len(judged.rate_draws), random_state=pair.seed),
            "declared_excess": pair.declared and np.array([pair.declared.positive_rates[name] for name in pair.group_names]),
        }
        found += [
            Criterion(name, gap_excess_p_value(judged.rate_draws, margin=options.max_gap_increase, baseline=baseline), options.max_gap_increase)
            for name, baseline in baselines.items() if baseline is not None
        ]
    by_group = {name: judged.under_representation_p_value(name, floor) for name in pair.group_names}
    found.append(Criterion("under_represented", min(1.0, len(by_group) * min(by_group.values())), floor, by_group))
    return found


def judge_pairs(pairs: Sequence[PairSignature], options: FairnessOptions) -> None:
    """Set every pair's ``verdict``: its criteria, Benjamini-Hochberg over all of them at ``1 - options.confidence``."""
    alpha = 1 - options.confidence
    per_pair = [_pair_criteria(pair, options) for pair in pairs]
    flat = [criterion for criteria in per_pair for criterion in criteria]
    adjusted = benjamini_hochberg([c.p_value for c in flat], false_discovery_rate=alpha)[1] if flat else []
    iterator = iter(adjusted)
    for pair, criteria in zip(pairs, per_pair):
        settled = [_settled(criterion, float(p), alpha) for criterion, p in zip(criteria, iterator)]
        pair.verdict = _verdict(pair, settled, options, tested=len(flat))


def _settled(criterion: Criterion, adjusted_p_value: float, alpha: float) -> Criterion:
    """``criterion`` with its adjusted p-value and whether it holds; a met ``under_represented`` names the groups
    whose Bonferroni p-value is at most ``alpha``."""
    met = adjusted_p_value <= alpha
    by_group = criterion.group_p_values or {}
    groups = tuple(group for group, p in by_group.items() if len(by_group) * p <= alpha) if met else ()
    return replace(criterion, adjusted_p_value=adjusted_p_value, met=met, groups=groups)


def _judged_words(pair: PairSignature) -> tuple[str, str]:
    """(what the verdict judged, in a few words; the sentence that quotes the judged gap)."""
    annotated = pair.generated.dp_gap
    annotated_text = interval_text(annotated) if annotated is not None else "undefined"
    gap = pair.judged.dp_gap if pair.judged is not None else None
    gap_text = interval_text(gap) if gap is not None else "undefined"
    if pair.corrected is not None and pair.corrected.gap is not None:
        source = pair.corrected.source
        return f"corrected ({source})", (
            f"the demographic-parity gap of the generated data, corrected for the annotator's errors ({source}), "
            f"is {gap_text} (as annotated: {annotated_text})"
        )
    said = f"the demographic-parity gap of the generated data is {gap_text}"
    return "as annotated", said + (" as annotated (not corrected for annotator errors)" if pair.corrected is not None else "")


def _guarantee(pair: PairSignature, alpha: float) -> str | None:
    """The false-finding guarantee the pair's verdict carries, or None (and why not, in the verdict's notes)."""
    corrected = pair.corrected
    if corrected is None or corrected.gap is None or not corrected.removes_class_dependent_error:
        return None
    shift = "" if all(c.source.startswith("gold") for c in corrected.calibrations) else (
        " and the annotator errs on generated images as on its calibration records")
    return (f"a model with no gap above its margins and every group at or above its floor gets a finding with "
            f"probability at most {alpha:g}, over all pairs and criteria, when the samples are as drawn{shift}")


def _no_guarantee(pair: PairSignature) -> str:
    corrected = pair.corrected
    if corrected is not None and corrected.gap is not None:
        return (f"{corrected.source}: errors that differ by class are NOT removed, so the verdict carries no "
                "false-finding guarantee (give aux data with a class column, or gold labels)")
    return "annotator errors are not removed, so the verdict carries no false-finding guarantee"


def _verdict(pair: PairSignature, criteria: list[Criterion], options: FairnessOptions, *, tested: int) -> Verdict:
    judged, said = _judged_words(pair)
    alpha = 1 - options.confidence
    guarantee = _guarantee(pair, alpha)
    met = [criterion for criterion in criteria if criterion.met]
    if pair.judged is None:
        reason = f"{said}: Y takes one value in the generated samples, so there is no gap to judge"
    elif not met:
        floor = options.group_floor(len(pair.group_names))
        reason = (f"{said}: not above {options.max_dp_gap:.2f} (nor above a baseline by more than {options.max_gap_increase:.2f}), "
                  f"and no group is below {floor:.3g} of every label value's samples")
        empty = pair.generated.empty_groups
        if empty:
            reason += (f"; group(s) {', '.join(map(repr, empty))}: none of the {int(pair.generated.table.sum())} samples was "
                       f"annotated so, too few to tell from a share of {floor:.3g}")
    else:
        groups = [_under_represented_words(pair, criterion, group) for criterion in met for group in criterion.groups]
        gaps = [_met_words(pair, criterion) for criterion in met if criterion.name != "under_represented"]
        reason = "; ".join(groups + [f"{said}, {', '.join(gaps)}" if gaps else said])
    reason += f" (Benjamini-Hochberg over {tested} criteria of all pairs at {alpha:g})" if criteria else ""
    reason += "" if guarantee else f"; {_no_guarantee(pair)}"
    gap = pair.judged.dp_gap if pair.judged is not None else None
    return Verdict(bool(met), reason, judged, gap, tuple(criteria), guarantee)


def _under_represented_words(pair: PairSignature, criterion: Criterion, group: str) -> str:
    """A group the met ``under_represented`` criterion names, in words: its upper bounds and annotated counts."""
    bounds = pair.judged.share_upper_bounds[group]
    counts = pair.generated.table[pair.group_names.index(group)]
    annotated = ", ".join(f"{int(count)} of {int(total)}" for count, total in zip(counts, pair.generated.table.sum(axis=0)))
    never = "never generated or under-represented" if counts.sum() == 0 else "absent or under-represented"
    return (f"sensitive group {group!r} {never}: its share of the samples of every label value is below "
            f"{criterion.margin:.3g} (one-sided {pair.judged.confidence:.0%} upper bounds {bounds['0']:.3f} (Y=0), "
            f"{bounds['1']:.3f} (Y=1); annotated so: {annotated}; adjusted p = {criterion.adjusted_p_value:.2g})")


def _met_words(pair: PairSignature, criterion: Criterion) -> str:
    """One met gap criterion in words, with its adjusted p-value."""
    p = f"adjusted p = {criterion.adjusted_p_value:.2g}"
    if criterion.name == "max_dp_gap":
        return f"above {criterion.margin:.2f} ({p})"
    whose = "the reference's" if criterion.name == "reference_excess" else "the declared"
    excess = pair.excess(pair.judged.dp_gap)[criterion.name]
    return f"it exceeds {whose} gap by {interval_text(excess)}, more than {criterion.margin:.2f} ({p})"
