"""Your own images, end to end: messy folders through the CLI for every problem, with no traceback.

Folders are generated here: odd sizes, grayscale/RGB/RGBA mixed, every mask format, a NaN array and
broken configs. Each problem trains one epoch of a tiny model, evaluates on its recorded test split and
predicts at native size.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import aekit
from aekit.cli.main import main
from aekit.data import open_data
from aekit.data.base import DataError
from aekit.data.module import pad_collate
from aekit.data.splits import SplitSpec, assign_splits

SIZES = [(23, 17), (31, 29), (40, 36), (26, 44), (33, 21), (28, 28), (19, 37), (35, 30), (24, 40), (30, 22)]
MODES = ["L", "RGB", "RGBA"]
TINY = ["--epochs", "1", "--batch-size", "3", "--no-progress"]


def _scene(h: int, w: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """An RGB image with a bright disc on a dark textured background, and the disc's 0/1 mask."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    cy, cx, r = rng.uniform(0.3, 0.7) * h, rng.uniform(0.3, 0.7) * w, min(h, w) * rng.uniform(0.2, 0.35)
    mask = ((yy - cy) ** 2 + (xx - cx) ** 2 < r**2).astype(np.uint8)
    img = rng.integers(0, 60, (h, w, 3)).astype(np.uint8)
    img[mask > 0] = rng.integers(170, 255, 3)
    return img, mask


def write_mixed_images(folder: Path, n: int = 10, prefix: str = "") -> list[Path]:
    """Images of odd sizes, cycling grayscale / RGB / RGBA modes."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for i in range(n):
        h, w = SIZES[i % len(SIZES)]
        img, _ = _scene(h, w, i)
        f = folder / f"{prefix}im{i:02d}.png"
        Image.fromarray(img).convert(MODES[i % 3]).save(f)
        files.append(f)
    return files


def write_seg_folder(root: Path, fmt: str, n: int = 10, names: list[str] | None = None) -> tuple[Path, Path]:
    """images/ + masks/ with masks in ``fmt``: binary255, binary01, index, palette or colour."""
    images, masks = root / "images", root / "masks"
    images.mkdir(parents=True, exist_ok=True)
    masks.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        h, w = SIZES[i % len(SIZES)]
        img, mask = _scene(h, w, i)
        stem = names[i] if names else f"im{i:02d}"
        Image.fromarray(img).convert(MODES[i % 3]).save(images / f"{stem}.png")
        if fmt == "index":  # three classes: background, disc, a bar on the left
            mask = mask.copy()
            mask[:, :3] = 2
        if fmt == "binary255":
            Image.fromarray(mask * 255).save(masks / f"{stem}.png")
        elif fmt in ("binary01", "index"):
            Image.fromarray(mask).save(masks / f"{stem}.png")
        elif fmt == "palette":
            p = Image.fromarray(mask, mode="L").convert("P")
            p.putpalette([0, 0, 0, 200, 30, 30] + [0] * 762)
            p.save(masks / f"{stem}.png")
        elif fmt == "colour":
            rgb = np.zeros((h, w, 3), np.uint8)
            rgb[mask > 0] = (255, 0, 0)
            Image.fromarray(rgb).save(masks / f"{stem}.png")
    return images, masks


def _json(path: Path) -> dict:
    return json.loads(path.read_text())


def _recorded(data: str, run: Path, split: str = "test", **options: object) -> object:
    """The items of ``split`` in the run's splits.json, opened as the data layer opens them."""
    return open_data(data, splitting=SplitSpec(record=_json(run / "splits.json")), **options).split(split)


def _iou(run: Path, dataset: object) -> dict[str, float]:
    """Per-class IoU of the run's best checkpoint over ``dataset``, from one confusion matrix (numpy)."""
    from aekit.tasks import load_task

    task = load_task(run / "best.ckpt").eval()
    k = task.hparams.num_classes
    confusion = np.zeros((k, k), np.int64)
    for i in range(len(dataset)):
        item = dataset[i]
        pred = task.predict_labels(item["image"][None])[0].numpy().ravel()
        gt = item["mask"].numpy().ravel()
        ok = (gt >= 0) & (gt < k)
        confusion += np.bincount(k * gt[ok] + pred[ok], minlength=k * k).reshape(k, k)
    tp = np.diag(confusion)
    union = confusion.sum(0) + confusion.sum(1) - tp
    return {str(c): float(tp[c] / union[c]) for c in range(k) if confusion[c].sum() > 0}


# -- segmentation --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["binary255", "binary01", "index", "palette"])
def test_mask_formats_are_detected(tmp_path: Path, fmt: str) -> None:
    images, masks = write_seg_folder(tmp_path, fmt)
    splits = open_data(f"pairs:{images},{masks}")
    assert splits.info["num_classes"] == (3 if fmt == "index" else 2)
    assert splits.info["mask_format"] == {"binary255": "binary", "palette": "palette"}.get(fmt, "index")
    values = set()
    for ds in (splits.train, splits.val, splits.test):
        values |= {int(v) for m in ds.masks for v in np.unique(m)}
    assert values == ({0, 1, 2} if fmt == "index" else {0, 1})


def test_colour_masks_name_the_palette_flag_and_ambiguous_values_name_theirs(tmp_path: Path) -> None:
    images, masks = write_seg_folder(tmp_path / "c", "colour")
    with pytest.raises(DataError, match="--palette"):
        open_data(f"pairs:{images},{masks}")
    palette = tmp_path / "palette.csv"
    palette.write_text("index,name,r,g,b\n0,background,0,0,0\n1,disc,255,0,0\n")
    assert open_data(f"pairs:{images},{masks}", palette=str(palette)).info["num_classes"] == 2
    images, masks = write_seg_folder(tmp_path / "v", "index")
    m = np.asarray(Image.open(masks / "im00.png")).copy()
    m[0, 0] = 255  # 0,1,2 and 255: void or a class?
    Image.fromarray(m).save(masks / "im00.png")
    with pytest.raises(DataError, match="--ignore-index 255"):
        open_data(f"pairs:{images},{masks}")
    assert open_data(f"pairs:{images},{masks}", ignore_index=255).info["num_classes"] == 3


def test_mixed_sizes_crop_pad_and_collate(tmp_path: Path) -> None:
    images, masks = write_seg_folder(tmp_path, "binary255")
    splits = open_data(f"pairs:{images},{masks}", crop_size=32)
    assert splits.info["ignore_index"] == 255 and "crops" in splits.info["decisions"]["size"]
    item = splits.train[0]  # 23x17 image padded into a 32x32 crop: the padding is ignored
    assert item["image"].shape[-2:] == (32, 32) and (item["mask"] == 255).any()
    batch = pad_collate([splits.test[0], splits.val[0]], {"mask": 255})
    assert batch["mask"].shape[0] == 2 and (batch["mask"] == 255).any()
    with pytest.raises(DataError, match="--ignore-index"):
        pad_collate([splits.test[0], splits.val[0]], {})


def test_segmentation_end_to_end_on_a_messy_folder(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    images, masks = write_seg_folder(tmp_path / "nuclei", "binary255")
    run = tmp_path / "run"
    old = os.umask(0o022)
    try:
        rc = main(["train", "unet", "--data", f"pairs:{images},{masks}", "--widths", "4,8", "--blocks", "1",
                   "--out", str(run), *TINY])  # fmt: skip
    finally:
        os.umask(old)
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert "epoch 1/1" in out.out and "about" in out.out  # one line per epoch without a terminal; estimate
    assert "Tip" not in out.out + out.err and "Traceback" not in out.err
    decisions = _json(run / "decisions.json")
    assert {"size", "mask_format", "split", "precision", "channels"} <= set(decisions)
    for name in ("config.yaml", "splits.json", "decisions.json", "model.safetensors", "model.json", "last.ckpt"):
        assert stat.S_IMODE((run / name).stat().st_mode) == 0o644, name  # readable by the group (umask 022)
    rec = _json(run / "splits.json")
    assert len(rec["train"]) == 8 and len(rec["val"]) == 1 and len(rec["test"]) == 1
    assert main(["evaluate", str(run / "best.ckpt"), "--data", f"pairs:{images},{masks}"]) == 0
    ev = _json(run / "evaluations" / "nuclei_images-test" / "metrics.json")
    assert ev["images"] == 1 and ev["split"] == "test"
    # the recorded test image, its 255 pixels class 1 (not ignored): IoU recomputed from the checkpoint
    expected = _iou(run, _recorded(f"pairs:{images},{masks}", run))
    assert set(expected) == {"0", "1"}
    assert {k: v for k, v in ev["per_class_iou"].items() if v is not None} == pytest.approx(expected, abs=1e-4)
    other_images, other_masks = write_seg_folder(tmp_path / "other", "binary01", n=4)
    assert main(["evaluate", str(run / "best.ckpt"), "--data", f"pairs:{other_images},{other_masks}"]) == 0
    other = _json(run / "evaluations" / "other_images-all" / "metrics.json")  # its own folder: not overwritten
    whole = open_data(f"pairs:{other_images},{other_masks}", val_fraction=0, test_fraction=1.0).test
    assert other["images"] == len(whole) == 4  # another data set is scored whole
    scored = {k: v for k, v in other["per_class_iou"].items() if v is not None}
    assert scored == pytest.approx(_iou(run, whole), abs=1e-4)
    assert (run / "evaluations" / "nuclei_images-test" / "metrics.json").is_file()
    pred = tmp_path / "pred"
    tiles = ["--tile-megapixels", "0.001"]  # above 1,048 pixels the tiled path runs (one 64-px tile per image here)
    assert main(["predict", str(run / "best.ckpt"), "--input", str(images), "--output", str(pred), *tiles]) == 0
    for i, (h, w) in enumerate(SIZES):
        assert np.asarray(Image.open(pred / f"im{i:02d}.png")).shape == (h, w)  # native size
    bf16 = tmp_path / "pred_bf16"  # the bf16 fast path (what auto picks on AMX/AVX512-BF16 CPUs) agrees with fp32
    args = ["predict", str(run / "best.ckpt"), "--input", str(images), "--output", str(bf16), "--precision"]
    assert main([*args, "bf16-mixed"]) == 0
    same = [np.mean(np.asarray(Image.open(pred / f.name)) == np.asarray(Image.open(f))) for f in bf16.glob("*.png")]
    assert len(same) == 10 and np.mean(same) > 0.95
    assert "Traceback" not in capsys.readouterr().err


# -- splits ------------------------------------------------------------------------------------------------
def test_group_hold_out_split_file_and_val_folder(tmp_path: Path) -> None:
    names = [f"{seq}_{k:03d}" for seq in ("0016E5", "0006R0", "0001TP", "Seq05VD") for k in range(3)]
    images, masks = write_seg_folder(tmp_path / "cam", "binary01", n=len(names), names=names)
    splits = open_data(f"pairs:{images},{masks}", val_groups="0006R0", test_groups="Seq05VD")
    rec = splits.info["splits"]
    assert rec["groups"] == {"train": ["0001TP", "0016E5"], "val": ["0006R0"], "test": ["Seq05VD"]}
    assert all("0006R0" in Path(n).name for n in rec["val"]) and len(rec["val"]) == 3
    seeded = open_data(f"pairs:{images},{masks}", group_pattern=r"^([^_]+)_", val_fraction=0.25, test_fraction=0.25)
    g = seeded.info["splits"]["groups"]
    assert sum(len(v) for v in g.values()) == 4 and not set(g["train"]) & (set(g["val"]) | set(g["test"]))
    with pytest.raises(DataError, match="no such group .*0001TP"):
        open_data(f"pairs:{images},{masks}", val_groups="nope")
    csv = tmp_path / "split.csv"
    csv.write_text("file,split\n" + "".join(f"{n}.png,{'test' if n.startswith('0016') else 'train'}\n" for n in names))
    by_csv = open_data(f"pairs:{images},{masks}", split_file=str(csv))
    assert len(by_csv.test) == 3 and by_csv.val is None and len(by_csv.train) == 9
    val_images, val_masks = write_seg_folder(tmp_path / "val", "binary01", n=3, names=["v1", "v2", "v3"])
    by_folder = open_data(f"pairs:{images},{masks}", val_data=f"{val_images},{val_masks}")
    assert sorted(Path(n).name for n in by_folder.info["splits"]["val"]) == ["v1.png", "v2.png", "v3.png"]


def test_recorded_split_is_reused_exactly_and_missing_items_are_named(tmp_path: Path) -> None:
    files = write_mixed_images(tmp_path / "imgs", n=12)
    chosen, record = assign_splits(files, str, SplitSpec(seed=3), "folder:x")
    again, _ = assign_splits(files, str, SplitSpec(seed=99, record=record), "folder:x")
    assert again == chosen
    with pytest.raises(DataError, match="no such item"):
        assign_splits(files[1:], str, SplitSpec(record=record), "folder:x")


def test_autoencoder_evaluate_uses_the_training_split_not_seed_zero(tmp_path: Path) -> None:
    write_mixed_images(tmp_path / "imgs", n=20)
    run = tmp_path / "ae"
    rc = main(["train", "ae", "--data", f"folder:{tmp_path / 'imgs'}", "--seed", "1", "--latent-dim", "4",
               "--widths", "4,8", "--out", str(run), *TINY])  # fmt: skip
    assert rc == 0
    decisions = _json(run / "decisions.json")
    assert "most common" in decisions["size"] and "RGB" in decisions["channels"]
    rec = _json(run / "splits.json")
    assert rec["seed"] == 1 and len(rec["test"]) == 2
    assert main(["evaluate", str(run / "best.ckpt"), "--data", f"folder:{tmp_path / 'imgs'}"]) == 0
    ev = _json(run / "evaluations" / f"{tmp_path.name}_imgs-test" / "metrics_test.json")
    assert ev["split"] == "test" and ev["provenance"]["items"] == 2
    # the autoencoder's MSE recomputed on the two test images of the run's splits.json (not a seed-0 split)
    model = aekit.load(run).eval()
    test = _recorded(f"folder:{tmp_path / 'imgs'}", run, image_size=",".join(map(str, model.image_size)),
                     channels=model.in_channels)  # fmt: skip
    x = torch.stack([test[i]["image"] for i in range(len(test))])
    with torch.no_grad():
        mse = float(((model(x) - x) ** 2).mean())
    assert ev["results"]["autoencoder"]["mse"] == pytest.approx(mse, rel=1e-4)
    write_mixed_images(tmp_path / "other", n=5, prefix="o")  # another folder: scored whole, PCA fit on the run's train
    assert main(["evaluate", str(run / "best.ckpt"), "--data", f"folder:{tmp_path / 'other'}"]) == 0
    assert _json(run / "evaluations" / f"{tmp_path.name}_other-all" / "metrics_test.json")["split"] == "test"
    out = tmp_path / "recon"
    assert main(["predict", str(run / "best.ckpt"), "--input", str(tmp_path / "imgs"), "--output", str(out)]) == 0
    assert len(list(out.glob("*.png"))) == 20


# -- the other problems -------------------------------------------------------------------------------------
def test_superres_depth_and_stereo_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    hr = tmp_path / "hr"
    hr.mkdir()
    for i, (h, w) in enumerate([(40, 52), (48, 45), (39, 60), (51, 42), (45, 45), (42, 54), (60, 39), (44, 50)]):
        Image.fromarray(_scene(h, w, i)[0]).convert(MODES[i % 3]).save(hr / f"p{i}.png")
    run = tmp_path / "sr"
    rc = main(["train", "sr", "--data", f"hr:{hr}", "--scale", "2", "--patch-size", "16", "--patches-per-image", "2",
               "--widths", "4,8", "--blocks", "1", "--out", str(run), *TINY])  # fmt: skip
    assert rc == 0
    rec = _json(run / "splits.json")
    assert not set(rec["test"]) & set(rec["train"]) and not set(rec["val"]) & set(rec["train"])
    assert main(["evaluate", str(run / "best.ckpt"), "--data", f"hr:{hr}"]) == 0
    assert _json(run / "evaluations" / f"{tmp_path.name}_hr-test" / "metrics.json")["images"] == len(rec["test"])
    assert main(["predict", str(run / "best.ckpt"), "--input", str(hr), "--output", str(tmp_path / "big")]) == 0
    assert Image.open(tmp_path / "big" / "p0.png").size == (52 * 2, 40 * 2)

    images, depths = tmp_path / "d" / "images", tmp_path / "d" / "depths"
    depths.mkdir(parents=True)
    for f in write_mixed_images(images, n=10):
        h, w = Image.open(f).size[::-1]
        d = np.linspace(1, 5, h * w, dtype=np.float32).reshape(h, w)
        d[0, 0] = np.nan  # invalid depth pixels are masked, not an error
        np.save(depths / f"{f.stem}.npy", d)
    run = tmp_path / "depth"
    rc = main(["train", "depth", "--data", f"depth:{images},{depths}", "--widths", "4,8", "--blocks", "1",
               "--out", str(run), *TINY])  # fmt: skip
    assert rc == 0 and "crops" in _json(run / "decisions.json")["size"]
    assert main(["evaluate", str(run / "best.ckpt"), "--data", f"depth:{images},{depths}"]) == 0
    scored = _json(run / "evaluations" / "d_images-test" / "metrics.json")
    test = _recorded(f"depth:{images},{depths}", run, image_size=None)
    model = aekit.load(run).eval()
    rel = []
    for i in range(len(test)):  # abs. relative error over the valid (finite, > 0) pixels, per image, then the mean
        item = test[i]
        with torch.no_grad():
            pred = model(item["image"][None])[0, 0].double().clamp_min(1e-6)
        gt = item["target"][0].double()
        valid = torch.isfinite(gt) & (gt > 0)
        rel.append(float(((pred[valid] - gt[valid]).abs() / gt[valid]).mean()))
    assert scored["images"] == len(test) == len(_json(run / "splits.json")["test"])
    assert scored["mean"]["abs_rel"] == pytest.approx(float(np.mean(rel)), rel=1e-4)
    assert main(["predict", str(run / "best.ckpt"), "--input", str(images), "--output", str(tmp_path / "dp")]) == 0
    assert len(list((tmp_path / "dp").glob("*.pfm"))) == 10

    from aekit.data.synthetic import write_synthetic_stereo_folder

    write_synthetic_stereo_folder(tmp_path / "pairs", n=10, height=32, width=48)
    run = tmp_path / "sd"
    rc = main(["train", "stereo-depth", "--data", f"stereo:{tmp_path / 'pairs'}", "--widths", "4,8,8",
               "--blocks", "1", "--out", str(run), *TINY])  # fmt: skip
    assert rc == 0 and len(_json(run / "splits.json")["test"]) == 1
    assert main(["evaluate", str(run / "best.ckpt"), "--data", f"stereo:{tmp_path / 'pairs'}"]) == 0
    rows = _json(run / "evaluations" / f"{tmp_path.name}_pairs-test" / "metrics.json")["rows"]
    recorded = {Path(name).name for name in _json(run / "splits.json")["test"]}
    assert {r["scene"] for r in rows[:-1]} == recorded  # the recorded test pair(s), and only those, were scored
    assert rows[-1]["epe"] == pytest.approx(np.mean([r["epe"] for r in rows[:-1]]))
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.open(tmp_path / "pairs" / "scene_000" / "left.png").save(photos / "a.png")
    assert main(["predict", str(run / "best.ckpt"), "--input", str(photos), "--output", str(tmp_path / "sdp")]) == 0
    assert "Traceback" not in capsys.readouterr().err


# -- errors ---------------------------------------------------------------------------------------------
def test_nan_array_broken_yaml_unknown_keys_and_wrong_types_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    x = np.random.default_rng(0).random((12, 8, 8)).astype(np.float32)
    x[7, 2, 3] = np.nan
    np.save(tmp_path / "x.npy", x)
    assert main(["train", "ae", "--data", f"npy:{tmp_path / 'x.npy'}", *TINY, "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "image index 7" in err and "NaN" in err and "Traceback" not in err

    cases = {
        "recipe: ae\nargs: {epochs: 2\n": "not valid YAML at line",
        "recipe: ae\nargs:\n  epoks: 3\n": "unknown key(s) epoks",
        "recipe: ae\nargs:\n  epochs: many\n": "epochs must be an integer",
        "recipe: ae\nargs:\n  loss: [l2]\n": "",
        "recipe: ae\nextra: 1\n": "unknown section(s) extra",
    }
    for text, message in cases.items():
        cfg = tmp_path / "config.yaml"
        cfg.write_text(text)
        rc = main(["train", "ae", "--config", str(cfg), "--out", str(tmp_path / "r2"), *TINY, "--data", "npy:nope"])
        err = capsys.readouterr().err
        assert rc == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 2, err
        assert message in err


def test_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path: Path) -> None:
    import lightning.pytorch as L

    from aekit.data import DataModule
    from aekit.engine import NonFiniteLossError, TrainConfig, fit
    from aekit.tasks import ReconstructionTask

    class Exploding(ReconstructionTask):
        def step(self, batch, stage):  # noqa: ANN001, ANN201
            loss = super().step(batch, stage)
            return loss * float("nan") if self.current_epoch >= 1 and stage == "train" else loss

    np.save(tmp_path / "x.npy", np.random.default_rng(0).random((20, 8, 8)).astype(np.float32))
    splits = open_data(f"npy:{tmp_path / 'x.npy'}")
    L.seed_everything(0, verbose=False)
    task = Exploding(model="autoencoder", model_kwargs={"in_channels": 1, "image_size": [8, 8], "latent_dim": 2,
                                                        "widths": [4]})  # fmt: skip
    cfg = TrainConfig(epochs=3, batch_size=8, progress=False)
    with pytest.raises(NonFiniteLossError, match="epoch 1.*last good checkpoint"):
        fit(task, DataModule(splits, 8), tmp_path / "run", cfg)
    state = torch.load(tmp_path / "run" / "last.ckpt", weights_only=True)
    assert state["epoch"] == 0 and all(
        torch.isfinite(v).all() for v in state["state_dict"].values() if v.is_floating_point()
    )


def test_tiled_inference_matches_whole_image_for_local_models() -> None:
    from aekit.tiling import tiled_forward

    torch.manual_seed(0)
    pointwise = torch.nn.Conv2d(3, 2, 1)
    x = torch.rand(2, 3, 150, 211)
    with torch.no_grad():
        torch.testing.assert_close(tiled_forward(pointwise, x, max_pixels=2 * 64 * 64), pointwise(x))
        up = torch.nn.Sequential(torch.nn.Upsample(scale_factor=3), torch.nn.Conv2d(3, 3, 1))  # an SR-shaped model
        torch.testing.assert_close(tiled_forward(up, x, max_pixels=2 * 64 * 64), up(x))
        calls = []
        tiled_forward(lambda t: calls.append(t.shape) or pointwise(t), x, max_pixels=2 * 64 * 64)
        assert len(calls) > 4 and all(s[-1] <= 64 and s[-2] <= 64 for s in calls)


def test_stereo_pairs_of_several_sizes_and_a_nan_nifti(tmp_path: Path) -> None:
    from aekit.data.synthetic import write_synthetic_stereo_folder

    write_synthetic_stereo_folder(tmp_path / "a", n=6, height=40, width=56)
    for k, scene_dir in enumerate(write_synthetic_stereo_folder(tmp_path / "b", n=4, height=32, width=48, seed=1)):
        scene_dir.rename(tmp_path / "a" / f"small_{k}")
    splits = open_data(f"stereo:{tmp_path / 'a'}", seed=0)
    assert "most common" in splits.info["decisions"]["size"]
    assert {tuple(splits.train[i]["left"].shape[-2:]) for i in range(len(splits.train))} == {(40, 56)}

    import nibabel as nib

    vol = np.random.default_rng(0).random((8, 8, 4)).astype(np.float32)
    vol[1, 1, 2] = np.inf
    nib.save(nib.Nifti1Image(vol, np.eye(4)), str(tmp_path / "v.nii.gz"))
    with pytest.raises(DataError, match=r"v\.nii\.gz .*image index 2 holds NaN or inf"):
        open_data(f"nifti:{tmp_path / 'v.nii.gz'}")
