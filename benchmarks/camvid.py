"""CamVid at 240x180 (11 classes, void = 11 ignored): global accuracy, class-average accuracy and mIoU next
to the SegNet paper's numbers (TPAMI 2017, Table 1, SegNet-Basic family on CamVid, test split).

By default (issue 13) the best epoch is chosen on a sequence the model has not seen, and that is the
headline: every frame of sequence 0006R0 is held out as validation (``--val-groups``), the rest of the
official train split trains, and the official val frames (0016E5, close in time to training frames) are
scored beside it as ``official_val`` (kept out of training unless ``--official-val train`` pools them in;
then they are marked ``trained_on``). The run's ``splits.json`` lists every frame's split. Selecting on the
official val split instead rewarded memorising 0016E5 and overstated the test score by 10-11 mIoU points.
``--val-groups none`` gives the SegNet protocol: train on the 367 training images, pick the best epoch on
the 101 val images and report val figures (the split the epoch was chosen on, not test figures).
``--eval-dir`` scores a split nothing was chosen on (the test split).

Every configuration trains through :func:`aekit.engine.fit` with the model arguments of the matching
``aekit train`` command (``CONFIGS``). Each gets a
wall-clock budget (``--minutes``); the one-cycle schedule follows the elapsed time
(``TrainConfig.time_schedule``), so a run anneals fully inside its budget however fast or loaded the machine
is. ``--epochs N`` trains a fixed number of epochs instead (schedule by steps; compares recipes at equal
data, e.g. on a GPU).

    python benchmarks/camvid.py --models segnet_basic --minutes 60 --eval-dir CamVid/test
    python benchmarks/camvid.py --models unet_small --minutes 15 --val-groups none     # SegNet protocol

``--val-groups each``: leave-one-sequence-out, one model per sequence of train+val, per-fold rows and their
mean. Recipe flags, each off by default: ``--scale``, ``--crop``, ``--photometric``, ``--label-smoothing``,
``--class-weights none``; ``--pretrain-minutes M`` pre-trains the model's encoder as a masked autoencoder on
the training + official val frames (never the held-out ones) first, ``--init-encoder RUN`` reuses one
(docs/segmentation.md).

``--eval-dir FOLDER`` also evaluates on any split folder (labels in ``FOLDERannot``, or ``IMAGES,MASKS``).
``--refit after`` then retrains the recipe on every labelled frame (the held-out sequence too) for the same
budget and scores ``--eval-dir`` with its last epoch (JSON key ``refit``); ``--refit only`` skips the held-out
run. Measured one level down it did not beat the held-out-selected model, so it is off by default.
``--smoke``: a tiny synthetic CamVid-layout folder and one epoch (seconds), to check the script runs.
The last line printed is JSON: ``{model: {global_acc, class_acc, miou, train_minutes, ...}}``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import lightning.pytorch as L
import numpy as np
import torch
from PIL import Image

from aekit.data import DataModule, open_data
from aekit.data.base import DataSplits
from aekit.data.segmentation import SegmentationDataset, camvid_pairs, pair_files
from aekit.data.splits import find_groups
from aekit.engine import TrainConfig, fit, resolve_precision
from aekit.experiments.encoder_pretrain import pretrain_encoder
from aekit.io import load_encoder_weights
from aekit.losses import median_frequency_weights
from aekit.report.segmentation import prediction_figure
from aekit.tasks import load_task
from aekit.tasks.segmentation import evaluate_dataset, task_for_data

# SegNet TPAMI 2017, Table 1 (CamVid, 360x480, median-frequency balancing), in %
PAPER = {
    "segnet_basic": {"global_acc": 82.7, "class_acc": 62.0, "miou": 47.7, "ref": "SegNet-Basic"},
    "fcn_basic": {"global_acc": 81.7, "class_acc": 62.4, "miou": 47.3, "ref": "FCN-Basic"},
    "segnet_basic_bilinear": {"global_acc": 77.9, "class_acc": 61.1, "miou": 43.3, "ref": "Bilinear-Interpolation"},
}

# name -> (model, model kwargs) as ``aekit train`` builds them; all with median-frequency class weights, void
# ignored, best epoch on val mIoU
_SEG = {"downsample": "maxpool", "norm": "batch"}
_UNET = {**_SEG, "kernel_size": 3, "skip_levels": "all"}
CONFIGS: dict[str, tuple[str, dict]] = {
    "segnet_basic": ("segnet_basic", {**_SEG, "upsample": "max_unpool"}),  # aekit train segnet --arch segnet_basic
    "segnet_basic_bilinear": ("segnet_basic", {**_SEG, "upsample": "bilinear"}),
    "fcn_basic": ("fcn8s", {**_SEG, "upsample": "transposed", "encoder": "basic", "widths": [64] * 5}),
    "unet_small": ("unet", {**_UNET, "widths": [32, 64, 128, 256], "blocks_per_stage": 2, "upsample": "bilinear",
                            "skip_mode": "concat"}),
    # SegNet-Basic's depth and width, 3x3 convs, encoder maps added into the decoder, max-unpooling
    "unet64_add": ("unet", {**_UNET, "widths": [64] * 5, "blocks_per_stage": 1, "skip_mode": "add",
                            "upsample": "max_unpool"}),
    "segnet": ("segnet", {**_SEG, "upsample": "max_unpool"}),
}  # fmt: skip


def smoke_data(size: tuple[int, int] = (48, 64), root: Path | None = None) -> Path:
    """A CamVid-layout folder (train/trainannot, val/valannot) of random images and masks (void = 11), with
    CamVid's naming (sequence prefix): train holds 0016E5 and 0006R0 frames, val more 0016E5 frames."""
    root = root or Path(tempfile.mkdtemp(prefix="aekit-smoke-camvid-"))
    rng = np.random.default_rng(0)
    names = {"train": ["0016E5_00030", "0016E5_00060", "0006R0_f00930", "0006R0_f00960"],
             "val": ["0016E5_07950", "0016E5_07980"]}  # fmt: skip
    for split, stems in names.items():
        (root / split).mkdir(parents=True)
        (root / f"{split}annot").mkdir()
        for stem in stems:
            Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(root / split / f"{stem}.png")
            mask = rng.integers(0, 12, size, dtype=np.uint8)
            Image.fromarray(mask).save(root / f"{split}annot" / f"{stem}.png")
    return root


def epochs_done(run_dir: Path) -> int:
    """Epochs that finished (a time-limit stop can cut the planned schedule short): the rows with a validation
    score, or with an epoch-level training loss where nothing was validated (a refit)."""
    with open(run_dir / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return sum(1 for row in rows if row.get("val/miou")) or sum(1 for row in rows if row.get("train/loss_epoch"))


def split_dataset(spec: str, like: SegmentationDataset, norm: dict | None) -> SegmentationDataset:
    """A split folder given by path: ``FOLDER`` (labels in ``FOLDERannot``) or ``IMAGES,MASKS``."""
    parts = spec.split(",")
    images, masks = (parts[0], parts[1]) if len(parts) == 2 else (parts[0], parts[0].rstrip("/") + "annot")
    return pairs_dataset(pair_files(images, masks), like, norm)


def pairs_dataset(pairs: list, like: SegmentationDataset, norm: dict | None) -> SegmentationDataset:
    """Pairs read with the training data's classes, ignore index, channels and normalisation."""
    ds = SegmentationDataset(pairs, like.num_classes, like.ignore_index, like.channels)
    if norm:
        ds.set_normalization(norm["mean"], norm["std"])
    return ds


def official_val_scores(best: L.LightningModule, splits: DataSplits) -> dict:
    """The official val frames outside the held-out groups, scored with the selected checkpoint; says whether
    they were trained on (``--official-val train``), when the figure is a training figure."""
    record = splits.info["splits"]
    val_names = set(record["val"])
    pools = [(ds, split) for split in ("train", "test") if (ds := getattr(splits, split)) is not None]
    found = [(pair, split) for ds, split in pools for pair in ds.pairs
             if pair[0].parent.name == "val" and str(pair[0]) not in val_names]  # fmt: skip
    if not found:
        return {"images": 0, "note": "every official val frame is in the held-out groups"}
    ds = pairs_dataset([p for p, _ in found], splits.val, best.metadata.get("normalization"))
    return {
        **percent(evaluate_dataset(best, ds, 8)),
        "images": len(ds),
        "trained_on": any(split == "train" for _, split in found),
    }


def percent(scores: dict) -> dict:
    """``evaluate_dataset``'s fractions as the JSON's percentages (per-class IoU to one decimal)."""
    iou = {k: None if v is None else round(100 * v, 1) for k, v in scores["per_class_iou"].items()}
    return {**{k: round(100 * scores[k], 2) for k in ("global_acc", "class_acc", "miou")}, "per_class_iou": iou}


def camvid_groups(root: Path) -> dict[str, list[str]]:
    """Sequences of CamVid's train and val folders (file-name prefix), in order of appearance."""
    names = [str(p[0]) for split in ("train", "val") for p in (camvid_pairs(root, split) or [])]
    return find_groups(names)


def leave_one_out_summary(rows: dict[str, dict]) -> dict:
    """Per-fold rows and their means: the held-out score averaged over every sequence held out once."""
    keys = ("global_acc", "class_acc", "miou")
    mean = {k: round(float(np.mean([r[k] for r in rows.values()])), 2) for k in keys}
    classes = next(iter(rows.values()))["per_class_iou"]
    per_class = {}
    for c in classes:
        vals = [r["per_class_iou"][c] for r in rows.values() if r["per_class_iou"].get(c) is not None]
        per_class[c] = round(float(np.mean(vals)), 1) if vals else None
    return {
        **mean,
        "selected_on": "leave-one-sequence-out: each fold selects on its own held-out sequence; means over folds",
        "folds": rows,
        "per_class_iou": per_class,
        "train_minutes": round(sum(r["train_minutes"] for r in rows.values()), 1),
    }


def recipe_task(a: argparse.Namespace, name: str, opts: dict) -> tuple[DataSplits, L.LightningModule]:
    """The data (``opts``: the split, plus the recipe's augmentation) and the task of one configuration."""
    model, kwargs = CONFIGS[name]
    L.seed_everything(a.seed, verbose=False)
    opts = ({"classes": 11, "ignore_index": 11} if a.smoke else {}) | opts
    opts |= {"scale": a.scale, "crop_size": a.crop, "photometric": a.photometric}
    splits = open_data(f"camvid:{a.data}", **opts)
    weights = None if a.class_weights == "none" else median_frequency_weights(
        splits.train.masks, int(splits.info["num_classes"]), splits.info.get("ignore_index"))  # fmt: skip
    task = task_for_data(splits, model, kwargs, class_weights=weights, lr=a.lr, label_smoothing=a.label_smoothing)
    return splits, task


def train_config(a: argparse.Namespace, name: str, n_train: int, n_val: int) -> TrainConfig:
    """The budget: ``--epochs`` (schedule by steps) or ``--minutes`` (the schedule follows the clock; the epoch
    count only has to be out of reach)."""
    if a.epochs:
        epochs, time_schedule, budget = a.epochs, False, None
    else:
        epochs, time_schedule, budget = 10_000, True, a.minutes
    plan = f"{epochs} epochs" if a.epochs else f"{a.minutes} min"
    print(f"{name}: {n_train} train / {n_val} val images, {plan}", flush=True)
    return TrainConfig(epochs=epochs, batch_size=a.batch_size, seed=a.seed, precision=a.precision,
                       monitor="val/miou", monitor_mode="max", max_time_minutes=budget,
                       time_schedule=time_schedule, progress=False, log_every_n_steps=10)  # fmt: skip


def eval_dir_scores(a: argparse.Namespace, model: L.LightningModule, like: SegmentationDataset) -> dict:
    """``--eval-dir`` scored with ``model`` (read with the training data's classes and normalisation)."""
    ds = split_dataset(a.eval_dir, like, model.metadata.get("normalization"))
    return {"path": a.eval_dir, "images": len(ds), **percent(evaluate_dataset(model, ds, 8))}


def refit_split_file(root: Path, path: Path) -> Path:
    """A split CSV (``file,split``) that puts every frame of ROOT's train and val folders in training and keeps
    a test folder as test: the refit's split, which ``aekit train ... --split-file`` reads the same way."""
    home = {"train": "train", "val": "train", "test": "test"}
    rows = [(str(p[0]), home[split]) for split in home for p in (camvid_pairs(root, split) or [])]
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows([("file", "split"), *rows])
    return path


def refit_config(a: argparse.Namespace, name: str, run_dir: Path) -> dict:
    """The configuration retrained on every labelled frame (train + val folders, the held-out sequence
    included) with the same recipe and budget; the last epoch is the model, as nothing is left to select on
    (the time schedule anneals to zero at the end of the budget, where the held-out runs peaked). Scores
    ``--eval-dir``, a split neither run saw: the model a practitioner ships after selecting its recipe."""
    split_file = refit_split_file(Path(a.data), run_dir.with_name(f"{run_dir.name}_split.csv"))
    splits, task = recipe_task(a, name, {"split_file": str(split_file), "seed": a.seed})
    cfg = train_config(a, f"{name} (refit)", len(splits.train), 0)  # no val split: fit() keeps the last epoch
    init = encoder_init(a, task, run_dir)
    t1, cpu0 = time.time(), time.process_time()
    model, kwargs = CONFIGS[name]
    fit(task, DataModule(splits, a.batch_size, a.workers, a.seed), run_dir, cfg,
        {"benchmark": "camvid", "config": name, "model": model, "kwargs": kwargs, "refit": True})  # fmt: skip
    row = {
        "train_images": len(splits.train),
        "split_file": str(split_file),
        "train_minutes": round((time.time() - t1) / 60, 1),
        "train_cpu_minutes": round((time.process_time() - cpu0) / 60, 1),
        "epochs_done": epochs_done(run_dir),
        "init_encoder": init,
    }
    if a.eval_dir:
        row["eval_dir"] = eval_dir_scores(a, load_task(run_dir / "last.ckpt"), splits.train)
    return row


def pretrain_dir(run_dir: Path) -> Path:
    """Where ``--pretrain-minutes`` leaves the autoencoder run of ``run_dir`` (the refit reuses it)."""
    return run_dir.parent / f"{run_dir.name}_pretrain"


def encoder_init(a: argparse.Namespace, task: L.LightningModule, run_dir: Path) -> dict | None:
    """``--init-encoder``: copy that autoencoder's encoder into the task's model (the refit reuses the
    selection run's pre-training the same way)."""
    if not a.init_encoder:
        return None
    init = {"init_encoder": a.init_encoder, "tensors": len(load_encoder_weights(task.model.encoder, a.init_encoder))}
    task.metadata["init_encoder"] = init
    print(f"{run_dir.name}: encoder initialised ({init})", flush=True)
    return init


def run_config(a: argparse.Namespace, name: str, val_groups: str | None, run_dir: Path) -> dict:
    """Train and score one configuration on one split (one fold of a leave-one-out run)."""
    model, kwargs = CONFIGS[name]
    split = {"val_groups": val_groups, "official_val": a.official_val, "seed": a.seed} if val_groups else {}
    splits, task = recipe_task(a, name, split)
    dm = DataModule(splits, a.batch_size, a.workers, a.seed)
    n_train, n_val = len(splits.train), len(splits.val)
    cfg = train_config(a, name, n_train, n_val)
    t0, cpu0 = time.time(), time.process_time()
    init = None
    if a.pretrain_minutes:
        frames = [ds for ds in (splits.train, splits.test) if ds is not None]  # never the held-out val
        pre_cfg = replace(cfg, epochs=10_000 if not a.smoke else 1, max_time_minutes=a.pretrain_minutes,
                          time_schedule=not a.smoke, channels_last=False)  # fmt: skip
        pre_dir = pretrain_dir(run_dir)
        loaded = pretrain_encoder(task.model, frames, pre_dir, pre_cfg, splits.train.sizes[0], kwargs, lr=a.lr)
        init = {"pretrain_minutes": a.pretrain_minutes, "frames": sum(len(ds) for ds in frames),
                "tensors": len(loaded), "run": str(pre_dir)}  # fmt: skip
        task.metadata["init_encoder"] = init
        if a.pretrain_only:
            return {"pretrain": init, "pretrain_minutes": round((time.time() - t0) / 60, 1),
                    "pretrain_cpu_minutes": round((time.process_time() - cpu0) / 60, 1)}  # fmt: skip
    else:
        init = encoder_init(a, task, run_dir)
    t1 = time.time()
    fit(task, dm, run_dir, cfg, {"benchmark": "camvid", "config": name, "model": model, "kwargs": kwargs})
    minutes, cpu_minutes = (time.time() - t1) / 60, (time.process_time() - cpu0) / 60
    best = load_task(run_dir / "best.ckpt")
    r = evaluate_dataset(best, splits.val, 8)
    prediction_figure(best, splits.val, run_dir / "predictions_val.png", 4)
    row = percent(r)
    if val_groups:
        row["selected_on"] = (f"held-out sequence(s) {val_groups} (best epoch by their mIoU; these are "
                              "figures on the split selected on, from scenes not trained on)")  # fmt: skip
        row["official_val"] = official_val_scores(best, splits)
    else:
        row["selected_on"] = "val (best epoch by val mIoU; these are val figures)"
    row |= {
        "train_minutes": round(minutes, 1),
        "pretrain_minutes": round((t1 - t0) / 60, 1),
        "train_cpu_minutes": round(cpu_minutes, 1),
        "init_encoder": init,
        "recipe": {
            "scale": a.scale,
            "crop": a.crop,
            "photometric": a.photometric,
            "epochs": a.epochs,
            "label_smoothing": a.label_smoothing,
            "class_weights": a.class_weights,
            "lr": a.lr,
        },
        "epochs_done": epochs_done(run_dir),
    }
    row |= {"train_images": n_train, "val_images": n_val}
    if a.eval_dir:
        row["eval_dir"] = eval_dir_scores(a, best, splits.val)
    if name in PAPER:
        row["paper"] = PAPER[name]
    row["params"] = sum(p.numel() for p in best.model.parameters())
    return row


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(Path(os.environ.get("AEKIT_DATA", "../shared/data")) / "camvid"))
    p.add_argument("--models", default="segnet_basic", help=f"comma list of {', '.join(CONFIGS)}")
    p.add_argument("--minutes", type=float, default=20.0, help="training budget per model (wall clock)")
    p.add_argument("--epochs", type=int, default=None, help="fixed epochs instead of the time budget")
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--precision", default=resolve_precision("auto"), help="32 or bf16-mixed (default: fast path here)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a busy 2-core box)")
    p.add_argument("--eval-dir", default=None, help="also evaluate on this split folder (labels in <dir>annot)")
    p.add_argument(
        "--val-groups",
        default="0006R0",
        help="sequences held out for validation and selection (default 0006R0, a sequence the model never "
        "sees); 'each': leave-one-sequence-out (one model per sequence, per-fold and mean held-out scores); "
        "'none': the SegNet protocol (select on the official val split, 0016E5 frames close to training ones)",
    )
    p.add_argument("--official-val", default="auto", choices=("auto", "train", "test"),
                   help="with --val-groups: official val frames kept out (test; auto without a test folder) or "
                   "pooled into training (train)")  # fmt: skip
    p.add_argument("--scale", default=None, help="random scale range of training images, e.g. 0.75,1.5 (off: 1)")
    p.add_argument("--crop", default=None, help="random training crop HxW, e.g. 180,240 (after --scale)")
    p.add_argument(
        "--photometric",
        default=None,
        help="brightness/contrast/saturation/hue jitter of training images: one strength (0.3) or b,c,s,h",
    )
    p.add_argument("--label-smoothing", type=float, default=0.0, help="label smoothing of the cross-entropy")
    p.add_argument(
        "--class-weights",
        default="median",
        choices=("median", "none"),
        help="median-frequency balancing (SegNet's) or unweighted cross-entropy",
    )
    p.add_argument(
        "--pretrain-minutes",
        type=float,
        default=None,
        help="first pre-train the model's encoder as a (masked) autoencoder for this many minutes on "
        "the training frames + official val frames (never the held-out sequence), then start from it",
    )
    p.add_argument(
        "--pretrain-only",
        action="store_true",
        help="with --pretrain-minutes: stop after pre-training (reuse it with --init-encoder RUN/best.ckpt)",
    )
    p.add_argument("--init-encoder", default=None, help="copy the encoder from this autoencoder run/ckpt instead")
    p.add_argument(
        "--refit",
        default="none",
        choices=("none", "after", "only"),
        help="after: once the held-out run has scored the recipe, retrain it on every labelled frame (the "
        "held-out sequence too) with the same budget, keep the last epoch and score --eval-dir with it (the "
        "model to ship; 'refit' in the JSON); only: just that retraining, for a recipe selected before",
    )
    p.add_argument("--out", type=Path, default=Path("runs/bench_camvid"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=0, help="data-loading worker processes")
    p.add_argument("--smoke", action="store_true", help="tiny synthetic data, one epoch (seconds)")
    a = p.parse_args(argv)
    if a.val_groups in ("none", ""):
        a.val_groups = None
    if a.smoke:
        a.data, a.epochs, a.precision = str(smoke_data()), 1, "32"
        a.out = Path(tempfile.mkdtemp(prefix="aekit-smoke-run-"))
    if a.refit == "only" and a.pretrain_minutes:
        p.error("--refit only trains no pre-training: pass the one selected with --init-encoder RUN/best.ckpt")
    if a.refit == "after" and a.pretrain_minutes and a.val_groups == "each":
        p.error("--refit after with --val-groups each: each fold pre-trains its own encoder; pick one with "
                "--refit only --init-encoder RUN/best.ckpt")  # fmt: skip
    torch.set_num_threads(a.threads)
    results = {}
    for name in [m.strip() for m in a.models.split(",") if m.strip()]:
        if a.refit == "only":
            results[name] = {"refit": refit_config(a, name, a.out / f"{name}_refit")}
            print(json.dumps({name: results[name]}), flush=True)
            continue
        if a.val_groups == "each":  # leave-one-sequence-out: one model per sequence of the training folders
            folds = list(camvid_groups(Path(a.data)))
            rows = {g: run_config(a, name, g, a.out / name / f"heldout_{g}") for g in folds}
            for g, row in rows.items():
                print(json.dumps({name: {"fold": g, **row}}), flush=True)
            row = leave_one_out_summary(rows)
        else:
            row = run_config(a, name, a.val_groups, a.out / name)
        if a.refit == "after":
            pretrained = str(pretrain_dir(a.out / name) / "best.ckpt")  # the selection run's pre-training
            b = argparse.Namespace(**{**vars(a), "init_encoder": pretrained}) if a.pretrain_minutes else a
            row["refit"] = refit_config(b, name, a.out / f"{name}_refit")
        results[name] = row
        print(json.dumps({name: row}), flush=True)
    print(json.dumps(results))
    return results


if __name__ == "__main__":
    main()
