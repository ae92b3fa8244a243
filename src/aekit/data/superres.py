"""``hr:FOLDER``: super-resolution pairs made on the fly from a folder of high-resolution images.

Each item is ``{"image": LR (C, h, w), "target": HR (C, h*s, w*s)}`` in [0, 1]. LR images are made by
:func:`aekit.nn.resample.bicubic_down` (torch's antialiased bicubic, rounded to 8 bits), the same at
training, validation, evaluation and in the benchmark. Splits:

- ``train``: random HR patches (``patch_size``, a multiple of ``scale``) of the training images,
  ``patches_per_image`` per image and epoch, augmented by flips and 90-degree rotations;
- ``val``: one centre crop per held-out image (``val_fraction`` of the folder), all the same size;
- ``test``: the held-out test images at full size (cropped to a multiple of the scale); a benchmark
  folder (Set5, Set14, ...) evaluated by a model not trained on it is all test. Batch these one at a time.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from aekit.data.base import DataError, DataSplits, register_data
from aekit.data.images import list_images, read_image
from aekit.data.splits import SPLITS, SplitSpec, assign_splits
from aekit.nn.resample import bicubic_down, modcrop


def load_hr_images(files: list[Path], channels: int | None = 3) -> list[torch.Tensor]:
    """uint8 (C, H, W) tensors of the images (RGB by default, ``channels=1`` for grayscale)."""
    return [torch.from_numpy(np.ascontiguousarray(read_image(f, channels).transpose(2, 0, 1))) for f in files]


def augment(x: torch.Tensor, flip_h: bool, flip_v: bool, rot90: bool) -> torch.Tensor:
    """The 8 dihedral transforms of a (C, H, W) square patch: flips and a 90-degree rotation."""
    if flip_h:
        x = x.flip(-1)
    if flip_v:
        x = x.flip(-2)
    if rot90:
        x = x.transpose(-1, -2)
    return x


class SRPatchDataset(Dataset):
    """Random HR patches with their bicubic LR versions; fresh patches every epoch (global torch RNG)."""

    def __init__(
        self,
        images: list[torch.Tensor],
        names: list[str],
        scale: int,
        patch_size: int = 96,
        patches_per_image: int = 16,
        augment: bool = True,
    ) -> None:
        self.scale = scale
        self.patch = patch_size - patch_size % scale
        if self.patch < scale:
            raise DataError(f"--patch-size {patch_size} is smaller than the scale {scale}")
        small = [(n, tuple(im.shape[1:])) for n, im in zip(names, images) if min(im.shape[1:]) < self.patch]
        if small:
            n, (h, w) = small[0]
            raise DataError(
                f"{n} is {w}x{h}, smaller than the HR patch {self.patch}x{self.patch}; "
                f"pass a smaller --patch-size (at most {min(h, w)})"
            )
        self.images = images
        self.patches_per_image = patches_per_image
        self.augment = augment

    def __len__(self) -> int:
        return len(self.images) * self.patches_per_image

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        img = self.images[i // self.patches_per_image]
        _, h, w = img.shape
        top = int(torch.randint(0, h - self.patch + 1, (1,)))
        left = int(torch.randint(0, w - self.patch + 1, (1,)))
        hr = img[:, top : top + self.patch, left : left + self.patch].float().div_(255)
        if self.augment:
            flips = torch.randint(0, 2, (3,)).tolist()
            hr = augment(hr, *(bool(f) for f in flips)).contiguous()
        return {"image": bicubic_down(hr, self.scale), "target": hr}


class SRImageDataset(Dataset):
    """Whole images (or their centre crops of ``crop`` x ``crop``) and their LR versions, no randomness."""

    def __init__(
        self, images: list[torch.Tensor], scale: int, crop: int | None = None, names: list[str] | None = None
    ) -> None:
        self.images = images
        self.names = names or [str(i) for i in range(len(images))]
        self.scale = scale
        self.crop = None if crop is None else crop - crop % scale

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        hr = self.images[i].float().div(255)
        if self.crop is not None:
            _, h, w = hr.shape
            top, left = (h - self.crop) // 2, (w - self.crop) // 2
            hr = hr[:, top : top + self.crop, left : left + self.crop]
        hr = modcrop(hr, self.scale)
        return {"image": bicubic_down(hr, self.scale), "target": hr}


@register_data("hr")
def hr_data(
    path: str | None,
    scale: int = 3,
    patch_size: int = 96,
    patches_per_image: int = 16,
    channels: int | None = 3,
    splitting: SplitSpec | None = None,
) -> DataSplits:
    """``hr:FOLDER`` of HR images -> SR pairs at ``scale`` (see module docstring).

    Split by :func:`aekit.data.splits.assign_splits` (default 80/10/10): validation and test images are
    never trained on. ``aekit evaluate`` on a benchmark folder that was not the training data scores
    every image of it.
    """
    if not path:
        raise DataError("super-resolution data needs a folder of HR images: --data hr:path/to/T91")
    if int(scale) < 1:
        raise DataError(f"--scale must be a positive integer, not {scale}")
    scale = int(scale)
    files = list_images(path)
    chosen, record = assign_splits(files, str, splitting or SplitSpec(), f"hr:{path}", lister=list_images)
    loaded = {s: load_hr_images(chosen[s], channels) for s in SPLITS}
    names = {s: [str(f) for f in chosen[s]] for s in SPLITS}
    train = val = test = None
    patch = None
    if loaded["train"]:
        patch = min(int(patch_size), min(min(im.shape[1:]) for im in loaded["train"]))
        patch -= patch % scale
        train = SRPatchDataset(loaded["train"], names["train"], scale, patch, patches_per_image)
    if loaded["val"]:
        crop = min(192, min(min(im.shape[1:]) for im in loaded["val"]))
        val = SRImageDataset(loaded["val"], scale, crop, names["val"])
    if loaded["test"]:
        test = SRImageDataset(loaded["test"], scale, names=names["test"])
    first = next(ims for ims in loaded.values() if ims)
    info = {
        "channels": int(first[0].shape[0]),
        "scale": scale,
        "patch_size": patch,
        "source": f"hr:{path}",
        "downscale": "torch bicubic, antialias=True, 8-bit LR",
        "files": {s: len(chosen[s]) for s in SPLITS},
        "splits": record,
        "decisions": {
            "size": f"training on random {patch}x{patch} HR patches; validation on centre crops; test images whole"
            if patch
            else "test images whole"
        },
    }
    return DataSplits(train, val, test, info)
