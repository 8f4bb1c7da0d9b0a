"""Fill a sample store: batched, resumable, sharded across processes, halving the batch on out-of-memory."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from accelerate.utils.memory import clear_device_cache
from tqdm.auto import tqdm

from hubaudit.errors import HubAuditError, NotEnoughDisk, OutOfMemory, RankFailed, first_line
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

    def agree(self, error: BaseException | None) -> None:
        """Every process calls this at the end of a phase with the error it met, or None; then every process
        raises if any did: its own error, or :class:`RankFailed` with the first failing rank's message.

        This is what keeps one rank's failure (bad input, out of memory) from leaving the others waiting.
        """
        if self.world > 1:
            from accelerate.utils import gather_object

            line = (
                None
                if error is None
                else (
                    str(error) if isinstance(error, HubAuditError) else f"{type(error).__name__}: {first_line(error)}"
                )
            )
            said = None if line is None else (line, list(getattr(error, "options", ())))
            failed = [(rank, found) for rank, found in enumerate(gather_object([said])) if found is not None]
            if failed and error is None:
                rank, (message, options) = failed[0]
                raise RankFailed(rank, message, options=options)
        if error is not None:
            raise error

    def on_main(self, work: Callable[[], object]) -> object:
        """``work()`` on the main process (None on the others); a failure there is raised on every process."""
        value, error = None, None
        if self.is_main:
            try:
                value = work()
            except Exception as err:
                error = err
        self.agree(error)
        return value

    def share(self, value: object) -> object:
        """The main process's ``value`` on every process (a decision made once: stop sampling or go on)."""
        if self.world == 1:
            return value
        from accelerate.utils import broadcast_object_list

        return broadcast_object_list([value], from_process=0)[0]


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
    start = time.perf_counter()
    error = None
    try:
        batch_size = _generate(sampler, store, mine, condition, batch_size, shard, progress, remaining=len(missing))
    except Exception as err:  # raised on every process by agree(): no process waits for one that failed
        error = err
    shard.agree(error)  # past it, every process has stored its share of the missing samples
    return FillStats(len(missing), n - len(missing), time.perf_counter() - start, batch_size)


def _generate(
    sampler: Sampler,
    store: SampleStore,
    indices: np.ndarray,
    condition: Condition,
    batch_size: int,
    shard: Shard,
    progress: bool,
    *,
    remaining: int,
) -> int:
    """Draw and store ``indices`` batch by batch; returns the final batch size (halved on out-of-memory).

    The failed batch's tensors are released before the device cache is emptied: the cache is cleared
    outside the ``except`` block, whose traceback would still hold them.
    """
    position = 0
    label = f"sampling {condition!r}" if condition is not None else "sampling"
    with tqdm(total=len(indices), unit="sample", desc=label, disable=not (progress and shard.is_main)) as bar:
        while position < len(indices):
            batch = indices[position : position + batch_size]
            out_of_memory = False
            try:
                images = sampler.generate(batch, condition)
            except Exception as err:
                if not is_out_of_memory(err):
                    raise
                if batch_size == 1:
                    raise OutOfMemory(str(sampler.device)) from err
                out_of_memory = True
            if out_of_memory:
                batch_size //= 2
                clear_device_cache(garbage_collection=True)
                bar.write(f"out of memory: batch size halved to {batch_size}")
                continue
            written = store.write(batch, images, rank=shard.rank)
            if position == 0:
                _check_disk_space(store, written.stat().st_size / len(batch), remaining - len(batch) * shard.world)
            position += len(batch)
            bar.update(len(batch))
    return batch_size


DISK_MARGIN = 1.1
"""The space the remaining samples need is estimated as this times the first batch's bytes per sample."""


def _check_disk_space(store: SampleStore, bytes_per_sample: float, remaining: int) -> None:
    """Raise :class:`NotEnoughDisk` if ``remaining`` more samples would not fit beside ``store``."""
    needed = DISK_MARGIN * bytes_per_sample * max(remaining, 0)
    free = shutil.disk_usage(store.path).free
    if needed > free:
        raise NotEnoughDisk(store.path, needed, free, len(store.indices()))
