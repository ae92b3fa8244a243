"""SegNet (Badrinarayanan et al., TPAMI 2017) and FCN-32s/16s/8s (Long et al., CVPR 2015).

Both are built from the shared pieces, not new layers: a :class:`ConvEncoder` and a
:class:`UNetDecoder` (whose ``UpSample`` carries the upsampling mode) plus a 1x1 class head.

- SegNet: no skips (``skip_levels=[]``); by default the decoder max-unpools with the encoder's pooling
  indices, so only the indices (not the feature maps) cross from encoder to decoder.
- FCN: the decoder adds projected encoder maps (``skip_mode="add"``) at the one (16s) or two (8s)
  levels above the bottom; 32s has no skips. With the default VGG-16 encoder those levels are the
  stride-16 and stride-8 maps, as in the paper; with the ``basic`` encoder it is FCN-Basic of the
  SegNet paper.

Encoder presets (``encoder=``):

- ``vgg16``: VGG-16's 13 convs (3x3; 2,2,3,3,3 per stage) and five 2x2 max-pools (reduction 32).
- ``basic``: SegNet-Basic: 4 encoders of one 7x7 conv (64 channels) + BN + ReLU + pooling (reduction 16).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from aekit.models.decoders import UNetDecoder
from aekit.models.encoders import ConvEncoder
from aekit.nn.blocks import make_input_norm, pad_to_multiple
from aekit.registry import register_model

# widths per level (the last level only pools), encoder conv blocks per level, decoder blocks per level
# above the bottom (the decoder's UpSample adds one conv per level), kernel size
ENCODER_PRESETS: dict[str, dict[str, Any]] = {
    "vgg16": {
        "widths": [64, 128, 256, 512, 512, 512],
        "encoder_blocks": [2, 2, 3, 3, 3, 0],
        "decoder_blocks": [1, 1, 2, 2, 2],
        "kernel_size": 3,
    },
    "basic": {
        "widths": [64, 64, 64, 64, 64],
        "encoder_blocks": [1, 1, 1, 1, 0],
        "decoder_blocks": [0, 0, 0, 0],
        "kernel_size": 7,
    },
}


def encoder_preset(name: str) -> dict[str, Any]:
    if name not in ENCODER_PRESETS:
        raise ValueError(f"unknown encoder preset {name!r}; choose one of {', '.join(ENCODER_PRESETS)}")
    return {k: list(v) if isinstance(v, list) else v for k, v in ENCODER_PRESETS[name].items()}


class EncoderDecoderSegmenter(nn.Module):
    """ConvEncoder -> UNetDecoder -> 1x1 head; pads any input to the encoder's reduction and crops back.

    The common body of SegNet and FCN; the subclasses only choose presets, skips and the default mode.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        encoder: str,
        widths: Sequence[int] | None,
        encoder_blocks: int | Sequence[int] | None,
        decoder_blocks: int | Sequence[int] | None,
        kernel_size: int | None,
        skip_levels: str | Sequence[int] | None,
        skip_mode: str,
        upsample: str,
        downsample: str,
        norm: str,
        act: str,
        model_name: str,
        input_norm: str = "none",
    ) -> None:
        super().__init__()
        self.input_norm = make_input_norm(input_norm, in_channels)
        preset = encoder_preset(encoder)
        widths = [int(w) for w in widths] if widths is not None else preset["widths"]
        if len(widths) != len(preset["widths"]):  # another depth: the preset's first-stage pattern throughout
            if encoder_blocks is None:
                encoder_blocks = [*([preset["encoder_blocks"][0]] * (len(widths) - 1)), 0]
            if decoder_blocks is None:
                decoder_blocks = [preset["decoder_blocks"][0]] * (len(widths) - 1)
        encoder_blocks = preset["encoder_blocks"] if encoder_blocks is None else encoder_blocks
        decoder_blocks = preset["decoder_blocks"] if decoder_blocks is None else decoder_blocks
        kernel_size = preset["kernel_size"] if kernel_size is None else int(kernel_size)
        if upsample == "max_unpool" and downsample != "maxpool":
            raise ValueError(
                f"{model_name}: upsample='max_unpool' needs the encoder's max-pooling indices, but "
                f"downsample={downsample!r} does not pool with indices; use downsample='maxpool' or another "
                "upsample mode (nearest, bilinear, bicubic, fixed_unpool, transposed)"
            )
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.encoder = ConvEncoder(in_channels, widths, encoder_blocks, kernel_size, norm, act, downsample)
        self.decoder = UNetDecoder(
            self.encoder.widths,
            None,
            skip_levels,
            skip_mode,
            upsample,
            decoder_blocks,
            kernel_size,
            norm,
            act,
            encoder_pools_with_indices=downsample == "maxpool",
        )
        self.head = nn.Conv2d(self.decoder.out_channels[0], out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        x = pad_to_multiple(self.input_norm(x), self.encoder.reduction)
        return self.head(self.decoder(self.encoder(x))[-1])[..., :h, :w]


class SegNet(EncoderDecoderSegmenter):
    """SegNet: the decoder upsamples with the encoder's pooling indices (``upsample="max_unpool"``).

    ``encoder="vgg16"`` is the full SegNet, ``"basic"`` SegNet-Basic. Other upsampling modes turn it into
    the paper's decoder variants (e.g. ``bilinear``); the decoder never receives encoder feature maps.
    """

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 11,
        encoder: str = "vgg16",
        upsample: str = "max_unpool",
        downsample: str = "maxpool",
        widths: Sequence[int] | None = None,
        encoder_blocks: int | Sequence[int] | None = None,
        decoder_blocks: int | Sequence[int] | None = None,
        kernel_size: int | None = None,
        norm: str = "batch",
        act: str = "relu",
        input_norm: str = "none",
    ) -> None:
        super().__init__(
            in_channels,
            out_channels,
            encoder,
            widths,
            encoder_blocks,
            decoder_blocks,
            kernel_size,
            [],
            "add",
            upsample,
            downsample,
            norm,
            act,
            "segnet",
            input_norm,
        )


class FCN(EncoderDecoderSegmenter):
    """FCN: encoder maps projected (1x1 conv) and added into the decoder at ``n_skips`` levels above the bottom."""

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 11,
        n_skips: int = 2,
        encoder: str = "vgg16",
        upsample: str = "transposed",
        downsample: str = "maxpool",
        widths: Sequence[int] | None = None,
        encoder_blocks: int | Sequence[int] | None = None,
        decoder_blocks: int | Sequence[int] | None = 0,
        kernel_size: int | None = None,
        norm: str = "batch",
        act: str = "relu",
    ) -> None:
        levels = len(widths) if widths is not None else len(encoder_preset(encoder)["widths"])
        if not 0 <= n_skips <= levels - 1:
            raise ValueError(f"FCN with {levels} encoder levels can fuse 0..{levels - 1} skips, not {n_skips}")
        skips = list(range(levels - 2, levels - 2 - n_skips, -1))
        super().__init__(
            in_channels,
            out_channels,
            encoder,
            widths,
            encoder_blocks,
            decoder_blocks,
            kernel_size,
            skips,
            "add",
            upsample,
            downsample,
            norm,
            act,
            "fcn",
        )


@register_model("segnet")
def segnet(
    in_channels: int = 3,
    out_channels: int = 11,
    upsample: str = "max_unpool",
    downsample: str = "maxpool",
    widths: Sequence[int] | None = None,
    encoder_blocks: int | Sequence[int] | None = None,
    decoder_blocks: int | Sequence[int] | None = None,
    kernel_size: int | None = None,
    norm: str = "batch",
    act: str = "relu",
    input_norm: str = "none",
) -> SegNet:
    """Full SegNet: VGG-16-shaped encoder (13 convs, 5 pools), mirrored decoder, max-unpooling;
    ``input_norm="lcn"``: the paper's local contrast normalisation of the input."""
    return SegNet(in_channels, out_channels, "vgg16", upsample, downsample, widths, encoder_blocks, decoder_blocks,
                  kernel_size, norm, act, input_norm)  # fmt: skip


@register_model("segnet_basic")
def segnet_basic(
    in_channels: int = 3,
    out_channels: int = 11,
    upsample: str = "max_unpool",
    downsample: str = "maxpool",
    widths: Sequence[int] | None = None,
    kernel_size: int | None = None,
    norm: str = "batch",
    act: str = "relu",
    input_norm: str = "none",
) -> SegNet:
    """SegNet-Basic: 4 encoders and 4 decoders of one 7x7 conv with 64 channels (TPAMI 2017, Sec. 4.1);
    ``input_norm="lcn"``: the paper's local contrast normalisation of the input."""
    return SegNet(in_channels, out_channels, "basic", upsample, downsample, widths, None, None, kernel_size, norm, act,
                  input_norm)  # fmt: skip


def _fcn(n_skips: int):
    def factory(
        in_channels: int = 3,
        out_channels: int = 11,
        encoder: str = "vgg16",
        upsample: str = "transposed",
        downsample: str = "maxpool",
        widths: Sequence[int] | None = None,
        encoder_blocks: int | Sequence[int] | None = None,
        decoder_blocks: int | Sequence[int] | None = 0,
        kernel_size: int | None = None,
        norm: str = "batch",
        act: str = "relu",
    ) -> FCN:
        return FCN(in_channels, out_channels, n_skips, encoder, upsample, downsample, widths, encoder_blocks,
                   decoder_blocks, kernel_size, norm, act)  # fmt: skip

    factory.__doc__ = f"FCN-{32 // 2**n_skips}s: {n_skips} encoder level(s) added into the decoder."
    return factory


fcn32s = register_model("fcn32s")(_fcn(0))
fcn16s = register_model("fcn16s")(_fcn(1))
fcn8s = register_model("fcn8s")(_fcn(2))

SEGMENTATION_MODELS = ("segnet", "segnet_basic", "fcn32s", "fcn16s", "fcn8s", "unet")
