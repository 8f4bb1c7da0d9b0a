"""The sample store: generated images streamed to Parquet shards on disk.

A store folder holds the samples of one (model sha, sampler config, seed, condition): its
``manifest.json`` records that key, and each finished batch is one Parquet file written
atomically (temporary name, then rename), so a killed scan loses no finished sample and a
rerun generates only the missing indices. Shards carry the Hugging Face ``datasets``
feature metadata, so ``datasets.load_dataset("parquet", data_files=f"{path}/*.parquet")``
loads a store with an ``index`` column and a decoded ``image`` column.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

from hubaudit.errors import IncompleteSampleStore, StoreMismatch

_FEATURES = {"index": {"dtype": "int64", "_type": "Value"}, "image": {"_type": "Image"}}
_SCHEMA = pa.schema(
    [("index", pa.int64()), ("image", pa.struct([("bytes", pa.binary()), ("path", pa.string())]))],
    metadata={"huggingface": json.dumps({"info": {"features": _FEATURES}})},
)


def store_key_digest(key: dict) -> str:
    """A short stable name for a store key (sha256 of its sorted JSON)."""
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]


def encode_png(image: np.ndarray) -> bytes:
    """``uint8 [H, W, C]`` -> PNG bytes (C = 1 is stored as greyscale)."""
    buffer = io.BytesIO()
    Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(buffer, format="PNG")
    return buffer.getvalue()


def decode_png(data: bytes) -> np.ndarray:
    """PNG bytes -> ``uint8 [H, W, C]``."""
    array = np.asarray(Image.open(io.BytesIO(data)))
    return array[..., None] if array.ndim == 2 else array


class SampleStore:
    """Samples of one store key under ``root/<digest of key>``.

    Args:
        root: the folder holding every store of a scan (one sub-folder per key).
        key: what the samples depend on (model sha, sampler config, seed, condition); JSON-able.
    """

    def __init__(self, root: Path | str, key: dict):
        self.key = key
        self.path = Path(root) / store_key_digest(key)
        self.path.mkdir(parents=True, exist_ok=True)
        manifest = self.path / "manifest.json"
        if manifest.exists():
            stored = json.loads(manifest.read_text())
            if stored != json.loads(json.dumps(key)):
                raise StoreMismatch(f"sample store {self.path} holds samples of a different model or configuration")
        else:
            _write_atomically(manifest, json.dumps(key, indent=2, sort_keys=True).encode())

    def _shards(self) -> list[Path]:
        return sorted(self.path.glob("shard-*.parquet"))

    def indices(self) -> np.ndarray:
        """Sorted unique sample indices on disk (int64)."""
        parts = [pq.read_table(shard, columns=["index"])["index"].to_numpy() for shard in self._shards()]
        return np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)

    def missing(self, n: int) -> np.ndarray:
        """Indices in ``0..n-1`` not yet on disk, ascending."""
        return np.setdiff1d(np.arange(n, dtype=np.int64), self.indices(), assume_unique=True)

    def write(self, indices: np.ndarray, images: np.ndarray, *, rank: int = 0) -> Path:
        """Store one batch: ``indices`` int ``[B]``, ``images`` uint8 ``[B, H, W, C]``."""
        rows = {
            "index": pa.array(np.asarray(indices, dtype=np.int64)),
            "image": pa.array([{"bytes": encode_png(image), "path": None} for image in images], type=_SCHEMA.field("image").type),
        }
        shard = self.path / f"shard-{int(indices[0]):09d}-{int(indices[-1]):09d}-r{rank}.parquet"
        buffer = pa.BufferOutputStream()
        pq.write_table(pa.Table.from_pydict(rows, schema=_SCHEMA), buffer)
        _write_atomically(shard, buffer.getvalue().to_pybytes())
        return shard

    def iter_batches(
        self, n: int, *, start: int = 0, batch_size: int = 256
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Samples ``start..n-1`` as (indices int ``[B]``, uint8 images ``[B, H, W, C]``), in storage order.

        Reads one shard at a time, so memory stays flat in ``n``; each index comes once. Shards
        wholly below ``start`` are not read, and samples outside the range are not decoded.
        Raises ``IncompleteSampleStore`` if the store lacks any sample of the range.
        """
        seen = np.zeros(n, dtype=bool)
        seen[:start] = True
        pending_indices: list[int] = []
        pending_images: list[np.ndarray] = []
        for shard in self._shards():
            if int(shard.name.split("-")[2]) < start:  # shard-FIRST-LAST-rRANK.parquet, indices ascending
                continue
            table = pq.read_table(shard)
            for index, cell in zip(table["index"].to_pylist(), table["image"].to_pylist()):
                if index >= n or seen[index]:
                    continue  # outside the range, or a duplicate from an overlapping shard
                seen[index] = True
                pending_indices.append(index)
                pending_images.append(decode_png(cell["bytes"]))
                if len(pending_indices) == batch_size:
                    yield np.asarray(pending_indices), np.stack(pending_images)
                    pending_indices, pending_images = [], []
        if pending_indices:
            yield np.asarray(pending_indices), np.stack(pending_images)
        if not seen.all():
            raise IncompleteSampleStore(
                f"sample store {self.path} lacks {int((~seen).sum())} of samples {start}..{n - 1}: rerun the scan to fill it"
            )

    def load(self, n: int) -> np.ndarray:
        """All ``n`` images in index order, ``uint8 [n, H, W, C]`` (for small n: galleries, tests)."""
        indices, images = zip(*self.iter_batches(n))
        order = np.argsort(np.concatenate(indices))
        return np.concatenate(images)[order]


def open_sample_store(folder: Path | str) -> SampleStore | None:
    """The existing store in ``folder`` (read by its ``manifest.json``), or None when there is none.

    A folder renamed away from its key's digest is not opened: under another name it would be
    a new, empty store.
    """
    manifest = Path(folder) / "manifest.json"
    if not manifest.is_file():
        return None
    key = json.loads(manifest.read_text())
    if store_key_digest(key) != manifest.parent.name:
        return None
    return SampleStore(manifest.parent.parent, key)


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)
