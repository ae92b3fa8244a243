"""``depth:IMAGES,DEPTHS``: image/depth-map pairs from two folders, matched by file name stem.

Depth files: 16-bit (or 8-bit) PNG divided by ``depth_scale`` (e.g. 1000 for millimetres -> metres,
256 for KITTI), ``.npy`` (float, read with ``allow_pickle=False``) or ``.pfm``. Pixels whose depth is 0,
NaN or inf are invalid: they are stored as 0 in ``target`` and the task masks them out of loss and
metrics (``aekit.metrics.valid_depth``). Items: ``image`` (C, H, W) in [0, 1], ``target`` (1, H, W).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset, Subset

from aekit.data.base import DataError, DataSplits, register_data, split_indices
from aekit.data.images import list_images, open_image, parse_size, read_image, to_tensor
from aekit.data.pfm import read_pfm

DEPTH_SUFFIXES = (".png", ".npy", ".pfm", ".tif", ".tiff")


def read_depth(path: str | Path, depth_scale: float = 1.0) -> np.ndarray:
    """A depth map as float32 (H, W); invalid pixels (0, NaN, inf) become 0."""
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            arr = np.load(path, allow_pickle=False).astype(np.float32)
        elif suffix == ".pfm":
            arr = read_pfm(path)
        else:
            img = open_image(path)
            arr = np.asarray(img, dtype=np.float32)
            if img.mode in ("RGB", "RGBA"):
                raise DataError(
                    f"depth map {path} is a colour image; store depth as a 16-bit grayscale PNG, .npy or .pfm"
                )
            arr = arr / float(depth_scale)
    except (OSError, ValueError) as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(f"cannot read depth map {path}: {exc}") from exc
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim != 2:
        raise DataError(f"depth map {path} has shape {arr.shape}; expected a single-channel H x W map")
    return np.where(np.isfinite(arr) & (arr > 0), arr, 0).astype(np.float32)


def pair_files(images: str | Path, depths: str | Path) -> list[tuple[Path, Path]]:
    """(image, depth) pairs matched by stem; an image without a depth map is an error naming it."""
    imgs = list_images(images)
    droot = Path(depths)
    if not droot.is_dir():
        raise DataError(f"depth folder {droot} does not exist")
    by_stem: dict[str, Path] = {}
    for p in sorted(droot.rglob("*")):
        if p.is_file() and p.suffix.lower() in DEPTH_SUFFIXES:
            by_stem.setdefault(p.stem, p)
    missing = [p.name for p in imgs if p.stem not in by_stem]
    if missing:
        raise DataError(
            f"{len(missing)} image(s) in {images} have no depth map with the same name in {droot} "
            f"(first: {missing[0]}); depth maps must be <stem>.png/.npy/.pfm"
        )
    return [(p, by_stem[p.stem]) for p in imgs]


class DepthDataset(Dataset):
    """Image/depth pairs; ``image_size`` resizes both (bicubic image, nearest depth keeps holes as holes)."""

    def __init__(
        self,
        pairs: Sequence[tuple[Path, Path]],
        image_size: tuple[int, int] | None = None,
        channels: int | None = 3,
        depth_scale: float = 1.0,
        hflip: bool = False,
    ) -> None:
        self.pairs = list(pairs)
        self.size = image_size
        self.channels = channels
        self.depth_scale = depth_scale
        self.hflip = hflip
        if self.size is None:
            sizes = set()
            for img, _ in self.pairs:
                with Image.open(img) as im:
                    sizes.add((im.height, im.width))
            if len(sizes) > 1:
                raise DataError(
                    f"depth images have {len(sizes)} different sizes; pass --image-size H,W to resize them all"
                )

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        img_path, depth_path = self.pairs[i]
        image = to_tensor(read_image(img_path, self.channels, self.size))
        depth = read_depth(depth_path, self.depth_scale)
        if self.size is not None and depth.shape != self.size:
            depth = np.asarray(Image.fromarray(depth).resize((self.size[1], self.size[0]), Image.NEAREST))
        if depth.shape != tuple(image.shape[1:]):
            raise DataError(
                f"{depth_path} is {depth.shape[1]}x{depth.shape[0]} but {img_path} is "
                f"{image.shape[2]}x{image.shape[1]}; pass --image-size to resize both"
            )
        target = torch.from_numpy(depth.copy())[None]
        if self.hflip and bool(torch.randint(0, 2, (1,))):
            image, target = image.flip(-1), target.flip(-1)
        return {"image": image, "target": target}


@register_data("depth")
def depth_data(
    path: str | None,
    image_size: int | str | None = None,
    channels: int | None = 3,
    depth_scale: float = 1.0,
    seed: int = 0,
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
) -> DataSplits:
    """``depth:IMAGES,DEPTHS`` -> seeded train/val/test split; training items are randomly h-flipped."""
    if not path or "," not in path:
        raise DataError(f"depth data needs two folders: --data depth:images/,depths/ (got {path!r})")
    images, depths = (s.strip() for s in path.split(",", 1))
    pairs = pair_files(images, depths)
    size = parse_size(image_size)
    tr, va, te = split_indices(len(pairs), val_fraction, test_fraction, seed)
    train = DepthDataset([pairs[i] for i in tr], size, channels, depth_scale, hflip=True)
    full = DepthDataset(pairs, size, channels, depth_scale)
    first = full[0]
    info = {
        "channels": int(first["image"].shape[0]),
        "image_size": list(first["image"].shape[1:]),
        "depth_scale": depth_scale,
        "source": f"depth:{path}",
    }
    return DataSplits(train, Subset(full, va.tolist()), Subset(full, te.tolist()), info)
