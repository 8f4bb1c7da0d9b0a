"""Deterministic per-sample randomness: sample i's noise depends only on (seed, i)."""

from __future__ import annotations

import numpy as np
import torch


def sample_generator(seed: int, index: int) -> torch.Generator:
    """A CPU generator for sample ``index`` of a scan seeded with ``seed``.

    The state is derived with :class:`numpy.random.SeedSequence`, so nearby (seed, index)
    pairs give unrelated streams. Being on the CPU, the noise is the same on every device,
    batch size, resume point and shard.
    """
    state = np.random.SeedSequence([seed, index]).generate_state(1, dtype=np.uint64)[0]
    return torch.Generator("cpu").manual_seed(int(state))


def sample_generators(seed: int, indices: np.ndarray) -> list[torch.Generator]:
    """One generator per sample index, in order."""
    return [sample_generator(seed, int(i)) for i in indices]
