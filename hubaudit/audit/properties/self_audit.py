"""The sharer's privacy self-audit: does sharing the model disclose an attribute's training share?

An equivalence test (TOST) read off the primary estimate's interval, pooled over the scanned
conditions by the training set's condition shares. Per value v with training share ``t_v`` and
margin ``m`` (``--max-property-error``):

- ``finding``: every value's interval lies within ``[t_v - m, t_v + m]``: the generated share of
  every value is shown within ``m`` of its training share, so sampling the model discloses it;
- ``no finding``: some value's interval lies wholly outside its band: that share is shown off by
  more than ``m``;
- ``inconclusive``: neither (the interval overlaps an edge of the band, or the conditions cannot be
  weighted as in training); ``settle`` says how many samples per condition would settle it;
- ``not tested``: no ``--training-data``.

Each outcome is wrong with probability at most ``alpha / 2``: a value shown inside (or outside) its
band needs its interval to miss the true generated share on one side.
Shape: docs/report-schema.md; statistics: docs/statistics.md.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hubaudit.audit.properties.training_shares import TrainingShares, condition_column_hint
from hubaudit.errors import ClassifierNoBetterThanChance
from hubaudit.stats import ShareEstimate, corrected_shares, simultaneous_intervals
from hubaudit.stats.corrected_gap import ConditionCounts, weighted_shares
from hubaudit.stats.correction import shifted_confusion
from hubaudit.stats.outcome import Outcome

SETTLE_CAP = 10**6
"""Most samples per condition the ``settle`` search tries."""
Intervals = dict[str, tuple[float, float, float]]
"""value -> (estimate, low, high)."""


@dataclass(frozen=True)
class PooledEstimator:
    """The self-audit's pooled estimate of every value's generated share, recomputable at other sample counts and
    with another confusion matrix (for ``settle`` and ``sensitivity``).

    ``method`` is the primary method; ``counts`` ``int [C, K]`` the annotator's counts per condition;
    ``weights`` ``float [C]`` the conditions' training shares; ``confusion`` the annotator's calibration counts
    ``int [K, K]`` or None; ``observed`` the estimates at the scanned counts (value -> estimate dict); with the method
    ``ppi``, ``ppi`` per condition value -> (estimate, half-width) and the fewest gold labels of a condition.
    """

    method: str
    values: list[str]
    counts: np.ndarray
    weights: np.ndarray
    confusion: np.ndarray | None
    confidence: float
    observed: dict[str, dict]
    ppi: list[dict[str, tuple[float, float]]] | None = None
    gold_per_condition: int | None = None

    @property
    def n_per_condition(self) -> int:
        return int(self.counts[0].sum())

    @property
    def fixed_method(self) -> str:
        """The fixed-n estimator recomputed at other counts: the method itself, or for a sequential headline the
        fixed-n counterpart of its sequences (corrected when they correct, else classify-and-count)."""
        if self.method == "sequential":
            return (
                "corrected"
                if next(iter(self.observed.values()))["method"].startswith("corrected")
                else "classify_and_count"
            )
        return self.method

    def observed_intervals(self) -> Intervals:
        """Every value's (estimate, low, high) at the scanned counts."""
        return {value: (share["value"], share["low"], share["high"]) for value, share in self.observed.items()}

    def intervals(self, scale: float = 1.0, confusion: np.ndarray | None = None) -> Intervals:
        """Every value's (estimate, low, high) by :attr:`fixed_method` with the counts scaled by ``scale`` (the shares
        observed kept) and the calibration counts ``confusion`` (default the annotator's)."""
        confusion = self.confusion if confusion is None else confusion
        if self.fixed_method == "ppi":
            return self._ppi_intervals(scale)
        counts = np.maximum(np.round(self.counts * scale), 0).astype(np.int64)
        counts[counts.sum(axis=1) == 0, 0] = 1
        corrected = self.fixed_method == "corrected"
        if len(counts) == 1:
            shares = (
                corrected_shares(counts[0], confusion=confusion, names=self.values, confidence=self.confidence)
                if corrected
                else simultaneous_intervals(counts[0], names=self.values, confidence=self.confidence)
            )
        else:
            conditions = [
                ConditionCounts(str(c), 0, int(row.sum()), row, confusion if corrected else None, "overall")
                for c, row in enumerate(counts)
            ]
            shares = weighted_shares(
                conditions, weights=self.weights, group_names=self.values, confidence=self.confidence
            )
        return {value: (share.value, share.low, share.high) for value, share in shares.items()}

    def _ppi_intervals(self, scale: float) -> Intervals:
        """Weighted prediction-powered shares with every condition's standard error scaled by ``1/sqrt(scale)`` (more
        samples and gold labels alike)."""
        out = {}
        for value in self.values:
            share = float(sum(w * by_value[value][0] for w, by_value in zip(self.weights, self.ppi)))
            half = math.sqrt(sum((w * by_value[value][1]) ** 2 for w, by_value in zip(self.weights, self.ppi)) / scale)
            out[value] = (share, max(0.0, share - half), min(1.0, share + half))
        return out


def pooled_estimator(
    entry: dict, training: TrainingShares, confidence: float, sequential: dict | None
) -> PooledEstimator:
    """The estimator the self-audit judges by: the single condition's primary estimate, or the conditions weighted
    by ``training.condition_weights`` (``sequential``: the weighted anytime-valid headline, value -> estimate dict)."""
    method, values, conditions = entry["primary_method"], entry["values"], entry["by_condition"]
    counts = np.array([[condition["counts"][value] for value in values] for condition in conditions], dtype=np.int64)
    weights = np.ones(1) if len(conditions) == 1 else training.condition_weights
    confusion = entry["annotator"].get("confusion")
    confusion = None if confusion is None else np.asarray(confusion, dtype=np.int64)
    ppi, gold = None, None
    if method == "ppi":
        ppi = [
            {value: _ppi_half_width(condition["estimates"]["ppi"][value]) for value in values}
            for condition in conditions
        ]
        gold = min(condition["gold"]["used"] for condition in conditions)
    estimator = PooledEstimator(method, values, counts, weights, confusion, confidence, {}, ppi, gold)
    if len(conditions) == 1:
        observed = conditions[0]["estimates"][method]
    elif method == "sequential":
        if sequential is None:
            raise ValueError(
                "a sequential headline over several conditions is judged by the weighted sequences: pass them"
            )
        observed = sequential
    else:
        observed = {
            value: ShareEstimate(
                share,
                low,
                high,
                _pooled_method(method),
                int(counts.sum()),
                confidence,
                ("conditions weighted by their training shares",),
            ).to_dict()
            for value, (share, low, high) in estimator.intervals().items()
        }
    return PooledEstimator(method, values, counts, weights, confusion, confidence, observed, ppi, gold)


def _pooled_method(method: str) -> str:
    return {"ppi": "ppi++ (weighted)", "corrected": "joint-draws", "classify_and_count": "joint-draws"}[method]


def _ppi_half_width(estimate: dict) -> tuple[float, float]:
    """(estimate, half-width before clipping to [0, 1]) of a prediction-powered interval."""
    return estimate["value"], max(estimate["high"] - estimate["value"], estimate["value"] - estimate["low"])


def judged(intervals: Intervals, training: dict[str, float], margin: float) -> Outcome:
    """``finding`` when every value's interval lies within its training share +- ``margin``, ``no finding`` when some
    value's lies wholly outside, else ``inconclusive``."""
    bands = {value: (training[value] - margin, training[value] + margin) for value in intervals}
    if all(bands[value][0] <= low and high <= bands[value][1] for value, (_, low, high) in intervals.items()):
        return "finding"
    if any(low > bands[value][1] or high < bands[value][0] for value, (_, low, high) in intervals.items()):
        return "no finding"
    return "inconclusive"


def settle(estimator: PooledEstimator, training: dict[str, float], margin: float) -> dict:
    """``{"n_per_condition", "why"}``: the fewest samples per condition (up to :data:`SETTLE_CAP`; within 0.5%) at
    which the same estimator, at the shares observed, gives an interval that settles the outcome (doubling, then
    bisection)."""
    n = estimator.n_per_condition

    def outcome_at(samples: int, confusion: np.ndarray | None = None) -> str:
        return judged(estimator.intervals(samples / n, confusion), training, margin)

    def settles(samples: int, confusion: np.ndarray | None = None) -> bool:
        return outcome_at(samples, confusion) != "inconclusive"

    low, high = (0, n) if settles(n) else (n, min(2 * n, SETTLE_CAP))  # a sequential headline's fixed-n counterpart
    while not settles(high):
        if high >= SETTLE_CAP:
            return {"n_per_condition": None, "why": _unsettled_why(estimator, settles)}
        low, high = high, min(2 * high, SETTLE_CAP)
    while high - low > max(1, high // 200):
        middle = (low + high) // 2
        low, high = (low, middle) if settles(middle) else (middle, high)
    return {"n_per_condition": int(high), "why": _settled_why(estimator, high, outcome_at(high), training, margin)}


def _settled_why(
    estimator: PooledEstimator, samples: int, outcome: str, training: dict[str, float], margin: float
) -> str:
    where = "lies within the band" if outcome == "finding" else "lies wholly outside the band"
    what = (
        f"at the shares observed, the {estimator.fixed_method.replace('_', '-')} interval of {samples} samples per "
        f"condition {where} ({outcome})"
    )
    if estimator.method == "sequential":
        distances = [
            abs(share - training[value]) - margin for value, (share, _, _) in estimator.observed_intervals().items()
        ]
        width = min(-d for d in distances) if outcome == "finding" else max(distances)
        fresh = f"{what}, in a fresh scan with -n fixed in advance (another --seed, no --target-width)"
        if not 0 < width < 0.5:
            return fresh
        return (
            f"{fresh}; or continue this anytime-valid scan with --target-width {width:.3g} (its intervals are "
            "wider, so it needs more samples)"
        )
    if estimator.method == "ppi":
        gold = math.ceil(estimator.gold_per_condition * samples / estimator.n_per_condition)
        return f"{what}, with the gold labels grown alike, to about {gold} per condition (hubaudit label)"
    return what


def _unsettled_why(estimator: PooledEstimator, settles: Callable[..., bool]) -> str:
    cap = f"{SETTLE_CAP:,}"
    if estimator.fixed_method == "corrected" and settles(SETTLE_CAP, estimator.confusion * 1000):
        records = int(estimator.confusion.sum())
        return (
            f"no scan up to {cap} samples per condition settles it: the annotator's calibration ({records} records) "
            "alone leaves the corrected interval wider than the band; calibrate it on more records (--aux-data) "
            "or give gold labels (hubaudit label)"
        )
    return (
        f"no scan up to {cap} samples per condition settles it: the share observed lies too close to an edge of "
        "the band"
    )


def sensitivity(estimator: PooledEstimator, training: dict[str, float], margin: float, outcome: str) -> dict:
    """``{"error_rate_shift", "note"}``: the smallest shift of the annotator's fpr and fnr (each by +-delta, the worst
    direction) that changes the outcome of a corrected estimate of a two-valued attribute (bisection on [0, 0.5])."""
    if estimator.method != "corrected":
        why = {
            "ppi": "the prediction-powered estimate holds whatever the annotator's errors on generated images",
            "sequential": "computed for the fixed-n corrected estimate only",
            "classify_and_count": "the estimate is not corrected for the annotator's errors (no confusion matrix)",
        }
        return {"error_rate_shift": None, "note": f"not applicable: {why[estimator.method]}"}
    if len(estimator.values) != 2:
        return {"error_rate_shift": None, "note": "not applicable: computed for two-valued attributes only"}

    def changes(delta: float) -> bool:
        for signs in itertools.product((-1, 1), repeat=2):
            try:
                confusion = shifted_confusion(estimator.confusion, *(sign * delta for sign in signs))
                shifted = judged(estimator.intervals(1.0, confusion), training, margin)
            except ClassifierNoBetterThanChance:
                return True
            if shifted != outcome:
                return True
        return False

    if not changes(0.5):
        return {
            "error_rate_shift": None,
            "note": "no shift of the annotator's error rates up to 0.5 changes the outcome",
        }
    low, high = 0.0, 0.5
    while high - low > 0.002:
        middle = (low + high) / 2
        low, high = (low, middle) if changes(middle) else (middle, high)
    return {
        "error_rate_shift": round(high, 3),
        "note": (
            f"the outcome changes if the annotator's false-positive and false-negative rates on generated images "
            f"differ from its calibration records' by {high:.3f} each (worst direction; or the correction becomes "
            "undefined); the corrected estimate assumes they do not, gold labels (hubaudit label) remove that assumption"
        ),
    }


def self_audit(
    entry: dict,
    training: TrainingShares,
    max_property_error: float,
    *,
    confidence: float,
    sequential: dict | None = None,
    explain: bool = True,
) -> dict:
    """The ``self_audit`` block of an attribute ``entry`` (docs/report-schema.md): the equivalence test of the pooled
    primary estimate against ``training``'s shares with margin ``max_property_error``. ``sequential``: the
    anytime-valid headline weighted by the conditions' training shares (value -> estimate dict), when the primary
    method is ``sequential`` and there are several conditions. ``explain``: search what would settle an inconclusive
    outcome and the annotator shift that would change a settled one (simulations skip both: ``settle`` and
    ``sensitivity`` are then None)."""
    name, values, margin = entry["name"], entry["values"], max_property_error
    truth = {value: float(share) for value, share in zip(values, training.shares)}
    conditions = [condition["condition"] for condition in entry["by_condition"]]
    if len(conditions) > 1 and training.condition_weights is None:
        return _unweighted(entry, training, truth, margin)
    estimator = pooled_estimator(entry, training, confidence, sequential)
    intervals = estimator.observed_intervals()
    outcome = judged(intervals, truth, margin)
    value = _deciding_value(intervals, truth, margin, outcome)
    share, low, high = intervals[value]
    method = next(iter(estimator.observed.values()))["method"]
    per = " per condition" if len(conditions) > 1 else ""
    shown = f"{name}={value}, {share:.3f} [{low:.3f}, {high:.3f}] ({method}, {estimator.n_per_condition} samples{per})"
    band = f"its training share {truth[value]:.3f} ± {margin:g}"
    every = "" if len(values) == 2 else ", as every value's does"
    verdict = {
        "finding": f"Finding: the generated share of {shown} lies within {band}{every}, so sharing this model discloses "
        f"the training share to within ±{margin:g}.",
        "no finding": f"No finding: the generated share of {shown} lies wholly outside {band}, so the model does not "
        f"disclose the training share to within ±{margin:g}.",
        "inconclusive": f"Inconclusive: the generated share of {shown} overlaps an edge of {band}, so neither disclosure "
        f"to within ±{margin:g} nor its absence is shown.",
    }[outcome]
    settled = settle(estimator, truth, margin) if explain and outcome == "inconclusive" else None
    weights = estimator.weights if len(conditions) > 1 else None
    return {
        "outcome": outcome,
        "verdict": verdict,
        "next_step": _next_step(outcome, name, margin, estimator.n_per_condition, settled),
        "guarantee": _guarantee(estimator.method, method, confidence, margin, weighted=weights is not None),
        "finding": (
            f"{name}: sharing this model discloses the training share of {name}={value} ({truth[value]:.3f}) to "
            f"within ±{margin:g}: its generated share is {share:.3f} [{low:.3f}, {high:.3f}] ({method})"
            if outcome == "finding"
            else None
        ),
        "training_share": truth,
        "gap": {v: abs(intervals[v][0] - truth[v]) for v in values},
        "max_property_error": margin,
        "pooled_by": _pooled_by(conditions, training, weights),
        "settle": settled,
        "sensitivity": sensitivity(estimator, truth, margin, outcome) if explain else None,
        "method": estimator.method,
        "n_per_condition": estimator.n_per_condition,
        "estimates": estimator.observed,
    }


def _unweighted(entry: dict, training: TrainingShares, truth: dict[str, float], margin: float) -> dict:
    """The block for several conditions whose training shares are unknown: the equal-weight pooled share is shown
    but not judged (it is the training share's counterpart only when training was balanced over the conditions)."""
    name, values, method = entry["name"], entry["values"], entry["primary_method"]
    conditions = [condition["condition"] for condition in entry["by_condition"]]
    estimates = entry["overall"]["estimates"][method]
    value = values[-1] if len(values) == 2 else max(values, key=lambda v: abs(estimates[v]["value"] - truth[v]))
    estimate = estimates[value]
    hint = condition_column_hint(conditions)
    why = f"the conditions' training shares are unknown: {training.note}"
    return {
        "outcome": "inconclusive",
        "verdict": (
            f"Inconclusive: the equal-weight pooled share of {name}={value}, {estimate['value']:.3f} "
            f"[{estimate['low']:.3f}, {estimate['high']:.3f}] ({estimate['method']}, {len(conditions)} conditions), "
            f"is not compared with its training share {truth[value]:.3f} ± {margin:g}, because {training.note} "
            "and the conditions need not have been balanced in training."
        ),
        "next_step": f"Add {hint} to --training-data, so that the self-audit weights the conditions by their training shares.",
        "guarantee": "none: an equal-weight pooled share is compared with the training share only for one condition",
        "finding": None,
        "training_share": truth,
        "gap": {v: abs(estimates[v]["value"] - truth[v]) for v in values},
        "max_property_error": margin,
        "pooled_by": _pooled_by(conditions, training, None),
        "settle": {"n_per_condition": None, "why": f"no sample count settles it: {why}"},
        "sensitivity": {"error_rate_shift": None, "note": f"not applicable: {why}"},
        "method": method,
        "n_per_condition": entry["by_condition"][0]["n"],
        "estimates": estimates,
    }


def not_tested(name: str, conditions: list, max_property_error: float) -> dict:
    """The block without ``--training-data``: the self-audit did not run (never a pass)."""
    columns = f"a column {name!r}" + ("" if len(conditions) == 1 else f" and {condition_column_hint(conditions)}")
    return {
        "outcome": "not tested",
        "verdict": f"not tested: needs --training-data DATA with a column {name!r}",
        "next_step": (
            f"To learn whether sharing this model discloses the training share of {name}, scan again with "
            f"--training-data DATA, your training set with {columns}."
        ),
        "guarantee": "none: nothing was tested",
        "finding": None,
        "training_share": None,
        "gap": None,
        "max_property_error": max_property_error,
        "pooled_by": None,
        "settle": None,
        "sensitivity": None,
    }


def _deciding_value(intervals: Intervals, truth: dict[str, float], margin: float, outcome: str) -> str:
    """The value the verdict names: for two values the second; else the one whose interval lies farthest outside
    its band (no finding) or reaches farthest from its training share (finding, inconclusive)."""
    values = list(intervals)
    if len(values) == 2:
        return values[-1]
    if outcome == "no finding":
        beyond = {v: max(low - truth[v] - margin, truth[v] - margin - high) for v, (_, low, high) in intervals.items()}
        return max(beyond, key=beyond.get)
    reach = {v: max(high - truth[v], truth[v] - low) for v, (_, low, high) in intervals.items()}
    return max(reach, key=reach.get)


def _next_step(outcome: str, name: str, margin: float, n: int, settled: dict | None) -> str:
    if outcome == "finding":
        return (
            f"Anyone who samples this model learns the training share of {name} to within about ±{margin:g}: share "
            "the model only if that share may be made public."
        )
    if outcome == "no finding":
        return (
            f"An outsider with {n} samples per condition does not learn the training share of {name} to within "
            f"±{margin:g} from this model; a larger scan narrows the interval, but around a generated share that "
            "is off by more."
        )
    if settled is None:
        return "A larger scan would settle it."
    if settled["n_per_condition"] is None:
        return settled["why"][0].upper() + settled["why"][1:] + "."
    return f"Scan -n {settled['n_per_condition']} (samples per condition) to settle it: {settled['why']}."


def _guarantee(primary: str, method: str, confidence: float, margin: float, *, weighted: bool) -> str:
    alpha = 1 - confidence
    text = (
        f"TOST read off the {confidence:g} interval ({method}): a model whose generated share of some value is off "
        f"its training share by more than {margin:g} is called disclosing ('finding') with probability at most "
        f"{alpha / 2:.3g}, and one whose every value is within {margin:g} is called not disclosing ('no finding') "
        f"with probability at most {alpha / 2:.3g}"
    )
    caveats = {
        "classify_and_count": "of the annotator's labelled share, its errors not removed (no confusion matrix)",
        "corrected": "if the annotator errs on generated images as on its calibration records (see sensitivity)",
        "sequential": "at the data-dependent stop too (anytime-valid intervals)",
        "ppi": "whatever the annotator's errors on generated images (gold labels)",
    }
    text += f", {caveats[primary]}"
    if weighted:
        text += "; the conditions are weighted by their training shares"
    return text + "."


def _pooled_by(conditions: list, training: TrainingShares, weights: np.ndarray | None) -> dict:
    """How the self-audit pooled the conditions: ``rule`` one of "one condition", "training shares", "equal weights"."""
    if len(conditions) == 1:
        rule, shown = "one condition", None
    elif weights is not None:
        rule, shown = "training shares", {str(c): float(w) for c, w in zip(conditions, weights)}
    else:
        rule, shown = "equal weights", {str(c): 1 / len(conditions) for c in conditions}
    return {"rule": rule, "column": training.column, "weights": shown, "note": training.note}
