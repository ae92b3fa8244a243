"""CLI for semantic segmentation: ``evaluate``, ``predict`` and what ``study upsampling`` prints (the recipes:
aekit.recipes.segmentation)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from aekit.cli.common import (
    add_option_once,
    evaluate_options,
    evaluator,
    output_paths,
    predict_options,
    predictor,
    printer,
    write_json,
)
from aekit.data.options import open_seg_data
from aekit.report.segmentation import prediction_figure
from aekit.tasks.segmentation import SegmentationTask, evaluate_dataset


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


# -- evaluate ------------------------------------------------------------------------------------------------
@evaluate_options
def _evaluate_flags(p: argparse.ArgumentParser) -> None:
    add_seg_data_options(p)
    add_option_once(p, "--figure-count", type=int, default=4, help="examples in the prediction figure")
    add_option_once(
        p, "--all-pairs", action="store_true", help="evaluate every pair of --data (all splits), e.g. a labelled folder"
    )


def evaluation_data(task: SegmentationTask, args: argparse.Namespace, split: str):
    """The split as the model was trained to see it: classes/ignore index/normalisation from the checkpoint."""
    hp = task.hparams
    ns = argparse.Namespace(**vars(args))
    ns.classes = args.classes if args.classes is not None else hp.num_classes
    ns.ignore_index = args.ignore_index if args.ignore_index is not None else hp.ignore_index
    ns.channels = args.channels or task.model.in_channels
    # masks read as at training: {0,255} binary masks stay binary although 255 is now the padding's ignore index
    ns.binary_masks = bool(getattr(args, "binary_masks", False)) or task.metadata.get("mask_format") == "binary"
    splits = open_seg_data(ns, train=False, normalize=False)
    if getattr(args, "all_pairs", False):
        parts = [d for d in (splits.train, splits.val, splits.test) if d is not None]
        ds = parts[0]
        for extra in parts[1:]:  # one data set holding every pair, so normalisation and metadata stay as one
            ds.pairs, ds.images, ds.masks = ds.pairs + extra.pairs, ds.images + extra.images, ds.masks + extra.masks
    else:
        ds = splits.split(split)
    norm = task.metadata.get("normalization")
    if norm is not None:
        ds.set_normalization(norm["mean"], norm["std"])
    return ds


def metrics_markdown(result: dict[str, Any], title: str) -> str:
    lines = [f"# {title}", "", "| metric | value |", "|---|---|"]
    for key in ("global_acc", "class_acc", "miou"):
        lines.append(f"| {key} | {100 * result[key]:.2f} |")
    lines += ["", "| class | IoU |", "|---|---|"]
    for name, v in result["per_class_iou"].items():
        lines.append(f"| {name} | {'-' if v is None else f'{100 * v:.2f}'} |")
    return "\n".join(lines) + "\n"


@evaluator("segmentation")
def evaluate_segmentation(task: SegmentationTask, args: argparse.Namespace) -> dict[str, Any]:
    ds = evaluation_data(task, args, args.split)
    result = evaluate_dataset(task, ds, min(args.batch_size, 16))
    split = "all" if getattr(args, "all_pairs", False) else args.split
    result |= {"checkpoint": str(args.checkpoint), "data": args.data, "split": split}
    out = Path(args.out)
    write_json(out / "metrics.json", result)
    md = metrics_markdown(result, f"{args.checkpoint} on {args.data} ({split}, {len(ds)} images)")
    (out / "metrics.md").write_text(md)
    if args.figure_count > 0:
        prediction_figure(task, ds, out / f"predictions_{split}.png", args.figure_count)
    print(md)
    return result


# -- predict -------------------------------------------------------------------------------------------------
@predict_options
def _predict_flags(p: argparse.ArgumentParser) -> None:
    add_option_once(p, "--alpha", type=float, default=0.5, help="overlay opacity of the class colours")


@predictor("segmentation")
def predict_segmentation(task: SegmentationTask, args: argparse.Namespace) -> int:
    """Label PNGs (class index per pixel) in OUTPUT and colour overlays in OUTPUT/overlay."""
    from aekit.data.images import list_images, read_image, to_tensor
    from aekit.report.segmentation import class_colours, colourize, overlay

    files = list_images(args.input)
    out = Path(args.output)
    label_paths = output_paths(files, args.input, out, ext=".png")
    overlay_paths = output_paths(files, args.input, out / "overlay", ext=".png")
    k = task.hparams.num_classes
    colours = class_colours(k, task.metadata)
    norm = task.metadata.get("normalization")
    channels = task.model.in_channels
    task.eval()
    for f, label_path, overlay_path in zip(files, label_paths, overlay_paths):
        arr = read_image(f, channels)
        x = to_tensor(arr)[None]
        if norm is not None:
            x = (x - torch.tensor(norm["mean"]).view(1, -1, 1, 1)) / torch.tensor(norm["std"]).view(1, -1, 1, 1)
        pred = task.predict_labels(x)[0].numpy().astype(np.uint8 if k <= 256 else np.int32)
        for path in (label_path, overlay_path):
            path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pred).save(label_path)
        rgb = np.repeat(arr, 3, axis=-1) if arr.shape[-1] == 1 else arr[..., :3]
        Image.fromarray(overlay(rgb, colourize(pred, colours), args.alpha)).save(overlay_path)
    print(f"wrote {len(files)} label maps to {out} and overlays to {out / 'overlay'}")
    return len(files)


# -- study upsampling ----------------------------------------------------------------------------------------
@printer("upsampling")
def print_upsampling_study(cfg: Any, result: dict[str, Any], out: Path) -> None:
    print(result["markdown"])
    print(f"study written to {out} in {result['minutes']:.1f} min")
