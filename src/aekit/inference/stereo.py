"""Monocular depth from stereo pairs: disparity/depth errors on pairs with ground truth; disparity or depth maps."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from aekit.data import open_data
from aekit.data.base import DataError
from aekit.data.images import read_image, to_tensor
from aekit.data.stereo import Calibration
from aekit.inference.base import (
    EvaluateOptions,
    Evaluation,
    PredictOptions,
    Where,
    input_files,
    option,
    register_evaluator,
    register_predictor,
    write_metrics,
    write_text,
)
from aekit.metrics import depth_errors, disparity_errors, median_scale
from aekit.report import markdown_table
from aekit.tasks.stereo_depth import StereoDepthTask, infer_disparity


@dataclass
class StereoEvaluateOptions(EvaluateOptions):
    median_scaling: bool = option(
        False, "scale each prediction by median(GT)/median(prediction) before scoring (monocular scale ambiguity)"
    )
    focal: float | None = option(None, "focal length in pixels of the evaluated images")
    baseline: float | None = option(None, "stereo baseline (depth unit)")
    doffs: float | None = option(None, "stereo: x offset of principal points (pixels)")
    infer_width: int | None = option(None, "stereo: width the network sees (default: its training width; 0 = native)")


@dataclass
class StereoPredictOptions(PredictOptions):
    focal: float | None = option(None, "focal length in pixels of the input images")
    baseline: float | None = option(None, "stereo baseline: depth comes out in its unit")
    doffs: float | None = option(None, "stereo: x offset of principal points (pixels)")
    infer_width: int | None = option(None, "stereo: width the network sees (default: its training width; 0 = native)")
    colormap: str = option("magma", "matplotlib colour map of the output pictures")


def colorize(values: np.ndarray, cmap: str = "magma", vmax: float | None = None) -> np.ndarray:
    """A float (H, W) map as uint8 RGB through a matplotlib colour map (0 .. vmax, default the 99th percentile)."""
    from matplotlib import colormaps

    v = np.nan_to_num(values.astype(np.float64), nan=0.0, posinf=0.0)
    top = vmax if vmax else float(np.percentile(v[v > 0], 99)) if (v > 0).any() else 1.0
    rgba = colormaps[cmap](np.clip(v / max(top, 1e-9), 0, 1))
    return (rgba[..., :3] * 255).astype(np.uint8)


def calibration(focal: float | None, baseline: float | None, doffs: float | None) -> Calibration | None:
    if (focal is None) != (baseline is None):
        raise DataError("--focal and --baseline go together: pass both (focal in pixels of the input images)")
    if focal is None or baseline is None:
        return None
    if focal <= 0 or baseline <= 0:
        raise DataError(f"--focal {focal} and --baseline {baseline} must be positive")
    return Calibration(float(focal), float(baseline), float(doffs or 0.0))


def evaluate_pairs(
    model: torch.nn.Module,
    dataset: Any,
    infer_width: int | None,
    median_scaling: bool = False,
    names: list[str] | None = None,
    width_scale: float = 1.0,
) -> list[dict[str, Any]]:
    """One row per pair: disparity errors (nonocc mask) and, with calibration, depth errors."""
    rows = []
    for i in range(len(dataset)):
        item = dataset[i]
        if float(item["has_gt"]) <= 0:
            continue
        pred = infer_disparity(model, item["left"], infer_width, width_scale)[0]
        gt, mask = item["disparity"], item["nonocc"]
        if median_scaling:
            pred = median_scale(pred, gt, mask)
        row: dict[str, Any] = {"scene": names[i] if names else str(i), **disparity_errors(pred, gt, mask)}
        if float(item["focal"]) > 0 and float(item["baseline"]) > 0:
            cal = Calibration(float(item["focal"]), float(item["baseline"]), float(item["doffs"]))
            row.update(depth_errors(cal.depth(pred), cal.depth(gt), mask * (gt > 0)))
        rows.append(row)
    if not rows:
        raise DataError("no pair in this data has ground-truth disparity (disp_gt.npy / disp0GT.pfm) to score against")
    return rows


def mean_row(rows: list[dict[str, Any]]) -> dict[str, Any]:
    keys = [k for k in rows[0] if k not in ("scene", "pixels")]
    out: dict[str, Any] = {"scene": "mean (per scene)"}
    for k in keys:
        vals = [r[k] for r in rows if isinstance(r.get(k), float) and not math.isnan(r[k])]
        out[k] = float(np.mean(vals)) if vals else float("nan")
    out["pixels"] = sum(int(r["pixels"]) for r in rows)
    return out


@register_evaluator("stereo_depth", StereoEvaluateOptions)
def evaluate_stereo_depth(task: StereoDepthTask, opts: StereoEvaluateOptions, where: Where) -> Evaluation:
    md = task.metadata
    options: dict[str, Any] = {"focal": opts.focal, "baseline": opts.baseline, "doffs": opts.doffs}
    if opts.data.partition(":")[0] != "stereo":
        options.update(image_size=md.get("image_size"))
    ds = open_data(opts.data, **options, **where.split_options()).split(where.split)
    names = [p.name for p in ds.pairs] if hasattr(ds, "pairs") else None
    infer_width = opts.infer_width if opts.infer_width is not None else md.get("infer_width")
    rows = evaluate_pairs(
        task.model, ds, infer_width or None, opts.median_scaling, names, float(md.get("width_scale", 1.0))
    )
    rows.append(mean_row(rows))
    note = (
        f"{len(rows) - 1} pairs of {opts.data}; disparity in pixels of the evaluated images; EPE = mean abs. "
        f"error, badN = % of pixels with error > N px, over non-occluded pixels with GT (nonocc mask where "
        f"given); network input width {infer_width or 'native'}; median scaling: "
        f"{'yes (per image)' if opts.median_scaling else 'no'}"
    )
    table = markdown_table(rows)
    metrics = {"note": note, "median_scaling": bool(opts.median_scaling), "rows": rows}
    files = [write_metrics(where, metrics, len(rows) - 1)]
    files.append(write_text(where.out / "metrics.md", f"# Stereo depth evaluation\n\n{note}\n\n{table}\n"))
    return Evaluation(metrics, f"{note}\n\n{table}", files)


@register_predictor("stereo_depth", StereoPredictOptions)
def predict_stereo_depth(task: StereoDepthTask, opts: StereoPredictOptions) -> list[Path]:
    """``<name>_disparity.pfm/.png`` per image, or ``<name>_depth.*`` with ``focal`` and ``baseline``."""
    from aekit.data.pfm import write_pfm

    calib = calibration(opts.focal, opts.baseline, opts.doffs)
    infer_width = opts.infer_width if opts.infer_width is not None else task.metadata.get("infer_width")
    root = opts.inputs if opts.inputs.is_dir() else opts.inputs.parent
    kind = "depth" if calib else "disparity"
    written = []
    for f in input_files(opts.inputs):
        left = to_tensor(read_image(f, 3))
        disp = infer_disparity(task.model, left, infer_width or None, float(task.metadata.get("width_scale", 1.0)))
        disp = disp[0, 0].numpy()
        values = calib.depth(disp) if calib else disp
        rel = f.relative_to(root).with_suffix("")
        base = opts.out / rel.parent / f"{rel.name}_{kind}"
        write_pfm(base.with_suffix(".pfm"), values.astype(np.float32))
        # near = bright in both pictures: colour-map disparity, or inverse depth
        picture = colorize(disp if not calib else np.where(values > 0, 1 / np.maximum(values, 1e-9), 0), opts.colormap)
        Image.fromarray(picture).save(base.with_suffix(".png"))
        written += [base.with_suffix(".pfm"), base.with_suffix(".png")]
    return written
