"""Depth from focus: a DDFFNet-style encoder-decoder over a focal stack (Hazirbas et al., ACCV 2018).

Every slice goes through the same encoder and decoder (shared weights); the decoder's skips join the
encoder's feature maps by concatenation (DDFFNet's CC variants), addition, or not at all. A head turns the
per-slice full-resolution features into one map:

- ``softargmax``: a per-slice focus score, softmax over the slices, the expected slice position (a learned
  focus measure with a differentiable argmax: any number of slices, output in [0, 1]);
- ``conv``: DDFFNet's scoring layer: the slices' features concatenated along channels, a convolution to one
  map, then a sigmoid (tied to the training stack length).

The output is the normalised focus position, 0 = the first slice's focus, 1 = the last's; the task maps it to
depth with the stack's focus positions (``aekit.data.focalstack.position_to_depth``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from aekit.models.decoders import UNetDecoder
from aekit.models.encoders import ConvEncoder
from aekit.nn.blocks import ConvNormAct, pad_to_multiple
from aekit.registry import register_model

FOCUS_SKIP_MODES = ("concat", "add", "none")
FOCUS_HEADS = ("softargmax", "conv")


@register_model("ddff")
class DDFFNet(nn.Module):
    """Focal stack (N, S*C, H, W), slice-major -> normalised focus position (N, 1, H, W) in [0, 1].

    ``skip_mode``: concat | add | none (none = a plain encoder-decoder); ``skip_levels``: which encoder levels
    reach the decoder (``"all"`` or e.g. ``"0,1"``). Any input size works (padded, cropped back).
    """

    def __init__(
        self,
        slices: int = 8,
        slice_channels: int = 3,
        widths: Sequence[int] = (16, 32, 64),
        blocks_per_stage: int = 1,
        skip_mode: str = "concat",
        skip_levels: str | Sequence[int] | None = "all",
        head: str = "softargmax",
        upsample: str = "bilinear",
        norm: str = "batch",
        act: str = "relu",
    ) -> None:
        super().__init__()
        if skip_mode not in FOCUS_SKIP_MODES:
            raise ValueError(f"skip_mode must be one of {', '.join(FOCUS_SKIP_MODES)}, not {skip_mode!r}")
        if head not in FOCUS_HEADS:
            raise ValueError(f"head must be one of {', '.join(FOCUS_HEADS)}, not {head!r}")
        self.slices = int(slices)
        self.slice_channels = int(slice_channels)
        self.in_channels = self.slices * self.slice_channels
        self.head_kind = head
        self.encoder = ConvEncoder(slice_channels, widths, blocks_per_stage, 3, norm, act, "maxpool")
        self.decoder = UNetDecoder(
            self.encoder.widths,
            None,
            skip_levels if skip_mode != "none" else [],
            "concat" if skip_mode == "none" else skip_mode,
            upsample,
            blocks_per_stage,
            3,
            norm,
            act,
        )
        feat = self.decoder.out_channels[0]
        if head == "softargmax":
            self.head = nn.Conv2d(feat, 1, 1)
        else:
            scoring = ConvNormAct(self.slices * feat, feat, 3, norm=norm, act=act)
            self.head = nn.Sequential(scoring, nn.Conv2d(feat, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        if c != self.in_channels:
            raise ValueError(f"expected {self.slices} slices of {self.slice_channels} channels ({self.in_channels} "
                             f"channels), got {c}")  # fmt: skip
        s = pad_to_multiple(x.reshape(n * self.slices, self.slice_channels, h, w), self.encoder.reduction)
        f = self.decoder(self.encoder(s))[-1]  # (N*S, F, H', W')
        if self.head_kind == "softargmax":
            score = self.head(f).reshape(n, self.slices, *f.shape[-2:])
            weights = torch.softmax(score.float(), dim=1)
            pos = torch.linspace(0, 1, self.slices, device=x.device, dtype=weights.dtype)
            out = (weights * pos[None, :, None, None]).sum(1, keepdim=True)
        else:
            out = torch.sigmoid(self.head(f.reshape(n, -1, *f.shape[-2:])).float())
        return out[..., :h, :w].to(x.dtype)


# -- the classical baseline: argmax of a focus measure ------------------------------------------------
def focus_measure(x: torch.Tensor, slices: int, window: int = 9) -> torch.Tensor:
    """Local variance of the Laplacian of each slice's luma (Pertuz et al. 2013's LAP4-style measure):
    (N, S*C, H, W) stack -> (N, S, H, W) sharpness, over a ``window`` x ``window`` neighbourhood."""
    n, c, h, w = x.shape
    grey = x.float().reshape(n * slices, c // slices, h, w).mean(1, keepdim=True)
    lap = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])[None, None]
    fx = torch.nn.functional.conv2d(torch.nn.functional.pad(grey, (1, 1, 1, 1), mode="replicate"), lap)
    pad = window // 2
    box = lambda t: torch.nn.functional.avg_pool2d(  # noqa: E731
        torch.nn.functional.pad(t, (pad, pad, pad, pad), mode="replicate"), window, stride=1
    )
    var = box(fx**2) - box(fx) ** 2
    return var.reshape(n, slices, h, w)


def focus_measure_position(x: torch.Tensor, slices: int, window: int = 9) -> torch.Tensor:
    """The classical depth from focus: per pixel the slice of highest :func:`focus_measure`, refined between
    slices by a parabola through it and its neighbours; normalised position (N, 1, H, W) in [0, 1]."""
    fm = focus_measure(x, slices, window)
    best = fm.argmax(1, keepdim=True)
    lo, hi = (best - 1).clamp(min=0), (best + 1).clamp(max=slices - 1)
    f0, f1, f2 = fm.gather(1, lo), fm.gather(1, best), fm.gather(1, hi)
    denom = f0 - 2 * f1 + f2
    shift = torch.where((denom < -1e-12) & (lo < best) & (hi > best), 0.5 * (f0 - f2) / denom, torch.zeros_like(f1))
    return ((best.float() + shift.clamp(-0.5, 0.5)) / max(slices - 1, 1)).clamp(0, 1)


def median_filter(x: torch.Tensor, size: int) -> torch.Tensor:
    """``size`` x ``size`` median of (N, 1, H, W) maps (edges replicated); ``size`` <= 1 returns ``x``. The one
    post-processing step depth-from-focus results may get, the same for every method compared."""
    if size <= 1:
        return x
    pad = size // 2
    p = torch.nn.functional.pad(x, (pad, pad, pad, pad), mode="replicate")
    patches = torch.nn.functional.unfold(p, size)  # (N, size*size, H*W)
    return patches.median(1).values.reshape(x.shape)
