"""Commands run through ``aekit`` itself (not their library functions): models, train fcn, label-efficiency."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import aekit
from aekit.cli.main import main


def test_models_lists_every_registered_model(capsys) -> None:  # noqa: ANN001
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    names = aekit.list_models()
    assert len(names) >= 8 and all(name in out for name in names)


def _shapes(root: Path, n: int = 8, h: int = 24, w: int = 28) -> tuple[Path, Path]:
    """RGB images with one bright square (class 1) on a dark background (class 0)."""
    rng = np.random.default_rng(0)
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for i in range(n):
        mask = np.zeros((h, w), np.uint8)
        r, c = rng.integers(2, 12, 2)
        mask[r : r + 10, c : c + 10] = 1
        img = (mask[..., None] * 180 + rng.integers(0, 60, (h, w, 3))).astype(np.uint8)
        Image.fromarray(img).save(root / "images" / f"s{i}.png")
        Image.fromarray(mask).save(root / "masks" / f"s{i}.png")
    return root / "images", root / "masks"


def test_train_fcn_through_the_cli(tmp_path: Path) -> None:
    images, masks = _shapes(tmp_path / "d")
    run = tmp_path / "fcn"
    argv = ["train", "fcn", "--data", f"pairs:{images},{masks}", "--classes", "2", "--arch", "fcn8s", "--encoder",
            "basic", "--widths", "8,8,8,8,8", "--epochs", "1", "--batch-size", "4", "--out", str(run),
            "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    saved = json.loads((run / "model.json").read_text())
    assert saved["name"] == "fcn8s" and saved["kwargs"]["encoder"] == "basic"
    model = aekit.load(run)
    assert model(torch.rand(1, 3, 24, 28)).shape == (1, 2, 24, 28)
    # aekit predict with it keeps sub-folders apart: same-named inputs no longer overwrite each other
    photos = tmp_path / "photos"
    for sub in ("a", "b"):
        (photos / sub).mkdir(parents=True)
        Image.open(images / ("s0.png" if sub == "a" else "s1.png")).save(photos / sub / "x.png")
    assert main(["predict", str(run / "best.ckpt"), "--input", str(photos), "--output", str(tmp_path / "p")]) == 0
    a, b = (np.asarray(Image.open(tmp_path / "p" / sub / "x.png")) for sub in ("a", "b"))
    assert a.shape == b.shape == (24, 28) and (tmp_path / "p" / "overlay" / "b" / "x.png").is_file()


def test_label_efficiency_through_the_cli(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    y = np.arange(90) % 3
    x = np.zeros((90, 16, 16), np.float32)
    for i, c in enumerate(y):  # three classes: a bar at one of three heights
        x[i, 3 + 4 * c : 6 + 4 * c, 2:14] = 1
    x = np.clip(x + rng.normal(0, 0.05, x.shape), 0, 1).astype(np.float32)
    data = tmp_path / "toy.npz"
    np.savez(data, images=x, labels=y)
    out = tmp_path / "le"
    argv = ["label-efficiency", "--data", f"npy:{data}", "--labels-per-class", "1,3", "--seeds", "2",
            "--methods", "ae_probe,scratch,pca_logreg", "--latent-dim", "8", "--widths", "8,16",
            "--pretrain-epochs", "1", "--mode", "probe", "--steps", "2", "--ft-epochs", "1", "--ft-batch-size", "3",
            "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    summary = json.loads((out / "summary.json").read_text())
    cells = json.loads((out / "cells.json").read_text())["cells"]
    assert set(summary) == {"ae_probe", "scratch", "pca_logreg"}
    for method, by_k in summary.items():
        for k, entry in by_k.items():  # two seeds: the summary is their mean and sample std
            accs = [cells[f"{method}/{k}/{seed}"]["accuracy"] for seed in (0, 1)]
            assert entry["accuracy"]["mean"] == pytest.approx(np.mean(accs))
            assert entry["accuracy"]["std"] == pytest.approx(np.std(accs, ddof=1))
    assert any(cells[f"{m}/3/0"]["accuracy"] != cells[f"{m}/3/1"]["accuracy"] for m in summary)  # seeds differ
    assert cells["pca_logreg/3/0"]["n_labeled"] == 9
    assert (out / "results.md").is_file() and (out / "accuracy_vs_labels.png").is_file()
