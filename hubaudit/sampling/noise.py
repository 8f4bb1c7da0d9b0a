"""Deterministic per-sample randomness: sample i's noise depends only on (seed, condition, i).

For an unconditional model that is (seed, i). Each class or prompt of a conditional model gets
its own stream, so the samples of different conditions are independent draws (the statistics
that compare or pool conditions assume so).
"""

from __future__ import annotations

import hashlib

import numpy as np
import torch

from hubaudit.sampling.config import Condition


def _condition_entropy(condition: Condition) -> list[int]:
    """Words that make a condition's stream distinct; none for the unconditional case."""
    if condition is None:
        return []
    text = f"{type(condition).__name__}:{condition}"
    return [int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")]


def sample_generator(seed: int, index: int, condition: Condition = None) -> torch.Generator:
    """A CPU generator for sample ``index`` of ``condition`` in a scan seeded with ``seed``.

    The state is derived with :class:`numpy.random.SeedSequence`, so nearby (seed, index)
    pairs give unrelated streams. Being on the CPU, the noise is the same on every device,
    batch size, resume point and shard.
    """
    entropy = [seed, *_condition_entropy(condition), index]
    state = np.random.SeedSequence(entropy).generate_state(1, dtype=np.uint64)[0]
    return torch.Generator("cpu").manual_seed(int(state))


def sample_generators(seed: int, indices: np.ndarray, condition: Condition = None) -> list[torch.Generator]:
    """One generator per sample index, in order."""
    return [sample_generator(seed, int(i), condition) for i in indices]
