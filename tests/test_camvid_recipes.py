"""Issue 13: leave-one-group-out folds, photometric jitter (images only), label smoothing with an ignore index,
and an encoder pre-trained as an autoencoder copied into a segmentation model."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from aekit.data import open_data
from aekit.data.base import DataError
from aekit.data.splits import SplitSpec, assign_splits, find_groups, leave_one_group_out
from aekit.data.transforms import JointTransform, PhotometricJitter
from aekit.engine import TrainConfig
from aekit.experiments.encoder_pretrain import pretrain_encoder
from aekit.losses import SegmentationLoss
from aekit.registry import create_model
from tests.test_camvid_groups import OPTS, write_camvid

NAMES = ["a/0016E5_0001.png", "a/0016E5_0002.png", "a/0006R0_f01.png", "b/0001TP_0003.png", "b/0006R0_f02.png"]


def test_leave_one_group_out_holds_out_each_group_once() -> None:
    folds = leave_one_group_out(NAMES)
    assert [g for g, _ in folds] == ["0016E5", "0006R0", "0001TP"]
    seen = []
    for group, spec in folds:
        chosen, _ = assign_splits(NAMES, str, spec, "test", default_test=0.0)
        assert {Path(n).name.split("_")[0] for n in chosen["val"]} == {group}
        assert not any(Path(n).name.startswith(group) for n in chosen["train"] + chosen["test"])
        seen += chosen["val"]
    assert sorted(seen) == sorted(NAMES)  # every item validated exactly once


def test_leave_one_group_out_needs_two_groups() -> None:
    with pytest.raises(DataError, match="at least 2 groups"):
        leave_one_group_out(["p1_a.png", "p1_b.png"])


def test_groups_from_a_split_file_and_named_groups_override_its_split(tmp_path: Path) -> None:
    csv = tmp_path / "split.csv"
    rows = ["file,split,group"] + [f"{Path(n).name},train,patient{i % 2}" for i, n in enumerate(NAMES)]
    csv.write_text("\n".join(rows) + "\n")
    assert set(find_groups(NAMES, split_file=csv)) == {"patient0", "patient1"}
    for group, spec in leave_one_group_out(NAMES, SplitSpec(split_file=str(csv))):
        chosen, _ = assign_splits(NAMES, str, spec, "test")
        want = [n for i, n in enumerate(NAMES) if f"patient{i % 2}" == group]
        assert chosen["val"] == want and set(chosen["train"]) == set(NAMES) - set(want)


def test_photometric_jitter_changes_images_never_masks() -> None:
    g = torch.Generator().manual_seed(0)
    image = torch.rand(3, 16, 20, generator=g)
    mask = torch.randint(0, 5, (16, 20), generator=g)
    t = JointTransform(hflip=False, photometric=PhotometricJitter(0.4, 0.4, 0.4, 0.1), generator=g)
    outs = [t(image, mask) for _ in range(4)]
    for out_image, out_mask in outs:
        assert torch.equal(out_mask, mask)
        assert out_image.shape == image.shape and out_image.min() >= 0 and out_image.max() <= 1
        assert (out_image - image).abs().mean() > 1e-3
    assert not torch.allclose(outs[0][0], outs[1][0])  # a new draw per call


def test_hue_rotation_keeps_grey_and_zero_jitter_is_identity() -> None:
    grey = torch.full((3, 4, 4), 0.4)
    assert torch.allclose(PhotometricJitter(hue=0.5)(grey), grey, atol=1e-5)  # no chroma to rotate
    x = torch.rand(3, 4, 4)
    assert torch.equal(PhotometricJitter()(x), x)
    assert PhotometricJitter.parse("0") is None and PhotometricJitter.parse(None) is None
    assert vars(PhotometricJitter.parse("0.3"))["hue"] == pytest.approx(0.05)
    with pytest.raises(ValueError):
        PhotometricJitter.parse("0.1,0.2")


def test_camvid_photometric_jitters_training_images_only(tmp_path: Path) -> None:
    root = write_camvid(tmp_path / "cv")
    plain = open_data(f"camvid:{root}", hflip=False, **OPTS)
    torch.manual_seed(0)
    jit = open_data(f"camvid:{root}", hflip=False, photometric="0.5", **OPTS)
    assert "photometric" in jit.info["decisions"]
    for i in range(len(plain.train)):
        a, b = plain.train[i], jit.train[i]
        assert torch.equal(a["mask"], b["mask"]) and not torch.allclose(a["image"], b["image"])
    assert torch.equal(plain.val[0]["image"], jit.val[0]["image"])  # evaluation never jittered
    with pytest.raises(DataError, match="photometric"):
        open_data(f"camvid:{root}", photometric="2", **OPTS)


@pytest.mark.parametrize("weighted", [False, True])
def test_label_smoothing_with_ignore_index_equals_hand_computation(weighted: bool) -> None:
    g = torch.Generator().manual_seed(1)
    k, eps, ignore = 4, 0.2, 4
    logits = torch.randn(2, k, 3, 5, generator=g)
    target = torch.randint(0, k + 1, (2, 3, 5), generator=g)  # value 4 = void
    w = torch.rand(k, generator=g) + 0.5 if weighted else torch.ones(k)
    loss = SegmentationLoss("ce", w.tolist() if weighted else None, ignore, label_smoothing=eps)(logits, target)
    # by hand: q = (1 - eps) one-hot + eps / K; class c weighs w_c; mean over labelled pixels by w of the label
    num = den = 0.0
    for n in range(2):
        for y in range(3):
            for x in range(5):
                t = int(target[n, y, x])
                if t == ignore:
                    continue
                logp = [float(v) for v in logits[n, :, y, x].log_softmax(0)]
                num += -(1 - eps) * float(w[t]) * logp[t] - eps / k * sum(float(w[c]) * logp[c] for c in range(k))
                den += float(w[t])
    assert math.isclose(float(loss), num / den, rel_tol=1e-5)
    plain = SegmentationLoss("ce", None, ignore)(logits, target)
    assert math.isclose(float(plain), float(F.cross_entropy(logits, target, ignore_index=ignore)), rel_tol=1e-6)
    assert float(loss) != pytest.approx(float(plain))  # ignoring the option would fail here


def test_pretrained_encoder_is_copied_into_the_segmentation_model(tmp_path: Path) -> None:
    root = write_camvid(tmp_path / "cv", size=(16, 24))
    splits = open_data(f"camvid:{root}", **OPTS)
    kwargs = {"widths": [4, 8], "blocks_per_stage": 1, "skip_levels": "all"}
    torch.manual_seed(0)
    model = create_model("unet", in_channels=3, out_channels=11, **kwargs)
    before = {k: v.clone() for k, v in model.encoder.state_dict().items()}
    cfg = TrainConfig(epochs=2, batch_size=2, precision="32", progress=False)
    loaded = pretrain_encoder(model, [splits.train], tmp_path / "pre", cfg, splits.train.sizes[0], kwargs,
                              latent_dim=8)  # fmt: skip
    assert sorted(loaded) == sorted(before)
    from aekit.io import encoder_state_dict

    ae = encoder_state_dict(tmp_path / "pre" / "best.ckpt")
    after = model.encoder.state_dict()
    assert all(torch.equal(after[k], ae[k]) for k in after)
    assert any(not torch.equal(after[k], before[k]) for k in after if k.endswith("weight"))


@pytest.mark.slow
def test_benchmark_leave_one_out_reports_every_fold_and_the_mean(monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path: Path) -> None:  # fmt: skip
    monkeypatch.setenv("AEKIT_THREADS", "1")
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "camvid.py"
    spec = importlib.util.spec_from_file_location("camvid_bench_loo", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = module.main(["--smoke", "--models", "unet_small", "--val-groups", "each"])["unet_small"]
    assert set(out["folds"]) == {"0016E5", "0006R0"}
    assert out["miou"] == pytest.approx(np.mean([f["miou"] for f in out["folds"].values()]), abs=0.01)


def test_recipe_fields_reach_the_data_and_the_loss(tmp_path: Path) -> None:
    """`aekit train unet --photometric 0.3 --label-smoothing 0.1 --val-groups ... --official-val train` as typed
    fields: the jitter is on the training transform only, the loss smooths, the official val frames train."""
    import aekit
    from aekit.cli.main import parse_config

    root = write_camvid(tmp_path / "camvid")
    argv = ["train", "unet", "--data", f"camvid:{root}", "--photometric", "0.3", "--label-smoothing", "0.1",
            "--val-groups", "0006R0", "--official-val", "train", "--classes", "11", "--ignore-index", "11"]  # fmt: skip
    cfg = parse_config(argv)
    assert cfg == aekit.recipes.UNet(data=f"camvid:{root}", photometric="0.3", label_smoothing=0.1,
                                     val_groups="0006R0", official_val="train", **OPTS)  # fmt: skip
    splits = cfg.open_data()
    assert splits.train.transform is not None and splits.train.transform.photometric is not None
    assert getattr(splits.val, "transform", None) is None
    names = splits.info["splits"]
    assert names["val"] and all(Path(n).name.startswith("0006R0") for n in names["val"])
    assert any("/val/" in n for n in names["train"])  # --official-val train: the official val frames train
    assert splits.test is None or len(splits.test) == 0  # official val pooled into training
    task = cfg.task(splits)
    assert task.loss_fn.label_smoothing == pytest.approx(0.1)
    with pytest.raises(DataError, match="official-val"):
        aekit.recipes.UNet(data="pairs:a,b", official_val="train").open_data()
