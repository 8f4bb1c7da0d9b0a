"""Annealed Langevin dynamics (Song & Ermon 2019, 2020) over an NCSNv2 score network, as a diffusers pipeline.

The sampler of ermongroup/ncsnv2 (``anneal_Langevin_dynamics``): start from uniform noise, walk down a
geometric ladder of noise levels, take ``n_steps_each`` Langevin steps at each,
``x <- x + a * s(x, sigma) + sqrt(2a) * z`` with step size ``a = step_lr * (sigma / sigma_end)^2``, and
end with one denoising step ``x <- x + sigma_end^2 * s(x, sigma_end)``. Every random draw for sample i
(its start and every ``z``) comes from its own generator, so an image does not depend on its batch.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from diffusers import ConfigMixin, ImagePipelineOutput, SchedulerMixin
from diffusers.configuration_utils import register_to_config
from scipy.optimize import minimize_scalar

from hubaudit.families.ncsnv2 import NCSNv2Model
from hubaudit.families.pipeline import FamilyPipeline

Generators = list[torch.Generator | None]


def geometric_sigmas(sigma_begin: float, sigma_end: float, levels: int) -> torch.Tensor:
    """``levels`` noise levels from ``sigma_begin`` down to ``sigma_end``, equal ratios between neighbours: float32 ``[levels]``.

    The reference's ``get_sigmas`` (``sigma_dist: geometric``): ``exp(linspace(log begin, log end, levels))``.
    """
    return torch.from_numpy(np.exp(np.linspace(np.log(sigma_begin), np.log(sigma_end), levels))).float()


def langevin_step_lr(sigma_begin: float, sigma_end: float, levels: int, n_steps_each: int) -> float:
    """Technique 4 of Song & Ermon 2020: the step size epsilon at ``sigma_end`` for a geometric ladder of ``levels``
    levels with ``n_steps_each`` Langevin steps each.

    Epsilon brings the variance ratio of their Eq. (7), ``(1 - e/s^2)^(2T) (g^2 - 2e/(s^2 - s^2 (1 - e/s^2)^2))
    + 2e/(s^2 - s^2 (1 - e/s^2)^2)`` with ``s = sigma_end``, ``g`` the ratio between neighbouring levels and
    ``T = n_steps_each``, as close to 1 as it gets (exactly 1 where T allows; short ladders with few steps
    cannot reach it, and the closest epsilon is taken). It gives the reference's CIFAR-10 value, 6.2e-6, for that
    ladder (sigma 50 to 0.01, 232 levels, 5 steps); on a 50-level ladder from 7.4 with 5 steps, where 6.2e-6 leaves
    16x16 MNIST samples pure noise, it gives 1.6e-5, and they are digits.
    """
    ratio = (sigma_begin / sigma_end) ** (1 / (levels - 1))
    variance = sigma_end**2

    def distance_from_one(log_epsilon: float) -> float:
        epsilon = math.exp(log_epsilon)
        shrink = (1 - epsilon / variance) ** 2
        stationary = 2 * epsilon / (variance - variance * shrink)
        return abs(shrink**n_steps_each * (ratio**2 - stationary) + stationary - 1)

    best = minimize_scalar(
        distance_from_one, bounds=(math.log(variance * 1e-6), math.log(variance * 0.999)), method="bounded"
    )
    return float(math.exp(best.x))


def draw_per_sample(
    draw: Callable, shape: tuple[int, ...], generators: Generators, device: torch.device, dtype: torch.dtype
) -> torch.Tensor:
    """One ``shape[1:]`` tensor per sample from ``draw`` (``torch.rand`` or ``torch.randn``) and that sample's
    generator (on the generator's device; the global RNG for None), stacked: ``[B, ...]`` on ``device`` in ``dtype``."""
    return torch.stack(
        [
            draw(shape[1:], generator=generator, device=generator.device if generator is not None else "cpu")
            for generator in generators
        ]
    ).to(device=device, dtype=dtype)


class AnnealedLangevinScheduler(SchedulerMixin, ConfigMixin):
    """The noise ladder and the Langevin step of annealed Langevin dynamics.

    Args:
        num_train_timesteps: L, the noise levels the network was trained on (diffusers' name for a
            scheduler's training steps, so that ``--steps`` is checked against it).
        sigma_begin: the largest noise level, sigma_1.
        sigma_end: the smallest, sigma_L.
        n_steps_each: Langevin steps at each noise level (T).
        step_lr: epsilon: the step size at ``sigma_end`` (a level's step size is ``step_lr * (sigma / sigma_end)^2``).
        denoise: end with the denoising step ``x + sigma_end^2 * s(x, sigma_end)``.
    """

    config_name = "scheduler_config.json"
    order = 1

    @register_to_config
    def __init__(
        self,
        num_train_timesteps: int = 232,
        sigma_begin: float = 50.0,
        sigma_end: float = 0.01,
        n_steps_each: int = 5,
        step_lr: float = 6.2e-6,
        denoise: bool = True,
    ):
        self.sigmas = geometric_sigmas(sigma_begin, sigma_end, num_train_timesteps)

    def set_timesteps(self, num_inference_steps: int | None = None, device: str | torch.device | None = None) -> None:
        """Walk ``num_inference_steps`` noise levels, a geometric ladder between the same ends (None: the L trained ones)."""
        levels = num_inference_steps or self.config.num_train_timesteps
        self.sigmas = geometric_sigmas(self.config.sigma_begin, self.config.sigma_end, levels).to(device)

    def step_size(self, sigma: torch.Tensor | float) -> float:
        """The Langevin step size at noise level ``sigma``: ``step_lr * (sigma / sigma_end)^2``."""
        return self.config.step_lr * (float(sigma) / self.config.sigma_end) ** 2

    def step(
        self, score: torch.Tensor, sigma: torch.Tensor | float, sample: torch.Tensor, *, generator: Generators
    ) -> torch.Tensor:
        """One Langevin step of ``sample`` ``[B, C, H, W]`` along ``score`` (same shape); sample i's noise from ``generator[i]``."""
        size = self.step_size(sigma)
        noise = draw_per_sample(torch.randn, sample.shape, generator, sample.device, sample.dtype)
        return sample + size * score + noise * math.sqrt(2 * size)

    def describe_steps(self, num_inference_steps: int | None) -> str:
        """What a run of ``num_inference_steps`` noise levels does, for the report."""
        levels = num_inference_steps or self.config.num_train_timesteps
        evaluations = levels * self.config.n_steps_each + int(self.config.denoise)
        denoise = " + a final denoising step" if self.config.denoise else ""
        return (
            f"annealed Langevin dynamics: {levels} noise levels (of {self.config.num_train_timesteps} trained, sigma "
            f"{self.config.sigma_begin:g} to {self.config.sigma_end:g}) x {self.config.n_steps_each} steps, step size "
            f"{self.config.step_lr:g} * (sigma / sigma_end)^2{denoise}: {evaluations} network evaluations per sample"
        )


class NCSNv2Pipeline(FamilyPipeline):
    """Unconditional sampling from an NCSNv2 score network by annealed Langevin dynamics.

    Args:
        unet: the score network (diffusers' component name for a pipeline's denoiser).
        scheduler: the noise ladder and Langevin step.
    """

    def __init__(self, unet: NCSNv2Model, scheduler: AnnealedLangevinScheduler):
        super().__init__()
        self.register_modules(unet=unet, scheduler=scheduler)

    @torch.no_grad()
    def __call__(
        self,
        batch_size: int = 1,
        generator: torch.Generator | list[torch.Generator] | None = None,
        num_inference_steps: int | None = None,
        output_type: str = "pil",
        return_dict: bool = True,
    ) -> ImagePipelineOutput | tuple:
        """Draw ``batch_size`` images.

        Args:
            batch_size: how many images.
            generator: a list of ``batch_size`` generators, one per image (image i depends on ``generator[i]``
                alone), or one generator (or None: the global RNG) drawing every image in turn.
            num_inference_steps: noise levels to walk, a geometric ladder from ``sigma_begin`` to ``sigma_end``
                (None: the scheduler's ``num_train_timesteps`` trained levels); each takes ``n_steps_each`` steps.
            output_type: ``"pil"``, or ``"np"`` for float ``[B, H, W, C]`` in [0, 1].
            return_dict: return an ``ImagePipelineOutput`` rather than a tuple.

        Returns:
            ``ImagePipelineOutput(images=...)``, or ``(images,)``.
        """
        generators = generator if isinstance(generator, list) else [generator] * batch_size
        if len(generators) != batch_size:
            raise ValueError(f"{len(generators)} generators for a batch of {batch_size}: give one per image")
        unet, scheduler = self.unet, self.scheduler
        side = unet.config.sample_size
        shape = (batch_size, unet.config.in_channels, side, side)
        sample = draw_per_sample(torch.rand, shape, generators, self.device, unet.dtype)  # uniform in [0, 1]
        if unet.config.rescaled:
            sample = 2 * sample - 1.0
        scheduler.set_timesteps(num_inference_steps, device=self.device)
        for sigma in self.progress_bar(scheduler.sigmas):
            for _ in range(scheduler.config.n_steps_each):
                sample = scheduler.step(unet(sample, sigma), sigma, sample, generator=generators)
        if scheduler.config.denoise:
            sigma_end = scheduler.sigmas[-1]
            sample = sample + sigma_end**2 * unet(sample, sigma_end)
        if unet.config.rescaled:
            sample = (sample + 1.0) / 2
        images = sample.clamp(0, 1).permute(0, 2, 3, 1).float().cpu().numpy()
        if output_type == "pil":
            images = self.numpy_to_pil(images)
        return ImagePipelineOutput(images=images) if return_dict else (images,)
