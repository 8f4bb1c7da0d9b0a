"""What a plan is asked (:mod:`hubaudit.audit.plan`): the effect, the groups, the annotator's errors and what
corrects them, read from their command-line words and checked at the boundary (:class:`InvalidPlan`, one line)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np

from hubaudit.audit.plan.scenarios import Correction
from hubaudit.errors import InvalidPlan

DEFAULT_CALIBRATION_PER_CLASS = 1000
"""Calibration records per (value, class) cell when neither records nor gold labels are given."""
DEFAULT_FAIRNESS_EFFECT = (0.3, 0.5)
"""P(S=1 | Y=0), P(S=1 | Y=1) when no effect is given."""


def off_share(training_share: float, margin: float) -> float | None:
    """The generated share off ``training_share`` by twice the margin, towards 1/2 (else away); None if neither fits."""
    toward, away = (1, -1) if training_share <= 0.5 else (-1, 1)
    for sign in (toward, away):
        share = training_share + sign * 2 * margin
        if 0 <= share <= 1:
            return round(share, 10)
    return None


def group_names(names: Sequence[str] | int) -> tuple[str, ...]:
    """The attribute's value names (``names``, or ``"0" .. "K-1"`` for a count K), checked distinct and at least two."""
    names = (
        tuple(str(k) for k in range(names)) if isinstance(names, int) else tuple(str(name).strip() for name in names)
    )
    if len(names) < 2 or len(set(names)) != len(names) or not all(names):
        raise InvalidPlan(f"--groups needs at least two distinct names, got {list(names)}")
    return names


def check_range(
    flag: str, value: float, low: float, high: float, *, closed_low: bool = False, closed_high: bool = False
) -> None:
    """Raise :class:`InvalidPlan` naming ``flag`` unless ``value`` is a finite number in the interval (open by default)."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    inside = (
        number and (low <= value if closed_low else low < value) and (value <= high if closed_high else value < high)
    )
    if not inside:
        brackets = ("[" if closed_low else "(") + f"{low:g}, {high:g}" + ("]" if closed_high else ")")
        raise InvalidPlan(f"{flag} must lie in {brackets}, got {value}")


def check_common(*, confidence: float, power: float, trials: int, conditions: int) -> None:
    check_range("--confidence", confidence, 0.0, 1.0)
    check_range("--power", power, 0.0, 1.0)
    if int(trials) != trials or trials < 20:
        raise InvalidPlan(f"--trials must be a whole number of at least 20, got {trials}")
    if int(conditions) != conditions or conditions < 1:
        raise InvalidPlan(
            f"the conditions per label (or conditions) must be a whole number of at least 1, got {conditions}"
        )


def correction_of(calibration: int | None, gold: int | None, errors: Sequence[float], value_count: int) -> Correction:
    """The annotator's error matrix and its correction; calibration records by default."""
    if calibration is not None and gold is not None:
        raise InvalidPlan("give --calibration-per-class or --gold, not both: the plan corrects by one of them")
    if gold is not None and (int(gold) != gold or gold < 2):
        raise InvalidPlan(f"--gold must be a whole number of at least 2, got {gold}")
    if calibration is not None and (int(calibration) != calibration or calibration < 1):
        raise InvalidPlan(f"--calibration-per-class must be a whole number of at least 1, got {calibration}")
    errors = tuple(float(rate) for rate in errors)
    if value_count == 2 and len(errors) == 1:
        errors = errors * 2
    if len(errors) != (2 if value_count == 2 else 1):
        raise InvalidPlan(
            f"--annotator-error takes {'FPR,FNR' if value_count == 2 else 'one rate for more than two groups'}, "
            f"got {','.join(map(str, errors))}"
        )
    for rate in errors:
        check_range("--annotator-error", rate, 0.0, 0.5, closed_low=True)
    if value_count == 2:
        rates = ((1 - errors[0], errors[0]), (errors[1], 1 - errors[1]))
    else:
        off = errors[0] / (value_count - 1)
        rates = tuple(tuple(1 - errors[0] if i == j else off for j in range(value_count)) for i in range(value_count))
    if gold is None and calibration is None:
        calibration = DEFAULT_CALIBRATION_PER_CLASS
    return Correction(rates, None if gold is not None else int(calibration), None if gold is None else int(gold))


def fairness_effect(
    effect, gap: float | None, value_count: int
) -> tuple[tuple[tuple[float, ...], tuple[float, ...]], str]:
    """P(S | Y) ``[2][K]`` of the effect, and its words."""
    if effect is not None and gap is not None:
        raise InvalidPlan("give --effect or --gap, not both")
    if gap is not None:
        if value_count != 2:
            raise InvalidPlan("--gap plans two groups only: give --effect P(S|Y=0)/P(S|Y=1) for more")
        check_range("--gap", gap, 0.0, 1.0)
        effect = (0.5 - gap / 2, 0.5 + gap / 2)
    try:
        shares = np.asarray(DEFAULT_FAIRNESS_EFFECT if effect is None else effect, dtype=float)
    except ValueError:
        shares = np.empty(0)
    if value_count == 2 and shares.shape == (2,):
        for share in shares:
            check_range("--effect", float(share), 0.0, 1.0, closed_low=True, closed_high=True)
        words = f"P(S=1|Y=0) = {shares[0]:.2f}, P(S=1|Y=1) = {shares[1]:.2f}"
        shares = np.stack([1 - shares, shares], axis=1)
    elif shares.shape == (2, value_count) and np.all(shares >= 0) and np.allclose(shares.sum(axis=1), 1, atol=1e-6):
        shares = shares / shares.sum(axis=1, keepdims=True)
        words = f"P(S|Y=0) = ({shares_text(shares[0])}), P(S|Y=1) = ({shares_text(shares[1])})"
    else:
        raise InvalidPlan(
            f"--effect for {value_count} groups takes P(S|Y=0)/P(S|Y=1), two lists of {value_count} shares "
            f"each summing to 1, got {effect}"
        )
    return (tuple(map(float, shares[0])), tuple(map(float, shares[1]))), words


def shares_text(shares: Sequence[float]) -> str:
    return ", ".join(f"{share:.2f}" for share in shares)


def parse_shares(text: str, *, flag: str) -> tuple[float, ...]:
    """Comma-separated numbers (``0.3,0.5``) as floats; :class:`InvalidPlan` naming ``flag`` otherwise."""
    try:
        numbers = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise InvalidPlan(f"{flag} takes comma-separated numbers, e.g. 0.3,0.5, got {text!r}") from None
    if not all(math.isfinite(number) for number in numbers):
        raise InvalidPlan(f"{flag} takes finite numbers, got {text!r}")
    return numbers


def parse_effect(text: str, *, kind: Literal["fairness", "privacy"] = "fairness") -> tuple:
    """An ``--effect`` string: fairness ``P0,P1`` (two groups) or ``P(S|Y=0)/P(S|Y=1)`` (lists of K shares); privacy
    ``TRAINING,GENERATED`` shares of value 1."""
    parts = [parse_shares(part, flag="--effect") for part in text.split("/")]
    if kind == "privacy":
        if len(parts) != 1 or len(parts[0]) not in (1, 2):
            raise InvalidPlan(
                f"--effect for privacy takes TRAINING,GENERATED shares of value 1, e.g. 0.3,0.3, got {text!r}"
            )
        return parts[0]
    if len(parts) == 1:
        if len(parts[0]) != 2:
            raise InvalidPlan(
                f"--effect takes P(S=1|Y=0),P(S=1|Y=1), e.g. 0.3,0.5 (or P(S|Y=0)/P(S|Y=1) lists), got {text!r}"
            )
        return parts[0]
    if len(parts) != 2:
        raise InvalidPlan(f"--effect takes two lists separated by '/', P(S|Y=0)/P(S|Y=1), got {text!r}")
    return tuple(parts)
