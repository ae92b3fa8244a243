"""Export round trips: every registered model, to ONNX and to torch.export, agrees with PyTorch."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

import aekit
from aekit.cli.main import main
from aekit.exporters import DEFAULT_SIZE, ExportError, example_input, export_onnx, export_torch


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    """One torch thread: on a shared, oversubscribed 2-core machine it is several times faster than two."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def small_example(model: torch.nn.Module) -> torch.Tensor:
    """The model's own size if it fixes one, else a small odd size (keeps each export cheap)."""
    return example_input(model, None if getattr(model, "image_size", None) else (21, 27))


@pytest.mark.slow
@pytest.mark.parametrize("name", aekit.list_models())
@pytest.mark.parametrize("fmt", ["onnx", "torch-export"])
def test_every_registered_model_exports(name: str, fmt: str, tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = aekit.create_model(name).eval()
    example = small_example(model)
    fn = export_onnx if fmt == "onnx" else export_torch
    result = fn(model, tmp_path / f"{name}.{'onnx' if fmt == 'onnx' else 'pt2'}", example)
    assert result.path.is_file() and result.ok
    assert result.max_abs_diff <= 1e-4


@pytest.mark.slow
def test_max_unpool_exports_to_onnx(tmp_path: Path) -> None:
    model = aekit.create_model("unet", upsample="max_unpool", widths=[8, 16, 32], blocks_per_stage=1).eval()
    with torch.no_grad():  # make the check meaningful: random weights in the BN stats
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
    result = export_onnx(model, tmp_path / "unpool.onnx", example_input(model, (22, 30)))
    assert result.ok, result.summary()


def test_example_input_uses_model_size_and_default() -> None:
    ae = aekit.create_model("autoencoder")
    assert example_input(ae).shape == (1, 1, 28, 28)
    assert example_input(aekit.create_model("unet")).shape == (1, 3, *DEFAULT_SIZE)
    with pytest.raises(ValueError, match="28x28"):
        example_input(ae, (32, 32))


def test_mismatch_is_reported(tmp_path: Path) -> None:
    model = aekit.create_model("srcnn", scale=2).eval()
    with pytest.raises(ExportError, match="MISMATCH"):
        export_torch(model, tmp_path / "m.pt2", example_input(model, (9, 9)), atol=-1.0)


def test_export_command(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    model = aekit.create_model("srcnn", scale=2, widths=[8, 4], kernel_sizes=[3, 3, 3])
    aekit.save_model(model, tmp_path / "run")
    out = tmp_path / "m.onnx"
    assert main(["export", str(tmp_path / "run"), "--format", "onnx", "--out", str(out), "--input-size", "12,14"]) == 0
    assert out.is_file()
    text = capsys.readouterr().out
    assert "max |exported - eager|" in text and "OK" in text


def test_two_input_models_get_two_examples(tmp_path: Path) -> None:
    class Pair(torch.nn.Module):  # a stand-in for a stereo network: forward(left, right)
        in_channels = 3

        def __init__(self) -> None:
            super().__init__()
            self.conv = torch.nn.Conv2d(6, 1, 3, padding=1)

        def forward(self, left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
            return self.conv(torch.cat([left, right], 1))

    model = Pair().eval()
    example = example_input(model, (9, 11))
    assert isinstance(example, tuple) and len(example) == 2
    assert export_torch(model, tmp_path / "p.pt2", example).ok
    assert export_onnx(model, tmp_path / "p.onnx", example).ok
