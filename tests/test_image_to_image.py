"""Super-resolution and depth: metrics by their definitions, data, models, CLI train/evaluate/predict."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import SHARED_DATA, needs_shared_data
from PIL import Image

import aekit
from aekit.cli.main import main
from aekit.data import open_data
from aekit.data.depth import read_depth
from aekit.data.pfm import read_pfm, write_pfm
from aekit.losses import masked_l1, silog_loss
from aekit.metrics import depth_scores, psnr, rgb_to_y, sr_prepare, sr_scores, ssim
from aekit.nn.resample import bicubic_down, bicubic_up, modcrop
from aekit.tasks import load_task


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    """One torch thread: on a shared, oversubscribed 2-core machine it is several times faster than two."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def smooth_image(h: int, w: int, seed: int = 0, freq: float = 1.0) -> torch.Tensor:
    """(3, H, W) in [0, 1]: a sum of low-frequency sinusoids (band-limited, so bicubic is near exact)."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    chans = []
    for _ in range(3):
        a, b, c, d = (torch.rand(4, generator=g) * 2 * math.pi * freq).tolist()
        chans.append(0.5 + 0.25 * torch.sin(a * xx + b * yy + c) + 0.2 * torch.cos(d * xx * yy * 3))
    return torch.stack(chans).clamp(0, 1)


def to8(x: torch.Tensor) -> torch.Tensor:
    return torch.round(x * 255) / 255


# -- super-resolution protocol ---------------------------------------------------------------------
def test_psnr_protocol_matches_hand_computation() -> None:
    hr = torch.randint(0, 256, (1, 3, 10, 11), generator=torch.Generator().manual_seed(1)).double() / 255
    sr = hr.clone()
    sr[0, 1, 4, 4] = (sr[0, 1, 4, 4] * 255 + (10 if sr[0, 1, 4, 4] < 0.5 else -10)) / 255  # G +-10 levels inside
    sr[0, :, 0, 0] = 1 - sr[0, :, 0, 0]  # border pixel: shaved away
    sr[0, :, :, 10] = 0  # column 10 is cut by modcrop to 9x9
    sr = sr[..., :9, :9]
    # scale 3: HR modcropped to 9x9, 3 pixels shaved -> the 3x3 centre; one pixel differs in Y by 128.553*10/255
    dy = 128.553 * 10 / 255
    expected = 10 * math.log10(255**2 / (dy**2 / 9))
    got = sr_scores(sr, hr, scale=3)["psnr"][0]
    assert got == pytest.approx(expected, abs=1e-6)


def test_y_channel_is_bt601() -> None:
    x = torch.tensor([1.0, 0.0, 0.0]).view(1, 3, 1, 1)
    assert float(rgb_to_y(x)) == pytest.approx(16 + 65.481)
    assert float(rgb_to_y(torch.ones(1, 3, 1, 1))) == pytest.approx(235.0, abs=1e-3)


def test_ssim_hand_computed_on_flat_images() -> None:
    # flat images: variances and covariance are 0, so SSIM = (2ab + C1) / (a^2 + b^2 + C1)
    a, b, c1 = 100.0, 120.0, (0.01 * 255) ** 2
    got = float(ssim(torch.full((1, 1, 16, 16), a), torch.full((1, 1, 16, 16), b)))
    assert got == pytest.approx((2 * a * b + c1) / (a**2 + b**2 + c1), abs=1e-9)


def test_ssim_matches_reference_definition() -> None:
    from skimage.metrics import structural_similarity  # a test dependency (pyproject [test])

    a = torch.rand(1, 1, 24, 30, generator=torch.Generator().manual_seed(0)) * 255
    b = (a + 20 * torch.randn(1, 1, 24, 30, generator=torch.Generator().manual_seed(1))).clamp(0, 255)
    ref = structural_similarity(
        a[0, 0].double().numpy(),
        b[0, 0].double().numpy(),
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        data_range=255,
    )
    assert float(ssim(a, b)) == pytest.approx(ref, abs=1e-6)
    assert float(ssim(a, a)) == pytest.approx(1.0)


def test_bicubic_beats_nearest_on_smooth_image() -> None:
    hr = modcrop(smooth_image(60, 72)[None], 3)
    lr = bicubic_down(hr, 3)
    assert lr.shape[-2:] == (20, 24)
    bic = sr_scores(bicubic_up(lr, 3), hr, 3)["psnr"][0]
    nearest = sr_scores(torch.nn.functional.interpolate(lr, scale_factor=3, mode="nearest"), hr, 3)["psnr"][0]
    assert bic > nearest + 2, (bic, nearest)


@pytest.mark.parametrize("name", ["unet_sr", "srcnn"])
def test_sr_model_starts_at_bicubic_and_keeps_any_size(name: str) -> None:
    model = aekit.create_model(name, scale=3).eval()
    lr = torch.rand(2, 3, 13, 17)
    with torch.no_grad():
        out = model(lr)
    assert out.shape == (2, 3, 39, 51)
    torch.testing.assert_close(out, bicubic_up(lr, 3))  # zero-initialised residual


def test_sr_model_overfits_one_image() -> None:
    torch.manual_seed(0)
    hr = smooth_image(32, 32, seed=3, freq=4.0)[None]
    lr = bicubic_down(hr, 2)
    model = aekit.create_model("unet_sr", scale=2, widths=[8, 16], blocks_per_stage=1)
    bicubic = sr_scores(bicubic_up(lr, 2), hr, 2)["psnr"][0]
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(150):
        opt.zero_grad()
        loss = torch.nn.functional.l1_loss(model(lr), hr)
        loss.backward()
        opt.step()
    with torch.no_grad():
        fitted = sr_scores(model(lr), hr, 2)["psnr"][0]
    assert fitted > 35 and fitted > bicubic + 6, (fitted, bicubic)


def write_hr_folder(root: Path, n: int = 4, size: tuple[int, int] = (40, 46)) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        img = (smooth_image(*size, seed=i, freq=3.0).permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
        Image.fromarray(img).save(root / f"img{i}.png")
    return root


def test_hr_data_pairs_and_augmentation(tmp_path: Path) -> None:
    splits = open_data(f"hr:{write_hr_folder(tmp_path / 'hr')}", scale=3, patch_size=24, patches_per_image=2)
    item = splits.train[0]
    assert item["image"].shape == (3, 8, 8) and item["target"].shape == (3, 24, 24)
    torch.testing.assert_close(item["image"], bicubic_down(item["target"], 3))
    assert len(splits.train) == 2 * 2 and len(splits.val) == 1 and len(splits.test) == 1
    rec = splits.info["splits"]  # val and test are held out of training (no fallback to a training image)
    assert len(set(rec["train"]) | set(rec["val"]) | set(rec["test"])) == 4
    full = splits.test[0]
    assert full["target"].shape == (3, 39, 45) and full["image"].shape == (3, 13, 15)
    every = open_data(f"hr:{tmp_path / 'hr'}", scale=3, val_fraction=0.0, test_fraction=1.0)  # a benchmark folder
    assert every.train is None and len(every.test) == 4


# -- depth -----------------------------------------------------------------------------------------
def test_depth_metrics_match_hand_computation_and_ignore_invalid() -> None:
    gt = torch.tensor([[1.0, 2.0, 4.0], [0.0, float("nan"), float("inf")]])
    pred = torch.tensor([[1.0, 1.0, 5.0], [7.0, 3.0, 0.5]])
    s = {k: v[0] for k, v in depth_scores(pred, gt).items()}
    assert s["abs_rel"] == pytest.approx((0 + 0.5 + 0.25) / 3)
    assert s["sq_rel"] == pytest.approx((0 + 1 / 2 + 1 / 4) / 3)
    assert s["rmse"] == pytest.approx(math.sqrt(2 / 3))
    assert s["rmse_log"] == pytest.approx(math.sqrt((math.log(2) ** 2 + math.log(1.25) ** 2) / 3))
    assert s["delta1"] == pytest.approx(1 / 3)  # ratios 1, 2, 1.25: 1.25 is not < 1.25
    assert s["delta2"] == pytest.approx(2 / 3) and s["delta3"] == pytest.approx(2 / 3)
    other = pred.clone()
    other[1] = torch.tensor([100.0, 0.01, 9.0])  # only invalid pixels change
    assert {k: v[0] for k, v in depth_scores(other, gt).items()} == s
    scaled = {k: v[0] for k, v in depth_scores(3 * gt.nan_to_num(0, 0, 0) + 0.0, gt, median_scaling=True).items()}
    assert scaled["abs_rel"] == pytest.approx(0, abs=1e-9) and scaled["delta1"] == 1.0


def test_depth_losses_mask_invalid_pixels() -> None:
    gt = torch.tensor([[[[1.0, 2.0], [0.0, 4.0]]]])
    valid = gt > 0
    pred = torch.tensor([[[[2.0, 2.0], [50.0, 4.0]]]])
    assert float(masked_l1(pred, gt, valid)) == pytest.approx(1 / 3)
    assert float(silog_loss(gt.clamp_min(1), gt, valid)) == pytest.approx(0, abs=1e-7)
    # lam=1 is fully scale invariant: a constant factor costs nothing
    assert float(silog_loss(2 * gt.clamp_min(1), gt, valid, lam=1.0)) == pytest.approx(0, abs=1e-6)
    assert float(silog_loss(pred, gt, valid)) > 0


def test_pfm_round_trip(tmp_path: Path) -> None:
    for shape in [(5, 7), (4, 6, 3)]:
        arr = np.random.default_rng(0).normal(size=shape).astype(np.float32)
        arr[0, 0] = np.inf
        write_pfm(tmp_path / "a.pfm", arr)
        back = read_pfm(tmp_path / "a.pfm")
        assert back.dtype == np.float32 and back.shape == shape
        np.testing.assert_array_equal(back, arr)
    # a big-endian file written by hand: bottom row first
    raw = b"Pf\n2 2\n1.0\n" + np.array([3, 4, 1, 2], dtype=">f4").tobytes()
    (tmp_path / "b.pfm").write_bytes(raw)
    np.testing.assert_array_equal(read_pfm(tmp_path / "b.pfm"), [[1, 2], [3, 4]])


def write_depth_folders(root: Path, n: int = 6, size: tuple[int, int] = (24, 32)) -> tuple[Path, Path]:
    images, depths = root / "images", root / "depths"
    images.mkdir(parents=True)
    depths.mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        img = smooth_image(*size, seed=i)
        Image.fromarray((img.permute(1, 2, 0).numpy() * 255).astype(np.uint8)).save(images / f"f{i}.png")
        depth = 1.0 + 3.0 * img[0].numpy()  # depth follows the red channel
        depth[0, :3] = 0  # missing
        if i % 3 == 0:
            Image.fromarray((depth * 1000).astype(np.uint16)).save(depths / f"f{i}.png")
        elif i % 3 == 1:
            np.save(depths / f"f{i}.npy", np.where(rng.random(depth.shape) < 0.05, np.nan, depth).astype(np.float32))
        else:
            write_pfm(depths / f"f{i}.pfm", depth)
    return images, depths


def test_depth_data_reads_png_npy_pfm(tmp_path: Path) -> None:
    images, depths = write_depth_folders(tmp_path)
    d_png = read_depth(depths / "f0.png", depth_scale=1000)
    assert d_png.dtype == np.float32 and 1 <= d_png[5, 5] <= 4 and d_png[0, 0] == 0
    d_npy = read_depth(depths / "f1.npy")
    assert np.isfinite(d_npy).all() and (d_npy == 0).any()
    splits = open_data(f"depth:{images},{depths}", depth_scale=1000)
    item = splits.train[0]
    assert item["image"].shape == (3, 24, 32) and item["target"].shape == (1, 24, 32)
    with pytest.raises(ValueError, match="no depth map"):
        (images / "extra.png").write_bytes((images / "f0.png").read_bytes())
        open_data(f"depth:{images},{depths}")


def test_unet_depth_is_positive_unet() -> None:
    model = aekit.create_model("unet_depth", widths=[8, 16], blocks_per_stage=1).eval()
    x = torch.rand(2, 3, 19, 23)
    y = model(x)
    assert y.shape == (2, 1, 19, 23) and (y > 0).all()
    unet = aekit.create_model("unet", out_channels=1, widths=[8, 16], blocks_per_stage=1)
    assert set(unet.state_dict()) == set(model.state_dict())


# -- command line ------------------------------------------------------------------------------------
@pytest.mark.precision
def test_cli_sr_train_evaluate_predict(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    hr = write_hr_folder(tmp_path / "hr", n=4, size=(36, 42))
    run = tmp_path / "run"
    common = ["--epochs", "1", "--batch-size", "4", "--no-progress", "--seed", "0"]
    args = ["train", "sr", "--data", f"hr:{hr}", "--scale", "3", "--patch-size", "24", "--patches-per-image", "2"]
    assert main([*args, "--widths", "8,16", "--blocks", "1", "--out", str(run), *common]) == 0
    assert main(["evaluate", str(run / "best.ckpt"), "--data", f"hr:{hr}", "--scale", "3"]) == 0
    out = capsys.readouterr().out
    assert "bicubic_psnr" in out and "mean" in out
    # the reported means are this model's and bicubic's PSNR(Y) on the evaluated images, recomputed here
    (ev,) = (run / "evaluations").glob("*-test")  # <data set>-<split>
    reported = json.loads((ev / "metrics.json").read_text())["mean"]
    model = aekit.load(run / "best.ckpt").eval()
    items = list(open_data(f"hr:{hr}", scale=3).test)
    with torch.no_grad():
        ours = [float(psnr(*sr_prepare(model(it["image"][None]), it["target"][None], 3))) for it in items]
    bic = [float(psnr(*sr_prepare(bicubic_up(it["image"][None], 3), it["target"][None], 3))) for it in items]
    assert reported["psnr"] == pytest.approx(np.mean(ours), abs=1e-4)
    assert reported["bicubic_psnr"] == pytest.approx(np.mean(bic), abs=1e-4)
    assert main(["evaluate", str(run / "best.ckpt"), "--data", f"hr:{hr}", "--scale", "2"]) == 2  # wrong scale

    small = tmp_path / "small"
    small.mkdir()
    for i, size in enumerate([(10, 12), (10, 12), (9, 7)]):
        Image.fromarray(np.full((*size, 3), 40 * i, np.uint8)).save(small / f"p{i}.png")
    assert main(["predict", str(run / "best.ckpt"), "--input", str(small), "--output", str(tmp_path / "big")]) == 0
    outs = sorted(p.name for p in (tmp_path / "big").iterdir())
    assert outs == ["p0.png", "p1.png", "p2.png"]
    assert Image.open(tmp_path / "big" / "p2.png").size == (21, 27)
    # never the input folder, and never a file that would overwrite an input
    assert main(["predict", str(run / "best.ckpt"), "--input", str(small), "--output", str(small)]) == 2
    assert main(["predict", str(run / "best.ckpt"), "--input", str(small / "p0.png"), "--output", str(small)]) == 2
    assert sorted(p.name for p in small.iterdir()) == ["p0.png", "p1.png", "p2.png"]


@pytest.mark.precision
def test_cli_depth_train_evaluate_predict(tmp_path: Path) -> None:
    images, depths = write_depth_folders(tmp_path / "d", n=6)
    run = tmp_path / "run"
    args = ["train", "depth", "--data", f"depth:{images},{depths}", "--depth-scale", "1000"]
    args += ["--widths", "8,16", "--blocks", "1", "--epochs", "1", "--batch-size", "2", "--no-progress"]
    assert main([*args, "--out", str(run)]) == 0
    assert main(["evaluate", str(run / "best.ckpt"), "--data", f"depth:{images},{depths}"]) == 0
    ev = run / "evaluations" / "d_images-test"  # named by data set and split
    assert (ev / "depth_examples.png").is_file()
    # AbsRel of this model on the recorded test images, recomputed pixel by pixel (valid depth only)
    result = json.loads((ev / "metrics.json").read_text())
    task = load_task(run / "best.ckpt")
    test = open_data(f"depth:{images},{depths}", depth_scale=1000, seed=0).test
    assert len(test) == len(json.loads((run / "splits.json").read_text())["test"])
    abs_rel = []
    with torch.no_grad():
        for it in test:
            pred, gt = task.model(it["image"][None])[0, 0].double(), it["target"][0].double()
            valid = torch.isfinite(gt) & (gt > 0)
            abs_rel.append(float(((pred[valid].clamp_min(1e-6) - gt[valid]).abs() / gt[valid]).mean()))
    assert result["images"] == len(test)
    assert result["mean"]["abs_rel"] == pytest.approx(np.mean(abs_rel), rel=1e-4)
    out = tmp_path / "pred"
    assert main(["predict", str(run / "best.ckpt"), "--input", str(images), "--output", str(out)]) == 0
    assert len(list(out.glob("*.pfm"))) == 6 and len(list(out.glob("*_depth.png"))) == 6
    assert read_pfm(out / "f0.pfm").shape == (24, 32)


@needs_shared_data("sr", "Set5")
def test_set5_bicubic_baseline_is_in_the_published_range() -> None:
    splits = open_data(f"hr:{SHARED_DATA / 'sr' / 'Set5'}", scale=3, val_fraction=0.0, test_fraction=1.0)
    scores = [float(psnr(*sr_prepare(bicubic_up(it["image"][None], 3), it["target"][None], 3))) for it in splits.test]
    # published with MATLAB imresize: 30.39 dB; the torch a=-0.5 antialiased bicubic lands within 0.1 dB
    assert abs(float(np.mean(scores)) - 30.39) < 0.1
