"""Monocular depth: the U-Net with one output channel made positive."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from aekit.models.unet import UNet
from aekit.registry import register_model


@register_model("unet_depth")
class UNetDepth(UNet):
    """``unet`` with ``out_channels=1`` and a softplus output, so predicted depth is always > 0
    (the log in the scale-invariant loss and the metrics needs that). Takes every ``unet`` argument
    except ``out_channels``; the weights have the same names as a one-channel ``unet``.
    """

    def __init__(self, in_channels: int = 3, **unet_kwargs: Any) -> None:
        if "out_channels" in unet_kwargs:
            raise TypeError("unet_depth always has one output channel; do not pass out_channels")
        super().__init__(in_channels=in_channels, out_channels=1, **unet_kwargs)
        self.in_channels = in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.softplus(super().forward(x))
