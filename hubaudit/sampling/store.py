"""The sample store: generated images streamed to Parquet shards on disk.

A store folder holds the samples of one (model sha, sampler config, seed, condition): its
``manifest.json`` records that key, and each finished batch is one Parquet file written
atomically (temporary name, fsync, rename, fsync of the folder), so a killed scan or a power loss
loses no finished sample and a rerun generates only the missing indices. The scan that writes a
store holds its lock (:meth:`SampleStore.lock`), so no two scans fill one store; on taking it,
leftover temporary files are removed and shards that cannot be read are set aside as
``*.corrupt`` (their samples are then missing and regenerated). Shards carry the Hugging Face
``datasets`` feature metadata, so ``datasets.load_dataset("parquet", data_files=f"{path}/*.parquet")``
loads a store with an ``index`` column (each index once) and a decoded ``image`` column.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from filelock import FileLock, Timeout
from PIL import Image

from hubaudit.errors import (
    CannotWrite,
    IncompleteSampleStore,
    InvalidSampleStore,
    StoreLocked,
    StoreMismatch,
    first_line,
)
from hubaudit.files import write_atomically, writing

MANIFEST = "manifest.json"
LOCK_FILE = ".lock"
LOCK_OWNER_FILE = ".lock.owner"
CORRUPT_SUFFIX = ".corrupt"
_LOG = logging.getLogger("hubaudit.store")
_UNREADABLE = (pa.ArrowException, OSError)
"""What reading a shard may raise; :func:`_corrupt` tells a torn shard from an I/O error (EACCES, EMFILE)."""
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

    Raises:
        CannotWrite: the folder cannot be created or written.
        InvalidSampleStore: its ``manifest.json`` is not valid JSON.
        StoreMismatch: its manifest holds another key.
    """

    def __init__(self, root: Path | str, key: dict):
        self.key = key
        self.path = Path(root) / store_key_digest(key)
        self.set_aside: list[str] = []
        """Names of the shards this process found unreadable and renamed to ``*.corrupt``."""
        self._locked = False
        with writing(self.path):
            self.path.mkdir(parents=True, exist_ok=True)
        manifest = self.path / MANIFEST
        if manifest.exists():
            if read_manifest(manifest) != json.loads(json.dumps(key)):
                raise StoreMismatch(f"sample store {self.path} holds samples of a different model or configuration")
        else:
            with writing(manifest):
                write_atomically(manifest, json.dumps(key, indent=2, sort_keys=True).encode())

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the store for one scan: refuse if another process holds it, then tidy it (temporary files of
        processes that are gone removed, unreadable shards set aside). Only the lock holder sets shards aside.

        Raises:
            StoreLocked: another scan holds the store. The lock is an OS lock (``flock``), released when its
                process ends, even on kill -9; on a file system without ``flock`` filelock falls back to a
                lock file, which a killed scan leaves behind (delete ``.lock`` in the store folder then).
        """
        lock = FileLock(self.path / LOCK_FILE)
        with writing(self.path / LOCK_FILE):
            try:
                lock.acquire(timeout=0)
            except Timeout:  # a TimeoutError, hence an OSError: turned into StoreLocked before writing() sees it
                raise StoreLocked(self.path, _lock_owner(self.path)) from None
        try:
            with writing(self.path / LOCK_OWNER_FILE):
                (self.path / LOCK_OWNER_FILE).write_text(str(os.getpid()))
            for temporary in self.path.glob(".*.tmp"):
                if not _process_alive(temporary):  # a live one is another rank of this scan writing
                    temporary.unlink(missing_ok=True)
            self._locked = True
            for shard in self._shards():
                try:
                    pq.read_table(shard, columns=["index"])
                except _UNREADABLE as err:
                    if not _corrupt(err):
                        raise
                    self._set_aside(shard, err)
            yield
        finally:
            self._locked = False
            lock.release()

    def differing_only_in(self, field: str) -> list[SampleStore]:
        """The other stores beside this one whose key equals this one's except for ``field``."""

        def without_field(key: dict) -> dict:
            return {name: value for name, value in json.loads(json.dumps(key)).items() if name != field}

        others = []
        for manifest in sorted(self.path.parent.glob(f"*/{MANIFEST}")):
            try:
                other = open_sample_store(manifest.parent) if manifest.parent != self.path else None
            except InvalidSampleStore:
                continue
            if other is not None and without_field(other.key) == without_field(self.key):
                others.append(other)
        return others

    @property
    def empty(self) -> bool:
        """No shard on disk yet (a glob: no shard is read)."""
        return not self._shards()

    def _shards(self) -> list[Path]:
        return sorted(self.path.glob("shard-*.parquet"))

    def _set_aside(self, shard: Path, err: BaseException) -> bool:
        """Rename an unreadable shard to ``*.corrupt`` (its samples become missing) and say so; only while
        holding the lock. Returns whether it was set aside."""
        if not self._locked:
            return False
        try:
            shard.rename(shard.with_name(shard.name + CORRUPT_SUFFIX))
        except FileNotFoundError:  # another process of the same scan set it aside first
            pass
        except OSError:  # a read-only store: leave it as it is
            return False
        self.set_aside.append(shard.name)
        _LOG.warning(
            "sample store %s: shard %s cannot be read (%s); set aside as %s%s, its samples are drawn again",
            self.path,
            shard.name,
            first_line(err),
            shard.name,
            CORRUPT_SUFFIX,
        )
        return True

    def indices(self) -> np.ndarray:
        """Sorted unique sample indices in readable shards (int64)."""
        parts = []
        for shard in self._shards():
            try:
                parts.append(pq.read_table(shard, columns=["index"])["index"].to_numpy())
            except _UNREADABLE as err:
                if not _corrupt(err):
                    raise
                continue  # set aside by the lock holder; its samples count as missing
        return np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)

    def missing(self, n: int) -> np.ndarray:
        """Indices in ``0..n-1`` not yet on disk, ascending."""
        return np.setdiff1d(np.arange(n, dtype=np.int64), self.indices(), assume_unique=True)

    def write(self, indices: np.ndarray, images: np.ndarray, *, rank: int = 0) -> Path:
        """Store one batch: ``indices`` int ``[B]``, ``images`` uint8 ``[B, H, W, C]``.

        Raises:
            CannotWrite: the disk is full or the folder cannot be written (the batches before stay).
        """
        rows = {
            "index": pa.array(np.asarray(indices, dtype=np.int64)),
            "image": pa.array(
                [{"bytes": encode_png(image), "path": None} for image in images], type=_SCHEMA.field("image").type
            ),
        }
        shard = self.path / f"shard-{int(indices[0]):09d}-{int(indices[-1]):09d}-r{rank}.parquet"
        buffer = pa.BufferOutputStream()
        pq.write_table(pa.Table.from_pydict(rows, schema=_SCHEMA), buffer)
        try:
            with writing(shard):
                write_atomically(shard, buffer.getvalue().to_pybytes())
        except CannotWrite as err:
            raise CannotWrite(
                err.path, err.reason, f"{len(self.indices())} samples are kept in {self.path}; rerun to resume"
            ) from None
        return shard

    def iter_batches(
        self, n: int, *, start: int = 0, batch_size: int = 256
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Samples ``start..n-1`` as (indices int ``[B]``, uint8 images ``[B, H, W, C]``), in storage order.

        Reads one shard at a time, so memory stays flat in ``n``; each index comes once. Shards
        wholly below ``start`` are not read, and samples outside the range are not decoded.

        Raises:
            IncompleteSampleStore: the store lacks a sample of the range, or a shard cannot be read
                (it is set aside, so that a rerun draws its samples again).
        """
        seen = np.zeros(n, dtype=bool)
        seen[:start] = True
        pending_indices: list[int] = []
        pending_images: list[np.ndarray] = []
        for shard in self._shards():
            if int(shard.name.split("-")[2]) < start:  # shard-FIRST-LAST-rRANK.parquet, indices ascending
                continue
            try:
                table = pq.read_table(shard)
                cells = [
                    (index, cell["bytes"])
                    for index, cell in zip(table["index"].to_pylist(), table["image"].to_pylist())
                    if index < n and not seen[index]
                ]  # outside the range, or a duplicate from an overlapping shard
                decoded = [(index, _decoded(data)) for index, data in cells]
            except (*_UNREADABLE, CorruptImage) as err:
                if not _corrupt(err):
                    raise
                where = (
                    f"it was set aside as {shard.name}{CORRUPT_SUFFIX}" if self._set_aside(shard, err) else "delete it"
                )
                raise IncompleteSampleStore(
                    f"sample store {self.path}: shard {shard.name} cannot be read ({first_line(err)}); "
                    f"{where}: rerun the same command to draw its samples again"
                ) from err
            for index, image in decoded:
                seen[index] = True
                pending_indices.append(index)
                pending_images.append(image)
                if len(pending_indices) == batch_size:
                    yield np.asarray(pending_indices), np.stack(pending_images)
                    pending_indices, pending_images = [], []
        if pending_indices:
            yield np.asarray(pending_indices), np.stack(pending_images)
        if not seen.all():
            raise IncompleteSampleStore(
                f"sample store {self.path} lacks {int((~seen).sum())} of samples {start}..{n - 1}: rerun the scan to fill it"
            )

    def image(self, index: int) -> np.ndarray:
        """Sample ``index`` alone, ``uint8 [H, W, C]`` (reads only the shards whose index range holds it).

        Raises:
            IncompleteSampleStore: the store does not hold it.
        """
        for shard in self._shards():
            first, last = (int(part) for part in shard.name.split("-")[1:3])
            if first <= index <= last:
                table = pq.read_table(shard, filters=[("index", "=", int(index))])
                if table.num_rows:
                    return _decoded(table["image"][0].as_py()["bytes"])
        raise IncompleteSampleStore(
            f"sample store {self.path} does not hold sample {index}: rerun the scan to fill it"
        )

    def load(self, n: int) -> np.ndarray:
        """All ``n`` images in index order, ``uint8 [n, H, W, C]`` (for small n: galleries, tests)."""
        indices, images = zip(*self.iter_batches(n))
        order = np.argsort(np.concatenate(indices))
        return np.concatenate(images)[order]


def _corrupt(err: BaseException) -> bool:
    """Whether a read error means the shard's bytes are bad, not that the file could not be read (errno set)."""
    return not (isinstance(err, OSError) and err.errno is not None)


class CorruptImage(ValueError):
    """A stored PNG that cannot be decoded (a torn shard whose footer survived)."""


def _decoded(data: bytes) -> np.ndarray:
    """:func:`decode_png`, with PIL's errors for broken data as :class:`CorruptImage`."""
    try:
        return decode_png(data)
    except (OSError, ValueError, SyntaxError) as err:  # PIL: UnidentifiedImageError, "truncated", bad chunks
        raise CorruptImage(first_line(err)) from err


def open_sample_store(folder: Path | str) -> SampleStore | None:
    """The existing store in ``folder`` (read by its ``manifest.json``), or None when there is none.

    A folder renamed away from its key's digest is not opened: under another name it would be
    a new, empty store.

    Raises:
        InvalidSampleStore: the manifest is not valid JSON.
    """
    manifest = Path(folder) / MANIFEST
    if not manifest.is_file():
        return None
    key = read_manifest(manifest)
    if store_key_digest(key) != manifest.parent.name:
        return None
    return SampleStore(manifest.parent.parent, key)


def read_manifest(manifest: Path) -> dict:
    """A store's key from its ``manifest.json``; raises :class:`InvalidSampleStore` if it is not a JSON object."""
    try:
        key = json.loads(manifest.read_text())
    except json.JSONDecodeError as err:
        raise InvalidSampleStore(manifest, f"not valid JSON (line {err.lineno}, column {err.colno})") from None
    except (OSError, UnicodeDecodeError) as err:
        raise InvalidSampleStore(manifest, first_line(err)) from None
    if not isinstance(key, dict):
        raise InvalidSampleStore(manifest, "not a JSON object")
    return key


def _process_alive(temporary: Path) -> bool:
    """Whether the process that writes ``temporary`` (``.NAME.PID.tmp``) still runs on this machine."""
    try:
        os.kill(int(temporary.name.rsplit(".", 2)[-2]), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:  # alive, owned by another user
        return True
    return True


def _lock_owner(folder: Path) -> str | None:
    """The process id the lock holder wrote, if readable."""
    try:
        return (folder / LOCK_OWNER_FILE).read_text().strip() or None
    except OSError:
        return None
