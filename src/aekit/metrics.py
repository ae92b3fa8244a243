"""Metrics torchmetrics lacks, written from their definitions.

Super-resolution (the usual protocol of SR papers): PSNR and SSIM on the luma channel Y of ITU-R BT.601
YCbCr, on a 0..255 scale (``Y = 16 + 65.481 R + 128.553 G + 24.966 B`` for RGB in [0, 1], i.e. MATLAB's
``rgb2ycbcr``), after shaving ``scale`` pixels from every border. SSIM is Wang et al. 2004 with an 11x11
Gaussian window (sigma 1.5), K1 = 0.01, K2 = 0.03 and only 'valid' windows, like MATLAB's ``ssim_index``.
Scores are per image, then averaged over images.

Depth (Eigen et al. 2014): AbsRel, SqRel, RMSE, RMSE(log) and the threshold accuracies
delta < 1.25, 1.25^2, 1.25^3, over valid pixels only (ground truth finite and > 0), per image, then
averaged over images; optional per-image median scaling for scale-ambiguous predictions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torchmetrics import Metric

from aekit.nn.resample import bicubic_up, modcrop

Y_WEIGHTS = (65.481, 128.553, 24.966)
DEPTH_METRICS = ("abs_rel", "sq_rel", "rmse", "rmse_log", "delta1", "delta2", "delta3")


# -- super-resolution ----------------------------------------------------------------------------
def rgb_to_y(x: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) RGB in [0, 1] -> (N, 1, H, W) BT.601 luma on the 0..255 scale (16..235).

    A 1-channel input is taken as already being luma and only scaled to 0..255.
    """
    if x.shape[-3] == 1:
        return x * 255.0
    if x.shape[-3] != 3:
        raise ValueError(f"rgb_to_y needs 1 or 3 channels, got {x.shape[-3]}")
    w = torch.tensor(Y_WEIGHTS, dtype=x.dtype, device=x.device).view(3, 1, 1)
    return 16.0 + (x * w).sum(dim=-3, keepdim=True)


def shave(x: torch.Tensor, border: int) -> torch.Tensor:
    """Remove ``border`` pixels from each side of H and W."""
    return x[..., border:-border, border:-border] if border > 0 else x


def quantize(x: torch.Tensor) -> torch.Tensor:
    """Clamp to [0, 1] and round to 8 bits: what an SR output saved as PNG would hold."""
    return torch.round(x.clamp(0, 1) * 255) / 255


def sr_prepare(sr: torch.Tensor, hr: torch.Tensor, scale: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Both images as shaved luma in float64 (N, 1, H', W'), HR modcropped to the scale."""
    hr = modcrop(hr, scale)
    if sr.shape[-2:] != hr.shape[-2:]:
        raise ValueError(f"SR output {tuple(sr.shape[-2:])} and HR {tuple(hr.shape[-2:])} differ in size")
    if sr.ndim == 3:
        sr, hr = sr[None], hr[None]
    return shave(rgb_to_y(quantize(sr.double())), scale), shave(rgb_to_y(hr.double()), scale)


def psnr(x: torch.Tensor, y: torch.Tensor, data_range: float = 255.0) -> torch.Tensor:
    """Per-image PSNR in dB of (N, C, H, W) tensors: ``10 log10(range^2 / MSE)``."""
    mse = ((x.double() - y.double()) ** 2).flatten(1).mean(1)
    return 10 * torch.log10(data_range**2 / mse.clamp_min(1e-20))


def _gaussian_window(size: int = 11, sigma: float = 1.5, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    g = torch.exp(-((torch.arange(size, dtype=dtype) - (size - 1) / 2) ** 2) / (2 * sigma**2))
    g = g / g.sum()
    return torch.outer(g, g)[None, None]


def ssim(x: torch.Tensor, y: torch.Tensor, data_range: float = 255.0) -> torch.Tensor:
    """Per-image SSIM of (N, C, H, W) tensors (Gaussian 11x11, sigma 1.5, 'valid' windows only; channels
    averaged). Images smaller than 11 pixels use the largest odd window that fits."""
    n = x.shape[0]
    x, y = x.double().flatten(0, 1)[:, None], y.double().flatten(0, 1)[:, None]  # channels as images
    size = min(11, *x.shape[-2:])
    win = _gaussian_window(size - (size + 1) % 2, dtype=x.dtype).to(x.device)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mx, my = F.conv2d(x, win), F.conv2d(y, win)
    sxx = F.conv2d(x * x, win) - mx**2
    syy = F.conv2d(y * y, win) - my**2
    sxy = F.conv2d(x * y, win) - mx * my
    m = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx**2 + my**2 + c1) * (sxx + syy + c2))
    return m.flatten(1).mean(1).view(n, -1).mean(1)


def sr_scores(sr: torch.Tensor, hr: torch.Tensor, scale: int) -> dict[str, list[float]]:
    """Per-image ``psnr`` and ``ssim`` of an SR batch by the protocol above (outputs rounded to 8 bits)."""
    a, b = sr_prepare(sr, hr, scale)
    return {"psnr": psnr(a, b).tolist(), "ssim": ssim(a, b).tolist()}


class SRMetrics(Metric):
    """Mean per-image PSNR(Y) and SSIM(Y) with the border shaved: a torchmetrics metric for validation."""

    full_state_update = False

    def __init__(self, scale: int, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.scale = int(scale)
        self.add_state("psnr_sum", torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("ssim_sum", torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("n", torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, sr: torch.Tensor, hr: torch.Tensor) -> None:
        a, b = sr_prepare(sr.detach(), hr, self.scale)
        self.psnr_sum += psnr(a, b).sum()
        self.ssim_sum += ssim(a, b).sum()
        self.n += a.shape[0]

    def compute(self) -> dict[str, torch.Tensor]:
        n = self.n.clamp_min(1)
        return {"psnr_y": (self.psnr_sum / n).float(), "ssim_y": (self.ssim_sum / n).float()}


# -- depth ------------------------------------------------------------------------------------
def valid_depth(gt: torch.Tensor) -> torch.Tensor:
    """Pixels with usable ground truth: finite and > 0 (0, NaN and inf mark missing depth)."""
    return torch.isfinite(gt) & (gt > 0)


def depth_scores(
    pred: torch.Tensor,
    gt: torch.Tensor,
    valid: torch.Tensor | None = None,
    median_scaling: bool = False,
    eps: float = 1e-6,
) -> dict[str, list[float]]:
    """Per-image depth metrics of (N, [1,] H, W) tensors over valid pixels; images with none are skipped."""
    if pred.ndim == 4:
        pred, gt = pred[:, 0], gt[:, 0]
        valid = None if valid is None else valid[:, 0]
    if pred.ndim == 2:
        pred, gt = pred[None], gt[None]
        valid = None if valid is None else valid[None]
    valid = valid_depth(gt) if valid is None else valid & valid_depth(gt)
    out: dict[str, list[float]] = {k: [] for k in DEPTH_METRICS}
    for p, g, v in zip(pred.double(), gt.double(), valid):
        if not v.any():
            continue
        p, g = p[v], g[v]
        if median_scaling:
            p = p * (g.median() / p.median().clamp_min(eps))
        p = p.clamp_min(eps)
        diff = p - g
        ratio = torch.maximum(p / g, g / p)
        out["abs_rel"].append(float((diff.abs() / g).mean()))
        out["sq_rel"].append(float((diff**2 / g).mean()))
        out["rmse"].append(float(diff.pow(2).mean().sqrt()))
        out["rmse_log"].append(float((p.log() - g.log()).pow(2).mean().sqrt()))
        for k in (1, 2, 3):
            out[f"delta{k}"].append(float((ratio < 1.25**k).double().mean()))
    return out


class DepthMetrics(Metric):
    """Mean per-image depth metrics (see :func:`depth_scores`) as a torchmetrics metric."""

    full_state_update = False

    def __init__(self, median_scaling: bool = False, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.median_scaling = median_scaling
        for k in DEPTH_METRICS:
            self.add_state(k, torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("n", torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, pred: torch.Tensor, gt: torch.Tensor) -> None:
        scores = depth_scores(pred.detach(), gt, median_scaling=self.median_scaling)
        for k, v in scores.items():
            setattr(self, k, getattr(self, k) + math.fsum(v))
        self.n += len(scores["abs_rel"])

    def compute(self) -> dict[str, torch.Tensor]:
        n = self.n.clamp_min(1)
        return {k: (getattr(self, k) / n).float() for k in DEPTH_METRICS}


# -- depth from focus (the DDFF paper's table: Hazirbas et al. 2018) -----------------------------------
FOCUS_METRICS = ("mse", "rmse", "rmse_log", "abs_rel", "sq_rel", "delta1", "delta2", "delta3", "bump")


def bumpiness(
    pred: torch.Tensor, gt: torch.Tensor, valid: torch.Tensor, unit: float = 1.0, clip: float = 0.05
) -> float:
    """HCI / DDFF bumpiness: 100 x mean over valid pixels of min(clip, ||Hessian(pred - gt)||_F), the error
    first divided by ``unit`` (so the 0.05 clip means the same at any depth scale). (H, W) maps."""
    e = (pred.double() - gt.double()) / unit
    dxx = e[1:-1, 2:] - 2 * e[1:-1, 1:-1] + e[1:-1, :-2]
    dyy = e[2:, 1:-1] - 2 * e[1:-1, 1:-1] + e[:-2, 1:-1]
    dxy = (e[2:, 2:] - e[2:, :-2] - e[:-2, 2:] + e[:-2, :-2]) / 4
    norm = (dxx**2 + dyy**2 + 2 * dxy**2).sqrt().clamp(max=clip)
    v = valid[1:-1, 1:-1].clone()
    for dy in (-1, 0, 1):  # every pixel of the 3x3 stencil must have ground truth
        for dx in (-1, 0, 1):
            v &= valid[1 + dy : valid.shape[0] - 1 + dy, 1 + dx : valid.shape[1] - 1 + dx]
    return float(100 * norm[v].mean()) if v.any() else float("nan")


def focus_depth_scores(
    pred: torch.Tensor, gt: torch.Tensor, valid: torch.Tensor, unit: float = 1.0
) -> dict[str, float]:
    """The DDFF paper's metrics of one (H, W) depth/disparity map over ``valid`` pixels with ``gt > 0``:
    MSE, RMS, log RMS, abs. rel., sq. rel., delta < 1.25^k (fractions) and bumpiness (``unit``: see
    :func:`bumpiness`; the benchmark uses the stack's focus range)."""
    v = valid.bool() & valid_depth(gt)
    scores = depth_scores(pred[None], gt[None], v[None])
    if not scores["abs_rel"]:
        return {k: float("nan") for k in FOCUS_METRICS}
    out = {k: scores[k][0] for k in DEPTH_METRICS}
    out["mse"] = out["rmse"] ** 2
    out["bump"] = bumpiness(pred, gt, v, unit)
    return {k: out[k] for k in FOCUS_METRICS}


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
    """AbsRel, RMSE and delta1 (in percent, like the bad-pixel rates) of one depth map over pixels with
    ``gt > 0``, ``pred > 0`` and ``mask``: the stereo tables' view of :func:`depth_scores`."""
    valid = pred > 0 if mask is None else (pred > 0) & (mask > 0)
    scores = depth_scores(pred[None], gt[None], valid[None])
    if not scores["abs_rel"]:
        return {"abs_rel": float("nan"), "rmse": float("nan"), "delta1": float("nan")}
    return {"abs_rel": scores["abs_rel"][0], "rmse": scores["rmse"][0], "delta1": 100 * scores["delta1"][0]}


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


def evaluate_sr_model(model: torch.nn.Module, dataset: Any, scale: int) -> dict[str, Any]:
    """Per-image and mean PSNR/SSIM (Y, shaved) of the model and of bicubic upsampling, one image at a time."""
    rows: list[dict[str, Any]] = []
    model.eval()
    with torch.no_grad():
        for i in range(len(dataset)):
            item = dataset[i]
            lr, hr = item["image"][None], item["target"][None]
            m = sr_scores(model(lr), hr, scale)
            b = sr_scores(bicubic_up(lr, scale), hr, scale)
            name = Path(dataset.names[i]).name if hasattr(dataset, "names") else str(i)
            rows.append(
                {
                    "image": name,
                    "psnr": m["psnr"][0],
                    "ssim": m["ssim"][0],
                    "bicubic_psnr": b["psnr"][0],
                    "bicubic_ssim": b["ssim"][0],
                }
            )
    mean = {k: float(np.mean([r[k] for r in rows])) for k in ("psnr", "ssim", "bicubic_psnr", "bicubic_ssim")}
    return {"scale": scale, "images": len(rows), "mean": mean, "per_image": rows}
