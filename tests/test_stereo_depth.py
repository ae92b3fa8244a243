"""Monocular depth from stereo pairs: synthetic data, warping/losses, data layouts, metrics, model, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import SHARED_DATA, needs_shared_data
from PIL import Image

import aekit
from aekit.data import open_data
from aekit.data.base import DataError
from aekit.data.pfm import read_pfm, write_pfm
from aekit.data.stereo import StereoAugment, find_stereo_pairs, flip_pair, load_pair, read_middlebury_calib
from aekit.data.synthetic import SyntheticStereoDataset, render_stereo_pair, write_synthetic_stereo_folder
from aekit.losses import StereoLoss, photometric_error, stereo_loss, warp_horizontal
from aekit.metrics import BadPixelRate, EndPointError, depth_errors, disparity_errors, median_scale
from aekit.tasks import load_task
from aekit.tasks.stereo_depth import infer_disparity


def _pair(seed: int = 1, h: int = 64, w: int = 96) -> dict[str, torch.Tensor]:
    return SyntheticStereoDataset(1, h, w, seed=seed)[0]


def _reconstruction_error(item: dict[str, torch.Tensor], shift_px: float = 0.0) -> tuple[float, float]:
    w = item["left"].shape[-1]
    d = (item["disparity"][None] + shift_px) / w
    rec = warp_horizontal(item["right"][None], d)
    err = (rec - item["left"][None]).abs().mean(1)[0]
    m = item["nonocc"][0] > 0
    return float(err[m].mean()), float(err[~m].mean()) if (~m).any() else float("nan")


# -- synthetic generator and warping ---------------------------------------------------------------------


def test_warping_right_with_true_disparity_reproduces_left_except_occlusions() -> None:
    for seed in (1, 2, 3):
        item = _pair(seed)
        nonocc_err, occ_err = _reconstruction_error(item)
        assert nonocc_err < 0.01, nonocc_err  # bilinear sampling of sub-pixel shifts is the only error
        assert 0.2 < item["nonocc"].mean() < 1.0  # objects occlude part of the background
        if not np.isnan(occ_err):
            assert occ_err > 3 * nonocc_err
        assert _reconstruction_error(item, 2.0)[0] > 5 * nonocc_err


def test_synthetic_right_disparity_is_consistent() -> None:
    r = render_stereo_pair(5, 48, 64)
    h, w = r["disparity"].shape
    # for non-occluded left pixels, the right disparity at x - d equals d (nearest pixel, exact layers)
    ys, xs = np.nonzero(r["nonocc"])
    xr = np.round(xs - r["disparity"][ys, xs]).astype(int)
    ok = (xr >= 0) & (xr < w)
    diff = np.abs(r["disparity_right"][ys[ok], xr[ok]] - r["disparity"][ys[ok], xs[ok]])
    assert np.median(diff) < 0.2
    assert r["disparity"].min() > 0 and r["disparity"].max() <= 0.12 * w + 1e-3


def test_synthetic_data_kind_splits_are_disjoint_and_deterministic() -> None:
    a = open_data("synthetic-stereo:10", image_size="32,48", flip=False)
    b = open_data("synthetic-stereo:10", image_size="32,48", flip=False)
    assert len(a.train) == 8 and len(a.val) == 1 and len(a.test) == 1
    assert torch.equal(a.train[0]["left"], b.train[0]["left"])
    # every pair of every split is a different scene: no rendered pair is in two splits
    lefts = [d[i]["left"] for d in (a.train, a.val, a.test) for i in range(len(d))]
    assert len(lefts) == 10
    assert all(not torch.equal(lefts[i], lefts[j]) for i in range(10) for j in range(i + 1, 10))
    assert a.train[0]["left"].shape == (3, 32, 48) and a.info["calibration"]["focal"] == 48


# -- losses ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["l1", "l2", "ssim_l1"])
def test_photometric_loss_is_lowest_at_true_disparity(kind: str) -> None:
    item = _pair(4)
    left, right, w = item["left"][None], item["right"][None], item["left"].shape[-1]
    m = item["nonocc"][None]

    def loss(shift: float) -> float:
        rec = warp_horizontal(right, (item["disparity"][None] + shift) / w)
        return float((photometric_error(kind, rec, left) * m).sum() / m.sum())

    true = loss(0.0)
    for shift in (-3.0, -1.0, -0.5, 0.5, 1.0, 3.0):
        assert loss(shift) > true, (kind, shift)


def test_stereo_loss_prefers_true_disparity_and_presets() -> None:
    item = _pair(6)
    left, right, w = item["left"][None], item["right"][None], item["left"].shape[-1]
    true = item["disparity"][None] / w
    for preset in ("garg", "ssim_l1"):
        fn = stereo_loss(preset)
        good, _ = fn(left, right, [true])
        bad, _ = fn(left, right, [true * 0 + true.mean()])
        assert good < bad, preset
    assert stereo_loss("garg").photometric == "l2" and not stereo_loss("garg").edge_aware
    assert stereo_loss("godard").needs_right_disparity
    assert stereo_loss("ssim_l1", smoothness=0.5).smoothness == 0.5
    with pytest.raises(ValueError, match="unknown stereo loss"):
        stereo_loss("nope")
    # left-right consistency is zero when right disparity is the left one warped (constant maps agree)
    const = torch.full((1, 2, 16, 24), 0.1)
    _, parts = StereoLoss(lr_consistency=1.0, scales=1)(torch.rand(1, 3, 16, 24), torch.rand(1, 3, 16, 24), [const])
    assert float(parts["lr_consistency"]) < 1e-6


def test_warp_is_differentiable_towards_true_disparity() -> None:
    item = _pair(7)
    left, right, w = item["left"][None], item["right"][None], item["left"].shape[-1]
    d = ((item["disparity"][None] + 0.7) / w).requires_grad_(True)
    fn = StereoLoss(photometric="l1", smoothness=0.0, scales=1)
    loss, _ = fn(left, right, [d])
    loss.backward()
    # the gradient on non-occluded pixels points towards lower disparity (the truth) on average
    assert float((d.grad * item["nonocc"][None]).sum()) > 0


# -- augmentation ----------------------------------------------------------------------------------------


def test_flip_swaps_and_mirrors_the_views() -> None:
    item = _pair(8)
    f = flip_pair(item)
    assert torch.equal(f["left"], item["right"].flip(-1))
    assert torch.equal(f["right"], item["left"].flip(-1))
    # still a valid rectified pair: the new disparity re-creates the new left view
    assert _reconstruction_error({**f, "nonocc": (f["valid"] * 0 + 1) * (f["disparity"] > 0)})[0] < 0.05
    # without a right-view disparity the GT becomes unknown rather than wrong
    g = flip_pair({k: v for k, v in item.items() if k != "disparity_right"})
    assert float(g["has_gt"]) == 0 and float(g["valid"].sum()) == 0


def test_augment_crops_both_views_at_the_same_place_and_jitters_identically() -> None:
    item = _pair(9)
    item["right"] = item["left"].clone()  # identical views stay identical under paired augmentation
    torch.manual_seed(0)
    out = StereoAugment(flip=True, jitter=0.3, crop=(32, 40))(item)
    assert out["left"].shape == (3, 32, 40) and out["disparity"].shape == (1, 32, 40)
    assert torch.equal(out["left"], out["right"])
    with pytest.raises(DataError, match="crop"):
        StereoAugment(crop=(100, 100))(item)


# -- PFM, folders, calibration, bad input ----------------------------------------------------------------


def test_pfm_round_trip_and_orientation(tmp_path: Path) -> None:
    grey = np.arange(12, dtype=np.float32).reshape(3, 4)
    grey[0, 0] = np.inf
    write_pfm(tmp_path / "g.pfm", grey)
    back = read_pfm(tmp_path / "g.pfm")
    assert back.dtype == np.float32 and back.shape == (3, 4)
    np.testing.assert_array_equal(back, grey)
    colour = np.random.default_rng(0).random((5, 2, 3)).astype(np.float32)
    write_pfm(tmp_path / "c.pfm", colour)
    np.testing.assert_array_equal(read_pfm(tmp_path / "c.pfm"), colour)
    # a hand-written big-endian file: rows are stored bottom first
    raw = b"Pf\n2 2\n1.0\n" + np.array([[3, 4], [1, 2]], dtype=">f4").tobytes()
    (tmp_path / "be.pfm").write_bytes(raw)
    np.testing.assert_array_equal(read_pfm(tmp_path / "be.pfm"), [[1, 2], [3, 4]])
    (tmp_path / "bad.pfm").write_bytes(b"P6\n1 1\n255\n\x00\x00\x00")
    with pytest.raises(DataError, match="not a PFM"):
        read_pfm(tmp_path / "bad.pfm")


def _save(path: Path, arr: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)


def test_folder_layouts_calibration_and_ground_truth(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (20, 30, 3), dtype=np.uint8)
    # Middlebury v3 layout with calib.txt and a PFM ground truth (inf = unknown)
    s = tmp_path / "mb" / "SceneA"
    _save(s / "im0.png", img)
    _save(s / "im1.png", img)
    gt = np.full((20, 30), 6.0, np.float32)
    gt[:2, :6] = np.inf
    write_pfm(s / "disp0GT.pfm", gt)
    (s / "calib.txt").write_text(
        "cam0=[100 0 15; 0 100 10; 0 0 1]\ncam1=[100 0 17; 0 100 10; 0 0 1]\n"
        "doffs=2\nbaseline=50\nwidth=30\nheight=20\n"
    )
    (pair,) = find_stereo_pairs(tmp_path / "mb")
    assert pair.calib.focal == 100 and pair.calib.baseline == 50 and pair.calib.doffs == 2
    item = load_pair(pair, (10, 15))  # half size: disparity, focal and doffs halve
    assert float(item["disparity"].max()) == pytest.approx(3.0)
    assert float(item["focal"]) == 50 and float(item["doffs"]) == 1
    assert item["valid"][0, 0, :2].sum() == 0 and item["valid"].mean() > 0.9
    # KITTI layout
    k = tmp_path / "kitti" / "drive1"
    for cam in ("image_02", "image_03"):
        for name in ("0001.png", "0002.png"):
            _save(k / cam / "data" / name, img)
    pairs = find_stereo_pairs(tmp_path / "kitti")
    assert len(pairs) == 2 and pairs[0].right.parts[-3] == "image_03"
    splits = open_data(f"stereo:{tmp_path / 'kitti'}", test_fraction=1.0, val_fraction=0.0)
    assert len(splits.test) == 2 and float(splits.test[0]["has_gt"]) == 0


def test_bad_pairs_give_clear_errors(tmp_path: Path) -> None:
    img = np.zeros((20, 30, 3), np.uint8)
    _save(tmp_path / "a" / "s1" / "left.png", img)
    with pytest.raises(DataError, match="no right image"):
        find_stereo_pairs(tmp_path / "a")
    _save(tmp_path / "b" / "s1" / "left.png", img)
    _save(tmp_path / "b" / "s1" / "right.png", np.zeros((20, 31, 3), np.uint8))
    with pytest.raises(DataError, match="same size"):
        open_data(f"stereo:{tmp_path / 'b'}", test_fraction=1.0)
    _save(tmp_path / "c" / "s1" / "im0.png", img)
    _save(tmp_path / "c" / "s1" / "im1.png", img)
    (tmp_path / "c" / "s1" / "calib.txt").write_text("focal: 100\n")
    with pytest.raises(DataError, match="calib.txt lacks cam0"):
        find_stereo_pairs(tmp_path / "c")
    (tmp_path / "c" / "s1" / "calib.txt").write_text("cam0=[abc]\nbaseline=1\n")
    with pytest.raises(DataError, match="unreadable"):
        read_middlebury_calib(tmp_path / "c" / "s1" / "calib.txt")
    with pytest.raises(DataError, match="does not exist"):
        find_stereo_pairs(tmp_path / "missing")
    with pytest.raises(DataError, match="no stereo pairs"):
        find_stereo_pairs(_empty(tmp_path))
    _save(tmp_path / "d" / "s1" / "im0.png", img)
    _save(tmp_path / "d" / "s1" / "im1.png", img)
    with pytest.raises(DataError, match="--focal and --baseline"):
        open_data(f"stereo:{tmp_path / 'd'}", focal=100.0)


def _empty(tmp_path: Path) -> Path:
    (tmp_path / "empty" / "x").mkdir(parents=True)
    return tmp_path / "empty"


# -- metrics ---------------------------------------------------------------------------------------------


def test_metrics_match_hand_computed_values() -> None:
    gt = torch.tensor([[1.0, 2.0, 4.0, 0.0]])  # last pixel unknown
    pred = torch.tensor([[1.5, 5.0, 4.0, 9.0]])
    e = disparity_errors(pred, gt)
    assert e["epe"] == pytest.approx((0.5 + 3 + 0) / 3)
    assert e["bad1"] == pytest.approx(100 / 3) and e["bad2"] == pytest.approx(100 / 3) and e["bad4"] == 0
    mask = torch.tensor([[1.0, 0.0, 1.0, 1.0]])
    assert disparity_errors(pred, gt, mask)["epe"] == pytest.approx(0.25)
    epe, bad = EndPointError(), BadPixelRate(2.0)
    epe.update(pred, gt)
    bad.update(pred, gt)
    assert float(epe.compute()) == pytest.approx(3.5 / 3) and float(bad.compute()) == pytest.approx(100 / 3)
    d = depth_errors(torch.tensor([2.0, 4.0, 1.0]), torch.tensor([2.0, 2.0, 0.0]))
    assert d["abs_rel"] == pytest.approx(0.5) and d["rmse"] == pytest.approx(np.sqrt(2)) and d["delta1"] == 50
    scaled = median_scale(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([2.0, 4.0, 6.0]))
    assert torch.allclose(scaled, torch.tensor([2.0, 4.0, 6.0]))


# -- model -----------------------------------------------------------------------------------------------


def test_disparity_unet_any_size_bounded_and_multiscale() -> None:
    m = aekit.create_model(
        "disparity_unet",
        widths=[8, 16, 32, 32],
        num_scales=3,
        max_disparity=0.2,
        predict_right=True,
        upsample="transposed",
    )
    x = torch.rand(2, 3, 37, 53)
    with torch.no_grad():
        y = m(x)
    assert y.shape == (2, 1, 37, 53) and float(y.min()) >= 0 and float(y.max()) <= 0.2
    outs = m.forward_multiscale(x)
    assert [o.shape[-2:] for o in outs] == [(37, 53), (19, 27), (10, 14)] and outs[0].shape[1] == 2
    m.eval()
    assert torch.allclose(m(x), m.forward_multiscale(x)[0][:, :1])
    with pytest.raises(ValueError, match="fraction of the image width"):
        aekit.create_model("disparity_unet", max_disparity=5)


# -- CLI -------------------------------------------------------------------------------------------------


@pytest.mark.precision
def test_cli_train_evaluate_predict(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from aekit.cli.main import main

    write_synthetic_stereo_folder(tmp_path / "pairs", n=5, height=32, width=48)
    run = tmp_path / "run"
    rc = main(
        [
            "train",
            "stereo-depth",
            "--data",
            f"stereo:{tmp_path / 'pairs'}",
            "--out",
            str(run),
            "--epochs",
            "1",
            "--batch-size",
            "2",
            "--widths",
            "8,16,16",
            "--blocks",
            "1",
            "--no-progress",
            "--val-fraction",
            "0.2",
            "--loss",
            "godard",
        ]
    )
    assert rc == 0 and (run / "best.ckpt").is_file() and (run / "model.safetensors").is_file()
    model = aekit.load(run)
    assert model(torch.rand(1, 3, 32, 48)).shape == (1, 1, 32, 48)
    rc = main(
        [
            "evaluate",
            str(run / "best.ckpt"),
            "--data",
            f"stereo:{tmp_path / 'pairs'}",
            "--out",
            str(tmp_path / "ev"),
            "--median-scaling",
            "--split",
            "all",  # the training folder itself: by default only its recorded test split is scored
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0 and "scene_004" in out and "median scaling: yes" in out
    rows = json.loads((tmp_path / "ev" / "metrics.json").read_text())["rows"]
    # scene_000 recomputed by hand: network at its training width, per-image median scaling, EPE on nonocc
    pairs = open_data(f"stereo:{tmp_path / 'pairs'}", test_fraction=1.0, val_fraction=0.0).test
    item = pairs[[p.name for p in pairs.pairs].index("scene_000")]
    task = load_task(run / "best.ckpt")
    pred = infer_disparity(task.model, item["left"], task.metadata.get("infer_width"))[0]
    valid = (item["nonocc"] > 0) & (item["disparity"] > 0)
    pred = pred * (item["disparity"][valid].median() / pred[valid].median())
    epe = float((pred - item["disparity"])[valid].abs().mean())
    by_scene = {r["scene"]: r for r in rows}
    assert by_scene["scene_000"]["epe"] == pytest.approx(epe, rel=1e-4)
    assert by_scene["mean (per scene)"]["epe"] == pytest.approx(np.mean([r["epe"] for r in rows[:-1]]))
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.open(tmp_path / "pairs" / "scene_000" / "left.png").save(photos / "a.png")
    rc = main(["predict", str(run / "best.ckpt"), "--input", str(photos), "--output", str(tmp_path / "d")])
    assert rc == 0 and read_pfm(tmp_path / "d" / "a_disparity.pfm").shape == (32, 48)
    rc = main(
        [
            "predict",
            str(run / "best.ckpt"),
            "--input",
            str(photos),
            "--output",
            str(tmp_path / "z"),
            "--focal",
            "48",
            "--baseline",
            "0.1",
        ]
    )
    depth = read_pfm(tmp_path / "z" / "a_depth.pfm")
    disp = read_pfm(tmp_path / "d" / "a_disparity.pfm")
    assert rc == 0 and np.allclose(depth, 4.8 / disp, rtol=1e-4)
    assert Image.open(tmp_path / "z" / "a_depth.png").mode == "RGB"
    # errors are one line, not a traceback
    assert main(["evaluate", str(run / "best.ckpt"), "--data", f"stereo:{tmp_path / 'nope'}"]) == 2


@needs_shared_data("stereo", "middlebury2001_2003")
def test_shared_middlebury_reads_with_gt_and_masks() -> None:
    splits = open_data(f"stereo:{SHARED_DATA / 'stereo' / 'middlebury2001_2003'}", test_fraction=1.0, val_fraction=0.0)
    names = [p.name for p in splits.test.pairs]
    assert names == ["cones", "teddy", "tsukuba", "venus"]
    item = splits.test[names.index("tsukuba")]
    assert item["left"].shape == (3, 288, 384) and float(item["has_gt"]) == 1
    assert 0.5 < float(item["nonocc"].mean()) < float(item["valid"].mean()) <= 0.8


def test_disparity_unet_exports_to_onnx_as_one_tensor() -> None:
    import io

    import onnxruntime as ort

    m = aekit.create_model("disparity_unet", widths=[8, 16, 16]).eval()  # num_scales clipped to 2
    assert len(m.forward_multiscale(torch.rand(1, 3, 32, 48))) == 2
    x = torch.rand(1, 3, 32, 48)
    buf = io.BytesIO()
    torch.onnx.export(m, (x,), buf, input_names=["image"], output_names=["disparity"], dynamo=False)
    (y,) = ort.InferenceSession(buf.getvalue()).run(None, {"image": x.numpy()})
    with torch.no_grad():
        assert np.allclose(y, m(x).numpy(), atol=1e-5)


def test_kitti_calibration_from_calib_cam_to_cam(tmp_path: Path) -> None:
    """KITTI raw keeps calib_cam_to_cam.txt per date, above the drive folder: focal and baseline of cameras 2/3."""
    img = np.zeros((20, 30, 3), np.uint8)
    date = tmp_path / "2011_09_26"
    drive = date / "2011_09_26_drive_0001_sync"
    for cam in ("image_02", "image_03"):
        _save(drive / cam / "data" / "0000000000.png", img)
    (pair,) = find_stereo_pairs(date)
    assert pair.calib is None  # no calibration file anywhere: depth needs --focal/--baseline
    # the numbers of the real 2011_09_26 file (P_rect_02, P_rect_03): baseline 0.532 m
    (date / "calib_cam_to_cam.txt").write_text(
        "calib_time: 09-Jan-2012 13:57:47\n"
        "P_rect_02: 7.215377e+02 0.000000e+00 6.095593e+02 4.485728e+01 0 7.215377e+02 1.728540e+02 "
        "2.163791e-01 0 0 1 2.745884e-03\n"
        "P_rect_03: 7.215377e+02 0.000000e+00 6.095593e+02 -3.395242e+02 0 7.215377e+02 1.728540e+02 "
        "2.199936e+00 0 0 1 2.729905e-03\n"
    )
    (pair,) = find_stereo_pairs(drive)  # the drive folder given: the file one level up is found
    assert pair.calib.focal == pytest.approx(721.5377)
    assert pair.calib.baseline == pytest.approx((44.85728 + 339.5242) / 721.5377)
    assert float(pair.calib.depth(np.array([10.0]))[0]) == pytest.approx(721.5377 * pair.calib.baseline / 10)
    (date / "calib_cam_to_cam.txt").write_text("P_rect_02: 1 2 3\n")
    with pytest.raises(DataError, match="calib_cam_to_cam.txt is unreadable"):
        find_stereo_pairs(drive)
