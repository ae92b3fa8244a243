"""CLI for autoencoders: ``embed`` and the ``demo`` (``train ae``: aekit.recipes; evaluate/predict: aekit.inference)."""

from __future__ import annotations

import argparse
from pathlib import Path

from aekit.cli.common import command
from aekit.data import DataSplits
from aekit.data.options import split_options
from aekit.models.autoencoder import ConvAutoencoder

# -- embed / demo -------------------------------------------------------------


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
