"""CLI for autoencoders: ``train ae``, ``embed`` and the ``demo`` (evaluate/predict: aekit.inference.reconstruction)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from aekit.cli.common import command, split_options, train_recipe
from aekit.data import DataModule, DataSplits, open_data
from aekit.models.autoencoder import ConvAutoencoder
from aekit.tasks import ReconstructionTask


def int_list(text: str) -> list[int]:
    return [int(t) for t in str(text).split(",") if t.strip()]


def add_data_arguments(p: argparse.ArgumentParser, default: str | None = "mnist5k") -> None:
    g = p.add_argument_group("data")
    g.add_argument(
        "--data",
        default=default,
        required=default is None,
        help="mnist5k (embedded), mnist:FOLDER (IDX), folder:PATH (images), npy:FILE, "
        "dicom:FOLDER, nifti:PATH, image16:FOLDER",
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
        test_images=args.test_images,
        test_labels=args.test_labels,
        **split_options(args),
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
    g.add_argument(
        "--residual-blocks", type=int, default=0, help="residual blocks added to every encoder and decoder stage"
    )
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
        "residual_blocks": args.residual_blocks,
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


# -- evaluate / embed / predict / demo -------------------------------------------------------------


def open_for_model(args: argparse.Namespace, model: ConvAutoencoder) -> DataSplits:
    """``--data`` at the model's image size and channel count (``aekit cluster``/``explore`` flags)."""
    from aekit.inference.reconstruction import open_for_model as open_at_model_size

    return open_at_model_size(model, args.data, image_size=args.image_size, channels=args.channels,
                              test_images=args.test_images, test_labels=args.test_labels,
                              **split_options(args))  # fmt: skip


def add_embed_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", type=Path, help="best.ckpt of an autoencoder run, or its run directory")
    p.add_argument("--data", default="mnist5k", help="data spec (labels colour the points when present)")
    p.add_argument("--split", default="test", choices=["train", "val", "test"])
    p.add_argument("--out", type=Path, default=None, help="PNG path (default: <run>/figures/embedding.png)")
    p.add_argument("--method", default="pca", choices=["pca", "tsne"], help="projection of z when latent_dim > 2")
    p.add_argument("--limit", type=int, default=5000, help="points to draw")
    p.add_argument("--image-size", default=None)
    p.add_argument("--channels", type=int, default=None)
    p.add_argument("--test-images", default=None)
    p.add_argument("--test-labels", default=None)
    p.add_argument("--seed", type=int, default=0)


@command(
    "embed",
    help="2-D embedding of the codes z, coloured by label, with PCA beside it",
    add_arguments=add_embed_arguments,
)
def run_embed(args: argparse.Namespace) -> int:
    from aekit.inference.reconstruction import embed

    data_options = {k: getattr(args, k) for k in ("image_size", "channels", "test_images", "test_labels")}
    out = embed(args.checkpoint, args.data, args.split, args.out, args.method, args.limit, args.seed, **data_options)
    print(f"written: {out}")
    return 0


def add_demo_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, default=Path("runs/demo"))
    p.add_argument("--epochs", type=int, default=25, help="epochs of the main (latent_dim 32) autoencoder")
    p.add_argument("--latent-dim", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true")


@command(
    "demo",
    help="train an autoencoder on the embedded MNIST digits, compare with PCA, draw pictures, write a report",
    add_arguments=add_demo_arguments,
)
def run_demo(args: argparse.Namespace) -> int:
    from aekit.experiments.demo import run_demo as demo

    report = demo(
        args.out, epochs=args.epochs, latent_dim=args.latent_dim, seed=args.seed, progress=not args.no_progress
    )
    print(f"report: {report}")
    return 0
