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
