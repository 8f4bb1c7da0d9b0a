"""The NCSNv2 score network for small images (Song & Ermon 2020), as a diffusers ``ModelMixin``.

A RefineNet: four stages of residual blocks with InstanceNorm++ (the second halves the resolution,
the third and fourth dilate instead), four RefineBlocks that fuse them back to full resolution, and
an output divided by the noise level: ``s(x, sigma) = f(x) / sigma``. The network itself does not
see sigma, so any noise level can be asked for, not only those it was trained on.

Module and parameter names are those of ``NCSNv2`` in ermongroup/ncsnv2 (``models/ncsnv2.py``,
``models/layers.py``, ``models/normalization.py``), so that a reference checkpoint's state dict loads
once its ``module.`` prefix and its ``sigmas`` buffer are taken off
(:mod:`hubaudit.families.ncsnv2_import`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from torch import nn


class InstanceNorm2dPlus(nn.Module):
    """InstanceNorm++: instance normalisation that adds back each channel's mean, normalised across channels."""

    def __init__(self, num_features: int):
        super().__init__()
        self.instance_norm = nn.InstanceNorm2d(num_features, affine=False, track_running_stats=False)
        self.alpha = nn.Parameter(torch.empty(num_features).normal_(1, 0.02))
        self.gamma = nn.Parameter(torch.empty(num_features).normal_(1, 0.02))
        self.beta = nn.Parameter(torch.zeros(num_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, C, H, W]`` -> ``[B, C, H, W]``; every statistic is per sample."""
        means = x.mean(dim=(2, 3))
        means = (means - means.mean(dim=-1, keepdim=True)) / torch.sqrt(means.var(dim=-1, keepdim=True) + 1e-5)
        h = self.instance_norm(x) + means[..., None, None] * self.alpha[..., None, None]
        return self.gamma[None, :, None, None] * h + self.beta[None, :, None, None]


def _conv3x3(in_channels: int, out_channels: int, *, bias: bool = True, dilation: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 3, padding=dilation, dilation=dilation, bias=bias)


class ConvMeanPool(nn.Module):
    """A convolution, then 2x2 mean pooling: ``[B, C_in, H, W]`` -> ``[B, C_out, H/2, W/2]``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv(x)
        return (h[:, :, ::2, ::2] + h[:, :, 1::2, ::2] + h[:, :, ::2, 1::2] + h[:, :, 1::2, 1::2]) / 4.0


class ResidualBlock(nn.Module):
    """Norm, ELU, conv, norm, ELU, conv, plus a shortcut. ``downsample`` without ``dilation`` halves the side;
    with a dilation the block keeps the side and dilates its convolutions instead (as the reference does)."""

    def __init__(self, in_channels: int, out_channels: int, *, downsample: bool = False, dilation: int | None = None):
        super().__init__()
        self.non_linearity = nn.ELU()
        self.normalize1 = InstanceNorm2dPlus(in_channels)
        middle = in_channels if downsample else out_channels
        self.conv1 = _conv3x3(in_channels, middle, dilation=dilation or 1)
        self.normalize2 = InstanceNorm2dPlus(middle)
        if downsample and dilation is None:
            self.conv2 = ConvMeanPool(middle, out_channels, 3)
            shortcut = ConvMeanPool(in_channels, out_channels, 1)
        elif dilation is not None:
            self.conv2 = _conv3x3(middle, out_channels, dilation=dilation)
            shortcut = _conv3x3(in_channels, out_channels, dilation=dilation)
        else:
            self.conv2 = _conv3x3(middle, out_channels)
            shortcut = nn.Conv2d(in_channels, out_channels, 1)
        self.shortcut = shortcut if downsample or in_channels != out_channels else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(self.non_linearity(self.normalize1(x)))
        h = self.conv2(self.non_linearity(self.normalize2(h)))
        return self.shortcut(x) + h


class RCUBlock(nn.Module):
    """Residual conv units: ``n_blocks`` times x + (ELU, conv) x ``n_stages``; convolutions named ``{block}_{stage}_conv``."""

    def __init__(self, channels: int, n_blocks: int, n_stages: int):
        super().__init__()
        self.act = nn.ELU()
        self.n_blocks, self.n_stages = n_blocks, n_stages
        for block in range(1, n_blocks + 1):
            for stage in range(1, n_stages + 1):
                setattr(self, f"{block}_{stage}_conv", _conv3x3(channels, channels, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in range(1, self.n_blocks + 1):
            residual = x
            for stage in range(1, self.n_stages + 1):
                x = getattr(self, f"{block}_{stage}_conv")(self.act(x))
            x = x + residual
        return x


class MSFBlock(nn.Module):
    """Multi-resolution fusion: a conv per input, resized (bilinear) to the output size and summed."""

    def __init__(self, in_channels: list[int], channels: int):
        super().__init__()
        self.convs = nn.ModuleList(_conv3x3(width, channels) for width in in_channels)

    def forward(self, xs: list[torch.Tensor], size: torch.Size) -> torch.Tensor:
        return sum(
            F.interpolate(conv(x), size=size, mode="bilinear", align_corners=True) for conv, x in zip(self.convs, xs)
        )


class CRPBlock(nn.Module):
    """Chained residual pooling: ELU, then twice (5x5 max pool, conv) added to the running sum."""

    def __init__(self, channels: int, n_stages: int = 2):
        super().__init__()
        self.act = nn.ELU()
        self.convs = nn.ModuleList(_conv3x3(channels, channels, bias=False) for _ in range(n_stages))
        self.maxpool = nn.MaxPool2d(kernel_size=5, stride=1, padding=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = path = self.act(x)
        for conv in self.convs:
            path = conv(self.maxpool(path))
            x = path + x
        return x


class RefineBlock(nn.Module):
    """RefineNet block: adapt each input (RCU), fuse them at the output size (MSF), pool (CRP), output RCU."""

    def __init__(self, in_channels: list[int], channels: int, *, start: bool = False, end: bool = False):
        super().__init__()
        self.adapt_convs = nn.ModuleList(RCUBlock(width, 2, 2) for width in in_channels)
        self.output_convs = RCUBlock(channels, 3 if end else 1, 2)
        if not start:
            self.msf = MSFBlock(in_channels, channels)
        self.crp = CRPBlock(channels)

    def forward(self, xs: list[torch.Tensor], size: torch.Size) -> torch.Tensor:
        hs = [adapt(x) for adapt, x in zip(self.adapt_convs, xs)]
        h = self.msf(hs, size) if len(hs) > 1 else hs[0]
        return self.output_convs(self.crp(h))


class NCSNv2Model(ModelMixin, ConfigMixin):
    """The NCSNv2 score network: ``forward(sample, sigma)`` is the score of the data perturbed by noise ``sigma``.

    Args:
        sample_size: image side in pixels (even: the second stage halves it).
        in_channels: image channels (1 grey, 3 RGB).
        ngf: base width; the deeper stages have ``2 * ngf`` channels.
        rescaled: the network's data range is [-1, 1] (True) or [0, 1] (False, the reference's default,
            which maps it to [-1, 1] inside).
    """

    @register_to_config
    def __init__(self, sample_size: int = 32, in_channels: int = 3, ngf: int = 128, rescaled: bool = False):
        super().__init__()
        wide = 2 * ngf
        self.act = nn.ELU()
        self.begin_conv = nn.Conv2d(in_channels, ngf, 3, padding=1)
        self.res1 = nn.ModuleList([ResidualBlock(ngf, ngf), ResidualBlock(ngf, ngf)])
        self.res2 = nn.ModuleList([ResidualBlock(ngf, wide, downsample=True), ResidualBlock(wide, wide)])
        self.res3 = nn.ModuleList(
            [ResidualBlock(wide, wide, downsample=True, dilation=2), ResidualBlock(wide, wide, dilation=2)]
        )
        self.res4 = nn.ModuleList(
            [ResidualBlock(wide, wide, downsample=True, dilation=4), ResidualBlock(wide, wide, dilation=4)]
        )
        self.refine1 = RefineBlock([wide], wide, start=True)
        self.refine2 = RefineBlock([wide, wide], wide)
        self.refine3 = RefineBlock([wide, wide], ngf)
        self.refine4 = RefineBlock([ngf, ngf], ngf, end=True)
        self.normalizer = InstanceNorm2dPlus(ngf)
        self.end_conv = nn.Conv2d(ngf, in_channels, 3, padding=1)

    def forward(self, sample: torch.Tensor, sigma: torch.Tensor | float) -> torch.Tensor:
        """The score of ``sample`` ``[B, C, H, W]`` (in the data range) at noise level ``sigma`` (scalar or ``[B]``).

        Returns:
            ``[B, C, H, W]``: the network's output divided by ``sigma``.
        """
        h = sample if self.config.rescaled else 2 * sample - 1.0
        layer1 = self._stage(self.res1, self.begin_conv(h))
        layer2 = self._stage(self.res2, layer1)
        layer3 = self._stage(self.res3, layer2)
        layer4 = self._stage(self.res4, layer3)
        h = self.refine1([layer4], layer4.shape[2:])
        h = self.refine2([layer3, h], layer3.shape[2:])
        h = self.refine3([layer2, h], layer2.shape[2:])
        h = self.refine4([layer1, h], layer1.shape[2:])
        h = self.end_conv(self.act(self.normalizer(h)))
        sigma = torch.as_tensor(sigma, dtype=h.dtype, device=h.device)
        return h / sigma.reshape(-1, 1, 1, 1)

    @staticmethod
    def _stage(blocks: nn.ModuleList, h: torch.Tensor) -> torch.Tensor:
        for block in blocks:
            h = block(h)
        return h
