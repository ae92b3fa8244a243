"""Semantic segmentation: per-pixel classification of ``batch["image"]`` against ``batch["mask"]``."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset
from torchmetrics import MetricCollection
from torchmetrics.classification import MulticlassAccuracy, MulticlassJaccardIndex

from aekit.data.module import pad_collate
from aekit.losses import SegmentationLoss
from aekit.tasks.base import Task, register_task


def segmentation_metrics(num_classes: int, ignore_index: int | None) -> MetricCollection:
    """Global (pixel) accuracy, class-average accuracy and mean IoU; ``ignore_index`` pixels never count.

    Classes absent from both prediction and ground truth are left out of the class averages (torchmetrics).
    """
    kw = {"num_classes": num_classes, "ignore_index": ignore_index}
    return MetricCollection(
        {
            "global_acc": MulticlassAccuracy(average="micro", **kw),
            "class_acc": MulticlassAccuracy(average="macro", **kw),
            "miou": MulticlassJaccardIndex(average="macro", **kw),
        }
    )


def per_class_iou(num_classes: int, ignore_index: int | None) -> MulticlassJaccardIndex:
    return MulticlassJaccardIndex(num_classes=num_classes, ignore_index=ignore_index, average="none")


@register_task
class SegmentationTask(Task):
    """Cross-entropy (ignore index, class weights), Dice or both; logs ``{stage}/global_acc``, ``class_acc``, ``miou``.

    ``class_weights``: one weight per class (median-frequency balancing is computed by the caller from the
    training masks, see :func:`aekit.losses.median_frequency_weights`). ``label_smoothing``: see
    :class:`aekit.losses.SegmentationLoss` (0 = off). ``metadata`` carries the class
    names/colours and the input normalisation so ``predict`` reproduces the training inputs.
    """

    task_name = "segmentation"

    def __init__(
        self,
        model: str = "segnet_basic",
        model_kwargs: dict[str, Any] | None = None,
        num_classes: int = 11,
        ignore_index: int | None = None,
        class_weights: Sequence[float] | None = None,
        loss: str = "ce",
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        optimizer: str = "adamw",
        scheduler: str = "onecycle",
        metadata: dict[str, Any] | None = None,
        label_smoothing: float = 0.0,
    ) -> None:
        model_kwargs = dict(model_kwargs or {})
        model_kwargs.setdefault("out_channels", num_classes)
        if model_kwargs["out_channels"] != num_classes:
            raise ValueError(f"model has {model_kwargs['out_channels']} outputs but the task has {num_classes} classes")
        if class_weights is not None and len(class_weights) != num_classes:
            raise ValueError(f"--class-weights has {len(class_weights)} values but there are {num_classes} classes")
        super().__init__(model, model_kwargs, lr, weight_decay, optimizer, scheduler, metadata)
        self.save_hyperparameters()
        self.loss_fn = SegmentationLoss(loss, class_weights, ignore_index, label_smoothing)
        metrics = segmentation_metrics(num_classes, ignore_index)
        self.val_metrics = metrics.clone(prefix="val/")
        self.test_metrics = metrics.clone(prefix="test/")

    def step(self, batch: dict[str, torch.Tensor], stage: str) -> torch.Tensor:
        x, y = batch["image"], batch["mask"]
        logits = self.model(x)
        loss = self.loss_fn(logits, y)
        n = x.shape[0]
        self.log_loss(stage, loss, n)
        if stage != "train":
            metrics = self.val_metrics if stage == "val" else self.test_metrics
            metrics.update(logits.argmax(1), y)
            self.log_dict(metrics, on_epoch=True, batch_size=n, prog_bar=stage == "val")
        return loss

    @torch.inference_mode()
    def predict_labels(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) normalised images -> (N, H, W) int64 class indices."""
        return self.model(x).argmax(1)


@torch.inference_mode()
def evaluate_dataset(task: SegmentationTask, dataset: Dataset, batch_size: int = 8) -> dict[str, Any]:
    """global_acc, class_acc, miou and per-class IoU (named) of ``task`` on ``dataset``."""
    hp = task.hparams
    metrics = segmentation_metrics(hp.num_classes, hp.ignore_index)
    per_class = per_class_iou(hp.num_classes, hp.ignore_index)
    task.eval()
    # images of several sizes share a batch padded with the ignore index (or the dataset's pad label)
    fill = hp.ignore_index if hp.ignore_index is not None else getattr(dataset, "ignore_index", None)
    loader = DataLoader(dataset, batch_size=batch_size, collate_fn=partial(pad_collate, fills={"mask": fill}))
    present = torch.zeros(hp.num_classes, dtype=torch.bool)
    for batch in loader:
        pred = task.predict_labels(batch["image"])
        metrics.update(pred, batch["mask"])
        per_class.update(pred, batch["mask"])
        m = batch["mask"]
        valid = m[(m >= 0) & (m < hp.num_classes)]
        present |= torch.bincount(valid.flatten(), minlength=hp.num_classes).bool()
    out = {k: float(v) for k, v in metrics.compute().items()}
    names = task.metadata.get("class_names") or [str(i) for i in range(hp.num_classes)]
    ious = per_class.compute().tolist()
    out["per_class_iou"] = {n: (float(v) if present[i] else None) for i, (n, v) in enumerate(zip(names, ious))}
    out["images"] = len(dataset)
    return out


def task_for_data(
    splits: Any,
    model: str,
    model_kwargs: dict[str, Any],
    class_weights: Sequence[float] | None = None,
    extra_metadata: dict[str, Any] | None = None,
    **kwargs: Any,
) -> SegmentationTask:
    """A :class:`SegmentationTask` for opened data: classes, ignore index, names, colours, normalisation and
    mask format from ``splits.info`` (so the saved checkpoint predicts, evaluates and draws like the data)."""
    info = splits.info
    k = int(info["num_classes"])
    metadata = {
        "data": info.get("source"),
        "channels": info["channels"],
        "num_classes": k,
        "ignore_index": info.get("ignore_index"),
        "class_names": info.get("class_names"),
        "class_colours": info.get("class_colours"),
        "normalization": info.get("normalization"),
        "class_weights": None if class_weights is None else list(class_weights),
        "mask_format": info.get("mask_format"),
        **(extra_metadata or {}),
    }
    kw = {"in_channels": int(info["channels"]), "out_channels": k, **model_kwargs}
    return SegmentationTask(
        model=model,
        model_kwargs=kw,
        num_classes=k,
        ignore_index=info.get("ignore_index"),
        class_weights=class_weights,
        metadata={key: v for key, v in metadata.items() if v is not None},
        **kwargs,
    )
