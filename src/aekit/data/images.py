"""Images from folders and arrays, with errors that name the file and the fix."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset, Subset

from aekit.data.base import DataError, DataSplits, register_data
from aekit.data.splits import SPLITS, SplitSpec, assign_splits, index_splits

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".webp", ".pgm", ".ppm")
MODES = {1: "L", 3: "RGB", 4: "RGBA"}


def parse_size(size: int | str | Sequence[int] | None) -> tuple[int, int] | None:
    """``64`` or ``"64"`` -> (64, 64); ``"48,64"`` or (48, 64) -> (H=48, W=64)."""
    if size is None:
        return None
    if isinstance(size, str):
        parts = [int(p) for p in size.replace("x", ",").split(",") if p.strip()]
        size = parts[0] if len(parts) == 1 else parts
    if isinstance(size, int):
        return size, size
    h, w = (int(s) for s in size)
    return h, w


def list_images(root: str | Path, recursive: bool = True) -> list[Path]:
    """Image files under ``root`` sorted by path; errors for a missing or image-less folder."""
    root = Path(root)
    if not root.exists():
        raise DataError(f"data folder {root} does not exist")
    if root.is_file():
        if root.suffix.lower() not in IMAGE_SUFFIXES:
            raise DataError(f"{root} is not an image file ({', '.join(IMAGE_SUFFIXES)})")
        return [root]
    pattern = "**/*" if recursive else "*"
    files = sorted(p for p in root.glob(pattern) if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        others = sorted(p.name for p in root.glob(pattern) if p.is_file())[:3]
        hint = f" (found other files such as {', '.join(others)})" if others else " (the folder is empty)"
        raise DataError(f"no image files ({', '.join(IMAGE_SUFFIXES)}) in {root}{hint}")
    return files


PIXEL_LIMIT_ENV = "AEKIT_MAX_IMAGE_PIXELS"


def pixel_limit() -> int | None:
    """Pillow's decompression-bomb guard (``Image.MAX_IMAGE_PIXELS``), raised or lifted by
    ``AEKIT_MAX_IMAGE_PIXELS`` (a pixel count; 0 or ``none``: no limit) for real giant images."""
    raw = os.environ.get(PIXEL_LIMIT_ENV, "").strip().lower()
    if raw:
        try:
            value = int(float(raw)) if raw != "none" else 0
        except ValueError:
            raise DataError(
                f"{PIXEL_LIMIT_ENV}={raw!r}: set it to a pixel count (e.g. 400000000) or 0 for no limit"
            ) from None
        Image.MAX_IMAGE_PIXELS = value if value > 0 else None
    return Image.MAX_IMAGE_PIXELS


def pil_open(path: str | Path) -> Image.Image:
    """``Image.open`` (lazy: header only) with Pillow's decompression-bomb error as a one-line DataError that
    names the file, the limit and how to raise it."""
    limit = pixel_limit()
    try:
        return Image.open(path)
    except Image.DecompressionBombError as exc:
        # Pillow refuses images over twice its limit; the size is in the message, the file's header has it too
        size = re.search(r"\((\d+) pixels\)", str(exc))
        pixels = f"{int(size.group(1)):,} pixels" if size else "too many pixels"
        raise DataError(
            f"image {path} has {pixels}, over Pillow's decompression-bomb limit ({2 * (limit or 0):,} pixels, a guard "
            f"against malicious files); if it is a real giant image, set {PIXEL_LIMIT_ENV}=0 (no limit) or a larger "
            "pixel count, or cut it into tiles first"
        ) from exc


def open_image(path: str | Path) -> Image.Image:
    """Open and decode an image, or raise a DataError that names the file."""
    try:
        img = pil_open(path)
        img.load()
    except DataError:  # over the pixel limit: pil_open's own line
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DataError(f"cannot read image {path}: it is not a readable image file ({exc})") from exc
    return img


def read_image(
    path: str | Path, channels: int | None = None, size: tuple[int, int] | None = None, resample: int = Image.BICUBIC
) -> np.ndarray:
    """Read an image as a uint8 (H, W, C) array, converted to ``channels`` and resized to ``size``.

    16-bit grayscale (``I;16``) is scaled to 8 bits; medical readers keep full range elsewhere.
    """
    img = open_image(path)
    if img.mode in ("I;16", "I;16B", "I", "F"):
        arr = np.asarray(img, dtype=np.float32)
        lo, hi = float(arr.min()), float(arr.max())
        img = Image.fromarray(((arr - lo) / max(hi - lo, 1e-6) * 255).astype(np.uint8))
    if channels is not None:
        if channels not in MODES:
            raise DataError(f"--channels must be 1, 3 or 4, not {channels}")
        if img.mode != MODES[channels]:
            img = img.convert(MODES[channels])
    elif img.mode not in ("L", "RGB", "RGBA"):
        img = img.convert("RGB")
    if size is not None and (img.height, img.width) != size:
        img = img.resize((size[1], size[0]), resample)
    arr = np.array(img)  # writable (torch.from_numpy warns on the read-only view of a PIL image)
    return arr[..., None] if arr.ndim == 2 else arr


def to_tensor(arr: np.ndarray) -> torch.Tensor:
    """uint8 (H, W, C) -> float32 (C, H, W) in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1))).float().div_(255.0)


class ArrayDataset(Dataset):
    """Images held in memory: uint8 (N, H, W) / (N, C, H, W) or float in [0, 1]; optional labels and ``names``
    (stable item ids such as ``mnist:123``, so a person can find an item again: ``aekit suggest-labels``)."""

    def __init__(
        self,
        images: np.ndarray | torch.Tensor,
        labels: np.ndarray | Sequence[int] | None = None,
        names: Sequence[str] | None = None,
    ) -> None:
        x = torch.as_tensor(np.array(images))  # a copy: IDX arrays from frombuffer are read-only
        if x.ndim == 3:
            x = x[:, None]
        if x.ndim != 4:
            raise DataError(f"image arrays must be (N, H, W) or (N, C, H, W), got shape {tuple(x.shape)}")
        self.images = x.float().div_(255.0) if x.dtype == torch.uint8 else x.float()
        self.labels = None if labels is None else torch.as_tensor(np.array(labels), dtype=torch.long)
        if self.labels is not None and len(self.labels) != len(self.images):
            raise DataError(f"{len(self.images)} images but {len(self.labels)} labels")
        self.names = None if names is None else list(names)
        if self.names is not None and len(self.names) != len(self.images):
            raise DataError(f"{len(self.images)} images but {len(self.names)} names")

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        item = {"image": self.images[i]}
        if self.labels is not None:
            item["label"] = self.labels[i]
        return item


def most_common(values: Sequence) -> Any:
    """The most frequent value (ties: the first seen), for defaults picked from the data."""
    counts: dict = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    return max(counts, key=counts.get)


def scan_images(files: Sequence[Path]) -> tuple[list[tuple[int, int]], list[int]]:
    """(H, W) and native channel count (1 gray, 3 colour, 4 with alpha) of each file, from headers only."""
    sizes, bands = [], []
    for f in files:
        try:
            with pil_open(f) as img:
                sizes.append((img.height, img.width))
                mode = img.mode
                if mode == "P":
                    mode = "RGBA" if "transparency" in img.info else "RGB"
                bands.append({"L": 1, "1": 1, "I;16": 1, "I": 1, "F": 1, "LA": 4, "RGBA": 4}.get(mode, 3))
        except (UnidentifiedImageError, OSError) as exc:
            raise DataError(f"cannot read image {f}: not an image or corrupt ({exc.__class__.__name__})") from exc
    return sizes, bands


def default_channels(bands: Sequence[int]) -> tuple[int, str | None]:
    """Channels for a set of images: their common count, or 3 (RGB) for a gray/colour mix, with the reason."""
    native = set(bands)
    if len(native) == 1:
        return native.pop(), None
    if native == {3, 4} or 1 in native:
        return 3, f"images mix {'/'.join(MODES[b] for b in sorted(native))}: all read as RGB (--channels to change)"
    return 3, None


class ImageFolderDataset(Dataset):
    """Unlabeled images (PNG, JPEG, TIFF, ...), grayscale, RGB or RGBA, any mix of sizes.

    Checks every file's header up front, so a bad file is reported before training starts. Without
    ``image_size`` images of different sizes are resized to the most common size (the decision is in
    ``decisions``): the autoencoder's dense bottleneck needs one input size.
    """

    def __init__(
        self,
        root: str | Path | Sequence[Path],
        image_size: int | str | Sequence[int] | None = None,
        channels: int | None = None,
        recursive: bool = True,
    ) -> None:
        self.files = list(root) if isinstance(root, (list, tuple)) else list_images(root, recursive)
        self.size = parse_size(image_size)
        self.decisions: dict[str, str] = {}
        sizes, bands = scan_images(self.files)
        if self.size is None and len(set(sizes)) > 1:
            self.size = most_common(sizes)
            self.decisions["size"] = (
                f"images have {len(set(sizes))} sizes; all resized to the most common, {self.size[1]}x{self.size[0]} "
                "(W x H; --image-size to choose)"
            )
        if channels is None:
            channels, why = default_channels(bands)
            if why:
                self.decisions["channels"] = why
        if channels not in MODES:
            raise DataError(f"--channels must be 1, 3 or 4, not {channels}")
        self.channels = channels
        self.image_shape = (channels, *(self.size or sizes[0]))

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"image": to_tensor(read_image(self.files[i], self.channels, self.size))}


@register_data("folder")
def folder_data(
    path: str | None,
    image_size: int | str | None = None,
    channels: int | None = None,
    splitting: SplitSpec | None = None,
) -> DataSplits:
    """``folder:PATH``: unlabeled images, split by :func:`aekit.data.splits.assign_splits` (default 80/10/10)."""
    if not path:
        raise DataError("folder data needs a path: --data folder:path/to/images")
    spec = splitting or SplitSpec()
    files = list_images(path)
    chosen, record = assign_splits(files, str, spec, f"folder:{path}", lister=list_images)
    everything = [f for s in SPLITS for f in chosen[s]]
    ds = ImageFolderDataset(everything, image_size, channels)
    offsets = np.cumsum([0] + [len(chosen[s]) for s in SPLITS])
    parts = [Subset(ds, list(range(offsets[k], offsets[k + 1]))) if offsets[k + 1] > offsets[k] else None
             for k in range(3)]  # fmt: skip
    info = {
        "channels": ds.channels,
        "image_size": list(ds.image_shape[1:]),
        "source": f"folder:{path}",
        "splits": record,
        "decisions": dict(ds.decisions),
    }
    return DataSplits(*parts, info)


def check_finite(array: np.ndarray, source: str) -> None:
    """NaN/inf in an input array stop the run with the first bad item named (a NaN input trains to NaN)."""
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        flat = np.isfinite(array.reshape(len(array), -1)).all(axis=1)
        bad = np.flatnonzero(~flat)
        raise DataError(
            f"{source}: image index {int(bad[0])} holds NaN or inf values ({len(bad)} image(s) affected); "
            "replace or drop them (e.g. numpy.nan_to_num) before training"
        )


@register_data("npy")
def npy_data(path: str | None, splitting: SplitSpec | None = None) -> DataSplits:
    """``npy:FILE``: a ``.npy`` image array, or a ``.npz`` with ``images`` (and optional ``labels``)."""
    if not path or not Path(path).is_file():
        raise DataError(f"npy data needs an existing .npy/.npz file: --data npy:path/to/images.npy (got {path!r})")
    if path.endswith(".npz"):
        with np.load(path, allow_pickle=False) as z:
            if "images" not in z:
                raise DataError(f"{path} has no 'images' array (found: {', '.join(z.files)})")
            images, labels = z["images"], (z.get("labels", None))
    else:
        images, labels = np.load(path, allow_pickle=False), None
    check_finite(images, path)
    if images.ndim == 4 and images.shape[-1] in (1, 3, 4) and images.shape[1] not in (1, 3, 4):
        images = images.transpose(0, 3, 1, 2)  # NHWC -> NCHW
    if images.dtype != np.uint8 and (images.min() < 0 or images.max() > 1):
        raise DataError(f"{path}: float images must lie in [0, 1] (found {images.min():.3g}..{images.max():.3g})")
    ds = ArrayDataset(images, labels, names=[f"npy:{i}" for i in range(len(images))])
    chosen, record = index_splits(len(ds), splitting or SplitSpec(), f"npy:{path}")
    info = {
        "channels": ds.images.shape[1],
        "image_size": list(ds.images.shape[2:]),
        "source": f"npy:{path}",
        "splits": record,
    }
    if labels is not None:
        info["num_classes"] = int(labels.max()) + 1
    parts = [Subset(ds, chosen[s]) if chosen[s] else None for s in SPLITS]
    return DataSplits(*parts, info)
