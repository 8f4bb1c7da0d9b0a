"""Membership scores of white-box attacks on a diffusion model: higher means "more likely a training image".

- ``loss``: minus the denoising loss ``||eps - eps_theta(x_t, t)||^2`` (mean over pixels) averaged over the chosen
  timesteps, each with fixed seeded noise (a training image is denoised better: Matsumoto et al. 2023; Carlini
  et al. 2023).
- ``pia``: the proximal initialization attack (Kong et al., ICLR 2024): the model's own prediction at ``t = 0``,
  ``eps_0 = eps_theta(x_0, 0)``, is the noise; ``x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps_0``; the score is
  minus ``||eps_0 - eps_theta(x_t, t)||_4^4`` (mean over values): two queries per image, no random noise.
- ``secmi`` (Duan et al., ICML 2023, SecMI_stat): the deterministic DDIM inversion ``x~_t`` of ``x_0`` in steps of
  ``SECMI_INTERVAL`` up to ``t = SECMI_TIMESTEP``, then one DDIM denoising step to ``t - interval`` and one inversion
  step back; the score is minus ``||x~_t - that round trip||^2`` (the "t-error"): ``t / interval + 2`` queries.

Scores are deterministic: image ``i`` of a set is noised with :func:`hubaudit.sampling.noise.sample_generator`
``(seed, i, set name)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from hubaudit.attacks.membership.whitebox import Condition, WhiteBox
from hubaudit.sampling.noise import sample_generator

ATTACKS = ("pia", "loss", "secmi")
PIA_NORM = 4
"""Kong et al.'s l_p norm."""
SECMI_TIMESTEP, SECMI_INTERVAL = 100, 10
"""Duan et al.'s t_SEC and step interval for DDPMs of 1,000 steps."""


def membership_scores(
    box: WhiteBox,
    images: np.ndarray,
    conditions: Sequence[Condition],
    *,
    attack: str,
    set_name: str,
    seed: int,
    loss_timesteps: Sequence[int],
    pia_timestep: int,
    batch_size: int,
) -> np.ndarray:
    """``float [N]``: the ``attack``'s score of each image (``uint8 [N, H, W, C]``) under its condition (the
    settings' defaults are :class:`hubaudit.declarations.MembershipSettings`')."""
    scores = []
    for start in range(0, len(images), batch_size):
        batch = slice(start, start + batch_size)
        clean = box.encode(images[batch])
        batch_conditions = list(conditions[batch])
        if attack == "pia":
            scores.append(_pia(box, clean, batch_conditions, pia_timestep))
        elif attack == "secmi":
            scores.append(_secmi(box, clean, batch_conditions))
        else:
            noise = torch.stack(
                [
                    torch.randn(clean.shape[1:], generator=sample_generator(seed, index, set_name))
                    for index in range(start, start + len(clean))
                ]
            ).to(box.device)
            scores.append(_loss(box, clean, noise, batch_conditions, loss_timesteps))
    return np.concatenate(scores)


def _loss(box: WhiteBox, clean, noise, conditions, timesteps) -> np.ndarray:
    losses = [
        ((box.predict_noise(box.noised(clean, noise, t), t, conditions) - noise) ** 2).flatten(1).mean(1)
        for t in timesteps
    ]
    return -torch.stack(losses).mean(0).cpu().numpy()


def _pia(box: WhiteBox, clean, conditions, timestep: int) -> np.ndarray:
    initial = box.predict_noise(clean, 0, conditions)
    predicted = box.predict_noise(box.noised(clean, initial, timestep), timestep, conditions)
    return -((predicted - initial).abs() ** PIA_NORM).flatten(1).mean(1).cpu().numpy()


def _ddim_step(box: WhiteBox, x, source: int, target: int, conditions) -> torch.Tensor:
    """One deterministic DDIM step of ``x`` from timestep ``source`` to ``target`` (down: denoising; up: inversion)."""
    noise = box.predict_noise(x, source, conditions)
    alpha_source, alpha_target = box.alphas_cumprod[source], box.alphas_cumprod[target]
    clean = (x - (1 - alpha_source).sqrt() * noise) / alpha_source.sqrt()
    return alpha_target.sqrt() * clean + (1 - alpha_target).sqrt() * noise


def _secmi(box: WhiteBox, clean, conditions) -> np.ndarray:
    inverted = clean
    for source in range(0, SECMI_TIMESTEP, SECMI_INTERVAL):
        inverted = _ddim_step(box, inverted, source, source + SECMI_INTERVAL, conditions)
    earlier = SECMI_TIMESTEP - SECMI_INTERVAL
    round_trip = _ddim_step(
        box, _ddim_step(box, inverted, SECMI_TIMESTEP, earlier, conditions), earlier, SECMI_TIMESTEP, conditions
    )
    return -((round_trip - inverted) ** 2).flatten(1).mean(1).cpu().numpy()
