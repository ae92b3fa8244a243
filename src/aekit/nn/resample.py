"""The one image resampler of super-resolution: bicubic down- and up-scaling by an integer factor.

Downscaling is torch's antialiased bicubic (``F.interpolate(mode="bicubic", antialias=True)``), which
like MATLAB's ``imresize`` widens the cubic kernel (a = -0.5) by the scale factor. It is close to, but not
pixel-identical with, MATLAB's ``imresize``: border handling (MATLAB mirrors, torch clamps) and rounding
differ. So PSNR numbers made with it are comparable among aekit runs, and close to but not exactly
comparable with published tables made with MATLAB LR images. Upscaling (the bicubic baseline and the
residual base of the SR models) is plain bicubic interpolation with ``align_corners=False``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def modcrop(x: torch.Tensor, scale: int) -> torch.Tensor:
    """Crop H and W (top-left kept) to multiples of ``scale``, as MATLAB's ``modcrop`` in SR papers."""
    h, w = x.shape[-2:]
    return x[..., : h - h % scale, : w - w % scale]


def bicubic_down(x: torch.Tensor, scale: int, quantize: bool = True) -> torch.Tensor:
    """(…, C, H, W) in [0, 1] -> (…, C, H/s, W/s): antialiased bicubic, clamped; rounded to 8 bits if
    ``quantize`` (LR inputs are 8-bit images in practice, so training sees what prediction will see).

    H and W must be multiples of ``scale`` (use :func:`modcrop`).
    """
    h, w = x.shape[-2:]
    if h % scale or w % scale:
        raise ValueError(f"image size {h}x{w} is not a multiple of the scale {scale}; modcrop it first")
    squeeze = x.ndim == 3
    xb = x[None] if squeeze else x
    y = F.interpolate(xb, size=(h // scale, w // scale), mode="bicubic", antialias=True, align_corners=False)
    y = y.clamp(0, 1)
    if quantize:
        y = torch.round(y * 255) / 255
    return y[0] if squeeze else y


def bicubic_up(x: torch.Tensor, scale: int) -> torch.Tensor:
    """(N, C, h, w) -> (N, C, h*s, w*s) by bicubic interpolation (no clamping: models add a residual)."""
    return F.interpolate(x, scale_factor=scale, mode="bicubic", align_corners=False)
