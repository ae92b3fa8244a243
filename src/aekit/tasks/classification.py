"""Image classification, built for fine-tuning a pre-trained encoder on a few labels."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torchmetrics import MetricCollection
from torchmetrics.classification import MulticlassAccuracy, MulticlassF1Score
from torchmetrics.functional.classification import (
    binary_auroc,
    multiclass_accuracy,
    multiclass_f1_score,
)

from aekit.data.augment import random_affine
from aekit.losses import reconstruction_loss
from aekit.tasks.base import Task, register_task


@register_task
class ClassificationTask(Task):
    """Cross-entropy on ``batch["label"]``; logs accuracy and macro-F1.

    ``encoder_lr_scale`` multiplies the learning rate of the encoder and ``to_latent`` (the pre-trained
    part; see ``parameter_groups``), so full fine-tuning moves them less than the fresh head. Frozen
    parameters (``requires_grad=False``) are left out of the optimiser. ``augment`` applies random
    shifts/rotations (``max_shift`` as a fraction of the image, ``max_rotation`` in degrees) to training
    batches only.

    ``recon_weight > 0`` (model built with ``reconstruct=True``) adds ``recon_weight * reconstruction loss``
    of every training image: reconstruction as an auxiliary loss. Items with ``label == -1`` are unlabeled
    (see :class:`aekit.data.sampling.MixedDataset`): they count only in the reconstruction term.
    """

    task_name = "classification"

    def __init__(
        self,
        model: str = "encoder_classifier",
        model_kwargs: dict[str, Any] | None = None,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        optimizer: str = "adamw",
        scheduler: str = "onecycle",
        encoder_lr_scale: float = 0.1,
        label_smoothing: float = 0.0,
        augment: bool = True,
        max_shift: float = 0.1,
        max_rotation: float = 10.0,
        max_scale: float = 0.0,
        recon_weight: float = 0.0,
        recon_loss: str = "l2",
        metadata: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(model, model_kwargs, lr, weight_decay, optimizer, scheduler, metadata)
        self.save_hyperparameters()
        n = int(getattr(self.model, "num_classes", (model_kwargs or {}).get("num_classes", 10)))
        self.num_classes = n
        if recon_weight > 0 and not getattr(self.model, "reconstruct", False):
            raise ValueError("recon_weight > 0 needs a model with a decoder (encoder_classifier with reconstruct=True)")
        self.recon_fn = reconstruction_loss(recon_loss)
        metrics = MetricCollection(
            {"acc": MulticlassAccuracy(n, average="micro"), "f1": MulticlassF1Score(n, average="macro")}
        )
        self.train_metrics = metrics.clone(prefix="train/")
        self.val_metrics = metrics.clone(prefix="val/")
        self.test_metrics = metrics.clone(prefix="test/")

    def parameter_groups(self) -> list[dict[str, Any]]:
        """Head at ``lr``; encoder + ``to_latent`` at ``lr * encoder_lr_scale``; frozen ones left out."""
        is_enc = getattr(self.model, "is_encoder_parameter", lambda name: False)
        enc, head = [], []
        for name, p in self.model.named_parameters():
            if p.requires_grad:
                (enc if is_enc(name) else head).append(p)
        groups = []
        if enc:
            groups.append({"params": enc, "lr": self.hparams.lr * self.hparams.encoder_lr_scale, "name": "encoder"})
        if head:
            groups.append({"params": head, "lr": self.hparams.lr, "name": "head"})
        return groups

    def step(self, batch: dict[str, torch.Tensor], stage: str) -> torch.Tensor:
        x, y = batch["image"], batch["label"]
        if stage == "train" and self.hparams.augment:
            x = random_affine(x, self.hparams.max_rotation, self.hparams.max_shift, self.hparams.max_scale)
        z = self.model.encode(x)
        logits = self.model.head(z)
        labeled = y >= 0
        if bool(labeled.all()):
            loss = F.cross_entropy(logits.float(), y, label_smoothing=self.hparams.label_smoothing)
        else:  # a mixed batch: the unlabeled items (label -1) only feed the reconstruction term
            loss = F.cross_entropy(logits.float(), y, ignore_index=-1, label_smoothing=self.hparams.label_smoothing)
            logits, y = logits[labeled], y[labeled]
        if stage == "train" and self.hparams.recon_weight > 0:
            recon = self.recon_fn(self.model.decode(z), x)
            self.log("train/recon", recon, on_step=False, on_epoch=True, batch_size=x.shape[0])
            loss = loss + self.hparams.recon_weight * recon
        self.log(
            f"{stage}/loss", loss, prog_bar=True, on_step=False, on_epoch=True, batch_size=x.shape[0], sync_dist=True
        )
        if len(y):
            metrics = {"train": self.train_metrics, "val": self.val_metrics, "test": self.test_metrics}[stage]
            metrics.update(logits.detach(), y)
            self.log_dict(metrics, on_step=False, on_epoch=True, batch_size=len(y))
        return loss

    def predict_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        return self.model(batch["image"]).softmax(-1)


@torch.no_grad()
def predict_proba(model: torch.nn.Module, dataset: Any, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Class probabilities (N, K) and labels (N,) of a dataset, in eval mode, on the model's device (labels -1
    where the dataset has none: an unlabeled pool to pseudo-label or to rank by margin)."""
    from torch.utils.data import DataLoader

    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    probs, labels = [], []
    for batch in DataLoader(dataset, batch_size=batch_size):
        probs.append(model(batch["image"].to(device)).float().softmax(-1).cpu())
        labels.append(batch["label"] if "label" in batch else torch.full((len(batch["image"]),), -1))
    model.train(was_training)
    return torch.cat(probs).numpy(), torch.cat(labels).numpy()


def classification_scores(probs: np.ndarray, labels: np.ndarray, num_classes: int | None = None) -> dict[str, float]:
    """Accuracy and macro-F1 (torchmetrics); ROC AUC too for two-class problems. Works for any model's probs."""
    p = torch.as_tensor(np.asarray(probs), dtype=torch.float32)
    y = torch.as_tensor(np.asarray(labels), dtype=torch.long)
    k = num_classes or p.shape[1]
    scores = {
        "accuracy": float(multiclass_accuracy(p, y, k, average="micro")),
        "macro_f1": float(multiclass_f1_score(p, y, k, average="macro")),
    }
    if k == 2:
        scores["auc"] = float(binary_auroc(p[:, 1], y)) if len(torch.unique(y)) == 2 else float("nan")
    return scores
