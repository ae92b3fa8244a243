"""CLI for looking at the structure of unlabeled images: ``aekit cluster`` and ``aekit explore``."""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

from aekit.cli.common import command
from aekit.cli.reconstruction import open_for_model
from aekit.data.base import DataError
from aekit.experiments.pca import Stacked
from aekit.io import load as aekit_load
from aekit.models.autoencoder import ConvAutoencoder


def k_value(text: str) -> int | str:
    if text == "auto":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--k takes a number of clusters or 'auto', not {text!r}") from None


def add_model_data_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", type=Path, help="autoencoder run directory, best.ckpt or model.safetensors")
    p.add_argument("--data", required=True, help="mnist5k, mnist:FOLDER, folder:PATH, npy:FILE, ...")
    p.add_argument("--split", default="all", choices=["all", "train", "val", "test"], help="images to use")
    p.add_argument("--limit", type=int, default=None, help="at most this many images (a seeded sample)")
    p.add_argument("--image-size", default=None, help="default: the model's size")
    p.add_argument("--channels", type=int, default=None, help="default: the model's channels")
    p.add_argument("--test-images", default=None)
    p.add_argument("--test-labels", default=None)
    p.add_argument("--seed", type=int, default=0, help="seed of the data split, UMAP and the clustering")


def load_autoencoder(path: Path) -> ConvAutoencoder:
    model = aekit_load(path)
    if not isinstance(model, ConvAutoencoder):
        raise ValueError(f"{path} is not an autoencoder ({type(model).__name__}); this command needs encode()")
    return model


def model_and_images(args: argparse.Namespace) -> tuple[ConvAutoencoder, Stacked, list[str] | None]:
    """The autoencoder of ``args.run`` and the images of ``--data``/``--split`` at its size (with file names)."""
    from aekit.engine import set_threads
    from aekit.experiments.cluster import gather

    set_threads()
    model = load_autoencoder(args.run)
    data, names = gather(open_for_model(args, model), args.split, args.limit)
    return model, data, names


def run_dir_of(path: Path) -> Path:
    return path if path.is_dir() else path.parent


def add_cluster_arguments(p: argparse.ArgumentParser) -> None:
    add_model_data_arguments(p)
    p.add_argument("--k", type=k_value, default=10, help="number of clusters, or auto (silhouette / BIC)")
    p.add_argument("--k-max", type=int, default=15, help="largest k tried by --k auto")
    p.add_argument("--algorithm", default="gmm", choices=["gmm", "kmeans"], help="Gaussian mixture or k-means")
    p.add_argument("--manifold", default="umap", choices=["umap", "pca", "none"], help="step before clustering")
    p.add_argument("--manifold-dim", type=int, default=None, help="dimensions of that step (default: k, or 10)")
    p.add_argument("--neighbors", type=int, default=20, help="UMAP n_neighbors")
    p.add_argument("--per-cluster", type=int, default=8, help="images per montage row")
    p.add_argument("--no-baselines", action="store_true", help="skip pixels / PCA clustering when labels exist")
    p.add_argument("--out", type=Path, default=None, help="output folder (default: <run>/clusters)")


@command(
    "cluster",
    help="cluster images on the autoencoder's codes (UMAP/PCA + GMM/k-means); assignments, montages, report",
    add_arguments=add_cluster_arguments,
)
def run_cluster(args: argparse.Namespace) -> int:
    from aekit.experiments.cluster import ClusterConfig, run_clustering
    from aekit.report import markdown_table

    model, data, names = model_and_images(args)
    cfg = ClusterConfig(
        k=args.k,
        algorithm=args.algorithm,
        manifold=args.manifold,
        manifold_dim=args.manifold_dim,
        n_neighbors=args.neighbors,
        k_max=args.k_max,
        seed=args.seed,
        per_cluster=args.per_cluster,
        baselines=not args.no_baselines,
    )
    out = args.out or run_dir_of(args.run) / "clusters"
    metrics = run_clustering(model, data, out, cfg, names)
    print(f"k = {metrics['k']} ({metrics['k_chosen_by']})")
    if metrics["k_scores"]:
        print(markdown_table([{"k": int(k), "score": v} for k, v in metrics["k_scores"].items()]))
    print("cluster sizes: " + ", ".join(f"{c}: {s}" for c, s in enumerate(metrics["cluster_sizes"])))
    print(markdown_table(metrics["results"]))
    print(f"written: {out / 'assignments.csv'}, {out / 'montages'}/, {out / 'report.md'}")
    return 0


def add_explore_arguments(p: argparse.ArgumentParser) -> None:
    add_model_data_arguments(p)
    p.set_defaults(limit=5000)
    p.add_argument("--out", type=Path, default=None, help="HTML file (default: <run>/explorer.html)")
    p.add_argument("--map", default="auto", choices=["auto", "umap", "pca", "z"], help="2-D map (auto: z if 2-D)")
    p.add_argument("--k", type=int, default=10, help="k-means clusters on z to colour by (0: none)")
    p.add_argument("--assignments", type=Path, default=None, help="colour by a saved assignments.csv instead")
    p.add_argument("--landmarks", type=int, default=24, help="points with precomputed lines between every pair")
    p.add_argument("--steps", type=int, default=8, help="decoded images along each line")
    p.add_argument("--thumb", type=int, default=64, help="largest thumbnail side in pixels")
    p.add_argument("--picks", type=Path, default=None, help="mark the images of a to_label.csv (aekit suggest-labels; "
                   "same --data) as diamonds")  # fmt: skip


def read_assignments(path: Path, n: int) -> np.ndarray:
    """The ``cluster`` column of an assignments.csv written by ``aekit cluster`` for the same images."""
    if not path.is_file():
        raise DataError(f"--assignments {path} does not exist")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows or "cluster" not in rows[0]:
        raise DataError(f"--assignments {path} has no 'cluster' column; pass an assignments.csv of aekit cluster")
    if len(rows) != n:
        raise DataError(
            f"--assignments {path} has {len(rows)} rows but {n} images are explored; "
            "use the same --data/--split/--limit as for aekit cluster"
        )
    return np.array([int(r["cluster"]) for r in rows], dtype=np.int64)


@command(
    "explore",
    help="one self-contained HTML page: 2-D map of the codes, hover image + reconstruction, lines between picks",
    add_arguments=add_explore_arguments,
)
def run_explore(args: argparse.Namespace) -> int:
    from aekit.report.explorer import write_explorer

    model, data, names = model_and_images(args)
    clusters = None if args.assignments is None else read_assignments(args.assignments, len(data.images))
    marked: list[int] = []
    if args.picks is not None:
        from aekit.experiments.cluster import gather_ids
        from aekit.experiments.suggest_labels import read_files

        ids = gather_ids(open_for_model(args, model), args.split, args.limit)
        position = {n: i for i, n in enumerate(ids)}
        picked = read_files(args.picks, "--picks")
        marked = [position[f] for f in picked if f in position]
        if not marked:
            raise DataError(f"--picks {args.picks}: none of its files is among the explored images; use the same "
                            "--data, and --split/--limit that include them")  # fmt: skip
    out = args.out or run_dir_of(args.run) / "explorer.html"
    page = write_explorer(
        model, data, out, names, clusters, args.map, args.landmarks, args.steps, args.thumb, args.seed,
        title=f"aekit explorer: {args.run} on {args.data} ({args.split})", colour_k=args.k, marked=marked,
    )  # fmt: skip
    size_mb = page.path.stat().st_size / 1e6
    print(f"written: {page.path} ({len(data.images):,} points, {size_mb:.1f} MB; open it in any browser, offline)")
    return 0


def add_suggest_arguments(p: argparse.ArgumentParser) -> None:
    from aekit.experiments.suggest_labels import STRATEGIES, SuggestConfig

    d = SuggestConfig()
    p.add_argument("run", type=Path, help="autoencoder run directory, best.ckpt or model.safetensors")
    p.add_argument("--data", required=True, help="mnist5k, mnist:FOLDER, folder:PATH, npy:FILE, dicom:FOLDER, ...")
    p.add_argument("--budget", type=int, required=True, help="how many images you can label")
    p.add_argument("--out", type=Path, default=None, help="CSV to write (default: <run>/to_label.csv); "
                   "<stem>_picks.png and <stem>.json go beside it")  # fmt: skip
    p.add_argument("--strategy", default=d.strategy, choices=STRATEGIES, help="typical: the most typical image of "
                   "each cluster of the codes; random: the baseline; margin: where --model is least sure")  # fmt: skip
    p.add_argument("--model", default=None, help="margin: a fine-tuned classifier (aekit finetune run directory)")
    p.add_argument("--exclude", action="append", default=[], help="CSV(s) with a file column: already labelled or "
                   "chosen images (repeatable)")  # fmt: skip
    p.add_argument("--split", default=d.split, choices=["pool", "all", "train", "val", "test"],
                   help="images to choose from; pool = train + val, what aekit finetune spreads labels over")
    p.add_argument("--algorithm", default=d.algorithm, choices=["gmm", "kmeans"], help="clustering of the codes")
    p.add_argument("--manifold", default=d.manifold, choices=["umap", "pca", "none"], help="step before clustering")
    p.add_argument("--manifold-dim", type=int, default=d.manifold_dim, help="dimensions of that step")
    p.add_argument("--neighbors", type=int, default=d.n_neighbors, help="UMAP n_neighbors")
    p.add_argument("--typical-k", type=int, default=d.typical_k, help="neighbours of the typicality (density)")
    p.add_argument("--min-distance", type=float, default=d.min_distance, help="skip picks this close to an "
                   "earlier pick, in the reduced space (0: exact duplicates only)")  # fmt: skip
    p.add_argument("--image-size", default=None, help="default: the model's size")
    p.add_argument("--channels", type=int, default=None, help="default: the model's channels")
    p.add_argument("--window", default=None, help="CT window of dicom/nifti data (lung, mediastinum, ... or C,W)")
    p.add_argument("--test-images", default=None)
    p.add_argument("--test-labels", default=None)
    p.add_argument("--seed", type=int, default=d.seed, help="seed of the data split, UMAP, clustering, random")


@command(
    "suggest-labels",
    help="which images to label: the most typical image of each cluster of the codes (or random / margin)",
    add_arguments=add_suggest_arguments,
)
def run_suggest_labels(args: argparse.Namespace) -> int:
    from aekit.data.options import split_options
    from aekit.engine import set_threads
    from aekit.experiments.suggest_labels import SuggestConfig, suggest_labels

    set_threads()
    cfg = SuggestConfig(
        budget=args.budget, strategy=args.strategy, algorithm=args.algorithm, manifold=args.manifold,
        manifold_dim=args.manifold_dim, n_neighbors=args.neighbors, typical_k=args.typical_k,
        min_distance=args.min_distance, seed=args.seed, split=args.split, exclude=[str(e) for e in args.exclude],
        model=args.model,
    )  # fmt: skip
    options = {"image_size": args.image_size, "channels": args.channels, "test_images": args.test_images,
               "test_labels": args.test_labels, "window": args.window, **split_options(args)}  # fmt: skip
    out = args.out or run_dir_of(args.run) / "to_label.csv"
    result = suggest_labels(args.run, args.data, out, cfg, options)
    for name, c in zip(result.names, result.picks.cluster):
        print(f"{name}  (cluster {c})" if c >= 0 else name)
    csv_file = result.files["csv"]
    print(f"written: {csv_file} (fill in its label column, then: aekit finetune {args.run} --data {args.data} "
          f"--labels {csv_file}), {result.files['montage']}, {result.files['json']}")  # fmt: skip
    return 0
