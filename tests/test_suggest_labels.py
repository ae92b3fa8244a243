"""Which images to label: typical picks on blobs, random baseline, margin, dedupe, label files, the CLI round trip."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import lightning.pytorch as L
import numpy as np
import pytest
from sklearn.datasets import make_blobs
from torch.utils.data import ConcatDataset, Subset

import aekit
from aekit.data import DataModule, open_data
from aekit.data.base import DataError
from aekit.data.images import ArrayDataset
from aekit.data.sampling import item_ids
from aekit.engine import TrainConfig, fit
from aekit.experiments import suggest_labels as sl
from aekit.experiments.label_efficiency import quiet_lightning
from aekit.tasks import ReconstructionTask
from tests.test_data import write_idx

SIZES = [260, 200, 150, 110, 80, 60, 45, 30]  # unequal blobs: random picks favour the big ones


def blob_features(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    x, y = make_blobs(n_samples=SIZES, n_features=5, cluster_std=0.6, center_box=(-30, 30), random_state=seed)
    return x.astype(np.float32), y


@pytest.mark.parametrize("algorithm", ["kmeans", "gmm"])
def test_typical_picks_one_dense_point_per_blob_and_propagation_labels_them_all(algorithm: str) -> None:
    x, y = blob_features()
    picks = sl.select_typical(x, len(SIZES), algorithm=algorithm, seed=0)
    assert sorted(y[picks.indices].tolist()) == list(range(len(SIZES)))  # one per blob
    for i, c in zip(picks.indices, picks.cluster):  # the densest member of its cluster, near the blob's centre
        members = np.flatnonzero(picks.clustering.labels == c)
        assert sl.typicality(x[members])[members == i][0] == pytest.approx(sl.typicality(x[members]).max())
        d = np.linalg.norm(x[members] - x[members].mean(0), axis=1)
        assert np.linalg.norm(x[i] - x[members].mean(0)) <= np.quantile(d, 0.25)
    pseudo, conf = sl.propagate_by_clusters(x, picks.indices, y[picks.indices], seed=0, algorithm=algorithm)
    assert (pseudo == y).all() and conf.shape == y.shape


def test_random_picks_miss_blobs_on_some_seeds_and_propagation_then_fails() -> None:
    x, y = blob_features()
    covered, accuracies = [], []
    for seed in range(10):
        picks = sl.select_random(len(x), len(SIZES), seed=seed)
        assert len(set(picks.indices.tolist())) == len(SIZES)
        covered.append(len(set(y[picks.indices].tolist())))
        pseudo, _ = sl.propagate_by_clusters(x, picks.indices, y[picks.indices], seed=0, algorithm="kmeans")
        accuracies.append(float((pseudo == y).mean()))
    assert min(covered) < len(SIZES) and min(accuracies) < 0.95  # a missed blob cannot be named
    assert np.mean(accuracies) < 1.0


def test_a_second_typical_round_avoids_labelled_clusters_and_items() -> None:
    x, y = blob_features()
    first = sl.select_typical(x, 4, algorithm="kmeans")  # fewer labels than blobs
    second = sl.select_typical(x, 4, exclude=first.indices, algorithm="kmeans")
    assert not set(first.indices.tolist()) & set(second.indices.tolist())
    assert len(set(y[np.concatenate([first.indices, second.indices])].tolist())) == len(SIZES)


def test_duplicates_are_skipped_and_margin_ranks_the_unsure_first() -> None:
    x, _ = blob_features()
    dup = np.concatenate([x, x])  # every image twice
    picks = sl.select_random(len(dup), 50, seed=0, feats=dup)
    assert len({tuple(v) for v in dup[picks.indices]}) == 50
    far = sl.select_random(len(dup), 5, seed=0, feats=dup, min_distance=5.0)
    d = np.linalg.norm(dup[far.indices][:, None] - dup[far.indices][None], axis=2)
    assert d[np.triu_indices(5, 1)].min() > 5.0
    probs = np.array([[0.9, 0.1], [0.55, 0.45], [0.5, 0.5], [0.7, 0.3], [0.6, 0.4]])
    m = sl.select_margin(probs, 2, exclude=[2])
    assert m.indices.tolist() == [1, 4] and m.score == pytest.approx([0.1, 0.2])
    with pytest.raises(DataError, match="--budget 5 exceeds"):
        sl.select_margin(probs, 5, exclude=[2])


def test_item_ids_name_items_through_subsets_and_mnist_digits_by_their_index_in_the_file(tmp_path: Path) -> None:
    ds = ArrayDataset(np.zeros((4, 2, 2), np.uint8), names=["a", "b", "c", "d"])
    assert item_ids(ConcatDataset([Subset(ds, [3, 1]), ds])) == ["d", "b", "a", "b", "c", "d"]
    assert item_ids(ArrayDataset(np.zeros((2, 2, 2), np.uint8))) == ["#0", "#1"]
    rng = np.random.default_rng(0)
    x = rng.integers(0, 255, (40, 28, 28), dtype=np.uint8)
    for name, arr in {
        "train-images-idx3-ubyte": x,
        "train-labels-idx1-ubyte": np.arange(40, dtype=np.uint8) % 10,
        "t10k-images-idx3-ubyte": x[:5],
        "t10k-labels-idx1-ubyte": np.zeros(5, np.uint8),
    }.items():
        write_idx(tmp_path / name, arr)  # fmt: skip
    splits = open_data(f"mnist:{tmp_path}")
    ids = item_ids(ConcatDataset([splits.train, splits.val]))
    assert ids == [f"mnist:{i}" for i in range(40)]  # the digit's index in the IDX file
    assert item_ids(splits.test) == [f"mnist-test:{i}" for i in range(5)]
    pool = ConcatDataset([splits.train, splits.val])
    assert (pool[37]["image"][0] * 255).round().byte().numpy().tolist() == x[37].tolist()


def test_label_file_reading_skips_blank_rows_and_explains_mistakes(tmp_path: Path) -> None:
    names = ["mnist:0", "mnist:1", "mnist:2"]
    f = tmp_path / "l.csv"
    f.write_text("file,cluster,label\nmnist:2,0,7\nmnist:0,1,\nmnist:1,2,3\n")
    idx, labels = sl.read_label_file(f, names)
    assert idx.tolist() == [2, 1] and labels == ["7", "3"]
    f.write_text("file,label\nmnist:9,1\n")
    with pytest.raises(DataError, match="not in the pool.*mnist:9"):
        sl.read_label_file(f, names)
    f.write_text("file,label\nmnist:0,\n")
    with pytest.raises(DataError, match="no filled-in label"):
        sl.read_label_file(f, names)
    f.write_text("name,label\n")
    with pytest.raises(DataError, match="needs columns file,label"):
        sl.read_label_file(f, names)


def blob_images(n_per: int = 24, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three easy classes of 16x16 images (a square in one of three places), unequal counts."""
    rng = np.random.default_rng(seed)
    counts = [n_per * 2, n_per, n_per]
    x, y = [], []
    for c, n in enumerate(counts):
        for _ in range(n):
            img = rng.uniform(0, 0.1, (16, 16))
            r, q = [(1, 1), (9, 9), (1, 9)][c]
            img[r : r + 6, q : q + 6] += 0.8
            x.append(img)
            y.append(c)
    return np.clip(np.stack(x), 0, 1).astype(np.float32), np.array(y)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    quiet_lightning()
    root = tmp_path_factory.mktemp("sl")
    x, y = blob_images()
    np.savez(root / "b.npz", images=x, labels=y)
    L.seed_everything(0, verbose=False)
    task = ReconstructionTask(
        model="autoencoder",
        model_kwargs={"in_channels": 1, "image_size": 16, "latent_dim": 6, "widths": [8, 16]},
        lr=1e-2,
    )
    fit(task, DataModule(open_data(f"npy:{root / 'b.npz'}"), 16), root / "ae", TrainConfig(epochs=2, progress=False))
    return root / "ae", root / "b.npz"


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_cli_round_trip_suggest_label_finetune_then_a_margin_round(trained, run_cli, tmp_path, capsys) -> None:
    run, npz = trained
    data = f"npy:{npz}"
    out = tmp_path / "to_label.csv"
    assert run_cli("suggest-labels", run, "--data", data, "--budget", "3", "--manifold", "none",
                   "--algorithm", "kmeans", "--out", out) == 0  # fmt: skip
    assert "aekit finetune" in capsys.readouterr().out
    rows = read_rows(out)
    assert len(rows) == 3 and list(rows[0]) == ["file", "cluster", "typicality", "label"]
    assert all(r["file"].startswith("npy:") and r["label"] == "" for r in rows)
    assert (tmp_path / "to_label_picks.png").is_file()
    meta = json.loads((tmp_path / "to_label.json").read_text())
    assert meta["config"]["budget"] == 3 and len(meta["picks"]) == 3
    # the "person": labels from the hidden truth (as names, e.g. a/b/c), written into the label column
    _, y = blob_images()
    names = ["square-top-left", "square-bottom-right", "square-top-right"]
    for r in rows:
        r["label"] = names[y[int(r["file"].split(":")[1])]]
    with open(out, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    ft = tmp_path / "ft"
    assert run_cli("finetune", run, "--data", data, "--labels", out, "--steps", "2", "--ft-epochs", "1",
                   "--ft-batch-size", "8", "--propagate", "cluster,self-train", "--propagate-manifold", "none",
                   "--self-train-rounds", "1", "--self-train-steps", "2", "--out", ft) == 0  # fmt: skip
    metrics = json.loads((ft / "metrics.json").read_text())
    assert [s["stage"] for s in metrics["stages"]] == ["finetune", "cluster", "self-train"]
    assert metrics["n_labeled"] == 3 and all("test_accuracy" in s for s in metrics["stages"])
    assert (ft / "cluster" / "best.ckpt").is_file() and (ft / "self_train" / "round_1" / "best.ckpt").is_file()
    assert aekit.load(ft).num_classes == len(set(r["label"] for r in rows))
    # round two: where the fine-tuned classifier is least sure, none of the first picks again
    out2 = tmp_path / "round2.csv"
    assert run_cli("suggest-labels", run, "--data", data, "--budget", "4", "--strategy", "margin", "--model", ft,
                   "--exclude", out, "--manifold", "none", "--out", out2) == 0  # fmt: skip
    rows2 = read_rows(out2)
    assert len(rows2) == 4 and "margin" in rows2[0]
    assert not {r["file"] for r in rows} & {r["file"] for r in rows2}
    margins = [float(r["margin"]) for r in rows2]
    assert margins == sorted(margins)
    assert sl.final_classifier(ft) == ft / "self_train" / "round_1" / "best.ckpt"  # the last stage's network ranks


def test_cli_refuses_bad_requests_in_one_line(trained, run_cli, tmp_path, capsys) -> None:
    run, npz = trained
    assert run_cli("suggest-labels", run, "--data", f"npy:{npz}", "--budget", "999", "--manifold", "none",
                   "--out", tmp_path / "x.csv") == 2  # fmt: skip
    assert "--budget 999 exceeds" in capsys.readouterr().err
    assert run_cli("suggest-labels", run, "--data", f"npy:{npz}", "--budget", "2", "--strategy", "margin") == 2
    assert "--model" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_text("file,label\nnowhere.png,1\n")
    assert run_cli("finetune", run, "--data", f"npy:{npz}", "--labels", bad, "--out", tmp_path / "ft") == 2
    err = capsys.readouterr().err
    assert "not in the pool" in err and "Traceback" not in err


def test_python_api_is_the_package_export(trained, tmp_path) -> None:
    run, npz = trained
    s = aekit.suggest_labels(run, f"npy:{npz}", tmp_path / "p", budget=2, manifold="none", algorithm="kmeans")
    assert len(s.names) == 2 and s.files["csv"] == tmp_path / "p" / "to_label.csv"
    with pytest.raises(TypeError, match="unknown setting"):
        aekit.suggest_labels(run, f"npy:{npz}", tmp_path / "p", budgt=2)


def test_explorer_marks_the_picks(trained, run_cli, tmp_path) -> None:
    from aekit.experiments.cluster import gather_ids
    from tests.test_explorer import page_parts

    run, npz = trained
    data = f"npy:{npz}"
    picks = tmp_path / "to_label.csv"
    assert run_cli("suggest-labels", run, "--data", data, "--budget", "3", "--manifold", "none", "--out", picks) == 0
    page = tmp_path / "page.html"
    assert run_cli("explore", run, "--data", data, "--map", "pca", "--k", "0", "--landmarks", "3", "--picks", picks,
                   "--out", page) == 0  # fmt: skip
    payload, _ = page_parts(page.read_text())
    ids = gather_ids(open_data(data), "all")
    assert len(payload["marked"]) == 3 and payload["n"] == len(ids)
    assert sorted(ids[i] for i in payload["marked"]) == sorted(r["file"] for r in read_rows(picks))
    elsewhere = tmp_path / "other.csv"
    elsewhere.write_text("file\nnowhere.png\n")
    assert run_cli("explore", run, "--data", data, "--picks", elsewhere, "--out", page) == 2


def test_fit_reducer_places_new_rows_in_the_same_space() -> None:
    from aekit.experiments.cluster import fit_reducer, reduce

    x, _ = blob_features()
    feats, place = fit_reducer(x, "pca", 3, seed=0)
    assert feats.shape == (len(x), 3) and np.allclose(place(x[:7]), feats[:7], atol=1e-4)
    assert np.allclose(reduce(x, "pca", 3, seed=0), feats)
    same, keep = fit_reducer(x, "none", 3)
    assert same is not None and np.array_equal(keep(x[:2]), x[:2])
