"""What a model card declares about the S-Y link: P(Y=1 | S=s) in its training data.

The card is the model's README.md; hubaudit reads the ``hubaudit`` section of its YAML front
matter (written by :mod:`hubaudit.train.model_card`), where ``positive_rate_by_sensitive``
sits at the top or under ``training_statistics``, either as ``{group: rate}`` or keyed first by
``"S/Y"`` or ``"S"``::

    hubaudit:
      training_statistics:
        positive_rate_by_sensitive: {"0": 0.41, "1": 0.62}
        label_share: 0.52

A parity gap depends on P(Y=1), so declared rates are compared with a scan's only at the scan's
P(Y=1); moving them there needs the training P(Y=1) they were taken at: ``label_share`` beside the
rates, else the card's ``column_counts`` of the label (as :mod:`hubaudit.train.model_card` records
them). Without either the declared rates are shown, but not compared.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import ModelCard, hf_hub_download

from hubaudit.hub import ResolvedModel

CARD_KEY = "hubaudit"
"""Front-matter key of the section written by :mod:`hubaudit.train.model_card` (a layer below this one)."""
DECLARED_RATES_KEY = "positive_rate_by_sensitive"
LABEL_SHARE_KEY = "label_share"


@dataclass(frozen=True)
class DeclaredRates:
    """P(Y=1 | S=s) per group as the model card declares it, the training P(Y=1) they were taken at (None when the
    card does not say), and the gap they imply there."""

    positive_rates: dict[str, float]
    label_share: float | None = None

    @property
    def dp_gap(self) -> float:
        return max(self.positive_rates.values()) - min(self.positive_rates.values())

    def to_dict(self) -> dict:
        return {
            "source": f"model card: {DECLARED_RATES_KEY} in its {CARD_KEY} section",
            "positive_rates": self.positive_rates,
            "label_share": self.label_share,
            "dp_gap": self.dp_gap,
        }


def read_card_section(resolved: ResolvedModel, *, token: str | None = None) -> dict:
    """The ``hubaudit`` section of the model's README.md front matter (empty if there is none)."""
    if "README.md" not in resolved.files:
        return {}
    if resolved.reference.local_path is not None:
        path = Path(resolved.location) / "README.md"
    else:
        path = hf_hub_download(
            resolved.location, "README.md", revision=resolved.sha, token=token, local_files_only=resolved.offline
        )
    section = ModelCard.load(path, ignore_metadata_errors=True).data.to_dict().get(CARD_KEY)
    return section if isinstance(section, dict) else {}


def declared_positive_rates(
    card: Mapping, *, sensitive: str, label: str, group_names: Sequence[str]
) -> tuple[dict[str, float] | None, str | None]:
    """P(Y=1 | S=s) from a card section, and why the card's statement is ignored (None when it is used or absent).

    Read from ``positive_rate_by_sensitive`` at the top of the section or under
    ``training_statistics``: either ``{group: rate}``, or keyed first by ``"S/Y"`` or ``"S"``. The
    card is the sharer's text: a statement of the wrong type, for other groups, or with a rate that
    is not a number in [0, 1] is ignored (the audit goes on without that baseline), never an error.
    """
    statistics = card.get("training_statistics")
    if statistics is not None and not isinstance(statistics, Mapping):
        return None, f"training_statistics is a {type(statistics).__name__}, not a mapping"
    declared = card.get(DECLARED_RATES_KEY)
    if declared is None and statistics is not None:
        declared = statistics.get(DECLARED_RATES_KEY)
    if declared is None:
        return None, None
    if isinstance(declared, Mapping) and any(isinstance(rate, Mapping) for rate in declared.values()):
        declared = declared.get(f"{sensitive}/{label}", declared.get(sensitive))
        if declared is None:
            return None, None  # the card declares rates of other attributes only
    if not isinstance(declared, Mapping):
        return None, f"{DECLARED_RATES_KEY} is a {type(declared).__name__}, not a mapping of group to rate"
    rates = {str(group): rate for group, rate in declared.items()}
    if sorted(rates) != sorted(group_names):
        return None, f"it declares groups {sorted(rates)}, not {sorted(group_names)}"
    wrong = [group for group, rate in rates.items() if not _is_rate(rate)]
    if wrong:
        return None, f"the rate of group {wrong[0]!r} ({rates[wrong[0]]!r}) is not a number in [0, 1]"
    return {group: float(rates[group]) for group in group_names}, None


def _is_rate(value: object) -> bool:
    """Whether ``value`` is a real number (not a bool) in [0, 1] (NaN is not)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0.0 <= float(value) <= 1.0


def declared_label_share(card: Mapping, *, label: str) -> float | None:
    """The training P(Y=1) a card's declared rates were taken at: ``label_share`` (at the top of the section or
    under ``training_statistics``), else the share of 1 in ``column_counts[label]``; None when it says neither."""
    statistics = card.get("training_statistics")
    statistics = statistics if isinstance(statistics, Mapping) else {}
    share = card.get(LABEL_SHARE_KEY, statistics.get(LABEL_SHARE_KEY))
    if _is_rate(share) and 0.0 < float(share) < 1.0:
        return float(share)
    counts = (card.get("column_counts") or {}).get(label) if isinstance(card.get("column_counts"), Mapping) else None
    if isinstance(counts, Mapping) and set(map(str, counts)) == {"0", "1"}:
        by_value = {str(value): count for value, count in counts.items()}
        if all(isinstance(count, int) and not isinstance(count, bool) and count > 0 for count in by_value.values()):
            return by_value["1"] / (by_value["0"] + by_value["1"])
    return None
