"""Tiled inference: dense models on images larger than a memory budget, tiles overlapping and blended.

Why: evaluation and prediction run at each image's native size; a 4000x3000 photo through a U-Net needs
several GB of activations. Above ``max_pixels`` (batch x H x W) the input is cut into overlapping tiles,
each tile's output is weighted by a ramp that falls to the tile's edges (where a convolution sees
padding), and the weighted outputs are summed and normalised. Works for any model whose output is an
integer multiple ``s`` of the input size (1 for segmentation/depth, the scale for super-resolution).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial

import torch

DEFAULT_MAX_PIXELS = 1024 * 1024


def _starts(length: int, tile: int, step: int) -> list[int]:
    """Tile origins covering ``length``: a regular step, the last tile flush with the end."""
    if length <= tile:
        return [0]
    starts = list(range(0, length - tile, step))
    return starts + [length - tile]


def _ramp(n: int, overlap: int, device: torch.device) -> torch.Tensor:
    """1 inside, falling linearly to ~0 over ``overlap`` pixels at both ends (never exactly 0)."""
    w = torch.ones(n, device=device)
    if overlap > 0 and n > 2 * overlap:
        r = (torch.arange(overlap, device=device, dtype=torch.float32) + 1) / (overlap + 1)
        w[:overlap] = r
        w[-overlap:] = r.flip(0)
    return w


def tile_size(batch: int, max_pixels: int, multiple: int = 32, smallest: int = 64) -> int:
    """The square tile side that keeps ``batch x tile^2`` within ``max_pixels`` (a multiple of ``multiple``)."""
    side = int(math.sqrt(max_pixels / max(1, batch))) // multiple * multiple
    return max(smallest, side)


def tiled_forward(
    forward: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    overlap: int | None = None,
) -> torch.Tensor:
    """``forward(x)`` computed tile by tile when ``x`` (N, C, H, W) exceeds ``max_pixels``, else at once."""
    n, _, h, w = x.shape
    if n * h * w <= max_pixels:
        return forward(x)
    tile = tile_size(n, max_pixels)
    overlap = max(16, tile // 8) if overlap is None else overlap
    th, tw = min(tile, h), min(tile, w)
    out = weight = None
    scale = 1
    for top in _starts(h, th, th - overlap):
        for left in _starts(w, tw, tw - overlap):
            y = forward(x[..., top : top + th, left : left + tw]).float()
            if out is None:
                scale = y.shape[-1] // tw
                if y.shape[-2] != th * scale or y.shape[-1] != tw * scale:
                    return forward(x)  # not a dense per-pixel model: no tiling
                out = torch.zeros(n, y.shape[1], h * scale, w * scale, device=y.device)
                weight = torch.zeros(1, 1, h * scale, w * scale, device=y.device)
                ramp = _ramp(th * scale, overlap * scale, y.device)[:, None] * _ramp(tw * scale, overlap * scale,
                                                                                    y.device)[None, :]  # fmt: skip
            ys, xs = slice(top * scale, (top + th) * scale), slice(left * scale, (left + tw) * scale)
            out[..., ys, xs] += y * ramp
            weight[..., ys, xs] += ramp
    return out / weight  # type: ignore[operator]


# dense per-pixel outputs; the stereo net sees a resized image
TILED_TASKS = ("segmentation", "superres", "depth", "focus_depth")


@contextmanager
def tiling(model: torch.nn.Module, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> Iterator[None]:
    """Within the block, calls of ``model`` above ``max_pixels`` run tiled (None: never)."""
    if not max_pixels:
        yield
        return
    original = model.forward
    model.forward = partial(tiled_forward, original, max_pixels=max_pixels)  # type: ignore[method-assign]
    try:
        yield
    finally:
        model.forward = original  # type: ignore[method-assign]
