"""The upsampling study: the same network trained once per decoder upsampling mode (SegNet TPAMI 2017, Table 1).

Same data, schedule and seed for every mode; every run goes through :func:`aekit.engine.fit`, so each mode
leaves an ordinary run directory (``OUT/<mode>/``). The study writes ``results.json``, ``results.md`` (mode,
parameters, training time, inference ms/image, quality columns) and ``predictions.png`` (one column per mode).

A problem plugs in with :func:`register_study_task`: an adapter class built from the study's typed config
(``aekit.recipes.UpsamplingStudy``, passed in: experiments never import recipes or the CLI) that can
``build(mode) -> (task, datamodule)``, ``evaluate(task) -> {metric: value}``, give
``timing_input()`` and draw ``figure(tasks_by_mode, path)``; ``monitor``/``monitor_mode`` choose the best
checkpoint. Only ``segmentation`` is registered here; super-resolution or autoencoders can add theirs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

import lightning.pytorch as L
import numpy as np
import torch
from torch.utils.data import Subset

from aekit.engine import TrainConfig, fit
from aekit.nn.upsample import check_upsample_mode
from aekit.report import markdown_table
from aekit.tasks.base import Task, load_task


class StudyTask(Protocol):
    monitor: str
    monitor_mode: str
    quality_keys: Sequence[str]

    def build(self, mode: str) -> tuple[Task, L.LightningDataModule]: ...

    def evaluate(self, task: Task) -> dict[str, float]: ...

    def timing_input(self) -> torch.Tensor: ...

    def figure(self, tasks: dict[str, Task], path: Path) -> Path: ...


STUDY_TASKS: dict[str, Callable[[Any], StudyTask]] = {}


def register_study_task(name: str) -> Callable:
    def wrap(cls: Callable[[Any], StudyTask]) -> Callable[[Any], StudyTask]:
        STUDY_TASKS[name] = cls
        return cls

    return wrap


@torch.inference_mode()
def inference_ms_per_image(model: torch.nn.Module, x: torch.Tensor, repeats: int = 3) -> float:
    """Median wall time of one forward pass over ``x`` (eager, fp32, current threads), per image."""
    model.eval()
    model(x)  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        model(x)
        times.append(time.perf_counter() - t0)
    return 1000 * float(np.median(times)) / x.shape[0]


def run_upsampling_study(
    task: str, modes: Sequence[str], out: str | Path, cfg: TrainConfig, config: Any
) -> dict[str, Any]:
    """Train one network per mode; write and return the table (``rows``, ``markdown``) and the figure path.

    ``config``: the study's typed config (``aekit.recipes.UpsamplingStudy``), handed to the task's adapter."""
    if task not in STUDY_TASKS:
        raise ValueError(f"no upsampling study for task {task!r}; available: {', '.join(sorted(STUDY_TASKS))}")
    for m in modes:
        check_upsample_mode(m)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    adapter = STUDY_TASKS[task](config)
    cfg = replace(cfg, monitor=adapter.monitor, monitor_mode=adapter.monitor_mode)
    rows, trained = [], {}
    x_time = adapter.timing_input()
    for mode in modes:
        L.seed_everything(cfg.seed, workers=True, verbose=False)
        t, dm = adapter.build(mode)
        params = sum(p.numel() for p in t.model.parameters())
        t0 = time.perf_counter()
        result = fit(
            t, dm, out / mode, cfg, {"study": "upsampling", "task": task, "mode": mode, "hparams": dict(t.hparams)}
        )
        minutes = (time.perf_counter() - t0) / 60
        ckpt = result.best_checkpoint if result.best_checkpoint.is_file() else result.last_checkpoint
        best = load_task(ckpt)
        row = {"mode": mode, "params": int(params), "train_min": round(minutes, 2)}
        row["infer_ms_per_image"] = round(inference_ms_per_image(best.model, x_time), 2)
        row |= {k: round(100 * v, 2) for k, v in adapter.evaluate(best).items()}
        rows.append(row)
        trained[mode] = best
        (out / "results.json").write_text(json.dumps({"task": task, "rows": rows}, indent=2) + "\n")  # partial
    md = markdown_table(rows)
    (out / "results.md").write_text(
        f"# Upsampling study ({task})\n\nSame network, data, schedule and seed; only the decoder's upsampling "
        f"differs. Quality in %, times on this machine.\n\n{md}\n"
    )
    figure = adapter.figure(trained, out / "predictions.png")
    (out / "results.json").write_text(json.dumps({"task": task, "rows": rows, "figure": str(figure)}, indent=2) + "\n")
    return {"rows": rows, "markdown": md, "figure": figure}


@register_study_task("segmentation")
class SegmentationStudy:
    """SegNet-style network (``--arch``, default SegNet-Basic) per mode; global acc, class-avg acc, mIoU on val.

    ``config`` is a segmentation recipe config: ``open_data()``, ``task(splits, weight_masks)`` and its fields."""

    monitor = "val/miou"
    monitor_mode = "max"
    quality_keys = ("global_acc", "class_acc", "miou")

    def __init__(self, config: Any) -> None:
        self.config = config
        self.splits = config.open_data()
        if self.splits.val is None:
            raise ValueError("the upsampling study needs a validation split (camvid val/ or --val-fraction)")
        self.weight_masks = None
        n_tr, n_va = getattr(config, "max_train_images", None), getattr(config, "max_val_images", None)
        if n_tr:
            train = self.splits.train
            self.weight_masks = [train.masks[i] for i in range(min(n_tr, len(train)))]
            self.splits.train = Subset(train, list(range(min(n_tr, len(train)))))
        if n_va:
            self.splits.val = Subset(self.splits.val, list(range(min(n_va, len(self.splits.val)))))
        self.splits.info["subset"] = {"train": len(self.splits.train), "val": len(self.splits.val)}

    def build(self, mode: str) -> tuple[Task, L.LightningDataModule]:
        from aekit.data import DataModule

        cfg = replace(self.config, upsample=mode)
        task = cfg.task(self.splits, self.weight_masks)
        return task, DataModule(self.splits, cfg.batch_size, cfg.num_workers, cfg.seed)

    def evaluate(self, task: Task) -> dict[str, float]:
        from aekit.tasks.segmentation import evaluate_dataset

        r = evaluate_dataset(task, self.splits.val, 8)  # type: ignore[arg-type]
        return {k: r[k] for k in self.quality_keys}

    def timing_input(self) -> torch.Tensor:
        n = min(4, len(self.splits.val))  # type: ignore[arg-type]
        return torch.stack([self.splits.val[i]["image"] for i in range(n)])  # type: ignore[index]

    def figure(self, tasks: dict[str, Task], path: Path) -> Path:
        from aekit.report.segmentation import class_colours, class_names, comparison_figure, prediction_rows

        first = next(iter(tasks.values()))
        k = first.hparams.num_classes
        items = [self.splits.val[i] for i in range(min(3, len(self.splits.val)))]  # type: ignore[index, arg-type]
        x = torch.stack([it["image"] for it in items])
        y = torch.stack([it["mask"] for it in items])
        preds = [t.predict_labels(x) for t in tasks.values()]
        colours = class_colours(k, first.metadata)
        rows = prediction_rows(x, y, preds, colours, first.metadata.get("normalization"))
        titles = ["input", "ground truth", *tasks]
        return comparison_figure(rows, titles, path, colours, class_names(k, first.metadata))
