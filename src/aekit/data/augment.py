"""Batch augmentation with plain torch ops (no torchvision), applied on the device inside a task."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def random_affine(
    x: torch.Tensor,
    max_rotation: float = 10.0,
    max_shift: float = 0.1,
    max_scale: float = 0.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Rotate by up to ``max_rotation`` degrees, shift by up to ``max_shift`` of the image size and scale by
    up to ``1 ± max_scale``, independently per image; the area that comes in from outside is zero.

    Small shifts/rotations are what a handful of labeled digits or CT slices can afford: they multiply
    the labeled set without changing the class (unlike flips for digits).
    """
    if max_rotation <= 0 and max_shift <= 0 and max_scale <= 0:
        return x
    n = x.shape[0]
    opts = {"device": x.device, "dtype": torch.float32, "generator": generator}

    def uniform(scale: float) -> torch.Tensor:
        return (torch.rand(n, **opts) * 2 - 1) * scale

    angle = uniform(math.radians(max_rotation))
    scale = 1 + uniform(max_scale)
    tx, ty = uniform(2 * max_shift), uniform(2 * max_shift)  # grid coordinates span [-1, 1] = 2 units
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    out = F.grid_sample(x.float(), grid.to(x.device), mode="bilinear", padding_mode="zeros", align_corners=False)
    return out.to(x.dtype)
