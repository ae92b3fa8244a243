"""The one upsampling block every decoder uses, with all six modes in one place.

Modes (each doubles H and W by default and maps ``in_channels -> out_channels``):

- ``nearest``, ``bilinear``, ``bicubic``: fixed interpolation, then a learned 3x3 conv.
- ``fixed_unpool``: Dosovitskiy et al. "unpooling": each value goes to the top-left cell of its
  ``s x s`` block, zeros elsewhere; then a learned 3x3 conv fills the block.
- ``max_unpool``: DeconvNet/SegNet: each value goes back to the position its encoder's max-pooling
  took it from (``indices`` required), zeros elsewhere; then a learned 3x3 conv densifies.
- ``transposed``: a learned transposed convolution (stride ``s``), followed by norm/activation
  like the conv of the other modes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from aekit.nn.blocks import make_activation, make_norm

UPSAMPLE_MODES = ("nearest", "bilinear", "bicubic", "fixed_unpool", "max_unpool", "transposed")


def check_upsample_mode(mode: str) -> str:
    if mode not in UPSAMPLE_MODES:
        raise ValueError(f"unknown upsample mode {mode!r}; choose one of {', '.join(UPSAMPLE_MODES)}")
    return mode


def fixed_unpool(x: torch.Tensor, scale: int = 2) -> torch.Tensor:
    """Put each value at the top-left of its ``scale x scale`` output block, zeros elsewhere."""
    n, c, h, w = x.shape
    out = x.new_zeros(n, c, h, scale, w, scale)
    out[:, :, :, 0, :, 0] = x
    return out.reshape(n, c, h * scale, w * scale)


class UpSample(nn.Module):
    """Resolution x``scale_factor`` and ``in_channels -> out_channels`` with a selectable ``mode``.

    ``forward(x, indices=None, output_size=None)``: ``indices`` are the max-pooling indices for
    ``max_unpool``; ``output_size`` (H, W) fixes the exact output size (an odd encoder size).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        mode: str = "bilinear",
        scale_factor: int = 2,
        kernel_size: int = 3,
        norm: str = "batch",
        act: str = "relu",
    ) -> None:
        super().__init__()
        self.mode = check_upsample_mode(mode)
        self.scale_factor = int(scale_factor)
        s = self.scale_factor
        if mode == "transposed":
            k, p = (2 * s, s // 2) if s % 2 == 0 else (s, 0)
            self.conv: nn.Module = nn.ConvTranspose2d(
                in_channels, out_channels, k, stride=s, padding=p, bias=norm == "none"
            )
        else:
            self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=norm == "none")
        self.norm = make_norm(norm, out_channels)
        self.act = make_activation(act)

    @property
    def needs_indices(self) -> bool:
        return self.mode == "max_unpool"

    def forward(
        self,
        x: torch.Tensor,
        indices: torch.Tensor | None = None,
        output_size: tuple[int, int] | None = None,
    ) -> torch.Tensor:
        s = self.scale_factor
        size = tuple(output_size) if output_size is not None else (x.shape[-2] * s, x.shape[-1] * s)
        if self.mode in ("nearest", "bilinear", "bicubic"):
            kw = {} if self.mode == "nearest" else {"align_corners": False}
            x = self.conv(F.interpolate(x, size=size, mode=self.mode, **kw))
        elif self.mode == "fixed_unpool":
            x = self.conv(_fit(fixed_unpool(x, s), size))
        elif self.mode == "max_unpool":
            if indices is None:
                raise ValueError(
                    "upsample mode 'max_unpool' needs the encoder's max-pooling indices; use it in a model "
                    "whose encoder pools with indices (segnet, unet with downsample='maxpool')"
                )
            x = self.conv(F.max_unpool2d(x, indices, kernel_size=s, stride=s, output_size=size))
        else:  # transposed
            x = _fit(self.conv(x), size)
        return self.act(self.norm(x))


def _fit(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Crop or zero-pad (bottom/right) to ``size``: the exact size after an odd-sized pooling."""
    h, w = size
    x = x[..., :h, :w]
    ph, pw = h - x.shape[-2], w - x.shape[-1]
    if ph > 0 or pw > 0:
        x = F.pad(x, (0, pw, 0, ph))
    return x
