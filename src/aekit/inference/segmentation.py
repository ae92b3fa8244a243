"""Semantic segmentation: metrics on a split (global/class accuracy, mIoU, per-class IoU), label maps."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from aekit.data.base import DataError
from aekit.data.options import ImageFields, MaskFields, open_seg_data
from aekit.data.segmentation import SegmentationDataset
from aekit.inference.base import (
    EvaluateOptions,
    Evaluation,
    PredictOptions,
    Where,
    input_files,
    option,
    output_paths,
    register_evaluator,
    register_predictor,
    write_metrics,
    write_text,
)
from aekit.report.segmentation import prediction_figure
from aekit.tasks.segmentation import SegmentationTask, evaluate_dataset


@dataclass
class SegmentationEvaluateOptions(EvaluateOptions, MaskFields, ImageFields):
    figure_count: int = option(4, "examples in the prediction figure")
    all_pairs: bool = option(False, "evaluate every pair of --data (all splits), e.g. a labelled folder")


@dataclass
class SegmentationPredictOptions(PredictOptions):
    alpha: float = option(0.5, "overlay opacity of the class colours")


def evaluation_data(task: SegmentationTask, opts: SegmentationEvaluateOptions, where: Where) -> Any:
    """The split as the model was trained to see it: classes/ignore index/normalisation from the checkpoint."""
    hp = task.hparams
    as_trained = dataclasses.replace(
        opts,
        classes=opts.classes if opts.classes is not None else hp.num_classes,
        ignore_index=opts.ignore_index if opts.ignore_index is not None else hp.ignore_index,
        # masks read as at training: {0,255} binary masks stay binary although 255 is now the padding's ignore index
        binary_masks=opts.binary_masks or task.metadata.get("mask_format") == "binary",
        channels=opts.channels or task.model.in_channels,
    )
    splits = open_seg_data(as_trained, train=False, normalize=False, split=where.split_options())
    parts = [d for d in (splits.train, splits.val, splits.test) if d is not None]
    if not parts or not all(isinstance(d, SegmentationDataset) for d in parts):
        raise DataError(
            f"--data {opts.data} holds no masks: a segmentation run is scored against masks; pass "
            "pairs:IMAGES,MASKS (or camvid:/isbi2012:), or get label maps of unlabelled images with "
            f"aekit predict {where.checkpoint.parent} --input FOLDER --output OUT"
        )
    if opts.all_pairs:
        ds = parts[0]
        for extra in parts[1:]:  # one data set holding every pair, so normalisation and metadata stay as one
            ds.pairs, ds.images, ds.masks = ds.pairs + extra.pairs, ds.images + extra.images, ds.masks + extra.masks
    else:
        ds = splits.split(where.split)
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


@register_evaluator("segmentation", SegmentationEvaluateOptions)
def evaluate_segmentation(task: SegmentationTask, opts: SegmentationEvaluateOptions, where: Where) -> Evaluation:
    ds = evaluation_data(task, opts, where)
    result = evaluate_dataset(task, ds, min(opts.batch_size, 16))
    split = "all" if opts.all_pairs else where.split
    result |= {"checkpoint": str(where.checkpoint), "data": opts.data, "split": split}
    md = metrics_markdown(result, f"{where.checkpoint} on {opts.data} ({split}, {len(ds)} images)")
    files = [write_metrics(where, result, len(ds)), write_text(where.out / "metrics.md", md)]
    if opts.figure_count > 0:
        files.append(prediction_figure(task, ds, where.out / f"predictions_{split}.png", opts.figure_count))
    return Evaluation(result, md, files)


@register_predictor("segmentation", SegmentationPredictOptions)
def predict_segmentation(task: SegmentationTask, opts: SegmentationPredictOptions) -> list[Path]:
    """Label PNGs (class index per pixel) in OUT and colour overlays in OUT/overlay."""
    from aekit.data.images import read_image, to_tensor
    from aekit.report.segmentation import class_colours, colourize, overlay

    files = input_files(opts.inputs)
    label_paths = output_paths(files, opts.inputs, opts.out, ext=".png")
    overlay_paths = output_paths(files, opts.inputs, opts.out / "overlay", ext=".png")
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
        Image.fromarray(overlay(rgb, colourize(pred, colours), opts.alpha)).save(overlay_path)
    return [*label_paths, *overlay_paths]
