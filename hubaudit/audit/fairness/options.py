"""What the fairness audit of a scan is asked: the (S, Y) names, the label mapping, the reference data and
the thresholds of its findings (the ``hubaudit scan`` fairness flags; :class:`FairnessOptions`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from hubaudit.declarations import scan_default
from hubaudit.errors import InvalidFairnessOptions

DEFAULT_LABELS: tuple[str, ...] = tuple(scan_default("labels"))
"""Names of the labels Y when ``--label`` is not given (the declared default)."""
DEFAULT_MAX_DP_GAP: float = scan_default("max_dp_gap")
DEFAULT_MAX_GAP_INCREASE: float = scan_default("max_gap_increase")
PARITY_FRACTION = 0.25
"""Default ``--min-group-share`` as a fraction of the parity share 1/K: a group of a K-valued S is
under-represented below ``PARITY_FRACTION / K`` of the samples of every label value (0.125 for two groups)."""


def default_min_group_share(group_count: int) -> float:
    """The default floor of a group's share for an attribute with ``group_count`` values: ``PARITY_FRACTION / K``."""
    return PARITY_FRACTION / group_count


@dataclass(frozen=True)
class FairnessOptions:
    """What the fairness audit of a scan does (its defaults are the declared ones: :mod:`hubaudit.declarations`).

    Attributes:
        sensitive: names of the annotated sensitive attributes S (``--attribute`` names).
        labels: names of the labels Y; a name that is also an ``--attribute`` is annotated,
            otherwise Y comes from each sample's class (``label_map``) or prompt (``label_prompts``).
        label_map: class id -> 0/1 label; None maps a two-class model's classes to themselves.
        label_prompts: prompt -> 0/1 label (text-to-image); the prompts are scanned.
        reference: labelled reference data (a :func:`hubaudit.data.load_labelled_images` source)
            with 0..K-1 columns named like every S and Y.
        confidence: level of every interval; ``1 - confidence`` bounds the false-discovery rate of
            the findings over all criteria and pairs.
        max_dp_gap: a finding when the generated gap exceeds this.
        max_gap_increase: a finding when the gap exceeds the reference's or the declared gap by more.
        min_group_share: a finding when a group's share of the samples of every label value is below
            this (absent or under-represented); None: :func:`default_min_group_share` of its K groups.
        probe: with reference data, train and compare the downstream probes.
    """

    sensitive: tuple[str, ...]
    labels: tuple[str, ...] = DEFAULT_LABELS
    label_map: Mapping[int, int] | None = None
    label_prompts: Mapping[str, int] | None = None
    reference: str | None = None
    confidence: float = scan_default("confidence")
    max_dp_gap: float = DEFAULT_MAX_DP_GAP
    max_gap_increase: float = DEFAULT_MAX_GAP_INCREASE
    min_group_share: float | None = None
    probe: bool = True

    def __post_init__(self) -> None:
        if not self.sensitive or not self.labels:
            raise InvalidFairnessOptions("the fairness audit needs at least one --sensitive and one --label name")
        if set(self.sensitive) & set(self.labels):
            raise InvalidFairnessOptions(
                f"{sorted(set(self.sensitive) & set(self.labels))[0]} is named both --sensitive and --label"
            )
        for flag, value in {"--max-dp-gap": self.max_dp_gap, "--max-gap-increase": self.max_gap_increase}.items():
            if not 0.0 <= value < 1.0:
                raise InvalidFairnessOptions(f"{flag} must lie in [0, 1), got {value}")
        if self.min_group_share is not None and not 0.0 < self.min_group_share < 1.0:
            raise InvalidFairnessOptions(f"--min-group-share must lie in (0, 1), got {self.min_group_share}")

    def group_floor(self, group_count: int) -> float:
        """The share below which a group of an S with ``group_count`` values is under-represented."""
        return self.min_group_share if self.min_group_share is not None else default_min_group_share(group_count)

    @classmethod
    def from_arguments(cls, sensitive: Sequence[str] | None, **options) -> FairnessOptions | None:
        """The options the CLI/API arguments give; None (no fairness audit) without ``sensitive``.

        ``options`` are the other fields; those left None, or at their declared default, are not asked for.
        """
        given = {name: value for name, value in options.items() if value is not None and not _is_default(name, value)}
        if not sensitive:
            flags = {
                "labels": "--label",
                "label_map": "--label-map",
                "label_prompts": "--label-prompt",
                "reference": "--reference",
                "max_dp_gap": "--max-dp-gap",
                "max_gap_increase": "--max-gap-increase",
                "min_group_share": "--min-group-share",
            }
            asked = sorted(flag for name, flag in flags.items() if name in given)
            if asked:
                raise InvalidFairnessOptions(f"{asked[0]} belongs to the fairness audit, which needs --sensitive NAME")
            return None
        if "labels" in given:
            given["labels"] = tuple(given["labels"])
        return cls(tuple(sensitive), **given)


def _is_default(name: str, value: object) -> bool:
    default = scan_default(name)
    if isinstance(value, (list, tuple)) and isinstance(default, (list, tuple)):
        return tuple(value) == tuple(default)
    return value == default and type(value) is type(default)
