"""Clustering unlabeled images on an autoencoder's codes z (optionally through UMAP or PCA first).

The N2D recipe (McConville et al. 2019): autoencoder codes -> UMAP to a few dimensions -> Gaussian
mixture. With labels present the same clustering also runs on raw pixels and on PCA at the code's
size, so the codes have to earn their place; scores are Hungarian-matched accuracy, NMI and ARI.
"""

from __future__ import annotations

import csv
import json
import os
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score, silhouette_score
from sklearn.mixture import GaussianMixture
from torch import nn

from aekit.data.base import DataError
from aekit.experiments.pca import Stacked, autoencode

MANIFOLDS = ("none", "pca", "umap")
ALGORITHMS = ("kmeans", "gmm")


# -- scores ------------------------------------------------------------------------------------------


def hungarian_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Unsupervised accuracy: the best one-to-one map from clusters to labels (Hungarian matching)."""
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    if len(y_true) != len(y_pred):
        raise ValueError(f"{len(y_true)} labels but {len(y_pred)} cluster assignments")
    if len(y_true) == 0:
        return float("nan")
    _, t = np.unique(y_true, return_inverse=True)
    _, p = np.unique(y_pred, return_inverse=True)
    counts = np.zeros((p.max() + 1, t.max() + 1), dtype=np.int64)
    np.add.at(counts, (p, t), 1)
    rows, cols = linear_sum_assignment(-counts)
    return float(counts[rows, cols].sum() / len(y_true))


def cluster_scores(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """ACC (Hungarian), NMI and ARI of a clustering against labels."""
    return {
        "acc": hungarian_accuracy(y_true, y_pred),
        "nmi": float(normalized_mutual_info_score(y_true, y_pred)),
        "ari": float(adjusted_rand_score(y_true, y_pred)),
    }


# -- features ---------------------------------------------------------------------------------------


def fit_reducer(
    x: np.ndarray, manifold: str, dim: int, seed: int = 0, n_neighbors: int = 20
) -> tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]:
    """:func:`reduce` plus the fitted map, to place new rows (held-out images) in the same reduced space."""
    x = np.asarray(x, dtype=np.float32).reshape(len(x), -1)

    def flat(v: np.ndarray) -> np.ndarray:
        return np.asarray(v, dtype=np.float32).reshape(len(v), -1)

    if manifold == "none" or (manifold == "pca" and dim >= x.shape[1]):
        return x, flat
    if manifold == "pca":
        pca = PCA(n_components=min(dim, *x.shape), random_state=seed).fit(x)
        return pca.transform(x).astype(np.float32), lambda v: pca.transform(flat(v)).astype(np.float32)
    if manifold == "umap":
        if len(x) <= dim + 1:
            raise DataError(f"--manifold umap needs more than {dim + 1} images, found {len(x)}; use --manifold none")
        import umap  # slow import (numba); only when asked for

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "n_jobs overridden by random_state": seeded runs are wanted
            mapper = umap.UMAP(
                n_components=dim,
                n_neighbors=min(n_neighbors, len(x) - 1),
                min_dist=0.0,
                metric="euclidean",
                random_state=seed,
                n_jobs=1,
            )
            feats = mapper.fit_transform(x).astype(np.float32)

        def place(v: np.ndarray) -> np.ndarray:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return mapper.transform(flat(v)).astype(np.float32)

        return feats, place
    raise ValueError(f"--manifold must be one of {', '.join(MANIFOLDS)}, not {manifold!r}")


def reduce(x: np.ndarray, manifold: str, dim: int, seed: int = 0, n_neighbors: int = 20) -> np.ndarray:
    """Map features to ``dim`` dimensions: ``none`` keeps them, ``pca`` or ``umap`` (N2D: min_dist 0)."""
    return fit_reducer(x, manifold, dim, seed, n_neighbors)[0]


@dataclass
class Clustering:
    """Assignments of one clustering with a distance to the own centre and a confidence in [0, 1]."""

    labels: np.ndarray
    distance: np.ndarray
    confidence: np.ndarray
    k: int
    algorithm: str
    k_scores: dict[int, float] = field(default_factory=dict)  # k -> silhouette (kmeans) or BIC (gmm)
    k_criterion: str = ""


def _fit(x: np.ndarray, k: int, algorithm: str, seed: int) -> Clustering:
    if algorithm == "kmeans":
        km = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(x)
        d = km.transform(x)  # distances to every centre
        own = d[np.arange(len(x)), km.labels_]
        second = np.partition(d, 1, axis=1)[:, 1] if k > 1 else np.full(len(x), np.inf)
        confidence = np.where(second > 0, 1.0 - own / np.maximum(second, 1e-12), 1.0)  # 0: on the border
        return Clustering(km.labels_.astype(np.int64), own, np.clip(confidence, 0, 1), k, algorithm)
    if algorithm == "gmm":
        cov = "full" if x.shape[1] <= 64 else "diag"  # full covariances of raw pixels are neither fast nor stable
        gm = GaussianMixture(n_components=k, covariance_type=cov, n_init=3, reg_covar=1e-4, random_state=seed).fit(x)
        post = gm.predict_proba(x)
        labels = post.argmax(axis=1)
        own = np.linalg.norm(x - gm.means_[labels], axis=1)
        return Clustering(labels.astype(np.int64), own, post.max(axis=1), k, algorithm)
    raise ValueError(f"--algorithm must be one of {', '.join(ALGORITHMS)}, not {algorithm!r}")


def choose_k(x: np.ndarray, candidates: Sequence[int], algorithm: str, seed: int = 0) -> tuple[int, dict[int, float]]:
    """The k with the best silhouette (k-means) or the lowest BIC (Gaussian mixture) among ``candidates``."""
    candidates = [k for k in candidates if 2 <= k < len(x)]
    if not candidates:
        raise DataError(f"--k auto needs at least 3 images and a --k-max of at least 2 (found {len(x)} images)")
    rng = np.random.default_rng(seed)
    sample = rng.choice(len(x), size=min(len(x), 5000), replace=False)
    scores: dict[int, float] = {}
    for k in candidates:
        if algorithm == "gmm":
            cov = "full" if x.shape[1] <= 64 else "diag"
            gm = GaussianMixture(n_components=k, covariance_type=cov, reg_covar=1e-4, random_state=seed).fit(x)
            scores[k] = float(gm.bic(x))
        else:
            labels = KMeans(n_clusters=k, n_init=4, random_state=seed).fit_predict(x)
            scores[k] = float(silhouette_score(x[sample], labels[sample])) if len(set(labels[sample])) > 1 else -1.0
    pick = min(scores, key=scores.get) if algorithm == "gmm" else max(scores, key=scores.get)
    return pick, scores


def cluster_features(
    x: np.ndarray,
    k: int | str,
    algorithm: str = "gmm",
    manifold: str = "umap",
    manifold_dim: int | None = None,
    seed: int = 0,
    k_max: int = 15,
    n_neighbors: int = 20,
) -> tuple[Clustering, np.ndarray]:
    """Cluster feature rows; ``k="auto"`` picks k by silhouette/BIC. Returns (clustering, reduced features)."""
    auto = str(k) == "auto"
    if not auto and (int(k) < 1 or int(k) > len(x)):
        raise DataError(f"--k {k} does not fit {len(x)} images; choose 1..{len(x)} or auto")
    dim = manifold_dim or (10 if auto else max(2, int(k)))
    feats = reduce(x, manifold, dim, seed, n_neighbors)
    scores: dict[int, float] = {}
    if auto:
        k, scores = choose_k(feats, range(2, k_max + 1), algorithm, seed)
    result = _fit(feats, int(k), algorithm, seed)
    result.k_scores = scores
    result.k_criterion = ("BIC (lower is better)" if algorithm == "gmm" else "silhouette (higher is better)") * auto
    return result, feats


# -- the whole flow ---------------------------------------------------------------------------------


def item_names(dataset: Any) -> list[str] | None:
    """File names of a folder dataset (through ``Subset``s/concatenations), else None (rows get indices)."""
    indices = None
    while hasattr(dataset, "indices") and hasattr(dataset, "dataset"):
        idx = list(dataset.indices)
        indices = idx if indices is None else [idx[i] for i in indices]
        dataset = dataset.dataset
    files = getattr(dataset, "files", None)
    if files is None:
        return None
    root = Path(os.path.commonpath([str(f.parent) for f in files])) if files else Path()
    names = [str(Path(f).relative_to(root)) if root != Path() else str(f) for f in files]
    return names if indices is None else [names[i] for i in indices]


def montage(groups: Sequence[np.ndarray], path: str | Path, scale: int = 2, gap: int = 2) -> Path:
    """One row per array of images (N, C, H, W) in [0, 1], as a PNG (PIL; rows may differ in length)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    c, h, w = next(g for g in groups if len(g)).shape[1:]
    cols = max(len(g) for g in groups)
    sheet = np.ones(((h + gap) * len(groups) + gap, (w + gap) * cols + gap, 3), dtype=np.float32) * 0.5
    for r, imgs in enumerate(groups):
        for j, img in enumerate(imgs):
            tile = np.repeat(img, 3, axis=0) if c == 1 else img[:3]
            y, x = gap + r * (h + gap), gap + j * (w + gap)
            sheet[y : y + h, x : x + w] = np.clip(tile.transpose(1, 2, 0), 0, 1)
    pil = Image.fromarray((sheet * 255).round().astype(np.uint8))
    pil = pil.resize((pil.width * scale, pil.height * scale), Image.NEAREST)
    tmp = path.with_name(path.name + ".tmp")
    pil.save(tmp, format="PNG")
    os.replace(tmp, path)
    return path


def write_assignments(path: Path, names: Sequence[str] | None, result: Clustering, labels: np.ndarray | None) -> Path:
    """assignments.csv: index, file, (label,) cluster, distance to its centre, confidence; written atomically."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["index", "file", *(["label"] if labels is not None else []), "cluster", "distance", "confidence"])
        for i, (c, d, p) in enumerate(zip(result.labels, result.distance, result.confidence)):
            name = names[i] if names is not None else ""
            lab = [int(labels[i])] if labels is not None else []
            w.writerow([i, name, *lab, int(c), f"{d:.6g}", f"{p:.6g}"])
    os.replace(tmp, path)
    return path


@dataclass
class ClusterConfig:
    k: int | str = 10
    algorithm: str = "gmm"
    manifold: str = "umap"
    manifold_dim: int | None = None
    n_neighbors: int = 20
    k_max: int = 15
    seed: int = 0
    per_cluster: int = 8  # images in each montage row
    baselines: bool = True  # with labels: the same clustering on pixels and on PCA at the code's size


def run_clustering(
    model: nn.Module, data: Stacked, out: str | Path, cfg: ClusterConfig, names: Sequence[str] | None = None
) -> dict[str, Any]:
    """Encode, cluster, write assignments.csv, montages/, report.md and metrics.json; return the metrics."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    _, codes = autoencode(model, data)
    encode_s = time.perf_counter() - t
    t = time.perf_counter()
    dim = cfg.manifold_dim or (10 if str(cfg.k) == "auto" else max(2, int(cfg.k)))
    result, _ = cluster_features(codes, cfg.k, cfg.algorithm, cfg.manifold, dim, cfg.seed, cfg.k_max, cfg.n_neighbors)
    method = f"z ({codes.shape[1]}-d)" + (f" + {cfg.manifold.upper()}" if cfg.manifold != "none" else "")
    method += f" + {cfg.algorithm}"
    rows = [{"method": method, "seconds": time.perf_counter() - t + encode_s}]
    if data.labels is not None:
        rows[0].update(cluster_scores(data.labels, result.labels))
        if cfg.baselines:
            pixels = data.flat
            d = codes.shape[1]
            base = {
                f"pixels ({pixels.shape[1]}-d)": pixels,
                f"PCA of pixels ({d}-d)": PCA(n_components=min(d, *pixels.shape), random_state=cfg.seed)
                .fit_transform(pixels)
                .astype(np.float32),
            }
            for label, feats in base.items():
                t = time.perf_counter()
                other, _ = cluster_features(
                    feats, result.k, cfg.algorithm, cfg.manifold, dim, cfg.seed, cfg.k_max, cfg.n_neighbors
                )
                name = label + (f" + {cfg.manifold.upper()}" if cfg.manifold != "none" else "") + f" + {cfg.algorithm}"
                scores = cluster_scores(data.labels, other.labels)
                rows.append({"method": name, "seconds": time.perf_counter() - t, **scores})
    write_assignments(out / "assignments.csv", names, result, data.labels)
    montages = write_montages(out / "montages", data.images, result, cfg.per_cluster)
    sizes = np.bincount(result.labels, minlength=result.k).tolist()
    metrics = {
        "k": result.k,
        "k_chosen_by": result.k_criterion or "given",
        "k_scores": {str(k): v for k, v in result.k_scores.items()},
        "algorithm": cfg.algorithm,
        "manifold": cfg.manifold,
        "n_images": len(data.images),
        "latent_dim": int(codes.shape[1]),
        "cluster_sizes": sizes,
        "results": rows,
    }
    tmp = out / "metrics.json.tmp"
    tmp.write_text(json.dumps(metrics, indent=2) + "\n")
    os.replace(tmp, out / "metrics.json")
    write_report(out / "report.md", metrics, montages)
    return metrics


def write_montages(folder: Path, images: np.ndarray, result: Clustering, n: int) -> list[Path]:
    """Per cluster: the ``n`` most central (highest confidence) images above the ``n`` most doubtful ones."""
    paths = []
    central_rows = []
    for c in range(result.k):
        members = np.flatnonzero(result.labels == c)
        if len(members) == 0:
            continue
        order = members[np.lexsort((result.distance[members], -result.confidence[members]))]
        central, doubtful = order[:n], order[::-1][:n]
        central_rows.append(images[central])
        paths.append(montage([images[central], images[doubtful]], folder / f"cluster_{c:02d}.png"))
    paths.insert(0, montage(central_rows, folder / "overview.png"))
    return paths


def write_report(path: Path, metrics: dict[str, Any], montages: Sequence[Path]) -> Path:
    """report.md: k and how it was chosen, cluster sizes, scores beside the baselines, the montages."""
    from aekit.report import markdown_table

    lines = [
        "# Clustering report",
        "",
        f"{metrics['n_images']:,} images, codes of {metrics['latent_dim']} dimensions, manifold step "
        f"`{metrics['manifold']}`, algorithm `{metrics['algorithm']}`, **k = {metrics['k']}** "
        f"({metrics['k_chosen_by']}).",
        "",
    ]
    if metrics["k_scores"]:
        lines += [
            f"Candidates for k, {metrics['k_chosen_by']}:",
            "",
            markdown_table([{"k": int(k), "score": v} for k, v in metrics["k_scores"].items()]),
            "",
        ]
    lines += [
        "Cluster sizes: " + ", ".join(f"{c}: {s}" for c, s in enumerate(metrics["cluster_sizes"])),
        "",
        markdown_table(metrics["results"]),
        "",
        "Scores (when labels exist): acc = accuracy after the best one-to-one matching of clusters to labels "
        "(Hungarian), nmi = normalized mutual information, ari = adjusted Rand index.",
        "",
        "## Montages",
        "",
        "Top row: the most central images of a cluster (highest confidence); bottom row: the most doubtful.",
        "",
    ]
    lines += [f"![{p.stem}](montages/{p.name})" for p in montages]
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    os.replace(tmp, path)
    return path


def _split_parts(splits: Any, split: str) -> list[Any]:
    """The non-empty datasets of one split, or of ``all`` splits in train/val/test order."""
    names_of = ["train", "val", "test"] if split == "all" else [split]
    parts = [splits.split(s) for s in names_of if split != "all" or getattr(splits, s, None) is not None]
    return [ds for ds in parts if len(ds)]


def _limited(n: int, limit: int | None) -> np.ndarray | None:
    """The seeded sample of ``limit`` of ``n`` items (sorted), or None to keep all."""
    if limit is None or n <= limit:
        return None
    return np.sort(np.random.default_rng(0).choice(n, size=limit, replace=False))


def gather_ids(splits: Any, split: str, limit: int | None = None) -> list[str]:
    """The stable item ids (:func:`aekit.data.sampling.item_ids`) of what :func:`gather` returns, same order."""
    from aekit.data.sampling import item_ids

    ids = [n for ds in _split_parts(splits, split) for n in item_ids(ds)]
    keep = _limited(len(ids), limit)
    return ids if keep is None else [ids[i] for i in keep]


def gather(splits: Any, split: str, limit: int | None = None) -> tuple[Stacked, list[str] | None]:
    """Images (and labels, file names) of one split, or of ``all`` splits in train/val/test order."""
    from aekit.experiments.pca import stack_dataset

    stacks, names = [], []
    for ds in _split_parts(splits, split):
        stacks.append(stack_dataset(ds))
        names.append(item_names(ds))
    if not stacks:
        raise DataError(f"--split {split} holds no images")
    images = np.concatenate([s.images for s in stacks])
    has_labels = all(s.labels is not None for s in stacks)
    labels = np.concatenate([s.labels for s in stacks]) if has_labels else None
    files = [n for part in names for n in part] if all(n is not None for n in names) else None
    keep = _limited(len(images), limit)
    if keep is not None:
        images, labels = images[keep], None if labels is None else labels[keep]
        files = None if files is None else [files[i] for i in keep]
    return Stacked(images, labels), files
