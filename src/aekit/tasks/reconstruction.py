"""Autoencoder training: reconstruct the input (optionally from a noisy or masked copy)."""

from __future__ import annotations

from typing import Any

import torch
from torchmetrics import MeanSquaredError, MetricCollection
from torchmetrics.image import PeakSignalNoiseRatio

from aekit.losses import reconstruction_loss
from aekit.tasks.base import Task, register_task


@register_task
class ReconstructionTask(Task):
    """L1/L2/BCE reconstruction of ``batch["image"]``; logs MSE and per-image PSNR.

    ``input_noise`` (Gaussian std) and ``mask_ratio`` (fraction of pixels zeroed) turn it into a
    denoising / masked autoencoder during training; validation always sees clean inputs.
    ``value_range``: where input values live, ``(0, 1)`` for plain images: noisy inputs and predictions are
    clipped to it before scoring and PSNR's data range is its width. ``None`` for inputs without fixed
    bounds (mean/std-normalised frames): nothing is clipped and only MSE is logged, since a PSNR needs a
    range.
    """

    task_name = "reconstruction"

    def __init__(
        self,
        model: str = "autoencoder",
        model_kwargs: dict[str, Any] | None = None,
        loss: str = "l2",
        lr: float = 3e-3,
        weight_decay: float = 0.0,
        optimizer: str = "adamw",
        scheduler: str = "onecycle",
        input_noise: float = 0.0,
        mask_ratio: float = 0.0,
        value_range: tuple[float, float] | None = (0.0, 1.0),
        metadata: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(model, model_kwargs, lr, weight_decay, optimizer, scheduler, metadata)
        self.save_hyperparameters()
        self.loss_fn = reconstruction_loss(loss)
        self.value_range = None if value_range is None else (float(value_range[0]), float(value_range[1]))
        metrics: dict[str, Any] = {"mse": MeanSquaredError()}
        if self.value_range is not None:
            lo, hi = self.value_range
            metrics["psnr"] = PeakSignalNoiseRatio(data_range=hi - lo, dim=(1, 2, 3))
        metrics = MetricCollection(metrics)
        self.val_metrics = metrics.clone(prefix="val/")
        self.test_metrics = metrics.clone(prefix="test/")

    def clip(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.value_range is None else x.clamp(*self.value_range)

    def corrupt(self, x: torch.Tensor) -> torch.Tensor:
        if self.hparams.input_noise > 0:
            x = self.clip(x + self.hparams.input_noise * torch.randn_like(x))
        if self.hparams.mask_ratio > 0:
            keep = torch.rand_like(x[:, :1]) >= self.hparams.mask_ratio
            x = x * keep
        return x

    def step(self, batch: dict[str, torch.Tensor], stage: str) -> torch.Tensor:
        x = batch["image"]
        x_hat = self.model(self.corrupt(x) if stage == "train" else x)
        loss = self.loss_fn(x_hat, x)
        self.log_loss(stage, loss, x.shape[0])
        if stage != "train":
            metrics = self.val_metrics if stage == "val" else self.test_metrics
            # contiguous: torchmetrics flattens with view(), which fails on channels_last outputs (the bf16 path)
            metrics.update(self.clip(x_hat.float()).contiguous(), x.float().contiguous())
            self.log_dict(metrics, on_epoch=True, batch_size=x.shape[0])
        return loss
