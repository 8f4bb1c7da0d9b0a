"""Labelled image data: the one in-memory form every layer that trains or evaluates uses."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from hubaudit.errors import InvalidData


@dataclass
class LabelledImages:
    """Images with integer label columns.

    Attributes:
        images: ``uint8`` array ``[N, H, W, C]`` (C = 1 or 3), pixel values 0..255.
        columns: column name -> ``int64`` array ``[N]`` (a 0/1 attribute, a class id, ...).
        source: where the data came from (a data set id, a path, or a builder name), for reports.
    """

    images: np.ndarray
    columns: dict[str, np.ndarray] = field(default_factory=dict)
    source: str = ""

    def __post_init__(self) -> None:
        if self.images.ndim != 4 or self.images.dtype != np.uint8:
            raise InvalidData(
                f"{self.source or 'data'}: images must be uint8 [N, H, W, C], got {self.images.dtype} {self.images.shape}"
            )
        if len(self.images) == 0:
            raise InvalidData(f"{self.source or 'data'}: no images")
        for name, values in self.columns.items():
            if len(values) != len(self.images):
                raise InvalidData(
                    f"{self.source or 'data'}: column {name!r} has {len(values)} values for {len(self.images)} images"
                )

    def __len__(self) -> int:
        return len(self.images)

    def column(self, name: str, *, binary: bool = False) -> np.ndarray:
        """The named column as ``int64 [N]``; with ``binary`` it must hold only 0 and 1."""
        if name not in self.columns:
            raise InvalidData(
                f"{self.source or 'data'} has no column {name!r} (columns: {', '.join(sorted(self.columns)) or 'none'})"
            )
        values = np.asarray(self.columns[name])
        if binary and not np.isin(values, (0, 1)).all():
            raise InvalidData(
                f"{self.source or 'data'}: column {name!r} must be 0/1, found values {sorted(set(values.tolist()))[:10]}"
            )
        return values.astype(np.int64)

    def subset(self, indices: np.ndarray) -> LabelledImages:
        """The records at ``indices`` (int array), columns alike."""
        return LabelledImages(self.images[indices], {k: v[indices] for k, v in self.columns.items()}, self.source)

    def resized(self, image_size: int) -> LabelledImages:
        """The same records with images resized to ``image_size x image_size`` (bilinear, antialiased)."""
        if self.images.shape[1:3] == (image_size, image_size):
            return self
        resized = np.stack([resize_image(image, image_size) for image in self.images])
        return LabelledImages(resized, dict(self.columns), self.source)


def resize_image(image: np.ndarray, image_size: int) -> np.ndarray:
    """One ``uint8 [H, W, C]`` image resized to ``[image_size, image_size, C]`` with PIL (bilinear)."""
    pil = Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)
    array = np.asarray(pil.resize((image_size, image_size), Image.Resampling.BILINEAR))
    return array.reshape(image_size, image_size, image.shape[-1])
