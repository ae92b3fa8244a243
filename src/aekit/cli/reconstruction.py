"""CLI for autoencoders: ``evaluate`` (vs PCA), ``embed`` and the ``demo`` (``train ae``: aekit.recipes)."""

from __future__ import annotations

import argparse
import sys
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
    write_json,
)
from aekit.data import DataSplits
from aekit.data.base import DataError
from aekit.data.images import MODES, list_images, read_image, to_tensor
from aekit.data.options import image_shape, open_images
from aekit.experiments.pca import Stacked, autoencode, compare_with_pca, fit_pca, project_2d, stack_dataset
from aekit.io import load as aekit_load
from aekit.models.autoencoder import ConvAutoencoder
from aekit.report import embedding_figure, image_grid, markdown_table
from aekit.tasks import ReconstructionTask


def open_from_args(args: argparse.Namespace) -> DataSplits:
    return open_images(args)


# -- evaluate / embed / predict / demo -------------------------------------------------------------


@evaluate_options
def add_reconstruction_evaluate_options(p: argparse.ArgumentParser) -> None:
    add_option_once(p, "--image-size", default=None, help="resize images to N or H,W (default: the model's size)")
    add_option_once(p, "--channels", type=int, default=None, help="convert images to 1, 3 or 4 channels")
    add_option_once(p, "--test-images", default=None, help="IDX test images by path (MNIST)")
    add_option_once(p, "--test-labels", default=None, help="IDX test labels by path (MNIST)")
    add_option_once(p, "--seed", type=int, default=None, help="seed of the data split (default: the run's)")
    add_option_once(p, "--pca-fit-limit", type=int, default=20000, help="training images used to fit PCA")


def open_for_model(args: argparse.Namespace, model: ConvAutoencoder) -> DataSplits:
    """Open ``--data`` at the model's image size and channel count, or explain the mismatch."""
    if getattr(args, "image_size", None) is None:
        args.image_size = ",".join(str(s) for s in model.image_size)
    if getattr(args, "channels", None) is None:
        args.channels = model.in_channels
    splits = open_from_args(args)
    channels, size = image_shape(splits)
    if channels != model.in_channels or tuple(size) != tuple(model.image_size):
        raise DataError(
            f"--data {args.data} gives {channels}x{size[0]}x{size[1]} images but the model takes "
            f"{model.in_channels}x{model.image_size[0]}x{model.image_size[1]}; pass --channels/--image-size"
        )
    return splits


def training_split_of_run(args: argparse.Namespace, model: ConvAutoencoder):  # noqa: ANN201
    """The training split the run recorded (splits.json), for fitting PCA when the evaluated data is another set."""
    from aekit.data.splits import SplitSpec, read_run_splits

    recorded = read_run_splits(args.checkpoint)
    if not recorded or not recorded.get("source"):
        raise DataError(f"{args.checkpoint}: no splits.json with the training data, needed to fit PCA")
    ns = argparse.Namespace(**vars(args))
    ns.data = recorded["source"]
    ns.splitting = SplitSpec.from_options(recorded.get("options") or {})
    ns.splitting.record = recorded
    return open_for_model(ns, model).split("train")


@evaluator("reconstruction")
def evaluate_reconstruction(task: ReconstructionTask, args: argparse.Namespace) -> dict[str, Any]:
    """Test MSE/PSNR of the autoencoder beside PCA with the same number of components."""
    model = task.model
    splits = open_for_model(args, model)
    fit_on = splits.train
    if fit_on is None:  # another data set, scored whole: PCA is fitted on the run's own training images
        fit_on = training_split_of_run(args, model)
    train = stack_dataset(fit_on, limit=args.pca_fit_limit)
    data = stack_dataset(splits.split(args.split))
    results = compare_with_pca(model, train, data, seed=args.seed)
    rows = [{"method": k, **v} for k, v in results.items()]
    out = Path(args.out)
    write_json(out / f"metrics_{args.split}.json", {"split": args.split, "data": args.data, "results": results})
    table = markdown_table(rows)
    (out / f"metrics_{args.split}.md").write_text(f"# Reconstruction on {args.data} ({args.split})\n\n{table}\n")
    recon, _ = autoencode(model, Stacked(data.images[:10], None))
    image_grid(
        [data.images[:10], recon], ["input", "autoencoder"], out / "figures" / f"reconstructions_{args.split}.png"
    )
    print(table)
    print(f"written: {out / f'metrics_{args.split}.json'}")
    return results


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


def embedding(model: ConvAutoencoder, train: Stacked, data: Stacked, method: str, seed: int) -> dict[str, np.ndarray]:
    """The autoencoder's 2-D view of ``data`` beside PCA's 2-D view (PCA fitted on ``train``)."""
    _, codes = autoencode(model, data)
    how = "z itself" if codes.shape[1] == 2 else f"{method.upper()} of z"
    pca = fit_pca(train, 2, seed)
    return {
        f"autoencoder (latent_dim={codes.shape[1]}, {how})": project_2d(codes, method, seed),
        "PCA of pixels (2 components)": pca.transform(data.flat),
    }


@command(
    "embed",
    help="2-D embedding of the codes z, coloured by label, with PCA beside it",
    add_arguments=add_embed_arguments,
)
def run_embed(args: argparse.Namespace) -> int:
    model = aekit_load(args.checkpoint)
    if not isinstance(model, ConvAutoencoder):
        raise ValueError(f"{args.checkpoint} is not an autoencoder ({type(model).__name__}); embed needs encode()")
    splits = open_for_model(args, model)
    train = stack_dataset(splits.split("train"), limit=20000)
    data = stack_dataset(splits.split(args.split), limit=args.limit)
    panels = embedding(model, train, data, args.method, args.seed)
    run_dir = args.checkpoint if args.checkpoint.is_dir() else args.checkpoint.parent
    out = args.out or run_dir / "figures" / "embedding.png"
    embedding_figure(panels, data.labels, out)
    print(f"written: {out}")
    return 0


@predict_options
def add_reconstruction_predict_options(p: argparse.ArgumentParser) -> None:
    add_option_once(p, "--suffix", default="", help="added to output file names (before the extension)")


@predictor("reconstruction")
def predict_reconstruction(task: ReconstructionTask, args: argparse.Namespace) -> None:
    """Write the reconstruction of every input image as a PNG named after it."""
    model = task.model.eval()
    files = list_images(args.input)
    outs = output_paths(files, args.input, args.output, args.suffix, ".png")
    mode = MODES[model.in_channels]
    size = tuple(model.image_size)
    batches = range(0, len(files), args.batch_size)  # a bar only on a terminal, never in a log file
    for start in tqdm(batches, desc="reconstruct", unit="batch", disable=not sys.stderr.isatty()):
        chunk = files[start : start + args.batch_size]
        chunk_out = outs[start : start + args.batch_size]
        x = torch.stack([to_tensor(read_image(f, model.in_channels, size)) for f in chunk])
        with torch.no_grad():
            y = model(x).clamp(0, 1).mul(255).round().byte().permute(0, 2, 3, 1).numpy()
        for out, img in zip(chunk_out, y):
            out.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(img[..., 0] if img.shape[-1] == 1 else img, mode=None if mode != "L" else "L").save(out)
    print(f"{len(files)} reconstructions written to {args.output}")


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
