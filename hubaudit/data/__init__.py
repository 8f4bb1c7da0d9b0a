"""Labelled image data: the in-memory form, loaders, a Parquet writer and builtin data sets."""

from hubaudit.data.builtin import colored_mnist, colored_shirts, fashion_mnist, mnist, mnist_with_property_share
from hubaudit.data.labelled import LabelledImages
from hubaudit.data.loaders import (
    ImageChunks,
    load_labelled_images,
    load_text_column,
    open_image_chunks,
    save_labelled_images,
)

__all__ = [
    "ImageChunks",
    "LabelledImages",
    "colored_mnist",
    "colored_shirts",
    "fashion_mnist",
    "load_labelled_images",
    "load_text_column",
    "mnist",
    "mnist_with_property_share",
    "open_image_chunks",
    "save_labelled_images",
]
