"""Fill a sample store: batched, resumable, sharded across processes, halving the batch on out-of-memory."""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from hubaudit.errors import NotEnoughDisk, OutOfMemory
from hubaudit.sampling.config import Condition
from hubaudit.sampling.samplers import Sampler, is_out_of_memory
from hubaudit.sampling.store import SampleStore


@dataclass(frozen=True)
class Shard:
    """This process's share of the work: indices ``rank, rank + world, ...`` of what is missing."""

    rank: int = 0
    world: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        """Wait for every process (a no-op in a single process)."""
        if self.world > 1:
            from accelerate import PartialState

            PartialState().wait_for_everyone()


def current_shard() -> Shard:
    """The shard of this process under ``accelerate launch`` / ``torchrun``; one shard otherwise."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return Shard()
    from accelerate import PartialState

    state = PartialState(cpu=not torch.cuda.is_available())
    return Shard(state.process_index, state.num_processes)


@dataclass
class FillStats:
    """What one fill did: samples generated now (by all processes) vs. found on disk, seconds, final batch size."""

    generated: int
    reused: int
    seconds: float
    batch_size: int

    @property
    def samples_per_second(self) -> float:
        return self.generated / self.seconds if self.seconds > 0 else 0.0


def fill_store(
    sampler: Sampler,
    store: SampleStore,
    *,
    n: int,
    condition: Condition = None,
    batch_size: int = 32,
    shard: Shard = Shard(),
    progress: bool = True,
) -> FillStats:
    """Generate the samples ``0..n-1`` that ``store`` lacks; each batch is on disk before the next starts.

    On out-of-memory the batch size halves and the same indices are retried; at batch
    size 1 it raises :class:`OutOfMemory`. Once the first batch is on disk, the space the rest
    needs is estimated from its size, and :class:`NotEnoughDisk` is raised if the disk cannot hold
    it. All processes of a sharded run must call this together: the missing indices are read
    before anyone writes.
    """
    missing = store.missing(n)
    shard.barrier()
    mine = missing[shard.rank :: shard.world]
    start, position = time.perf_counter(), 0
    label = f"sampling {condition!r}" if condition is not None else "sampling"
    with tqdm(total=len(mine), unit="sample", desc=label, disable=not (progress and shard.is_main)) as bar:
        while position < len(mine):
            batch = mine[position : position + batch_size]
            try:
                images = sampler.generate(batch, condition)
            except Exception as err:
                if not is_out_of_memory(err):
                    raise
                if batch_size == 1:
                    raise OutOfMemory(str(sampler.device)) from err
                batch_size //= 2
                if torch.cuda.is_available():
                    torch.cuda.empty_cache()
                bar.write(f"out of memory: batch size halved to {batch_size}")
                continue
            written = store.write(batch, images, rank=shard.rank)
            if position == 0:
                _check_disk_space(store, written.stat().st_size / len(batch), len(missing) - len(batch) * shard.world)
            position += len(batch)
            bar.update(len(batch))
    shard.barrier()  # past it, every process has stored its share of the missing samples
    return FillStats(len(missing), n - len(missing), time.perf_counter() - start, batch_size)


DISK_MARGIN = 1.1
"""The space the remaining samples need is estimated as this times the first batch's bytes per sample."""


def _check_disk_space(store: SampleStore, bytes_per_sample: float, remaining: int) -> None:
    """Raise :class:`NotEnoughDisk` if ``remaining`` more samples would not fit beside ``store``."""
    needed = DISK_MARGIN * bytes_per_sample * max(remaining, 0)
    free = shutil.disk_usage(store.path).free
    if needed > free:
        raise NotEnoughDisk(store.path, needed, free, len(store.indices()))
