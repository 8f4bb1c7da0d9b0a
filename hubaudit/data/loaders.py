"""Load labelled images from the Hub, local folders, Parquet files or builtins; save them as Parquet.

Every loader returns a :class:`LabelledImages` (or, read a chunk at a time, :class:`ImageChunks`); every failure is
one :class:`InvalidData` line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import datasets
import numpy as np
import pyarrow.parquet
from PIL import Image

from hubaudit.data.builtin import BUILTIN_PREFIX, load_builtin
from hubaudit.data.labelled import LabelledImages, resize_image
from hubaudit.errors import InvalidData, LocalPathRefused

HUB_DATASET_ID = re.compile(r"^[\w.-]+(/[\w.-]+)?$")
"""A Hub data set id: ``name`` or ``org/name`` (letters, digits, ``_ . -``)."""

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


def load_labelled_images(
    source: str,
    *,
    image_column: str = "image",
    columns: list[str] | None = None,
    split: str = "train",
    limit: int | None = None,
    image_size: int | None = None,
    allow_local: bool = True,
) -> LabelledImages:
    """Load images and integer label columns from ``source``.

    Args:
        source: ``builtin:mnist`` / ``fashion-mnist`` / ``colored-mnist`` / ``colored-shirts``; a local
            Parquet file or folder of Parquet files; a folder written by ``Dataset.save_to_disk``;
            an image folder (optionally with ``metadata.csv``); or a Hub data set id ``org/name``.
        image_column: the column holding the images (ignored for builtins).
        columns: integer columns to keep; ``None`` keeps every integer column.
        split: the split to read (``train`` unless the data set names others).
        limit: keep only the first ``limit`` records.
        image_size: resize every image to ``image_size x image_size`` (needed when sizes differ).
        allow_local: accept local files and folders (the Space turns this off: builtins and Hub ids only).

    Raises:
        InvalidData: the source cannot be read, is empty, or lacks a column.
        LocalPathRefused: ``source`` is a path on this machine and ``allow_local`` is False.
    """
    if limit is not None and limit < 1:
        raise InvalidData(f"limit must be at least 1, got {limit}")
    if image_size is not None and image_size < 1:
        raise InvalidData(f"image size must be at least 1 pixel, got {image_size}")
    _refuse_local(source, allow_local)
    if source.startswith(BUILTIN_PREFIX):
        data = load_builtin(source, split=split)
        data = _select_columns(data, columns)
        data = data.subset(np.arange(min(limit, len(data)))) if limit is not None else data
        return data.resized(image_size) if image_size is not None else data
    dataset = _open_records(source, split=split)
    if limit is not None:
        dataset = dataset.select(range(min(limit, dataset.num_rows)))
    return _to_labelled(dataset, source, image_column=image_column, columns=columns, image_size=image_size)


class ImageChunks:
    """The images of a source read a chunk at a time (``uint8 [c, H, W, C]``), in the order
    :func:`load_labelled_images` reads them, with the record count known up front: memory is one chunk, however
    many records the source holds. Open one with :func:`open_image_chunks` (a source) or :meth:`from_array`."""

    def __init__(self, source: str, count: int, read: Callable[[Sequence[int]], np.ndarray]) -> None:
        self.source, self._count, self._read = source, count, read

    @classmethod
    def from_array(cls, images: np.ndarray, source: str = "array") -> ImageChunks:
        """Chunks of images already in memory (``uint8 [N, H, W, C]``)."""
        return cls(source, len(images), lambda indices: images[np.asarray(indices, dtype=np.int64)])

    def __len__(self) -> int:
        return self._count

    def chunks(self, size: int) -> Iterator[np.ndarray]:
        """The images ``size`` records at a time (the last chunk may be smaller)."""
        for start in range(0, self._count, size):
            yield self._read(range(start, min(start + size, self._count)))

    def fetch(self, indices: Sequence[int]) -> np.ndarray:
        """The images of the records at ``indices`` (positions in the source), ``uint8 [len(indices), H, W, C]``."""
        return self._read(indices)


def open_image_chunks(
    source: str,
    *,
    image_size: int,
    channels: int,
    image_column: str = "image",
    split: str = "train",
    allow_local: bool = True,
) -> ImageChunks:
    """The images of ``source`` (as :func:`load_labelled_images` takes it) as :class:`ImageChunks`, resized to
    ``image_size x image_size`` with ``channels`` channels (1: grey, 3: RGB); a Parquet, ``save_to_disk`` or Hub
    data set is memory-mapped, so only the chunk read is decoded.

    Raises: as :func:`load_labelled_images` (one :class:`InvalidData` line), also for ``channels`` not 1 or 3.
    """
    if channels not in (1, 3):
        raise InvalidData(f"images have 1 (grey) or 3 (RGB) channels, got {channels}")
    if image_size < 1:
        raise InvalidData(f"image size must be at least 1 pixel, got {image_size}")
    mode = "L" if channels == 1 else "RGB"
    _refuse_local(source, allow_local)
    if source.startswith(BUILTIN_PREFIX):
        images = load_builtin(source, split=split).images
        pil_images, count = lambda indices: [_to_pil(images[i]) for i in indices], len(images)
    else:
        dataset = _open_records(source, split=split)
        _require_column(dataset, source, image_column)
        dataset = dataset.select_columns([image_column])
        pil_images, count = lambda indices: dataset.select(indices)[image_column], dataset.num_rows
    return ImageChunks(
        source, count, lambda indices: _decode_images(pil_images(indices), source, image_size=image_size, mode=mode)
    )


def load_text_column(source: str, column: str, *, split: str = "train", allow_local: bool = True) -> list[str] | None:
    """The text column ``column`` of ``source``, one string per record in the order :func:`load_labelled_images`
    reads them (it keeps integer columns only), or None when there is no such text column (builtins have none).

    Raises: as :func:`load_labelled_images`.
    """
    _refuse_local(source, allow_local)
    if source.startswith(BUILTIN_PREFIX):
        return None
    with _quiet_datasets():
        dataset = _open_dataset(source, split=split)
    feature = dataset.features.get(column)
    if not (isinstance(feature, datasets.Value) and feature.dtype in ("string", "large_string")):
        return None
    return [str(text) for text in dataset[column]]


def _refuse_local(source: str, allow_local: bool) -> None:
    """Raise :class:`LocalPathRefused` when ``source`` is a path on this machine and ``allow_local`` is False."""
    if (
        not allow_local
        and not source.startswith(BUILTIN_PREFIX)
        and (Path(source).expanduser().exists() or not HUB_DATASET_ID.match(source))
    ):
        raise LocalPathRefused(source, "data set")


def save_labelled_images(data: LabelledImages, path: str | Path, *, image_column: str = "image") -> Path:
    """Write ``data`` to one Parquet file: an HF ``Image`` column (PNG bytes) plus ``int64`` columns.

    The file loads with ``datasets.load_dataset("parquet", data_files=path)`` and with
    :func:`load_labelled_images`. Returns the path written.
    """
    path = Path(path)
    if image_column in data.columns:
        raise InvalidData(f"cannot save: a label column is named {image_column!r}, like the image column")
    features = datasets.Features(
        {image_column: datasets.Image(), **{name: datasets.Value("int64") for name in data.columns}}
    )
    pil_images = [_to_pil(image) for image in data.images]
    table = {image_column: pil_images, **{name: data.column(name).tolist() for name in data.columns}}
    path.parent.mkdir(parents=True, exist_ok=True)
    with _quiet_datasets():
        datasets.Dataset.from_dict(table, features=features).to_parquet(str(path))
    return path


@contextmanager
def _quiet_datasets() -> Iterator[None]:
    """No ``datasets`` progress bars inside the block (the CLI's output stays one line per event)."""
    was_enabled = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        if was_enabled:
            datasets.enable_progress_bars()


def _open_records(source: str, *, split: str) -> datasets.Dataset:
    """:func:`_open_dataset`, refusing a split without records."""
    with _quiet_datasets():
        dataset = _open_dataset(source, split=split)
    if dataset.num_rows == 0:
        raise InvalidData(f"{source}: split {split!r} has no records")
    return dataset


def _require_column(dataset: datasets.Dataset, source: str, image_column: str) -> None:
    """Raise :class:`InvalidData` when ``dataset`` has no column ``image_column``."""
    if image_column not in dataset.column_names:
        raise InvalidData(
            f"{source} has no image column {image_column!r} (columns: {', '.join(dataset.column_names)})"
        )


def _open_dataset(source: str, *, split: str) -> datasets.Dataset:
    """The ``split`` of the data set at ``source`` (a local path or a Hub id) as a ``datasets.Dataset``."""
    path = Path(source).expanduser()
    if path.exists():
        return _open_local(path, split=split)
    if not HUB_DATASET_ID.match(source) or Path(source).suffix in {".parquet", ".csv", ".arrow"}:
        raise InvalidData(f"no such file or folder: {source}")
    try:
        return datasets.load_dataset(source, split=split)
    except ValueError as err:  # unknown split
        raise InvalidData(f"{source}: {str(err).splitlines()[0]}") from err
    except Exception as err:  # DatasetNotFoundError, connection errors, ...
        raise InvalidData(f"cannot load data set {source!r} from the Hub: {str(err).splitlines()[0]}") from err


def _open_local(path: Path, *, split: str) -> datasets.Dataset:
    """Open a Parquet file/folder, a ``save_to_disk`` folder or an image folder."""
    if path.is_file():
        if path.suffix != ".parquet":
            raise InvalidData(f"{path}: expected a .parquet file or a folder")
        return _open_parquet([path], source=path)
    if (path / "dataset_dict.json").exists() or (path / "state.json").exists():
        return _pick_split(datasets.load_from_disk(str(path)), path, split)
    parquet_files = sorted(path.rglob("*.parquet"))
    if parquet_files:
        return _open_parquet(parquet_files, source=path)
    if (path / "metadata.csv").exists() or any(file.suffix.lower() in IMAGE_SUFFIXES for file in path.rglob("*")):
        return _pick_split(datasets.load_dataset("imagefolder", data_dir=str(path)), path, split)
    raise InvalidData(f"{path}: no Parquet files, save_to_disk data set or images found")


def _open_parquet(files: list[Path], *, source: Path) -> datasets.Dataset:
    """The records of the Parquet ``files`` (an HF ``Image`` column stays an image column)."""
    if sum(pyarrow.parquet.ParquetFile(file).metadata.num_rows for file in files) == 0:
        raise InvalidData(f"{source}: no records")
    return datasets.load_dataset("parquet", data_files=[str(file) for file in files], split="train")


def _pick_split(loaded: datasets.Dataset | datasets.DatasetDict, path: Path, split: str) -> datasets.Dataset:
    """``loaded`` itself, or its ``split`` when it holds several."""
    if isinstance(loaded, datasets.Dataset):
        return loaded
    if split not in loaded:
        raise InvalidData(f"{path} has no split {split!r} (splits: {', '.join(loaded)})")
    return loaded[split]


def _is_integer_feature(feature: object) -> bool:
    """Whether a ``datasets`` feature holds integers (ints, bools or class labels)."""
    if isinstance(feature, datasets.ClassLabel):
        return True
    return isinstance(feature, datasets.Value) and (
        feature.dtype.startswith(("int", "uint")) or feature.dtype == "bool"
    )


def _to_labelled(
    dataset: datasets.Dataset,
    source: str,
    *,
    image_column: str,
    columns: list[str] | None,
    image_size: int | None,
) -> LabelledImages:
    """Decode the image column and the integer columns of ``dataset``."""
    _require_column(dataset, source, image_column)
    label_columns = [name for name in dataset.column_names if name != image_column]
    if columns is None:
        columns = [name for name in label_columns if _is_integer_feature(dataset.features[name])]
    for name in columns:
        if name not in label_columns:
            raise InvalidData(f"{source} has no column {name!r} (columns: {', '.join(label_columns) or 'none'})")
        if not _is_integer_feature(dataset.features[name]):
            raise InvalidData(f"{source}: column {name!r} holds {dataset.features[name]}, not integers")
    images = _decode_images(dataset[image_column], source, image_size=image_size)
    values = {name: np.asarray(dataset[name], dtype=np.int64) for name in columns}
    return LabelledImages(images, values, source)


def _decode_images(
    pil_images: list[Image.Image], source: str, *, image_size: int | None, mode: str | None = None
) -> np.ndarray:
    """PIL images -> ``uint8 [N, H, W, C]`` in PIL ``mode`` ("L": C=1, "RGB": C=3); by default grey when every
    image is grey, RGB otherwise."""
    if mode is None:
        mode = "L" if all(image.mode in ("L", "1", "I", "I;16") for image in pil_images) else "RGB"
    arrays = [np.asarray(image.convert(mode)).reshape(image.height, image.width, -1) for image in pil_images]
    if image_size is not None:
        arrays = [resize_image(array, image_size) for array in arrays]
    shapes = {array.shape for array in arrays}
    if len(shapes) > 1:
        raise InvalidData(
            f"{source}: images have different sizes {sorted(shapes)[:3]}...; pass an image size to resize them"
        )
    return np.stack(arrays)


def _to_pil(image: np.ndarray) -> Image.Image:
    """One ``uint8 [H, W, C]`` image (C = 1 or 3) as a PIL image."""
    return Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)


def _select_columns(data: LabelledImages, columns: list[str] | None) -> LabelledImages:
    """``data`` with only the named ``columns`` (all when ``None``); a missing one is an error."""
    if columns is None:
        return data
    return LabelledImages(data.images, {name: data.column(name) for name in columns}, data.source)
