"""Training runs on Lightning: one run directory, checkpoints, resume, early stopping, CSV log.

What a run directory holds after :func:`fit`::

    config.yaml              the resolved configuration (``aekit train --config`` reads it back)
    metrics.csv              one row per logged step/epoch (Lightning's CSVLogger)
    best.ckpt, last.ckpt     Lightning checkpoints (written atomically; ``--resume`` continues last)
    model.safetensors        weights of the best checkpoint
    model.json               model name, kwargs and metadata: ``aekit.load(run_dir)`` rebuilds it
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import lightning.pytorch as L
import torch
import yaml
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint, TQDMProgressBar
from lightning.pytorch.loggers import CSVLogger, Logger

from aekit.data.splits import describe_splits, write_splits
from aekit.io import atomic_write_bytes, model_from_checkpoint, read_checkpoint, save_model
from aekit.tasks.base import Task, task_hparams

PRECISIONS = ("auto", "32", "32-true", "bf16-mixed", "16-mixed", "bf16-true")


class NonFiniteLossError(ValueError):
    """The training loss became NaN/inf: the run stops before a checkpoint of the broken weights is written."""


class _DropTips(logging.Filter):
    """Lightning's advertising tips ("litlogger", "litmodels") and set-up chatter are not for aekit's users
    (aekit prints what it decided itself); warnings and errors still pass."""

    NOISE = ("Tip:", "GPU available", "TPU available", "HPU available", "Loading `train_dataloader`",
             "`Trainer.fit` stopped", "LOCAL_RANK")  # fmt: skip

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or not any(n in str(record.msg) for n in self.NOISE)


logging.getLogger("lightning.pytorch.utilities.rank_zero").addFilter(_DropTips())
warnings.filterwarnings("ignore", message=r".*exists and is not empty.*")  # aekit writes config.yaml there first
warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")  # Lightning vs newer torch
warnings.filterwarnings("ignore", message=r".*smaller than the logging interval.*")  # small data sets are fine
warnings.filterwarnings("ignore", message=r".*Total length of `list` across ranks is zero.*")  # no val split: a refit


def resolve_precision(precision: str | None, accelerator: str = "auto") -> str:
    """``auto`` -> ``bf16-mixed`` where bf16 is fast (AMX/AVX512-BF16 CPU, bf16 GPU), else ``32``."""
    if precision in (None, "", "auto"):
        on_gpu = accelerator in ("gpu", "cuda", "auto") and torch.cuda.is_available()
        if accelerator == "cpu" or not on_gpu:
            return "bf16-mixed" if cpu_has_fast_bf16() else "32"
        return "bf16-mixed" if torch.cuda.is_bf16_supported() else "32"
    return str(precision)


# oneDNN ISA caps (ONEDNN_MAX_CPU_ISA) at or above which bf16 convolutions run natively (AVX512-BF16, AMX)
_ONEDNN_BF16_ISAS = ("AVX512_CORE_BF16", "AVX512_CORE_FP16", "AVX512_CORE_AMX", "AVX512_CORE_AMX_FP16",
                     "AVX10_1_512", "AVX10_1_512_AMX", "AVX10_1_512_AMX_FP16", "AVX10_2_512", "AVX10_2_512_AMX_2",
                     "ALL", "DEFAULT")  # fmt: skip
_SWITCH = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}


def cpu_has_fast_bf16() -> bool:
    """Whether bf16 runs natively on this CPU, as torch will use it: what ``precision="auto"`` trusts.

    ``AEKIT_FAST_BF16=1|0`` decides outright (CI forces the bf16 path on machines without it, so what breaks on
    AMX servers breaks everywhere). Otherwise the CPU needs AVX512-BF16 or AMX *and* torch must be allowed to
    use them: ``ATEN_CPU_CAPABILITY=avx2`` or ``ONEDNN_MAX_CPU_ISA=AVX2`` (how an AVX2-only CPU behaves) make
    bf16 emulated, ~10x slower than fp32, so ``auto`` then means fp32.
    """
    forced = os.environ.get("AEKIT_FAST_BF16", "").strip().lower()
    if forced:
        if forced not in _SWITCH:
            raise ValueError(f"AEKIT_FAST_BF16={forced!r}: set it to 1 (bf16 path) or 0 (fp32), or unset it")
        return _SWITCH[forced]
    try:
        capability = torch.backends.cpu.get_cpu_capability()  # honours ATEN_CPU_CAPABILITY
    except AttributeError:
        capability = ""
    if not (capability.startswith("AVX512") or "AMX" in capability):
        return False
    isa = os.environ.get("ONEDNN_MAX_CPU_ISA", "").strip().upper()
    if isa and isa not in _ONEDNN_BF16_ISAS:
        return False
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "AMX" in capability
    return "amx_bf16" in flags or "avx512_bf16" in flags


def resolved(cfg: TrainConfig) -> TrainConfig:
    """``cfg`` with ``precision`` and ``channels_last`` decided (``auto``/None -> this machine's fast path)."""
    precision = resolve_precision(cfg.precision, cfg.accelerator)
    channels_last = cfg.channels_last if cfg.channels_last is not None else precision.startswith("bf16")
    return replace(cfg, precision=precision, channels_last=channels_last)


def without_validation(cfg: TrainConfig, datamodule: Any) -> TrainConfig:
    """No validation split (a refit on every labelled item, ``--split-file`` with train rows only): nothing to
    select on, so ``best.ckpt`` is the newest epoch and early stopping is off."""
    splits = getattr(datamodule, "splits", None)
    if splits is None or getattr(splits, "val", False) is not None or not (cfg.monitor or "").startswith("val/"):
        return cfg
    return replace(cfg, monitor=None, patience=None)


@dataclass
class TrainConfig:
    """Engine settings shared by every task (the CLI's training flags)."""

    epochs: int = 10
    batch_size: int = 64
    seed: int = 0
    precision: str = "auto"  # bf16-mixed where the CPU/GPU runs it fast, else 32 (resolve_precision)
    accelerator: str = "auto"
    devices: int | str = 1
    strategy: str = "auto"
    patience: int | None = None
    monitor: str | None = "val/loss"  # None: the newest epoch is best.ckpt (fit() sets it without a val split)
    monitor_mode: str = "min"
    num_workers: int = 0
    max_time_minutes: float | None = None
    progress: bool = True
    channels_last: bool | None = None  # None: on with the bf16 fast path (measured faster there), off at fp32
    limit_train_batches: float | None = None
    log_every_n_steps: int = 20
    time_schedule: bool = False  # with max_time_minutes: the one-cycle schedule follows elapsed time (TimeBudget)
    deterministic: bool = False  # deterministic kernels: bit-identical reruns and resumes on GPUs, slower
    logger: str = "csv"  # csv (metrics.csv), or tensorboard: Lightning's TensorBoardLogger beside metrics.csv


@dataclass
class FitResult:
    run_dir: Path
    best_checkpoint: Path
    last_checkpoint: Path
    trainer: L.Trainer
    config: dict[str, Any] | None = None  # what config.yaml holds (recipe, args, task, train)

    def __fspath__(self) -> str:
        """A run handle is a path: ``aekit.load(run)``, ``Path(run)`` work on the run directory."""
        return str(self.run_dir)


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


class StopOnNonFinite(L.Callback):
    """Stop at the first NaN/inf training loss, before any checkpoint of the broken weights is saved."""

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs, batch, batch_idx) -> None:  # noqa: ANN001
        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        if isinstance(loss, torch.Tensor) and not torch.isfinite(loss).all():
            last = Path(trainer.default_root_dir) / "last.ckpt"
            kept = (
                f"the last good checkpoint {last} (epoch {trainer.current_epoch - 1}) is kept"
                if last.is_file()
                else "no checkpoint was written"
            )
            raise NonFiniteLossError(
                f"training loss became {float(loss)} at epoch {trainer.current_epoch}, step {trainer.global_step}; "
                f"{kept}; lower --lr, use --precision 32, or check the inputs"
            )


class ConsoleReport(L.Callback):
    """Plain console output: the time-per-epoch estimate after the first steps, and (without a terminal,
    where a progress bar would write thousands of lines) one line per epoch."""

    def __init__(self, epoch_lines: bool, estimate_after: int = 5) -> None:
        self.epoch_lines = epoch_lines
        self.estimate_after = estimate_after
        self.t0 = 0.0
        self.estimated = False

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.t0 = time.monotonic()

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs, batch, batch_idx) -> None:  # noqa: ANN001
        n = trainer.num_training_batches
        if self.estimated or batch_idx + 1 < min(self.estimate_after, n) or not trainer.is_global_zero:
            return
        self.estimated = True
        per_step = (time.monotonic() - self.t0) / (batch_idx + 1)
        if n != float("inf"):
            epochs = trainer.max_epochs or 1
            print(f"about {per_step * n:.0f} s per epoch ({n} steps), {per_step * n * epochs / 60:.1f} min for "
                  f"{epochs} epochs (training steps only)", flush=True)  # fmt: skip

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not self.epoch_lines or not trainer.is_global_zero:
            return
        m = trainer.callback_metrics
        parts = [f"{k} {float(v):.4g}" for k, v in sorted(m.items()) if k.endswith("epoch") or k.startswith("val/")]
        parts = [p.replace("_epoch", "") for p in parts]
        print(f"epoch {trainer.current_epoch + 1}/{trainer.max_epochs}  " + "  ".join(parts)
              + f"  ({time.monotonic() - self.t0:.1f} s)", flush=True)  # fmt: skip


def make_trainer(run_dir: Path, cfg: TrainConfig, extra_callbacks: list[L.Callback] | None = None) -> L.Trainer:
    if cfg.precision not in PRECISIONS:
        raise ValueError(f"--precision must be one of {', '.join(PRECISIONS)}, not {cfg.precision!r}")
    cfg = resolved(cfg)
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
    bar = cfg.progress and sys.stdout.isatty()
    if bar:
        callbacks.append(TQDMProgressBar(refresh_rate=10))
    callbacks += [StopOnNonFinite(), ConsoleReport(epoch_lines=not bar)]
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
        logger=loggers(run_dir, cfg.logger),
        enable_progress_bar=bar,
        enable_model_summary=bar,
        log_every_n_steps=cfg.log_every_n_steps,
        limit_train_batches=cfg.limit_train_batches,
        deterministic=cfg.deterministic,
    )


def loggers(run_dir: Path, kind: str = "csv") -> list[Logger]:
    """metrics.csv always (evaluate, reports and tests read it); ``tensorboard`` adds event files under
    ``run_dir/tensorboard`` for ``tensorboard --logdir``."""
    if kind not in ("csv", "tensorboard"):
        raise ValueError(f"--logger must be csv or tensorboard, not {kind!r}")
    out: list[Logger] = [CSVLogger(save_dir=run_dir, name="", version="")]
    if kind == "tensorboard":
        from lightning.pytorch.loggers import TensorBoardLogger

        out.append(TensorBoardLogger(save_dir=run_dir, name="tensorboard", version="", default_hp_metric=False))
    return out


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
    cfg = without_validation(resolved(cfg), datamodule)
    if cfg.channels_last:
        task = task.to(memory_format=torch.channels_last)
    # Trainer(deterministic=...) switches torch's deterministic mode for the whole process: restore it after
    # the run (finished or not), or later work in the process (max-unpooling has no deterministic kernel) fails
    determinism = torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()
    try:
        trainer = make_trainer(run_dir, cfg, extra_callbacks)
        if trainer.is_global_zero:
            write_config(run_dir, {**(config or {}), "train": asdict(cfg)})
            record_decisions(run_dir, getattr(datamodule, "splits", None), cfg)
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
        meta = {**task.metadata, "task": task.task_name, "task_hparams": task_hparams(task), "checkpoint": source.name}
        save_model(model, run_dir, meta)
    return FitResult(run_dir, best, last, trainer)


def record_decisions(run_dir: Path, splits: Any, cfg: TrainConfig) -> dict[str, str]:
    """Print once and save (``decisions.json``, ``splits.json``) what aekit decided for the user: size handling,
    mask format, channels, split, precision."""
    info = getattr(splits, "info", None) or {}
    decisions = dict(info.get("decisions") or {})
    record = info.get("splits")
    if not record and splits is not None and info.get("source"):
        record = describe_splits(splits, str(info["source"]), cfg.seed)
    if record:
        n = {s: len(record.get(s) or []) for s in ("train", "val", "test")}
        decisions["split"] = (
            f"{n['train']} train / {n['val']} val / {n['test']} test: {record.get('method')} (splits.json)"
        )
        write_splits(run_dir, record)
    if cfg.monitor is None:
        decisions["checkpoint"] = "no validation split: best.ckpt is the last epoch (nothing to select on)"
    decisions["precision"] = f"{cfg.precision}{' + channels_last' if cfg.channels_last else ''}" + (
        " (bf16 is fast on this machine)" if cfg.precision.startswith("bf16") else ""
    )
    atomic_write_bytes(run_dir / "decisions.json", (json.dumps(decisions, indent=1) + "\n").encode())
    for key, text in decisions.items():
        print(f"{key}: {text}", flush=True)
    return decisions


def _float_outputs(module: torch.nn.Module, inputs: Any, output: Any) -> Any:
    """Forward hook: bf16 outputs back to float32, so metrics and saved files never compute in bf16."""
    if isinstance(output, torch.Tensor):
        return output.float() if output.dtype == torch.bfloat16 else output
    if isinstance(output, (tuple, list)):
        return type(output)(_float_outputs(module, inputs, o) for o in output)
    return output


ACCELERATORS = ("auto", "cpu", "gpu")


def inference_device(accelerator: str = "auto") -> torch.device:
    """Where evaluate/predict run: ``auto`` the GPU when there is one, else the CPU; ``gpu`` insists on one."""
    if accelerator not in ACCELERATORS + ("cuda",):
        raise ValueError(f"--accelerator {accelerator!r}: choose one of {', '.join(ACCELERATORS)}")
    if accelerator in ("gpu", "cuda") and not torch.cuda.is_available():
        raise ValueError("--accelerator gpu: torch sees no CUDA GPU here; use --accelerator cpu (or auto)")
    return torch.device("cuda" if accelerator != "cpu" and torch.cuda.is_available() else "cpu")


def _inputs_to(device: torch.device) -> Callable:
    """Forward pre-hook: tensors given on another device (the CPU, where the data is read) move to ``device``."""

    def move(value: Any) -> Any:
        if isinstance(value, torch.Tensor):
            return value.to(device) if value.device != device else value
        if isinstance(value, (tuple, list)):
            return type(value)(move(v) for v in value)
        if isinstance(value, dict):
            return {k: move(v) for k, v in value.items()}
        return value

    def hook(module: torch.nn.Module, args: Any, kwargs: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        return move(args), move(kwargs)

    return hook


def _cpu_float_outputs(module: torch.nn.Module, inputs: Any, output: Any) -> Any:
    """Forward hook of a model on an accelerator: outputs back on the CPU as float32, where metrics are computed
    and files written, so every evaluator and predictor works unchanged on any device."""
    if isinstance(output, torch.Tensor):
        return output.float().cpu() if output.is_floating_point() else output.cpu()
    if isinstance(output, (tuple, list)):
        return type(output)(_cpu_float_outputs(module, inputs, o) for o in output)
    return output


def _output_layers(model: torch.nn.Module) -> list[torch.nn.Module]:
    """The model's output layers by the models' naming convention: ``head``, or each of ``heads``."""
    head, heads = getattr(model, "head", None), getattr(model, "heads", None)
    if isinstance(head, torch.nn.Module):
        return [head]
    return list(heads) if isinstance(heads, torch.nn.ModuleList) else []


def _fp32_forward(forward: Callable, device_type: str) -> Callable:
    """``forward`` outside autocast on float32 inputs: the model's output layer (``head``) in fp32, so regressed
    values (depth, pixels, disparity) keep float32 resolution instead of bf16's 8-bit mantissa (0.4 %), and
    logits their ties; the layer is a small share of the work."""

    def run(*args: Any) -> Any:
        with torch.autocast(device_type, enabled=False):
            return forward(*(a.float() if isinstance(a, torch.Tensor) and a.is_floating_point() else a for a in args))

    return run


@contextmanager
def inference_precision(
    model: torch.nn.Module, precision: str | None = "auto", device: torch.device | str = "cpu"
) -> Iterator[str]:
    """Evaluation/prediction on ``device`` at ``precision``: ``auto`` -> bf16 autocast (+ channels_last on a CPU)
    where bf16 is fast (AMX/AVX512-BF16 CPU, bf16 GPU), fp32 elsewhere; ``32`` is true fp32 (no TF32 on a GPU).
    Inputs move to the device and outputs come back to the CPU as float32. Yields the precision used."""
    device = torch.device(device)
    precision = resolve_precision(precision, "gpu" if device.type == "cuda" else "cpu")
    if precision not in ("32", "32-true", "bf16-mixed"):
        raise ValueError(f"--precision for evaluate/predict must be auto, 32 or bf16-mixed, not {precision!r}")
    bf16 = precision == "bf16-mixed"
    handles = []
    if device.type != "cpu":
        model.to(device)
        handles = [m.register_forward_pre_hook(_inputs_to(device), with_kwargs=True) for m in model.modules()]
        handles.append(model.register_forward_hook(_cpu_float_outputs))
    elif bf16:
        handles.append(model.register_forward_hook(_float_outputs))
        model.to(memory_format=torch.channels_last)
    heads = _output_layers(model) if bf16 else []  # kept in fp32 (see _fp32_forward)
    for head in heads:
        head.forward = _fp32_forward(head.forward, device.type)
    tf32 = (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
    if device.type == "cuda" and not bf16:  # "32" means the same numbers as on a CPU, to float32 rounding
        torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        with torch.no_grad(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            yield precision + (" + channels_last" if bf16 and device.type == "cpu" else "")
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = tf32
        for handle in handles:
            handle.remove()
        for head in heads:
            del head.forward  # back to the class's own forward


def fast_bf16_available() -> bool:
    """True where bf16 autocast is a speed-up: a CUDA GPU with bf16, or a CPU with AMX/AVX512-BF16.

    Elsewhere bf16 on the CPU is emulated and slower than fp32, so defaults stay at 32-bit there.
    """
    if torch.cuda.is_available():
        return torch.cuda.is_bf16_supported()
    return cpu_has_fast_bf16()
