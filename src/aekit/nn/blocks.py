"""Small composable blocks: conv-norm-activation and size padding."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

NORMS = ("batch", "group", "instance", "none")
ACTIVATIONS = ("relu", "leaky_relu", "elu", "gelu", "silu", "none")


def make_norm(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "group":
        return nn.GroupNorm(min(32, channels) if channels % min(32, channels) == 0 else 1, channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm {kind!r}; choose one of {', '.join(NORMS)}")


def make_activation(kind: str) -> nn.Module:
    table = {
        "relu": lambda: nn.ReLU(inplace=True),
        "leaky_relu": lambda: nn.LeakyReLU(0.2, inplace=True),
        "elu": lambda: nn.ELU(inplace=True),
        "gelu": nn.GELU,
        "silu": lambda: nn.SiLU(inplace=True),
        "none": nn.Identity,
    }
    if kind not in table:
        raise ValueError(f"unknown activation {kind!r}; choose one of {', '.join(ACTIVATIONS)}")
    return table[kind]()


class ConvNormAct(nn.Sequential):
    """Conv2d -> norm -> activation with 'same' padding (bias dropped when a norm follows)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        norm: str = "batch",
        act: str = "relu",
    ) -> None:
        super().__init__(
            nn.Conv2d(
                in_channels,
                out_channels,
                kernel_size,
                stride=stride,
                padding=kernel_size // 2,
                bias=norm == "none",
            ),
            make_norm(norm, out_channels),
            make_activation(act),
        )


def conv_stack(
    in_channels: int, out_channels: int, n: int, kernel_size: int = 3, norm: str = "batch", act: str = "relu"
) -> nn.Sequential:
    """``n`` ConvNormAct blocks; the first maps in->out channels. ``n == 0`` is the identity."""
    layers = [
        ConvNormAct(in_channels if i == 0 else out_channels, out_channels, kernel_size, norm=norm, act=act)
        for i in range(n)
    ]
    return nn.Sequential(*layers)


def pad_to_multiple(x: torch.Tensor, multiple: int, mode: str = "replicate") -> torch.Tensor:
    """Pad H and W at the bottom/right up to a multiple of ``multiple``; crop back with ``[..., :h, :w]``.

    This is how every model here accepts any input size instead of refusing it.
    """
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph == 0 and pw == 0:
        return x
    # replicate padding needs the pad smaller than the dimension; fall back to zeros for tiny inputs
    if mode != "constant" and (ph >= h or pw >= w):
        mode = "constant"
    return F.pad(x, (0, pw, 0, ph), mode=mode)
