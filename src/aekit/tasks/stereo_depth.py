"""Monocular depth learned from stereo pairs without depth labels (Garg et al. ECCV 2016).

The network sees only ``batch["left"]`` and predicts its disparity; the right image warped with that
disparity must re-create the left image (:class:`aekit.losses.StereoLoss`). Ground truth, when a batch has
it (``has_gt``), is used only for validation metrics (EPE, bad-2 in pixels of the batch's images).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torchmetrics import MetricCollection

from aekit.losses import STEREO_LOSS_PRESETS, stereo_loss
from aekit.metrics import BadPixelRate, EndPointError
from aekit.tasks.base import Task, register_task


@register_task
class StereoDepthTask(Task):
    """Self-supervised disparity from rectified pairs; ``loss`` is a preset of ``aekit.losses``
    (``garg``, ``ssim_l1``, ``godard``) and ``smoothness``/``lr_consistency``/``photometric``/``scales``
    override its fields. A preset with left-right consistency makes the model predict both views."""

    task_name = "stereo_depth"

    def __init__(
        self,
        model: str = "disparity_unet",
        model_kwargs: dict[str, Any] | None = None,
        loss: str = "ssim_l1",
        photometric: str | None = None,
        smoothness: float | None = None,
        lr_consistency: float | None = None,
        scales: int | None = None,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        optimizer: str = "adamw",
        scheduler: str = "onecycle",
        metadata: dict[str, Any] | None = None,
    ) -> None:
        if loss not in STEREO_LOSS_PRESETS:
            raise ValueError(f"unknown stereo loss {loss!r}; choose one of {', '.join(STEREO_LOSS_PRESETS)}")
        self_loss = stereo_loss(
            loss, photometric=photometric, smoothness=smoothness, lr_consistency=lr_consistency, scales=scales
        )
        kwargs = dict(model_kwargs or {})
        if self_loss.needs_right_disparity:
            kwargs["predict_right"] = True
        super().__init__(model, kwargs, lr, weight_decay, optimizer, scheduler, metadata)
        self.save_hyperparameters()
        self.hparams.model_kwargs = kwargs  # the model as built (predict_right added) is what reloads
        self.loss_fn = self_loss
        metrics = MetricCollection({"epe": EndPointError(), "bad2": BadPixelRate(2.0)})
        self.val_metrics = metrics.clone(prefix="val/")
        self.test_metrics = metrics.clone(prefix="test/")

    def step(self, batch: dict[str, torch.Tensor], stage: str) -> torch.Tensor:
        left, right = batch["left"], batch["right"]
        disparities = self.model.forward_multiscale(left)
        loss, parts = self.loss_fn(left, right, disparities)
        n = left.shape[0]
        self.log_loss(stage, loss, n)
        self.log_dict({f"{stage}/{k}": v for k, v in parts.items()}, on_epoch=True, batch_size=n)
        if stage != "train" and "disparity" in batch and bool((batch["has_gt"] > 0).any()):
            pred = disparities[0][:, :1].detach() * left.shape[-1]
            metrics = self.val_metrics if stage == "val" else self.test_metrics
            metrics.update(pred, batch["disparity"], batch["nonocc"])
            self.log_dict(metrics, on_epoch=True, batch_size=n)
        return loss


@torch.no_grad()
def infer_disparity(
    model: torch.nn.Module, left: torch.Tensor, infer_width: int | None = None, width_scale: float = 1.0
) -> torch.Tensor:
    """Disparity in PIXELS of ``left`` (3, H, W) or (N, 3, H, W), as (N, 1, H, W).

    The image is resized to ``infer_width`` (keeping its aspect ratio; the width the network was trained at)
    before the network sees it; the fraction-of-width prediction is resized back and multiplied by ``W``.
    ``width_scale`` = crop width / image width of training with ``--crop``: the network learned fractions of
    the crop's width, so they are converted to fractions of the full image's width.
    """
    x = left[None] if left.ndim == 3 else left
    h, w = x.shape[-2:]
    if infer_width and infer_width != w:
        size = (max(1, round(h * infer_width / w)), int(infer_width))
        x = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)
    model.eval()
    frac = model(x.to(next(model.parameters()).device)).float().cpu()
    if frac.shape[-2:] != (h, w):
        frac = F.interpolate(frac, size=(h, w), mode="bilinear", align_corners=False)
    return frac * (w * width_scale)


def sgbm_disparity(left: torch.Tensor, right: torch.Tensor, num_disparities: int = 64, block: int = 5) -> torch.Tensor:
    """OpenCV semi-global matching on a (3, H, W) pair in [0, 1]; invalid pixels filled from the left neighbour.

    The classical reference of the stereo and real-depth benchmarks; needs OpenCV (``pip install aekit[bench]``).
    """
    try:
        import cv2
    except ImportError as exc:
        from aekit.data.base import DataError

        raise DataError("the SGBM baseline needs OpenCV: pip install 'aekit[bench]' (opencv-python-headless)") from exc

    lu8 = (left.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    ru8 = (right.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    matcher = cv2.StereoSGBM_create(
        minDisparity=0,
        numDisparities=num_disparities,
        blockSize=block,
        P1=8 * 3 * block**2,
        P2=32 * 3 * block**2,
        disp12MaxDiff=1,
        uniquenessRatio=10,
        speckleWindowSize=100,
        speckleRange=2,
        mode=cv2.STEREO_SGBM_MODE_SGBM_3WAY,
    )
    d = matcher.compute(lu8, ru8).astype(np.float32) / 16.0
    valid = d > 0
    # fill each invalid pixel with the last valid disparity to its left (background-ish), then the first valid
    idx = np.where(valid, np.arange(d.shape[1])[None], 0)
    np.maximum.accumulate(idx, axis=1, out=idx)
    filled = np.take_along_axis(d, idx, axis=1)
    first = np.array([row[v][0] if v.any() else 0.0 for row, v in zip(d, valid)], np.float32)
    filled = np.where((idx == 0) & ~valid[:, :1], first[:, None], filled)
    return torch.from_numpy(filled)[None]
