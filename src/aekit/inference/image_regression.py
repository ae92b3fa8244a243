"""Super-resolution and depth: PSNR/SSIM and depth errors on a split; upscaled images and depth maps."""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from aekit.data import open_data
from aekit.data.base import DataError
from aekit.data.images import read_image, to_tensor
from aekit.data.module import pad_collate
from aekit.data.pfm import write_pfm
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
from aekit.metrics import depth_scores, evaluate_sr_model
from aekit.nn.resample import bicubic_up
from aekit.report import markdown_table
from aekit.report.image_to_image import depth_panel, save_rows, side_by_side, to_uint8_image
from aekit.tasks import DepthTask, SuperResolutionTask


@dataclass
class SuperResolutionEvaluateOptions(EvaluateOptions):
    scale: int | None = option(None, "SR: must match the model's scale (checked)")


@dataclass
class DepthEvaluateOptions(EvaluateOptions):
    depth_scale: float | None = option(None, "depth PNG divisor (default: the run's)")
    median_scaling: bool = option(False, "scale each prediction by median(GT)/median(prediction) before scoring")
    examples: int = option(4, "depth: images in the example figure")


@dataclass
class SuperResolutionPredictOptions(PredictOptions):
    compare: bool = option(False, "SR: also write bicubic | model pictures")


def _report(where: Where, title: str, rows: list[dict[str, Any]], summary: dict[str, Any], items: int) -> Evaluation:
    table = markdown_table(rows)
    files = [
        write_metrics(where, summary, items),
        write_text(where.out / "metrics.md", f"# {title}\n\n{table}\n"),
    ]
    return Evaluation(summary, table, files)


@register_evaluator("superres", SuperResolutionEvaluateOptions)
def evaluate_sr(task: SuperResolutionTask, opts: SuperResolutionEvaluateOptions, where: Where) -> Evaluation:
    model = task.model
    scale = int(model.scale)
    if opts.scale is not None and opts.scale != scale:
        raise DataError(f"--scale {opts.scale} does not match this model, which was trained for x{scale}")
    splits = open_data(opts.data, scale=scale, channels=model.in_channels, **where.split_options())
    result = evaluate_sr_model(model, splits.split(where.split), scale)
    result.update({"data": opts.data, "split": where.split, "checkpoint": str(where.checkpoint)})
    rows = [*result["per_image"], {"image": "mean", **result["mean"]}]
    title = f"Super-resolution x{scale} on {opts.data} ({where.split}): PSNR/SSIM on Y, {scale}-px border shaved"
    return _report(where, title, rows, result, len(result["per_image"]))


@register_evaluator("depth", DepthEvaluateOptions)
def evaluate_depth(task: DepthTask, opts: DepthEvaluateOptions, where: Where) -> Evaluation:
    meta = task.metadata
    depth_scale = opts.depth_scale if opts.depth_scale is not None else meta.get("depth_scale", 1.0)
    splits = open_data(
        opts.data,
        image_size=meta.get("image_size"),
        channels=meta.get("channels", 3),
        depth_scale=depth_scale,
        **where.split_options(),
    )
    ds = splits.split(where.split)
    loader = torch.utils.data.DataLoader(ds, batch_size=opts.batch_size, collate_fn=pad_collate)  # pad: depth 0
    scores: dict[str, list[float]] = defaultdict(list)
    panels = []
    task.eval()
    with torch.no_grad():
        for batch in loader:
            pred = task.model(batch["image"])
            for k, v in depth_scores(pred, batch["target"], median_scaling=opts.median_scaling).items():
                scores[k].extend(v)
            for j in range(min(len(pred), opts.examples - len(panels))):
                panels.append(depth_panel(batch["image"][j], pred[j], batch["target"][j]))
    if not scores["abs_rel"]:
        raise DataError(f"no {where.split} image of {opts.data} has any valid depth pixel")
    mean = {k: float(np.mean(v)) for k, v in scores.items()}
    result = {
        "data": opts.data,
        "split": where.split,
        "images": len(scores["abs_rel"]),
        "median_scaling": bool(opts.median_scaling),
        "mean": mean,
    }
    figure = save_rows(panels, where.out / "depth_examples.png") if panels else None
    if figure is not None:
        result["figure"] = str(figure)
    evaluation = _report(where, f"Depth on {opts.data} ({where.split})", [mean], result, result["images"])
    evaluation.files += [figure] if figure is not None else []
    return evaluation


def batches_by_size(files: list[Path], channels: int, batch_size: int) -> Iterator[tuple[list[int], torch.Tensor]]:
    """Indices and stacked images, batching only images of the same size (any mix of sizes works)."""
    groups: dict[tuple[int, int], list[tuple[int, torch.Tensor]]] = defaultdict(list)
    for i, f in enumerate(files):
        x = to_tensor(read_image(f, channels))
        key = tuple(x.shape[1:])
        groups[key].append((i, x))
        if len(groups[key]) == batch_size:
            items = groups.pop(key)
            yield [i for i, _ in items], torch.stack([x for _, x in items])
    for items in groups.values():
        yield [i for i, _ in items], torch.stack([x for _, x in items])


def predict_loop(task: Any, opts: PredictOptions, write: Callable[..., list[Path]], suffix: str) -> list[Path]:
    """Every input through the model, batched by size; ``write(path, x, y)`` saves one result (its files)."""
    files = input_files(opts.inputs)
    outs = output_paths(files, opts.inputs, opts.out, suffix)
    channels = int(getattr(task.model, "in_channels", 3))
    written: list[Path] = []
    task.eval()
    # a bar only on a terminal: in a log file or a pipe it would write a line per update
    with torch.no_grad(), tqdm(total=len(files), unit="img", desc="predict", disable=not sys.stderr.isatty()) as bar:
        for idx, x in batches_by_size(files, channels, opts.batch_size):
            y = task.model(x)
            for j, i in enumerate(idx):
                outs[i].parent.mkdir(parents=True, exist_ok=True)
                written += write(outs[i], x[j], y[j])
            bar.update(len(idx))
    return written


def save_image(x: torch.Tensor, path: Path) -> Path:
    arr = (x.detach().float().clamp(0, 1).cpu().numpy() * 255 + 0.5).astype(np.uint8).transpose(1, 2, 0)
    Image.fromarray(arr[..., 0] if arr.shape[2] == 1 else arr).save(path)
    return path


@register_predictor("superres", SuperResolutionPredictOptions)
def predict_sr(task: SuperResolutionTask, opts: SuperResolutionPredictOptions) -> list[Path]:
    """``<out>/<name>.png``: each input upscaled by the model's factor (8-bit PNG)."""
    scale = int(task.model.scale)

    def write(path: Path, lr: torch.Tensor, sr: torch.Tensor) -> list[Path]:
        paths = [save_image(sr, path)]
        if opts.compare:
            bic = to_uint8_image(bicubic_up(lr[None], scale)[0])
            paths.append(path.with_name(path.stem + "_compare.png"))
            Image.fromarray(side_by_side([bic, to_uint8_image(sr)])).save(paths[-1])
        return paths

    return predict_loop(task, opts, write, ".png")


@register_predictor("depth")
def predict_depth(task: DepthTask, opts: PredictOptions) -> list[Path]:
    """``<out>/<name>.pfm`` (raw depth, float32) and ``<name>_depth.png`` (input | colour-mapped depth)."""

    def write(path: Path, image: torch.Tensor, depth: torch.Tensor) -> list[Path]:
        write_pfm(path, depth[0].cpu().numpy())
        picture = path.with_name(path.stem + "_depth.png")
        Image.fromarray(depth_panel(image, depth)).save(picture)
        return [path, picture]

    return predict_loop(task, opts, write, ".pfm")
