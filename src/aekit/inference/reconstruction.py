"""Autoencoders: evaluation beside PCA, reconstructions of image files, the 2-D embedding of the codes."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from aekit.data import DataSplits, open_data
from aekit.data.base import DataError
from aekit.data.images import MODES, read_image, to_tensor
from aekit.data.options import ImageFields, MnistTestFields
from aekit.experiments.pca import Stacked, autoencode, compare_with_pca, fit_pca, project_2d, stack_dataset
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
from aekit.models.autoencoder import ConvAutoencoder
from aekit.report import embedding_figure, image_grid, markdown_table


@dataclass
class ReconstructionEvaluateOptions(EvaluateOptions, ImageFields, MnistTestFields):
    pca_fit_limit: int = option(20000, "training images used to fit PCA")


@dataclass
class ReconstructionPredictOptions(PredictOptions):
    suffix: str = option("", "added to output file names (before the extension)")


def open_for_model(
    model: ConvAutoencoder,
    data: str,
    image_size: Any = None,
    channels: int | None = None,
    test_images: str | None = None,
    test_labels: str | None = None,
    **split: Any,
) -> DataSplits:
    """Open ``data`` at the model's image size and channel count, or explain the mismatch."""
    if image_size is None:
        image_size = ",".join(str(s) for s in model.image_size)
    splits = open_data(
        data,
        image_size=image_size,
        channels=channels or model.in_channels,
        test_images=test_images,
        test_labels=test_labels,
        **split,
    )
    if "channels" in splits.info and "image_size" in splits.info:
        c, size = int(splits.info["channels"]), [int(s) for s in splits.info["image_size"]]
    else:
        x = splits.split("train")[0]["image"]
        c, size = int(x.shape[0]), [int(x.shape[1]), int(x.shape[2])]
    if c != model.in_channels or tuple(size) != tuple(model.image_size):
        raise DataError(
            f"--data {data} gives {c}x{size[0]}x{size[1]} images but the model takes "
            f"{model.in_channels}x{model.image_size[0]}x{model.image_size[1]}; pass --channels/--image-size"
        )
    return splits


def training_split_of_run(checkpoint: Path, model: ConvAutoencoder, **data_options: Any) -> Any:
    """The training split the run recorded (splits.json), for fitting PCA when the evaluated data is another set."""
    from aekit.data.splits import SplitSpec, read_run_splits

    recorded = read_run_splits(checkpoint)
    if not recorded or not recorded.get("source"):
        raise DataError(f"{checkpoint}: no splits.json with the training data, needed to fit PCA")
    spec = SplitSpec.from_options(recorded.get("options") or {})
    spec.record = recorded
    return open_for_model(model, recorded["source"], splitting=spec, **data_options).split("train")


@register_evaluator("reconstruction", ReconstructionEvaluateOptions)
def evaluate_reconstruction(task: Any, opts: ReconstructionEvaluateOptions, where: Where) -> Evaluation:
    """Test MSE/PSNR of the autoencoder beside PCA with the same number of components."""
    model = task.model
    data_options = {"image_size": opts.image_size, "channels": opts.channels,
                    "test_images": opts.test_images, "test_labels": opts.test_labels}  # fmt: skip
    splits = open_for_model(model, opts.data, **data_options, **where.split_options())
    fit_on = splits.train
    if fit_on is None:  # another data set, scored whole: PCA is fitted on the run's own training images
        fit_on = training_split_of_run(where.checkpoint, model, seed=where.seed, **data_options)
    train = stack_dataset(fit_on, limit=opts.pca_fit_limit)
    data = stack_dataset(splits.split(where.split))
    results = compare_with_pca(model, train, data, seed=where.seed)
    rows = [{"method": k, **v} for k, v in results.items()]
    out, split = where.out, where.split
    metrics = {"split": split, "data": opts.data, "results": results}
    table = markdown_table(rows)
    files = [write_metrics(where, metrics, len(data.images), f"metrics_{split}.json")]
    files.append(write_text(out / f"metrics_{split}.md", f"# Reconstruction on {opts.data} ({split})\n\n{table}\n"))
    recon, _ = autoencode(model, Stacked(data.images[:10], None))
    figure = out / "figures" / f"reconstructions_{split}.png"
    image_grid([data.images[:10], recon], ["input", "autoencoder"], figure)
    return Evaluation(metrics, table, [*files, figure])


@register_predictor("reconstruction", ReconstructionPredictOptions)
def predict_reconstruction(task: Any, opts: ReconstructionPredictOptions) -> list[Path]:
    """The reconstruction of every input image as a PNG named after it."""
    model = task.model.eval()
    files = input_files(opts.inputs)
    outs = output_paths(files, opts.inputs, opts.out, opts.suffix, ".png")
    mode = MODES[model.in_channels]
    size = tuple(model.image_size)
    batches = range(0, len(files), opts.batch_size)  # a bar only on a terminal, never in a log file
    for start in tqdm(batches, desc="reconstruct", unit="batch", disable=not sys.stderr.isatty()):
        chunk = files[start : start + opts.batch_size]
        chunk_out = outs[start : start + opts.batch_size]
        x = torch.stack([to_tensor(read_image(f, model.in_channels, size)) for f in chunk])
        with torch.no_grad():
            y = model(x).clamp(0, 1).mul(255).round().byte().permute(0, 2, 3, 1).numpy()
        for out, img in zip(chunk_out, y):
            out.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(img[..., 0] if img.shape[-1] == 1 else img, mode=None if mode != "L" else "L").save(out)
    return outs


def embedding(model: ConvAutoencoder, train: Stacked, data: Stacked, method: str, seed: int) -> dict[str, np.ndarray]:
    """The autoencoder's 2-D view of ``data`` beside PCA's 2-D view (PCA fitted on ``train``)."""
    _, codes = autoencode(model, data)
    how = "z itself" if codes.shape[1] == 2 else f"{method.upper()} of z"
    pca = fit_pca(train, 2, seed)
    return {
        f"autoencoder (latent_dim={codes.shape[1]}, {how})": project_2d(codes, method, seed),
        "PCA of pixels (2 components)": pca.transform(data.flat),
    }


def embed(
    source: str | Path,
    data: str = "mnist5k",
    split: str = "test",
    out: str | Path | None = None,
    method: str = "pca",
    limit: int = 5000,
    seed: int = 0,
    **data_options: Any,
) -> Path:
    """``aekit embed``: a figure of the codes z in 2-D (coloured by label) beside PCA's; returns its path."""
    from aekit.io import load

    source = Path(source)
    model = load(source)
    if not isinstance(model, ConvAutoencoder):
        raise DataError(f"{source} is not an autoencoder ({type(model).__name__}); embed needs encode()")
    splits = open_for_model(model, data, seed=seed, **data_options)
    train = stack_dataset(splits.split("train"), limit=20000)
    points = stack_dataset(splits.split(split), limit=limit)
    panels = embedding(model, train, points, method, seed)
    run_dir = source if source.is_dir() else source.parent
    path = Path(out) if out is not None else run_dir / "figures" / "embedding.png"
    embedding_figure(panels, points.labels, path)
    return path
