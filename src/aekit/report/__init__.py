"""Figures (matplotlib, no display needed) and Markdown tables; per-problem pictures in submodules
(``report.segmentation``: label colours and panels, ``report.image_to_image``: depth maps and SR crops)."""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def _to_display(img: np.ndarray) -> np.ndarray:
    """(C, H, W) in [0, 1] -> (H, W) or (H, W, 3) for imshow."""
    img = np.clip(img, 0, 1)
    if img.shape[0] == 1:
        return img[0]
    return img[:3].transpose(1, 2, 0)


def image_grid(rows: Sequence[np.ndarray], row_titles: Sequence[str], path: str | Path, max_cols: int = 10) -> Path:
    """One row per array of images (N, C, H, W), e.g. inputs above reconstructions."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = min(max_cols, min(len(r) for r in rows))
    fig, axes = plt.subplots(len(rows), n, figsize=(1.2 * n, 1.3 * len(rows)), squeeze=False)
    for r, (images, title) in enumerate(zip(rows, row_titles)):
        for c in range(n):
            ax = axes[r][c]
            ax.imshow(_to_display(images[c]), cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r][0].set_ylabel(title, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def embedding_figure(
    panels: Mapping[str, np.ndarray], labels: np.ndarray | None, path: str | Path, max_points: int = 5000
) -> Path:
    """Side-by-side 2-D scatters (e.g. autoencoder z vs PCA), coloured by label."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4.5), squeeze=False)
    for ax, (title, xy) in zip(axes[0], panels.items()):
        xy = xy[:max_points]
        c = None if labels is None else labels[:max_points]
        sc = ax.scatter(xy[:, 0], xy[:, 1], c=c, cmap="tab10", s=4, alpha=0.7)
        ax.set_title(title, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    if labels is not None:
        fig.colorbar(sc, ax=axes[0].tolist(), ticks=np.unique(labels)[:10], fraction=0.03)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def read_metrics_csv(path: str | Path) -> dict[str, list[tuple[float, float]]]:
    """Lightning's metrics.csv as ``{column: [(epoch, value), ...]}`` (empty cells skipped)."""
    series: dict[str, list[tuple[float, float]]] = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            epoch = float(row.get("epoch") or 0)
            for key, value in row.items():
                if key in ("epoch", "step") or value in ("", None):
                    continue
                series.setdefault(key, []).append((epoch, float(value)))
    return series


def training_curves(metrics_csv: str | Path, path: str | Path, keys: Sequence[str] | None = None) -> Path:
    """Per-epoch curves of the logged metrics (loss curves in one panel, other metrics beside)."""
    path = Path(path)
    series = read_metrics_csv(metrics_csv)
    keys = keys or [k for k in series if k.endswith("_epoch") or k.startswith(("val/", "test/"))]
    losses = [k for k in keys if "loss" in k]
    others = [k for k in keys if "loss" not in k and k in series]
    fig, axes = plt.subplots(1, 1 + bool(others), figsize=(5 * (1 + bool(others)), 3.5), squeeze=False)
    for k in losses:
        e, v = zip(*series[k])
        axes[0][0].plot(e, v, marker=".", label=k.replace("_epoch", ""))
    axes[0][0].set_xlabel("epoch")
    axes[0][0].set_yscale("log")
    axes[0][0].legend(fontsize=8)
    for k in others:
        e, v = zip(*series[k])
        axes[0][1].plot(e, v, marker=".", label=k)
        axes[0][1].set_xlabel("epoch")
        axes[0][1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def fmt(value: object, digits: int = 4) -> str:
    if isinstance(value, float):
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
            return f"{value:.3e}"
        return f"{value:.{digits}g}" if not math.isnan(value) else "nan"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"  # parameter counts read better as 1,420,000
    return str(value)


def markdown_table(rows: Sequence[Mapping[str, object]], digits: int = 4) -> str:
    """A Markdown table from dicts sharing their keys (the first row's keys are the columns)."""
    if not rows:
        return ""
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(fmt(r.get(k, ""), digits) for k in keys) + " |" for r in rows]
    return "\n".join(lines)
