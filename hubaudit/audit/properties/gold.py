"""Gold labels: a person's (or a trusted labeller's) values for a random, recorded subset of one store's samples.

A scan's annotator can err differently on generated images than on the real images it was
calibrated on; only labels on the generated samples themselves measure that. The gold-label file
of a store lies beside it (``ROOT/<store digest>.gold-<attribute>.parquet``) and records

- the plan: the first ``n`` of a random order of the store's indices ``0..pool-1``, labelled in that
  order, so that the labelled samples are a uniform random draw fixed before any image is seen (what
  prediction-powered inference needs), and a resumed session asks for the same samples; the plan lives
  in the Parquet metadata with the store digest, attribute and values;
- one row per label, in plan order: ``index`` (int64), ``value`` (one of the attribute's value names),
  ``labeller`` (who gave it) and ``labelled_at`` (UTC, ISO 8601).

Nobody chooses the draw, so nobody can redraw until it suits: the order's seed is derived from the store
digest (:func:`plan_seed`; a file recording another seed is refused), and index ``i``'s place in it does
not depend on ``pool`` either. Nobody chooses which planned samples count: a label is recorded only for
the next unlabelled sample of the plan, a file whose rows do not follow the plan's order is refused, and
the estimates use the longest fully labelled prefix of the plan (labels beyond a gap are left out and
counted in :meth:`GoldLabels.describe`).

``hubaudit label`` and the Space's labelling tab fill it; ``hubaudit scan --gold FILE`` reads it
(:mod:`hubaudit.audit.properties.audit`).
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from hubaudit.errors import InvalidGoldLabels
from hubaudit.files import write_atomically, writing
from hubaudit.sampling.store import SampleStore

METADATA_KEY = b"hubaudit_gold"
_SCHEMA = pa.schema(
    [("index", pa.int64()), ("value", pa.string()), ("labeller", pa.string()), ("labelled_at", pa.string())]
)


def gold_path(store: SampleStore, attribute: str) -> Path:
    """Where the gold labels of ``attribute`` for ``store``'s samples lie: beside the store folder."""
    return store.path.parent / f"{store.path.name}.gold-{attribute}.parquet"


def plan_seed(store: str) -> int:
    """The seed of the labelling plan of the store whose digest (folder name) is ``store``: the first 6 bytes of
    ``sha256("hubaudit gold plan " + store)``, big-endian (48 bits: exact in any JSON reader). Every attribute of a
    store shares it, so renaming the attribute redraws nothing either."""
    return int.from_bytes(hashlib.sha256(f"hubaudit gold plan {store}".encode()).digest()[:6], "big")


def labelling_plan(pool: int, n: int, *, seed: int) -> np.ndarray:
    """The first ``n`` of the random order of ``0..pool-1`` that ``seed`` fixes: int64 ``[min(n, pool)]``.

    Index ``i`` is ranked by the ``i``-th uniform draw of ``default_rng(seed)``, so every ``n`` gives a prefix of
    the same order (asking for more labels later extends the plan), and a smaller ``pool`` gives the same order
    with the indices it lacks left out (choosing the pool redraws nothing).
    """
    return np.argsort(np.random.default_rng(seed).random(pool), kind="stable")[:n].astype(np.int64)


@dataclass
class GoldLabels:
    """The gold labels of one attribute for one store's samples (see the module docstring).

    Attributes:
        path: the Parquet file.
        store: the digest (folder name) of the store whose samples are labelled.
        attribute: the attribute's name; ``values`` its value names, in code order.
        pool: the plan draws from indices ``0..pool-1``; ``seed`` seeds it (:func:`plan_seed` of ``store``);
            ``planned`` is its length.
        labels: index -> ``(value, labeller, labelled_at)``, in plan order.
    """

    path: Path
    store: str
    attribute: str
    values: tuple[str, ...]
    pool: int
    seed: int
    planned: int
    labels: dict[int, tuple[str, str, str]] = field(default_factory=dict)
    _plan: np.ndarray | None = field(default=None, repr=False, compare=False)

    @classmethod
    def open(cls, store: SampleStore, attribute: str, values: Sequence[str], *, n: int, pool: int) -> GoldLabels:
        """The gold labels of ``store`` (created, or resumed with the plan extended to ``n``).

        Raises:
            InvalidGoldLabels: the file exists for other values or another plan, or cannot be read.
        """
        if pool < 1:
            raise InvalidGoldLabels(gold_path(store, attribute), f"the store {store.path} holds no sample to label")
        path = gold_path(store, attribute)
        if not path.exists():
            return cls(path, store.path.name, attribute, tuple(values), pool, plan_seed(store.path.name), min(n, pool))
        gold = cls.read(path)
        if gold.values != tuple(values):
            raise InvalidGoldLabels(
                path, f"its values are {list(gold.values)}, not {list(values)}: move it aside to start over"
            )
        if gold.pool != pool:
            raise InvalidGoldLabels(
                path,
                f"it plans from {gold.pool} samples, not {pool}: label with the same scan's report "
                "(or move the file aside to start over)",
            )
        gold.planned = max(gold.planned, min(n, pool))
        return gold

    @classmethod
    def read(cls, path: Path | str) -> GoldLabels:
        """The gold labels in ``path``.

        Raises:
            InvalidGoldLabels: not a gold-label file; its seed is not the one its store fixes; or its rows do not fit
                its plan and values, or do not follow the plan's order.
        """
        path = Path(path)
        try:
            table = pq.read_table(path)
            meta = json.loads(table.schema.metadata[METADATA_KEY])
            gold = cls(
                path,
                meta["store"],
                meta["attribute"],
                tuple(meta["values"]),
                int(meta["pool"]),
                int(meta["seed"]),
                int(meta["planned"]),
            )
            rows = list(zip(*(table[name].to_pylist() for name in ("index", "value", "labeller", "labelled_at"))))
        except FileNotFoundError:
            raise InvalidGoldLabels(path, "no such file") from None
        except (pa.ArrowException, OSError, KeyError, TypeError, ValueError) as err:
            raise InvalidGoldLabels(
                path, f"not a gold-label file written by hubaudit label ({type(err).__name__})"
            ) from None
        if gold.seed != plan_seed(gold.store):
            raise InvalidGoldLabels(
                path,
                f"its plan's seed {gold.seed} is not the one store {gold.store} fixes: the draw is "
                "not a choice; move the file aside and label again with hubaudit label",
            )
        place = {int(index): position for position, index in enumerate(gold.plan)}
        stray = [int(index) for index, *_ in rows if int(index) not in place]
        wrong = sorted({value for _, value, _, _ in rows} - set(gold.values))
        if stray or wrong:
            reason = (
                f"samples {stray[:3]} are not in its plan"
                if stray
                else f"values {wrong} are not among {list(gold.values)}"
            )
            raise InvalidGoldLabels(path, f"{reason}: it was edited by hand")
        positions = [place[int(index)] for index, *_ in rows]
        late = next((row for row in range(1, len(rows)) if positions[row] <= positions[row - 1]), None)
        if late is not None:
            raise InvalidGoldLabels(
                path,
                f"its label of sample {rows[late][0]} comes after that of sample {rows[late - 1][0]}, "
                "out of the plan's order (or twice): labels count only in plan order; move the "
                "file aside and label again with hubaudit label",
            )
        gold.labels = {int(index): (value, labeller, when) for index, value, labeller, when in rows}
        return gold

    @property
    def plan(self) -> np.ndarray:
        """The indices to label, in order: int64 ``[planned]``."""
        if self._plan is None or len(self._plan) != self.planned:
            self._plan = labelling_plan(self.pool, self.planned, seed=self.seed)
        return self._plan

    @property
    def used(self) -> int:
        """The length of the longest prefix of the plan whose samples are all labelled: the labels the estimates use."""
        return next(
            (position for position, index in enumerate(self.plan) if int(index) not in self.labels), self.planned
        )

    def next_index(self) -> int | None:
        """The first planned index not yet labelled (the only one :meth:`record` takes), or None when the plan is done."""
        used = self.used
        return int(self.plan[used]) if used < self.planned else None

    def record(self, index: int, value: str, *, labeller: str = "person") -> None:
        """Label sample ``index`` (:meth:`next_index`) with ``value`` and save the file."""
        self.record_many({index: value}, labeller=labeller)

    def record_many(self, values: dict[int, str], *, labeller: str) -> None:
        """Label the next planned samples (index -> value, in plan order; e.g. from a trusted, slower annotator) and
        save the file once.

        Raises:
            InvalidGoldLabels: a value is not one of :attr:`values`, or an index is not the next unlabelled sample
                of the plan when its turn comes (nothing is recorded then).
        """
        when = datetime.now(UTC).isoformat(timespec="seconds")
        given = dict(self.labels)
        for index, value in values.items():
            expected = self.next_index()
            if value not in self.values or int(index) != expected:
                self.labels = given
                reason = (
                    f"{value!r} is not one of {list(self.values)}"
                    if value not in self.values
                    else f"sample {index} is not the next sample of the labelling plan ({expected}): label the plan in "
                    "order, from GoldLabels.next_index()"
                )
                raise InvalidGoldLabels(self.path, reason)
            self.labels[int(index)] = (value, labeller, when)
        self.labels = {int(index): self.labels[int(index)] for index in self.plan if int(index) in self.labels}
        self.save()

    def undo(self) -> int | None:
        """Remove the last label in plan order, the last one given (and save); its index, or None when there was none."""
        if not self.labels:
            return None
        index = next(reversed(self.labels))
        del self.labels[index]
        self.save()
        return index

    def save(self) -> None:
        """Write the file atomically (a crash leaves the previous labels or all of these)."""
        rows = list(zip(*[(index, *entry) for index, entry in self.labels.items()])) or [[], [], [], []]
        meta = {
            "store": self.store,
            "attribute": self.attribute,
            "values": list(self.values),
            "pool": self.pool,
            "seed": self.seed,
            "planned": self.planned,
        }
        table = pa.Table.from_arrays(
            [pa.array(column, type=kind.type) for column, kind in zip(rows, _SCHEMA)], schema=_SCHEMA
        )
        buffer = io.BytesIO()
        pq.write_table(table.replace_schema_metadata({METADATA_KEY: json.dumps(meta)}), buffer)
        with writing(self.path):
            write_atomically(self.path, buffer.getvalue())

    def codes(self, *, below: int) -> tuple[np.ndarray, np.ndarray]:
        """The indices under ``below`` of the labelled prefix of the plan (:attr:`used`) and their value codes:
        (int64 ``[m]``, int64 ``[m]``), in plan order. Labels beyond the first unlabelled planned sample are left out."""
        position = {value: code for code, value in enumerate(self.values)}
        labelled = [(int(index), position[self.labels[int(index)][0]]) for index in self.plan[: self.used]]
        kept = [(index, code) for index, code in labelled if index < below]
        indices, codes = zip(*kept) if kept else ((), ())
        return np.asarray(indices, dtype=np.int64), np.asarray(codes, dtype=np.int64)

    @property
    def labellers(self) -> list[str]:
        """Who gave the labels, each once."""
        return list(dict.fromkeys(labeller for _, labeller, _ in self.labels.values()))

    def describe(self) -> dict:
        """The report's record of the file: path, labels (``used``: the labelled prefix of the plan;
        ``unused_beyond_gap``: labels after its first unlabelled sample), plan size, seed, labellers."""
        return {
            "file": str(self.path),
            "labels": len(self.labels),
            "used": self.used,
            "unused_beyond_gap": len(self.labels) - self.used,
            "planned": self.planned,
            "pool": self.pool,
            "seed": self.seed,
            "labellers": self.labellers,
        }
