"""Single-image super-resolution models: LR image in, HR image (``scale`` times larger) out.

Both predict a residual over bicubic upsampling (:func:`aekit.nn.resample.bicubic_up`), so an untrained
model (zero-initialised last layer) starts exactly at the bicubic baseline.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from aekit.models.decoders import UNetDecoder
from aekit.models.encoders import ConvEncoder
from aekit.nn.blocks import pad_to_multiple
from aekit.nn.resample import bicubic_up
from aekit.nn.upsample import UpSample, check_upsample_mode
from aekit.registry import register_model


def _check_scale(scale: int) -> int:
    if int(scale) != scale or not 1 <= scale <= 8:
        raise ValueError(f"scale must be an integer from 1 to 8 (2, 3 and 4 are the usual ones), not {scale}")
    return int(scale)


@register_model("unet_sr")
class UNetSR(nn.Module):
    """U-Net on the LR image, then the shared ``UpSample`` (mode ``upsample``) to HR, then a conv that
    predicts the residual over the bicubic upsampling of the input (RED-Net / U-Net spirit).

    Working at LR resolution costs ``scale**2`` times less than a U-Net on the bicubic image (VDSR
    style), which is what makes CPU training practical. The default LR->HR mode is ``transposed`` (a
    stride-``scale`` transposed conv, like a learned pixel shuffle): on CPU, the backward pass of
    bicubic/bilinear interpolation of wide feature maps costs more than the rest of the model.
    ``decoder_upsample`` is the U-Net decoder's own mode (``max_unpool`` works with
    ``downsample="maxpool"``). Any input size is accepted.
    """

    def __init__(
        self,
        in_channels: int = 3,
        scale: int = 3,
        widths: Sequence[int] = (32, 64, 128),
        blocks_per_stage: int = 2,
        skip_levels: str | Sequence[int] | None = "all",
        skip_mode: str = "concat",
        upsample: str = "transposed",
        decoder_upsample: str = "bilinear",
        downsample: str = "maxpool",
        kernel_size: int = 3,
        norm: str = "none",
        act: str = "relu",
    ) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.scale = _check_scale(scale)
        if check_upsample_mode(upsample) == "max_unpool":
            raise ValueError(
                "upsample='max_unpool' cannot enlarge the LR image (there are no pooling indices for it); "
                "use it as decoder_upsample, and nearest, bilinear, bicubic, fixed_unpool or transposed here"
            )
        self.encoder = ConvEncoder(in_channels, widths, blocks_per_stage, kernel_size, norm, act, downsample)
        self.decoder = UNetDecoder(
            self.encoder.widths,
            None,
            skip_levels,
            skip_mode,
            decoder_upsample,
            blocks_per_stage,
            kernel_size,
            norm,
            act,
            encoder_pools_with_indices=downsample == "maxpool",
        )
        ch = self.decoder.out_channels[0]
        self.up = UpSample(ch, ch, upsample, self.scale, kernel_size, norm, act) if self.scale > 1 else nn.Identity()
        self.head = nn.Conv2d(ch, in_channels, kernel_size, padding=kernel_size // 2)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        base = bicubic_up(x, self.scale) if self.scale > 1 else x
        feats = self.decoder(self.encoder(pad_to_multiple(x, self.encoder.reduction)))[-1][..., :h, :w]
        return base + self.head(self.up(feats))


@register_model("srcnn")
class SRCNN(nn.Module):
    """SRCNN (Dong et al. 2014/2016): three convs (9-5-5, 64 and 32 filters) on the bicubic-upsampled image.

    ``residual=True`` (default) adds the output to the bicubic image and starts from it (zero-initialised
    last layer), which trains in minutes instead of days; ``residual=False`` is the paper's plain mapping.
    """

    def __init__(
        self,
        in_channels: int = 3,
        scale: int = 3,
        widths: Sequence[int] = (64, 32),
        kernel_sizes: Sequence[int] = (9, 5, 5),
        residual: bool = True,
    ) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.scale = _check_scale(scale)
        self.residual = residual
        if len(kernel_sizes) != len(widths) + 1:
            raise ValueError(f"kernel_sizes needs {len(widths) + 1} entries (one per conv), got {len(kernel_sizes)}")
        layers: list[nn.Module] = []
        prev = in_channels
        for width, k in zip(widths, kernel_sizes):
            layers += [nn.Conv2d(prev, width, k, padding=k // 2, padding_mode="replicate"), nn.ReLU(inplace=True)]
            prev = width
        last = nn.Conv2d(prev, in_channels, kernel_sizes[-1], padding=kernel_sizes[-1] // 2, padding_mode="replicate")
        if residual:
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)
        self.body = nn.Sequential(*layers, last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        base = bicubic_up(x, self.scale) if self.scale > 1 else x
        out = self.body(base)
        return base + out if self.residual else out
