"""What every evaluator and predictor shares: typed options, the registries keyed by the checkpoint's task
name, finding a run's checkpoint, and writing results.

An evaluator is ``fn(task, opts, where) -> Evaluation``, registered with its options class (a dataclass that
extends :class:`EvaluateOptions` with the task's own fields); a predictor is ``fn(task, opts) -> list[Path]``
with a :class:`PredictOptions` subclass. The options classes are the one definition of every option: the
Python keyword arguments and the ``aekit evaluate`` / ``aekit predict`` flags (and their help) come from them.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aekit.config import option
from aekit.data.base import DataError
from aekit.io import (  # write_json, write_text: re-exported for the evaluators
    CONFIG_NAME,
    WEIGHTS_NAME,
    weights_config_path,
    write_json,  # noqa: F401
    write_text,  # noqa: F401
)


@dataclass
class EvaluateOptions:
    """Options of ``aekit evaluate`` that every task takes."""

    data: str = option(help="data spec, e.g. mnist5k, folder:path, camvid:path")
    split: str | None = option(
        None,
        "default: the run's recorded test split on its training data, every item of other data",
        choices=("train", "val", "test", "all"),
    )
    out: Path | None = option(
        None, "folder for metrics.json/.md (default: <run>/evaluations/<data>-<split>, one per data set and split)"
    )
    batch_size: int = option(64, "images per forward pass (segmentation: at most 16, its images are full size)")
    precision: str = option(
        "32",
        "32 (default: the same numbers on every machine), auto (bf16 where this machine runs it fast: quicker, "
        "scores may move in the last digits), bf16-mixed",
    )
    tile_megapixels: float = option(1.0, "tile larger inputs (0: never)")
    seed: int | None = option(None, "seed of the data split (default: the run's)")
    accelerator: str = option("auto", "auto (the GPU when there is one), cpu, gpu", choices=("auto", "cpu", "gpu"))


@dataclass
class PredictOptions:
    """Options of ``aekit predict`` that every task takes."""

    inputs: Path = option(help="an image file or a folder", flag="--input")
    out: Path = option(help="output folder (never the input folder)", flag="--output")
    batch_size: int = option(16, "images per forward pass")
    precision: str = option("auto", "auto (bf16 where this machine runs it fast, as training; else 32), 32, bf16-mixed")
    tile_megapixels: float = option(1.0, "tile larger inputs (0: never)")
    accelerator: str = option("auto", "auto (the GPU when there is one), cpu, gpu", choices=("auto", "cpu", "gpu"))
    devices: int = option(
        1, "processes sharing the inputs (GPUs, or CPU processes with gloo); the files are those of one device"
    )


@dataclass
class Where:
    """What ``evaluate`` decided before calling the task's evaluator (resolved from the run and the options)."""

    checkpoint: Path
    split: str  # the split name to read ("test" when every item is scored)
    seed: int
    splitting: Any  # aekit.data.splits.SplitSpec
    out: Path
    note: str  # a sentence saying which items are scored
    provenance: dict[str, Any] = dataclasses.field(default_factory=dict)  # what made the numbers (write_metrics)

    def split_options(self) -> dict[str, Any]:
        """Keyword options for ``open_data``: the run's recorded split (or the whole data) and seed."""
        return {"seed": self.seed, "splitting": self.splitting}


def write_metrics(where: Where, metrics: dict[str, Any], items: int, name: str = "metrics.json") -> Path:
    """Write an evaluator's metrics JSON with its provenance (precision, device, versions, checkpoint hash, data,
    split, item count) added under ``"provenance"``, so a figure can be traced and reproduced on another machine."""
    metrics["provenance"] = {**where.provenance, "items": int(items)}
    return write_json(where.out / name, metrics)


def provenance(checkpoint: Path, data: str, split: str, note: str, precision: str, model: Any) -> dict[str, Any]:
    """What decides an evaluation's numbers besides the weights: recorded in every metrics JSON."""
    import platform

    import torch

    from aekit import __version__

    device = next(iter(model.parameters()), torch.empty(0)).device
    return {
        "precision": precision,
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu ({platform.machine()})",
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "aekit_version": __version__,
        "torch_version": torch.__version__,
        "checkpoint": str(checkpoint),
        "checkpoint_sha256": file_sha256(checkpoint),
        "data": data,
        "split": split,
        "scored": note,
    }


def file_sha256(path: Path) -> str:
    """sha256 of a file, read in 1 MiB chunks (checkpoints can be large)."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class Evaluation:
    """What an evaluator returns: the metrics (as written to the metrics JSON), a Markdown report, the files."""

    metrics: dict[str, Any]
    markdown: str
    files: list[Path]
    out: Path | None = None
    note: str = ""
    precision: str = ""


@dataclass
class Handler:
    fn: Callable[..., Any]
    options: type


EVALUATORS: dict[str, Handler] = {}
PREDICTORS: dict[str, Handler] = {}


def register_evaluator(task_name: str, options: type[EvaluateOptions] = EvaluateOptions) -> Callable:
    """Decorator: ``fn(task, opts, where) -> Evaluation`` evaluates checkpoints of ``task_name``."""

    def wrap(fn: Callable) -> Callable:
        EVALUATORS[task_name] = Handler(fn, options)
        return fn

    return wrap


def register_predictor(task_name: str, options: type[PredictOptions] = PredictOptions) -> Callable:
    """Decorator: ``fn(task, opts) -> list[Path]`` predicts with checkpoints of ``task_name``."""

    def wrap(fn: Callable) -> Callable:
        PREDICTORS[task_name] = Handler(fn, options)
        return fn

    return wrap


def import_builtin() -> None:
    """Register the built-in evaluators and predictors (imported on first use, not with ``import aekit``)."""
    import aekit.inference.classification  # noqa: F401
    import aekit.inference.focus_depth  # noqa: F401
    import aekit.inference.image_regression  # noqa: F401
    import aekit.inference.reconstruction  # noqa: F401
    import aekit.inference.segmentation  # noqa: F401
    import aekit.inference.stereo  # noqa: F401


def make_options(cls: type, what: str, values: dict[str, Any]) -> Any:
    """``cls(**values)``, refusing options this task does not take with a line that lists the ones it does."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(k for k in values if k not in names)
    if unknown:
        flags = ", ".join(f"{k} (--{k.replace('_', '-')})" for k in unknown)
        raise DataError(f"{what} does not take {flags}; it takes: "
                        f"{', '.join(sorted(names))}")  # fmt: skip
    missing = [f.name for f in dataclasses.fields(cls) if f.name not in values and _required(f)]
    if missing:
        raise DataError(f"{what} needs {', '.join(missing)}")
    return cls(**values)


def _required(f: dataclasses.Field) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def option_classes(registry: dict[str, Handler]) -> list[type]:
    """The options classes of every registered handler (base class first), for building CLI flags."""
    import_builtin()
    seen: list[type] = []
    for handler in registry.values():
        for cls in reversed(handler.options.__mro__):
            if dataclasses.is_dataclass(cls) and cls not in seen:
                seen.append(cls)
    return seen


def resolve_checkpoint(run: Any) -> Path:
    """The checkpoint of ``run``: a handle with ``.best_checkpoint`` (what ``aekit.train`` returns), a run
    directory (its best.ckpt, else last.ckpt), a ``.ckpt`` path, or portable weights: a folder holding only
    ``model.safetensors`` + ``model.json`` (what ``aekit.load`` reads and people share) or that ``.safetensors``."""
    best = getattr(run, "best_checkpoint", None)
    if best is not None:  # a run with no best checkpoint yet falls back to its directory (last.ckpt)
        run = best if str(best) and Path(best).is_file() else getattr(run, "run_dir", None) or best
    if not isinstance(run, str | Path):
        raise DataError(f"run {run!r}: pass a run directory, a .ckpt path or what aekit.train returned")
    path = Path(run)
    if path.is_dir():
        for name in ("best.ckpt", "last.ckpt", WEIGHTS_NAME):
            if (path / name).is_file():
                return weights_with_config(path / name) if name == WEIGHTS_NAME else path / name
        raise DataError(
            f"{path} holds no best.ckpt, last.ckpt or {WEIGHTS_NAME}; is it an aekit run directory or exported weights?"
        )
    if not path.exists():
        raise DataError(f"checkpoint {path} does not exist")
    if path.suffix == ".safetensors":
        return weights_with_config(path)
    if path.suffix != ".ckpt":
        raise DataError(
            f"{path}: pass a run directory, a .ckpt written by aekit train or a .safetensors with its model.json "
            f"(not a {path.suffix or 'suffix-less'} file)"
        )
    return path


def weights_with_config(path: Path) -> Path:
    """``path`` (a ``.safetensors``) if its JSON config lies beside it, else a one-line error saying so."""
    if weights_config_path(path) is None:
        raise DataError(f"{path} has no {CONFIG_NAME} beside it: copy the model.json exported with the weights there")
    return path


def evaluation_dir(checkpoint: Path, data: str, split: str, whole: bool) -> Path:
    """``<run>/evaluations/<data set>-<split>``: evaluating another data set or split never overwrites one."""
    first = Path(data.partition(":")[2].split(",")[0] or data)
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", "_".join(p for p in (first.parent.name, first.name) if p) or data)
    run = checkpoint if checkpoint.is_dir() else checkpoint.parent
    return run / "evaluations" / f"{name}-{'all' if whole else split}"


def tile_budget(task: Any, tile_megapixels: float | None) -> int | None:
    """Pixels per forward pass above which dense models are tiled (None for models that cannot be)."""
    from aekit.tiling import TILED_TASKS

    mp = tile_megapixels or 0
    return int(mp * 1024 * 1024) if mp > 0 and getattr(task, "task_name", "") in TILED_TASKS else None


# The slice of the inputs this process predicts: (rank, world size), set by ``aekit.predict`` on several devices.
_SHARD: tuple[int, int] = (0, 1)


@contextmanager
def input_shard(rank: int, world: int) -> Iterator[None]:
    """Inside: :func:`input_files` gives this rank's contiguous block of the inputs (rank order = file order, so
    the ranks' outputs put together are those of one device)."""
    global _SHARD
    previous, _SHARD = _SHARD, (rank, world)
    try:
        yield
    finally:
        _SHARD = previous


def input_files(inputs: Path) -> list[Path]:
    """The image files of ``--input`` a predictor works on: all of them, or this rank's block (:func:`input_shard`)."""
    from aekit.data.images import list_images

    return this_shard(list_images(inputs))


def this_shard(items: list) -> list:
    """This rank's contiguous block of ``items`` (all of them on one device): for predictors whose unit is not
    an image file (a scene folder, a pair)."""
    rank, world = _SHARD
    bounds = [len(items) * r // world for r in range(world + 1)]
    return items[bounds[rank] : bounds[rank + 1]]


def output_paths(files: list[Path], root: Path, out: Path, suffix: str = "", ext: str = "") -> list[Path]:
    """One output path per input, at its path relative to ``root`` (so same-named files in different
    sub-folders stay apart), named after its stem + ``suffix`` + ``ext``; refuses to overwrite any input."""
    base = root if root.is_dir() else root.parent
    outs = []
    for f in files:
        rel = f.relative_to(base)
        outs.append(out / rel.with_name(rel.stem + suffix + ext))
    inputs = {f.resolve() for f in files}
    clash = [o for o in outs if o.resolve() in inputs]
    if clash:
        raise DataError(f"writing {clash[0]} would overwrite an input image; choose another --output folder")
    return outs
