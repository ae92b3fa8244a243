"""Inference on any machine: several processes give the files of one, exported weights run like the run they
came from, and inputs that used to reach a traceback get one line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from test_inference_api import _classifier, _unet

import aekit
from aekit.cli.main import main
from aekit.data.base import DataError
from aekit.engine import inference_device, inference_precision
from aekit.inference.api import merge_shards
from aekit.inference.base import input_files, input_shard


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.slow
@pytest.mark.precision
@pytest.mark.parametrize("problem", [_unet, _classifier], ids=["segmentation", "classification"])
def test_two_cpu_processes_write_the_files_of_one(problem, tmp_path: Path) -> None:
    run, _, _, photos = problem(tmp_path)
    one = aekit.predict(run, inputs=photos, out=tmp_path / "one", accelerator="cpu", devices=1)
    assert main(["predict", str(run), "--input", str(photos), "--output", str(tmp_path / "two"),
                 "--accelerator", "cpu", "--devices", "2"]) == 0  # fmt: skip
    a, b = _tree(tmp_path / "one"), _tree(tmp_path / "two")
    assert a.keys() == b.keys() and a and all(a[k] == b[k] for k in a)  # byte-identical, no shard folder left
    assert sorted(one) == sorted(tmp_path / "one" / k for k in a)
    if problem is _classifier:  # the one table over all inputs: every input once, in file order
        rows = (tmp_path / "two" / "predictions.csv").read_text().splitlines()
        assert rows[0].startswith("file,") and len(rows) == 1 + len(list(photos.rglob("*.png")))


def test_shards_are_contiguous_blocks_that_cover_the_inputs_once(tmp_path: Path) -> None:
    for i in range(5):
        Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / f"{i}.png")
    every = input_files(tmp_path)
    for world in (1, 2, 3, 7):
        blocks = []
        for rank in range(world):
            with input_shard(rank, world):
                blocks.append(input_files(tmp_path))
        assert [f for block in blocks for f in block] == every, world
    assert input_files(tmp_path) == every  # outside the context: everything


def test_merge_joins_a_table_once_and_refuses_other_clashes(tmp_path: Path) -> None:
    for rank, rows in enumerate((["a.png,1"], ["b.png,0", "c.png,1"])):
        part = tmp_path / "parts" / f"rank{rank}"
        (part / "sub").mkdir(parents=True)
        (part / "predictions.csv").write_text("file,class\n" + "".join(r + "\n" for r in rows))
        (part / "sub" / f"x{rank}.png").write_bytes(bytes([rank]))
    parts = [tmp_path / "parts" / f"rank{r}" for r in range(2)]
    merge_shards(parts, tmp_path / "out")
    assert (tmp_path / "out" / "predictions.csv").read_text() == "file,class\na.png,1\nb.png,0\nc.png,1\n"
    assert (tmp_path / "out" / "sub" / "x1.png").read_bytes() == b"\x01"
    for part in parts:
        (part / "figure.png").parent.mkdir(parents=True, exist_ok=True)
        (part / "figure.png").write_bytes(b"x")
    with pytest.raises(DataError, match="figure.png: written by 2 processes"):
        merge_shards(parts, tmp_path / "out2")


def test_accelerator_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    assert inference_device("cpu").type == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert inference_device("auto").type == "cpu"
    with pytest.raises(ValueError, match="no CUDA GPU"):
        inference_device("gpu")
    with pytest.raises(ValueError, match="choose one of"):
        inference_device("tpu")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_on_a_gpu_inputs_move_there_and_outputs_come_back_as_cpu_float32() -> None:
    model = aekit.create_model("unet", in_channels=3, out_channels=2, widths=[8, 16], blocks=1)
    x = torch.rand(2, 3, 32, 32)
    expected = model.eval()(x)
    with inference_precision(model, "32", inference_device("gpu")) as precision:
        got = model(x)
    assert precision == "32" and got.device.type == "cpu" and got.dtype == torch.float32
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)


def test_exported_weights_alone_predict_and_evaluate_like_the_run(tmp_path: Path, capsys) -> None:
    run, data, _, photos = _unet(tmp_path)
    weights = tmp_path / "shared_model"
    weights.mkdir()
    for name in ("model.safetensors", "model.json"):
        shutil.copy(run / name, weights / name)
    meta = json.loads((weights / "model.json").read_text())["metadata"]
    assert meta["task"] == "segmentation" and meta["task_hparams"]["num_classes"] == 3
    # predict from the folder and from the file: the files of the run's best.ckpt (the weights are its weights)
    assert main(["predict", str(run), "--input", str(photos), "--output", str(tmp_path / "from_run")]) == 0
    assert main(["predict", str(weights), "--input", str(photos), "--output", str(tmp_path / "from_dir")]) == 0
    assert main(["predict", str(weights / "model.safetensors"), "--input", str(photos),
                 "--output", str(tmp_path / "from_file")]) == 0  # fmt: skip
    reference = _tree(tmp_path / "from_run")
    assert reference and _tree(tmp_path / "from_dir") == reference == _tree(tmp_path / "from_file")
    # evaluate: the same numbers as the run's checkpoint on the same (whole) data
    from_run = aekit.evaluate(run, data=data, split="all", out=tmp_path / "e_run")
    from_weights = aekit.evaluate(weights, data=data, split="all", out=tmp_path / "e_weights")
    assert from_weights["miou"] == from_run["miou"] and from_weights["per_class_iou"] == from_run["per_class_iou"]
    assert from_weights["provenance"]["checkpoint"].endswith("model.safetensors")
    # weights whose model.json went missing: one line that says what to copy
    (weights / "model.json").unlink()
    assert main(["predict", str(weights), "--input", str(photos), "--output", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "has no model.json beside it" in err and "Traceback (most recent call last)" not in err


def test_segmentation_evaluate_on_images_without_masks_is_one_line(tmp_path: Path, capsys) -> None:
    run, _, _, photos = _unet(tmp_path)
    assert main(["evaluate", str(run), "--data", f"folder:{photos}"]) == 2
    line = capsys.readouterr().err.splitlines()[0]  # the CLI's one line (a second says how to see a traceback)
    assert "holds no masks" in line and "aekit predict" in line and "pairs:IMAGES,MASKS" in line


def test_an_image_over_the_decompression_bomb_limit_is_one_line(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # Pillow refuses images over twice the limit
    folder = tmp_path / "giant"
    folder.mkdir()
    Image.fromarray(np.zeros((60, 40), np.uint8)).save(folder / "huge.png")  # 2,400 pixels > 2 x 1,000
    args = ["train", "ae", "--data", f"folder:{folder}", "--epochs", "1", "--out", str(tmp_path / "r")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "huge.png has 2,400 pixels" in err.splitlines()[0] and "AEKIT_MAX_IMAGE_PIXELS" in err
    assert "Traceback (most recent call last)" not in err
    from aekit.data.images import read_image

    with pytest.raises(DataError, match=r"^image .*huge.png has 2,400 pixels"):  # predict's reader: the same line
        read_image(folder / "huge.png")
    monkeypatch.setenv("AEKIT_MAX_IMAGE_PIXELS", "0")  # a real giant image: the limit lifted, the file reads

    assert read_image(folder / "huge.png").shape == (60, 40, 1)
    monkeypatch.setenv("AEKIT_MAX_IMAGE_PIXELS", "lots")
    with pytest.raises(DataError, match="AEKIT_MAX_IMAGE_PIXELS='lots'"):
        read_image(folder / "huge.png")
