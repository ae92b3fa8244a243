"""``aekit.evaluate`` / ``aekit.predict`` / ``aekit.export`` against their CLI twins, one tiny run per problem.

Each case trains one epoch through the CLI, then checks: the CLI's metrics JSON and the Python call's are the
same file in the same folder with the same values (and the call returns them); both predictions write the
same files with equal pixels; the ONNX export runs in ONNX Runtime and matches the model.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from conftest import TINY_AE, blobs
from PIL import Image
from test_image_to_image import write_depth_folders, write_hr_folder
from test_segmentation import make_shapes

import aekit
from aekit.cli.main import main
from aekit.data.base import DataError
from aekit.data.pfm import read_pfm
from aekit.data.synthetic import write_synthetic_stereo_folder
from aekit.inference import resolve_checkpoint

EPOCH = ["--epochs", "1", "--no-progress", "--seed", "0"]


def _images(folder: Path, n: int, size: tuple[int, int], channels: int) -> Path:
    """Photos to predict on, in two sub-folders (outputs must keep them apart)."""
    for i, img in enumerate(blobs(n, max(size), channels, seed=7)):
        sub = folder / ("a" if i % 2 else "b")
        sub.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img[: size[0], : size[1]]).save(sub / f"p{i}.png")
    return folder


def _ae(tmp: Path) -> tuple[Path, str, list[str], Path]:
    data = tmp / "digits.npz"
    np.savez(data, images=blobs(64, 16), labels=np.arange(64) % 4)
    assert main(["train", "ae", "--data", f"npy:{data}", *TINY_AE, *EPOCH, "--out", str(tmp / "run")]) == 0
    return tmp / "run", f"npy:{data}", [], _images(tmp / "photos", 4, (16, 16), 1)


def _unet(tmp: Path) -> tuple[Path, str, list[str], Path]:
    images, masks = make_shapes(tmp / "d", n=12)
    argv = ["train", "unet", "--data", f"pairs:{images},{masks}", "--classes", "3", "--widths", "8,16", "--blocks", "1"]
    assert main([*argv, "--batch-size", "4", *EPOCH, "--out", str(tmp / "run")]) == 0
    return tmp / "run", f"pairs:{images},{masks}", ["--split", "val"], _images(tmp / "photos", 3, (20, 26), 3)


def _sr(tmp: Path) -> tuple[Path, str, list[str], Path]:
    hr = write_hr_folder(tmp / "hr", n=4, size=(36, 42))
    argv = ["train", "sr", "--data", f"hr:{hr}", "--scale", "3", "--patch-size", "24", "--patches-per-image", "2"]
    argv += ["--widths", "8,16", "--blocks", "1", "--batch-size", "4"]
    assert main([*argv, *EPOCH, "--out", str(tmp / "run")]) == 0
    return tmp / "run", f"hr:{hr}", [], _images(tmp / "photos", 3, (10, 12), 3)


def _depth(tmp: Path) -> tuple[Path, str, list[str], Path]:
    images, depths = write_depth_folders(tmp / "d", n=6)
    argv = ["train", "depth", "--data", f"depth:{images},{depths}", "--depth-scale", "1000", "--widths", "8,16"]
    assert main([*argv, "--blocks", "1", "--batch-size", "2", *EPOCH, "--out", str(tmp / "run")]) == 0
    return tmp / "run", f"depth:{images},{depths}", ["--median-scaling"], _images(tmp / "photos", 3, (24, 32), 3)


def _classifier(tmp: Path) -> tuple[Path, str, list[str], Path]:
    run, data, _, photos = _ae(tmp)
    argv = ["finetune", str(run / "best.ckpt"), "--data", data, "--labels-per-class", "2", "--steps", "2"]
    assert main([*argv, "--ft-epochs", "1", "--ft-batch-size", "6", "--mode", "full", "--out", str(tmp / "ft")]) == 0
    return tmp / "ft", data, [], photos


def _stereo(tmp: Path) -> tuple[Path, str, list[str], Path]:
    write_synthetic_stereo_folder(tmp / "pairs", n=5, height=32, width=48)
    argv = ["train", "stereo-depth", "--data", f"stereo:{tmp / 'pairs'}", "--widths", "8,16,16", "--blocks", "1"]
    argv += ["--batch-size", "2", "--val-fraction", "0.2", "--loss", "godard"]
    assert main([*argv, *EPOCH, "--out", str(tmp / "run")]) == 0
    photos = tmp / "photos" / "a"
    photos.mkdir(parents=True)
    Image.open(tmp / "pairs" / "scene_000" / "left.png").save(photos / "l.png")
    return tmp / "run", f"stereo:{tmp / 'pairs'}", ["--split", "all", "--median-scaling"], tmp / "photos"


PROBLEMS = {"ae": _ae, "unet": _unet, "sr": _sr, "depth": _depth, "classifier": _classifier, "stereo": _stereo}


def _as_kwargs(flags: list[str]) -> dict[str, object]:
    """``["--split", "val", "--median-scaling"]`` -> ``{"split": "val", "median_scaling": True}``."""
    out: dict[str, object] = {}
    i = 0
    while i < len(flags):
        key = flags[i][2:].replace("-", "_")
        if i + 1 < len(flags) and not flags[i + 1].startswith("--"):
            out[key], i = flags[i + 1], i + 2
        else:
            out[key], i = True, i + 1
    return out


def _same(a: object, b: object) -> bool:
    """Equal as JSON (NaN equal to NaN, as in the files)."""
    return json.dumps(a, sort_keys=True, default=float) == json.dumps(b, sort_keys=True, default=float)


def _items_scored(metrics: dict, run: Path) -> int:
    """How many items an evaluator's own figures say it scored (each problem reports them its own way)."""
    if "per_image" in metrics:  # super-resolution
        return len(metrics["per_image"])
    if "rows" in metrics:  # stereo: one row per pair, then the mean
        return len(metrics["rows"]) - 1
    if "results" in metrics:  # reconstruction: the run's recorded split
        return len(json.loads((run / "splits.json").read_text())[metrics["split"]])
    return int(metrics.get("images") or metrics["n"])  # segmentation, depth | classification


def _figures(metrics: object, prefix: str = "") -> dict[str, float]:
    """Every number of a metrics JSON by its path (``results.autoencoder.psnr``), provenance left out."""
    if isinstance(metrics, dict):
        items = [(k, v) for k, v in metrics.items() if k != "provenance"]
    elif isinstance(metrics, list):
        items = [(str(i), v) for i, v in enumerate(metrics)]
    else:
        return {prefix: float(metrics)} if isinstance(metrics, int | float) and not isinstance(metrics, bool) else {}
    return {k: v for key, value in items for k, v in _figures(value, f"{prefix}.{key}" if prefix else key).items()}


def _bf16_tolerance(key: str, fp32: float) -> float:
    """How far a bf16 (fast path) figure may lie from fp32 on the same checkpoint and inputs: PSNR 0.05 dB;
    accuracies and IoUs (fractions of pixels or images) 0.001, i.e. >= 99.9 % of argmax decisions agree;
    errors (RMS, EPE, abs. rel., ...) 1 % relative, squared errors (MSE, sq. rel.) 2 % (the square of a 1 %
    change); counts exactly."""
    name = key.rsplit(".", 1)[-1].lower()
    if "psnr" in name:
        return 0.05
    if "mse" in name.replace("rmse", "") or name.startswith("sq"):
        return 0.02 * abs(fp32) + 1e-6
    if any(word in name for word in ("acc", "iou", "delta")):
        return 1e-3
    if name in ("n", "images", "pixels", "count", "components", "latent_dim"):
        return 0.0
    return 0.01 * abs(fp32) + 1e-6


def _read(path: Path) -> object:
    if path.suffix == ".png":
        return np.asarray(Image.open(path))
    if path.suffix == ".pfm":
        return read_pfm(path)
    return path.read_text()


@pytest.mark.precision
@pytest.mark.parametrize("problem", list(PROBLEMS))
def test_python_twin_gives_the_cli_results(problem: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run, data, flags, photos = PROBLEMS[problem](tmp_path)

    # evaluate: the CLI, then the call (given the handle aekit.train returns), write one file in one folder
    assert main(["evaluate", str(run / "best.ckpt"), "--data", data, *flags]) == 0
    (folder,) = (run / "evaluations").iterdir()
    (metrics_file,) = folder.glob("metrics*.json")
    from_cli = json.loads(metrics_file.read_text())
    shutil.rmtree(folder)
    handle = SimpleNamespace(best_checkpoint=run / "best.ckpt", run_dir=run)
    returned = aekit.evaluate(handle, data=data, **_as_kwargs(flags))
    assert [p.name for p in (run / "evaluations").iterdir()] == [folder.name]
    from_python = json.loads(metrics_file.read_text())
    assert _same(from_cli, from_python) and _same(returned, from_python)

    # what made the numbers is recorded, and by default they do not depend on the CPU's bf16 support
    prov = from_python["provenance"]
    assert prov["precision"] == "32" and prov["data"] == data and prov["items"] > 0
    assert prov["checkpoint_sha256"] == hashlib.sha256((run / "best.ckpt").read_bytes()).hexdigest()
    assert prov["torch_version"] == torch.__version__ and prov["aekit_version"] == aekit.__version__
    assert prov["device"].startswith("cpu") and prov["cpu_capability"]
    for fast in ("0", "1"):
        monkeypatch.setenv("AEKIT_FAST_BF16", fast)
        assert _same(aekit.evaluate(run, data=data, **_as_kwargs(flags)), from_python), fast
    fast_path = aekit.evaluate(run, data=data, precision="auto", **_as_kwargs(flags))  # asked for: bf16 (forced)
    assert fast_path["provenance"]["precision"] == "bf16-mixed + channels_last"
    # the fast path is equivalent: same checkpoint and inputs, every figure within the stated tolerance
    fp32_figures, bf16_figures = _figures(from_python), _figures(fast_path)
    assert fp32_figures.keys() == bf16_figures.keys() and fp32_figures
    for key, value in fp32_figures.items():
        assert abs(bf16_figures[key] - value) <= _bf16_tolerance(key, value), (key, value, bf16_figures[key])
    monkeypatch.delenv("AEKIT_FAST_BF16")
    assert prov["items"] == _items_scored(from_python, run), prov

    # predict: the same files with the same pixels, and the call returns exactly what it wrote
    assert main(["predict", str(run / "best.ckpt"), "--input", str(photos), "--output", str(tmp_path / "cli")]) == 0
    written = aekit.predict(run, inputs=photos, out=tmp_path / "py")
    cli_files = sorted(p.relative_to(tmp_path / "cli") for p in (tmp_path / "cli").rglob("*") if p.is_file())
    py_files = sorted(p.relative_to(tmp_path / "py") for p in (tmp_path / "py").rglob("*") if p.is_file())
    assert cli_files == py_files == sorted(p.relative_to(tmp_path / "py") for p in written) and py_files
    for rel in py_files:
        a, b = _read(tmp_path / "cli" / rel), _read(tmp_path / "py" / rel)
        assert np.array_equal(a, b) if isinstance(a, np.ndarray) else a == b, rel


@pytest.mark.parametrize("problem", ["unet"])
def test_export_writes_onnx_that_onnxruntime_runs(problem: str, tmp_path: Path) -> None:
    import onnxruntime as ort

    run, *_ = PROBLEMS[problem](tmp_path)
    result = aekit.export(run / "best.ckpt", format="onnx", out=tmp_path / "m.onnx", input_size="32,48")
    assert result.ok and (tmp_path / "m.onnx").is_file()
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    x = torch.rand(1, 3, 32, 48, generator=torch.Generator().manual_seed(1))
    (got, *_) = session.run(None, {session.get_inputs()[0].name: x.numpy()})
    with torch.no_grad():
        expected = aekit.load(run)(x)
    expected = expected[0] if isinstance(expected, (tuple, list)) else expected
    assert got.shape == tuple(expected.shape) and np.abs(got - expected.numpy()).max() < 1e-3
    # the CLI twin writes the same kind of file from the run directory
    assert main(["export", str(run), "--out", str(tmp_path / "cli.onnx"), "--input-size", "32,48"]) == 0
    assert (tmp_path / "cli.onnx").is_file()


def test_run_forms_and_bad_input(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    with pytest.raises(DataError, match="holds no best.ckpt, last.ckpt or model.safetensors"):
        resolve_checkpoint(run)
    (run / "last.ckpt").write_bytes(b"")
    assert resolve_checkpoint(run) == run / "last.ckpt"  # a run stopped before any best checkpoint
    assert resolve_checkpoint(SimpleNamespace(best_checkpoint=run / "best.ckpt", run_dir=run)) == run / "last.ckpt"
    (run / "best.ckpt").write_bytes(b"")
    assert resolve_checkpoint(run) == resolve_checkpoint(SimpleNamespace(best_checkpoint=run / "best.ckpt"))
    assert resolve_checkpoint(str(run / "last.ckpt")) == run / "last.ckpt"
    with pytest.raises(DataError, match="does not exist"):
        aekit.evaluate(tmp_path / "nope.ckpt", data="mnist5k")
    with pytest.raises(DataError, match="aekit.train returned"):
        aekit.evaluate(42, data="mnist5k")
    (run / "model.safetensors").write_bytes(b"")  # exported weights without their model.json
    with pytest.raises(DataError, match="has no model.json beside it"):
        aekit.predict(run / "model.safetensors", inputs=tmp_path, out=tmp_path / "o")
    (run / "weights.bin").write_bytes(b"")
    with pytest.raises(DataError, match="not a .bin file"):
        aekit.predict(run / "weights.bin", inputs=tmp_path, out=tmp_path / "o")


def test_options_a_task_does_not_take_are_refused_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    run, data, _, photos = _depth(tmp_path)
    with pytest.raises(DataError, match=r"does not take alpha \(--alpha\)"):
        aekit.predict(run, inputs=photos, out=tmp_path / "o", alpha=0.3)
    assert main(["evaluate", str(run), "--data", data, "--all-pairs"]) == 2
    err = capsys.readouterr().err
    assert "does not take all_pairs (--all-pairs)" in err and "Traceback" not in err
    with pytest.raises(DataError, match="inside it"):
        aekit.predict(run, inputs=photos, out=photos / "x")
