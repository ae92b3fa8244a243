"""Decoders that consume an encoder's list of feature maps (segmentation_models.pytorch style)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from aekit.models.encoders import EncoderOutput, per_stage
from aekit.nn.blocks import ConvNormAct, conv_stack
from aekit.nn.upsample import UpSample, check_upsample_mode

SKIP_MODES = ("concat", "add")


def parse_skip_levels(skip_levels: str | Sequence[int] | None, n_levels: int) -> list[int]:
    """``"all"`` -> every level above the bottom; ``None``/``"none"``/``[]`` -> none; else the listed levels."""
    if skip_levels is None or skip_levels == "none":
        return []
    if skip_levels == "all":
        return list(range(n_levels - 1))
    if isinstance(skip_levels, str):
        skip_levels = [int(s) for s in skip_levels.split(",") if s.strip()]
    levels = sorted({int(s) for s in skip_levels})
    bad = [s for s in levels if not 0 <= s < n_levels - 1]
    if bad:
        raise ValueError(
            f"skip level(s) {bad} do not exist: this encoder has skip levels 0..{n_levels - 2} "
            "(0 = full resolution); the bottom level feeds the decoder directly"
        )
    return levels


class UNetDecoder(nn.Module):
    """Upsample from the bottom feature map level by level; selected encoder levels join by skip.

    ``skip_levels`` chooses which encoder levels reach the decoder (``"all"`` = classic U-Net,
    ``[]`` = a plain encoder-decoder); ``skip_mode`` joins them by concatenation or addition.
    ``forward`` returns the decoder's feature maps from coarse to fine; the last is at level 0.
    """

    def __init__(
        self,
        encoder_channels: Sequence[int],
        decoder_channels: Sequence[int] | None = None,
        skip_levels: str | Sequence[int] | None = "all",
        skip_mode: str = "concat",
        upsample: str = "bilinear",
        blocks_per_stage: int | Sequence[int] = 2,
        kernel_size: int = 3,
        norm: str = "batch",
        act: str = "relu",
        encoder_pools_with_indices: bool = True,
    ) -> None:
        super().__init__()
        enc = [int(c) for c in encoder_channels]
        n = len(enc)
        if n < 2:
            raise ValueError("a decoder needs an encoder with at least two levels")
        check_upsample_mode(upsample)
        if upsample == "max_unpool" and not encoder_pools_with_indices:
            raise ValueError(
                "upsample='max_unpool' needs an encoder that max-pools with indices: use downsample='maxpool'"
            )
        if skip_mode not in SKIP_MODES:
            raise ValueError(f"skip_mode must be one of {', '.join(SKIP_MODES)}, not {skip_mode!r}")
        dec = [int(c) for c in decoder_channels] if decoder_channels is not None else enc[:-1]
        if len(dec) != n - 1:
            raise ValueError(f"decoder_channels needs {n - 1} entries (one per level above the bottom)")
        blocks = per_stage(blocks_per_stage, n - 1, "decoder blocks_per_stage")
        self.skip_levels = parse_skip_levels(skip_levels, n)
        self.skip_mode = skip_mode
        self.upsample = upsample
        self.out_channels = dec
        self.pre = nn.ModuleList()
        self.ups = nn.ModuleList()
        self.skip_proj = nn.ModuleList()
        self.stages = nn.ModuleList()
        prev = enc[-1]
        for level in range(n - 2, -1, -1):
            # max-unpooling needs as many channels as the pooled encoder map had
            unpool_ch = enc[level] if upsample == "max_unpool" else prev
            self.pre.append(ConvNormAct(prev, unpool_ch, 1, norm=norm, act=act) if unpool_ch != prev else nn.Identity())
            self.ups.append(UpSample(unpool_ch, dec[level], upsample, 2, kernel_size, norm, act))
            ch = dec[level]
            use_skip = level in self.skip_levels
            if use_skip and skip_mode == "concat":
                ch += enc[level]
                self.skip_proj.append(nn.Identity())
            elif use_skip and enc[level] != dec[level]:
                self.skip_proj.append(nn.Conv2d(enc[level], dec[level], 1))
            else:
                self.skip_proj.append(nn.Identity())
            n_blocks = max(blocks[level], 1 if ch != dec[level] else 0)  # channels must come back to dec
            self.stages.append(conv_stack(ch, dec[level], n_blocks, kernel_size, norm, act))
            prev = dec[level]

    def forward(self, enc: EncoderOutput) -> list[torch.Tensor]:
        feats, indices = enc.features, enc.indices
        x = feats[-1]
        outputs = []
        for i, level in enumerate(range(len(feats) - 2, -1, -1)):
            skip = feats[level]
            x = self.ups[i](self.pre[i](x), indices=indices[level + 1], output_size=tuple(skip.shape[-2:]))
            if level in self.skip_levels:
                s = self.skip_proj[i](skip)
                x = torch.cat([x, s], dim=1) if self.skip_mode == "concat" else x + s
            x = self.stages[i](x)
            outputs.append(x)
        return outputs
