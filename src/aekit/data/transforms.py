"""Joint augmentation of an image and its dense label: the same geometry for both, masks resampled nearest.

Images are float (C, H, W) tensors in [0, 1], masks int64 (H, W) class indices. Pixels a crop reaches outside
the (scaled) image get ``fill_mask`` (the ignore index), so they never count in the loss or the metrics.
Photometric jitter (:class:`PhotometricJitter`: brightness, contrast, saturation, hue) changes the image
only: a road stays a road under another sky, so the label must not move.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F


class JointTransform:
    """Random scale, random crop and horizontal flip, applied identically to image and mask.

    ``scale=(lo, hi)``: resize by a factor drawn uniformly (bilinear image, nearest mask);
    ``crop=(h, w)``: random crop, padded with ``fill_mask``/0 if the image is smaller;
    ``hflip``: mirror with probability 0.5; ``photometric``: a :class:`PhotometricJitter` applied to the image
    after the geometry (the mask is untouched). A ``generator`` makes the draws reproducible.
    """

    def __init__(
        self,
        crop: Sequence[int] | None = None,
        scale: Sequence[float] | None = None,
        hflip: bool = True,
        fill_mask: int | None = 255,
        generator: torch.Generator | None = None,
        photometric: PhotometricJitter | None = None,
    ) -> None:
        self.crop = tuple(int(c) for c in crop) if crop is not None else None
        self.scale = (float(scale[0]), float(scale[1])) if scale is not None else None
        if self.scale is not None and not 0 < self.scale[0] <= self.scale[1]:
            raise ValueError(f"scale range must be 0 < lo <= hi, got {scale}")
        self.hflip = hflip
        self.fill_mask = None if fill_mask is None else int(fill_mask)
        self.generator = generator
        self.photometric = photometric
        if photometric is not None and photometric.generator is None:
            photometric.generator = generator

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
        if self.photometric is not None:
            image = self.photometric(image)
        return image.contiguous(), mask.contiguous()


# RGB <-> YIQ (NTSC): hue is a rotation of the (I, Q) chroma plane, luma Y is kept
_RGB2YIQ = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])
_YIQ2RGB = torch.linalg.inv(_RGB2YIQ)
_LUMA = _RGB2YIQ[0]


class PhotometricJitter:
    """Random brightness, contrast, saturation and hue of an image in [0, 1] (plain torch, no torchvision).

    Factors are drawn uniformly: brightness ``x * b``, ``b`` in [1 - brightness, 1 + brightness]; contrast
    towards the image's mean grey, ``c`` in [1 - contrast, 1 + contrast]; saturation towards the pixel's grey,
    ``s`` in [1 - saturation, 1 + saturation]; hue a rotation of the YIQ chroma plane by up to ``hue`` turns
    (0.5 = 180 degrees). Saturation and hue act on 3-channel images only. The result is clamped to [0, 1].
    """

    def __init__(
        self,
        brightness: float = 0.0,
        contrast: float = 0.0,
        saturation: float = 0.0,
        hue: float = 0.0,
        generator: torch.Generator | None = None,
    ) -> None:
        for name, v, hi in (("brightness", brightness, 1.0), ("contrast", contrast, 1.0),
                            ("saturation", saturation, 1.0), ("hue", hue, 0.5)):  # fmt: skip
            if not 0.0 <= float(v) <= hi:
                raise ValueError(f"photometric {name} must be in [0, {hi}], got {v}")
        self.brightness, self.contrast = float(brightness), float(contrast)
        self.saturation, self.hue = float(saturation), float(hue)
        self.generator = generator

    @classmethod
    def parse(cls, spec: str | float | Sequence[float] | None) -> PhotometricJitter | None:
        """``"0.3"`` (brightness = contrast = saturation = 0.3, hue = 0.3 / 6) or ``"b,c,s,h"``; None/0 -> None."""
        if spec is None:
            return None
        if isinstance(spec, str):
            vals = [float(v) for v in spec.split(",") if v.strip()]
        elif isinstance(spec, (int, float)):
            vals = [float(spec)]
        else:
            vals = [float(v) for v in spec]
        if len(vals) == 1:
            vals = [vals[0], vals[0], vals[0], vals[0] / 6]
        if len(vals) != 4:
            raise ValueError(f"photometric takes one strength or brightness,contrast,saturation,hue, got {spec!r}")
        return cls(*vals) if any(vals) else None

    def _uniform(self, spread: float) -> float:
        return 1.0 + spread * (2 * float(torch.rand((), generator=self.generator)) - 1)

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        rgb = image.shape[-3] == 3
        if self.brightness:
            image = image * self._uniform(self.brightness)
        if self.contrast:
            grey = (torch.einsum("c,chw->hw", _LUMA, image) if rgb else image.mean(-3)).mean()
            image = grey + (image - grey) * self._uniform(self.contrast)
        if rgb and self.saturation:
            grey = torch.einsum("c,chw->hw", _LUMA, image)[None]
            image = grey + (image - grey) * self._uniform(self.saturation)
        if rgb and self.hue:
            a = 2 * torch.pi * self.hue * (2 * float(torch.rand((), generator=self.generator)) - 1)
            cos, sin = torch.cos(torch.tensor(a)), torch.sin(torch.tensor(a))
            rot = torch.tensor([[1.0, 0.0, 0.0], [0.0, float(cos), float(-sin)], [0.0, float(sin), float(cos)]])
            image = torch.einsum("dc,chw->dhw", _YIQ2RGB @ rot @ _RGB2YIQ, image)
        return image.clamp(0.0, 1.0)


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
