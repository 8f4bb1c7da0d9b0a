"""With --allow-pickle, picklescan reads every pickle that would load; anything it does not know to be safe is refused."""

from __future__ import annotations

import collections
import pickle

import pytest
import torch

import tiny_models
from hubaudit.errors import UnsafePickle
from hubaudit.hub.pickles import loaded_pickle_files, pickle_only_components, scan_pickle_files


@pytest.mark.parametrize(
    ("files", "pickle_only"),
    [
        (["unet/diffusion_pytorch_model.bin", "unet/diffusion_pytorch_model.safetensors"], []),
        (["unet/diffusion_pytorch_model.bin", "unet/decoy.safetensors"], ["unet"]),
        (["unet/diffusion_pytorch_model.bin", "unet/diffusion_pytorch_model.fp16.safetensors"], ["unet"]),
        (["pytorch_model.bin", "model.safetensors.index.json", "model-00001-of-00002.safetensors"], []),
        (["pytorch_model.bin", "config.json"], ["(root)"]),
    ],
)
def test_a_component_is_safe_only_with_the_safetensors_file_its_loader_reads(files, pickle_only):
    assert pickle_only_components(files) == pickle_only
    assert bool(loaded_pickle_files(files)) == bool(pickle_only)


def test_torch_weights_are_clean_and_anything_unknown_or_unparseable_is_refused(tmp_path):
    torch.save({"weight": torch.zeros(2)}, tmp_path / "weights.bin")
    assert scan_pickle_files("m", {"weights.bin": tmp_path / "weights.bin"}, allow_pickle=True)["verdict"] == "clean"
    cases = {
        "counter.bin": (pickle.dumps(collections.Counter(a=1)), "imports collections.Counter"),
        "garbage.bin": (b"not a pickle at all", "imports nothing picklescan can parse"),
        "mkdir.bin": (tiny_models.code_running_pickle(tmp_path / "pwned"), "imports posix.mkdir"),
    }
    for name, (data, message) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(UnsafePickle, match=message):
            scan_pickle_files("m", {name: tmp_path / name}, allow_pickle=True)
        verdict = scan_pickle_files("m", {name: tmp_path / name}, allow_pickle="unsafe")
        assert verdict["verdict"] == "flagged" and verdict["accepted_unsafe"]
    assert not (tmp_path / "pwned").exists()
