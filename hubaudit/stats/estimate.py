"""The result type of every share estimator, and the boundary checks the stats layer shares.

A *share* is a fraction in [0, 1]: the share of generated samples that carry a property
(or, for the demographic-parity gap, a difference of two such shares). Every estimator in
``hubaudit.stats`` returns a :class:`ShareEstimate` (or, for a K-valued attribute, a dict
from value name to :class:`ShareEstimate` whose intervals hold *simultaneously*).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from hubaudit.errors import InvalidData, InvalidStatisticsOption, TooFewSamples

#: A (K, K) or (S, Y) matrix of counts, as nested lists or an array.
CountMatrix = Sequence[Sequence[int]] | np.ndarray


@dataclass(frozen=True)
class ShareEstimate:
    """A point estimate of a share in [0, 1] with a confidence interval ``[low, high]``.

    ``method`` names the interval construction (e.g. ``"clopper-pearson"``), ``n`` is the
    number of samples the estimate used, ``confidence`` the nominal coverage (e.g. 0.95),
    ``notes`` free-text caveats (e.g. the calibration size behind a corrected estimate).
    """

    value: float
    low: float
    high: float
    method: str
    n: int
    confidence: float
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Accept numpy scalars from callers but store plain Python numbers (JSON-ready).
        for name in ("value", "low", "high", "confidence"):
            object.__setattr__(self, name, float(getattr(self, name)))
        object.__setattr__(self, "n", int(self.n))
        object.__setattr__(self, "notes", tuple(self.notes))

    @property
    def half_width(self) -> float:
        """Half the interval length, ``(high - low) / 2``."""
        return (self.high - self.low) / 2

    def contains(self, share: float) -> bool:
        """Whether ``share`` lies in the closed interval ``[low, high]``."""
        return self.low <= share <= self.high

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form: every field plus ``half_width``; ``notes`` as a list."""
        out = asdict(self)
        out["notes"] = list(self.notes)
        out["half_width"] = self.half_width
        return out


def validated_confidence(confidence: float) -> float:
    """``confidence`` as a float; :class:`~hubaudit.errors.InvalidStatisticsOption` unless it lies strictly in (0, 1)."""
    confidence = float(confidence)
    if not 0.0 < confidence < 1.0:
        raise InvalidStatisticsOption(f"confidence must lie strictly between 0 and 1, got {confidence}")
    return confidence


def validated_count(successes: int, n: int) -> tuple[int, int]:
    """``(successes, n)`` as ints after checking ``0 <= successes <= n`` and ``n >= 1``."""
    if int(n) < 1:
        raise TooFewSamples(f"an estimate needs at least one sample, got n={n}")
    if not 0 <= int(successes) <= int(n) or int(successes) != successes:
        raise InvalidData(f"the count must be a whole number between 0 and n={n}, got {successes}")
    return int(successes), int(n)


def validated_counts(counts: Sequence[int] | np.ndarray, *, what: str = "counts") -> np.ndarray:
    """A 1-D or 2-D array of non-negative whole counts as int64, or :class:`InvalidData`."""
    array = np.asarray(counts)
    if array.size == 0 or array.ndim not in (1, 2):
        raise InvalidData(f"{what} must be a non-empty vector or matrix, got shape {array.shape}")
    if not np.all(np.isfinite(array)) or np.any(array < 0) or np.any(array != np.round(array)):
        raise InvalidData(f"{what} must be non-negative whole numbers, got {array.tolist()}")
    return array.astype(np.int64)


def value_names(names: Sequence[str] | None, count: int) -> list[str]:
    """``names`` as a list of ``count`` strings (default ``"0" .. str(count - 1)``)."""
    if names is None:
        return [str(index) for index in range(count)]
    if len(names) != count or len(set(names)) != count:
        raise InvalidData(f"expected {count} distinct value names, got {list(names)}")
    return [str(name) for name in names]
