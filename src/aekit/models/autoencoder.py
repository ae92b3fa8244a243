"""Bottleneck autoencoder: CNN encoder -> flat code ``z`` (latent_dim) -> CNN decoder -> image."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from aekit.models.encoders import ConvEncoder, per_stage
from aekit.nn.blocks import ConvNormAct, conv_stack, make_activation, make_norm, pad_to_multiple
from aekit.nn.upsample import UpSample, check_upsample_mode
from aekit.registry import register_model

OUTPUT_ACTIVATIONS = ("sigmoid", "tanh", "none")


def _pair(size: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(size, int):
        return size, size
    h, w = (int(s) for s in size)
    return h, w


class ResidualBlock(nn.Module):
    """``act(x + norm(conv(ConvNormAct(x))))``: depth without the optimisation trouble of a plain stack."""

    def __init__(self, channels: int, kernel_size: int = 3, norm: str = "batch", act: str = "relu") -> None:
        super().__init__()
        self.body = nn.Sequential(
            ConvNormAct(channels, channels, kernel_size, norm=norm, act=act),
            nn.Conv2d(channels, channels, kernel_size, padding=kernel_size // 2, bias=norm == "none"),
            make_norm(norm, channels),
        )
        self.act = make_activation(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x + self.body(x))


@register_model("autoencoder")
class ConvAutoencoder(nn.Module):
    """Convolutional autoencoder with a flat bottleneck, for any image size and channel count.

    Inputs are padded to a multiple of the encoder's reduction and outputs cropped back, so
    ``image_size`` need not be a power of two. ``forward`` returns the reconstruction only; the loss
    lives in the training task. ``residual_blocks`` (per stage, or one int for all) appends
    :class:`ResidualBlock` s to every encoder stage and the matching decoder stage (0 = the plain model).
    """

    def __init__(
        self,
        in_channels: int = 1,
        image_size: int | Sequence[int] = 28,
        latent_dim: int = 32,
        widths: Sequence[int] = (32, 64, 128),
        blocks_per_stage: int | Sequence[int] = 1,
        kernel_size: int = 3,
        norm: str = "batch",
        act: str = "relu",
        downsample: str = "stride",
        upsample: str = "transposed",
        output_activation: str = "sigmoid",
        residual_blocks: int | Sequence[int] = 0,
    ) -> None:
        super().__init__()
        check_upsample_mode(upsample)
        if upsample == "max_unpool":
            raise ValueError(
                "upsample='max_unpool' is not available in the bottleneck autoencoder: the encoder's "
                "max-pooling indices would have to travel around the code z, so z would no longer be the "
                "whole representation. Use it in the dense-prediction models that keep the indices "
                "(segnet, unet), or pick nearest, bilinear, bicubic, fixed_unpool or transposed here."
            )
        if output_activation not in OUTPUT_ACTIVATIONS:
            raise ValueError(f"output_activation must be one of {', '.join(OUTPUT_ACTIVATIONS)}")
        self.in_channels = in_channels
        self.image_size = _pair(image_size)
        self.latent_dim = latent_dim
        input_dim = in_channels * self.image_size[0] * self.image_size[1]
        if not 0 < latent_dim < input_dim:
            raise ValueError(f"latent_dim must be between 1 and the input dimension {input_dim - 1}")

        self.encoder = ConvEncoder(in_channels, widths, blocks_per_stage, kernel_size, norm, act, downsample)
        residual = per_stage(residual_blocks, len(self.encoder.widths), "residual_blocks")
        for stage, width, n in zip(self.encoder.stages, self.encoder.widths, residual):
            stage.extend(ResidualBlock(width, kernel_size, norm, act) for _ in range(n))
        r = self.encoder.reduction
        self.bottom_shape = (
            self.encoder.widths[-1],
            -(-self.image_size[0] // r),
            -(-self.image_size[1] // r),
        )
        flat = self.bottom_shape[0] * self.bottom_shape[1] * self.bottom_shape[2]
        self.to_latent = nn.Linear(flat, latent_dim)
        self.from_latent = nn.Sequential(nn.Linear(latent_dim, flat), make_activation(act))

        widths = self.encoder.widths
        blocks = per_stage(blocks_per_stage, len(widths), "blocks_per_stage")
        # decoder blocks at the bottom resolution, right after the code is unflattened (empty by default)
        self.decoder_bottom = nn.Sequential(
            *(ResidualBlock(widths[-1], kernel_size, norm, act) for _ in range(residual[-1]))
        )
        self.ups = nn.ModuleList()
        self.decoder_stages = nn.ModuleList()
        for i in range(len(widths) - 1, 0, -1):
            self.ups.append(UpSample(widths[i], widths[i - 1], upsample, 2, kernel_size, norm, act))
            stage = conv_stack(widths[i - 1], widths[i - 1], blocks[i - 1], kernel_size, norm, act)
            stage.extend(ResidualBlock(widths[i - 1], kernel_size, norm, act) for _ in range(residual[i - 1]))
            self.decoder_stages.append(stage)
        self.head = nn.Conv2d(widths[0], in_channels, kernel_size, padding=kernel_size // 2)
        self.output_activation = {"sigmoid": nn.Sigmoid(), "tanh": nn.Tanh(), "none": nn.Identity()}[output_activation]

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Images (N, C, H, W) -> codes (N, latent_dim)."""
        if tuple(x.shape[-2:]) != self.image_size or x.shape[1] != self.in_channels:
            raise ValueError(
                f"this autoencoder takes {self.in_channels}x{self.image_size[0]}x{self.image_size[1]} "
                f"images, got {tuple(x.shape[1:])}; resize the data (--image-size) or build the model "
                "with the data's size"
            )
        x = pad_to_multiple(x, self.encoder.reduction)
        bottom = self.encoder(x).features[-1]
        return self.to_latent(bottom.flatten(1))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Codes (N, latent_dim) -> reconstructions (N, C, H, W)."""
        x = self.decoder_bottom(self.from_latent(z).view(z.shape[0], *self.bottom_shape))
        for up, stage in zip(self.ups, self.decoder_stages):
            x = stage(up(x))
        x = self.head(x)[..., : self.image_size[0], : self.image_size[1]]
        return self.output_activation(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))
