"""What the API verbs besides ``scan`` return (``scan``'s :class:`~hubaudit.report.scan_report.ScanReport` is the report
layer's): :class:`ModelInfo` (:func:`hubaudit.api.inspect_model`), :class:`PoisonRecord` (:func:`hubaudit.api.poison`)
and :class:`TrainedModel` (:func:`hubaudit.api.train`). Plain records: each ``to_dict()`` is JSON-ready, and this
module imports nothing but the standard library, so that reading them never loads torch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path


@dataclass(frozen=True)
class ModelInfo:
    """What a scan of a model can ask for, read from its files without loading any weight.

    Attributes:
        reference: the model as given (``org/name[@revision]`` or a folder).
        resolved_sha: the commit sha it resolves to (``local-<sha256>`` for a folder).
        pipeline_class: the diffusers pipeline class its ``model_index.json`` names.
        kind: ``"unconditional"``, ``"class-conditional"`` or ``"text-to-image"``; None for a pipeline defined by
            repository code (known only once loaded).
        num_classes: classes of a class-conditional model, else None.
        class_names: class id -> name, where the model records them.
        default_steps: the pipeline's default ``num_inference_steps``, or None.
        default_guidance: its default ``guidance_scale``; None when it takes none.
        base: ``{"reference", "resolved_sha"}`` of the base pipeline of a LoRA, embedding or single-file repository,
            else None.
    """

    reference: str
    resolved_sha: str
    pipeline_class: str | None
    kind: str | None = None
    num_classes: int | None = None
    class_names: dict[int, str] = field(default_factory=dict)
    default_steps: int | None = None
    default_guidance: float | None = None
    base: dict[str, str] | None = None

    def to_dict(self) -> dict:
        """Every field by name (``class_names`` keeps its integer keys)."""
        return asdict(self)


@dataclass(frozen=True)
class PoisonRecord:
    """The sharer-side attack :func:`hubaudit.api.poison` ran: the data, the subset it chose, and what that did to the
    dependence of the label Y on the sensitive attribute S (information in nats).

    Attributes:
        data_source: the labelled data poisoned, in words.
        sensitive_column, label_column: the 0/1 columns S and Y.
        seed: the attack's seed.
        n_data: records in the data.
        method: ``"greedy"`` (maximise I(S;Y) keeping I(X;Y) within ``delta_nats``) or ``"flip"`` (label flipping).
        alpha: the poisoning rate: the share of the subset added greedily, or relabelled.
        delta_nats: greedy's tolerance on I(X;Y); None for flipping.
        n_select: records in the subset.
        n_relabelled: labels that differ from the data's.
        mi_sensitive_label_nats, mi_sensitive_label_full_nats: I(S;Y) of the subset, and of the full data.
        mi_features_label_nats, mi_features_label_full_nats: I(X;Y) of the subset and of the full data (None without
            embeddings).
        mi_sensitive_label_trace_nats: I(S;Y) before the first and after each accepted addition or flip.
        positive_rate_by_sensitive: ``"0"``/``"1"`` -> P(Y=1 | S=s) in the subset (None for a value it lacks).
        sensitive_share, label_share: the shares of S=1 and of Y=1 in the subset.
        out_path: the Parquet file the subset was written to.
        record_path: the JSON beside it holding :meth:`to_dict` (``x.parquet`` -> ``x.poisoning.json``).
    """

    data_source: str
    sensitive_column: str
    label_column: str
    seed: int
    n_data: int
    method: str
    alpha: float
    delta_nats: float | None
    n_select: int
    n_relabelled: int
    mi_sensitive_label_nats: float
    mi_sensitive_label_full_nats: float
    mi_features_label_nats: float | None
    mi_features_label_full_nats: float | None
    mi_sensitive_label_trace_nats: list[float]
    positive_rate_by_sensitive: dict[str, float | None]
    sensitive_share: float
    label_share: float
    out_path: Path
    record_path: Path

    def to_dict(self) -> dict:
        """The record written beside the subset (every field but the two paths); :func:`hubaudit.api.train` copies it,
        without the trace, into the model card."""
        return {
            item.name: getattr(self, item.name)
            for item in fields(self)
            if item.name not in ("out_path", "record_path")
        }


@dataclass(frozen=True)
class TrainedModel:
    """A model :func:`hubaudit.api.train` trained.

    Attributes:
        out_dir: the pipeline folder (its checkpoints in ``out_dir/checkpoints``).
        records: training records.
        source: the training data, in words.
        poisoning_record: the attack record copied into the model card (data written by ``poison``), else None.
        pushed: the Hub commit URL of the upload (``push_to_hub``), else None.
    """

    out_dir: Path
    records: int
    source: str
    poisoning_record: Path | None = None
    pushed: str | None = None

    def to_dict(self) -> dict:
        """Every field by name, paths as strings."""
        return {name: str(value) if isinstance(value, Path) else value for name, value in asdict(self).items()}
