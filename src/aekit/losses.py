"""Losses, chosen by name. Models never compute their loss; tasks do, with these."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from functools import partial

import numpy as np
import torch
import torch.nn.functional as F

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _bce(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    # BCE on probabilities in [0, 1]; computed in fp32 so it is safe under bf16 autocast
    return F.binary_cross_entropy(pred.float().clamp(1e-6, 1 - 1e-6), target.float())


RECONSTRUCTION_LOSSES: dict[str, LossFn] = {
    "l1": F.l1_loss,
    "l2": F.mse_loss,
    "mse": F.mse_loss,
    "bce": _bce,
}


def reconstruction_loss(name: str) -> LossFn:
    """``l1``, ``l2`` (= ``mse``) or ``bce`` (images and outputs in [0, 1])."""
    if name not in RECONSTRUCTION_LOSSES:
        raise ValueError(f"unknown loss {name!r}; choose one of {', '.join(RECONSTRUCTION_LOSSES)}")
    return RECONSTRUCTION_LOSSES[name]


# -- segmentation ------------------------------------------------------------------------------------------
def median_frequency_weights(
    masks: Iterable[np.ndarray | torch.Tensor], num_classes: int, ignore_index: int | None = None
) -> list[float]:
    """Median-frequency balancing (Eigen & Fergus 2015, used by SegNet): ``w_c = median(f) / f_c``.

    ``f_c`` = pixels of class ``c`` / total pixels of the images in which ``c`` appears (ignored pixels
    excluded). A class that never appears gets weight 0 (it cannot be learned anyway).
    """
    counts = np.zeros(num_classes, dtype=np.float64)
    totals = np.zeros(num_classes, dtype=np.float64)
    for m in masks:
        m = np.asarray(m).reshape(-1)
        if ignore_index is not None:
            m = m[m != ignore_index]
        c = np.bincount(m.astype(np.int64), minlength=num_classes)[:num_classes].astype(np.float64)
        counts += c
        totals[c > 0] += m.size
    present = counts > 0
    if not present.any():
        raise ValueError("no labelled pixels: cannot compute median-frequency class weights")
    freq = np.where(present, counts / np.maximum(totals, 1), 0.0)
    median = float(np.median(freq[present]))
    return [float(median / f) if f > 0 else 0.0 for f in freq]


def dice_loss(
    logits: torch.Tensor, target: torch.Tensor, ignore_index: int | None = None, eps: float = 1.0
) -> torch.Tensor:
    """Soft multi-class Dice loss (1 - mean Dice over classes present in batch or prediction); fp32 inside."""
    probs = logits.float().softmax(1)
    k = probs.shape[1]
    valid = torch.ones_like(target, dtype=torch.bool) if ignore_index is None else target != ignore_index
    t = torch.where(valid, target, torch.zeros_like(target))
    onehot = F.one_hot(t, k).permute(0, 3, 1, 2).float()
    v = valid[:, None].float()
    probs, onehot = probs * v, onehot * v
    inter = (probs * onehot).sum((0, 2, 3))
    denom = probs.sum((0, 2, 3)) + onehot.sum((0, 2, 3))
    return 1 - ((2 * inter + eps) / (denom + eps)).mean()


SEGMENTATION_LOSSES = ("ce", "dice", "ce+dice")


class SegmentationLoss(torch.nn.Module):
    """``ce`` (weighted cross-entropy with ignore index), ``dice`` or ``ce+dice`` (their sum).

    ``label_smoothing`` (cross-entropy only): the target of a labelled pixel is ``1 - eps`` on its class plus
    ``eps / K`` on every class (PyTorch's definition, class weights applied per class); ignored pixels
    still contribute nothing. It keeps the logits of the frequent classes from growing without bound on
    frames that look alike, a regulariser for few training scenes. 0 = plain cross-entropy.
    """

    def __init__(
        self,
        name: str = "ce",
        weight: Sequence[float] | None = None,
        ignore_index: int | None = None,
        label_smoothing: float = 0.0,
    ):
        super().__init__()
        if name not in SEGMENTATION_LOSSES:
            raise ValueError(f"unknown segmentation loss {name!r}; choose one of {', '.join(SEGMENTATION_LOSSES)}")
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing}")
        self.name = name
        self.ignore_index = ignore_index
        self.label_smoothing = float(label_smoothing)
        self.register_buffer("weight", None if weight is None else torch.tensor(list(weight), dtype=torch.float32))

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        loss = logits.new_zeros((), dtype=torch.float32)
        if "ce" in self.name.split("+"):
            ii = -100 if self.ignore_index is None else self.ignore_index
            loss = loss + F.cross_entropy(
                logits.float(), target, weight=self.weight, ignore_index=ii, label_smoothing=self.label_smoothing
            )
        if "dice" in self.name.split("+"):
            loss = loss + dice_loss(logits, target, self.ignore_index)
        return loss


# -- dense regression with missing ground truth (depth) -----------------------------------------
MaskedLossFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def masked_l1(pred: torch.Tensor, target: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Mean absolute error over valid pixels only."""
    valid = valid.expand_as(pred)
    return (pred.float() - target.float()).abs()[valid].sum() / valid.sum().clamp_min(1)


def masked_l2(pred: torch.Tensor, target: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Mean squared error over valid pixels only."""
    valid = valid.expand_as(pred)
    return (pred.float() - target.float()).square()[valid].sum() / valid.sum().clamp_min(1)


def silog_loss(pred: torch.Tensor, target: torch.Tensor, valid: torch.Tensor, lam: float = 0.5) -> torch.Tensor:
    """Scale-invariant log loss of Eigen et al. 2014, per image then averaged:
    ``mean(d^2) - lam * mean(d)^2`` with ``d = log pred - log target`` over valid pixels.

    ``lam = 0.5`` is the paper's training value (``lam = 1`` would be fully scale-invariant).
    """
    valid = valid.expand_as(pred).flatten(1).float()
    safe_t = torch.where(valid.bool(), target.float().flatten(1), torch.ones_like(valid))
    d = (pred.float().flatten(1).clamp_min(1e-6).log() - safe_t.log()) * valid
    n = valid.sum(1).clamp_min(1)
    per_image = (d**2).sum(1) / n - lam * (d.sum(1) / n) ** 2
    has = valid.sum(1) > 0
    return per_image[has].mean() if has.any() else pred.sum() * 0


DEPTH_LOSSES: dict[str, MaskedLossFn] = {"l1": masked_l1, "silog": silog_loss}


def depth_loss(name: str) -> MaskedLossFn:
    """``l1`` or ``silog`` (scale-invariant log, Eigen et al. 2014), both ignoring invalid pixels."""
    if name not in DEPTH_LOSSES:
        raise ValueError(f"unknown depth loss {name!r}; choose one of {', '.join(DEPTH_LOSSES)}")
    return DEPTH_LOSSES[name]


# ======================================================================================================
# Stereo: self-supervised disparity from rectified pairs (Garg et al. 2016; Godard et al. 2017)
# ======================================================================================================
#
# Disparities here are a FRACTION OF THE IMAGE WIDTH (what ``disparity_unet`` predicts): ``d_px = d * W``.
# Warping uses ``grid_sample(align_corners=False)``: normalised x of pixel centre ``i`` is ``(2 i + 1) / W - 1``,
# so a shift of ``d * W`` pixels is exactly ``2 d`` in normalised units, at any resolution. That is why the
# fraction-of-width unit needs no rescaling when a disparity map is up- or downsampled.


def warp_horizontal(image: torch.Tensor, disparity: torch.Tensor, sign: float = -1.0) -> torch.Tensor:
    """Sample ``image`` (N, C, H, W) at ``x + sign * d`` along each row, bilinearly, border-padded.

    ``sign=-1`` rebuilds the LEFT view from the right one with the left disparity (left ``x`` matches right
    ``x - d``); ``sign=+1`` rebuilds the right view from the left one with the right disparity.
    ``disparity`` is (N, 1, H, W) as a fraction of the width.
    """
    n, _, h, w = image.shape
    xs = (torch.arange(w, device=image.device, dtype=image.dtype) * 2 + 1) / w - 1
    ys = (torch.arange(h, device=image.device, dtype=image.dtype) * 2 + 1) / h - 1
    gx = xs.view(1, 1, w).expand(n, h, w) + sign * 2 * disparity[:, 0].to(image.dtype)
    gy = ys.view(1, h, 1).expand(n, h, w)
    grid = torch.stack([gx, gy], dim=-1)
    return F.grid_sample(image, grid, mode="bilinear", padding_mode="border", align_corners=False)


def in_view_mask(disparity: torch.Tensor, sign: float = -1.0) -> torch.Tensor:
    """1 where ``x + sign * d`` falls inside the other image (pixel centres 0..W-1), else 0: (N, 1, H, W)."""
    w = disparity.shape[-1]
    x = torch.arange(w, device=disparity.device, dtype=disparity.dtype).view(1, 1, 1, w)
    target = x + sign * disparity * w
    return ((target >= 0) & (target <= w - 1)).to(disparity.dtype)


def ssim_map(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``(1 - SSIM) / 2`` per pixel and channel, 3x3 mean windows (Godard et al.'s form), in [0, 1]."""
    c1, c2 = 0.01**2, 0.03**2
    pool = partial(F.avg_pool2d, kernel_size=3, stride=1)
    xp, yp = F.pad(x, (1, 1, 1, 1), mode="reflect"), F.pad(y, (1, 1, 1, 1), mode="reflect")
    mx, my = pool(xp), pool(yp)
    sx = pool(xp * xp) - mx * mx
    sy = pool(yp * yp) - my * my
    sxy = pool(xp * yp) - mx * my
    ssim = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sx + sy + c2))
    return ((1 - ssim) / 2).clamp(0, 1)


def _photo_l1(a: torch.Tensor, b: torch.Tensor, alpha: float) -> torch.Tensor:
    return (a - b).abs().mean(1, keepdim=True)


def _photo_l2(a: torch.Tensor, b: torch.Tensor, alpha: float) -> torch.Tensor:
    return (a - b).pow(2).mean(1, keepdim=True)


def _photo_ssim_l1(a: torch.Tensor, b: torch.Tensor, alpha: float) -> torch.Tensor:
    return alpha * ssim_map(a, b).mean(1, keepdim=True) + (1 - alpha) * _photo_l1(a, b, alpha)


PHOTOMETRIC_ERRORS: dict[str, Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]] = {
    "l1": _photo_l1,
    "l2": _photo_l2,  # Garg et al.
    "ssim_l1": _photo_ssim_l1,  # Godard et al.: alpha * (1 - SSIM) / 2 + (1 - alpha) * L1, alpha = 0.85
}


def photometric_error(kind: str, a: torch.Tensor, b: torch.Tensor, alpha: float = 0.85) -> torch.Tensor:
    """Per-pixel error map (N, 1, H, W) between two images: ``l1``, ``l2`` or ``ssim_l1``."""
    if kind not in PHOTOMETRIC_ERRORS:
        raise ValueError(f"unknown photometric error {kind!r}; choose one of {', '.join(PHOTOMETRIC_ERRORS)}")
    return PHOTOMETRIC_ERRORS[kind](a, b, alpha)


def smoothness_loss(
    disparity: torch.Tensor, image: torch.Tensor | None = None, edge_aware: bool = True, normalize: bool = True
) -> torch.Tensor:
    """Disparity smoothness: edge-aware L1 of the gradients, ``|dx d| exp(-|dx I|)`` + y (Godard), on the
    disparity divided by its mean when ``normalize`` (Monodepth2: the term then cannot shrink disparities
    towards 0); or, with ``edge_aware=False``, Garg et al.'s plain squared gradient of the disparity."""
    if not edge_aware or image is None:
        dx = disparity[..., :, 1:] - disparity[..., :, :-1]
        dy = disparity[..., 1:, :] - disparity[..., :-1, :]
        return dx.pow(2).mean() + dy.pow(2).mean()
    d = disparity / (disparity.mean(dim=(2, 3), keepdim=True) + 1e-7) if normalize else disparity
    dx = (d[..., :, 1:] - d[..., :, :-1]).abs()
    dy = (d[..., 1:, :] - d[..., :-1, :]).abs()
    ix = (image[..., :, 1:] - image[..., :, :-1]).abs().mean(1, keepdim=True)
    iy = (image[..., 1:, :] - image[..., :-1, :]).abs().mean(1, keepdim=True)
    return (dx * torch.exp(-ix)).mean() + (dy * torch.exp(-iy)).mean()


def lr_consistency_loss(disp_left: torch.Tensor, disp_right: torch.Tensor) -> torch.Tensor:
    """Godard's left-right consistency: each disparity map agrees with the other one warped onto it."""
    right_on_left = warp_horizontal(disp_right, disp_left, sign=-1.0)
    left_on_right = warp_horizontal(disp_left, disp_right, sign=1.0)
    return (disp_left - right_on_left).abs().mean() + (disp_right - left_on_right).abs().mean()


@dataclass(frozen=True)
class StereoLoss:
    """Self-supervised stereo loss over a multi-scale disparity prediction (coarse scales upsampled).

    ``__call__(left, right, disparities) -> (loss, parts)``: ``disparities`` is the list fine -> coarse of
    (N, 1 or 2, h, w) maps as fractions of the width (channel 1, when present, is the right-view disparity,
    used by the right-view reconstruction and the left-right term). Every scale is upsampled to full
    resolution for the photometric term (Monodepth2's way, no texture-copy artefacts from low-res images);
    smoothness is applied at each scale's own resolution against a matching downsampled image, weighted
    ``1 / 2**scale`` as in Godard et al. ``mask_out_of_view`` drops pixels whose match falls outside the
    other view; it is off by default (as in Godard et al.), because a pixel pushed out of view that way
    gets no gradient to come back, a trap seen in early synthetic runs.
    """

    photometric: str = "ssim_l1"
    alpha: float = 0.85
    smoothness: float = 1e-3
    edge_aware: bool = True
    normalize_smoothness: bool = True
    lr_consistency: float = 0.0
    scales: int = 4
    mask_out_of_view: bool = False

    @property
    def needs_right_disparity(self) -> bool:
        return self.lr_consistency > 0

    def _photo(self, target: torch.Tensor, source: torch.Tensor, disp: torch.Tensor, sign: float) -> torch.Tensor:
        err = photometric_error(self.photometric, warp_horizontal(source, disp, sign), target, self.alpha)
        if not self.mask_out_of_view:
            return err.mean()
        m = in_view_mask(disp.detach(), sign)
        return (err * m).sum() / m.sum().clamp_min(1.0)

    def __call__(
        self, left: torch.Tensor, right: torch.Tensor, disparities: list[torch.Tensor]
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        h, w = left.shape[-2:]
        scales = disparities[: max(1, self.scales)]
        photo = left.new_zeros(())
        smooth = left.new_zeros(())
        lr = left.new_zeros(())
        for s, disp in enumerate(scales):
            full = (
                disp if disp.shape[-2:] == (h, w) else F.interpolate(disp, (h, w), mode="bilinear", align_corners=False)
            )
            photo = photo + self._photo(left, right, full[:, :1], -1.0)
            img_s = left if disp.shape[-2:] == (h, w) else F.interpolate(left, disp.shape[-2:], mode="area")
            smooth = smooth + smoothness_loss(disp[:, :1], img_s, self.edge_aware, self.normalize_smoothness) / 2**s
            if disp.shape[1] > 1:
                photo = photo + self._photo(right, left, full[:, 1:2], 1.0)
                img_r = right if disp.shape[-2:] == (h, w) else F.interpolate(right, disp.shape[-2:], mode="area")
                smooth = (
                    smooth + smoothness_loss(disp[:, 1:2], img_r, self.edge_aware, self.normalize_smoothness) / 2**s
                )
                if self.lr_consistency > 0:
                    lr = lr + lr_consistency_loss(full[:, :1], full[:, 1:2])
        k = len(scales)
        photo, smooth, lr = photo / k, smooth / k, lr / k
        loss = photo + self.smoothness * smooth + self.lr_consistency * lr
        return loss, {"photometric": photo.detach(), "smoothness": smooth.detach(), "lr_consistency": lr.detach()}


STEREO_LOSS_PRESETS: dict[str, StereoLoss] = {
    # Garg et al. ECCV 2016: L2 photometric error + (non-edge-aware) L2 disparity smoothness, single scale
    "garg": StereoLoss(photometric="l2", smoothness=0.01, edge_aware=False, scales=1),
    # the default: Godard's appearance term, Monodepth2's edge-aware smoothness on mean-normalised disparity
    # (weight 1e-3, as published there), left disparity only
    "ssim_l1": StereoLoss(photometric="ssim_l1", smoothness=1e-3, normalize_smoothness=True, scales=4),
    # Godard et al. CVPR 2017: smoothness 0.1 on un-normalised disparity (fraction of width), both views'
    # disparities and left-right consistency 1.0
    "godard": StereoLoss(
        photometric="ssim_l1", smoothness=0.1, normalize_smoothness=False, lr_consistency=1.0, scales=4
    ),
}


def stereo_loss(name: str = "ssim_l1", **overrides: object) -> StereoLoss:
    """A preset (``garg``, ``ssim_l1``, ``godard``) with any field overridden (``smoothness=0.05``...)."""
    if name not in STEREO_LOSS_PRESETS:
        raise ValueError(f"unknown stereo loss {name!r}; choose one of {', '.join(STEREO_LOSS_PRESETS)}")
    preset = STEREO_LOSS_PRESETS[name]
    fields_ = {k: v for k, v in overrides.items() if v is not None}
    unknown = sorted(set(fields_) - set(preset.__dataclass_fields__))
    if unknown:
        raise ValueError(f"stereo loss does not take {', '.join(unknown)}")
    return replace(preset, **fields_)  # type: ignore[arg-type]
