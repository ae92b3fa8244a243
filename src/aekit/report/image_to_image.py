"""Pictures for image-to-image problems: colour-mapped depth beside its input, SR crops side by side."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from matplotlib import colormaps
from PIL import Image


def to_uint8_image(x: torch.Tensor) -> np.ndarray:
    """(C, H, W) float in [0, 1] -> uint8 (H, W, 3) (grayscale repeated)."""
    arr = (x.detach().float().clamp(0, 1).cpu().numpy() * 255 + 0.5).astype(np.uint8).transpose(1, 2, 0)
    return np.repeat(arr, 3, axis=2) if arr.shape[2] == 1 else arr[..., :3]


def colorize_depth(
    depth: np.ndarray | torch.Tensor, vmin: float | None = None, vmax: float | None = None, cmap: str = "magma_r"
) -> np.ndarray:
    """Depth (H, W) -> uint8 (H, W, 3): near is bright, far is dark; invalid pixels (0, NaN, inf) black.

    The range defaults to the 2nd..98th percentile of the valid pixels, so outliers do not flatten it.
    """
    d = np.asarray(depth.detach().cpu() if isinstance(depth, torch.Tensor) else depth, dtype=np.float64).squeeze()
    valid = np.isfinite(d) & (d > 0)
    if not valid.any():
        return np.zeros((*d.shape, 3), np.uint8)
    lo = float(np.percentile(d[valid], 2)) if vmin is None else vmin
    hi = float(np.percentile(d[valid], 98)) if vmax is None else vmax
    t = np.clip((np.where(valid, d, lo) - lo) / max(hi - lo, 1e-12), 0, 1)
    rgb = (colormaps[cmap](t)[..., :3] * 255 + 0.5).astype(np.uint8)
    rgb[~valid] = 0
    return rgb


def side_by_side(panels: Sequence[np.ndarray], gap: int = 4) -> np.ndarray:
    """uint8 (H, W, 3) panels of equal height joined left to right with white gaps."""
    h = max(p.shape[0] for p in panels)
    out = []
    for i, p in enumerate(panels):
        if p.shape[0] < h:
            p = np.pad(p, ((0, h - p.shape[0]), (0, 0), (0, 0)), constant_values=255)
        out.append(p)
        if i < len(panels) - 1:
            out.append(np.full((h, gap, 3), 255, np.uint8))
    return np.concatenate(out, axis=1)


def depth_panel(image: torch.Tensor, pred: torch.Tensor, target: torch.Tensor | None = None) -> np.ndarray:
    """Input | prediction | ground truth (if given), prediction and truth on the truth's colour range."""
    valid_t = None if target is None else target.detach().cpu().numpy().squeeze()
    vmin = vmax = None
    if valid_t is not None and (np.isfinite(valid_t) & (valid_t > 0)).any():
        v = valid_t[np.isfinite(valid_t) & (valid_t > 0)]
        vmin, vmax = float(np.percentile(v, 2)), float(np.percentile(v, 98))
    panels = [to_uint8_image(image), colorize_depth(pred, vmin, vmax)]
    if target is not None:
        panels.append(colorize_depth(target, vmin, vmax))
    return side_by_side(panels)


def save_rows(rows: Sequence[np.ndarray], path: str | Path, gap: int = 4) -> Path:
    """Stack panels (padded to the widest) top to bottom into one PNG."""
    w = max(r.shape[1] for r in rows)
    parts = []
    for i, r in enumerate(rows):
        parts.append(np.pad(r, ((0, 0), (0, w - r.shape[1]), (0, 0)), constant_values=255))
        if i < len(rows) - 1:
            parts.append(np.full((gap, w, 3), 255, np.uint8))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.concatenate(parts, axis=0)).save(path)
    return path
