"""Monocular disparity network (Garg et al. 2016 / Godard et al. 2017 style): one image in, disparity out.

A U-Net (``ConvEncoder`` + ``UNetDecoder``) with a disparity head on each of the ``num_scales`` finest
decoder levels. Each head is ``max_disparity * sigmoid(conv(features))``: bounded, positive and smooth.

Unit: disparities are a **fraction of the input width** (``d_px = d * W``). The network then predicts the
same numbers for an image at any resolution, the warping loss needs no rescaling across scales, and
``aekit.losses.warp_horizontal`` maps them exactly onto ``grid_sample`` coordinates.

- ``forward(x)`` -> (N, 1, H, W) left-view disparity at full resolution (one tensor: ONNX/TorchScript friendly);
- ``forward_multiscale(x)`` -> list fine -> coarse of (N, C, H/2**s, W/2**s), ``C = 2`` (left, right view)
  when ``predict_right`` (for Godard's left-right consistency), else 1: what training uses.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from aekit.models.decoders import UNetDecoder
from aekit.models.encoders import ConvEncoder
from aekit.nn.blocks import pad_to_multiple
from aekit.registry import register_model


@register_model("disparity_unet")
class DisparityUNet(nn.Module):
    """U-Net disparity regressor with bounded multi-scale outputs (see module docstring for units)."""

    def __init__(
        self,
        in_channels: int = 3,
        widths: Sequence[int] = (32, 64, 128, 256, 256),
        blocks_per_stage: int = 2,
        upsample: str = "bilinear",
        downsample: str = "stride",
        skip_mode: str = "concat",
        norm: str = "batch",
        act: str = "elu",
        max_disparity: float = 0.3,
        num_scales: int = 4,
        predict_right: bool = False,
    ) -> None:
        super().__init__()
        if not 0 < max_disparity <= 1:
            raise ValueError(f"max_disparity is a fraction of the image width in (0, 1], not {max_disparity}")
        if len(widths) < 2 or num_scales < 1:
            raise ValueError("disparity_unet needs at least 2 encoder stages and num_scales >= 1")
        num_scales = min(num_scales, len(widths) - 1)  # one output per decoder level at most
        self.in_channels = in_channels
        self.max_disparity = float(max_disparity)
        self.num_scales = num_scales
        self.predict_right = predict_right
        self.encoder = ConvEncoder(in_channels, widths, blocks_per_stage, 3, norm, act, downsample)
        self.decoder = UNetDecoder(
            self.encoder.widths,
            None,
            "all",
            skip_mode,
            upsample,
            blocks_per_stage,
            3,
            norm,
            act,
            encoder_pools_with_indices=downsample == "maxpool",
        )
        out = 2 if predict_right else 1
        # decoder outputs run coarse -> fine; heads for the finest num_scales of them, stored fine -> coarse
        channels = [self.decoder.out_channels[s] for s in range(num_scales)]
        self.heads = nn.ModuleList(nn.Conv2d(c, out, 3, padding=1) for c in channels)

    def forward_multiscale(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Disparities fine -> coarse, each (N, C, ceil(H / 2**s), ceil(W / 2**s)), fraction of width."""
        h, w = x.shape[-2:]
        feats = self.decoder(self.encoder(pad_to_multiple(x, self.encoder.reduction)))
        outs = []
        for s, head in enumerate(self.heads):
            f = feats[-1 - s]
            hs, ws = -(-h // 2**s), -(-w // 2**s)
            outs.append((self.max_disparity * torch.sigmoid(head(f)))[..., :hs, :ws])
        return outs

    def training_only_parameters(self) -> list[str]:
        """Coarse-scale heads: trained through ``forward_multiscale``, unused by ``forward``."""
        return [n for n, _ in self.named_parameters() if n.startswith("heads.") and not n.startswith("heads.0.")]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Left-view disparity (N, 1, H, W) as a fraction of the width."""
        h, w = x.shape[-2:]
        f = self.decoder(self.encoder(pad_to_multiple(x, self.encoder.reduction)))[-1]
        return (self.max_disparity * torch.sigmoid(self.heads[0](f)[:, :1]))[..., :h, :w]
