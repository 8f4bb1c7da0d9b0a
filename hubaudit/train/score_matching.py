"""Denoising score matching, shared by the NCSNv2 and score-SDE trainers (Vincent 2011; Song & Ermon 2019, 2020).

Both perturb images in [0, 1] with Gaussian noise ``sigma z`` and train a network ``s(x, sigma)`` towards the score of
the perturbation kernel, ``-z / sigma``, weighted by ``sigma^2``: the loss of one image is
``sigma^2 / 2 * |s(x + sigma z, sigma) + z / sigma|^2 = 1/2 * |sigma s(x + sigma z, sigma) + z|^2``. They differ in
how sigma is drawn (a geometric ladder, or log-uniform over an interval) and in the network.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from hubaudit.data.labelled import LabelledImages

MAX_IMAGES_FOR_LARGEST_DISTANCE = 1000
"""The largest noise level is measured on at most this many training images."""

#: The network as the loss calls it: (noisy images ``[B, C, H, W]``, their sigmas ``[B]``) -> scores ``[B, C, H, W]``.
ScoreOf = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def unit_pixels(data: LabelledImages) -> torch.Tensor:
    """``data``'s images as ``float32 [N, C, H, W]`` in [0, 1]."""
    return torch.from_numpy(data.images.astype(np.float32) / 255.0).permute(0, 3, 1, 2)


def largest_distance(pixels: torch.Tensor, *, seed: int) -> float:
    """The largest Euclidean distance between two of ``pixels`` ``[N, C, H, W]`` (a seeded subset of at most
    :data:`MAX_IMAGES_FOR_LARGEST_DISTANCE`): the largest noise level Song & Ermon (2020, technique 1) recommend."""
    chosen = np.random.default_rng(seed).permutation(len(pixels))[:MAX_IMAGES_FOR_LARGEST_DISTANCE]
    flat = pixels[torch.from_numpy(chosen)].flatten(1)
    return float(torch.cdist(flat, flat).max())


def denoising_score_matching_loss(
    score_of: ScoreOf,
    clean: torch.Tensor,
    sigmas: torch.Tensor,
    generator: torch.Generator,
    device: torch.device,
) -> torch.Tensor:
    """The batch mean of ``sigma^2 / 2 * |s(x + sigma z, sigma) + z / sigma|^2``, summed over each image's pixels.

    Args:
        score_of: the network being trained.
        clean: the batch's images ``[B, C, H, W]`` on the CPU.
        sigmas: each image's noise level ``[B]`` on the CPU.
        generator: this step's generator; ``z`` (standard normal, shaped like ``clean``) is drawn from it.
        device: where ``score_of`` runs.
    """
    used = sigmas.view(-1, 1, 1, 1)
    noise = torch.randn(clean.shape, generator=generator) * used
    scores = score_of((clean + noise).to(device), used.flatten().to(device))
    target = (-noise / used**2).to(device)
    per_image = 0.5 * ((scores.float() - target) ** 2).flatten(1).sum(dim=1) * used.flatten().to(device) ** 2
    return per_image.mean()
