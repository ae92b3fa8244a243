"""Joint augmentation of an image and its dense label: the same geometry for both, masks resampled nearest.

Images are float (C, H, W) tensors, masks int64 (H, W) class indices. Pixels a crop reaches outside the
(scaled) image get ``fill_mask`` (the ignore index), so they never count in the loss or the metrics.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F


class JointTransform:
    """Random scale, random crop and horizontal flip, applied identically to image and mask.

    ``scale=(lo, hi)``: resize by a factor drawn uniformly (bilinear image, nearest mask);
    ``crop=(h, w)``: random crop, padded with ``fill_mask``/0 if the image is smaller;
    ``hflip``: mirror with probability 0.5. A ``generator`` makes the draws reproducible.
    """

    def __init__(
        self,
        crop: Sequence[int] | None = None,
        scale: Sequence[float] | None = None,
        hflip: bool = True,
        fill_mask: int | None = 255,
        generator: torch.Generator | None = None,
    ) -> None:
        self.crop = tuple(int(c) for c in crop) if crop is not None else None
        self.scale = (float(scale[0]), float(scale[1])) if scale is not None else None
        if self.scale is not None and not 0 < self.scale[0] <= self.scale[1]:
            raise ValueError(f"scale range must be 0 < lo <= hi, got {scale}")
        self.hflip = hflip
        self.fill_mask = None if fill_mask is None else int(fill_mask)
        self.generator = generator

    def _rand(self) -> float:
        return float(torch.rand((), generator=self.generator))

    def __call__(self, image: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.scale is not None and self.scale != (1.0, 1.0):
            f = self.scale[0] + (self.scale[1] - self.scale[0]) * self._rand()
            h, w = image.shape[-2:]
            size = (max(1, round(h * f)), max(1, round(w * f)))
            image, mask = resize_pair(image, mask, size)
        if self.crop is not None:
            image, mask = random_crop(image, mask, self.crop, self.fill_mask, self._rand(), self._rand())
        if self.hflip and self._rand() < 0.5:
            image, mask = image.flip(-1), mask.flip(-1)
        return image.contiguous(), mask.contiguous()


def resize_pair(image: torch.Tensor, mask: torch.Tensor, size: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Image bilinear, mask nearest (labels must never be interpolated); both sample at pixel centres."""
    size = (int(size[0]), int(size[1]))
    if tuple(image.shape[-2:]) == size:
        return image, mask
    image = F.interpolate(image[None], size=size, mode="bilinear", align_corners=False)[0]
    mask = F.interpolate(mask[None, None].float(), size=size, mode="nearest-exact")[0, 0].long()
    return image, mask


def random_crop(
    image: torch.Tensor, mask: torch.Tensor, size: Sequence[int], fill_mask: int | None, ry: float, rx: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Crop ``size`` at a position given by ``ry, rx`` in [0, 1).

    A too-small pair is padded (mask with ``fill_mask``) or, without an ignore index, scaled up to cover the crop.
    """
    ch, cw = size
    h, w = image.shape[-2:]
    ph, pw = max(0, ch - h), max(0, cw - w)
    if (ph or pw) and fill_mask is None:
        f = max(ch / h, cw / w)
        image, mask = resize_pair(image, mask, (max(ch, round(h * f)), max(cw, round(w * f))))
        h, w = image.shape[-2:]
    elif ph or pw:
        image = F.pad(image, (0, pw, 0, ph))
        mask = F.pad(mask, (0, pw, 0, ph), value=fill_mask)
        h, w = image.shape[-2:]
    y = int(ry * (h - ch + 1))
    x = int(rx * (w - cw + 1))
    return image[..., y : y + ch, x : x + cw], mask[y : y + ch, x : x + cw]
