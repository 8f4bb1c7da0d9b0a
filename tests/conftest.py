"""Shared fixtures.

At import, before anything imports huggingface_hub or torch (they read these variables once):
point the Hub client at the local test Hub of tests/hub_server.py, with a fresh HF_HOME and cache
and no token, and run torch on one thread unless OMP_NUM_THREADS says otherwise (the test models
are tiny; on a busy machine several threads make them up to 100x slower). CLI subprocesses started
by tests inherit this environment.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from ports import free_port

TEST_HUB_PORT = free_port()
_HF_HOME = Path(tempfile.mkdtemp(prefix="hubaudit-test-hf-home-"))
atexit.register(shutil.rmtree, _HF_HOME, ignore_errors=True)

for _name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ.pop(_name, None)
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.update(
    HF_ENDPOINT=f"http://127.0.0.1:{TEST_HUB_PORT}",
    HF_HOME=str(_HF_HOME),
    HF_HUB_CACHE=str(_HF_HOME / "hub"),
    HF_HUB_DISABLE_TELEMETRY="1",
    HF_HUB_DISABLE_PROGRESS_BARS="1",
)


@pytest.fixture(scope="session")
def test_hub(tmp_path_factory):
    """The running test Hub (a ``hub_server.ServedHub``) at ``HF_ENDPOINT``, stopped at session end."""
    from hub_server import serve_test_hub

    with serve_test_hub(tmp_path_factory.mktemp("test-hub"), port=TEST_HUB_PORT) as hub:
        yield hub


# Fixtures that several test files use. Each imports hubaudit (and so torch) only when it runs, after the
# environment above is set.


@pytest.fixture(scope="module")
def colour_annotator(tmp_path_factory):
    """A saved CNN that tells red from green Colored-MNIST digits (trained in about a second)."""
    from hubaudit.annotate import train_auxiliary_annotator
    from hubaudit.data import colored_mnist

    folder = tmp_path_factory.mktemp("colour-annotator")
    train_auxiliary_annotator(colored_mnist(n=200, seed=1, image_size=16), "color", epochs=2).save(folder)
    return folder


@pytest.fixture(scope="module")
def grey_data():
    """12 random 16x16 grey images with a binary ``label`` (a ``LabelledImages``)."""
    import numpy as np

    from hubaudit.data import LabelledImages

    images = np.random.default_rng(0).integers(0, 256, (12, 16, 16, 1), dtype=np.uint8)
    return LabelledImages(images, {"label": np.arange(12) % 2}, "tiny-grey")


@pytest.fixture(scope="module")
def clip_folder(tmp_path_factory) -> Path:
    """A tiny random-weight CLIP saved with ``save_pretrained`` (:func:`tiny_models.save_tiny_clip`)."""
    import tiny_models

    return tiny_models.save_tiny_clip(tmp_path_factory.mktemp("clip"))
