"""Training runs on Lightning: one run directory, checkpoints, resume, early stopping, CSV log.

What a run directory holds after :func:`fit`::

    config.yaml              the resolved configuration (``aekit train --config`` reads it back)
    metrics.csv              one row per logged step/epoch (Lightning's CSVLogger)
    best.ckpt, last.ckpt     Lightning checkpoints (written atomically; ``--resume`` continues last)
    model.safetensors        weights of the best checkpoint
    model.json               model name, kwargs and metadata: ``aekit.load(run_dir)`` rebuilds it
"""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import lightning.pytorch as L
import torch
import yaml
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint, TQDMProgressBar
from lightning.pytorch.loggers import CSVLogger

from aekit.io import atomic_write_bytes, model_from_checkpoint, read_checkpoint, save_model
from aekit.tasks.base import Task

PRECISIONS = ("32", "32-true", "bf16-mixed", "16-mixed", "bf16-true")


@dataclass
class TrainConfig:
    """Engine settings shared by every task (the CLI's training flags)."""

    epochs: int = 10
    batch_size: int = 64
    seed: int = 0
    precision: str = "32"
    accelerator: str = "auto"
    devices: int | str = 1
    strategy: str = "auto"
    patience: int | None = None
    monitor: str = "val/loss"
    monitor_mode: str = "min"
    num_workers: int = 0
    max_time_minutes: float | None = None
    progress: bool = True
    channels_last: bool = False
    limit_train_batches: float | None = None
    log_every_n_steps: int = 20
    time_schedule: bool = False  # with max_time_minutes: the one-cycle schedule follows elapsed time (TimeBudget)
    deterministic: bool = False  # deterministic kernels: bit-identical reruns and resumes on GPUs, slower


@dataclass
class FitResult:
    run_dir: Path
    best_checkpoint: Path
    last_checkpoint: Path
    trainer: L.Trainer


class TimeBudget(L.Callback):
    """Drive one-cycle schedules by the elapsed fraction of a time budget, and stop when it is spent.

    A step-indexed schedule sized by ``epochs`` is cut off mid-cycle (at a high learning rate) when
    ``max_time`` stops the run first. With this callback the schedule position is the larger of
    steps taken and ``elapsed / budget``, so a time-limited run always anneals to the end, on a fast
    or a loaded machine. Give the run more epochs than the budget can hold. The elapsed time is kept
    in checkpoints, so a resumed run continues the budget.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = float(seconds)
        self.elapsed_before = 0.0
        self.start: float | None = None

    def elapsed(self) -> float:
        return self.elapsed_before + (time.monotonic() - self.start if self.start is not None else 0.0)

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.start = time.monotonic()

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs, batch, batch_idx) -> None:  # noqa: ANN001
        fraction = self.elapsed() / self.seconds
        if fraction >= 1.0:
            trainer.should_stop = True
        for config in trainer.lr_scheduler_configs:
            sched = config.scheduler
            if isinstance(sched, torch.optim.lr_scheduler.OneCycleLR) and config.interval == "step":
                # Lightning has already stepped the scheduler for this batch (it steps before this hook), so
                # move the schedule and apply its learning rate now: a run that stops here ends annealed.
                # Capped at the last step so the batches left in the epoch never step past the end.
                position = min(max(sched.last_epoch, int(fraction * sched.total_steps)), sched.total_steps - 1)
                if position != sched.last_epoch:
                    sched.last_epoch = position
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")  # get_lr() outside step() warns; here it is intended
                        lrs = sched.get_lr()
                    for group, lr in zip(sched.optimizer.param_groups, lrs):
                        group["lr"] = lr
                    sched._last_lr = list(lrs)

    def state_dict(self) -> dict[str, float]:
        return {"elapsed": self.elapsed()}

    def load_state_dict(self, state_dict: dict[str, float]) -> None:
        self.elapsed_before = float(state_dict.get("elapsed", 0.0))


def set_threads() -> None:
    """Respect AEKIT_THREADS / OMP_NUM_THREADS; torch's default can oversubscribe small machines."""
    n = os.environ.get("AEKIT_THREADS") or os.environ.get("OMP_NUM_THREADS")
    if n:
        torch.set_num_threads(int(n))


def write_config(run_dir: Path, config: dict[str, Any]) -> Path:
    path = run_dir / "config.yaml"
    atomic_write_bytes(path, yaml.safe_dump(config, sort_keys=False).encode())
    return path


def make_trainer(run_dir: Path, cfg: TrainConfig, extra_callbacks: list[L.Callback] | None = None) -> L.Trainer:
    if cfg.precision not in PRECISIONS:
        raise ValueError(f"--precision must be one of {', '.join(PRECISIONS)}, not {cfg.precision!r}")
    checkpoint = ModelCheckpoint(
        dirpath=run_dir,
        filename="best",
        monitor=cfg.monitor,
        mode=cfg.monitor_mode,
        save_top_k=1,
        save_last=True,
        auto_insert_metric_name=False,
        enable_version_counter=False,
    )
    callbacks: list[L.Callback] = [checkpoint, *(extra_callbacks or [])]
    if cfg.patience:
        callbacks.append(EarlyStopping(monitor=cfg.monitor, mode=cfg.monitor_mode, patience=cfg.patience))
    if cfg.progress:
        callbacks.append(TQDMProgressBar(refresh_rate=10))
    max_time = None
    if cfg.max_time_minutes:
        total = int(cfg.max_time_minutes * 60)
        max_time = {"seconds": total}
        if cfg.time_schedule:
            callbacks.append(TimeBudget(cfg.max_time_minutes * 60))
            max_time = {"seconds": total + 60}  # TimeBudget stops the run; Lightning's timer is the backstop
    return L.Trainer(
        default_root_dir=run_dir,
        max_epochs=cfg.epochs,
        max_time=max_time,
        precision=cfg.precision,
        accelerator=cfg.accelerator,
        devices=cfg.devices,
        strategy=cfg.strategy,
        callbacks=callbacks,
        logger=CSVLogger(save_dir=run_dir, name="", version=""),
        enable_progress_bar=cfg.progress,
        enable_model_summary=cfg.progress,
        log_every_n_steps=cfg.log_every_n_steps,
        limit_train_batches=cfg.limit_train_batches,
        deterministic=cfg.deterministic,
    )


def fit(
    task: Task,
    datamodule: L.LightningDataModule,
    run_dir: str | Path,
    cfg: TrainConfig,
    config: dict[str, Any] | None = None,
    resume: str | Path | bool | None = None,
    extra_callbacks: list[L.Callback] | None = None,
) -> FitResult:
    """Train ``task`` and leave a complete run directory (see module docstring).

    ``resume=True`` continues from ``run_dir/last.ckpt``; a path continues from that checkpoint.
    Seed before building the task (``L.seed_everything``) so weight initialisation is reproducible.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path: str | None = None
    if resume:
        ckpt_path = str(run_dir / "last.ckpt") if resume is True else str(resume)
        if not Path(ckpt_path).is_file():
            raise FileNotFoundError(f"--resume: no checkpoint at {ckpt_path} (a run writes last.ckpt after each epoch)")
    if cfg.channels_last:
        task = task.to(memory_format=torch.channels_last)
    # Trainer(deterministic=...) switches torch's deterministic mode for the whole process: restore it after
    # the run (finished or not), or later work in the process (max-unpooling has no deterministic kernel) fails
    determinism = torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()
    try:
        trainer = make_trainer(run_dir, cfg, extra_callbacks)
        if trainer.is_global_zero:
            write_config(run_dir, {**(config or {}), "train": asdict(cfg)})
        trainer.fit(task, datamodule=datamodule, ckpt_path=ckpt_path, weights_only=True if ckpt_path else None)
    finally:
        torch.use_deterministic_algorithms(determinism[0], warn_only=determinism[1])
    best = run_dir / "best.ckpt"
    last = run_dir / "last.ckpt"
    if trainer.is_global_zero:
        source = best if best.is_file() else last
        if not source.is_file():  # e.g. zero epochs: save the weights as they are
            trainer.save_checkpoint(last)
            source = last
        model = model_from_checkpoint(read_checkpoint(source), source)
        save_model(model, run_dir, {**task.metadata, "task": task.task_name, "checkpoint": source.name})
    return FitResult(run_dir, best, last, trainer)


def fast_bf16_available() -> bool:
    """True where bf16 autocast is a speed-up: a CUDA GPU with bf16, or a CPU with AMX/AVX512-BF16.

    Elsewhere bf16 on the CPU is emulated and slower than fp32, so defaults stay at 32-bit there.
    """
    if torch.cuda.is_available():
        return torch.cuda.is_bf16_supported()
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags
