"""Fairness poisoning by subset selection (Luo et al. 2024): the sharer picks its training records.

From labelled data (X, S, Y) with binary sensitive attribute S and binary label Y, the sharer
chooses ``n_select`` records so that I(S;Y) is as large as possible:

- greedy (the paper's attack): a random base of ``(1 - alpha) n`` records whose I(X;Y) lies
  within ``delta`` of the full data's, then ``alpha n`` records added a chunk at a time, each
  chunk from the (s, y) cell whose addition most raises I(S;Y) among the additions that keep
  ``|I(X;Y) - I_full(X;Y)| <= delta``. Labels are never changed.
- label flipping (baseline): ``n`` random records, of which ``alpha n`` get their label flipped
  towards the S-Y association the full data already has (Y := S if P(Y=1|S=1) >= P(Y=1|S=0),
  else Y := 1 - S), each flip from the cell whose flip most raises I(S;Y).

I(S;Y) is the plug-in estimate on the 2 x 2 table; I(X;Y) is estimated on embeddings as
described in :mod:`hubaudit.attacks.features`. All information is in nats.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Literal

import numpy as np
from sklearn.metrics import mutual_info_score

from hubaudit.attacks.features import FOLDS, FeatureLabelInformation, pixel_embeddings
from hubaudit.data.labelled import LabelledImages
from hubaudit.errors import InvalidAttackConfig

BASE_DRAWS = 20
"""Random bases tried before the greedy gives up on finding one with I(X;Y) in range."""

GREEDY_STEPS = 20
"""By default the greedy phase adds its records in about this many chunks (one I(X;Y) check per try)."""


@dataclass
class PoisonedSubset:
    """The records a sharer trains on, and what the attack did to the S-Y dependence.

    Attributes:
        indices: ``int64 [n]`` positions of the chosen records in the original data.
        sensitive: ``int64 [n]`` S of the chosen records.
        labels: ``int64 [n]`` labels to train with (the original ones for greedy, flipped ones for flipping).
        method: ``"greedy"`` or ``"flip"``.
        alpha: poisoning rate: share of the n records added greedily, or relabelled.
        mi_sensitive_label_full: I(S;Y) of the full original data (nats).
        mi_features_label: I(X;Y) of the subset with its training labels (nats); ``None`` without embeddings.
        mi_features_label_full: I(X;Y) of the full original data (nats); ``None`` without embeddings.
        mi_sensitive_label_trace: I(S;Y) (nats) before the first and after each accepted addition (greedy) or flip.
        delta: tolerance on I(X;Y) (nats) for greedy; ``None`` for flipping.
        n_relabelled: how many labels differ from the original data.
    """

    indices: np.ndarray
    sensitive: np.ndarray
    labels: np.ndarray
    method: str
    alpha: float
    mi_sensitive_label_full: float
    mi_features_label: float | None
    mi_features_label_full: float | None
    mi_sensitive_label_trace: tuple[float, ...]
    delta: float | None = None
    n_relabelled: int = 0

    @property
    def mi_sensitive_label(self) -> float:
        """I(S;Y) of the subset with its training labels (nats)."""
        return self.mi_sensitive_label_trace[-1]

    def to_dict(self) -> dict:
        """JSON-ready summary for a model card: rates, information (nats), P(Y=1|S=s) and the share of S=1."""
        return {
            "method": self.method,
            "alpha": self.alpha,
            "delta_nats": self.delta,
            "n_select": len(self.indices),
            "n_relabelled": self.n_relabelled,
            "mi_sensitive_label_nats": self.mi_sensitive_label,
            "mi_sensitive_label_full_nats": self.mi_sensitive_label_full,
            "mi_features_label_nats": self.mi_features_label,
            "mi_features_label_full_nats": self.mi_features_label_full,
            "mi_sensitive_label_trace_nats": list(self.mi_sensitive_label_trace),
            "positive_rate_by_sensitive": {
                str(s): float(self.labels[self.sensitive == s].mean()) if (self.sensitive == s).any() else None
                for s in (0, 1)
            },
            "sensitive_share": float(self.sensitive.mean()),
            "label_share": float(self.labels.mean()),
        }


def greedy_mutual_information_poison(
    embeddings: np.ndarray,
    sensitive: np.ndarray,
    labels: np.ndarray,
    *,
    n_select: int,
    alpha: float,
    delta: float,
    seed: int = 0,
    chunk_size: int | None = None,
) -> PoisonedSubset:
    """Choose ``n_select`` records maximising I(S;Y) with I(X;Y) within ``delta`` nats of the full data's.

    ``embeddings`` is ``float [N, D]``, ``sensitive`` and ``labels`` are 0/1 ``[N]``. The greedy
    phase adds ``round(alpha * n_select)`` records in chunks of ``chunk_size`` (default: about
    ``GREEDY_STEPS`` chunks); when no cell's chunk keeps I(X;Y) in range the chunk is halved, and
    at one record the attack gives up with :class:`InvalidAttackConfig`.
    """
    sensitive, labels = _checked_attributes(sensitive, labels)
    embeddings = np.asarray(embeddings, dtype=np.float64)
    if embeddings.ndim != 2 or len(embeddings) != len(labels):
        raise InvalidAttackConfig(f"embeddings must be [N={len(labels)}, D], got shape {embeddings.shape}")
    if not (np.isfinite(delta) and delta >= 0):
        raise InvalidAttackConfig(f"delta (tolerance on I(X;Y), nats) must be >= 0, got {delta}")
    if chunk_size is not None and chunk_size < 1:
        raise InvalidAttackConfig(f"chunk_size must be at least 1 record, got {chunk_size}")
    n_poison = _checked_poison_count(n_select, alpha, len(labels))
    n_base = n_select - n_poison
    if n_base < 2 * FOLDS:
        raise InvalidAttackConfig(
            f"alpha={alpha} leaves a random base of {n_base} records; the greedy needs at least {2 * FOLDS} "
            "to estimate I(X;Y) (lower alpha, or raise n, the records in the subset)",
            options=["alpha", "n"],
        )
    rng = np.random.default_rng(seed)
    information = FeatureLabelInformation(embeddings, seed=seed)
    features_full = information(np.arange(len(labels)), labels)
    base, features_current = _random_base(information, labels, n_base, features_full, delta, rng)

    cell_of_record = 2 * sensitive + labels
    outside = rng.permutation(np.setdiff1d(np.arange(len(labels)), base))
    pools = [deque(outside[cell_of_record[outside] == cell].tolist()) for cell in range(4)]
    table = np.bincount(cell_of_record[base], minlength=4).reshape(2, 2)
    _check_greedy_cells(pools, n_poison, positive=_positively_associated(sensitive, labels))

    chosen = base.tolist()
    trace = [_plug_in_information(table)]
    chunk = chunk_size or max(1, math.ceil(n_poison / GREEDY_STEPS))
    while len(chosen) < n_select:
        size = min(chunk, n_select - len(chosen))
        additions = {cell: _table_change(cell, min(size, len(pools[cell]))) for cell in range(4) if pools[cell]}
        for cell in _ranked_by_information(table, additions):
            candidate = [pools[cell].popleft() for _ in range(min(size, len(pools[cell])))]
            trial = np.array(chosen + candidate)
            features_trial = information(trial, labels[trial])
            if abs(features_trial - features_full) <= delta:
                chosen, features_current = trial.tolist(), features_trial
                table = table + additions[cell]
                trace.append(_plug_in_information(table))
                break
            pools[cell].extend(candidate)
        else:
            if chunk == 1:
                raise InvalidAttackConfig(
                    f"after {len(chosen) - n_base} of {n_poison} greedy additions, adding any record moves I(X;Y) "
                    f"more than delta={delta} nats from the full data's {features_full:.4f}; raise delta or lower alpha"
                )
            chunk = max(1, chunk // 2)

    indices = np.array(chosen, dtype=np.int64)
    return _poisoned_subset(
        "greedy",
        alpha,
        sensitive,
        labels,
        indices,
        labels[indices],
        trace,
        (features_current, features_full),
        delta=delta,
    )


def label_flip_poison(
    sensitive: np.ndarray,
    labels: np.ndarray,
    *,
    n_select: int,
    alpha: float,
    seed: int = 0,
    embeddings: np.ndarray | None = None,
) -> PoisonedSubset:
    """Take ``n_select`` random records and flip ``round(alpha * n_select)`` labels to raise I(S;Y).

    Flips go towards the full data's S-Y association (see the module docstring), each from the
    cell whose flip most raises I(S;Y). With ``embeddings`` (``float [N, D]``) I(X;Y) is measured too.
    """
    sensitive, labels = _checked_attributes(sensitive, labels)
    n_flips = _checked_poison_count(n_select, alpha, len(labels))
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(labels), size=n_select, replace=False)
    subset_sensitive, subset_labels = sensitive[chosen], labels[chosen].copy()

    flip_from = [(1, 0), (0, 1)] if _positively_associated(sensitive, labels) else [(1, 1), (0, 0)]
    pools = {
        (s, y): deque(np.flatnonzero((subset_sensitive == s) & (subset_labels == y)).tolist()) for s, y in flip_from
    }
    if sum(map(len, pools.values())) < n_flips:
        held = ", ".join(f"{len(pool)} with S={s}, Y={y}" for (s, y), pool in pools.items())
        raise InvalidAttackConfig(
            f"label flipping needs {n_flips} records with {' or '.join(f'S={s}, Y={y}' for s, y in flip_from)} "
            f"among the {n_select} chosen, which hold {held} (lower alpha)"
        )

    table = np.bincount(2 * subset_sensitive + subset_labels, minlength=4).reshape(2, 2)
    trace = [_plug_in_information(table)]
    for _ in range(n_flips):
        flips = {
            (s, y): _table_change(2 * s + 1 - y, 1) - _table_change(2 * s + y, 1)
            for s, y in flip_from
            if pools[(s, y)]
        }
        best = _ranked_by_information(table, flips)[0]
        subset_labels[pools[best].popleft()] = 1 - best[1]
        table = table + flips[best]
        trace.append(_plug_in_information(table))

    if embeddings is None:
        features_subset = features_full = None
    else:
        information = FeatureLabelInformation(np.asarray(embeddings, dtype=np.float64), seed=seed)
        features_full = information(np.arange(len(labels)), labels)
        features_subset = information(chosen, subset_labels)
    return _poisoned_subset(
        "flip",
        alpha,
        sensitive,
        labels,
        chosen,
        subset_labels,
        trace,
        (features_subset, features_full),
        n_relabelled=n_flips,
    )


def poison_labelled_images(
    data: LabelledImages,
    *,
    sensitive_column: str,
    label_column: str,
    n_select: int,
    alpha: float,
    delta: float,
    method: Literal["greedy", "flip"],
    seed: int = 0,
    embedding_dim: int = 32,
) -> tuple[LabelledImages, PoisonedSubset]:
    """The poisoned training subset of ``data`` (label column replaced when flipping) and the attack's record.

    X is the PCA of raw pixels (:func:`pixel_embeddings`, ``embedding_dim`` components);
    ``delta`` (nats) only constrains ``"greedy"``, while ``"flip"`` just measures I(X;Y).
    """
    if method not in ("greedy", "flip"):
        raise InvalidAttackConfig(f"unknown poisoning method {method!r} (choose 'greedy' or 'flip')")
    sensitive, labels = data.column(sensitive_column), data.column(label_column)
    embeddings = pixel_embeddings(data.images, dim=embedding_dim, seed=seed)
    if method == "greedy":
        poisoned = greedy_mutual_information_poison(
            embeddings, sensitive, labels, n_select=n_select, alpha=alpha, delta=delta, seed=seed
        )
    else:
        poisoned = label_flip_poison(
            sensitive, labels, n_select=n_select, alpha=alpha, seed=seed, embeddings=embeddings
        )
    training = data.subset(poisoned.indices)
    training.columns[label_column] = poisoned.labels
    return training, poisoned


def _poisoned_subset(
    method: str,
    alpha: float,
    sensitive: np.ndarray,
    labels: np.ndarray,
    indices: np.ndarray,
    training_labels: np.ndarray,
    trace: list[float],
    features_subset_and_full: tuple[float | None, float | None],
    *,
    delta: float | None = None,
    n_relabelled: int = 0,
) -> PoisonedSubset:
    """The record of an attack on the full data's S and Y (``[N]``) that chose ``indices`` to train on ``training_labels``."""
    return PoisonedSubset(
        indices=indices.astype(np.int64),
        sensitive=sensitive[indices],
        labels=training_labels,
        method=method,
        alpha=alpha,
        mi_sensitive_label_full=float(mutual_info_score(sensitive, labels)),
        mi_features_label=features_subset_and_full[0],
        mi_features_label_full=features_subset_and_full[1],
        mi_sensitive_label_trace=tuple(trace),
        delta=delta,
        n_relabelled=n_relabelled,
    )


def _checked_attributes(sensitive: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """S and Y as ``int64 [N]``, after checking they are equally long, 0/1 and take both values."""
    sensitive, labels = np.asarray(sensitive), np.asarray(labels)
    if sensitive.ndim != 1 or sensitive.shape != labels.shape:
        raise InvalidAttackConfig(
            f"S and Y must be 1-D arrays of one length, got shapes {sensitive.shape} and {labels.shape}"
        )
    for name, values in (("sensitive attribute S", sensitive), ("label Y", labels)):
        found = np.unique(values)
        if not np.isin(found, (0, 1)).all():
            raise InvalidAttackConfig(f"{name} must be binary 0/1, found values {found[:10].tolist()}")
        if len(found) < 2:
            raise InvalidAttackConfig(
                f"{name} takes only the value {found.tolist()}, so I(S;Y) is 0 whatever is chosen"
            )
    return sensitive.astype(np.int64), labels.astype(np.int64)


def _checked_poison_count(n_select: int, alpha: float, n_records: int) -> int:
    """``round(alpha * n_select)``, after checking alpha is in [0, 1] and n_select in [1, n_records]."""
    if not 0.0 <= alpha <= 1.0:
        raise InvalidAttackConfig(f"poisoning rate alpha must lie in [0, 1], got {alpha}")
    if not 1 <= n_select <= n_records:
        raise InvalidAttackConfig(
            f"the subset's size n must lie in [1, {n_records}] (the records in the data), got {n_select}",
            options=["n"],
        )
    return round(alpha * n_select)


def _positively_associated(sensitive: np.ndarray, labels: np.ndarray) -> bool:
    """Whether P(Y=1 | S=1) >= P(Y=1 | S=0)."""
    return bool(labels[sensitive == 1].mean() >= labels[sensitive == 0].mean())


def _random_base(
    information: FeatureLabelInformation,
    labels: np.ndarray,
    n_base: int,
    features_full: float,
    delta: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, float]:
    """A random ``int [n_base]`` subset with I(X;Y) within ``delta`` of ``features_full``, and its I(X;Y)."""
    tried = []
    for _ in range(BASE_DRAWS):
        base = rng.choice(len(labels), size=n_base, replace=False)
        tried.append(information(base, labels[base]))
        if abs(tried[-1] - features_full) <= delta:
            return base, tried[-1]
    raise InvalidAttackConfig(
        f"none of {BASE_DRAWS} random bases of {n_base} records has I(X;Y) within delta={delta} of the full data's "
        f"{features_full:.4f} nats (they gave {min(tried):.4f} to {max(tried):.4f}); raise delta or n (the records in "
        "the subset), or lower the embedding dimension",
        options=["delta", "n"],
    )


def _check_greedy_cells(pools: list[deque], n_poison: int, *, positive: bool) -> None:
    """Fail unless the cells that raise I(S;Y) hold ``n_poison`` records outside the base."""
    cells = [(0, 0), (1, 1)] if positive else [(0, 1), (1, 0)]
    held = [len(pools[2 * s + y]) for s, y in cells]
    if sum(held) < n_poison:
        raise InvalidAttackConfig(
            f"greedy poisoning adds up to {n_poison} records from cells S=0, Y={cells[0][1]} and S=1, Y={cells[1][1]}, "
            f"but outside the random base they hold only {held[0]} and {held[1]} (lower alpha or n, the records in the subset)",
            options=["alpha", "n"],
        )


def _table_change(cell: int, count: int) -> np.ndarray:
    """A 2 x 2 change to the S-by-Y count table: ``count`` records in cell ``2 s + y``."""
    change = np.zeros(4, dtype=np.int64)
    change[cell] = count
    return change.reshape(2, 2)


def _plug_in_information(table: np.ndarray) -> float:
    """Plug-in I(S;Y) in nats of a 2 x 2 count table indexed ``[s, y]``."""
    return float(mutual_info_score(None, None, contingency=table))


def _ranked_by_information(table: np.ndarray, changes: dict) -> list:
    """Keys of ``changes`` (2 x 2 table changes), the one leaving the highest I(S;Y) first."""
    return sorted(changes, key=lambda key: -_plug_in_information(table + changes[key]))
