"""Image-to-image regression: super-resolution (LR -> HR) and supervised depth (image -> depth map).

Both read ``batch["image"]`` (input) and ``batch["target"]`` (the image to predict). The SR task logs
PSNR/SSIM on Y with the border shaved for the model and for bicubic upsampling side by side; the depth
task ignores invalid ground-truth pixels (0, NaN, inf) in the loss and in every metric.
"""

from __future__ import annotations

from typing import Any

import torch

from aekit.losses import depth_loss, reconstruction_loss
from aekit.metrics import DepthMetrics, SRMetrics, valid_depth
from aekit.nn.resample import bicubic_up
from aekit.tasks.base import Task, register_task

SR_LOSSES = ("l1", "l2", "mse")


class ImageRegressionTask(Task):
    """Shared step: predict, compute the task's loss, log it, update the task's metrics."""

    def loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def update_metrics(self, stage: str, batch: dict[str, torch.Tensor], pred: torch.Tensor) -> None:
        raise NotImplementedError

    def step(self, batch: dict[str, torch.Tensor], stage: str) -> torch.Tensor:
        x, y = batch["image"], batch["target"]
        pred = self.model(x)
        loss = self.loss(pred, y)
        self.log_loss(stage, loss, x.shape[0])
        if stage != "train":
            self.update_metrics(stage, batch, pred)
        return loss

    def log_metrics(self, stage: str) -> None:
        """Log the epoch's metrics (computed over all its images) and reset them."""
        raise NotImplementedError

    def on_validation_epoch_end(self) -> None:
        self.log_metrics("val")

    def on_test_epoch_end(self) -> None:
        self.log_metrics("test")


@register_task
class SuperResolutionTask(ImageRegressionTask):
    """LR -> HR with an L1 (default, as EDSR) or L2 loss; ``scale`` comes from the model."""

    task_name = "superres"

    def __init__(
        self,
        model: str = "unet_sr",
        model_kwargs: dict[str, Any] | None = None,
        loss: str = "l1",
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        optimizer: str = "adamw",
        scheduler: str = "onecycle",
        metadata: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(model, model_kwargs, lr, weight_decay, optimizer, scheduler, metadata)
        self.save_hyperparameters()
        if loss not in SR_LOSSES:
            raise ValueError(f"unknown SR loss {loss!r}; choose one of {', '.join(SR_LOSSES)}")
        self.loss_fn = reconstruction_loss(loss)
        self.scale = int(getattr(self.model, "scale", 1))
        self.val_metrics = SRMetrics(self.scale)
        self.val_bicubic = SRMetrics(self.scale)

    def loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.loss_fn(pred.float(), target.float())

    def update_metrics(self, stage: str, batch: dict[str, torch.Tensor], pred: torch.Tensor) -> None:
        hr = batch["target"].float()
        self.val_metrics.update(pred.float(), hr)
        self.val_bicubic.update(bicubic_up(batch["image"].float(), self.scale), hr)

    def log_metrics(self, stage: str) -> None:
        if int(self.val_metrics.n) == 0:
            return
        self.log_dict({f"{stage}/{k}": v for k, v in self.val_metrics.compute().items()}, sync_dist=True)
        bic = self.val_bicubic.compute()
        self.log_dict({f"{stage}/{k}_bicubic": v for k, v in bic.items()}, sync_dist=True)
        self.val_metrics.reset()
        self.val_bicubic.reset()


@register_task
class DepthTask(ImageRegressionTask):
    """Image -> depth map with a masked L1 or the scale-invariant log loss (Eigen et al. 2014)."""

    task_name = "depth"

    def __init__(
        self,
        model: str = "unet_depth",
        model_kwargs: dict[str, Any] | None = None,
        loss: str = "silog",
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        optimizer: str = "adamw",
        scheduler: str = "onecycle",
        median_scaling: bool = False,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(model, model_kwargs, lr, weight_decay, optimizer, scheduler, metadata)
        self.save_hyperparameters()
        self.loss_fn = depth_loss(loss)
        self.val_metrics = DepthMetrics(median_scaling)

    def loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.loss_fn(pred, target, valid_depth(target))

    def update_metrics(self, stage: str, batch: dict[str, torch.Tensor], pred: torch.Tensor) -> None:
        self.val_metrics.update(pred.float(), batch["target"].float())

    def log_metrics(self, stage: str) -> None:
        if int(self.val_metrics.n) == 0:
            return
        self.log_dict({f"{stage}/{k}": v for k, v in self.val_metrics.compute().items()}, sync_dist=True)
        self.val_metrics.reset()
