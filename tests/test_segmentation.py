"""Segmentation: models (SegNet, FCN, U-Net), data (pairs, CamVid, ISBI), task, CLI and the upsampling study."""

from __future__ import annotations

import json
from pathlib import Path

import lightning.pytorch as L
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import SHARED_DATA, needs_shared_data
from PIL import Image

import aekit
from aekit.cli.main import main
from aekit.data import DataModule, open_data
from aekit.data.base import DataError
from aekit.data.transforms import JointTransform
from aekit.engine import TrainConfig, fit
from aekit.io import save_model
from aekit.losses import SegmentationLoss, dice_loss, median_frequency_weights
from aekit.models.encoders import EncoderOutput
from aekit.nn.upsample import UPSAMPLE_MODES, UpSample
from aekit.tasks import SegmentationTask, load_task
from aekit.tasks.segmentation import evaluate_dataset

# small widths with each preset's depth, so every architecture is exercised cheaply
SMALL = {
    "segnet": {"widths": [8, 8, 16, 16, 16, 16]},
    "segnet_basic": {"widths": [8, 8, 8, 8, 8]},
    "fcn32s": {"widths": [8, 8, 16, 16, 16, 16]},
    "fcn16s": {"widths": [8, 8, 16, 16, 16, 16]},
    "fcn8s": {"encoder": "basic", "widths": [8, 8, 8, 8, 8]},
    "unet": {"widths": [8, 16, 16, 32]},
}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """On a small shared machine two intra-op threads contend badly; one is many times faster here."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def make_shapes(root: Path, n: int = 24, h: int = 24, w: int = 28, seed: int = 0) -> tuple[Path, Path]:
    """Noisy images with a red square (class 1) and a green disc (class 2) on background 0."""
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "masks").mkdir(parents=True, exist_ok=True)
    yy, xx = np.mgrid[:h, :w]
    for i in range(n):
        mask = np.zeros((h, w), np.uint8)
        y, x = rng.integers(0, h - 8), rng.integers(0, w - 8)
        mask[y : y + 8, x : x + 8] = 1
        cy, cx = rng.integers(5, h - 5), rng.integers(5, w - 5)
        mask[(yy - cy) ** 2 + (xx - cx) ** 2 < 16] = 2
        img = np.stack([mask == 1, mask == 2, np.zeros_like(mask)], -1) * 150.0 + rng.normal(60, 15, (h, w, 3))
        Image.fromarray(img.clip(0, 255).astype(np.uint8)).save(root / "images" / f"s{i:03d}.png")
        Image.fromarray(mask).save(root / "masks" / f"s{i:03d}.png")
    return root / "images", root / "masks"


# -- models --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(SMALL))
def test_output_shape_equals_input_shape_for_every_mode_at_odd_sizes(name: str) -> None:
    for mode in UPSAMPLE_MODES:
        net = aekit.create_model(name, in_channels=2, out_channels=5, upsample=mode, **SMALL[name]).eval()
        assert net.in_channels == 2
        with torch.no_grad():
            for h, w in [(37, 45), (17, 9)]:
                assert net(torch.rand(1, 2, h, w)).shape == (1, 5, h, w), (name, mode, h, w)


def test_default_presets_build_and_have_the_paper_shapes() -> None:
    basic = aekit.create_model("segnet_basic")
    convs = [m for m in basic.encoder.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 4 and all(c.kernel_size == (7, 7) and c.out_channels == 64 for c in convs)
    assert basic.encoder.reduction == 16
    full = aekit.create_model("segnet")
    assert len([m for m in full.encoder.modules() if isinstance(m, torch.nn.Conv2d)]) == 13  # VGG-16
    assert full.encoder.reduction == 32
    assert aekit.create_model("fcn8s").decoder.skip_levels == [3, 4]  # stride-8 and stride-16 maps
    assert aekit.create_model("fcn16s").decoder.skip_levels == [4]
    assert aekit.create_model("fcn32s").decoder.skip_levels == []


@pytest.mark.parametrize("name", ["segnet_basic", "fcn8s", "unet"])
def test_max_unpool_without_pooling_indices_is_refused_clearly(name: str) -> None:
    with pytest.raises(ValueError, match="max_unpool.*maxpool|maxpool.*max_unpool"):
        aekit.create_model(name, upsample="max_unpool", downsample="stride", **SMALL[name])


def test_max_unpooling_puts_values_exactly_at_the_pooled_positions() -> None:
    torch.manual_seed(0)
    x = torch.randn(2, 3, 6, 8)
    pooled, idx = F.max_pool2d(x, 2, 2, return_indices=True)
    up = UpSample(3, 3, "max_unpool", kernel_size=1, norm="none", act="none")
    with torch.no_grad():  # make the learned conv the identity to see the unpooled map itself
        up.conv.weight.copy_(torch.eye(3).view(3, 3, 1, 1))
        up.conv.bias.zero_()
    out = up(pooled, indices=idx)
    flat = out.flatten(2)
    expected = torch.zeros_like(flat).scatter_(2, idx.flatten(2), pooled.flatten(2))
    assert torch.equal(flat, expected)
    assert torch.equal(flat.gather(2, idx.flatten(2)), x.flatten(2).gather(2, idx.flatten(2)))
    assert int((out != 0).sum()) == pooled.numel()


def test_segnet_decoder_unpools_with_its_own_encoder_indices() -> None:
    net = aekit.create_model("segnet_basic", **SMALL["segnet_basic"]).eval()
    seen = {}
    net.encoder.register_forward_hook(lambda m, i, o: seen.__setitem__("indices", o.indices))
    net.decoder.ups[-1].conv.register_forward_pre_hook(lambda m, i: seen.__setitem__("unpooled", i[0]))
    with torch.no_grad():
        net(torch.rand(1, 3, 32, 48))
    unpooled, idx = seen["unpooled"], seen["indices"][1]
    nonzero = unpooled.flatten(2) != 0
    allowed = torch.zeros_like(nonzero).scatter_(2, idx.flatten(2), True)
    assert nonzero.any() and not (nonzero & ~allowed).any()


@pytest.mark.parametrize("skips", [[0, 2], [1], []])
def test_skip_levels_decide_which_encoder_levels_reach_the_decoder(skips: list[int]) -> None:
    torch.manual_seed(0)
    net = aekit.create_model("unet", in_channels=1, out_channels=2, widths=[4, 8, 8, 16], skip_levels=skips).eval()
    x = torch.rand(1, 1, 20, 28)
    with torch.no_grad():
        base = net(x)
    for level in range(3):

        def perturb(module, inputs, out, level=level):
            feats = list(out.features)
            feats[level] = feats[level] + 5.0
            return EncoderOutput(feats, out.indices)

        handle = net.encoder.register_forward_hook(perturb)
        with torch.no_grad():
            changed = not torch.allclose(net(x), base)
        handle.remove()
        assert changed == (level in skips), (skips, level)


# -- losses --------------------------------------------------------------------------------------------------
def test_median_frequency_weights_match_a_hand_computed_example() -> None:
    # image A: 6 px of class 0, 2 px of class 1 (8 px); image B: 2 px class 0, 4 px class 2, 2 px ignored (255)
    a = np.array([[0, 0, 0, 0], [0, 0, 1, 1]])
    b = np.array([[0, 0, 2, 2], [2, 2, 255, 255]])
    w = median_frequency_weights([a, b], 3, ignore_index=255)
    # f0 = 8/(8+6) = 4/7 (both images, ignored pixels excluded), f1 = 2/8, f2 = 4/6; median = 4/7
    f = np.array([8 / 14, 2 / 8, 4 / 6])
    np.testing.assert_allclose(w, np.median(f) / f)
    assert w[0] == pytest.approx(1.0)


def test_losses_respect_ignore_index_and_weights() -> None:
    target = torch.tensor([[[0, 1], [2, 9]]])
    logits = F.one_hot(torch.tensor([[[0, 1], [2, 0]]]), 3).permute(0, 3, 1, 2).float() * 20
    assert dice_loss(logits, target, ignore_index=9) < 1e-3
    assert SegmentationLoss("ce+dice", [1.0, 2.0, 3.0], ignore_index=9)(logits, target) < 1e-3
    wrong = logits.roll(1, dims=1)
    assert SegmentationLoss("ce", [1.0, 1.0, 1.0], 9)(wrong, target) > 1.0


# -- data ----------------------------------------------------------------------------------------------------
def test_joint_transform_keeps_image_and_mask_aligned_and_masks_nearest() -> None:
    torch.manual_seed(0)
    mask = torch.randint(0, 3, (5, 8)).repeat_interleave(6, 0).repeat_interleave(6, 1)  # 6x6 blocks, 30x48
    image = mask[None].float().repeat(3, 1, 1) / 2  # the image encodes its own label
    crop_flip = JointTransform(crop=(16, 40), scale=None, hflip=True, fill_mask=255)
    for _ in range(10):
        img, m = crop_flip(image, mask)
        assert img.shape == (3, 16, 40) and torch.equal((img[0] * 2).round().long(), m)
    scaled = JointTransform(crop=(40, 40), scale=(0.6, 1.6), hflip=True, fill_mask=255)
    for _ in range(10):
        img, m = scaled(image, mask)
        assert img.shape == (3, 40, 40) and m.shape == (40, 40)
        assert set(m.unique().tolist()) <= {0, 1, 2, 255}  # nearest: no invented labels
        inside = m != 255
        agree = ((img[0] * 2).round().long() == m)[inside].float().mean()
        assert agree > 0.85  # only bilinear edges of the blocks may differ


def test_pairs_data_reads_checks_and_normalises_from_train(tmp_path: Path) -> None:
    imgs, masks = make_shapes(tmp_path, n=10)
    splits = open_data(f"pairs:{imgs},{masks}", val_fraction=0.2, test_fraction=0.0, seed=1)
    assert splits.info["num_classes"] == 3 and splits.info["channels"] == 3
    assert len(splits.train) == 8 and len(splits.val) == 2
    item = splits.train[0]
    assert item["image"].shape == (3, 24, 28) and item["mask"].dtype == torch.int64
    stack = torch.stack([splits.train[i]["image"] for i in range(8)])
    assert stack.mean((0, 2, 3)).abs().max() < 0.05  # normalised with the train statistics
    assert splits.info["normalization"]["mean"][0] > 0.2


def test_colour_masks_with_a_palette_file(tmp_path: Path) -> None:
    imgs, masks = make_shapes(tmp_path, n=4)
    colours = {0: (0, 0, 0), 1: (255, 0, 0), 2: (0, 255, 0)}
    cmask = tmp_path / "cmasks"
    cmask.mkdir()
    for f in sorted(masks.iterdir()):
        m = np.asarray(Image.open(f))
        rgb = np.zeros((*m.shape, 3), np.uint8)
        for k, c in colours.items():
            rgb[m == k] = c
        Image.fromarray(rgb).save(cmask / f"{f.stem}_label.png")
    palette = tmp_path / "palette.csv"
    palette.write_text("index,name,r,g,b\n0,bg,0,0,0\n1,square,255,0,0\n2,disc,0,255,0\n")
    splits = open_data(f"pairs:{imgs},{cmask}", mask_suffix="_label", palette=str(palette), val_fraction=0.25)
    for ds in (splits.train, splits.val):
        for (img_path, _), decoded in zip(ds.pairs, ds.masks):
            assert np.array_equal(decoded, np.asarray(Image.open(masks / img_path.name)))
    assert splits.info["class_names"] == ["bg", "square", "disc"]
    with pytest.raises(DataError, match="colour image; pass --palette"):
        open_data(f"pairs:{imgs},{cmask}", mask_suffix="_label", val_fraction=0.25)


def test_bad_pairs_give_errors_naming_the_files(tmp_path: Path) -> None:
    imgs, masks = make_shapes(tmp_path, n=5)
    (masks / "s003.png").unlink()
    with pytest.raises(DataError, match=r"no mask for image\(s\) s003\.png"):
        open_data(f"pairs:{imgs},{masks}")
    make_shapes(tmp_path, n=5)
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(masks / "s002.png")
    with pytest.raises(DataError, match=r"s002\.png is 28x24 but its mask .*s002\.png is 10x10"):
        open_data(f"pairs:{imgs},{masks}")
    make_shapes(tmp_path, n=5)
    bad = np.asarray(Image.open(masks / "s004.png")).copy()
    bad[0, 0] = 7
    Image.fromarray(bad).save(masks / "s004.png")
    with pytest.raises(DataError, match=r"mask .*s004\.png has class index\(es\) \[7\] outside 0\.\.2"):
        open_data(f"pairs:{imgs},{masks}", classes=3)
    splits = open_data(f"pairs:{imgs},{masks}", classes=3, ignore_index=7)  # declared void: accepted
    assert splits.info["ignore_index"] == 7


def test_camvid_kind_on_a_fake_layout_and_isbi_kind(tmp_path: Path) -> None:
    root = tmp_path / "camvid"
    root.mkdir()
    for split, n in [("train", 6), ("val", 3)]:
        imgs, masks = make_shapes(tmp_path / split, n=n, seed=n)
        imgs.rename(root / split)
        masks.rename(root / f"{split}annot")
    (root / "classes.csv").write_text(
        "index,name,r,g,b,segnet_class_weight\n0,Bg,0,0,0,0.5\n1,Square,255,0,0,2\n2,Unlabelled,9,9,9,\n"
    )
    splits = open_data(f"camvid:{root}")
    assert splits.info["num_classes"] == 2 and splits.info["ignore_index"] == 2  # void row -> ignore index
    assert splits.info["file_class_weights"] == [0.5, 2.0]
    assert len(splits.train) == 6 and len(splits.val) == 3 and splits.test is None
    isbi = tmp_path / "isbi"
    (isbi / "image").mkdir(parents=True)
    (isbi / "label").mkdir()
    for k in range(6):
        Image.fromarray(np.full((16, 16), 30 * k, np.uint8)).save(isbi / "image" / f"{k}.png")
        Image.fromarray(np.where(np.eye(16) > 0, 0, 255).astype(np.uint8)).save(isbi / "label" / f"{k}.png")
    s = open_data(f"isbi2012:{isbi}", n_val=2)
    assert len(s.train) == 4 and len(s.val) == 2 and s.info["num_classes"] == 2
    assert [p[0].stem for p in s.val.pairs] == ["4", "5"] and s.test is None
    held = open_data(f"isbi2012:{isbi}", n_val=2, n_test=1)  # the last slice scored, the two before it choose
    stems = [[p[0].stem for p in d.pairs] for d in (held.train, held.val, held.test)]
    assert stems == [["0", "1", "2"], ["3", "4"], ["5"]]
    with pytest.raises(DataError, match="n_test"):
        open_data(f"isbi2012:{isbi}", n_val=3, n_test=3)
    assert set(np.unique(s.train.masks[0])) == {0, 1}


@needs_shared_data("camvid", "train")
def test_shared_camvid_opens_with_segnet_protocol() -> None:
    splits = open_data(f"camvid:{SHARED_DATA / 'camvid'}", augment=False)
    assert len(splits.train) == 367 and len(splits.val) == 101
    assert splits.info["num_classes"] == 11 and splits.info["ignore_index"] == 11
    assert splits.info["file_class_weights"][0] == pytest.approx(0.2595)
    assert splits.train[0]["image"].shape == (3, 180, 240)


# -- training ------------------------------------------------------------------------------------------------
@pytest.mark.precision
def test_tiny_shapes_are_learned_to_high_iou(tmp_path: Path) -> None:
    imgs, masks = make_shapes(tmp_path / "d", n=40)
    splits = open_data(f"pairs:{imgs},{masks}", val_fraction=0.2, seed=0)
    L.seed_everything(0, verbose=False)
    task = SegmentationTask(
        "unet", {"in_channels": 3, "widths": [8, 16, 16], "blocks_per_stage": 1}, num_classes=3, lr=2e-2
    )
    cfg = TrainConfig(epochs=12, batch_size=8, progress=False, monitor="val/miou", monitor_mode="max")
    fit(task, DataModule(splits, 8), tmp_path / "run", cfg)
    best = load_task(tmp_path / "run" / "best.ckpt")

    result = evaluate_dataset(best, splits.val)
    assert result["miou"] > 0.8, result


def test_init_encoder_from_an_autoencoder_changes_exactly_the_encoder(tmp_path: Path) -> None:
    from aekit.recipes import UNet

    imgs, masks = make_shapes(tmp_path / "d", n=6)
    ae = aekit.create_model("autoencoder", in_channels=3, image_size=24, widths=[8, 16, 16], blocks_per_stage=2,
                            downsample="maxpool")  # fmt: skip
    # distinct from any fresh initialisation (buffers such as BN running statistics included)
    ae.load_state_dict({k: v + 1 if v.is_floating_point() else v for k, v in ae.state_dict().items()})
    save_model(ae, tmp_path / "ae")
    common = {"data": f"pairs:{imgs},{masks}", "widths": [8, 16, 16], "blocks": 2}
    splits = open_data(f"pairs:{imgs},{masks}")
    L.seed_everything(3, verbose=False)
    plain = UNet(**common).task(splits).model.state_dict()
    L.seed_everything(3, verbose=False)
    init = UNet(**common, init_encoder=str(tmp_path / "ae")).task(splits).model.state_dict()
    ae_state = ae.state_dict()
    for k, v in init.items():
        if k.startswith("encoder."):
            assert torch.equal(v, ae_state[k]) and (not v.is_floating_point() or not torch.equal(v, plain[k])), k
        else:
            assert torch.equal(v, plain[k]), k


# -- CLI -----------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_cli_train_evaluate_predict_and_study(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    imgs, masks = make_shapes(tmp_path / "d", n=12)
    run = tmp_path / "runs" / "seg"
    rc = main(["train", "segnet", "--data", f"pairs:{imgs},{masks}", "--classes", "3", "--widths", "8,8,8",
               "--epochs", "1", "--batch-size", "4", "--class-weights", "median-frequency", "--crop-size", "16",
               "--scale", "0.8,1.2", "--out", str(run), "--no-progress"])  # fmt: skip
    assert rc == 0 and (run / "best.ckpt").is_file() and (run / "model.safetensors").is_file()
    ckpt = torch.load(run / "best.ckpt", weights_only=True)
    assert any("val/miou" in str(k) for k in ckpt["callbacks"])  # best chosen on validation mIoU
    assert main(["evaluate", str(run / "best.ckpt"), "--data", f"pairs:{imgs},{masks}", "--split", "val"]) == 0
    ev = run / "evaluations" / "d_images-val"  # named by data set and split
    metrics = json.loads((ev / "metrics.json").read_text())
    # the reported figures are this checkpoint's on the recorded val pairs, recomputed here pixel by pixel
    task = load_task(run / "best.ckpt")
    val = open_data(f"pairs:{imgs},{masks}", classes=3, augment=False, normalize=False).val
    assert metrics["images"] == len(val) == len(json.loads((run / "splits.json").read_text())["val"])
    norm = task.metadata["normalization"]
    val.set_normalization(norm["mean"], norm["std"])
    pred = torch.cat([task.predict_labels(val[i]["image"][None])[0].flatten() for i in range(len(val))])
    true = torch.cat([val[i]["mask"].flatten() for i in range(len(val))])
    inter = torch.stack([((pred == c) & (true == c)).sum() for c in range(3)]).double()
    union = torch.stack([((pred == c) | (true == c)).sum() for c in range(3)]).double()
    present = union > 0
    assert metrics["global_acc"] == pytest.approx(float((pred == true).double().mean()), abs=1e-6)
    assert metrics["miou"] == pytest.approx(float((inter / union)[present].mean()), abs=1e-6)
    assert (ev / "predictions_val.png").is_file()
    every = tmp_path / "every"
    assert main(["evaluate", str(run / "best.ckpt"), "--data", f"pairs:{imgs},{masks}", "--all-pairs",
                 "--out", str(every)]) == 0  # fmt: skip
    assert json.loads((every / "metrics.json").read_text())["images"] == 12
    assert main(["predict", str(run / "best.ckpt"), "--input", str(imgs), "--output", str(tmp_path / "pred")]) == 0
    label = np.asarray(Image.open(tmp_path / "pred" / "s000.png"))
    assert label.shape == (24, 28) and label.max() < 3
    assert (tmp_path / "pred" / "overlay" / "s000.png").is_file()
    model = aekit.load(run)  # deployment weights work without Lightning
    assert model(torch.rand(1, 3, 24, 28)).shape == (1, 3, 24, 28)

    out = tmp_path / "ups"
    rc = main(["study", "upsampling", "--task", "segmentation", "--data", f"pairs:{imgs},{masks}",
               "--modes", "nearest,max_unpool", "--widths", "8,8,8", "--epochs", "1", "--batch-size", "4",
               "--out", str(out), "--no-progress"])  # fmt: skip
    assert rc == 0
    rows = json.loads((out / "results.json").read_text())["rows"]
    assert [r["mode"] for r in rows] == ["nearest", "max_unpool"]
    assert {"params", "train_min", "infer_ms_per_image", "global_acc", "class_acc", "miou"} <= set(rows[0])
    # each row's mIoU is that mode's best checkpoint on the val pairs, recomputed here
    for row in rows:
        best = load_task(out / row["mode"] / "best.ckpt")
        ds = open_data(f"pairs:{imgs},{masks}", classes=3, augment=False, normalize=False).val
        ds.set_normalization(best.metadata["normalization"]["mean"], best.metadata["normalization"]["std"])
        assert row["miou"] == pytest.approx(100 * evaluate_dataset(best, ds)["miou"], abs=0.006)  # percent, 2 decimals
    assert (out / "results.md").is_file() and (out / "predictions.png").is_file()
    assert (out / "nearest" / "best.ckpt").is_file()
    study = aekit.recipes.load(out / "recipe.yaml")  # the study's typed config, as Python would write it
    assert isinstance(study, aekit.recipes.UpsamplingStudy) and study.modes == ["nearest", "max_unpool"]


def test_cli_reports_bad_data_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    imgs, masks = make_shapes(tmp_path / "d", n=5)
    (masks / "s001.png").unlink()
    rc = main(["train", "unet", "--data", f"pairs:{imgs},{masks}", "--out", str(tmp_path / "r")])
    assert rc == 2 and "s001.png" in capsys.readouterr().err


def test_upsampling_study_refuses_unknown_task_and_mode(tmp_path: Path) -> None:
    from argparse import Namespace

    from aekit.experiments.upsampling import STUDY_TASKS, run_upsampling_study

    assert "segmentation" in STUDY_TASKS
    with pytest.raises(ValueError, match="no upsampling study for task 'sr'.*segmentation"):
        run_upsampling_study("sr", ["nearest"], tmp_path, TrainConfig(), Namespace())
    with pytest.raises(ValueError, match="unknown upsample mode 'cubic'"):
        run_upsampling_study("segmentation", ["cubic"], tmp_path, TrainConfig(), Namespace())
