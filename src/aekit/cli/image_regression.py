"""CLI for image-to-image regression: the evaluators and predictors of ``sr`` and ``depth`` (their recipes:
aekit.recipes.image_regression), and ``aekit export`` for every registered model."""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from aekit.cli.common import (
    add_option_once,
    command,
    evaluate_options,
    evaluator,
    output_paths,
    predict_options,
    predictor,
    split_options,
    write_json,
)
from aekit.data import open_data
from aekit.data.base import DataError
from aekit.data.images import list_images, parse_size, read_image, to_tensor
from aekit.data.module import pad_collate
from aekit.data.pfm import write_pfm
from aekit.engine import set_threads
from aekit.metrics import depth_scores, evaluate_sr_model
from aekit.nn.resample import bicubic_up
from aekit.report import markdown_table
from aekit.report.image_to_image import depth_panel, save_rows, side_by_side, to_uint8_image
from aekit.tasks import DepthTask, SuperResolutionTask


# -- evaluation -------------------------------------------------------------------------------
@evaluate_options
def _evaluate_flags(p: argparse.ArgumentParser) -> None:
    add_option_once(p, "--scale", type=int, default=None, help="SR: must match the model's scale (checked)")
    add_option_once(p, "--depth-scale", type=float, default=None, help="depth PNG divisor (default: the run's)")
    add_option_once(p, "--median-scaling", action="store_true", help="depth: scale each prediction by medians")
    add_option_once(p, "--examples", type=int, default=4, help="depth: images in the example figure")


def _report(args: argparse.Namespace, title: str, rows: list[dict[str, Any]], summary: dict[str, Any]) -> None:
    out = Path(args.out)
    write_json(out / "metrics.json", summary)
    table = markdown_table(rows)
    (out / "metrics.md").write_text(f"# {title}\n\n{table}\n")
    print(table)
    print(f"metrics: {out / 'metrics.json'}, {out / 'metrics.md'}")


@evaluator("superres")
def evaluate_sr(task: SuperResolutionTask, args: argparse.Namespace) -> dict[str, Any]:
    set_threads()
    model = task.model
    scale = int(model.scale)
    if args.scale is not None and args.scale != scale:
        raise ValueError(f"--scale {args.scale} does not match this model, which was trained for x{scale}")
    splits = open_data(args.data, scale=scale, channels=model.in_channels, **split_options(args))
    result = evaluate_sr_model(model, splits.split(args.split), scale)
    result.update({"data": args.data, "split": args.split, "checkpoint": str(args.checkpoint)})
    rows = [*result["per_image"], {"image": "mean", **result["mean"]}]
    title = f"Super-resolution x{scale} on {args.data} ({args.split}): PSNR/SSIM on Y, {scale}-px border shaved"
    _report(args, title, rows, result)
    return result


@evaluator("depth")
def evaluate_depth(task: DepthTask, args: argparse.Namespace) -> dict[str, Any]:
    set_threads()
    meta = task.metadata
    depth_scale = args.depth_scale if args.depth_scale is not None else meta.get("depth_scale", 1.0)
    splits = open_data(
        args.data,
        image_size=meta.get("image_size"),
        channels=meta.get("channels", 3),
        depth_scale=depth_scale,
        **split_options(args),
    )
    ds = splits.split(args.split)
    loader = torch.utils.data.DataLoader(ds, batch_size=args.batch_size, collate_fn=pad_collate)  # pad: depth 0
    scores: dict[str, list[float]] = defaultdict(list)
    panels = []
    task.eval()
    with torch.no_grad():
        for batch in loader:
            pred = task.model(batch["image"])
            for k, v in depth_scores(pred, batch["target"], median_scaling=args.median_scaling).items():
                scores[k].extend(v)
            for j in range(min(len(pred), args.examples - len(panels))):
                panels.append(depth_panel(batch["image"][j], pred[j], batch["target"][j]))
    if not scores["abs_rel"]:
        raise DataError(f"no {args.split} image of {args.data} has any valid depth pixel")
    mean = {k: float(np.mean(v)) for k, v in scores.items()}
    result = {
        "data": args.data,
        "split": args.split,
        "images": len(scores["abs_rel"]),
        "median_scaling": bool(args.median_scaling),
        "mean": mean,
    }
    if panels:
        result["figure"] = str(save_rows(panels, Path(args.out) / "depth_examples.png"))
    _report(args, f"Depth on {args.data} ({args.split})", [mean], result)
    return result


# -- prediction -------------------------------------------------------------------------------
@predict_options
def _predict_flags(p: argparse.ArgumentParser) -> None:
    add_option_once(p, "--compare", action="store_true", help="SR: also write bicubic | model pictures")


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


def _predict_loop(task: Any, args: argparse.Namespace, write: Any, suffix: str) -> list[Path]:
    set_threads()
    files = list_images(args.input)
    outs = output_paths(files, args.input, args.output, suffix)
    channels = int(getattr(task.model, "in_channels", 3))
    task.eval()
    # a bar only on a terminal: in a log file or a pipe it would write a line per update
    with torch.no_grad(), tqdm(total=len(files), unit="img", desc="predict", disable=not sys.stderr.isatty()) as bar:
        for idx, x in batches_by_size(files, channels, args.batch_size):
            y = task.model(x)
            for j, i in enumerate(idx):
                outs[i].parent.mkdir(parents=True, exist_ok=True)
                write(outs[i], x[j], y[j])
            bar.update(len(idx))
    print(f"wrote {len(outs)} file(s) to {args.output}")
    return outs


def save_image(x: torch.Tensor, path: Path) -> None:
    arr = (x.detach().float().clamp(0, 1).cpu().numpy() * 255 + 0.5).astype(np.uint8).transpose(1, 2, 0)
    Image.fromarray(arr[..., 0] if arr.shape[2] == 1 else arr).save(path)


@predictor("superres")
def predict_sr(task: SuperResolutionTask, args: argparse.Namespace) -> list[Path]:
    """``<output>/<name>.png``: each input upscaled by the model's factor (8-bit PNG)."""
    scale = int(task.model.scale)

    def write(path: Path, lr: torch.Tensor, sr: torch.Tensor) -> None:
        save_image(sr, path)
        if args.compare:
            bic = to_uint8_image(bicubic_up(lr[None], scale)[0])
            Image.fromarray(side_by_side([bic, to_uint8_image(sr)])).save(path.with_name(path.stem + "_compare.png"))

    return _predict_loop(task, args, write, ".png")


@predictor("depth")
def predict_depth(task: DepthTask, args: argparse.Namespace) -> list[Path]:
    """``<output>/<name>.pfm`` (raw depth, float32) and ``<name>_depth.png`` (input | colour-mapped depth)."""

    def write(path: Path, image: torch.Tensor, depth: torch.Tensor) -> None:
        write_pfm(path, depth[0].cpu().numpy())
        Image.fromarray(depth_panel(image, depth)).save(path.with_name(path.stem + "_depth.png"))

    return _predict_loop(task, args, write, ".pfm")


# -- export -------------------------------------------------------------------------------------
def add_export_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", type=Path, help="a run directory, best.ckpt/last.ckpt or model.safetensors")
    p.add_argument("--format", required=True, choices=["onnx", "torch-export"])
    p.add_argument("--out", type=Path, required=True, help="output file (.onnx or .pt2)")
    p.add_argument(
        "--input-size", default=None, help="H,W of the (fixed) input shape; default: the model's own, else 45,61"
    )
    p.add_argument("--batch", type=int, default=1, help="batch size of the exported input shape")
    p.add_argument("--atol", type=float, default=None, help="largest allowed |exported - eager| (default 1e-4)")


@command(
    "export",
    help="export a trained model to ONNX or torch.export, checked against PyTorch",
    add_arguments=add_export_arguments,
)
def run_export(args: argparse.Namespace) -> int:
    import aekit
    from aekit.export import DEFAULT_ATOL, EXPORTERS, ExportError, example_input

    set_threads()
    model = aekit.load(args.source)
    example = example_input(model, parse_size(args.input_size), args.batch)
    fn = EXPORTERS[args.format]
    try:
        result = fn(model, args.out, example, atol=args.atol or DEFAULT_ATOL, strict=False)
    except ExportError as exc:
        print(f"aekit: error: {exc}")
        return 1
    shapes = [tuple(e.shape) for e in (example if isinstance(example, tuple) else (example,))]
    print(f"input {', '.join(map(str, shapes))}; {result.summary()}")
    return 0 if result.ok else 1
