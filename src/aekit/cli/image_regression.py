"""CLI for image-to-image regression: ``train sr``, ``train depth``, their evaluators and predictors,
and ``aekit export`` for every registered model."""

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
    train_recipe,
    write_json,
)
from aekit.data import DataModule, open_data
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


def int_list(text: str) -> list[int]:
    return [int(t) for t in str(text).split(",") if t.strip()]


# -- training ---------------------------------------------------------------------------------
def add_sr_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("data")
    g.add_argument("--data", required=True, help="hr:FOLDER of high-resolution images (e.g. hr:../shared/data/sr/T91)")
    g.add_argument("--scale", type=int, default=3, help="upscaling factor: 2, 3 or 4")
    g.add_argument("--patch-size", type=int, default=96, help="HR training patch side (rounded to the scale)")
    g.add_argument("--patches-per-image", type=int, default=16, help="random patches per image and epoch")
    g.add_argument("--channels", type=int, default=3, help="3 (RGB) or 1 (grayscale)")
    g.add_argument("--val-fraction", type=float, default=0.1, help="images held out for validation")
    g = p.add_argument_group("model")
    g.add_argument("--model", default="unet_sr", choices=["unet_sr", "srcnn"])
    g.add_argument("--widths", type=int_list, default=None, help="unet_sr: channels per stage (default 32,64,128)")
    g.add_argument("--blocks", type=int, default=None, help="unet_sr: conv blocks per stage (default 2)")
    g.add_argument(
        "--upsample", default=None, help="unet_sr LR->HR mode: transposed (default), bicubic, bilinear, nearest, ..."
    )
    g.add_argument("--decoder-upsample", default=None, help="unet_sr decoder mode (max_unpool allowed)")
    g.add_argument("--norm", default=None, help="unet_sr: none (default), batch, group, instance")
    g.add_argument("--loss", default="l1", choices=["l1", "l2"])


def sr_model_kwargs(args: argparse.Namespace, channels: int) -> dict[str, Any]:
    kw: dict[str, Any] = {"in_channels": channels, "scale": args.scale}
    if args.model == "unet_sr":
        extra = {
            "widths": args.widths,
            "blocks_per_stage": args.blocks,
            "upsample": args.upsample,
            "decoder_upsample": args.decoder_upsample,
            "norm": args.norm,
        }
        kw.update({k: v for k, v in extra.items() if v is not None})
    elif any(v is not None for v in (args.widths, args.blocks, args.upsample, args.decoder_upsample, args.norm)):
        raise ValueError("--widths/--blocks/--upsample/--decoder-upsample/--norm apply to --model unet_sr only")
    return kw


@train_recipe("sr", help="single-image super-resolution from a folder of HR images", add_arguments=add_sr_arguments)
def build_sr(args: argparse.Namespace) -> tuple[SuperResolutionTask, DataModule]:
    splits = open_data(
        args.data,
        scale=args.scale,
        patch_size=args.patch_size,
        patches_per_image=args.patches_per_image,
        channels=args.channels,
        **split_options(args),
    )
    channels = int(splits.info["channels"])
    task = SuperResolutionTask(
        model=args.model,
        model_kwargs=sr_model_kwargs(args, channels),
        loss=args.loss,
        lr=args.lr or 1e-3,
        weight_decay=args.weight_decay,
        optimizer=args.optimizer,
        scheduler=args.scheduler,
        metadata={
            "data": splits.info.get("source", args.data),
            "channels": channels,
            "scale": args.scale,
            "downscale": splits.info["downscale"],
            "seed": args.seed,
        },
    )
    return task, DataModule(splits, args.batch_size, args.num_workers, args.seed)


def add_depth_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("data")
    g.add_argument("--data", required=True, help="depth:IMAGES,DEPTHS (two folders, files matched by name)")
    g.add_argument("--image-size", default=None, help="resize pairs to N or H,W (default: native sizes)")
    g.add_argument("--crop-size", default=None, help="random training crop N or H,W (default when sizes differ)")
    g.add_argument("--depth-scale", type=float, default=1.0, help="PNG depth = value / depth-scale (1000: mm->m)")
    g.add_argument("--channels", type=int, default=3)
    g = p.add_argument_group("model")
    g.add_argument("--model", default="unet_depth", help="unet_depth (U-Net with a softplus output)")
    g.add_argument("--widths", type=int_list, default=[32, 64, 128, 256])
    g.add_argument("--blocks", type=int, default=2)
    g.add_argument("--upsample", default="bilinear", help="decoder mode (max_unpool, transposed, ...)")
    g.add_argument("--norm", default="batch")
    g.add_argument("--loss", default="silog", choices=["silog", "l1"], help="silog: Eigen et al. 2014")
    g.add_argument("--median-scaling", action="store_true", help="validation metrics after median scaling")


@train_recipe("depth", help="supervised depth maps from image/depth folders", add_arguments=add_depth_arguments)
def build_depth(args: argparse.Namespace) -> tuple[DepthTask, DataModule]:
    splits = open_data(
        args.data,
        image_size=args.image_size,
        channels=args.channels,
        depth_scale=args.depth_scale,
        crop_size=args.crop_size,
        **split_options(args),
    )
    channels = int(splits.info["channels"])
    task = DepthTask(
        model=args.model,
        model_kwargs={
            "in_channels": channels,
            "widths": list(args.widths),
            "blocks_per_stage": args.blocks,
            "upsample": args.upsample,
            "norm": args.norm,
        },
        loss=args.loss,
        lr=args.lr or 1e-3,
        weight_decay=args.weight_decay,
        optimizer=args.optimizer,
        scheduler=args.scheduler,
        median_scaling=args.median_scaling,
        metadata={
            "data": splits.info.get("source", args.data),
            "channels": channels,
            "image_size": splits.info["image_size"] if args.image_size else None,
            "depth_scale": args.depth_scale,
            "seed": args.seed,
        },
    )
    return task, DataModule(splits, args.batch_size, args.num_workers, args.seed)


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
