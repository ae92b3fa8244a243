"""CLI for monocular depth from stereo pairs: ``evaluate`` and ``predict`` (``train stereo-depth``: the recipe
aekit.recipes.StereoDepth).

aekit train stereo-depth --data stereo:path/to/pairs --image-size 144,208 --out runs/sd
aekit evaluate runs/sd/best.ckpt --data stereo:../shared/data/stereo/middlebury2001_2003
aekit predict runs/sd/best.ckpt --input photos/ --output depth/ [--focal F --baseline B]
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from aekit.cli.common import (
    add_option_once,
    evaluate_options,
    evaluator,
    predict_options,
    predictor,
    split_options,
    write_json,
)
from aekit.data import open_data
from aekit.data.base import DataError
from aekit.data.images import list_images, read_image, to_tensor
from aekit.data.stereo import Calibration
from aekit.metrics import depth_errors, disparity_errors, median_scale
from aekit.report import markdown_table
from aekit.tasks.stereo_depth import StereoDepthTask, infer_disparity

# -- inference shared by evaluate, predict and the benchmark ---------------------------------------------


def colorize(values: np.ndarray, cmap: str = "magma", vmax: float | None = None) -> np.ndarray:
    """A float (H, W) map as uint8 RGB through a matplotlib colour map (0 .. vmax, default the 99th percentile)."""
    from matplotlib import colormaps

    v = np.nan_to_num(values.astype(np.float64), nan=0.0, posinf=0.0)
    top = vmax if vmax else float(np.percentile(v[v > 0], 99)) if (v > 0).any() else 1.0
    rgba = colormaps[cmap](np.clip(v / max(top, 1e-9), 0, 1))
    return (rgba[..., :3] * 255).astype(np.uint8)


def _calibration(args: argparse.Namespace) -> Calibration | None:
    focal, baseline = getattr(args, "focal", None), getattr(args, "baseline", None)
    if (focal is None) != (baseline is None):
        raise DataError("--focal and --baseline go together: pass both (focal in pixels of the input images)")
    if focal is None:
        return None
    if focal <= 0 or baseline <= 0:
        raise DataError(f"--focal {focal} and --baseline {baseline} must be positive")
    return Calibration(float(focal), float(baseline), float(getattr(args, "doffs", None) or 0.0))


# -- evaluate --------------------------------------------------------------------------------------------


@evaluate_options
def add_stereo_evaluate_options(p: argparse.ArgumentParser) -> None:
    add_option_once(
        p,
        "--median-scaling",
        action="store_true",
        help="stereo: scale each prediction by "
        "median(GT)/median(prediction) before scoring (monocular scale ambiguity)",
    )
    add_option_once(p, "--focal", type=float, default=None, help="focal length in pixels of the evaluated images")
    add_option_once(p, "--baseline", type=float, default=None, help="stereo baseline (depth unit)")
    add_option_once(p, "--doffs", type=float, default=None, help="stereo: x offset of principal points (pixels)")
    add_option_once(
        p,
        "--infer-width",
        type=int,
        default=None,
        help="stereo: width the network sees (default: its training width; 0 = native)",
    )


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


@evaluator("stereo_depth")
def evaluate_stereo_depth(task: StereoDepthTask, args: argparse.Namespace) -> dict[str, Any]:
    md = task.metadata
    kind = args.data.partition(":")[0]
    options: dict[str, Any] = {"focal": args.focal, "baseline": args.baseline, "doffs": args.doffs}
    if kind != "stereo":
        options.update(image_size=md.get("image_size"))
    splits = open_data(args.data, **options, **split_options(args))
    ds = splits.split(args.split)
    names = [p.name for p in ds.pairs] if hasattr(ds, "pairs") else None
    infer_width = args.infer_width if args.infer_width is not None else md.get("infer_width")
    rows = evaluate_pairs(
        task.model, ds, infer_width or None, args.median_scaling, names, float(md.get("width_scale", 1.0))
    )
    rows.append(mean_row(rows))
    note = (
        f"{len(rows) - 1} pairs of {args.data}; disparity in pixels of the evaluated images; EPE = mean abs. "
        f"error, badN = % of pixels with error > N px, over non-occluded pixels with GT (nonocc mask where "
        f"given); network input width {infer_width or 'native'}; median scaling: "
        f"{'yes (per image)' if args.median_scaling else 'no'}"
    )
    table = markdown_table(rows)
    print(f"{note}\n\n{table}")
    out = Path(args.out)
    write_json(out / "metrics.json", {"note": note, "median_scaling": bool(args.median_scaling), "rows": rows})
    (out / "metrics.md").write_text(f"# Stereo depth evaluation\n\n{note}\n\n{table}\n")
    return {"rows": rows}


# -- predict ---------------------------------------------------------------------------------------------


@predict_options
def add_stereo_predict_options(p: argparse.ArgumentParser) -> None:
    add_option_once(p, "--focal", type=float, default=None, help="focal length in pixels of the input images")
    add_option_once(p, "--baseline", type=float, default=None, help="stereo baseline: depth comes out in its unit")
    add_option_once(p, "--doffs", type=float, default=None, help="stereo: x offset of principal points (pixels)")
    add_option_once(
        p,
        "--infer-width",
        type=int,
        default=None,
        help="stereo: width the network sees (default: its training width; 0 = native)",
    )
    add_option_once(p, "--colormap", default="magma", help="matplotlib colour map of the output pictures")


@predictor("stereo_depth")
def predict_stereo_depth(task: StereoDepthTask, args: argparse.Namespace) -> None:
    from aekit.data.pfm import write_pfm

    calib = _calibration(args)
    infer_width = args.infer_width if args.infer_width is not None else task.metadata.get("infer_width")
    root = args.input if args.input.is_dir() else args.input.parent
    files = list_images(args.input)
    kind = "depth" if calib else "disparity"
    for f in files:
        left = to_tensor(read_image(f, 3))
        disp = infer_disparity(task.model, left, infer_width or None, float(task.metadata.get("width_scale", 1.0)))
        disp = disp[0, 0].numpy()
        values = calib.depth(disp) if calib else disp
        rel = f.relative_to(root).with_suffix("")
        base = args.output / rel.parent / f"{rel.name}_{kind}"
        write_pfm(base.with_suffix(".pfm"), values.astype(np.float32))
        # near = bright in both pictures: colour-map disparity, or inverse depth
        picture = colorize(disp if not calib else np.where(values > 0, 1 / np.maximum(values, 1e-9), 0), args.colormap)
        Image.fromarray(picture).save(base.with_suffix(".png"))
    unit = f"depth in the unit of --baseline (f={calib.focal} px)" if calib else "disparity in pixels"
    print(f"wrote {len(files)} {kind} maps ({unit}; .pfm values, .png colour-mapped, near = bright) to {args.output}")
