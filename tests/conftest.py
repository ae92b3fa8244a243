"""Shared fixtures: tiny synthetic data made on the fly, and the CLI run in-process."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from aekit.cli.main import main

# the real data sets: $AEKIT_DATA, else ../shared/data next to the repository (whatever the working directory)
SHARED_DATA = Path(os.environ.get("AEKIT_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")


def needs_shared_data(*parts: str) -> Callable:
    """Mark a test ``shared_data`` and skip it, with the reason, when ``SHARED_DATA/parts`` is absent."""
    path = SHARED_DATA.joinpath(*parts)

    def apply(fn: Callable) -> Callable:
        reason = f"shared data {path} is absent (set AEKIT_DATA to the folder holding it)"
        return pytest.mark.shared_data(pytest.mark.skipif(not path.exists(), reason=reason)(fn))

    return apply


def blobs(n: int, size: int = 16, channels: int = 1, seed: int = 0) -> np.ndarray:
    """Smooth random blobs, uint8 (n, size, size) or (n, size, size, channels): learnable structure."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    out = np.zeros((n, size, size, channels), np.float32)
    for i in range(n):
        for c in range(channels):
            cx, cy, r = rng.uniform(0.2, 0.8, 3)
            out[i, :, :, c] = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (0.05 + 0.1 * r))
    img = (out * 255).astype(np.uint8)
    return img[..., 0] if channels == 1 else img


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "images"
    (folder / "sub").mkdir(parents=True)
    for i, img in enumerate(blobs(24, 16)):
        Image.fromarray(img).save(folder / ("sub" if i % 2 else "") / f"img_{i:03d}.png")
    return folder


@pytest.fixture
def npy_file(tmp_path: Path) -> Path:
    path = tmp_path / "digits.npz"
    np.savez(path, images=blobs(64, 16), labels=np.arange(64) % 4)
    return path


@pytest.fixture
def run_cli():
    def run(*argv: str) -> int:
        return main([str(a) for a in argv])

    return run


TINY_AE = ["--widths", "8,16", "--latent-dim", "4", "--batch-size", "16", "--no-progress"]
