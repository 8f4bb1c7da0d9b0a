"""The white-box view of a diffusion pipeline that membership attacks need: encode an image to the denoiser's
space, noise it with the scheduler's ``alphas_cumprod``, and predict the noise under the image's condition.

Supported: pixel-space ``UNet2DModel`` pipelines (unconditional or with class embeddings: DDPM, DDIM), latent ones
with an ``AutoencoderKL`` or ``VQModel`` (LDM, DiT), and text-to-image ``UNet2DConditionModel`` pipelines with an
``encode_prompt`` (Stable Diffusion). Schedulers must be of the DDPM family (``alphas_cumprod``) and predict the
noise (``epsilon``) or ``v_prediction`` (converted to noise). Anything else is refused in one line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from hubaudit.data.labelled import resize_image
from hubaudit.errors import UnsupportedMembershipModel

Condition = int | str | None


@dataclass
class WhiteBox:
    """A pipeline's denoiser and noise schedule.

    Attributes:
        pipeline: the loaded pipeline (its denoiser, autoencoder and text encoder are used).
        kind: ``unconditional``, ``class-conditional`` or ``text-to-image``.
        image_size: the side, in pixels, images are resized to before encoding.
        channels: 1 (grey) or 3 (RGB): the pixel channels the model takes.
        alphas_cumprod: float ``[T]``, the scheduler's cumulative signal shares.
        device: where the denoiser runs.
    """

    pipeline: object
    kind: str
    image_size: int
    channels: int
    alphas_cumprod: torch.Tensor
    device: torch.device

    @property
    def denoiser(self):
        return getattr(self.pipeline, "unet", None) or self.pipeline.transformer

    @property
    def autoencoder(self):
        return getattr(self.pipeline, "vae", None) or getattr(self.pipeline, "vqvae", None)

    @torch.no_grad()
    def encode(self, images: np.ndarray) -> torch.Tensor:
        """``uint8 [N, H, W, C]`` -> the denoiser's clean input ``x0`` (pixels in [-1, 1], or latents)."""
        resized = np.stack([resize_image(image, self.image_size) for image in images])
        if resized.shape[-1] != self.channels:
            resized = (
                np.repeat(resized, 3, -1) if self.channels == 3 else resized.mean(-1, keepdims=True).astype(np.uint8)
            )
        pixels = torch.from_numpy(resized.astype(np.float32) / 127.5 - 1).permute(0, 3, 1, 2).to(self.device)
        autoencoder = self.autoencoder
        if autoencoder is None:
            return pixels
        encoded = autoencoder.encode(pixels.to(autoencoder.dtype))
        latents = encoded.latent_dist.mean if hasattr(encoded, "latent_dist") else encoded.latents
        return latents.float() * getattr(autoencoder.config, "scaling_factor", 1.0)

    @torch.no_grad()
    def predict_noise(self, noisy: torch.Tensor, timestep: int, conditions: Sequence[Condition]) -> torch.Tensor:
        """The denoiser's noise prediction for ``noisy`` ``[B, C, h, w]`` at ``timestep`` under ``conditions``."""
        denoiser = self.denoiser
        steps = torch.full((len(noisy),), timestep, device=self.device, dtype=torch.long)
        keywords = {}
        if self.kind == "class-conditional":
            keywords["class_labels"] = torch.tensor(list(conditions), device=self.device, dtype=torch.long)
        elif self.kind == "text-to-image":
            keywords["encoder_hidden_states"] = self.pipeline.encode_prompt(list(conditions), self.device, 1, False)[0]
        dtype = denoiser.dtype
        predicted = denoiser(noisy.to(dtype), steps, **keywords).sample.float()
        predicted = predicted[:, : noisy.shape[1]]  # a learned variance (DiT) fills the second half
        if self.pipeline.scheduler.config.get("prediction_type", "epsilon") == "v_prediction":
            alpha = self.alphas_cumprod[timestep]
            predicted = alpha.sqrt() * predicted + (1 - alpha).sqrt() * noisy
        return predicted

    def noised(self, clean: torch.Tensor, noise: torch.Tensor, timestep: int) -> torch.Tensor:
        """``sqrt(abar_t) x0 + sqrt(1 - abar_t) noise``."""
        alpha = self.alphas_cumprod[timestep]
        return alpha.sqrt() * clean + (1 - alpha).sqrt() * noise


def white_box(pipeline, *, device: torch.device, reference: str) -> WhiteBox:
    """The :class:`WhiteBox` of ``pipeline``; :class:`UnsupportedMembershipModel` (one line) when the attacks cannot
    run on it."""
    denoiser = getattr(pipeline, "unet", None) or getattr(pipeline, "transformer", None)
    scheduler = getattr(pipeline, "scheduler", None)
    name = type(pipeline).__name__
    if denoiser is None or scheduler is None:
        raise UnsupportedMembershipModel(f"{reference} ({name}) has no UNet or transformer and scheduler to attack")
    if getattr(scheduler, "alphas_cumprod", None) is None:
        raise UnsupportedMembershipModel(
            f"{reference}: its scheduler {type(scheduler).__name__} has no DDPM noise schedule (alphas_cumprod); "
            "the loss and PIA attacks need one (score-SDE, NCSN and flow-matching models are not supported)"
        )
    prediction = scheduler.config.get("prediction_type", "epsilon")
    if prediction not in ("epsilon", "v_prediction"):
        raise UnsupportedMembershipModel(
            f"{reference}: the denoiser predicts {prediction!r}; the attacks need epsilon or v"
        )
    config = denoiser.config
    kind = _kind(pipeline, denoiser, reference)
    autoencoder = getattr(pipeline, "vae", None) or getattr(pipeline, "vqvae", None)
    side = config.sample_size if isinstance(config.sample_size, int) else config.sample_size[0]
    if autoencoder is not None:
        side *= 2 ** (len(autoencoder.config.block_out_channels) - 1)
        channels = autoencoder.config.in_channels
    else:
        channels = config.in_channels
    if channels not in (1, 3):
        raise UnsupportedMembershipModel(f"{reference}: images of {channels} channels are not supported (1 or 3)")
    for module in (denoiser, autoencoder, getattr(pipeline, "text_encoder", None)):
        if module is not None:
            module.to(device).eval()
    return WhiteBox(pipeline, kind, side, channels, scheduler.alphas_cumprod.float().to(device), device)


def _kind(pipeline, denoiser, reference: str) -> str:
    config = denoiser.config
    if config.get("cross_attention_dim") is not None and "encoder_hidden_states" in _forward_parameters(denoiser):
        if not hasattr(pipeline, "encode_prompt"):
            raise UnsupportedMembershipModel(f"{reference}: a text-conditional denoiser without encode_prompt")
        return "text-to-image"
    if config.get("num_class_embeds") or config.get("num_embeds_ada_norm") or config.get("class_embed_type"):
        return "class-conditional"
    return "unconditional"


def _forward_parameters(module) -> set[str]:
    import inspect

    return set(inspect.signature(module.forward).parameters)
