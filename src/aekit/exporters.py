"""Export any registered model to ONNX or to ``torch.export`` (.pt2), each checked against PyTorch.

The check runs the exported program on the example input and compares with the eager model
(``max_abs_diff`` against ``tolerance``, default :data:`DEFAULT_ATOL`); exporting fails loudly when they
disagree. Shapes are fixed to the example's (export again with another ``--input-size`` for other
sizes). ONNX goes through PyTorch's ``torch.export``-based exporter (``dynamo=True``), which also handles
SegNet-style max-unpooling (``aten.max_unpool2d`` is decomposed into scatter ops); the older
TorchScript exporter cannot export it.

``aekit.export(run, format="onnx", out=...)`` (what ``aekit export`` calls) is :func:`export_run`.
"""

from __future__ import annotations

import inspect
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from aekit.config import option

DEFAULT_SIZE = (45, 61)  # odd on purpose: exercises the pad-to-multiple / crop-back path
DEFAULT_ATOL = 1e-4
ONNX_OPSET = 18


@dataclass
class ExportResult:
    path: Path
    format: str
    max_abs_diff: float
    tolerance: float

    @property
    def ok(self) -> bool:
        return self.max_abs_diff <= self.tolerance

    def summary(self) -> str:
        verdict = "OK" if self.ok else "MISMATCH"
        return (
            f"{self.format} -> {self.path}: max |exported - eager| = {self.max_abs_diff:.3g} "
            f"(tolerance {self.tolerance:g}) {verdict}"
        )


class ExportError(RuntimeError):
    """The exporter failed, or the exported program disagrees with the eager model."""


def model_in_channels(model: nn.Module) -> int:
    """``model.in_channels``, else the input channels of its first convolution."""
    ch = getattr(model, "in_channels", None)
    if ch is not None:
        return int(ch)
    for m in model.modules():
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d):
            return int(m.in_channels)
    raise ValueError(f"cannot tell the input channels of {type(model).__name__}; set model.in_channels")


def n_image_inputs(model: nn.Module) -> int:
    """How many images ``forward`` takes: its required positional parameters (2 for a stereo pair)."""
    params = inspect.signature(model.forward).parameters.values()
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return max(1, sum(1 for p in params if p.kind in kinds and p.default is inspect.Parameter.empty))


def example_input(
    model: nn.Module, size: tuple[int, int] | None = None, batch: int = 1, seed: int = 0
) -> torch.Tensor | tuple[torch.Tensor, ...]:
    """Random (batch, C, H, W) input(s) in [0, 1]: ``model.image_size`` if the model fixes one, else
    ``size`` or :data:`DEFAULT_SIZE`; a tuple of such images when ``forward`` takes several (stereo)."""
    fixed = getattr(model, "image_size", None)
    if fixed is not None:
        if size is not None and tuple(size) != tuple(fixed):
            raise ValueError(f"this model takes {fixed[0]}x{fixed[1]} inputs only; drop --input-size or use that")
        size = tuple(fixed)
    h, w = size or DEFAULT_SIZE
    g = torch.Generator().manual_seed(seed)
    n = n_image_inputs(model)
    images = tuple(torch.rand(batch, model_in_channels(model), int(h), int(w), generator=g) for _ in range(n))
    return images[0] if n == 1 else images


def _as_args(example: torch.Tensor | tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
    return example if isinstance(example, tuple) else (example,)


def _flatten(out: object) -> list[np.ndarray]:
    if isinstance(out, torch.Tensor):
        return [out.detach().cpu().numpy()]
    if isinstance(out, dict):
        out = list(out.values())
    if isinstance(out, list | tuple):
        return [a for o in out for a in _flatten(o)]
    raise TypeError(f"cannot compare an output of type {type(out).__name__}")


def _max_diff(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    if len(a) != len(b):
        raise ExportError(f"the exported program returns {len(b)} outputs, the model {len(a)}")
    diffs = []
    for x, y in zip(a, b):
        if x.shape != y.shape:
            raise ExportError(f"exported output has shape {y.shape}, the model's {x.shape}")
        diffs.append(float(np.abs(x.astype(np.float64) - y.astype(np.float64)).max()) if x.size else 0.0)
    return max(diffs)


@contextmanager
def _quiet_logger(name: str) -> Iterator[None]:
    """Silence a library logger (the ONNX exporter warns about optional torchvision ops) for a block."""
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _check(result: ExportResult, strict: bool) -> ExportResult:
    if strict and not result.ok:
        raise ExportError(result.summary())
    return result


def _prepare(
    model: nn.Module, path: str | Path, example: torch.Tensor | tuple[torch.Tensor, ...]
) -> tuple[Path, nn.Module, tuple[torch.Tensor, ...], list[np.ndarray]]:
    """What both exporters start with: the output folder, eval mode, the inputs and eager outputs."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = model.eval()
    args = _as_args(example)
    with torch.no_grad():
        expected = _flatten(model(*args))
    return path, model, args, expected


def export_onnx(
    model: nn.Module,
    path: str | Path,
    example: torch.Tensor | tuple[torch.Tensor, ...],
    atol: float = DEFAULT_ATOL,
    strict: bool = True,
) -> ExportResult:
    """Write ``path`` (.onnx), run it in ONNX Runtime on ``example`` and compare with the eager model."""
    import onnxruntime as ort

    path, model, args, expected = _prepare(model, path, example)
    names = ["input"] if len(args) == 1 else [f"input{i}" for i in range(len(args))]
    with torch.no_grad():
        try:
            with warnings.catch_warnings(), _quiet_logger("torch.onnx"):
                warnings.simplefilter("ignore")
                torch.onnx.export(
                    model,
                    args,
                    str(path),
                    input_names=names,
                    dynamo=True,
                    opset_version=ONNX_OPSET,
                    external_data=False,
                    verbose=False,
                )
        except Exception as exc:  # the exporter's own errors are long; keep the gist
            raise ExportError(
                f"ONNX export of {type(model).__name__} failed: {exc.__class__.__name__}: {str(exc)[:500]}"
            ) from exc
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {i.name: a.numpy() for i, a in zip(session.get_inputs(), args)})
    return _check(ExportResult(path, "onnx", _max_diff(expected, list(got)), atol), strict)


def export_torch(
    model: nn.Module,
    path: str | Path,
    example: torch.Tensor | tuple[torch.Tensor, ...],
    atol: float = DEFAULT_ATOL,
    strict: bool = True,
) -> ExportResult:
    """Write ``path`` (.pt2) with ``torch.export``, load it back and compare with the eager model."""
    path, model, args, expected = _prepare(model, path, example)
    with torch.no_grad():
        try:
            program = torch.export.export(model, args)
        except Exception as exc:
            raise ExportError(
                f"torch.export of {type(model).__name__} failed: {exc.__class__.__name__}: {str(exc)[:500]}"
            ) from exc
        torch.export.save(program, str(path))
        loaded = torch.export.load(str(path)).module()
        got = _flatten(loaded(*args))
    return _check(ExportResult(path, "torch-export", _max_diff(expected, got), atol), strict)


EXPORTERS = {"onnx": export_onnx, "torch-export": export_torch}


@dataclass
class ExportOptions:
    """Options of ``aekit export`` / ``aekit.export``."""

    out: Path = option(help="output file (.onnx or .pt2)")
    format: str = option("onnx", "onnx (checked in ONNX Runtime) or torch-export (.pt2)", choices=tuple(EXPORTERS))
    input_size: str | None = option(None, "H,W of the (fixed) input shape; default: the model's own, else 45,61")
    batch: int = option(1, "batch size of the exported input shape")
    atol: float | None = option(None, f"largest allowed |exported - eager| (default {DEFAULT_ATOL:g})")


def export_run(run: Any, format: str = "onnx", out: str | Path | None = None, strict: bool = True,
               **options: Any) -> ExportResult:  # fmt: skip
    """Export a trained model (what ``aekit.train`` returned, a run directory, a .ckpt or a model.safetensors)
    to ONNX or torch.export, checked against PyTorch on a random input. ``strict``: raise
    :class:`ExportError` when they disagree (else the result says so: ``result.ok``)."""
    from aekit.data.base import DataError
    from aekit.data.images import parse_size
    from aekit.engine import set_threads
    from aekit.inference.base import make_options
    from aekit.io import load

    opts = make_options(ExportOptions, "export", {"format": format, "out": out, **options})
    if opts.out is None:
        raise DataError("export needs out= (the .onnx or .pt2 file to write)")
    if opts.format not in EXPORTERS:
        raise DataError(f"--format {opts.format!r}: choose one of {', '.join(EXPORTERS)}")
    set_threads()
    source = getattr(run, "best_checkpoint", None) or run
    model = load(source)
    example = example_input(model, parse_size(opts.input_size), opts.batch)
    return EXPORTERS[opts.format](model, opts.out, example, atol=opts.atol or DEFAULT_ATOL, strict=strict)

