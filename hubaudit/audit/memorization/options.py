"""What the memorization check of a scan is asked (``--memorization``), checked before anything loads."""

from __future__ import annotations

from dataclasses import dataclass

from hubaudit.declarations import scan_default
from hubaudit.errors import InvalidMemorizationOptions


@dataclass(frozen=True)
class MemorizationOptions:
    """The memorization check's options (defaults: the declared ones, :class:`hubaudit.declarations.ScanSettings`).

    Attributes:
        training_data: the model's training images (any :func:`hubaudit.data.load_labelled_images` source).
        holdout_data: images the model did not see, from the same distribution: they calibrate the copy threshold
            and give the baseline distances; None applies Carlini et al.'s relative criterion (uncalibrated).
        embedding: a transformers image model (Hub id or folder) to compare in; None compares pixels (tiled L2).
        threshold: without held-out images, a sample is a copy when its relative distance (Carlini et al.) is
            below this.
        copy_fpr: with held-out images, the false-copy rate the distance threshold is calibrated to (conformal).
        max_replication: the replication rate a release accepts: a finding when the rate's interval lies above it.
        confidence: the interval's nominal coverage.
    """

    training_data: str
    holdout_data: str | None = None
    embedding: str | None = None
    threshold: float = scan_default("replication_threshold")
    copy_fpr: float = scan_default("copy_fpr")
    max_replication: float = scan_default("max_replication")
    confidence: float = scan_default("confidence")

    def __post_init__(self) -> None:
        if not self.threshold > 0:
            raise InvalidMemorizationOptions(f"--replication-threshold must be above 0, got {self.threshold}")
        if not 0 < self.copy_fpr < 1:
            raise InvalidMemorizationOptions(f"--copy-fpr must lie in (0, 1), got {self.copy_fpr}")
        if not 0 <= self.max_replication < 1:
            raise InvalidMemorizationOptions(f"--max-replication must lie in [0, 1), got {self.max_replication}")

    @classmethod
    def from_arguments(
        cls,
        memorization: bool,
        *,
        training_data: str | None,
        holdout_data: str | None,
        embedding: str | None,
        threshold: float,
        copy_fpr: float,
        max_replication: float,
        confidence: float,
    ) -> MemorizationOptions | None:
        """The options the CLI/API arguments give; None without ``memorization``."""
        if not memorization:
            if holdout_data is not None or embedding is not None:
                raise InvalidMemorizationOptions("--holdout-data and --memorization-embedding need --memorization")
            return None
        if training_data is None:
            raise InvalidMemorizationOptions(
                "--memorization compares the samples with the training images: give --training-data DATA"
            )
        return cls(
            str(training_data),
            holdout_data=str(holdout_data) if holdout_data is not None else None,
            embedding=embedding,
            threshold=threshold,
            copy_fpr=copy_fpr,
            max_replication=max_replication,
            confidence=confidence,
        )
