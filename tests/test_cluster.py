"""Clustering on codes: Hungarian accuracy, recovery of separable data, k auto, outputs, the CLI."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from sklearn.datasets import make_blobs
from torch import nn

import aekit
from aekit.experiments.cluster import (
    ClusterConfig,
    cluster_features,
    cluster_scores,
    hungarian_accuracy,
    item_names,
    run_clustering,
)
from aekit.experiments.pca import Stacked
from aekit.io import save_model

ROOT = Path(__file__).resolve().parents[1]


def separable_images(n_per_class: int = 20, size: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three classes: a bright square top-left, bottom-right, or a bar across the middle; plus noise. uint8."""
    rng = np.random.default_rng(seed)
    images, labels = [], []
    h = size // 2
    for c in range(3):
        for _ in range(n_per_class):
            img = rng.uniform(0, 40, (size, size))
            if c == 0:
                img[:h, :h] += 200
            elif c == 1:
                img[h:, h:] += 200
            else:
                img[h - 2 : h + 2, :] += 200
            images.append(np.clip(img, 0, 255).astype(np.uint8))
            labels.append(c)
    return np.stack(images), np.array(labels)


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


class QuadrantCodes(nn.Module):
    """A stand-in autoencoder whose code is the mean of each 4x4 block: separates the classes above."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(1))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.avg_pool2d(x, 4).flatten(1) * self.scale

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        side = int(round(z.shape[1] ** 0.5))
        return nn.functional.interpolate(z.view(len(z), 1, side, side), scale_factor=4.0)


def test_hungarian_accuracy_on_hand_made_labels():
    y = np.array([0, 0, 1, 1, 2, 2])
    assert hungarian_accuracy(y, np.array([2, 2, 0, 0, 1, 1])) == 1.0  # renamed clusters are still perfect
    # clusters 1->0 (2 right), 0->1 (2 right), 2->2 (1 right): 5 of 6
    assert hungarian_accuracy(y, np.array([1, 1, 0, 0, 0, 2])) == pytest.approx(5 / 6)
    # everything in one cluster: only the largest matched class counts
    assert hungarian_accuracy(y, np.zeros(6, dtype=int)) == pytest.approx(2 / 6)
    # more clusters than classes: unmatched clusters count as wrong
    assert hungarian_accuracy(np.array([0, 0, 0, 1]), np.array([0, 1, 2, 3])) == pytest.approx(2 / 4)
    s = cluster_scores(y, np.array([2, 2, 0, 0, 1, 1]))
    assert s["nmi"] == pytest.approx(1.0) and s["ari"] == pytest.approx(1.0)
    with pytest.raises(ValueError):
        hungarian_accuracy(y, y[:3])


@pytest.mark.parametrize("algorithm,manifold", [("kmeans", "none"), ("gmm", "pca"), ("kmeans", "pca")])
def test_clustering_recovers_separable_blobs(algorithm, manifold):
    x, y = make_blobs(n_samples=300, centers=4, n_features=8, cluster_std=0.5, random_state=1)
    result, feats = cluster_features(x, 4, algorithm, manifold, manifold_dim=3, seed=0)
    assert feats.shape == (300, 8 if manifold == "none" else 3)
    assert hungarian_accuracy(y, result.labels) == 1.0
    assert result.distance.shape == (300,) and (result.distance >= 0).all()
    assert ((result.confidence >= 0) & (result.confidence <= 1)).all()


@pytest.mark.parametrize("algorithm", ["kmeans", "gmm"])
@pytest.mark.parametrize("true_k", [3, 5])
def test_k_auto_picks_the_true_k(algorithm, true_k):
    x, _ = make_blobs(
        n_samples=400, centers=true_k, n_features=4, cluster_std=0.4, center_box=(-20, 20), random_state=3
    )
    result, _ = cluster_features(x, "auto", algorithm, "none", seed=0, k_max=8)
    assert result.k == true_k
    assert sorted(result.k_scores) == list(range(2, 9))
    assert ("BIC" if algorithm == "gmm" else "silhouette") in result.k_criterion


def test_run_clustering_writes_well_formed_outputs(tmp_path):
    images, labels = separable_images()
    data = Stacked(images[:, None].astype(np.float32) / 255, labels)
    names = [f"img_{i:03d}.png" for i in range(len(images))]
    cfg = ClusterConfig(k=3, algorithm="kmeans", manifold="none", per_cluster=5)
    metrics = run_clustering(QuadrantCodes(), data, tmp_path / "out", cfg, names)
    out = tmp_path / "out"
    rows = read_csv(out / "assignments.csv")
    assert len(rows) == 60
    assert list(rows[0]) == ["index", "file", "label", "cluster", "distance", "confidence"]
    assert rows[7]["file"] == "img_007.png"
    clusters = np.array([int(r["cluster"]) for r in rows])
    assert hungarian_accuracy(labels, clusters) == 1.0  # the codes separate the classes
    assert all(0 <= float(r["confidence"]) <= 1 and float(r["distance"]) >= 0 for r in rows)
    assert sorted(metrics["cluster_sizes"]) == [20, 20, 20]
    methods = [r["method"] for r in metrics["results"]]
    assert methods[0].startswith("z (16-d)") and any(m.startswith("pixels") for m in methods)
    assert any(m.startswith("PCA of pixels (16-d)") for m in methods)
    assert metrics["results"][0]["acc"] == 1.0
    assert json.loads((out / "metrics.json").read_text())["k"] == 3
    report = (out / "report.md").read_text()
    assert "k = 3" in report and "montages/cluster_00.png" in report and "| acc |" in report
    for c in range(3):
        with Image.open(out / "montages" / f"cluster_{c:02d}.png") as im:
            assert im.size[0] > im.size[1] > 0  # two rows of five thumbnails
    with Image.open(out / "montages" / "overview.png") as im:
        assert im.size[1] > 0


def test_item_names_follow_subsets(image_folder):
    from aekit.data import open_data

    splits = open_data(f"folder:{image_folder}", seed=0)
    names = item_names(splits.train)
    assert len(names) == len(splits.train)
    assert all(n.endswith(".png") for n in names)
    assert any(n.startswith("sub/") for n in names)


@pytest.fixture
def ae_run(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    model = aekit.create_model("autoencoder", in_channels=1, image_size=16, latent_dim=6, widths=[8, 16])
    save_model(model, tmp_path / "ae")
    return tmp_path / "ae"


def test_cli_cluster_with_labels_reports_baselines(tmp_path, run_cli, ae_run, capsys):
    images, labels = separable_images()
    np.savez(tmp_path / "sep.npz", images=images, labels=labels)
    out = tmp_path / "clusters"
    code = run_cli(
        "cluster", ae_run, "--data", f"npy:{tmp_path / 'sep.npz'}", "--k", "3",
        "--algorithm", "kmeans", "--manifold", "pca", "--manifold-dim", "4", "--out", out,
    )  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "k = 3 (given)" in printed and "pixels (256-d)" in printed and "PCA of pixels (6-d)" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n_images"] == 60  # --split all: train + val + test
    pixel_row = next(r for r in metrics["results"] if r["method"].startswith("pixels"))
    assert pixel_row["acc"] == 1.0  # raw pixels separate these classes; the labels travel with the images
    assert len(read_csv(out / "assignments.csv")) == 60


def test_cli_cluster_folder_k_auto_and_file_names(tmp_path, run_cli, ae_run, image_folder, capsys):
    out = tmp_path / "c"
    code = run_cli(
        "cluster", ae_run, "--data", f"folder:{image_folder}", "--k", "auto", "--k-max", "4",
        "--algorithm", "kmeans", "--manifold", "none", "--out", out, "--per-cluster", "3",
    )  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "silhouette" in printed and "| k | score |" in printed
    rows = read_csv(out / "assignments.csv")
    assert len(rows) == 24 and "label" not in rows[0]
    assert {r["file"] for r in rows} == {str(p.relative_to(image_folder)) for p in image_folder.rglob("*.png")}
    metrics = json.loads((out / "metrics.json").read_text())
    scores = {int(k): v for k, v in metrics["k_scores"].items()}
    assert set(scores) == {2, 3, 4}  # every k of --k-max 4 was tried
    assert metrics["k"] == max(scores, key=scores.get)  # and the best silhouette won
    assert len({r["cluster"] for r in rows}) == metrics["k"]
    assert len(metrics["results"]) == 1  # no labels: no scores, no baselines
    assert "acc" not in metrics["results"][0]


def test_cli_cluster_bad_input_is_one_line(tmp_path, run_cli, ae_run, image_folder, capsys):
    assert run_cli("cluster", ae_run, "--data", f"folder:{image_folder}", "--k", "100", "--out", tmp_path / "x") == 2
    err = capsys.readouterr().err
    assert "--k 100" in err and "Traceback" not in err
    assert run_cli("cluster", tmp_path / "missing", "--data", "mnist5k") == 2
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.slow
def test_cluster_with_umap_and_gmm(tmp_path):
    images, labels = separable_images(30)
    data = Stacked(images[:, None].astype(np.float32) / 255, labels)
    metrics = run_clustering(QuadrantCodes(), data, tmp_path, ClusterConfig(k=3, baselines=False), None)
    assert metrics["results"][0]["method"] == "z (16-d) + UMAP + gmm"
    assert metrics["results"][0]["acc"] == 1.0


@pytest.mark.slow
def test_benchmark_smoke_prints_json_last_line():
    env = {"PYTHONPATH": str(ROOT / "src"), "AEKIT_THREADS": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "cluster_mnist.py"), "--smoke", "--seeds", "0"],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert set(result) == {"pixels+kmeans", "pca+kmeans", "z+kmeans", "z+umap+gmm"}
    for scores in result.values():  # one seed: the summary is that seed's scores
        assert scores["per_seed_acc"] == [scores["acc"]] and scores["seconds"] >= 0
    # the two baselines recomputed on the digits the smoke clusters (the first 300 test digits of mnist5k)
    from aekit.data import open_data
    from aekit.experiments.pca import stack_dataset

    clustered = stack_dataset(open_data("mnist5k", seed=0).test, limit=300)
    digits, labels = clustered.flat, clustered.labels
    for name, manifold, dim in (("pixels+kmeans", "none", None), ("pca+kmeans", "pca", 10)):
        clustering, _ = cluster_features(digits, 10, "kmeans", manifold, dim, 0)
        expected = cluster_scores(labels, clustering.labels)
        for key in ("acc", "nmi", "ari"):
            assert result[name][key] == pytest.approx(expected[key], abs=1e-4), (name, key)
    assert result["pixels+kmeans"]["acc"] > 0.3  # k-means on digit pixels is far above chance (0.1)
