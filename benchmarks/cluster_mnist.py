"""MNIST clustering: an autoencoder trained without labels, its codes clustered into 10 groups.

The autoencoder trains (through aekit: ``open_data``, ``ReconstructionTask``, ``engine.fit``, bf16-mixed)
on the training digits of ``--data`` without labels; the held-out digits are then clustered into
``--k`` groups four ways, all in the same run:

- pixels + k-means (784-d), PCA + k-means (PCA at the code's size, fitted on the clustered digits),
- z + k-means, z + UMAP + GMM (the N2D recipe, McConville et al. 2019).

``--eval-split test`` (the default): the autoencoder trains on all 50,000 non-test digits and the test
digits (``t10k`` files, else the last 10,000 training digits) are clustered. ``--eval-split val``: the
autoencoder trains on the first 45,000 and the 5,000 validation digits are clustered; this is the mode
the recipe (code size, training minutes, UMAP neighbours) was chosen in, never on the test digits.

    AEKIT_THREADS=1 PYTHONPATH=src python benchmarks/cluster_mnist.py --data ../shared/data/mnist --seeds 0,1,2
    PYTHONPATH=src python benchmarks/cluster_mnist.py --smoke      # mnist5k subset, one short epoch

Scores: Hungarian-matched accuracy, NMI, ARI (mean over seeds, with each seed's accuracy). ``seconds``
(wall) and ``cpu_seconds`` (this process's CPU time; on a shared machine the two differ): the
clustering's own time; the z methods add the autoencoder's training and encoding. Last line of
output: one JSON object ``{method: {acc, nmi, ari, seconds, ...}}``.
"""

from __future__ import annotations

import argparse
import dataclasses
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
from aekit.data.images import ArrayDataset
from aekit.engine import TrainConfig, fit, set_threads
from aekit.experiments.cluster import cluster_features, cluster_scores
from aekit.experiments.pca import autoencode, stack_dataset
from aekit.tasks import ReconstructionTask

METHODS = ("pixels+kmeans", "pca+kmeans", "z+kmeans", "z+umap+gmm")


def int_list(text: str) -> list[int]:
    return [int(t) for t in text.split(",") if t.strip()]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=os.path.join(os.environ.get("AEKIT_DATA", "../shared/data"), "mnist"))
    p.add_argument("--eval-split", default="test", choices=["test", "val"], help="digits to cluster (see above)")
    p.add_argument("--seeds", type=int_list, default=[0, 1, 2])
    p.add_argument("--k", type=int, default=10)
    g = p.add_argument_group("recipe (chosen with --eval-split val; see benchmarks/RESULTS.md)")
    g.add_argument("--latent-dim", type=int, default=10)
    g.add_argument("--widths", type=int_list, default=[16, 32, 64])
    g.add_argument("--act", default="silu")
    g.add_argument("--train-minutes", type=float, default=11.0, help="autoencoder training budget (one-cycle in time)")
    g.add_argument("--epochs", type=int, default=None, help="train this many epochs instead of the time budget")
    g.add_argument("--lr", type=float, default=1e-2)
    g.add_argument("--batch-size", type=int, default=128)
    g.add_argument("--precision", default="32", help="32 or bf16-mixed (bf16 only pays on CPUs with AVX512-BF16/AMX)")
    g.add_argument("--umap-dim", type=int, default=None, help="UMAP components (default: --k, as in N2D)")
    g.add_argument("--umap-neighbors", type=int, default=20)
    p.add_argument("--smoke", action="store_true", help="mnist5k subset, one short epoch: checks the flow in seconds")
    p.add_argument(
        "--out", type=Path, default=None, help="keep the run directories here (default: a temp dir); reruns resume"
    )
    p.add_argument("--json", type=Path, default=None, help="also write the summary JSON here")
    return p.parse_args(argv)


def open_splits(args: argparse.Namespace):  # noqa: ANN201
    """(train splits for the autoencoder, digits to cluster) as the docstring describes."""
    if args.smoke:
        splits = open_data("mnist5k", seed=0)
        tr, va, te = splits.train, splits.val, splits.test
        small = dataclasses.replace(
            splits,
            train=ArrayDataset(tr.images[:600], tr.labels[:600]),
            val=ArrayDataset(va.images[:100], va.labels[:100]),
            test=ArrayDataset(te.images[:300], te.labels[:300]),
        )
        return small, small.val if args.eval_split == "val" else small.test
    data = args.data if ":" in args.data else f"mnist:{args.data}"
    splits = open_data(data)
    if args.eval_split == "val":
        return splits, splits.val
    both = [splits.train, splits.val]  # every non-test digit trains; val then only monitors
    train = ArrayDataset(torch.cat([d.images for d in both]), torch.cat([d.labels for d in both]))
    return dataclasses.replace(splits, train=train), splits.test


def train_autoencoder(args: argparse.Namespace, splits, seed: int, run_dir: Path) -> tuple[float, float]:  # noqa: ANN001
    """Train one autoencoder without labels (the reconstruction task never reads them); (wall, CPU) seconds."""
    L.seed_everything(seed, verbose=False)
    task = ReconstructionTask(
        model="autoencoder",
        model_kwargs={
            "in_channels": 1,
            "image_size": [28, 28],
            "latent_dim": args.latent_dim,
            "widths": list(args.widths),
            "act": args.act,
        },
        loss="l2",
        lr=args.lr,
        scheduler="onecycle",
    )
    epochs = 1 if args.smoke else args.epochs
    cfg = TrainConfig(
        epochs=epochs or 1000,
        batch_size=args.batch_size,
        seed=seed,
        precision=args.precision,
        max_time_minutes=None if args.smoke else args.train_minutes,
        time_schedule=epochs is None,
        progress=False,
    )
    t, c = time.perf_counter(), time.process_time()
    fit(task, DataModule(splits, args.batch_size, 0, seed), run_dir, cfg, config={"benchmark": "cluster_mnist"})
    return time.perf_counter() - t, time.process_time() - c


def run_seed(args: argparse.Namespace, splits, target, seed: int, run_dir: Path) -> dict[str, dict]:  # noqa: ANN001
    data = stack_dataset(target)
    pixels, labels = data.flat, data.labels
    train_s, train_cpu = train_autoencoder(args, splits, seed, run_dir)
    t, c = time.perf_counter(), time.process_time()
    _, codes = autoencode(aekit.load(run_dir), data)
    encode_s, encode_cpu = time.perf_counter() - t, time.process_time() - c
    umap_dim = args.umap_dim or args.k
    plans = {
        "pixels+kmeans": (pixels, "kmeans", "none", 0),
        "pca+kmeans": (pixels, "kmeans", "pca", args.latent_dim),
        "z+kmeans": (codes, "kmeans", "none", 0),
        "z+umap+gmm": (codes, "gmm", "umap", umap_dim),
    }
    out = {}
    for name, (x, algo, manifold, dim) in plans.items():
        t, c = time.perf_counter(), time.process_time()
        result, _ = cluster_features(x, args.k, algo, manifold, dim or None, seed, n_neighbors=args.umap_neighbors)
        seconds, cpu = time.perf_counter() - t, time.process_time() - c
        z = name.startswith("z")
        extra = {"train_seconds": round(train_s, 1), "train_cpu_seconds": round(train_cpu, 1)} if z else {}
        out[name] = {
            **cluster_scores(labels, result.labels),
            "seconds": round(seconds + (train_s + encode_s if z else 0.0), 1),
            "cpu_seconds": round(cpu + (train_cpu + encode_cpu if z else 0.0), 1),
            **extra,
        }
        print(f"seed {seed} {name}: {json.dumps(out[name])}", file=sys.stderr, flush=True)
    return out


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore")
    set_threads()
    t0 = time.perf_counter()
    splits, target = open_splits(args)
    out_root = args.out or Path(tempfile.mkdtemp(prefix="aekit-cluster-mnist-"))
    per_seed = []
    for s in args.seeds:  # each finished seed is kept in its run directory: a rerun with --out resumes
        done = out_root / f"seed{s}" / "cluster_scores.json"
        if done.is_file():
            per_seed.append(json.loads(done.read_text()))
            continue
        per_seed.append(run_seed(args, splits, target, s, out_root / f"seed{s}"))
        done.write_text(json.dumps(per_seed[-1]) + "\n")
    summary: dict = {}
    for m in METHODS:
        rows = [r[m] for r in per_seed]
        keys = ("acc", "nmi", "ari", "seconds", "cpu_seconds", "train_seconds", "train_cpu_seconds")
        summary[m] = {k: round(float(np.mean([r[k] for r in rows])), 4) for k in keys if k in rows[0]}
        summary[m]["per_seed_acc"] = [round(r["acc"], 4) for r in rows]
    meta = {
        "eval_split": args.eval_split,
        "n_train": len(splits.train),
        "n_clustered": len(target),
        "seeds": args.seeds,
        "recipe": {
            "latent_dim": args.latent_dim,
            "widths": args.widths,
            "act": args.act,
            "train_minutes": None if args.epochs else args.train_minutes,
            "epochs": args.epochs,
            "lr": args.lr,
            "batch_size": args.batch_size,
            "precision": args.precision,
            "umap_dim": args.umap_dim or args.k,
            "umap_neighbors": args.umap_neighbors,
        },
        "threads": torch.get_num_threads(),
        "load_average": [round(v, 2) for v in os.getloadavg()],
        "wall_seconds": round(time.perf_counter() - t0, 1),
        "smoke": args.smoke,
    }
    print(json.dumps(meta), file=sys.stderr)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"meta": meta, "results": summary}, indent=2) + "\n")
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
