"""CLI for image-to-image regression: ``train sr`` and ``train depth`` (evaluate/predict:
aekit.inference.image_regression; export: aekit.cli.inference)."""

from __future__ import annotations

import argparse
from typing import Any

from aekit.cli.common import split_options, train_recipe
from aekit.data import DataModule, open_data
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
