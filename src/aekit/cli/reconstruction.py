"""CLI for autoencoders: ``train ae``, ``evaluate`` (vs PCA), ``embed`` and the ``demo``."""

from __future__ import annotations

import argparse
from typing import Any

from aekit.cli.common import train_recipe
from aekit.data import DataModule, DataSplits, open_data
from aekit.tasks import ReconstructionTask


def int_list(text: str) -> list[int]:
    return [int(t) for t in str(text).split(",") if t.strip()]


def add_data_arguments(p: argparse.ArgumentParser, default: str | None = "mnist5k") -> None:
    g = p.add_argument_group("data")
    g.add_argument(
        "--data",
        default=default,
        required=default is None,
        help="mnist5k (embedded), mnist:FOLDER (IDX), folder:PATH (images), npy:FILE",
    )
    g.add_argument("--image-size", default=None, help="resize images to N or H,W")
    g.add_argument("--channels", type=int, default=None, help="convert images to 1, 3 or 4 channels")
    g.add_argument("--test-images", default=None, help="IDX test images by path (MNIST)")
    g.add_argument("--test-labels", default=None, help="IDX test labels by path (MNIST)")


def open_from_args(args: argparse.Namespace) -> DataSplits:
    return open_data(
        args.data,
        image_size=args.image_size,
        channels=args.channels,
        seed=args.seed,
        test_images=args.test_images,
        test_labels=args.test_labels,
    )


def image_shape(splits: DataSplits) -> tuple[int, list[int]]:
    """(channels, [H, W]) from the source's info, else from its first training item."""
    if "channels" in splits.info and "image_size" in splits.info:
        return int(splits.info["channels"]), [int(s) for s in splits.info["image_size"]]
    x = splits.split("train")[0]["image"]
    return int(x.shape[0]), [int(x.shape[1]), int(x.shape[2])]


def add_ae_arguments(p: argparse.ArgumentParser) -> None:
    add_data_arguments(p)
    g = p.add_argument_group("model")
    g.add_argument("--latent-dim", type=int, default=32, help="size of the code z")
    g.add_argument("--widths", type=int_list, default=[32, 64, 128], help="channels per encoder stage, e.g. 32,64,128")
    g.add_argument("--blocks", type=int, default=1, help="conv blocks per stage")
    g.add_argument("--upsample", default="transposed", help="nearest, bilinear, bicubic, fixed_unpool or transposed")
    g.add_argument("--downsample", default="stride", help="stride, maxpool or avgpool")
    g.add_argument("--norm", default="batch", help="batch, group, instance or none")
    g.add_argument("--act", default="relu", help="relu, leaky_relu, elu, gelu, silu")
    g.add_argument("--loss", default="l2", help="l2, l1 or bce")
    g.add_argument("--input-noise", type=float, default=0.0, help="denoising: Gaussian noise std on inputs")
    g.add_argument("--mask-ratio", type=float, default=0.0, help="masked AE: fraction of input pixels zeroed")


def ae_model_kwargs(args: argparse.Namespace, channels: int, size: list[int]) -> dict[str, Any]:
    return {
        "in_channels": channels,
        "image_size": size,
        "latent_dim": args.latent_dim,
        "widths": list(args.widths),
        "blocks_per_stage": args.blocks,
        "upsample": args.upsample,
        "downsample": args.downsample,
        "norm": args.norm,
        "act": args.act,
    }


@train_recipe(
    "ae", help="convolutional autoencoder with a bottleneck z (reconstruction)", add_arguments=add_ae_arguments
)
def build_ae(args: argparse.Namespace) -> tuple[ReconstructionTask, DataModule]:
    splits = open_from_args(args)
    channels, size = image_shape(splits)
    task = ReconstructionTask(
        model="autoencoder",
        model_kwargs=ae_model_kwargs(args, channels, size),
        loss=args.loss,
        lr=args.lr or 3e-3,
        weight_decay=args.weight_decay,
        optimizer=args.optimizer,
        scheduler=args.scheduler,
        input_noise=args.input_noise,
        mask_ratio=args.mask_ratio,
        metadata={"data": splits.info.get("source", args.data), "channels": channels, "image_size": size},
    )
    return task, DataModule(splits, args.batch_size, args.num_workers, args.seed)
