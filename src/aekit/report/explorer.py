"""``aekit explore``: one self-contained HTML page to look inside an autoencoder's code space.

Everything is inline (data as JSON, thumbnails as one base64 PNG sprite sheet, the script), so the file
opens from disk in any browser with no server and no network. Points are drawn on a canvas; hovering
shows the image and its reconstruction; picking two points shows decoded images along the straight
line between the codes of their nearest landmarks (decoding needs the model, so the lines are
precomputed between all pairs of ``landmarks`` spread over the code space).
"""

from __future__ import annotations

import base64
import io
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from aekit.experiments.pca import Stacked, autoencode
from aekit.report.explorer_page import PAGE

MAX_SPRITE_SIDE = 16000  # browsers cap canvas/image sides near 16k-32k pixels


@dataclass
class Explorer:
    """What the page holds, kept for tests and callers: the sprite cells and the landmark lines."""

    path: Path
    xy: np.ndarray  # (N, 2) map coordinates
    cells: np.ndarray  # (cells, h, w, C) uint8 thumbnails in sprite order: images, reconstructions, lines
    landmarks: np.ndarray  # point indices with precomputed lines
    pair_start: dict[tuple[int, int], int]  # (landmark i < landmark j) -> first sprite cell of the line
    steps: int


def farthest_points(codes: np.ndarray, n: int, first: Sequence[int] = (), seed: int = 0) -> np.ndarray:
    """``n`` indices spread over the code space (farthest-point sampling), starting with ``first``."""
    n = min(n, len(codes))
    chosen = list(dict.fromkeys(int(i) for i in first))[:n]
    if not chosen:
        chosen = [int(np.random.default_rng(seed).integers(len(codes)))]
    d = np.min(np.linalg.norm(codes[:, None] - codes[chosen][None], axis=2), axis=1)
    while len(chosen) < n:
        i = int(d.argmax())
        chosen.append(i)
        d = np.minimum(d, np.linalg.norm(codes - codes[i], axis=1))
    return np.array(chosen, dtype=np.int64)


def to_thumbnails(images: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(N, C, H, W) floats in [0, 1] -> (N, h, w, C) uint8 at ``size`` (area resampling when smaller)."""
    x = np.clip(images, 0, 1).transpose(0, 2, 3, 1)
    x = (x * 255).round().astype(np.uint8)
    if x.shape[1:3] == tuple(size):
        return x
    out = []
    for img in x:
        pil = Image.fromarray(img[..., 0] if img.shape[-1] == 1 else img[..., :3])
        out.append(np.asarray(pil.resize((size[1], size[0]), Image.BOX)).reshape(size[0], size[1], -1))
    return np.stack(out)


def sprite_sheet(cells: np.ndarray) -> tuple[str, int]:
    """One PNG (grayscale or RGB) holding every cell row-major; returns (base64 data URL, columns)."""
    n, h, w, c = cells.shape
    cols = max(1, math.ceil(math.sqrt(n * h / w)))
    rows = math.ceil(n / cols)
    sheet = np.zeros((rows * h, cols * w, c), dtype=np.uint8)
    for i in range(n):
        r, q = divmod(i, cols)
        sheet[r * h : (r + 1) * h, q * w : (q + 1) * w] = cells[i]
    pil = Image.fromarray(sheet[..., 0] if c == 1 else sheet[..., :3])
    buf = io.BytesIO()
    pil.save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii"), cols


def map_2d(codes: np.ndarray, method: str, seed: int = 0) -> tuple[np.ndarray, str]:
    """2-D coordinates of the codes: the code itself when 2-D, else UMAP or PCA; returns (xy, description)."""
    if method == "auto":
        method = "z" if codes.shape[1] == 2 else "umap"
    if method == "z":
        if codes.shape[1] != 2:
            raise ValueError(f"--map z needs a 2-D code; this model's code has {codes.shape[1]} dimensions")
        return codes.astype(np.float32), "the code z itself (2-D)"
    if method not in ("umap", "pca"):
        raise ValueError(f"--map must be auto, z, umap or pca, not {method!r}")
    from aekit.experiments.cluster import reduce

    return reduce(codes, method, 2, seed, n_neighbors=15), f"{method.upper()} of the {codes.shape[1]}-d code z"


def write_explorer(
    model: nn.Module,
    data: Stacked,
    out: str | Path,
    names: Sequence[str] | None = None,
    clusters: np.ndarray | None = None,
    map_method: str = "auto",
    landmarks: int = 24,
    steps: int = 8,
    thumb: int = 64,
    seed: int = 0,
    title: str = "aekit explorer",
    colour_k: int = 0,
    marked: Sequence[int] = (),
) -> Explorer:
    """Encode ``data``, map the codes to 2-D, precompute the landmark lines and write the HTML page.

    Without ``clusters``, ``colour_k > 0`` colours the points by k-means on the same codes (encoded once).
    ``marked``: point indices drawn as diamonds, e.g. the images ``aekit suggest-labels`` asks to label."""
    if len(data.images) == 0:
        raise ValueError("no images to explore")
    recon, codes = autoencode(model, data)
    if clusters is None and 0 < colour_k < len(codes):
        from aekit.experiments.cluster import cluster_features

        clusters = cluster_features(codes, colour_k, "kmeans", "none", seed=seed)[0].labels
    xy, how = map_2d(codes, map_method, seed)
    n = len(codes)
    h, w = data.images.shape[2:]
    scale = min(1.0, thumb / max(h, w))
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    # landmarks: the most central point of every cluster first, then spread over the rest of the code space
    first = []
    if clusters is not None:
        for c in np.unique(clusters):
            members = np.flatnonzero(clusters == c)
            centre = codes[members].mean(axis=0)
            first.append(int(members[np.linalg.norm(codes[members] - centre, axis=1).argmin()]))
    marks = farthest_points(codes, max(2, landmarks), first, seed) if n >= 2 else np.zeros(1, dtype=np.int64)
    nearest = np.linalg.norm(codes[:, None] - codes[marks][None], axis=2).argmin(axis=1)
    pairs = [(a, b) for a in range(len(marks)) for b in range(a + 1, len(marks))]
    t = np.linspace(0.0, 1.0, steps, dtype=np.float32)[:, None]
    line_codes = [(1 - t) * codes[marks[a]] + t * codes[marks[b]] for a, b in pairs]
    lines = decode(model, np.concatenate(line_codes)) if pairs else np.zeros((0, *data.images.shape[1:]), np.float32)
    cells = np.concatenate([to_thumbnails(x, size) for x in (data.images, recon, lines) if len(x)])
    while math.ceil(math.sqrt(len(cells) * size[0] / size[1])) * size[1] > MAX_SPRITE_SIDE and size[0] > 8:
        size = (size[0] // 2, size[1] // 2)  # thousands of large thumbnails: halve until the sheet fits
        cells = np.concatenate([to_thumbnails(x, size) for x in (data.images, recon, lines) if len(x)])
    sprite, cols = sprite_sheet(cells)
    pair_start = {(a, b): 2 * n + p * steps for p, (a, b) in enumerate(pairs)}
    payload = {
        "title": title,
        "how": how,
        "n": n,
        "x": [round(float(v), 4) for v in xy[:, 0]],
        "y": [round(float(v), 4) for v in xy[:, 1]],
        "label": None if data.labels is None else [int(v) for v in data.labels],
        "cluster": None if clusters is None else [int(v) for v in clusters],
        "names": list(names) if names is not None else [f"#{i}" for i in range(n)],
        "cell": {"w": size[1], "h": size[0], "cols": cols},
        "reconOffset": n,
        "landmarks": [int(i) for i in marks],
        "nearestLandmark": [int(i) for i in nearest],
        "pairStart": {f"{a},{b}": s for (a, b), s in pair_start.items()},
        "steps": steps,
        "latentDim": int(codes.shape[1]),
        "marked": sorted({int(i) for i in marked}),
    }
    data_json = json.dumps(payload, separators=(",", ":")).replace("</", "<\\/")
    html = PAGE.replace("__TITLE__", _escape(title)).replace("__DATA__", data_json).replace("__SPRITE__", sprite)
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, path)
    return Explorer(path, xy, cells, marks, pair_start, steps)


@torch.no_grad()
def decode(model: nn.Module, codes: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Decoded images of code rows (N, D) -> (N, C, H, W) floats."""
    model.eval()
    device = next(model.parameters()).device
    out = [
        model.decode(torch.from_numpy(codes[i : i + batch_size]).to(device)).float().cpu().numpy()
        for i in range(0, len(codes), batch_size)
    ]
    return np.concatenate(out)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
