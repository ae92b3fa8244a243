"""Images from folders and arrays, with errors that name the file and the fix."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset, Subset

from aekit.data.base import DataError, DataSplits, register_data, split_indices

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


def open_image(path: str | Path) -> Image.Image:
    """Open and decode an image, or raise a DataError that names the file."""
    try:
        img = Image.open(path)
        img.load()
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
    arr = np.asarray(img)
    return arr[..., None] if arr.ndim == 2 else arr


def to_tensor(arr: np.ndarray) -> torch.Tensor:
    """uint8 (H, W, C) -> float32 (C, H, W) in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1))).float().div_(255.0)


class ArrayDataset(Dataset):
    """Images held in memory: uint8 (N, H, W) / (N, C, H, W) or float in [0, 1]; optional labels."""

    def __init__(self, images: np.ndarray | torch.Tensor, labels: np.ndarray | Sequence[int] | None = None) -> None:
        x = torch.as_tensor(np.array(images))  # a copy: IDX arrays from frombuffer are read-only
        if x.ndim == 3:
            x = x[:, None]
        if x.ndim != 4:
            raise DataError(f"image arrays must be (N, H, W) or (N, C, H, W), got shape {tuple(x.shape)}")
        self.images = x.float().div_(255.0) if x.dtype == torch.uint8 else x.float()
        self.labels = None if labels is None else torch.as_tensor(np.array(labels), dtype=torch.long)
        if self.labels is not None and len(self.labels) != len(self.images):
            raise DataError(f"{len(self.images)} images but {len(self.labels)} labels")

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        item = {"image": self.images[i]}
        if self.labels is not None:
            item["label"] = self.labels[i]
        return item


class ImageFolderDataset(Dataset):
    """Unlabeled images from a folder (recursive): PNG, JPEG, TIFF, ...; grayscale or RGB.

    Checks every file's header up front, so a bad file is reported before training starts.
    Without ``image_size`` all images must share one size.
    """

    def __init__(
        self,
        root: str | Path,
        image_size: int | str | Sequence[int] | None = None,
        channels: int | None = None,
        recursive: bool = True,
    ) -> None:
        self.files = list_images(root, recursive)
        self.size = parse_size(image_size)
        sizes: dict[tuple[int, int], Path] = {}
        bands: dict[int, Path] = {}
        for f in self.files:
            try:
                with Image.open(f) as img:
                    sizes.setdefault((img.height, img.width), f)
                    bands.setdefault(len(img.getbands()) if img.mode not in ("P", "I;16") else 3, f)
            except (UnidentifiedImageError, OSError) as exc:
                raise DataError(f"cannot read image {f}: not an image or corrupt ({exc.__class__.__name__})") from exc
        if self.size is None and len(sizes) > 1:
            (s1, f1), (s2, f2) = list(sizes.items())[:2]
            raise DataError(
                f"images in {root} have different sizes ({f1.name} is {s1[1]}x{s1[0]}, {f2.name} is "
                f"{s2[1]}x{s2[0]}); pass --image-size (e.g. --image-size 64) to resize them all"
            )
        if channels is None:
            native = {min(b, 3) for b in bands}  # RGBA counts as RGB unless asked for
            if len(native) > 1:
                raise DataError(
                    f"{root} mixes grayscale and colour images; pass --channels 1 or --channels 3 to convert them all"
                )
            channels = native.pop()
        if channels not in MODES:
            raise DataError(f"--channels must be 1, 3 or 4, not {channels}")
        self.channels = channels
        self.image_shape = (channels, *(self.size or next(iter(sizes))))

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"image": to_tensor(read_image(self.files[i], self.channels, self.size))}


@register_data("folder")
def folder_data(
    path: str | None,
    image_size: int | str | None = None,
    channels: int | None = None,
    seed: int = 0,
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
) -> DataSplits:
    """``folder:PATH``: unlabeled images, split by a seeded permutation (val/test fractions)."""
    if not path:
        raise DataError("folder data needs a path: --data folder:path/to/images")
    ds = ImageFolderDataset(path, image_size, channels)
    tr, va, te = split_indices(len(ds), val_fraction, test_fraction, seed)
    info = {"channels": ds.channels, "image_size": list(ds.image_shape[1:]), "source": f"folder:{path}"}
    return DataSplits(Subset(ds, tr.tolist()), Subset(ds, va.tolist()), Subset(ds, te.tolist()), info)


@register_data("npy")
def npy_data(path: str | None, seed: int = 0, val_fraction: float = 0.1, test_fraction: float = 0.1) -> DataSplits:
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
    if images.ndim == 4 and images.shape[-1] in (1, 3, 4) and images.shape[1] not in (1, 3, 4):
        images = images.transpose(0, 3, 1, 2)  # NHWC -> NCHW
    if images.dtype != np.uint8 and (images.min() < 0 or images.max() > 1):
        raise DataError(f"{path}: float images must lie in [0, 1] (found {images.min():.3g}..{images.max():.3g})")
    ds = ArrayDataset(images, labels)
    tr, va, te = split_indices(len(ds), val_fraction, test_fraction, seed)
    info = {"channels": ds.images.shape[1], "image_size": list(ds.images.shape[2:]), "source": f"npy:{path}"}
    if labels is not None:
        info["num_classes"] = int(labels.max()) + 1
    return DataSplits(Subset(ds, tr.tolist()), Subset(ds, va.tolist()), Subset(ds, te.tolist()), info)
