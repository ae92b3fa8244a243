"""``aekit train RECIPE ...`` and ``aekit.train(cfg)`` leave the same run directory (tiny synthetic data)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from conftest import blobs
from PIL import Image

import aekit
from aekit.cli.main import main
from aekit.recipes import Autoencoder, SuperResolution, UNet

COMMON = {"epochs": 1, "seed": 0, "progress": False}
FLAGS = ["--epochs", "1", "--seed", "0", "--no-progress"]


def _pairs(root: Path, n: int = 10) -> str:
    rng = np.random.default_rng(0)
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for i in range(n):
        mask = np.zeros((20, 20), np.uint8)
        r, c = rng.integers(2, 10, 2)
        mask[r : r + 8, c : c + 8] = 1
        img = (mask[..., None] * 180 + rng.integers(0, 60, (20, 20, 3))).astype(np.uint8)
        Image.fromarray(img).save(root / "images" / f"s{i}.png")
        Image.fromarray(mask).save(root / "masks" / f"s{i}.png")
    return f"pairs:{root / 'images'},{root / 'masks'}"


def _hr(root: Path) -> str:
    root.mkdir(parents=True)
    for i, img in enumerate(blobs(5, 36, channels=3, seed=1)):
        Image.fromarray(img).save(root / f"img{i}.png")
    return f"hr:{root}"


def _header(run: Path) -> list[str]:
    with open(run / "metrics.csv") as f:
        return next(csv.reader(f))


def _cases(tmp_path: Path, npy_file: Path) -> dict[str, tuple[object, list[str]]]:
    pairs, hr = _pairs(tmp_path / "seg"), _hr(tmp_path / "hr")
    return {
        "ae": (Autoencoder(data=f"npy:{npy_file}", widths=[8, 16], latent_dim=4, batch_size=16, **COMMON),
               ["train", "ae", "--data", f"npy:{npy_file}", "--widths", "8,16", "--latent-dim", "4",
                "--batch-size", "16"]),
        "unet": (UNet(data=pairs, widths=[8, 16], blocks=1, batch_size=4, **COMMON),
                 ["train", "unet", "--data", pairs, "--widths", "8,16", "--blocks", "1", "--batch-size", "4"]),
        "sr": (SuperResolution(data=hr, scale=2, patch_size=16, patches_per_image=2, widths=[8, 16], blocks=1,
                               batch_size=4, **COMMON),
               ["train", "sr", "--data", hr, "--scale", "2", "--patch-size", "16", "--patches-per-image", "2",
                "--widths", "8,16", "--blocks", "1", "--batch-size", "4"]),
    }  # fmt: skip


@pytest.mark.parametrize("name", ["ae", "unet", "sr"])
def test_cli_and_python_leave_the_same_run_directory(name: str, tmp_path: Path, npy_file: Path) -> None:
    cfg, argv = _cases(tmp_path, npy_file)[name]
    cli_run, py_run = tmp_path / "cli", tmp_path / "py"
    assert main([*argv, *FLAGS, "--out", str(cli_run)]) == 0
    result = aekit.train(cfg, out=py_run)
    assert result.run_dir == py_run and result.best_checkpoint.is_file() and result.last_checkpoint.is_file()
    a, b = (yaml.safe_load((r / "config.yaml").read_text()) for r in (cli_run, py_run))
    assert a["recipe"] == b["recipe"] == name
    assert a["args"] == b["args"] == result.config["args"]
    assert a["task"] == b["task"] and a["train"] == b["train"]
    assert _header(cli_run) == _header(py_run)
    assert sorted(p.name for p in cli_run.iterdir()) == sorted(p.name for p in py_run.iterdir())
    m1, m2 = aekit.load(cli_run), aekit.load(result)  # a run handle is a path
    s1, s2 = m1.state_dict(), m2.state_dict()
    assert s1.keys() == s2.keys()
    for k in s1:  # same seed, one thread: the same weights
        torch.testing.assert_close(s1[k], s2[k], msg=k)
    assert aekit.recipes.load(py_run / "config.yaml") == cfg


def test_train_by_name_with_keyword_overrides_and_the_tensorboard_logger(tmp_path: Path, npy_file: Path) -> None:
    run = aekit.train("ae", out=tmp_path / "r", data=f"npy:{npy_file}", widths=[8], latent_dim=2, batch_size=32,
                      logger="tensorboard", **COMMON)  # fmt: skip
    assert (run.run_dir / "metrics.csv").is_file() and "train/loss_epoch" in _header(run.run_dir)
    assert list((run.run_dir / "tensorboard").glob("events.out.tfevents.*"))
    assert run.config["args"]["logger"] == "tensorboard" and run.config["train"]["logger"] == "tensorboard"
    with pytest.raises(ValueError, match="latent_dim must be an integer"):
        aekit.train("ae", out=tmp_path / "bad", latent_dim="big")


def test_overrides_of_a_config_are_checked(tmp_path: Path) -> None:
    cfg = UNet(data="pairs:a,b")
    with pytest.raises(ValueError, match="unknown key.*epocs"):
        aekit.train(cfg, out=tmp_path, epocs=3)
