"""U-Net (Ronneberger et al. 2015) with selectable skip levels and upsampling mode."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from aekit.models.decoders import UNetDecoder
from aekit.models.encoders import ConvEncoder
from aekit.nn.blocks import pad_to_multiple
from aekit.registry import register_model


@register_model("unet")
class UNet(nn.Module):
    """Encoder -> UNetDecoder -> 1x1 head with ``out_channels`` (class logits or regression maps).

    ``skip_levels="all"`` is the classic U-Net, ``[]`` a plain encoder-decoder. Any input size works
    (padded to a multiple of 2**(depth-1), cropped back).
    """

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 2,
        widths: Sequence[int] = (32, 64, 128, 256),
        blocks_per_stage: int = 2,
        skip_levels: str | Sequence[int] | None = "all",
        skip_mode: str = "concat",
        upsample: str = "bilinear",
        downsample: str = "maxpool",
        kernel_size: int = 3,
        norm: str = "batch",
        act: str = "relu",
    ) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.encoder = ConvEncoder(in_channels, widths, blocks_per_stage, kernel_size, norm, act, downsample)
        self.decoder = UNetDecoder(
            self.encoder.widths,
            None,
            skip_levels,
            skip_mode,
            upsample,
            blocks_per_stage,
            kernel_size,
            norm,
            act,
            encoder_pools_with_indices=downsample == "maxpool",
        )
        self.head = nn.Conv2d(self.decoder.out_channels[0], out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        x = pad_to_multiple(x, self.encoder.reduction)
        return self.head(self.decoder(self.encoder(x))[-1])[..., :h, :w]
