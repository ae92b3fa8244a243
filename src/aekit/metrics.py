"""Metrics torchmetrics lacks, grouped by problem."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torchmetrics import Metric

# ======================================================================================================
# Stereo / disparity and depth
# ======================================================================================================
#
# Disparity errors are in PIXELS of the evaluated images; bad-pixel rates are PERCENT of the evaluated
# (masked) pixels whose absolute error exceeds the threshold (Middlebury's "bad 2.0" = ``bad2``).

BAD_THRESHOLDS = (1.0, 2.0, 4.0)


def _masked(pred: torch.Tensor, gt: torch.Tensor, mask: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    valid = gt > 0 if mask is None else (mask > 0) & (gt > 0)
    return pred[valid].double(), gt[valid].double()


def median_scale(pred: torch.Tensor, gt: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """``pred`` multiplied by median(gt) / median(pred) over the evaluated pixels (monocular scale ambiguity)."""
    p, g = _masked(pred, gt, mask)
    if p.numel() == 0:
        return pred
    return pred * (g.median() / p.median().clamp_min(1e-12)).to(pred.dtype)


def disparity_errors(
    pred: torch.Tensor, gt: torch.Tensor, mask: torch.Tensor | None = None, thresholds: Sequence[float] = BAD_THRESHOLDS
) -> dict[str, float]:
    """``epe`` (mean absolute disparity error, pixels) and ``bad{t}`` (% of pixels with error > t) over the
    pixels where ``gt > 0`` and ``mask`` (e.g. non-occluded) is set."""
    p, g = _masked(pred, gt, mask)
    if p.numel() == 0:
        return {"epe": float("nan"), **{f"bad{t:g}": float("nan") for t in thresholds}, "pixels": 0}
    err = (p - g).abs()
    out = {"epe": float(err.mean())}
    out.update({f"bad{t:g}": float((err > t).double().mean() * 100) for t in thresholds})
    out["pixels"] = int(p.numel())
    return out


def depth_errors(pred: torch.Tensor, gt: torch.Tensor, mask: torch.Tensor | None = None) -> dict[str, float]:
    """The usual depth metrics over pixels with ``gt > 0``, ``pred > 0`` and ``mask``: ``abs_rel`` =
    mean |p - g| / g, ``rmse`` (units of the depth), ``delta1`` = % with max(p/g, g/p) < 1.25."""
    m = (pred > 0) if mask is None else (pred > 0) & (mask > 0)
    p, g = _masked(pred, gt, m)
    if p.numel() == 0:
        return {"abs_rel": float("nan"), "rmse": float("nan"), "delta1": float("nan")}
    ratio = torch.maximum(p / g, g / p)
    return {
        "abs_rel": float(((p - g).abs() / g).mean()),
        "rmse": float((p - g).pow(2).mean().sqrt()),
        "delta1": float((ratio < 1.25).double().mean() * 100),
    }


class EndPointError(Metric):
    """Mean absolute disparity error (pixels) over all masked pixels seen (pooled over images)."""

    higher_is_better = False
    full_state_update = False

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.add_state("total", torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, pred: torch.Tensor, gt: torch.Tensor, mask: torch.Tensor | None = None) -> None:
        p, g = _masked(pred, gt, mask)
        self.total += (p - g).abs().sum()
        self.count += p.numel()

    def compute(self) -> torch.Tensor:
        return (self.total / self.count.clamp_min(1)).float()


class BadPixelRate(EndPointError):
    """Percent of masked pixels whose absolute disparity error exceeds ``threshold`` pixels."""

    def __init__(self, threshold: float = 2.0, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.threshold = threshold

    def update(self, pred: torch.Tensor, gt: torch.Tensor, mask: torch.Tensor | None = None) -> None:
        p, g = _masked(pred, gt, mask)
        self.total += ((p - g).abs() > self.threshold).sum()
        self.count += p.numel()

    def compute(self) -> torch.Tensor:
        return (100 * self.total / self.count.clamp_min(1)).float()
