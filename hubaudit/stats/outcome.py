"""The outcome of a check: what its interval shows against its margin, in one of four words.

- ``"finding"``: the interval lies beyond the margin (the test of "no violation" rejects);
- ``"no finding"``: the interval lies within the margin (an equivalence test, TOST, rejects "violation");
- ``"inconclusive"``: neither; the report says what would settle it;
- ``"not tested"``: the check could not run (the report says why): never a pass.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

Outcome = Literal["finding", "no finding", "inconclusive", "not tested"]
OUTCOMES: tuple[Outcome, ...] = ("finding", "no finding", "inconclusive", "not tested")


def settled(finding_p_value: float, no_finding_p_value: float, *, alpha: float) -> Outcome:
    """The outcome of one check from the p-values of its two one-sided tests, each judged at ``alpha``."""
    if finding_p_value <= alpha:
        return "finding"
    return "no finding" if no_finding_p_value <= alpha else "inconclusive"


def combined(outcomes: Iterable[Outcome]) -> Outcome:
    """The outcome of several checks of one subject: a finding if any is one; no finding only when every check that
    ran shows none (intersection-union: at the level of each); not tested when none ran; else inconclusive."""
    ran = [outcome for outcome in outcomes if outcome != "not tested"]
    if not ran:
        return "not tested"
    if "finding" in ran:
        return "finding"
    return "no finding" if all(outcome == "no finding" for outcome in ran) else "inconclusive"
