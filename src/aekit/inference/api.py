"""``aekit.evaluate`` and ``aekit.predict``: the same calls ``aekit evaluate`` / ``aekit predict`` make."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from aekit.data.base import DataError
from aekit.inference.base import (
    EVALUATORS,
    PREDICTORS,
    Evaluation,
    Where,
    evaluation_dir,
    import_builtin,
    make_options,
    provenance,
    resolve_checkpoint,
    tile_budget,
)

SPLIT_CHOICES = (None, "train", "val", "test", "all")


def _task_and_handler(checkpoint: Path, registry: dict, what: str) -> tuple[Any, Any]:
    from aekit.engine import set_threads
    from aekit.tasks import load_task

    set_threads()
    import_builtin()
    task = load_task(checkpoint)
    handler = registry.get(task.task_name)
    if handler is None:
        raise DataError(f"{checkpoint}: no {what} for task {task.task_name!r}; known: {', '.join(sorted(registry))}")
    return task, handler


def evaluate_run(run: Any, **options: Any) -> Evaluation:
    """Evaluate ``run`` and return everything (metrics, Markdown report, files written); see :func:`evaluate`."""
    from aekit.data.splits import evaluation_spec, read_run_splits, run_seed
    from aekit.engine import inference_precision
    from aekit.tiling import tiling

    checkpoint = resolve_checkpoint(run)
    task, handler = _task_and_handler(checkpoint, EVALUATORS, "evaluator")
    opts = make_options(handler.options, f"evaluate ({task.task_name} checkpoint)", options)
    if opts.split not in SPLIT_CHOICES:
        raise DataError(f"--split {opts.split!r}: choose one of {', '.join(map(str, SPLIT_CHOICES))}")
    recorded = read_run_splits(checkpoint)
    splitting, split, note = evaluation_spec(recorded, opts.data, opts.split)
    seed = opts.seed if opts.seed is not None else run_seed(checkpoint, recorded, task.metadata)
    out = (
        Path(opts.out)
        if opts.out is not None
        else evaluation_dir(checkpoint, opts.data, split, note.startswith("every"))
    )
    where = Where(checkpoint, split, seed, splitting, out, note)
    budget = tile_budget(task, opts.tile_megapixels)
    device = _device(opts.accelerator)
    with inference_precision(task.model, opts.precision, device) as precision, tiling(task.model, budget):
        where.provenance = provenance(checkpoint, opts.data, split, note, precision, task.model)
        result = handler.fn(task, opts, where)
    return dataclasses.replace(result, out=out, note=note, precision=precision)


def evaluate(run: Any, data: str, split: str | None = None, out: str | Path | None = None, **options: Any) -> dict:
    """Metrics of a trained model on a data split, as ``aekit evaluate`` computes them.

    ``run``: what ``aekit.train`` returned, a run directory (best.ckpt, else last.ckpt) or a checkpoint.
    ``split``: default the run's recorded test split on its training data, every item of other data.
    Writes the metrics JSON/Markdown and figures to ``out`` (default ``RUN/evaluations/<data>-<split>``, the
    CLI's place) and returns the metrics dict written there, with its ``provenance`` (precision, device,
    versions, the checkpoint's sha256, data, split, items). Scores are computed at fp32 unless
    ``precision="auto"`` (bf16 where fast) is asked for, so they are the same on every machine.
    ``options``: the task's own (``batch_size``, ``precision``, ``classes``, ``median_scaling``, ...;
    ``aekit evaluate --help`` lists them all).
    """
    return evaluate_run(run, data=data, split=split, out=out, **options).metrics


def predict(run: Any, inputs: str | Path, out: str | Path, **options: Any) -> list[Path]:
    """Run a trained model over an image file or a folder, as ``aekit predict``; returns the files written.

    Outputs keep the inputs' sub-folders; ``out`` may be neither the input folder nor inside it.
    ``options``: ``batch_size``, ``precision``, ``tile_megapixels``, ``accelerator`` (``auto``: the GPU when
    there is one), ``devices`` (processes sharing the inputs: the same files as one) and the task's own
    (``alpha``, ``compare``, ``focal``/``baseline``, ...).
    """
    inputs, out = Path(inputs), Path(out)
    checkpoint = resolve_checkpoint(run)
    if not inputs.exists():
        raise DataError(f"--input {inputs} does not exist")
    if inputs.resolve() == out.resolve() or (inputs.is_dir() and out.resolve().is_relative_to(inputs.resolve())):
        raise DataError(f"--output {out} is the input folder or inside it; choose another folder")
    task, handler = _task_and_handler(checkpoint, PREDICTORS, "predictor")
    values = {"inputs": inputs, "out": out, **options}
    opts = make_options(handler.options, f"predict ({task.task_name} checkpoint)", values)
    if opts.devices < 1:
        raise DataError(f"--devices {opts.devices}: give 1 or more")
    device = _device(opts.accelerator)
    if opts.devices == 1:
        return _predict_here(task, handler, opts, device)
    return _predict_on_devices(checkpoint, values, opts, device)


def _device(accelerator: str) -> Any:
    from aekit.engine import inference_device

    try:
        return inference_device(accelerator)
    except ValueError as exc:
        raise DataError(str(exc)) from None


def _predict_here(task: Any, handler: Any, opts: Any, device: Any) -> list[Path]:
    from aekit.engine import inference_precision
    from aekit.tiling import tiling

    budget = tile_budget(task, opts.tile_megapixels)
    with inference_precision(task.model, opts.precision, device), tiling(task.model, budget):
        return list(handler.fn(task, opts))


def _predict_on_devices(checkpoint: Path, values: dict[str, Any], opts: Any, device: Any) -> list[Path]:
    """``opts.devices`` processes (Lightning Fabric, DDP spawn: gloo on CPUs, NCCL on GPUs), each predicting a
    contiguous block of the inputs into its own folder; the blocks are then put together in rank order, so the
    files are byte for byte those of one device (a table such as ``predictions.csv``: its rows in file order)."""
    import shutil

    from lightning.fabric import Fabric

    parts = opts.out / ".aekit-shards"
    shutil.rmtree(parts, ignore_errors=True)
    accelerator = "cuda" if device.type == "cuda" else "cpu"
    fabric = Fabric(accelerator=accelerator, devices=opts.devices, strategy="ddp_spawn")
    fabric.launch(_predict_rank, checkpoint, values, parts)
    try:
        return merge_shards([parts / f"rank{r}" for r in range(opts.devices)], opts.out)
    finally:
        shutil.rmtree(parts, ignore_errors=True)


def _predict_rank(fabric: Any, checkpoint: Path, values: dict[str, Any], parts: Path) -> None:
    """One process of :func:`_predict_on_devices`: its block of the inputs, into ``parts/rank<r>``."""
    from aekit.inference.base import input_shard

    task, handler = _task_and_handler(checkpoint, PREDICTORS, "predictor")
    opts = make_options(handler.options, "predict", {**values, "out": parts / f"rank{fabric.global_rank}"})
    with input_shard(fabric.global_rank, fabric.world_size):
        _predict_here(task, handler, opts, fabric.device)
    fabric.barrier()


def merge_shards(parts: list[Path], out: Path) -> list[Path]:
    """Move the ranks' files into ``out``; a file several ranks wrote (a table over all inputs) is joined: a
    CSV's header once, then each rank's rows in rank order. Returns the files in ``out``."""
    from aekit.io import atomic_write_bytes

    written: dict[Path, list[Path]] = {}
    for part in parts:
        for f in sorted(part.rglob("*")) if part.is_dir() else []:
            if f.is_file():
                written.setdefault(f.relative_to(part), []).append(f)
    result = []
    for rel, sources in written.items():
        dest = out / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        if len(sources) == 1:
            os.replace(sources[0], dest)
        elif rel.suffix == ".csv":
            lines = sources[0].read_bytes().splitlines(keepends=True)[:1]  # bytes: the CSV's own line ends
            for src in sources:
                lines += src.read_bytes().splitlines(keepends=True)[1:]
            atomic_write_bytes(dest, b"".join(lines))
        else:
            raise DataError(f"{rel}: written by {len(sources)} processes; predict it with --devices 1")
        result.append(dest)
    return result
