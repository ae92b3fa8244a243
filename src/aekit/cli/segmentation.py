"""CLI for semantic segmentation: ``train segnet|fcn|unet``, ``study upsampling`` (evaluate/predict:
aekit.inference.segmentation)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

from aekit.cli.common import add_option_once, split_options, study, train_config, train_recipe
from aekit.data import DataModule, DataSplits, open_data
from aekit.data.base import DataError
from aekit.nn.upsample import UPSAMPLE_MODES
from aekit.tasks.segmentation import SegmentationTask, task_for_data

DATA_HELP = (
    "camvid[:ROOT] (train/trainannot, val/valannot), pairs:IMAGES,MASKS (same stems), isbi2012[:ROOT]; "
    "default roots under $AEKIT_DATA"
)


def int_list(text: str) -> list[int]:
    return [int(t) for t in str(text).split(",") if t.strip()]


# -- shared flags ------------------------------------------------------------------------------------------
def add_seg_data_options(p: argparse.ArgumentParser) -> None:
    """Data flags shared by train, evaluate and predict (added once even if several modules want them)."""
    add_option_once(p, "--classes", type=int, default=None, help="number of classes K (default: from the data)")
    add_option_once(p, "--ignore-index", type=int, default=None, help="mask value ignored in loss and metrics")
    add_option_once(p, "--mask-suffix", default=None, help="mask name = image stem + this suffix (e.g. _mask)")
    add_option_once(p, "--palette", default=None, help="CSV index,name,r,g,b mapping colour masks to classes")
    add_option_once(p, "--binary-masks", action="store_true", help="masks are {0,255}: map to classes {0,1}")
    add_option_once(p, "--channels", type=int, default=None, help="convert images to 1, 3 or 4 channels")
    add_option_once(p, "--image-size", default=None, help="resize images and masks to N or H,W")


# dense prediction on full images: small batches (CPU memory), more epochs than the shared default
SEG_TRAIN_DEFAULTS = {"batch_size": 8, "epochs": 30}


def add_seg_train_arguments(p: argparse.ArgumentParser, archs: list[str], default_arch: str, upsample: str) -> None:
    p.set_defaults(**SEG_TRAIN_DEFAULTS)  # the shared training flags (added next) keep these defaults
    g = p.add_argument_group("data")
    g.add_argument("--data", required=True, help=DATA_HELP)
    add_seg_data_options(g)  # type: ignore[arg-type]
    g.add_argument("--crop-size", default=None, help="random training crop N or H,W (default: whole images)")
    g.add_argument("--scale", default=None, help="random training rescale range, e.g. 0.75,1.25")
    g.add_argument("--no-hflip", action="store_true", help="no random horizontal flips")
    g.add_argument("--no-augment", action="store_true", help="no training augmentation at all")
    g.add_argument("--no-normalize", action="store_true", help="images in [0,1] (no train mean/std normalisation)")
    g.add_argument("--val-fraction", type=float, default=None, help="pairs: fraction held out for validation")
    m = p.add_argument_group("model")
    m.add_argument("--arch", default=default_arch, choices=archs, help=f"network (default {default_arch})")
    m.add_argument("--upsample", default=upsample, choices=list(UPSAMPLE_MODES), help="decoder upsampling mode")
    m.add_argument("--downsample", default="maxpool", help="maxpool (keeps indices), stride or avgpool")
    m.add_argument("--widths", type=int_list, default=None, help="channels per encoder level, e.g. 32,64,128,256")
    m.add_argument("--kernel-size", type=int, default=None, help="conv kernel size (preset default)")
    m.add_argument("--norm", default="batch", help="batch, group, instance or none")
    m.add_argument("--init-encoder", default=None, help="copy the encoder from an aekit autoencoder run/ckpt")
    t = p.add_argument_group("objective")
    t.add_argument("--loss", default="ce", choices=["ce", "dice", "ce+dice"])
    t.add_argument(
        "--class-weights",
        default="none",
        help="none, median-frequency (from the training masks), file (the data's classes.csv weights) or w0,w1,...",
    )


def add_segnet_arguments(p: argparse.ArgumentParser) -> None:
    add_seg_train_arguments(p, ["segnet_basic", "segnet"], "segnet_basic", "max_unpool")


def add_fcn_arguments(p: argparse.ArgumentParser) -> None:
    add_seg_train_arguments(p, ["fcn8s", "fcn16s", "fcn32s"], "fcn8s", "transposed")
    p.add_argument("--encoder", default="vgg16", choices=["vgg16", "basic"], help="vgg16 or SegNet-Basic's (FCN-Basic)")


def add_unet_arguments(p: argparse.ArgumentParser) -> None:
    add_seg_train_arguments(p, ["unet"], "unet", "bilinear")
    p.add_argument("--skip-levels", default="all", help="all, none, or encoder levels e.g. 0,1,2 (0 = full res)")
    p.add_argument("--skip-mode", default="concat", choices=["concat", "add"])
    p.add_argument("--blocks", type=int, default=2, help="conv blocks per level")


def open_seg_data(args: argparse.Namespace, train: bool = True, normalize: bool = True) -> DataSplits:
    """Open ``args.data`` with the segmentation options (augmentation only when ``train``)."""
    opts: dict[str, Any] = {
        "classes": args.classes,
        "ignore_index": args.ignore_index,
        "mask_suffix": args.mask_suffix,
        "palette": args.palette,
        "binary": bool(getattr(args, "binary_masks", False)),
        "channels": args.channels,
        "image_size": args.image_size,
        "normalize": normalize,
        **split_options(args),
    }
    if train:
        opts |= {
            "crop_size": args.crop_size,
            "scale": args.scale,
            "hflip": not args.no_hflip,
            "augment": not args.no_augment,
        }
    else:
        opts["augment"] = False
    return open_data(args.data, **opts)


def resolve_class_weights(
    spec: str | None, splits: DataSplits, masks: list[np.ndarray] | None = None
) -> list[float] | None:
    """``none`` | ``median-frequency`` | ``file`` | a comma list -> one weight per class (or None)."""
    from aekit.losses import median_frequency_weights

    k = int(splits.info["num_classes"])
    if spec in (None, "", "none"):
        return None
    if spec in ("median-frequency", "median_frequency", "mfb"):
        masks = masks if masks is not None else splits.train.masks  # type: ignore[union-attr]
        return median_frequency_weights(masks, k, splits.info.get("ignore_index"))
    if spec == "file":
        weights = splits.info.get("file_class_weights")
        if not weights or any(w is None for w in weights):
            raise DataError("--class-weights file: this data source's classes.csv has no weight for every class")
        return [float(w) for w in weights]
    try:
        weights = [float(w) for w in spec.split(",")]
    except ValueError as exc:
        raise DataError(f"--class-weights {spec!r}: use none, median-frequency, file or numbers w0,w1,...") from exc
    if len(weights) != k:
        raise DataError(f"--class-weights has {len(weights)} values but the data has {k} classes")
    return weights


def seg_model_kwargs(args: argparse.Namespace, channels: int, num_classes: int) -> dict[str, Any]:
    kw: dict[str, Any] = {
        "in_channels": channels,
        "out_channels": num_classes,
        "upsample": args.upsample,
        "downsample": args.downsample,
        "norm": args.norm,
    }
    if args.widths is not None:
        kw["widths"] = list(args.widths)
    if args.kernel_size is not None:
        kw["kernel_size"] = args.kernel_size
    if args.arch == "unet":
        kw |= {"skip_levels": args.skip_levels, "skip_mode": args.skip_mode, "blocks_per_stage": args.blocks}
        if args.skip_levels not in ("all", "none"):
            kw["skip_levels"] = int_list(args.skip_levels)
        kw.setdefault("kernel_size", 3)
    elif args.arch.startswith("fcn"):
        kw["encoder"] = args.encoder
    return kw


def build_segmentation(args: argparse.Namespace) -> tuple[SegmentationTask, DataModule]:
    """Data, class weights, model and task for every segmentation recipe; best checkpoint on val mIoU."""
    splits = open_seg_data(args)
    task = segmentation_task(args, splits)
    if splits.val is not None:
        args.monitor, args.monitor_mode = "val/miou", "max"
    return task, DataModule(splits, args.batch_size, args.num_workers, args.seed)


def segmentation_task(
    args: argparse.Namespace, splits: DataSplits, weight_masks: list[np.ndarray] | None = None
) -> SegmentationTask:
    """The task for ``args.arch`` on opened data (class weights from ``weight_masks`` or the training masks)."""
    from aekit.io import load_encoder_weights

    info = splits.info
    weights = resolve_class_weights(args.class_weights, splits, weight_masks)
    task = task_for_data(
        splits,
        args.arch,
        seg_model_kwargs(args, int(info["channels"]), int(info["num_classes"])),
        class_weights=weights,
        extra_metadata={
            "data": info.get("source", args.data),
            "data_options": {"seed": args.seed, "val_fraction": args.val_fraction},
        },
        loss=args.loss,
        lr=args.lr or 1e-3,
        weight_decay=args.weight_decay,
        optimizer=args.optimizer,
        scheduler=args.scheduler,
    )
    if args.init_encoder:
        loaded = load_encoder_weights(task.model.encoder, args.init_encoder)
        task.metadata["init_encoder"] = str(args.init_encoder)
        print(f"encoder initialised from {args.init_encoder} ({len(loaded)} tensors)")
    return task


train_recipe("segnet", help="SegNet / SegNet-Basic semantic segmentation (max-unpooling decoder)",
             add_arguments=add_segnet_arguments)(build_segmentation)  # fmt: skip
train_recipe("fcn", help="FCN-32s/16s/8s semantic segmentation (skip fusion by addition)",
             add_arguments=add_fcn_arguments)(build_segmentation)  # fmt: skip
train_recipe("unet", help="U-Net segmentation with selectable skip levels and upsampling",
             add_arguments=add_unet_arguments)(build_segmentation)  # fmt: skip


# -- study upsampling ----------------------------------------------------------------------------------------
def add_upsampling_study_arguments(p: argparse.ArgumentParser) -> None:
    from aekit.cli.common import add_train_arguments

    p.add_argument("--task", default="segmentation", help="which problem the study trains (segmentation)")
    p.add_argument("--modes", default=",".join(UPSAMPLE_MODES), help="comma list of upsampling modes")
    add_segnet_arguments(p)
    add_train_arguments(p)
    p.add_argument("--max-train-images", type=int, default=None, help="use only the first N training images")
    p.add_argument("--max-val-images", type=int, default=None, help="evaluate on the first N validation images")


@study("upsampling", help="train one network per upsampling mode; one table and one figure",
       add_arguments=add_upsampling_study_arguments)  # fmt: skip
def run_upsampling_study_cli(args: argparse.Namespace) -> int:
    from aekit.engine import set_threads
    from aekit.experiments.upsampling import run_upsampling_study

    set_threads()
    args.out = args.out or Path("runs") / "upsampling"
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    t0 = time.time()
    result = run_upsampling_study(args.task, modes, args.out, train_config(args), args)
    print(result["markdown"])
    print(f"study written to {args.out} in {(time.time() - t0) / 60:.1f} min")
    return 0
