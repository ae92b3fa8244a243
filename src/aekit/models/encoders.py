"""CNN encoders that return a list of feature maps (one per resolution) for decoders to consume."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import nn

from aekit.nn.blocks import ConvNormAct, conv_stack

DOWNSAMPLES = ("maxpool", "stride", "avgpool")


class EncoderOutput(NamedTuple):
    """``features[i]`` has ``widths[i]`` channels at 1/2**i of the (padded) input size.

    ``indices[i]`` are the max-pooling indices that took stage ``i-1`` to stage ``i``
    (``None`` for stage 0 and for encoders that do not max-pool).
    """

    features: list[torch.Tensor]
    indices: list[torch.Tensor | None]


def per_stage(value: int | Sequence[int], n: int, what: str) -> list[int]:
    """An int for every stage, or one value per stage (checked)."""
    if isinstance(value, int):
        return [value] * n
    values = [int(v) for v in value]
    if len(values) != n:
        raise ValueError(f"{what} has {len(values)} entries but the encoder has {n} stages")
    return values


class ConvEncoder(nn.Module):
    """Stages of conv blocks; every stage after the first starts by halving the resolution.

    ``downsample``: ``maxpool`` (keeps indices for max-unpooling decoders), ``stride`` (a strided
    conv) or ``avgpool``. ``blocks_per_stage`` may be 0 for a stage that only pools (SegNet's last).
    """

    def __init__(
        self,
        in_channels: int = 3,
        widths: Sequence[int] = (32, 64, 128),
        blocks_per_stage: int | Sequence[int] = 2,
        kernel_size: int = 3,
        norm: str = "batch",
        act: str = "relu",
        downsample: str = "maxpool",
    ) -> None:
        super().__init__()
        if downsample not in DOWNSAMPLES:
            raise ValueError(f"unknown downsample {downsample!r}; choose one of {', '.join(DOWNSAMPLES)}")
        self.widths = [int(w) for w in widths]
        self.downsample = downsample
        blocks = per_stage(blocks_per_stage, len(self.widths), "blocks_per_stage")
        self.downs = nn.ModuleList()
        self.stages = nn.ModuleList()
        prev = in_channels
        for i, (width, n) in enumerate(zip(self.widths, blocks)):
            if i == 0:
                self.downs.append(nn.Identity())
            elif downsample == "maxpool":
                self.downs.append(nn.MaxPool2d(2, 2, return_indices=True))
            elif downsample == "avgpool":
                self.downs.append(nn.AvgPool2d(2, 2))
            else:
                self.downs.append(ConvNormAct(prev, prev, kernel_size, stride=2, norm=norm, act=act))
            if n == 0 and width != prev:
                raise ValueError(f"stage {i} has no conv blocks, so its width must stay {prev}, not {width}")
            self.stages.append(conv_stack(prev, width, n, kernel_size, norm, act))
            prev = width

    @property
    def reduction(self) -> int:
        """Total downsampling factor: inputs are padded to a multiple of this."""
        return 2 ** (len(self.widths) - 1)

    @property
    def out_channels(self) -> list[int]:
        return list(self.widths)

    def forward(self, x: torch.Tensor) -> EncoderOutput:
        features: list[torch.Tensor] = []
        indices: list[torch.Tensor | None] = []
        for down, stage in zip(self.downs, self.stages):
            idx = None
            if isinstance(down, nn.MaxPool2d):
                x, idx = down(x)
            else:
                x = down(x)
            x = stage(x)
            features.append(x)
            indices.append(idx)
        return EncoderOutput(features, indices)
