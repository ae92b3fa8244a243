"""CamVid with a sequence held out (issue 13): the named sequence is exactly the validation split, no frame is
in two splits, the official val frames stay out of training and are reported on their own."""

from __future__ import annotations

import importlib.util
import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from aekit.data import open_data
from aekit.data.base import DataError
from aekit.data.splits import SplitSpec

FRAMES = {
    "train": ["0016E5_00030", "0016E5_00060", "0006R0_f00930", "0006R0_f00960", "0001TP_006690"],
    "val": ["0016E5_07950", "0016E5_07980", "0006R0_f01020"],
}


def write_camvid(root: Path, frames: dict[str, list[str]] = FRAMES, size: tuple[int, int] = (8, 12)) -> Path:
    """A CamVid-layout folder (``split/`` + ``splitannot/``) of random frames, 11 classes + void 11."""
    rng = np.random.default_rng(0)
    for split, stems in frames.items():
        (root / split).mkdir(parents=True)
        (root / f"{split}annot").mkdir()
        for stem in stems:
            Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(root / split / f"{stem}.png")
            Image.fromarray(rng.integers(0, 12, size, dtype=np.uint8)).save(root / f"{split}annot" / f"{stem}.png")
    return root


def stems(names: list[str]) -> set[str]:
    return {Path(n).stem for n in names}


OPTS = {"classes": 11, "ignore_index": 11}


def test_default_camvid_keeps_the_folders_as_splits(tmp_path: Path) -> None:
    splits = open_data(f"camvid:{write_camvid(tmp_path / 'cv')}", **OPTS)
    assert len(splits.train) == 5 and len(splits.val) == 3 and splits.test is None
    assert "splits" not in splits.info  # the engine records the folders (describe_splits), as before


def test_held_out_sequence_is_exactly_the_val_split(tmp_path: Path) -> None:
    root = write_camvid(tmp_path / "cv")
    splits = open_data(f"camvid:{root}", val_groups="0006R0", **OPTS)
    rec = splits.info["splits"]
    everything = {s for stems_ in FRAMES.values() for s in stems_}
    assert stems(rec["val"]) == {s for s in everything if s.startswith("0006R0")}  # from both folders
    assert {p[0].stem for p in splits.val.pairs} == stems(rec["val"])
    # no frame in two splits, every frame somewhere
    sets = [stems(rec[s]) for s in ("train", "val", "test")]
    assert sum(len(s) for s in sets) == len(everything) and set().union(*sets) == everything
    # the official val frames outside the held-out sequence are the test split, not trained on
    assert rec["official_val"] == "test"
    assert stems(rec["test"]) == {"0016E5_07950", "0016E5_07980"}
    assert stems(rec["train"]) == {"0016E5_00030", "0016E5_00060", "0001TP_006690"}
    assert rec["groups"] == {"train": ["0001TP", "0016E5"], "val": ["0006R0"], "test": ["0016E5"]}
    again = open_data(f"camvid:{root}", splitting=SplitSpec(val_groups=["0001TP"], record=rec), **OPTS)
    assert again.info["splits"]["val"] == rec["val"]  # aekit evaluate: the recorded lists, nothing re-drawn
    with pytest.raises(DataError, match="no such group"):
        open_data(f"camvid:{root}", val_groups="Seq05VD", **OPTS)
    with pytest.raises(DataError, match="--val-groups"):
        open_data(f"camvid:{root}", val_data=str(root / "val"), **OPTS)


def test_with_a_test_folder_the_official_val_is_pooled_into_training(tmp_path: Path) -> None:
    root = write_camvid(tmp_path / "cv", {**FRAMES, "test": ["Seq05VD_f00000", "0001TP_008550"]})
    splits = open_data(f"camvid:{root}", val_groups="0006R0", **OPTS)
    rec = splits.info["splits"]
    assert rec["official_val"] == "train"
    assert stems(rec["test"]) == {"Seq05VD_f00000", "0001TP_008550"}
    assert {"0016E5_07950", "0016E5_07980"} <= stems(rec["train"])
    assert not stems(rec["val"]) & stems(rec["train"])
    with pytest.raises(DataError, match="official_val=train"):
        open_data(f"camvid:{root}", val_groups="0006R0", official_val="test", **OPTS)


@pytest.fixture
def benchmark(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    """benchmarks/camvid.py as a module, its temporary and run folders under ``tmp_path``."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "camvid.py"
    spec = importlib.util.spec_from_file_location("bench_camvid_groups", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_benchmark_selects_on_the_held_out_sequence_and_reports_official_val_beside_it(
    benchmark, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    module = benchmark
    row = module.main(["--smoke", "--models", "unet_small", "--val-groups", "0006R0"])["unet_small"]
    assert row["val_images"] == 2 and row["train_images"] == 2  # the two 0006R0 frames; two 0016E5 train
    assert row["selected_on"].startswith("held-out sequence(s) 0006R0")
    assert row["official_val"]["images"] == 2 and row["official_val"]["trained_on"] is False
    run = next((tmp_path).glob("aekit-smoke-run-*")) / "unet_small"
    recorded = json.loads((run / "splits.json").read_text())
    assert stems(recorded["val"]) == {"0006R0_f00930", "0006R0_f00960"}
    assert not stems(recorded["train"]) & stems(recorded["test"])


def camvid_test_folder(tmp_path: Path) -> Path:
    """A CamVid-layout test folder of three frames of sequences no training folder holds (Seq05VD, 0001TP)."""
    test = tmp_path / "CamVid" / "test"
    (test.parent / "testannot").mkdir(parents=True)
    test.mkdir()
    rng = np.random.default_rng(1)
    for stem in ("Seq05VD_f00000", "Seq05VD_f00030", "0001TP_008550"):
        Image.fromarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)).save(test / f"{stem}.png")
        Image.fromarray(rng.integers(0, 12, (48, 64), dtype=np.uint8)).save(test.parent / "testannot" / f"{stem}.png")
    return test


def recomputed_iou(checkpoint: Path, folder: Path) -> tuple[float, dict[str, float]]:
    """mIoU and per-class IoU (percent) of ``checkpoint`` on ``folder``'s frames, from a confusion matrix in numpy:
    classes with no pixel in prediction or ground truth are left out; void (11) and beyond never count."""
    import torch

    from aekit.tasks import load_task

    task = load_task(checkpoint).eval()
    k, norm = task.hparams.num_classes, task.metadata["normalization"]
    names = task.metadata.get("class_names") or [str(i) for i in range(k)]
    mean, std = (torch.tensor(norm[key]).view(-1, 1, 1) for key in ("mean", "std"))
    confusion = np.zeros((k, k), np.int64)
    present = np.zeros(k, bool)
    for image in sorted(folder.glob("*.png")):
        x = torch.from_numpy(np.asarray(Image.open(image).convert("RGB"))).permute(2, 0, 1).float() / 255
        pred = task.predict_labels(((x - mean) / std)[None])[0].numpy()
        gt = np.asarray(Image.open(folder.parent / f"{folder.name}annot" / image.name)).astype(np.int64)
        valid = gt < k
        confusion += np.bincount(k * gt[valid] + pred[valid], minlength=k * k).reshape(k, k)
        present |= np.bincount(gt[valid], minlength=k).astype(bool)
    tp = np.diag(confusion)
    union = confusion.sum(0) + confusion.sum(1) - tp
    iou = np.where(union > 0, tp / np.maximum(union, 1), np.nan) * 100
    per_class = {names[c]: float(iou[c]) for c in range(k) if present[c]}
    return float(np.nanmean(iou)), per_class


def test_refit_split_keeps_a_test_folder_out_of_training(benchmark, tmp_path: Path) -> None:
    """A CamVid root with its own test folder (the usual download): the refit CSV lists those frames as test,
    so the split opens (an unlisted frame is refused) and nothing of the test folder trains."""
    root = benchmark.smoke_data(root=tmp_path / "CamVid")
    camvid_test_folder(tmp_path)  # tmp_path/CamVid/test + testannot, inside the data root
    splits = open_data(f"camvid:{root}", split_file=str(benchmark.refit_split_file(root, tmp_path / "refit.csv")),
                       **OPTS)  # fmt: skip
    assert len(splits.train) == 6 and splits.val is None and len(splits.test) == 3
    assert not any("Seq05VD" in str(p[0]) for p in splits.train.pairs)


@pytest.mark.slow
def test_refit_trains_on_every_labelled_frame_and_scores_the_eval_dir_with_its_last_epoch(
    benchmark, tmp_path: Path
) -> None:
    module = benchmark
    test = camvid_test_folder(tmp_path)
    row = module.main(["--smoke", "--models", "unet_small", "--eval-dir", str(test), "--refit", "after"])["unet_small"]
    refit = row["refit"]
    assert row["train_images"] == 2 and refit["train_images"] == 6  # 0006R0 and the official val frames too
    assert refit["eval_dir"]["images"] == 3 and refit["epochs_done"] == 1
    run = next(tmp_path.glob("aekit-smoke-run-*")) / "unet_small_refit"
    recorded = json.loads((run / "splits.json").read_text())
    assert len(recorded["train"]) == 6 and not recorded.get("val") and not recorded.get("test")
    assert not any("Seq05VD" in name for name in recorded["train"])  # the eval split stays unseen
    assert "val/miou" not in (run / "metrics.csv").read_text()  # nothing was validated, nothing selected
    only = module.main(["--smoke", "--models", "unet_small", "--eval-dir", str(test), "--refit", "only"])
    assert set(only["unet_small"]) == {"refit"} and only["unet_small"]["refit"]["train_images"] == 6


@pytest.mark.slow
def test_benchmark_default_selects_on_0006R0_and_scores_an_eval_dir(
    benchmark, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """What the issue's measurement runs: no selection flag, the test split through --eval-dir."""
    module = benchmark
    test = camvid_test_folder(tmp_path)
    row = module.main(["--smoke", "--models", "unet_small", "--eval-dir", str(test)])["unet_small"]
    assert "refit" not in row  # the refit runs only when asked for
    assert row["selected_on"].startswith("held-out sequence(s) 0006R0") and row["val_images"] == 2
    scored = row["eval_dir"]
    assert scored["images"] == 3
    run = next(tmp_path.glob("aekit-smoke-run-*")) / "unet_small"
    miou, per_class = recomputed_iou(run / "best.ckpt", test)  # the selected checkpoint on the three frames
    assert scored["miou"] == pytest.approx(miou, abs=0.006)  # the JSON rounds to 2 decimals
    assert {k: v for k, v in scored["per_class_iou"].items() if v is not None} == pytest.approx(per_class, abs=0.051)
    assert set(scored["per_class_iou"]) == set(row["per_class_iou"]) and len(scored["per_class_iou"]) == 11
    none = module.main(["--smoke", "--models", "unet_small", "--val-groups", "none"])["unet_small"]
    assert none["selected_on"].startswith("val (best epoch by val mIoU")
