"""Portable Float Map (PFM) reading and writing: the format of Middlebury/SceneFlow disparity maps.

A PFM file is a text header (``PF`` colour / ``Pf`` grey, ``width height``, a scale whose sign gives the
byte order: negative = little-endian) followed by float32 rows stored **bottom row first**. These
functions hide that: arrays are always top row first, float32, ``H x W`` or ``H x W x 3``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from aekit.data.base import DataError


def read_pfm(path: str | Path) -> np.ndarray:
    """Read a PFM file as float32 ``H x W`` (``Pf``) or ``H x W x 3`` (``PF``), top row first.

    Infinite values (Middlebury's "unknown disparity") are kept as ``inf``; callers mask them.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read PFM file {path}: {exc}") from exc
    # header: three whitespace-separated tokens lines; tolerate comments-free variants with extra spaces
    m = re.match(rb"(P[Ff])\s+(\d+)\s+(\d+)\s+([-+0-9.eE]+)\s", data)
    if m is None:
        raise DataError(f"{path} is not a PFM file (expected a 'PF' or 'Pf' header with width, height and scale)")
    channels = 3 if m.group(1) == b"PF" else 1
    width, height, scale = int(m.group(2)), int(m.group(3)), float(m.group(4))
    dtype = np.dtype("<f4" if scale < 0 else ">f4")
    count = width * height * channels
    body = data[m.end() :]
    if len(body) < count * 4:
        raise DataError(f"{path} is truncated: header says {width}x{height}x{channels}, found {len(body)} bytes")
    arr = np.frombuffer(body, dtype=dtype, count=count).astype(np.float32)
    arr = arr.reshape((height, width, channels) if channels == 3 else (height, width))
    return np.ascontiguousarray(arr[::-1])


def write_pfm(path: str | Path, array: np.ndarray) -> Path:
    """Write a float ``H x W`` or ``H x W x 3`` array (top row first) as little-endian PFM."""
    arr = np.asarray(array, dtype=np.float32)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] != 3):
        raise ValueError(f"PFM holds H x W or H x W x 3 arrays, not shape {arr.shape}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = f"{'PF' if arr.ndim == 3 else 'Pf'}\n{arr.shape[1]} {arr.shape[0]}\n-1.0\n".encode("ascii")
    path.write_bytes(header + np.ascontiguousarray(arr[::-1]).astype("<f4").tobytes())
    return path
