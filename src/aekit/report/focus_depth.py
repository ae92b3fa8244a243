"""Depth-from-focus figures: input slices, ground truth, the network's and the focus measure's depth, error."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from aekit.report import plt


def focus_figure(
    rows: Sequence[tuple[str, dict[str, torch.Tensor], dict[str, torch.Tensor], dict[str, dict[str, float]]]],
    path: str | Path,
) -> Path:
    """One row per scene ``(name, item, depth maps by method, scores by method)``: nearest-focus slice,
    farthest-focus slice, GT, network, focus measure, |network - GT| (black: no GT). Depth maps share the GT's
    2..98 percentile colour range; near is bright."""
    cols = ["slice 1 (focus {:.1f})", "slice S (focus {:.1f})", "ground truth", "network", "focus measure",
            "|network - GT|"]  # fmt: skip
    fig, axes = plt.subplots(len(rows), len(cols), figsize=(2.6 * len(cols), 2.3 * len(rows)), squeeze=False)
    for r, (name, item, maps, scores) in enumerate(rows):
        s = int(item["focus"].shape[-1])
        stack = item["image"].reshape(s, -1, *item["image"].shape[-2:])
        gt, valid = item["target"][0].numpy(), item["valid"][0].numpy() > 0
        ok = valid & (gt > 0)
        lo, hi = (np.percentile(gt[ok], [2, 98]) if ok.any() else (0.0, 1.0))
        err = np.where(ok, np.abs(maps["network"].numpy() - gt), np.nan)
        panels = [
            (stack[0].permute(1, 2, 0).numpy(), None, cols[0].format(float(item["focus"][0]))),
            (stack[-1].permute(1, 2, 0).numpy(), None, cols[1].format(float(item["focus"][-1]))),
            (np.where(ok, gt, np.nan), "magma", f"{name}: GT"),
            (maps["network"].numpy(), "magma", f"network RMS {scores['network']['rmse']:.2f}"),
            (maps["focus_measure"].numpy(), "magma", f"focus measure RMS {scores['focus_measure']['rmse']:.2f}"),
            (err, "viridis", f"|error| (0..{(hi - lo) / 4:.1f})"),
        ]
        for c, (img, cmap, title) in enumerate(panels):
            ax = axes[r, c]
            if cmap is None:
                ax.imshow(np.clip(img, 0, 1))
            elif c == 5:
                ax.imshow(img, cmap=cmap, vmin=0, vmax=(hi - lo) / 4)
            else:
                ax.imshow(img, cmap=cmap, vmin=lo, vmax=hi)
            ax.set_title(title, fontsize=8)
            ax.axis("off")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path
