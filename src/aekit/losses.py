"""Losses, chosen by name. Models never compute their loss; tasks do, with these."""

from __future__ import annotations

from collections.abc import Callable

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
