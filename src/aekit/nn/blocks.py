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


INPUT_NORMS = ("none", "lcn")


class LocalContrastNorm(nn.Module):
    """Local contrast normalisation (Jarrett et al. 2009), SegNet's input pre-processing: per channel, subtract
    the Gaussian-weighted local mean, then divide by the local standard deviation, floored at its image mean so
    flat regions are not blown up. Parameter-free and inside the model, so training, evaluation, prediction and
    export all see the same input; invariant to a per-image gain and offset of each channel."""

    def __init__(self, channels: int, size: int = 9, sigma: float = 2.0, eps: float = 1e-4) -> None:
        super().__init__()
        r = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
        g = torch.exp(-(r**2) / (2 * sigma**2))
        kernel = torch.outer(g, g)
        kernel = (kernel / kernel.sum()).expand(channels, 1, size, size).clone()
        self.register_buffer("kernel", kernel, persistent=False)  # a constant: not in checkpoints
        self.channels, self.pad, self.eps = channels, size // 2, eps

    def smooth(self, x: torch.Tensor) -> torch.Tensor:
        p = self.pad
        return F.conv2d(F.pad(x, (p, p, p, p), mode="replicate"), self.kernel.to(x.dtype), groups=self.channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        centred = x - self.smooth(x)
        std = self.smooth(centred * centred).clamp_min(0).sqrt()
        floor = std.mean(dim=(-2, -1), keepdim=True)
        return centred / torch.maximum(std, floor).clamp_min(self.eps)


def make_input_norm(kind: str, channels: int) -> nn.Module:
    """``none`` (identity) or ``lcn`` (:class:`LocalContrastNorm`) at a model's input."""
    if kind == "lcn":
        return LocalContrastNorm(channels)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown input_norm {kind!r}; choose one of {', '.join(INPUT_NORMS)}")
