"""Depth from focus: the DDFF metrics per held-out scene, the network beside the focus-measure argmax and a
constant; depth maps of new focal stacks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from aekit.data import open_data
from aekit.data.base import DataError
from aekit.data.focalstack import find_scenes, load_scene
from aekit.data.pfm import write_pfm
from aekit.inference.base import (
    EvaluateOptions,
    Evaluation,
    PredictOptions,
    Where,
    option,
    register_evaluator,
    register_predictor,
    this_shard,
    write_metrics,
    write_text,
)
from aekit.metrics import FOCUS_METRICS
from aekit.report import markdown_table
from aekit.report.focus_depth import focus_figure
from aekit.report.image_to_image import colorize_depth, side_by_side, to_uint8_image
from aekit.tasks.focus_depth import FocusDepthTask, score_scene


@dataclass
class FocusDepthEvaluateOptions(EvaluateOptions):
    postprocess: int = option(0, "median filter size applied to the network's and the focus measure's maps (0: none)")
    window: int = option(9, "focus measure: window of the local variance of the Laplacian")
    figures: int = option(4, "scenes drawn in the figure")


def summarise(per_scene: dict[str, dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Mean over scenes of every method's metrics (NaN-free scenes only)."""
    methods = list(next(iter(per_scene.values())))
    return {m: {k: float(np.nanmean([s[m][k] for s in per_scene.values()])) for k in FOCUS_METRICS} for m in methods}


def render_options(task: FocusDepthTask) -> dict[str, Any]:
    r = dict(task.metadata.get("render") or {})
    return {"slices": r.get("slices", task.model.slices), "max_blur": r.get("max_blur", 12.0),
            "noise": r.get("noise", 0.01), "render_seed": r.get("seed", 0), "stack_scale": r.get("scale", 0.5),
            "depth_scale": task.metadata.get("depth_scale", 1.0)}  # fmt: skip


@register_evaluator("focus_depth", FocusDepthEvaluateOptions)
def evaluate_focus_depth(task: FocusDepthTask, opts: FocusDepthEvaluateOptions, where: Where) -> Evaluation:
    splits = open_data(opts.data, crop_size=0, **render_options(task), **where.split_options())
    ds = splits.split(where.split)
    per_scene: dict[str, dict[str, dict[str, float]]] = {}
    rows = []
    task.eval()
    for i, name in enumerate(ds.names):
        item = ds.scene(i)
        scores, maps = score_scene(task.model, item, opts.postprocess, opts.window)
        if np.isnan(scores["network"]["rmse"]):
            continue  # no positive ground truth (a real sweep without depth.*)
        short = Path(name).name
        per_scene[short] = scores
        if len(rows) < opts.figures:
            rows.append((short, item, maps, scores))
    if not per_scene:
        raise DataError(f"no {where.split} scene of {opts.data} has ground-truth depth > 0 to score")
    mean = summarise(per_scene)
    result = {"data": opts.data, "split": where.split, "scenes": len(per_scene), "postprocess": opts.postprocess,
              "window": opts.window, "per_scene": per_scene, "mean": mean}  # fmt: skip
    figure = focus_figure(rows, where.out / "focus_depth_examples.png")
    result["figure"] = str(figure)
    table = markdown_table([{"scene": s, "method": m, **{k: round(v, 4) for k, v in sc[m].items()}}
                            for s, sc in {**per_scene, "mean": mean}.items() for m in sc])  # fmt: skip
    files = [write_metrics(where, result, len(per_scene)),
             write_text(where.out / "metrics.md", f"# Depth from focus on {opts.data} ({where.split})\n\n{table}\n"),
             figure]  # fmt: skip
    return Evaluation(result, table, files)


@register_predictor("focus_depth")
def predict_focus_depth(task: FocusDepthTask, opts: PredictOptions) -> list[Path]:
    """Every scene under ``--input`` (slices + focus.csv, or an image + depth to render): ``<out>/<scene>.pfm``
    (depth in the focus positions' units) and ``<scene>_depth.png`` (middle slice | depth)."""
    render = render_options(task)
    scenes = this_shard(find_scenes(str(opts.inputs), render.pop("depth_scale")))
    kw = {"scale": render["stack_scale"], "slices": render["slices"], "max_blur": render["max_blur"],
          "noise": render["noise"], "seed": render["render_seed"]}  # fmt: skip
    written: list[Path] = []
    task.eval()
    for scene in scenes:
        item = load_scene(scene, **kw)
        if item["focus"].shape[-1] != task.model.slices:
            raise DataError(f"{scene.name} has {item['focus'].shape[-1]} slices; this model takes {task.model.slices}")
        _, maps = score_scene(task.model, item)
        depth = maps["network"]
        root = Path(opts.inputs)
        where = Path(scene.name)
        rel = where.relative_to(root) if where.is_relative_to(root) else Path(where.name)
        base = opts.out / (rel if str(rel) != "." else Path(root.name))
        base.parent.mkdir(parents=True, exist_ok=True)
        pfm = base.with_suffix(".pfm")
        write_pfm(pfm, depth.numpy())
        s = task.model.slices
        middle = item["image"].reshape(s, -1, *depth.shape)[s // 2]
        picture = base.with_name(base.name + "_depth.png")
        Image.fromarray(side_by_side([to_uint8_image(middle), colorize_depth(depth)])).save(picture)
        written += [pfm, picture]
    return written
