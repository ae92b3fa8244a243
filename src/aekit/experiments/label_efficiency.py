"""Pre-train an autoencoder without labels, drop the decoder, fine-tune with a few labels; compare baselines.

Flow of :func:`run_label_efficiency` (``aekit label-efficiency``):

1. Unlabeled pool = every non-test image (train + val splits), labels hidden: the autoencoder sees images only.
2. The autoencoder is pre-trained ONCE for the whole grid (seed ``pretrain_seed``), in ``OUT/pretrain``;
   a rerun reuses it (or resumes it from ``last.ckpt`` if it was interrupted).
3. For every (labels per class, seed) a balanced labeled subset is drawn from the pool
   (:func:`aekit.data.sampling.sample_per_class`; nested across label counts for one seed), and every method
   is trained/fitted on exactly that subset and scored on the test split:

   - ``ae_finetune``: encoder + ``to_latent`` from the autoencoder, linear probe then full fine-tuning
     (``FinetuneConfig.mode``); ``ae_probe``: the probe stage alone (same run, scored after stage 1);
   - ``scratch``: the same network, randomly initialised, trained on the same labels with the same budget;
   - ``pca_logreg``: PCA (fitted on the unlabeled pool, ``latent_dim`` components) + logistic regression;
   - ``knn_z``: k-nearest neighbours on the autoencoder's standardised codes z;
   - ``scratch_noaug``: the scratch network without augmentation (the "CNN on the labels alone" of the
     published references);
   - ``ae_selftrain`` / ``scratch_selftrain``: the fine-tuned (resp. scratch) network labels the unlabeled pool,
     its most confident predictions (balanced per class) join the labeled few, and a fresh network from the
     same start (autoencoder resp. random) trains on both; ``self_train_rounds`` times, with more pool images
     each round (:func:`self_train`). Semi-supervised: these use the pool's images, never its labels.

4. Every finished cell is written at once to ``OUT/cells.json`` (atomically), so an interrupted run continues
   where it stopped; then ``results.md`` (mean and std over seeds), ``summary.json`` and
   ``accuracy_vs_labels.png``.
"""

from __future__ import annotations

import json
import logging
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import lightning.pytorch as L
import numpy as np
import torch
from torch import nn
from torch.utils.data import ConcatDataset, DataLoader, Dataset, Subset

from aekit.data import DataModule, DataSplits, open_data
from aekit.data.base import DataError
from aekit.data.sampling import (
    MixedDataset,
    Relabeled,
    RepeatDataset,
    dataset_labels,
    sample_per_class,
    select_confident,
)
from aekit.engine import TrainConfig, fit
from aekit.io import atomic_write_bytes, load
from aekit.models.classifier import classifier_kwargs_from
from aekit.tasks import load_task
from aekit.tasks.classification import ClassificationTask, classification_scores, predict_proba
from aekit.tasks.reconstruction import ReconstructionTask

AE_METHODS = ("ae_finetune", "ae_probe")
METHODS = ("ae_finetune", "ae_probe", "scratch", "pca_logreg", "knn_z", "ae_aux", "scratch_noaug", "ae_selftrain",
           "scratch_selftrain")  # fmt: skip
DEFAULT_METHODS = METHODS[:5]  # the semi-supervised ones (several times the cost) and scratch_noaug on request
FINETUNE_MODES = ("probe", "full", "probe+full")
CELLS_NAME = "cells.json"
# version of how cells are made; a cells file of another version is not reused (2: pre-training keeps its
# final weights, not the best by a loss on images of its own training pool; cells carry validation accuracy)
PROTOCOL = 2


@dataclass
class FinetuneConfig:
    """How the labeled few train a classifier (shared by ``aekit finetune`` and the experiment).

    ``mode``: ``probe`` (frozen encoder, head only), ``full`` (everything; encoder at
    ``lr * encoder_lr_scale``) or ``probe+full`` (the two in sequence: a good head first, so full
    fine-tuning does not start by pushing random-head gradients into the pre-trained encoder).
    ``steps`` optimiser steps per stage (the scratch baseline gets the total of all stages).
    ``recon_weight > 0`` (with an unlabeled pool given to :func:`finetune`): the full stage keeps the
    autoencoder's decoder and adds ``recon_weight *`` reconstruction loss on batches that are half labeled,
    half unlabeled (reconstruction as an auxiliary loss, i.e. semi-supervised fine-tuning).
    """

    mode: str = "probe+full"
    head: str = "linear"
    steps: int = 300
    epochs: int = 3
    batch_size: int = 64
    lr: float = 3e-3
    encoder_lr_scale: float = 0.1
    weight_decay: float = 1e-4
    augment: bool = True
    max_shift: float = 0.1
    max_rotation: float = 10.0
    encoder_bn: str = "frozen"
    dropout: float = 0.0
    label_smoothing: float = 0.0
    recon_weight: float = 0.0
    scheduler: str = "onecycle"
    accelerator: str = "auto"
    precision: str = "32"

    def stages(self, pretrained: bool) -> list[str]:
        if self.mode not in FINETUNE_MODES:
            raise ValueError(f"--mode must be one of {', '.join(FINETUNE_MODES)}, not {self.mode!r}")
        if not pretrained:
            return ["scratch"]
        return ["probe", "full"] if self.mode == "probe+full" else [self.mode]


def quiet_lightning() -> None:
    """Many short fits: keep Lightning's per-fit banner (GPU available, model summary...) out of the log."""
    for name in ("lightning.pytorch", "lightning.fabric", "lightning"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # expected here: stage directories are reused, frozen BatchNorm is in eval mode on purpose, few batches
    for pattern in (
        ".*exists and is not empty.*",
        ".*module\\(s\\) in eval mode.*",
        ".*smaller than the logging interval.*",
        ".*Total length of .* across ranks is zero.*",
        ".*isinstance\\(treespec, LeafSpec\\).*",
    ):
        warnings.filterwarnings("ignore", message=pattern)


def finetune(
    labeled: Dataset,
    run_dir: str | Path,
    cfg: FinetuneConfig,
    num_classes: int,
    pretrained: nn.Module | str | Path | None = None,
    model_kwargs: dict[str, Any] | None = None,
    seed: int = 0,
    metadata: dict[str, Any] | None = None,
    progress: bool = False,
    on_stage: Callable[[str, ClassificationTask], None] | None = None,
    unlabeled: Dataset | None = None,
) -> list[tuple[str, ClassificationTask]]:
    """Train a classifier on ``labeled`` through the engine; returns ``[(stage, trained task), ...]``.

    With ``pretrained`` (an autoencoder, run dir or checkpoint) the classifier starts from its encoder and
    ``to_latent``; without it, a randomly initialised network of ``model_kwargs`` (the scratch baseline,
    BatchNorm in train mode, one learning rate). The last stage's run directory is ``run_dir`` itself
    (``best.ckpt`` = the final weights: there is no labeled validation set to choose by, on purpose);
    earlier stages go to ``run_dir/stage_<name>``.
    """
    run_dir = Path(run_dir)
    if pretrained is not None and not isinstance(pretrained, nn.Module):
        pretrained = load(pretrained)
    if model_kwargs is None:
        if pretrained is None:
            raise ValueError("finetune needs a pre-trained autoencoder or model_kwargs for a scratch network")
        model_kwargs = classifier_kwargs_from(pretrained)
    stages = cfg.stages(pretrained is not None)
    state: dict[str, torch.Tensor] | None = None
    done: list[tuple[str, ClassificationTask]] = []
    for i, stage in enumerate(stages):
        L.seed_everything(seed * 100 + i, workers=True, verbose=False)
        aux = cfg.recon_weight > 0 and stage == "full" and unlabeled is not None and pretrained is not None
        kwargs = {
            **(classifier_kwargs_from(pretrained, reconstruct=True) if aux else model_kwargs),
            "reconstruct": aux,
            "num_classes": num_classes,
            "head": cfg.head,
            "dropout": cfg.dropout,
            "freeze_encoder": stage == "probe",
            "encoder_bn": "train" if stage == "scratch" else cfg.encoder_bn,
        }
        steps = cfg.steps * (len(cfg.stages(True)) if stage == "scratch" else 1)
        task = ClassificationTask(
            model="encoder_classifier",
            model_kwargs=kwargs,
            lr=cfg.lr,
            scheduler=cfg.scheduler if steps >= 10 else "cosine",  # one-cycle needs a few steps per phase
            weight_decay=cfg.weight_decay,
            encoder_lr_scale=1.0 if stage == "scratch" else cfg.encoder_lr_scale,
            label_smoothing=cfg.label_smoothing,
            augment=cfg.augment,
            max_shift=cfg.max_shift,
            max_rotation=cfg.max_rotation,
            recon_weight=cfg.recon_weight if aux else 0.0,
            metadata={**(metadata or {}), "stage": stage, "pretrained": pretrained is not None},
        )
        if pretrained is not None:
            task.model.load_pretrained(pretrained)  # encoder (+ decoder when aux)
        if state is not None:
            task.model.load_state_dict(state, strict=not aux)  # the earlier stage's encoder and head
        epochs = max(1, min(cfg.epochs, steps))
        per_epoch = math.ceil(steps / epochs)
        if aux:
            train = MixedDataset(labeled, unlabeled, per_epoch * cfg.batch_size, seed)
        else:
            train = RepeatDataset(labeled, per_epoch * cfg.batch_size)
        dm = DataModule(DataSplits(train, None, None, {}), cfg.batch_size, 0, seed * 100 + i)
        tcfg = TrainConfig(
            epochs=epochs,
            batch_size=cfg.batch_size,
            seed=seed,
            precision=cfg.precision,
            accelerator=cfg.accelerator,
            monitor=None,  # type: ignore[arg-type]  (no labeled validation: keep the final weights)
            progress=progress,
            log_every_n_steps=max(1, min(50, per_epoch)),
            # a training set larger than the steps ask for (a student's pseudo-labelled pool): ``steps`` still
            # bounds the run, each epoch a fresh shuffled share of it
            limit_train_batches=per_epoch if len(train) > per_epoch * cfg.batch_size else None,
        )
        stage_dir = run_dir if i == len(stages) - 1 else run_dir / f"stage_{stage}"
        config = {"recipe": "finetune", "stage": stage, "finetune": asdict(cfg), "task": dict(task.hparams)}
        fit(task, dm, stage_dir, tcfg, config)
        task = task.cpu().eval()
        state = {k: v.clone() for k, v in task.model.state_dict().items()}
        done.append((stage, task))
        if on_stage is not None:
            on_stage(stage, task)
    return done


def train_student(
    labeled: Dataset,
    pool: Dataset,
    pseudo_indices: np.ndarray,
    pseudo_labels: np.ndarray,
    run_dir: str | Path,
    cfg: FinetuneConfig,
    num_classes: int,
    pretrained: nn.Module | None = None,
    model_kwargs: dict[str, Any] | None = None,
    seed: int = 0,
    metadata: dict[str, Any] | None = None,
) -> ClassificationTask:
    """A fresh network (from ``pretrained`` or random ``model_kwargs``) trained with ``cfg`` on batches that
    are half the labeled few (repeated), half pool images with pseudo-labels (``pool[pseudo_indices]`` as
    ``pseudo_labels``): one self-training round, or the student of labels spread over the code space."""
    pseudo = Relabeled(pool, pseudo_indices, pseudo_labels)
    train = ConcatDataset([RepeatDataset(labeled, len(pseudo)), pseudo])
    [(_, task)] = finetune(
        train, run_dir, cfg, num_classes, pretrained, model_kwargs=model_kwargs, seed=seed, metadata=metadata
    )[-1:]
    return task


def self_train(
    teacher: nn.Module,
    labeled: Dataset,
    labeled_indices: np.ndarray,
    pool: Dataset,
    run_dir: str | Path,
    cfg: FinetuneConfig,
    num_classes: int,
    rounds: int,
    pseudo_fraction: float,
    steps: int | None = None,
    pretrained: nn.Module | None = None,
    model_kwargs: dict[str, Any] | None = None,
    seed: int = 0,
    metadata: dict[str, Any] | None = None,
    eval_batch_size: int = 512,
    pool_labels: np.ndarray | None = None,
    log: Callable[[str], None] | None = None,
) -> tuple[ClassificationTask, list[dict[str, Any]]]:
    """Self-training (pseudo-labelling) on the unlabeled ``pool``, starting from a trained ``teacher``.

    Round ``r`` (1..``rounds``): the current teacher predicts the pool (eval mode, no augmentation); for every
    predicted class its ``r * pseudo_fraction * len(pool) / num_classes`` most confident images
    (:func:`select_confident`, the labeled few excluded) get their predicted label; a new network from the
    same start as the teacher (``pretrained`` autoencoder, or random ``model_kwargs``) trains with ``cfg`` on
    batches that are half the labeled few (repeated), half pseudo-labeled, for ``steps`` steps (default
    ``cfg.steps``); it is the next teacher. A fresh
    start each round keeps the teacher's early mistakes from being fine-tuned in twice. ``pool_labels``, if
    given, serve one thing only: the reported ``pseudo_accuracy`` of each round (selection never sees them).

    Returns the last student and one info dict per round.
    """
    run_dir = Path(run_dir)
    rounds_info: list[dict[str, Any]] = []
    task: ClassificationTask | None = None
    if not 0 < pseudo_fraction <= 1:
        raise ValueError(f"--pseudo-fraction must be in (0, 1], not {pseudo_fraction}")
    cfg = replace(cfg, steps=steps or cfg.steps)
    for r in range(1, rounds + 1):
        probs, _ = predict_proba(teacher, pool, eval_batch_size)
        per_class = math.ceil(min(1.0, r * pseudo_fraction) * len(probs) / num_classes)
        idx, labels = select_confident(probs, per_class, exclude=labeled_indices)
        info: dict[str, Any] = {"round": r, "pseudo_labeled": len(idx)}
        if pool_labels is not None:
            info["pseudo_accuracy"] = round(float((np.asarray(pool_labels)[idx] == labels).mean()), 4)
        task = train_student(
            labeled, pool, idx, labels, run_dir / f"round_{r}", cfg, num_classes, pretrained, model_kwargs,
            seed=seed * 1000 + r, metadata={**(metadata or {}), "self_train_round": r},
        )  # fmt: skip
        teacher = task.model
        rounds_info.append(info)
        if log is not None:
            log(f"    self-training round {r}: {info}")
    if task is None:
        raise ValueError("self_train needs rounds >= 1")
    return task, rounds_info


# -- the experiment ------------------------------------------------------------------------------


class ImagesOnly(Dataset):
    """Hides labels: the autoencoder's pool yields ``{"image"}`` only."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"image": self.dataset[i]["image"]}


@dataclass
class ExperimentConfig:
    """Everything ``aekit label-efficiency`` needs; saved beside the results."""

    data: str
    out: Path
    data_options: dict[str, Any] = field(default_factory=dict)
    labels_per_class: list[int] = field(default_factory=lambda: [1, 10, 100])
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    methods: list[str] = field(default_factory=lambda: list(DEFAULT_METHODS))
    ae_kwargs: dict[str, Any] = field(default_factory=lambda: {"latent_dim": 64})
    pretrained: str | None = None
    pretrain_epochs: int = 10
    pretrain_minutes: float | None = None
    pretrain_batch_size: int = 128
    pretrain_lr: float = 3e-3
    pretrain_loss: str = "l2"
    input_noise: float = 0.0
    mask_ratio: float = 0.0
    pretrain_seed: int = 0
    pca_components: int | None = None
    knn_k: int = 5
    aux_weight: float = 10.0
    self_train_rounds: int = 3
    pseudo_fraction: float = 0.3  # round r pseudo-labels up to r * this share of the pool, per class
    self_train_steps: int | None = None  # per round; None: finetune.steps
    eval_batch_size: int = 512
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)
    accelerator: str = "auto"
    progress: bool = False

    def fingerprint(self) -> dict[str, Any]:
        """Settings that change a cell's result (the grid itself may grow between runs)."""
        d = asdict(self)
        for k in ("out", "labels_per_class", "seeds", "methods", "progress", "eval_batch_size", "accelerator"):
            d.pop(k)
        d["finetune"].pop("accelerator")
        return json.loads(json.dumps(d, default=str))


def _changed_settings(old: dict[str, Any] | None, new: dict[str, Any], default: dict[str, Any]) -> list[str]:
    """Names of settings that differ; a setting missing from an older results file counts as its default, and
    one the older file has but this code no longer knows counts as changed (its cells may depend on it)."""
    if old is None:
        return []
    changed = [k for k in old if k not in new]
    for k, v in new.items():
        before = old.get(k, default.get(k))
        if isinstance(v, dict) and isinstance(before, dict) and isinstance(default.get(k), dict):
            changed += [f"{k}.{c}" for c in _changed_settings(before, v, default[k])]
        elif before != v:
            changed.append(k)
    return sorted(changed)


def load_cells(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise DataError(f"{path} is not valid JSON ({exc}); delete it to start the grid again") from exc


def save_cells(path: Path, state: dict[str, Any]) -> None:
    atomic_write_bytes(path, (json.dumps(state, indent=1, default=float) + "\n").encode())


def cell_key(method: str, per_class: int, seed: int) -> str:
    return f"{method}/{per_class}/{seed}"


def pretrain_autoencoder(cfg: ExperimentConfig, splits: DataSplits, pool: Dataset, channels: int, size: list[int]):
    """Train (or reuse / resume) the autoencoder in ``OUT/pretrain`` on the unlabeled pool.

    Its final weights are kept: every non-test image is in the pool, so no held-out images are left to choose
    a checkpoint by (a loss on pool images would choose on the training data)."""
    run_dir = Path(cfg.out) / "pretrain"
    if (run_dir / "pretrain_done.json").is_file():
        return load(run_dir)
    resume = (run_dir / "last.ckpt").is_file()
    L.seed_everything(cfg.pretrain_seed, workers=True, verbose=False)
    task = ReconstructionTask(
        model="autoencoder",
        model_kwargs={"in_channels": channels, "image_size": size, **cfg.ae_kwargs},
        loss=cfg.pretrain_loss,
        lr=cfg.pretrain_lr,
        input_noise=cfg.input_noise,
        mask_ratio=cfg.mask_ratio,
        metadata={"data": splits.info.get("source", cfg.data), "channels": channels, "image_size": size},
    )
    dm = DataModule(DataSplits(ImagesOnly(pool), None, None, {}), cfg.pretrain_batch_size, 0, cfg.pretrain_seed)
    tcfg = TrainConfig(
        epochs=cfg.pretrain_epochs,
        batch_size=cfg.pretrain_batch_size,
        seed=cfg.pretrain_seed,
        accelerator=cfg.accelerator,
        max_time_minutes=cfg.pretrain_minutes,
        monitor=None,  # type: ignore[arg-type]  (the final weights, see above)
        progress=cfg.progress,
    )
    t0 = time.time()
    fit(task, dm, run_dir, tcfg, {"recipe": "ae", "task": dict(task.hparams)}, resume=resume or None)
    atomic_write_bytes(run_dir / "pretrain_done.json", json.dumps({"seconds": time.time() - t0}).encode())
    return load(run_dir)


@torch.no_grad()
def encode_all(model: nn.Module, dataset: Dataset, batch_size: int) -> np.ndarray:
    """Codes z of every image (eval mode)."""
    model.eval()
    device = next(model.parameters()).device
    out = [model.encode(b["image"].to(device)).cpu() for b in DataLoader(dataset, batch_size=batch_size)]
    return torch.cat(out).numpy()


def images_array(dataset: Dataset, batch_size: int = 1024) -> np.ndarray:
    return torch.cat([b["image"].flatten(1) for b in DataLoader(dataset, batch_size=batch_size)]).numpy()


def run_label_efficiency(cfg: ExperimentConfig, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run (or continue) the grid; returns ``{method: {labels_per_class: {mean, std}}}`` of test accuracy."""
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    quiet_lightning()
    unknown = sorted(set(cfg.methods) - set(METHODS))
    if unknown:
        raise ValueError(f"unknown method(s) {', '.join(unknown)}; choose from {', '.join(METHODS)}")
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    cells_path = out / CELLS_NAME
    state = load_cells(cells_path)
    fp = cfg.fingerprint()
    changed = _changed_settings(state.get("config"), fp, ExperimentConfig(data=cfg.data, out=out).fingerprint())
    if state and state.get("protocol") != PROTOCOL:
        changed.append(f"protocol {state.get('protocol', 1)} -> {PROTOCOL}")
    if state and changed:
        raise ValueError(
            f"{cells_path} holds results of different settings (changed: {', '.join(changed)}); "
            "use another --out, or delete that file to start again"
        )
    state = {"config": fp, "protocol": PROTOCOL, "cells": state.get("cells", {})}
    cells: dict[str, Any] = state["cells"]

    splits = open_data(cfg.data, **cfg.data_options)
    test = splits.split("test")
    val = splits.val if splits.val is not None and len(splits.val) else None  # labels only score, never train
    pool: Dataset = ConcatDataset([d for d in (splits.train, splits.val) if d is not None and len(d)])
    pool_y = dataset_labels(pool)
    test_y = dataset_labels(test)
    val_y = dataset_labels(val) if val is not None else None
    num_classes = int(splits.info.get("num_classes") or max(pool_y.max(), test_y.max()) + 1)
    x0 = pool[0]["image"]
    channels, size = int(x0.shape[0]), [int(x0.shape[1]), int(x0.shape[2])]
    log(f"pool {len(pool)} unlabeled images ({channels}x{size[0]}x{size[1]}), test {len(test)}, {num_classes} classes")

    todo = [
        (k, s, m)
        for s in cfg.seeds
        for k in cfg.labels_per_class
        for m in cfg.methods
        if cell_key(m, k, s) not in cells
    ]
    ae = None
    if todo:  # every method needs the autoencoder or its shape (scratch: same network; PCA: latent_dim components)
        t0 = time.time()
        ae = load(cfg.pretrained) if cfg.pretrained else pretrain_autoencoder(cfg, splits, pool, channels, size)
        ae = ae.cpu().eval()
        log(f"autoencoder ready ({time.time() - t0:.0f} s)")
    z_pool = z_test = z_val = None
    pca_pool = pca_test = pca_val = None
    meta = {"class_names": splits.info.get("class_names"), "data": splits.info.get("source", cfg.data)}

    def probs_of(model: nn.Module) -> tuple[np.ndarray, np.ndarray | None]:
        """Test and validation probabilities of a network."""
        val_probs = predict_proba(model, val, cfg.eval_batch_size)[0] if val is not None else None
        return predict_proba(model, test, cfg.eval_batch_size)[0], val_probs

    Probs = tuple[np.ndarray, np.ndarray | None]  # test, validation

    def record(method: str, k: int, seed: int, n: int, probs: Probs, seconds: float, **extra: Any) -> None:
        scores = classification_scores(probs[0], test_y, num_classes)
        if probs[1] is not None:  # for choosing between variants on data the test split is not
            scores["val_accuracy"] = classification_scores(probs[1], val_y, num_classes)["accuracy"]
        cells[cell_key(method, k, seed)] = {
            "method": method, "labels_per_class": k, "seed": seed, "n_labeled": n,
            **scores, "seconds": round(seconds, 2), "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S"), **extra,
        }  # fmt: skip
        save_cells(cells_path, state)
        log(f"  {method:12s} {k:4d}/class seed {seed}: acc {scores['accuracy']:.4f}  ({seconds:.0f} s)")

    for seed in cfg.seeds:
        for k in cfg.labels_per_class:
            pending = [m for m in cfg.methods if cell_key(m, k, seed) not in cells]
            if not pending:
                continue
            idx = sample_per_class(pool_y, k, seed)
            labeled = Subset(pool, idx.tolist())
            run_base = out / "runs" / f"k{k}_s{seed}"
            teachers: dict[str, tuple[ClassificationTask, float]] = {}  # start -> (trained network, seconds)
            if any(m in AE_METHODS for m in pending) or (
                "ae_selftrain" in pending and not (run_base / "ae" / "best.ckpt").is_file()
            ):
                t0 = time.time()
                for stage, task in finetune(
                    labeled, run_base / "ae", cfg.finetune, num_classes, ae, seed=seed, metadata=meta
                ):
                    method = "ae_probe" if stage == "probe" else "ae_finetune"
                    if method in pending:
                        record(method, k, seed, len(idx), probs_of(task.model), time.time() - t0)
                teachers["ae"] = (task, time.time() - t0)
            if "ae_aux" in pending:
                t0 = time.time()
                aux_cfg = replace(cfg.finetune, mode="full", recon_weight=cfg.aux_weight)
                [(_, task)] = finetune(
                    labeled, run_base / "ae_aux", aux_cfg, num_classes, ae, seed=seed, metadata=meta,
                    unlabeled=ImagesOnly(pool),
                )  # fmt: skip
                record("ae_aux", k, seed, len(idx), probs_of(task.model), time.time() - t0)
            scratch_kwargs = classifier_kwargs_from(ae)
            if "scratch" in pending or (
                "scratch_selftrain" in pending and not (run_base / "scratch" / "best.ckpt").is_file()
            ):
                t0 = time.time()
                [(_, task)] = finetune(
                    labeled, run_base / "scratch", cfg.finetune, num_classes, None,
                    model_kwargs=scratch_kwargs, seed=seed, metadata=meta,
                )  # fmt: skip
                if "scratch" in pending:
                    record("scratch", k, seed, len(idx), probs_of(task.model), time.time() - t0)
                teachers["scratch"] = (task, time.time() - t0)
            if "scratch_noaug" in pending:
                t0 = time.time()
                [(_, task)] = finetune(
                    labeled, run_base / "scratch_noaug", replace(cfg.finetune, augment=False), num_classes, None,
                    model_kwargs=scratch_kwargs, seed=seed, metadata=meta,
                )  # fmt: skip
                record("scratch_noaug", k, seed, len(idx), probs_of(task.model), time.time() - t0)
            for start in ("ae", "scratch"):
                method = f"{start}_selftrain"
                if method not in pending:
                    continue
                if start in teachers:
                    teacher, teacher_s = teachers[start]
                else:  # trained in an earlier (interrupted) run: its final weights
                    teacher, teacher_s = load_task(run_base / start / "best.ckpt"), 0.0
                t0 = time.time()
                task, rounds = self_train(
                    teacher.model, labeled, idx, pool, run_base / method, cfg.finetune, num_classes,
                    cfg.self_train_rounds, cfg.pseudo_fraction, cfg.self_train_steps,
                    pretrained=ae if start == "ae" else None, model_kwargs=None if start == "ae" else scratch_kwargs,
                    seed=seed, metadata=meta, eval_batch_size=cfg.eval_batch_size, pool_labels=pool_y, log=log,
                )  # fmt: skip
                record(method, k, seed, len(idx), probs_of(task.model), teacher_s + time.time() - t0, rounds=rounds)
            if "pca_logreg" in pending:
                t0 = time.time()
                if pca_pool is None:
                    n_comp = cfg.pca_components or int(ae.latent_dim)
                    x_pool = images_array(pool)
                    pca = PCA(n_components=min(n_comp, *x_pool.shape), random_state=0).fit(x_pool)
                    pca_pool, pca_test = pca.transform(x_pool), pca.transform(images_array(test))
                    pca_val = pca.transform(images_array(val)) if val is not None else None
                    del x_pool
                clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
                clf.fit(pca_pool[idx], pool_y[idx])
                probs = _full_proba(clf, pca_test, num_classes), _maybe_proba(clf, pca_val, num_classes)
                record("pca_logreg", k, seed, len(idx), probs, time.time() - t0)
            if "knn_z" in pending:
                t0 = time.time()
                if z_pool is None:
                    z_pool = encode_all(ae, pool, cfg.eval_batch_size)
                    z_test = encode_all(ae, test, cfg.eval_batch_size)
                    z_val = encode_all(ae, val, cfg.eval_batch_size) if val is not None else None
                    mu, sd = z_pool.mean(0), z_pool.std(0) + 1e-6  # unsupervised standardisation (pool statistics)
                    z_pool, z_test = (z_pool - mu) / sd, (z_test - mu) / sd
                    z_val = (z_val - mu) / sd if z_val is not None else None
                knn = KNeighborsClassifier(n_neighbors=min(cfg.knn_k, k))
                knn.fit(z_pool[idx], pool_y[idx])
                probs = _full_proba(knn, z_test, num_classes), _maybe_proba(knn, z_val, num_classes)
                record("knn_z", k, seed, len(idx), probs, time.time() - t0)

    summary = summarise(cells, cfg.methods, cfg.labels_per_class, cfg.seeds, num_classes)
    write_report(out, summary, cfg, splits.info, num_classes)
    return {
        m: {str(k): {"mean": v["accuracy"]["mean"], "std": v["accuracy"]["std"],
                     **({"val_mean": v["val_accuracy"]["mean"]} if "val_accuracy" in v else {})} for k, v in d.items()}
        for m, d in summary.items()
    }  # fmt: skip


def _full_proba(clf: Any, x: np.ndarray, num_classes: int) -> np.ndarray:
    """sklearn probabilities with a column for every class (a class absent from training gets 0)."""
    p = clf.predict_proba(x)
    full = np.zeros((len(x), num_classes), dtype=np.float32)
    full[:, np.asarray(clf.classes_, dtype=np.int64)] = p
    return full


def _maybe_proba(clf: Any, x: np.ndarray | None, num_classes: int) -> np.ndarray | None:
    return None if x is None else _full_proba(clf, x, num_classes)


def summarise(
    cells: dict[str, Any], methods: list[str], ks: list[int], seeds: list[int], num_classes: int
) -> dict[str, dict[int, dict[str, Any]]]:
    """Mean and sample std (ddof=1) over seeds of each metric, for the cells of this grid."""
    metrics = ["accuracy", "macro_f1"] + (["auc"] if num_classes == 2 else [])
    out: dict[str, dict[int, dict[str, Any]]] = {}
    for m in methods:
        for k in ks:
            rows = [cells[cell_key(m, k, s)] for s in seeds if cell_key(m, k, s) in cells]
            if not rows:
                continue
            entry: dict[str, Any] = {"n_seeds": len(rows)}
            for name in metrics + (["val_accuracy"] if all("val_accuracy" in r for r in rows) else []):
                v = np.asarray([r[name] for r in rows], dtype=np.float64)
                entry[name] = {
                    "mean": float(np.nanmean(v)),
                    "std": float(np.nanstd(v, ddof=1)) if len(v) > 1 else 0.0,
                }
            out.setdefault(m, {})[k] = entry
    return out


def write_report(
    out: Path, summary: dict[str, Any], cfg: ExperimentConfig, info: dict[str, Any], num_classes: int
) -> None:
    """``results.md`` (table), ``summary.json`` and ``accuracy_vs_labels.png`` in ``out``."""
    metrics = ["accuracy", "macro_f1"] + (["auc"] if num_classes == 2 else [])
    lines = [
        f"# Label efficiency: {info.get('source', cfg.data)}",
        "",
        f"Test accuracy etc., mean ± std over seeds {cfg.seeds}; autoencoder pre-trained once "
        f"(seed {cfg.pretrain_seed}) on the unlabeled pool; fine-tuning mode {cfg.finetune.mode}.",
        "",
        "| method | labels/class | seeds | " + " | ".join(metrics) + " |",
        "|---|---|---|" + "---|" * len(metrics),
    ]
    for m, by_k in summary.items():
        for k, e in sorted(by_k.items()):
            vals = " | ".join(f"{e[n]['mean']:.4f} ± {e[n]['std']:.4f}" for n in metrics)
            lines.append(f"| {m} | {k} | {e['n_seeds']} | {vals} |")
    atomic_write_bytes(out / "results.md", ("\n".join(lines) + "\n").encode())
    atomic_write_bytes(
        out / "summary.json", json.dumps({m: {str(k): e for k, e in d.items()} for m, d in summary.items()}).encode()
    )
    plot_accuracy(summary, out / "accuracy_vs_labels.png", str(info.get("source", cfg.data)))


def plot_accuracy(summary: dict[str, Any], path: Path, title: str) -> Path:
    """Test accuracy vs labels per class (log x), one line per method, error bars = std over seeds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig, ax = plt.subplots(figsize=(6, 4))
    for m, by_k in summary.items():
        ks = sorted(by_k)
        ax.errorbar(
            ks,
            [by_k[k]["accuracy"]["mean"] for k in ks],
            yerr=[by_k[k]["accuracy"]["std"] for k in ks],
            marker="o",
            capsize=3,
            label=m,
        )
    ax.set_xscale("log")
    ks_all = sorted({k for by_k in summary.values() for k in by_k})
    ax.set_xticks(ks_all)
    ax.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    ax.set_xlabel("labels per class")
    ax.set_ylabel("test accuracy")
    ax.set_title(title[:60], fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
