"""Sampling: deterministic per-index noise, the sample store, out-of-memory halving."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from diffusers import DiffusionPipeline

import tiny_models
from hubaudit.errors import IncompleteSampleStore, InvalidSamplerConfig, OutOfMemory
from hubaudit.sampling import SamplerConfig, SampleStore, build_sampler, fill_store, open_sample_store
from hubaudit.sampling.noise import sample_generator

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def ddpm(tmp_path_factory) -> DiffusionPipeline:
    path = tiny_models.save_pipeline(tiny_models.build_ddpm, tmp_path_factory.mktemp("ddpm") / "model")
    return DiffusionPipeline.from_pretrained(path)


@pytest.fixture(scope="module")
def class_conditional(tmp_path_factory) -> DiffusionPipeline:
    build = tiny_models.build_ddpm_class_conditional
    path = tiny_models.save_pipeline(build, tmp_path_factory.mktemp("cc") / "model")
    return DiffusionPipeline.from_pretrained(path)


def test_noise_of_a_sample_depends_only_on_seed_condition_and_index():
    first = torch.randn(4, generator=sample_generator(7, 3))
    assert torch.equal(first, torch.randn(4, generator=sample_generator(7, 3)))
    assert not torch.equal(first, torch.randn(4, generator=sample_generator(7, 4)))
    assert not torch.equal(first, torch.randn(4, generator=sample_generator(8, 3)))
    class_1 = torch.randn(4, generator=sample_generator(7, 3, 1))
    assert torch.equal(class_1, torch.randn(4, generator=sample_generator(7, 3, 1)))
    assert not torch.equal(class_1, first)
    assert not torch.equal(class_1, torch.randn(4, generator=sample_generator(7, 3, "1")))


def test_images_do_not_depend_on_the_batch_they_were_drawn_in(ddpm):
    sampler = build_sampler(ddpm, SamplerConfig(num_inference_steps=3, seed=1), CPU)
    whole = sampler.generate(np.arange(6))
    pieces = np.concatenate([sampler.generate(np.arange(i, i + 2)) for i in range(0, 6, 2)])
    alone = sampler.generate(np.array([4]))
    assert whole.dtype == np.uint8 and whole.shape == (6, 16, 16, 3)
    assert np.abs(whole.astype(int) - pieces).max() <= 1
    assert np.abs(whole[4:5].astype(int) - alone).max() <= 1
    assert np.abs(whole[0].astype(int) - whole[1]).mean() > 5  # different indices, different images


def test_class_conditional_model_is_sampled_per_class(class_conditional):
    sampler = build_sampler(class_conditional, SamplerConfig(num_inference_steps=2), CPU)
    assert sampler.kind == "class-conditional"
    assert sampler.default_conditions() == [0, 1, 2]
    class_0, class_2 = sampler.generate(np.arange(2), 0), sampler.generate(np.arange(2), 2)
    assert np.array_equal(class_0, sampler.generate(np.arange(2), 0))
    assert not np.array_equal(class_0, class_2)
    with pytest.raises(InvalidSamplerConfig, match="not a class id"):
        sampler.generate(np.arange(2), 5)


def test_unconditional_model_refuses_a_prompt(ddpm):
    sampler = build_sampler(ddpm, SamplerConfig(num_inference_steps=2), CPU)
    with pytest.raises(InvalidSamplerConfig, match="unconditional"):
        sampler.check_condition("a photo")


def test_scheduler_swap_to_ddim_is_recorded(ddpm):
    sampler = build_sampler(ddpm, SamplerConfig(num_inference_steps=2, scheduler="ddim"), CPU)
    assert sampler.describe()["scheduler_class"] == "DDIMScheduler"


def test_store_streams_batches_and_loads_with_datasets(tmp_path):
    import datasets

    store = SampleStore(tmp_path, {"model": "m", "condition": None})
    images = np.random.default_rng(0).integers(0, 256, size=(5, 8, 8, 3), dtype=np.uint8)
    store.write(np.array([3, 4]), images[3:])
    store.write(np.array([0, 1, 2]), images[:3])
    assert store.indices().tolist() == [0, 1, 2, 3, 4]
    assert store.missing(7).tolist() == [5, 6]
    assert np.array_equal(store.load(5), images)
    batches = list(store.iter_batches(5, batch_size=2))
    assert [len(indices) for indices, _ in batches] == [2, 2, 1]
    ((tail_indices, tail_images),) = store.iter_batches(5, start=3)
    assert tail_indices.tolist() == [3, 4] and np.array_equal(tail_images, images[3:])
    with pytest.raises(IncompleteSampleStore, match="lacks 2 of samples 3..6"):
        list(store.iter_batches(7, start=3))
    loaded = datasets.load_dataset("parquet", data_files=str(store.path / "*.parquet"), split="train")
    by_index = {row["index"]: np.asarray(row["image"]) for row in loaded}
    assert np.array_equal(by_index[3], images[3])


def test_store_folder_is_keyed_by_model_and_configuration(tmp_path):
    first = SampleStore(tmp_path, {"sha": "a", "sampler": {"seed": 0}})
    assert SampleStore(tmp_path, {"sha": "a", "sampler": {"seed": 0}}).path == first.path
    assert SampleStore(tmp_path, {"sha": "a", "sampler": {"seed": 1}}).path != first.path
    assert SampleStore(tmp_path, {"sha": "b", "sampler": {"seed": 0}}).path != first.path


class _FailingSampler:
    """Wraps a sampler: raises ``error`` for batches larger than ``max_batch`` or after ``calls`` calls."""

    def __init__(self, sampler, *, max_batch: int = 10**9, fail_after_calls: int | None = None, error=None):
        self.sampler, self.max_batch, self.fail_after_calls = sampler, max_batch, fail_after_calls
        self.error = error or torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        self.device, self.calls, self.batch_sizes = CPU, 0, []

    def generate(self, indices, condition=None):
        self.calls += 1
        self.batch_sizes.append(len(indices))
        if self.fail_after_calls is not None and self.calls > self.fail_after_calls:
            raise KeyboardInterrupt
        if len(indices) > self.max_batch:
            raise self.error
        return self.sampler.generate(indices, condition)


def test_out_of_memory_halves_the_batch_and_gives_the_same_images(ddpm, tmp_path):
    sampler = build_sampler(ddpm, SamplerConfig(num_inference_steps=2), CPU)
    failing = _FailingSampler(sampler, max_batch=2)
    store = SampleStore(tmp_path, {"run": "oom"})
    stats = fill_store(failing, store, n=6, batch_size=8, progress=False)
    assert stats.batch_size == 2 and stats.generated == 6
    assert failing.batch_sizes == [6, 4, 2, 2, 2]
    assert np.abs(store.load(6).astype(int) - sampler.generate(np.arange(6))).max() <= 1


def test_out_of_memory_at_batch_size_one_is_a_clear_error(ddpm, tmp_path):
    sampler = build_sampler(ddpm, SamplerConfig(num_inference_steps=2), CPU)
    failing = _FailingSampler(sampler, max_batch=0, error=RuntimeError("MPS backend out of memory"))
    with pytest.raises(OutOfMemory, match="batch size 1"):
        fill_store(failing, SampleStore(tmp_path, {"run": "oom1"}), n=3, batch_size=4, progress=False)


def test_interrupted_fill_keeps_finished_batches_and_resumes_without_resampling(ddpm, tmp_path):
    sampler = build_sampler(ddpm, SamplerConfig(num_inference_steps=2), CPU)
    store = SampleStore(tmp_path, {"run": "resume"})
    with pytest.raises(KeyboardInterrupt):
        fill_store(_FailingSampler(sampler, fail_after_calls=2), store, n=7, batch_size=2, progress=False)
    assert store.indices().tolist() == [0, 1, 2, 3]
    counting = _FailingSampler(sampler)
    stats = fill_store(counting, store, n=7, batch_size=2, progress=False)
    assert (stats.generated, stats.reused) == (3, 4)
    assert counting.batch_sizes == [2, 1]
    assert np.abs(store.load(7).astype(int) - sampler.generate(np.arange(7))).max() <= 1


def test_an_existing_store_reopens_from_its_folder_alone(tmp_path):
    store = SampleStore(tmp_path, {"sha": "a", "condition": 1})
    store.write(np.array([0]), np.zeros((1, 4, 4, 1), dtype=np.uint8))
    reopened = open_sample_store(store.path)
    assert reopened.key == store.key and reopened.indices().tolist() == [0]
    assert open_sample_store(tmp_path / "no-such-store") is None
    renamed = store.path.rename(tmp_path / "renamed")
    assert open_sample_store(renamed) is None  # under another name it would be a new, empty store


REAL_ALLOCATION = """
import resource, sys
import numpy as np, torch
from hubaudit.sampling import SampleStore, fill_store

class OneGiBPerSample:
    device = torch.device("cpu")

    def generate(self, indices, condition=None):
        torch.empty(len(indices) * 2**30, dtype=torch.uint8)  # the activations of a large model
        return np.zeros((len(indices), 4, 4, 1), np.uint8)

store = SampleStore(sys.argv[1], {"run": "capped"})
store.write(np.array([0]), np.zeros((1, 4, 4, 1), np.uint8))  # pyarrow reserves its memory pool's address space once
address_space = int(next(line for line in open("/proc/self/status") if line.startswith("VmSize")).split()[1]) * 1024
resource.setrlimit(resource.RLIMIT_AS, (address_space + int(2.5 * 2**30), resource.RLIM_INFINITY))
stats = fill_store(OneGiBPerSample(), store, n=7, batch_size=8, progress=False)
print(stats.batch_size, stats.generated)
"""


@pytest.mark.slow
def test_a_real_out_of_memory_under_a_memory_cap_halves_the_batch_until_it_fits(tmp_path):
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", REAL_ALLOCATION, str(tmp_path)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    *notices, last = result.stdout.strip().splitlines()
    assert last.split() == ["2", "6"]  # 8 and 4 GiB did not fit under the cap, 2 GiB did
    assert notices == ["out of memory: batch size halved to 4", "out of memory: batch size halved to 2"]


@pytest.mark.slow
def test_a_compiled_denoiser_draws_the_same_images(ddpm):
    sampler = build_sampler(ddpm, SamplerConfig(num_inference_steps=2, seed=3), CPU)
    eager = sampler.generate(np.arange(3))
    sampler.compile()
    assert sampler.describe()["compiled"] is True
    assert np.abs(sampler.generate(np.arange(3)).astype(int) - eager).max() <= 1
