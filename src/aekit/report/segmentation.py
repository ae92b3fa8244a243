"""Pictures for segmentation: colour label maps, overlays, and input | ground truth | prediction panels."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

IGNORE_COLOUR = (0, 0, 0)


def default_colours(num_classes: int) -> list[list[int]]:
    """Distinct colours for classes without a palette (tab10/tab20, then a deterministic random fill)."""
    import matplotlib

    cmap = matplotlib.colormaps["tab10" if num_classes <= 10 else "tab20"]
    cols = [[int(255 * c) for c in cmap(i % 20)[:3]] for i in range(min(num_classes, 20))]
    rng = np.random.default_rng(0)
    cols += rng.integers(0, 256, size=(max(0, num_classes - 20), 3)).tolist()
    return cols


def class_colours(num_classes: int, metadata: dict | None = None) -> list[list[int]]:
    cols = (metadata or {}).get("class_colours")
    if cols and len(cols) >= num_classes:
        return [list(map(int, c)) for c in cols[:num_classes]]
    if num_classes == 2:
        return [[0, 0, 0], [255, 255, 255]]
    return default_colours(num_classes)


def class_names(num_classes: int, metadata: dict | None = None) -> list[str]:
    names = (metadata or {}).get("class_names")
    return list(names[:num_classes]) if names and len(names) >= num_classes else [str(i) for i in range(num_classes)]


def colourize(mask: np.ndarray | torch.Tensor, colours: Sequence[Sequence[int]]) -> np.ndarray:
    """(H, W) class indices -> (H, W, 3) uint8; indices outside the palette (void) are black."""
    m = np.asarray(mask).astype(np.int64)
    lut = np.zeros((max(int(m.max(initial=0)), len(colours) - 1) + 1, 3), dtype=np.uint8)
    lut[: len(colours)] = np.asarray(colours, dtype=np.uint8)
    lut[len(colours) :] = IGNORE_COLOUR
    return lut[np.clip(m, 0, len(lut) - 1)]


def overlay(image_rgb: np.ndarray, colour_mask: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """Blend a colour label map over an (H, W, 3) uint8 image."""
    img = image_rgb if image_rgb.shape[-1] == 3 else np.repeat(image_rgb[..., :1], 3, axis=-1)
    return (img.astype(np.float32) * (1 - alpha) + colour_mask.astype(np.float32) * alpha).round().astype(np.uint8)


def to_display(image: torch.Tensor, normalization: dict | None = None) -> np.ndarray:
    """A (C, H, W) model input (possibly normalised) -> (H, W, 3) uint8 for display."""
    x = image.detach().float().cpu()
    if normalization:
        mean = torch.tensor(normalization["mean"]).view(-1, 1, 1)
        std = torch.tensor(normalization["std"]).view(-1, 1, 1)
        x = x * std + mean
    arr = (x.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()
    return np.repeat(arr, 3, axis=-1) if arr.shape[-1] == 1 else arr[..., :3]


def comparison_figure(
    rows: Sequence[tuple[np.ndarray, ...]],
    titles: Sequence[str],
    path: str | Path,
    colours: Sequence[Sequence[int]],
    names: Sequence[str],
) -> Path:
    """One row per example, columns as ``titles`` (RGB uint8 arrays), with a legend of class colours below."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    n, k = len(rows), len(titles)
    h, w = rows[0][0].shape[:2]
    fig, axes = plt.subplots(n, k, figsize=(2.6 * k * w / max(h, w) + 0.2, 2.6 * n * h / max(h, w) + 0.9))
    axes = np.atleast_2d(axes).reshape(n, k)
    for i, row in enumerate(rows):
        for j, panel in enumerate(row):
            ax = axes[i, j]
            ax.imshow(panel, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(titles[j], fontsize=9)
    handles = [Patch(facecolor=np.asarray(c) / 255.0, edgecolor="grey", label=nm) for c, nm in zip(colours, names)]
    fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 6), fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0.04 + 0.03 * ((len(handles) - 1) // 6), 1, 1))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def prediction_rows(
    images: torch.Tensor,
    masks: torch.Tensor,
    predictions: Sequence[torch.Tensor],
    colours: Sequence[Sequence[int]],
    normalization: dict | None = None,
) -> list[tuple[np.ndarray, ...]]:
    """Rows (input, ground truth, prediction 1, prediction 2, ...) for :func:`comparison_figure`."""
    rows = []
    for i in range(images.shape[0]):
        row = [to_display(images[i], normalization), colourize(masks[i], colours)]
        row += [colourize(p[i], colours) for p in predictions]
        rows.append(tuple(row))
    return rows


def prediction_figure(task: Any, dataset: Any, path: Path, n: int = 4) -> Path:
    """Input | ground truth | prediction for the first ``n`` items of ``dataset`` (a segmentation task)."""
    k = task.hparams.num_classes
    items = [dataset[i] for i in range(min(n, len(dataset)))]
    # equal panels: items of several sizes are cropped to the smallest height and width among them
    h = min(it["image"].shape[-2] for it in items)
    w = min(it["image"].shape[-1] for it in items)
    x = torch.stack([it["image"][..., :h, :w] for it in items])
    y = torch.stack([it["mask"][:h, :w] for it in items])
    pred = task.predict_labels(x)
    colours = class_colours(k, task.metadata)
    rows = prediction_rows(x, y, [pred], colours, task.metadata.get("normalization"))
    return comparison_figure(
        rows, ["input", "ground truth", "prediction"], path, colours, class_names(k, task.metadata)
    )
