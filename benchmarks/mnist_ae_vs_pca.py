"""MNIST: the convolutional autoencoder against PCA at latent sizes 2, 10 and 32, on a time budget.

The 60,000 training digits of ``--data`` (IDX folder): the last 10,000 are held out as test (or the
IDX files given by ``--test-images/--test-labels``), the last 5,000 of the rest validate, and the
autoencoder and PCA both fit the remaining 45,000. Protocol: the validation digits choose
``best.ckpt`` and (with ``--score-on val``, which never scores the test digits) the recipe; they are
never trained on. The test digits are scored once, by the chosen recipe. The autoencoder trains
through aekit (``open_data``, ``ReconstructionTask``, ``engine.fit``) for ``--minutes-per-dim``
minutes of wall time per latent size; its one-cycle schedule follows the elapsed time
(``TrainConfig.time_schedule``), so the run anneals fully however loaded the machine is. Scores: MSE
per pixel (images in [0, 1]) of the best checkpoint, PCA with the same number of components, and
their ratio, on validation and (default) on test.

    PYTHONPATH=src python benchmarks/mnist_ae_vs_pca.py --data ../shared/data/mnist \\
        --dims 2,10,32 --minutes-per-dim 2,2,15

``--smoke``: 300 random images, latent 2, one small epoch (seconds), to check the script runs.
Last line of output: one JSON object with, per latent size, ``ae_mse``, ``pca_mse``, ``ratio`` (on
the scored split), ``val_ratio`` and ``train_seconds``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import lightning.pytorch as L
import numpy as np
import torch

import aekit
from aekit.data import DataModule, open_data
from aekit.engine import TrainConfig, fit, resolve_precision, set_threads
from aekit.experiments.pca import compare_with_pca, stack_dataset
from aekit.tasks import ReconstructionTask


def int_list(text: str) -> list[int]:
    return [int(t) for t in text.split(",") if t.strip()]


def float_list(text: str) -> list[float]:
    return [float(t) for t in text.split(",") if t.strip()]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=os.path.join(os.environ.get("AEKIT_DATA", "../shared/data"), "mnist"))
    p.add_argument("--test-images", default=None, help="IDX test images by path (default: last 10,000 training)")
    p.add_argument("--test-labels", default=None, help="IDX test labels by path")
    p.add_argument("--dims", type=int_list, default=[2, 10, 32], help="latent sizes, e.g. 2,10,32")
    p.add_argument(
        "--minutes-per-dim",
        type=float_list,
        default=None,
        help="training minutes: one value for every size, or one per --dims entry "
        "(default: 12 for the largest size, 3 for the others)",
    )
    g = p.add_argument_group(
        "recipe (defaults: chosen on validation digits by benchmarks/mnist_recipe_sweep.sh, see RESULTS.md)"
    )
    g.add_argument("--widths", type=int_list, default=[32, 64, 128])
    g.add_argument("--blocks", type=int, default=2, help="conv blocks per stage")
    g.add_argument(
        "--residual-blocks", type=int_list, default=[0], help="residual blocks per stage: one value or one per stage"
    )
    g.add_argument("--act", default="silu", help="relu, leaky_relu, elu, gelu, silu")
    g.add_argument("--upsample", default="transposed", help="decoder upsampling mode (aekit.nn.upsample)")
    g.add_argument("--loss", default="l2", help="l2 or bce")
    g.add_argument("--lr", type=float, default=1e-2, help="peak of the one-cycle schedule")
    g.add_argument("--weight-decay", type=float, default=0.0)
    g.add_argument("--batch-size", type=int, default=64)
    g.add_argument("--precision", default=resolve_precision("auto"), help="32 or bf16-mixed (default: fast path here)")
    g.add_argument("--no-channels-last", action="store_true")
    g.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="train this many epochs instead (schedule by steps, --minutes-per-dim only caps): "
        "compares recipes at equal data on a machine whose speed varies",
    )
    p.add_argument("--out", type=Path, default=None, help="keep the run directories here (default: a temp dir)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--score-on",
        choices=["test", "val"],
        default="test",
        help="val: score the validation digits only (for choosing a recipe; the test digits stay unseen)",
    )
    p.add_argument("--smoke", action="store_true", help="tiny data and budget (seconds): checks the script runs")
    p.add_argument("--progress", action="store_true", help="show Lightning's progress bar")
    args = p.parse_args(argv)
    if args.smoke:  # 300 random 28x28 images: no data set needed
        path = Path(tempfile.mkdtemp(prefix="aekit-smoke-")) / "digits.npy"
        np.save(path, np.random.default_rng(0).integers(0, 256, (300, 28, 28), dtype=np.uint8))
        args.data, args.dims, args.minutes_per_dim, args.epochs = f"npy:{path}", [2], [0.5], 1
        args.widths, args.residual_blocks, args.precision = [8, 16], [0], "32"
    if args.minutes_per_dim is None:
        args.minutes_per_dim = [12.0 if d == max(args.dims) else 3.0 for d in args.dims]
    if len(args.minutes_per_dim) not in (1, len(args.dims)):
        p.error("--minutes-per-dim takes one value or one per --dims entry")
    return args


def model_kwargs(args: argparse.Namespace, latent_dim: int) -> dict:
    return {
        "in_channels": 1,
        "image_size": [28, 28],
        "latent_dim": latent_dim,
        "widths": list(args.widths),
        "blocks_per_stage": args.blocks,
        "residual_blocks": args.residual_blocks[0] if len(args.residual_blocks) == 1 else list(args.residual_blocks),
        "act": args.act,
        "upsample": args.upsample,
    }


def train_one(args: argparse.Namespace, splits, latent_dim: int, minutes: float, run_dir: Path) -> tuple[float, int]:  # noqa: ANN001
    """Train one autoencoder through aekit; returns (seconds, optimiser steps)."""
    L.seed_everything(args.seed, verbose=False)
    task = ReconstructionTask(
        model="autoencoder",
        model_kwargs=model_kwargs(args, latent_dim),
        loss=args.loss,
        lr=args.lr,
        weight_decay=args.weight_decay,
        scheduler="onecycle",
    )
    cfg = TrainConfig(
        epochs=args.epochs or 1000,
        batch_size=args.batch_size,
        seed=args.seed,
        precision=args.precision,
        channels_last=not args.no_channels_last,
        max_time_minutes=minutes,
        time_schedule=args.epochs is None,
        progress=args.progress,
    )
    datamodule = DataModule(splits, args.batch_size, 0, args.seed)
    t = time.perf_counter()
    result = fit(task, datamodule, run_dir, cfg, config={"benchmark": "mnist_ae_vs_pca", "args": vars_plain(args)})
    return time.perf_counter() - t, int(result.trainer.global_step)


def vars_plain(args: argparse.Namespace) -> dict:
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", module="lightning")
    set_threads()
    t_start = time.perf_counter()
    data = args.data if ":" in args.data or args.data == "mnist5k" else f"mnist:{args.data}"
    splits = open_data(data, test_images=args.test_images, test_labels=args.test_labels)
    train, val = stack_dataset(splits.train), stack_dataset(splits.val)
    test = stack_dataset(splits.test) if args.score_on == "test" else None
    minutes = args.minutes_per_dim * (len(args.dims) if len(args.minutes_per_dim) == 1 else 1)
    out_root = args.out or Path(tempfile.mkdtemp(prefix="aekit-mnist-pca-"))
    results: dict[str, dict] = {}
    for dim, budget in zip(args.dims, minutes):
        run_dir = out_root / f"dim{dim}"
        seconds, steps = train_one(args, splits, dim, budget, run_dir)
        model = aekit.load(run_dir)
        val_scores = compare_with_pca(model, train, val, seed=args.seed)
        scores = compare_with_pca(model, train, test, seed=args.seed) if test is not None else val_scores
        ae, pca = scores["autoencoder"], scores["pca"]
        results[str(dim)] = {
            "scored_on": args.score_on,
            "ae_mse": round(ae["mse"], 6),
            "pca_mse": round(pca["mse"], 6),
            "ratio": round(ae["mse"] / pca["mse"], 4),
            "ae_psnr": round(ae["psnr"], 2),
            "pca_psnr": round(pca["psnr"], 2),
            "val_ae_mse": round(val_scores["autoencoder"]["mse"], 6),
            "val_pca_mse": round(val_scores["pca"]["mse"], 6),
            "val_ratio": round(val_scores["autoencoder"]["mse"] / val_scores["pca"]["mse"], 4),
            "train_seconds": round(seconds, 1),
            "budget_minutes": budget,
            "steps": steps,
            "images_seen": steps * args.batch_size,
            "load_average": [round(v, 2) for v in os.getloadavg()],
        }
        print(f"dim {dim}: {json.dumps(results[str(dim)])}", file=sys.stderr, flush=True)
    summary = {
        "benchmark": "mnist_ae_vs_pca",
        "data": data,
        "scored_on": args.score_on,
        "test": args.test_images or ("last 10,000 training digits" if data.startswith("mnist:") else "test split"),
        "selected_on": "validation (best.ckpt by val loss; recipe by val MSE, see results/foundation.md)",
        "n_train": len(train.images),
        "n_val": len(val.images),
        "n_test": len(test.images) if test is not None else None,
        "recipe": {
            "widths": list(args.widths),
            "blocks": args.blocks,
            "residual_blocks": args.residual_blocks,
            "act": args.act,
            "upsample": args.upsample,
            "loss": args.loss,
            "lr": args.lr,
            "batch_size": args.batch_size,
            "precision": args.precision,
            "channels_last": not args.no_channels_last,
            "schedule": f"one-cycle over {args.epochs} epochs" if args.epochs else "one-cycle over the time budget",
        },
        "threads": torch.get_num_threads(),
        "dims": results,
        "wall_seconds": round(time.perf_counter() - t_start, 1),
        "run_dirs": str(out_root),
    }
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
