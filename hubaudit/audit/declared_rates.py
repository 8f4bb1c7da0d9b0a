"""What a model card declares about the S-Y link: P(Y=1 | S=s) in its training data.

The card is the model's README.md; hubaudit reads the ``hubaudit`` section of its YAML front
matter (written by :mod:`hubaudit.train.model_card`), where ``positive_rate_by_sensitive``
sits at the top or under ``training_statistics``, either as ``{group: rate}`` or keyed first by
``"S/Y"`` or ``"S"``::

    hubaudit:
      training_statistics:
        positive_rate_by_sensitive: {"0": 0.41, "1": 0.62}
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


@dataclass(frozen=True)
class DeclaredRates:
    """P(Y=1 | S=s) per group as the model card declares it, and the gap they imply."""

    positive_rates: dict[str, float]

    @property
    def dp_gap(self) -> float:
        return max(self.positive_rates.values()) - min(self.positive_rates.values())

    def to_dict(self) -> dict:
        return {
            "source": f"model card: {DECLARED_RATES_KEY} in its {CARD_KEY} section",
            "positive_rates": self.positive_rates,
            "dp_gap": self.dp_gap,
        }


def read_card_section(resolved: ResolvedModel, *, token: str | None = None) -> dict:
    """The ``hubaudit`` section of the model's README.md front matter (empty if there is none)."""
    if "README.md" not in resolved.files:
        return {}
    if resolved.reference.local_path is not None:
        path = Path(resolved.location) / "README.md"
    else:
        path = hf_hub_download(resolved.location, "README.md", revision=resolved.sha, token=token, local_files_only=resolved.offline)
    section = ModelCard.load(path, ignore_metadata_errors=True).data.to_dict().get(CARD_KEY)
    return section if isinstance(section, dict) else {}


def declared_positive_rates(card: Mapping, *, sensitive: str, label: str, group_names: Sequence[str]) -> dict[str, float] | None:
    """P(Y=1 | S=s) from a card section, or None when it declares none for these groups.

    Read from ``positive_rate_by_sensitive`` at the top of the section or under
    ``training_statistics``: either ``{group: rate}``, or keyed first by ``"S/Y"`` or ``"S"``.
    """
    declared = card.get(DECLARED_RATES_KEY) or (card.get("training_statistics") or {}).get(DECLARED_RATES_KEY)
    if isinstance(declared, Mapping) and not all(isinstance(rate, (int, float)) for rate in declared.values()):
        declared = declared.get(f"{sensitive}/{label}", declared.get(sensitive))
    if not isinstance(declared, Mapping):
        return None
    rates = {str(group): rate for group, rate in declared.items()}
    if sorted(rates) != sorted(group_names) or not all(isinstance(rate, (int, float)) for rate in rates.values()):
        return None
    return {group: float(rates[group]) for group in group_names}
