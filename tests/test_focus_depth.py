"""Depth from focus (issue 23): the DDFF-style model, the task, recipe, evaluate/predict/export, the baseline."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import aekit
from aekit.data.focalstack import render_focal_stack
from aekit.metrics import bumpiness, focus_depth_scores
from aekit.models.focus import DDFFNet, focus_measure_position, median_filter


def scene(folder: Path, seed: int, h: int = 40, w: int = 48) -> None:
    """A textured image over a depth map of a few fronto-parallel blocks."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(folder / "image.png")
    disp = np.full((h, w), 10.0, np.float32)
    for _ in range(3):
        y, x = rng.integers(0, h - 10), rng.integers(0, w - 10)
        disp[y : y + 12, x : x + 14] = rng.uniform(12, 30)
    np.save(folder / "depth.npy", disp)


@pytest.fixture
def scenes(tmp_path: Path) -> Path:
    for i in range(5):
        scene(tmp_path / "scenes" / f"s{i}", i)
    return tmp_path / "scenes"


@pytest.mark.parametrize("skip_mode", ["concat", "add", "none"])
@pytest.mark.parametrize("head", ["softargmax", "conv"])
def test_ddff_shapes_and_range(skip_mode: str, head: str) -> None:
    model = DDFFNet(slices=4, widths=(8, 16, 16), skip_mode=skip_mode, head=head).eval()
    with torch.no_grad():
        y = model(torch.rand(2, 12, 30, 37))
    assert y.shape == (2, 1, 30, 37) and float(y.min()) >= 0 and float(y.max()) <= 1
    assert model.in_channels == 12
    concat = DDFFNet(slices=4, widths=(8, 16, 16), skip_mode="concat")
    none = DDFFNet(slices=4, widths=(8, 16, 16), skip_mode="none")
    assert sum(p.numel() for p in concat.parameters()) > sum(p.numel() for p in none.parameters())
    with pytest.raises(ValueError, match="skip_mode"):
        DDFFNet(skip_mode="sum")


def test_slices_share_the_encoder() -> None:
    """Swapping two slices moves the per-slice evidence, not the learned measure: softargmax sees the swap."""
    torch.manual_seed(0)
    model = DDFFNet(slices=3, widths=(8, 8), head="softargmax").eval()
    x = torch.rand(1, 9, 16, 16)
    y = model(x)
    rev = model(x.reshape(1, 3, 3, 16, 16).flip(1).reshape(1, 9, 16, 16))
    assert torch.allclose(y, 1 - rev, atol=1e-5)  # reversed stack -> mirrored position


def test_focus_measure_finds_the_sharp_slice() -> None:
    rng = np.random.default_rng(0)
    img = rng.uniform(0, 1, (32, 32, 3))
    disp = np.full((32, 32), 10.0)
    disp[:, 16:] = 20.0
    focus = np.linspace(8, 22, 8)
    stack = render_focal_stack(img, disp, focus, aperture=0.8)
    x = torch.from_numpy(stack.transpose(0, 3, 1, 2).reshape(1, 24, 32, 32).copy())
    pos = focus_measure_position(x, 8, window=5)[0, 0]
    est = focus[0] + pos.numpy() * (focus[-1] - focus[0])
    assert np.median(np.abs(est[4:-4, 4:12] - 10)) < 1.5 and np.median(np.abs(est[4:-4, 20:28] - 20)) < 1.5


def test_median_filter_and_metrics() -> None:
    x = torch.zeros(1, 1, 7, 7)
    x[0, 0, 3, 3] = 5.0
    assert float(median_filter(x, 3).abs().max()) == 0 and torch.equal(median_filter(x, 1), x)
    gt = torch.full((8, 8), 2.0)
    s = focus_depth_scores(gt * 1.1, gt, torch.ones(8, 8, dtype=torch.bool))
    assert s["abs_rel"] == pytest.approx(0.1) and s["mse"] == pytest.approx(0.04) and s["delta1"] == 1.0
    assert s["bump"] == pytest.approx(0.0)  # a constant error is not bumpy
    bumpy = gt.clone()
    bumpy[::2] += 0.01
    assert bumpiness(bumpy, gt, torch.ones(8, 8, dtype=torch.bool)) > 1.0


@pytest.mark.slow
def test_train_evaluate_predict_export(scenes: Path, tmp_path: Path) -> None:
    cfg = aekit.recipes.FocusDepth(data=f"focalstack:{scenes}", slices=4, stack_scale=1.0, crop_size=32,
                                   crops_per_scene=4, widths=[8, 16], epochs=2, batch_size=4, test_groups="s4",
                                   val_groups="s3", progress=False, max_blur=6.0)  # fmt: skip
    run = aekit.train(cfg, out=tmp_path / "run")
    assert aekit.recipes.load(tmp_path / "run" / "config.yaml") == cfg
    metrics = aekit.evaluate(run, data=f"focalstack:{scenes}", figures=1)
    assert metrics["scenes"] == 1 and set(metrics["per_scene"]) == {"s4"}
    assert set(metrics["mean"]) == {"network", "focus_measure", "constant"}
    assert Path(metrics["figure"]).is_file()
    saved = json.loads((Path(metrics["figure"]).parent / "metrics.json").read_text())
    assert saved["mean"]["network"]["rmse"] == pytest.approx(metrics["mean"]["network"]["rmse"])
    # a real sweep (no GT) -> depth maps in the CSV's units
    sweep = tmp_path / "inputs" / "sweep"
    sweep.mkdir(parents=True)
    with open(sweep / "focus.csv", "w", newline="") as fh:
        wr = csv.writer(fh)
        wr.writerow(["file", "focus"])
        for k in range(4):
            Image.fromarray(np.full((20, 24, 3), 50 * k, np.uint8)).save(sweep / f"{k}.png")
            wr.writerow([f"{k}.png", 100 + 10 * k])
    written = aekit.predict(run, inputs=tmp_path / "inputs", out=tmp_path / "pred")
    pfm = next(p for p in written if p.suffix == ".pfm")
    from aekit.data.pfm import read_pfm

    depth = read_pfm(pfm)
    assert depth.shape == (20, 24) and depth.min() >= 100 and depth.max() <= 130
    result = aekit.export(run, format="onnx", out=tmp_path / "model.onnx")
    assert result.ok
