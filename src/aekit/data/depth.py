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
from torch.utils.data import Dataset

from aekit.data.base import DataError, DataSplits, register_data
from aekit.data.images import list_images, open_image, parse_size, read_image, scan_images, to_tensor
from aekit.data.pfm import read_pfm
from aekit.data.splits import SPLITS, SplitSpec, assign_splits

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
        crop: tuple[int, int] | None = None,
    ) -> None:
        self.pairs = list(pairs)
        self.size = image_size
        self.channels = channels
        self.depth_scale = depth_scale
        self.hflip = hflip
        self.crop = crop  # random training crop; smaller images are padded with depth 0 (invalid, ignored)

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
        if self.crop is not None:
            ch, cw = self.crop
            h, w = image.shape[-2:]
            image = torch.nn.functional.pad(image, (0, max(0, cw - w), 0, max(0, ch - h)))
            target = torch.nn.functional.pad(target, (0, max(0, cw - w), 0, max(0, ch - h)))
            y = int(torch.randint(0, image.shape[-2] - ch + 1, (1,)))
            x = int(torch.randint(0, image.shape[-1] - cw + 1, (1,)))
            image, target = image[:, y : y + ch, x : x + cw], target[:, y : y + ch, x : x + cw]
        if self.hflip and bool(torch.randint(0, 2, (1,))):
            image, target = image.flip(-1), target.flip(-1)
        return {"image": image, "target": target}


@register_data("depth")
def depth_data(
    path: str | None,
    image_size: int | str | None = None,
    channels: int | None = 3,
    depth_scale: float = 1.0,
    crop_size: int | str | None = None,
    splitting: SplitSpec | None = None,
) -> DataSplits:
    """``depth:IMAGES,DEPTHS`` -> train/val/test by :func:`aekit.data.splits.assign_splits` (default 80/10/10).

    Training items are randomly h-flipped; images of several sizes are trained on random crops
    (``crop_size``, default the median short side up to 256) and evaluated at native size.
    """
    if not path or "," not in path:
        raise DataError(f"depth data needs two folders: --data depth:images/,depths/ (got {path!r})")

    def lister(arg: str) -> list[tuple[Path, Path]]:
        if "," not in arg:
            raise DataError(f"depth folders come as IMAGES,DEPTHS (got {arg!r})")
        images, depths = (x.strip() for x in arg.split(",", 1))
        return pair_files(images, depths)

    chosen, record = assign_splits(lister(path), lambda p: str(p[0]), splitting or SplitSpec(), f"depth:{path}",
                                   lister=lister)  # fmt: skip
    size = parse_size(image_size)
    every = [p for s in SPLITS for p in chosen[s]]
    sizes, _ = scan_images([p for p, _ in every])
    crop = parse_size(crop_size)
    if size is None and len(set(sizes)) > 1:
        from aekit.data.segmentation import default_crop

        crop = crop or default_crop([sz for sz, p in zip(sizes, every) if p in chosen["train"]] or sizes)
        note = f"images have {len(set(sizes))} sizes: training on random {crop[1]}x{crop[0]} crops, "
        note += "evaluation at native size"
    else:
        note = f"every image resized to {size[1]}x{size[0]}" if size else "all images share one size: used whole"
    parts = {
        s: DepthDataset(chosen[s], size, channels, depth_scale, hflip=s == "train", crop=crop if s == "train" else None)
        if chosen[s]
        else None
        for s in SPLITS
    }
    first = DepthDataset(every[:1], size, channels, depth_scale)[0]
    info = {
        "channels": int(first["image"].shape[0]),
        "image_size": list(size) if size else list(first["image"].shape[1:]),
        "depth_scale": depth_scale,
        "source": f"depth:{path}",
        "splits": record,
        "decisions": {"size": note},
    }
    if crop is not None:
        info["crop_size"] = list(crop)
    return DataSplits(parts["train"], parts["val"], parts["test"], info)
