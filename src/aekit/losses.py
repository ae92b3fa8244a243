"""Losses, chosen by name. Models never compute their loss; tasks do, with these."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

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
    """``ce`` (weighted cross-entropy with ignore index), ``dice`` or ``ce+dice`` (their sum)."""

    def __init__(self, name: str = "ce", weight: Sequence[float] | None = None, ignore_index: int | None = None):
        super().__init__()
        if name not in SEGMENTATION_LOSSES:
            raise ValueError(f"unknown segmentation loss {name!r}; choose one of {', '.join(SEGMENTATION_LOSSES)}")
        self.name = name
        self.ignore_index = ignore_index
        self.register_buffer("weight", None if weight is None else torch.tensor(list(weight), dtype=torch.float32))

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        loss = logits.new_zeros((), dtype=torch.float32)
        if "ce" in self.name.split("+"):
            ii = -100 if self.ignore_index is None else self.ignore_index
            loss = loss + F.cross_entropy(logits.float(), target, weight=self.weight, ignore_index=ii)
        if "dice" in self.name.split("+"):
            loss = loss + dice_loss(logits, target, self.ignore_index)
        return loss


# -- dense regression with missing ground truth (depth) -----------------------------------------
MaskedLossFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def masked_l1(pred: torch.Tensor, target: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Mean absolute error over valid pixels only."""
    valid = valid.expand_as(pred)
    return (pred.float() - target.float()).abs()[valid].sum() / valid.sum().clamp_min(1)


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
