"""Thresholds for membership scores, calibrated on known non-members (conformal), and what a decision is worth.

Uncalibrated scores mislead (CopyMark, 2024): a threshold that looks right on an overfit model flags most images of
a model that generalises. So a threshold is taken from the scores of ``m`` images known NOT to be members: the
``ceil((1 - alpha)(m + 1))``-th smallest of them. For a non-member exchangeable with those, a score above it has
probability at most ``alpha`` (the conformal guarantee), and each candidate's calibrated FPR is its conformal p-value
``(1 + #{non-member scores >= score}) / (m + 1)``.

Over ``N`` candidates with ``F`` flagged, the false flags are bounded with confidence ``c``: the calibration-
conditional FPR is at most ``Beta(k, m + 1 - k)``'s ``1 - (1 - c)/2`` quantile (``k = m + 1 - rank``; Vovk 2012),
and the false flags among at most ``N`` non-members at most that Binomial's ``1 - (1 - c)/2`` quantile, so the share
of members among the flagged is at least ``(F - false flags) / F`` (union bound: confidence ``c``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from hubaudit.errors import InvalidMembershipOptions
from hubaudit.stats import ShareEstimate
from hubaudit.stats.conformal import calibration_size


@dataclass(frozen=True)
class CalibratedThreshold:
    """A threshold from ``non_member_scores`` at false-positive rate ``fpr``: flag a score above ``threshold``."""

    non_member_scores: np.ndarray
    fpr: float
    threshold: float
    rank: int

    @classmethod
    def fit(cls, non_member_scores: np.ndarray, fpr: float) -> CalibratedThreshold:
        m = len(non_member_scores)
        if m < calibration_size(fpr):
            raise InvalidMembershipOptions(
                f"{m} non-members cannot calibrate a threshold at FPR {fpr:g}: give at least {calibration_size(fpr)} "
                f"(more for a tighter threshold), or raise --fpr"
            )
        rank = math.ceil((1 - fpr) * (m + 1))
        return cls(np.sort(non_member_scores), fpr, float(np.sort(non_member_scores)[rank - 1]), rank)

    def p_values(self, scores: np.ndarray) -> np.ndarray:
        """Each score's conformal p-value: the FPR of a threshold just below it."""
        above = len(self.non_member_scores) - np.searchsorted(self.non_member_scores, scores, side="left")
        return (1 + above) / (len(self.non_member_scores) + 1)

    def flags(self, scores: np.ndarray) -> np.ndarray:
        return scores > self.threshold

    def members_among_flagged(self, n_candidates: int, n_flagged: int, *, confidence: float) -> ShareEstimate | None:
        """A lower confidence bound (and point estimate) of the share of members among the flagged; None if none."""
        if n_flagged == 0:
            return None
        m, tail = len(self.non_member_scores), (1 + confidence) / 2
        fpr_upper = float(stats.beta.ppf(tail, m + 1 - self.rank, self.rank)) if self.rank <= m else 1.0
        false_upper = float(stats.binom.ppf(tail, n_candidates, fpr_upper))
        expected_false = self.fpr * n_candidates
        return ShareEstimate(
            max(0.0, 1 - expected_false / n_flagged),
            max(0.0, (n_flagged - false_upper) / n_flagged),
            1.0,
            "conformal FPR bound (one-sided)",
            n_flagged,
            confidence,
            (
                f"false flags among {n_candidates} candidates at most {false_upper:g} (calibration-conditional FPR "
                f"<= {fpr_upper:.4f}); the point value assumes every candidate a non-member at FPR {self.fpr:g}",
            ),
        )
