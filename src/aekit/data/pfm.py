"""Portable Float Map (PFM) reader and writer: the float image format of Middlebury and SceneFlow.

Format: a line ``PF`` (3 channels) or ``Pf`` (1 channel), a line ``width height``, a line with a scale
whose sign gives the byte order (negative = little-endian), then float32 rows from the BOTTOM row up.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aekit.data.base import DataError


def read_pfm(path: str | Path) -> np.ndarray:
    """float32 (H, W) or (H, W, 3), rows top-to-bottom."""
    with open(path, "rb") as f:
        kind = f.readline().strip()
        if kind not in (b"PF", b"Pf"):
            raise DataError(f"{path} is not a PFM file (header {kind[:10]!r}, expected PF or Pf)")
        dims = f.readline().split()
        while not dims:  # tolerate blank lines some writers put here
            dims = f.readline().split()
        try:
            width, height = int(dims[0]), int(dims[1])
            scale = float(f.readline().strip())
        except (ValueError, IndexError) as exc:
            raise DataError(f"{path}: malformed PFM header ({exc})") from exc
        channels = 3 if kind == b"PF" else 1
        dtype = "<f4" if scale < 0 else ">f4"
        data = np.fromfile(f, dtype=dtype, count=width * height * channels)
    if data.size != width * height * channels:
        raise DataError(f"{path} is truncated: expected {width}x{height}x{channels} floats, found {data.size}")
    shape = (height, width, 3) if channels == 3 else (height, width)
    return np.flipud(data.reshape(shape)).astype(np.float32)


def write_pfm(path: str | Path, array: np.ndarray) -> None:
    """Write float (H, W), (H, W, 1) or (H, W, 3), rows top-to-bottom, as little-endian PFM."""
    arr = np.asarray(array, dtype=np.float32)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] == 3)):
        raise DataError(f"PFM holds (H, W) or (H, W, 3) arrays, not shape {arr.shape}")
    kind = b"PF" if arr.ndim == 3 else b"Pf"
    h, w = arr.shape[:2]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        f.write(kind + b"\n" + f"{w} {h}\n".encode() + b"-1.0\n")
        f.write(np.ascontiguousarray(np.flipud(arr)).astype("<f4").tobytes())
