"""The shared LightningModule: model built by name, optimiser and schedule, safe reloading."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, ClassVar

import lightning.pytorch as L
import torch
from safetensors.torch import load_file

from aekit.io import WEIGHTS_NAME, read_checkpoint, read_weights_config
from aekit.registry import create_model

_TASKS: dict[str, type[Task]] = {}

OPTIMIZERS = ("adamw", "adam", "sgd")
SCHEDULERS = ("onecycle", "cosine", "none")


def register_task(cls: type[Task]) -> type[Task]:
    """Class decorator: lets :func:`load_task` rebuild the task from a checkpoint by name."""
    _TASKS[cls.task_name] = cls
    return cls


class Task(L.LightningModule):
    """Base of every aekit task. Subclasses set ``task_name``, call ``save_hyperparameters()`` and
    implement ``step(batch, stage) -> loss``.

    The model is rebuilt from ``model`` (a registry name) and ``model_kwargs``, so checkpoints hold
    only tensors and plain values. ``metadata`` (class names, normalisation, ...) travels to
    ``model.json`` when the run exports its weights.
    """

    task_name: ClassVar[str] = "task"

    def __init__(
        self,
        model: str,
        model_kwargs: dict[str, Any] | None = None,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        optimizer: str = "adamw",
        scheduler: str = "onecycle",
        metadata: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
        if scheduler not in SCHEDULERS:
            raise ValueError(f"unknown scheduler {scheduler!r}; choose one of {', '.join(SCHEDULERS)}")
        self.model = create_model(model, **(model_kwargs or {}))
        self.metadata = dict(metadata or {})

    # -- the one place a batch becomes a loss ---------------------------------------------------
    def step(self, batch: dict[str, torch.Tensor], stage: str) -> torch.Tensor:
        raise NotImplementedError

    def log_loss(self, stage: str, loss: torch.Tensor, batch_size: int) -> None:
        """``{stage}/loss`` per step in training (progress bar) and per epoch everywhere, synced across ranks."""
        self.log(
            f"{stage}/loss",
            loss,
            prog_bar=True,
            on_step=stage == "train",
            on_epoch=True,
            batch_size=batch_size,
            sync_dist=stage != "train",
        )

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        return self.step(batch, "train")

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        return self.step(batch, "val")

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        return self.step(batch, "test")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)

    # -- optimisation --------------------------------------------------------------------------
    def parameter_groups(self) -> list[dict[str, Any]]:
        """Override to give parts of the model their own learning rate."""
        return [{"params": [p for p in self.model.parameters() if p.requires_grad]}]

    def configure_optimizers(self) -> Any:
        hp = self.hparams
        groups = self.parameter_groups()
        if hp.optimizer == "sgd":
            opt = torch.optim.SGD(groups, lr=hp.lr, momentum=0.9, weight_decay=hp.weight_decay)
        elif hp.optimizer == "adam":
            opt = torch.optim.Adam(groups, lr=hp.lr, weight_decay=hp.weight_decay)
        else:
            opt = torch.optim.AdamW(groups, lr=hp.lr, weight_decay=hp.weight_decay)
        total = max(1, int(self.trainer.estimated_stepping_batches))
        if hp.scheduler == "none" or total < 3:  # OneCycleLR divides by zero on 1-2 step runs
            return opt
        if hp.scheduler == "onecycle":
            max_lr = [g.get("lr", hp.lr) for g in opt.param_groups]
            pct = min(0.5, max(0.25, 2.0 / total))  # the warm-up phase needs at least two steps
            sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=max_lr, total_steps=total, pct_start=pct)
        else:
            sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["aekit_task"] = self.task_name


def task_hparams(task: Task) -> dict[str, Any]:
    """The task's own plain hyper-parameters (not the model's), kept in ``model.json`` so the portable weights
    rebuild the same task (classes, ignore index, value range, ...) without the Lightning checkpoint."""
    skip = {"model", "model_kwargs", "metadata"}
    return {k: v for k, v in dict(task.hparams).items() if k not in skip}


def load_task(path: str | Path, **overrides: Any) -> Task:
    """Rebuild a task (model weights included) from an aekit ``.ckpt``, without unpickling objects, or from
    portable weights: a ``model.safetensors`` (or a folder holding it) with its ``model.json``."""
    path = Path(path)
    if path.suffix == ".safetensors" or (path.is_dir() and (path / WEIGHTS_NAME).is_file()):
        return task_from_weights(path, **overrides)
    ckpt = read_checkpoint(path)
    name = ckpt.get("aekit_task")
    if name not in _TASKS:
        _import_builtin_tasks()
    if name not in _TASKS:
        raise ValueError(f"{path} was not written by an aekit task (task {name!r} unknown)")
    task = _TASKS[name](**{**ckpt.get("hyper_parameters", {}), **overrides})
    task.load_state_dict(ckpt["state_dict"])
    return task.eval()


def _import_builtin_tasks() -> None:
    import aekit.tasks  # noqa: F401


def task_from_weights(path: str | Path, **overrides: Any) -> Task:
    """A task around the weights of ``model.safetensors`` + ``model.json`` (what ``aekit.load`` reads and a user
    shares): the task's name and hyper-parameters come from the JSON's metadata (written by ``aekit train``)."""
    weights, config = read_weights_config(path)
    metadata = dict(config.get("metadata") or {})
    name = metadata.get("task")
    if name not in _TASKS:
        _import_builtin_tasks()
    if name not in _TASKS:
        raise ValueError(f"{path}: its model.json names no aekit task (task {name!r}); re-export it with aekit train")
    cls = _TASKS[name]
    hparams = dict(metadata.get("task_hparams") or {})
    kwargs = dict(config.get("kwargs") or {})
    if "num_classes" in inspect.signature(cls.__init__).parameters and "num_classes" not in hparams:
        # weights exported before model.json carried the task's hyper-parameters: the classes are the outputs
        classes = kwargs.get("out_channels", kwargs.get("num_classes"))
        if classes is not None:
            hparams["num_classes"] = int(classes)
    task = cls(model=config["name"], model_kwargs=kwargs, metadata=metadata, **{**hparams, **overrides})
    task.model.load_state_dict(load_file(str(weights), device="cpu"))
    return task.eval()
