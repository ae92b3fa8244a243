"""Benchmark: depth checked against real ground truth. Part 1 (``--part focus``): depth from focus.

Every real RGB-D scene with dense GT (Middlebury 2005 Art/Books/Dolls/Laundry/Moebius, Middlebury 2001/2003
tsukuba/venus/teddy/cones, scikit-image's Middlebury 2014 Motorcycle; the HCI light fields antinous and
backgammon) is rendered into a focal stack (``focalstack:``: thin lens, layered, seeded noise; half size,
8 slices evenly over the scene's 2..98th disparity percentile, 12 px blur across that range). The scenes
scored are those with positive disparity (the HCI maps are signed, 0 on the focal plane, so they only ever
train). Cross-validation by scene: ``--folds K`` cuts the scored scenes round-robin (sorted by name) into K
folds (0 = leave one scene out); each fold trains on every other scene (HCI included) and is scored on its
held-out scenes only. Per fold, ``--skip-modes`` x ``--seeds`` networks (``aekit.recipes.FocusDepth``, fixed
``--epochs``, final weights, nothing chosen on held-out data) beside, on the same scenes and with the same
median post-processing (``--postprocess``):

- ``focus_measure``: per-pixel argmax over the stack of the local variance of the Laplacian, parabola-refined;
- ``constant``: the middle of the sweep everywhere (what the sweep alone tells).

Metrics (DDFF paper): MSE, RMS, log RMS, abs. rel., sq. rel., delta < 1.25^k, bumpiness; disparity in pixels
of the full-size GT, per scene, then averaged over scenes. Each (fold, mode, seed) result is kept as a cell
JSON under ``--out/cells`` and reused when the settings match (so a run can be split across invocations).

    python benchmarks/depth_real.py --folds 5 --skip-modes concat,none --seeds 0,1 --epochs 20

``--smoke``: four tiny synthetic RGB-D scenes, two folds, one epoch (seconds). Prints a Markdown table and, as
the last line, JSON: mean metrics per method, per scene, the seed spread and the RMS ratio to the baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

import aekit
from aekit.data import open_data
from aekit.data.focalstack import scaled_rgbd
from aekit.engine import resolve_precision
from aekit.metrics import FOCUS_METRICS
from aekit.tasks import load_task
from aekit.tasks.focus_depth import score_scene

DATA = Path(os.environ.get("AEKIT_DATA", Path(__file__).resolve().parents[1] / ".." / "shared" / "data"))
CELL_VERSION = 1


def focus_spec(root: Path) -> str:
    return f"focalstack:{root / 'depth'},{root / 'stereo' / 'middlebury2001_2003'},skimage:motorcycle"


def smoke_scenes(folder: Path, n: int = 4) -> str:
    """``n`` textured images over block-shaped disparity maps (image.png + depth.npy)."""
    for i in range(n):
        d = folder / f"scene{i}"
        d.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(i)
        Image.fromarray(rng.integers(0, 256, (48, 96, 3), dtype=np.uint8)).save(d / "image.png")
        disp = np.full((48, 96), 8.0, np.float32)  # SGBM needs images wider than its 64 disparities
        for _ in range(3):
            y, x = rng.integers(0, 36), rng.integers(0, 80)
            disp[y : y + 12, x : x + 16] = rng.uniform(10, 30)
        np.save(d / "depth.npy", disp)
        img = np.asarray(Image.open(d / "image.png"))
        xs = np.clip(np.arange(96)[None] + disp.round().astype(int), 0, 95)  # right(x) = left(x + d), roughly
        Image.fromarray(img[np.arange(48)[:, None], xs]).save(d / "right.png")
    return f"focalstack:{folder}"


def group(name: str) -> str:
    return Path(name).name


def render_kw(args: argparse.Namespace) -> dict[str, Any]:
    return {"slices": args.slices, "max_blur": args.max_blur, "noise": args.noise, "render_seed": 0,
            "stack_scale": args.stack_scale}  # fmt: skip


def cell_settings(args: argparse.Namespace, fold: list[str], mode: str, seed: int) -> dict[str, Any]:
    return {"version": CELL_VERSION, "data": args.data, "held_out": fold, "skip_mode": mode, "seed": seed,
            "epochs": args.epochs, "widths": args.widths, "head": args.head, "crop": args.crop,
            "crops_per_scene": args.crops_per_scene, "postprocess": args.postprocess, "window": args.window,
            "precision": args.precision, **render_kw(args)}  # fmt: skip


def run_cell(args: argparse.Namespace, k: int, fold: list[str], mode: str, seed: int) -> dict[str, Any]:
    """Train one network without the fold's scenes; its metrics on each of them (and the baselines')."""
    settings = cell_settings(args, fold, mode, seed)
    path = args.out / "cells" / f"fold{k}_{mode}_s{seed}.json"
    if path.is_file():
        cell = json.loads(path.read_text())
        if cell.get("settings") == settings:
            return cell
    cfg = aekit.recipes.FocusDepth(
        data=args.data, test_groups=",".join(fold), val_fraction=0.0, epochs=args.epochs, batch_size=8,
        skip_mode=mode, head=args.head, widths=args.widths, seed=seed, crop_size=args.crop,
        crops_per_scene=args.crops_per_scene, progress=False, precision=args.precision, **render_kw(args),
    )  # fmt: skip
    t0 = time.time()
    run = aekit.train(cfg, out=args.out / "runs" / f"fold{k}_{mode}_s{seed}")
    train_s = time.time() - t0
    model = load_task(run.last_checkpoint).model.eval()
    splits = open_data(args.data, test_groups=",".join(fold), val_fraction=0.0, crop_size=0, **render_kw(args))
    scenes: dict[str, Any] = {}
    rows = []
    for i, name in enumerate(splits.test.names):
        item = splits.test.scene(i)
        scores, maps = score_scene(model, item, args.postprocess, args.window)
        scenes[group(name)] = scores
        rows.append((group(name), item, maps, scores))
    figure = None
    if seed == args.seeds[0] and mode == args.skip_modes[0]:
        from aekit.report.focus_depth import focus_figure

        figure = str(focus_figure(rows, args.out / "figures" / f"fold{k}_{mode}.png"))
    train_scenes = [group(n) for n in splits.train.names]
    cell = {"settings": settings, "train_seconds": round(train_s, 1), "train_scenes": train_scenes,
            "scenes": scenes, "figure": figure}  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(cell, indent=1))
    return cell


def scored_scenes(args: argparse.Namespace) -> tuple[list[str], list[str]]:
    """(scored, train-only) scene groups: scored ones have positive GT everywhere it is known."""
    every = open_data(args.data, val_fraction=0.0, test_fraction=0.0, crop_size=0, **render_kw(args)).train
    scored, train_only = [], []
    for i, name in enumerate(every.names):
        item = every.scene(i)  # renders every scene once (kept for the whole run)
        gt = item["target"][item["valid"] > 0]
        (scored if bool((gt > 0).all()) else train_only).append(group(name))
    return sorted(scored), sorted(train_only)


def summarise(cells: dict[tuple[int, str, int], dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    per_scene: dict[str, dict[str, dict[str, float]]] = {}
    spread: dict[str, dict[str, float]] = {}
    for mode in args.skip_modes:
        seed_means = []
        for seed in args.seeds:
            rows = [s["network"] for (_, m, sd), c in cells.items() if m == mode and sd == seed
                    for s in c["scenes"].values()]  # fmt: skip
            seed_means.append({k: float(np.mean([r[k] for r in rows])) for k in FOCUS_METRICS})
        spread[f"network_{mode}"] = {
            "rmse_per_seed": [round(s["rmse"], 4) for s in seed_means],
            "rmse_mean": round(float(np.mean([s["rmse"] for s in seed_means])), 4),
            "rmse_std": round(float(np.std([s["rmse"] for s in seed_means], ddof=1)) if len(seed_means) > 1 else 0.0,
                              4),  # fmt: skip
        }
    for (_, mode, _seed), cell in cells.items():
        for scene, scores in cell["scenes"].items():
            entry = per_scene.setdefault(scene, {})
            entry.setdefault(f"network_{mode}", []).append(scores["network"])  # type: ignore[arg-type]
            entry["focus_measure"] = scores["focus_measure"]
            entry["constant"] = scores["constant"]
    for entry in per_scene.values():  # network: mean over seeds
        for key in [k for k in entry if k.startswith("network_")]:
            runs = entry[key]
            entry[key] = {k: float(np.mean([r[k] for r in runs])) for k in FOCUS_METRICS}  # type: ignore[index]
    methods = [f"network_{m}" for m in args.skip_modes] + ["focus_measure", "constant"]
    mean = {m: {k: round(float(np.mean([s[m][k] for s in per_scene.values()])), 4) for k in FOCUS_METRICS}
            for m in methods}  # fmt: skip
    fm = mean["focus_measure"]["rmse"]
    ratios = {m: round(mean[m]["rmse"] / fm, 3) for m in methods if m.startswith("network_")}
    out: dict[str, Any] = {"mean": mean, "rmse_ratio_to_focus_measure": ratios, "seed_spread": spread}
    if "concat" in args.skip_modes and "none" in args.skip_modes:
        diffs = [per_scene[s]["network_concat"]["rmse"] - per_scene[s]["network_none"]["rmse"] for s in per_scene]
        out["concat_minus_none_rmse"] = {"mean": round(float(np.mean(diffs)), 4),
                                         "scenes_concat_better": int(sum(d < 0 for d in diffs)),
                                         "scenes": len(diffs)}  # fmt: skip
    out["per_scene"] = {s: {m: {k: round(v, 4) for k, v in sc[m].items()} for m in methods} for s, sc in
                        sorted(per_scene.items())}  # fmt: skip
    return out


def focus_part(args: argparse.Namespace) -> dict[str, Any]:
    t0 = time.time()
    scored, train_only = scored_scenes(args)
    render_s = time.time() - t0
    folds_n = len(scored) if args.folds <= 0 else min(args.folds, len(scored))
    folds = [scored[k::folds_n] for k in range(folds_n)]
    cells = {}
    for k, fold in enumerate(folds):
        for mode in args.skip_modes:
            for seed in args.seeds:
                cells[(k, mode, seed)] = run_cell(args, k, fold, mode, seed)
                c = cells[(k, mode, seed)]
                rms = {s: round(v["network"]["rmse"], 2) for s, v in c["scenes"].items()}
                print(f"fold {k} {mode} seed {seed}: {c['train_seconds']} s, network RMS {rms}", flush=True)
    out = summarise(cells, args)
    per_net = round(float(np.mean([c["train_seconds"] for c in cells.values()])), 1)
    figures = sorted({c["figure"] for c in cells.values() if c["figure"]})
    out["protocol"] = {"folds": folds, "train_only": train_only, "render_seconds": round(render_s, 1),
                       "train_seconds_per_network": per_net, "networks": len(cells), "figures": figures,
                       **{k: v for k, v in cell_settings(args, [], "", 0).items()
                          if k not in ("held_out", "skip_mode", "seed")}}  # fmt: skip
    return out


# -- parts 2 and 3: supervised depth and stereo-trained depth, scored against GT disparity ----------------
DISP_METRICS = ("abs_rel", "rmse", "delta1")


def rgbd_spec(root: Path) -> str:
    """The real scenes with positive GT disparity and a right view (HCI's signed maps are left out)."""
    return f"rgbd:{root / 'depth' / 'middlebury2005'},{root / 'stereo' / 'middlebury2001_2003'},skimage:motorcycle"


def disp_scores(pred: torch.Tensor, gt: torch.Tensor) -> dict[str, float]:
    """abs. rel., RMS (px) and delta1 of a (1, H, W) disparity map over pixels with GT."""
    from aekit.metrics import depth_scores

    s = depth_scores(pred[None].clamp_min(1e-3), gt[None])
    return {k: round(s[k][0], 4) for k in DISP_METRICS}


def with_median(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    from aekit.metrics import median_scale

    return median_scale(pred, gt)


def real_scenes(args: argparse.Namespace) -> list[Any]:
    return open_data(args.rgbd, val_fraction=0.0, test_fraction=0.0, crop_size=0, stack_scale=args.stack_scale).train


def classical_rows(scene: Any, item: dict[str, torch.Tensor], args: argparse.Namespace) -> dict[str, Any]:
    """SGBM on the scene's own stereo pair and the GT-median constant (an oracle: what median scaling gives)."""
    from aekit.data.focalstack import read_right
    from aekit.tasks.stereo_depth import sgbm_disparity

    gt = item["target"]
    rows: dict[str, Any] = {"constant_median": disp_scores(torch.full_like(gt, float(gt[gt > 0].median())), gt)}
    right = read_right(scene, args.stack_scale)
    if right is not None:
        r = torch.from_numpy(np.ascontiguousarray(right.transpose(2, 0, 1))).float()
        rows["sgbm"] = disp_scores(sgbm_disparity(item["image"], r), gt)
    return rows


def supervised_part(args: argparse.Namespace, folds: list[list[str]]) -> dict[str, Any]:
    """``aekit train depth`` (U-Net, L1 on disparity px) per fold; held-out scenes against the baselines."""
    per_scene: dict[str, Any] = {}
    seconds = []
    for k, fold in enumerate(folds):
        cfg = aekit.recipes.Depth(data=args.rgbd, test_groups=",".join(fold), val_fraction=0.0, loss="l1",
                                  depth_scale=args.depth_unit, lr=args.depth_lr,
                                  widths=args.depth_widths, blocks=1, crop_size=str(args.depth_crop),
                                  epochs=args.depth_epochs, batch_size=8, progress=False, precision=args.precision,
                                  seed=0)  # fmt: skip
        t0 = time.time()
        run = aekit.train(cfg, out=args.out / "depth_runs" / f"fold{k}")
        seconds.append(time.time() - t0)
        model = load_task(run.last_checkpoint).model.eval()
        splits = open_data(args.rgbd, test_groups=",".join(fold), val_fraction=0.0, crop_size=0,
                           stack_scale=args.stack_scale)  # fmt: skip
        train_maps = [scaled_rgbd(sc, args.stack_scale)["target"] for sc in splits.train.scenes]  # whole, no augment
        const = float(np.mean([float(t[t > 0].mean()) for t in train_maps]))
        for i, scene in enumerate(splits.test.scenes):
            item = splits.test[i]
            gt = item["target"]
            with torch.no_grad():
                pred = model(item["image"][None])[0].float() * args.depth_unit  # trained on disparity / unit
            mean_map = torch.stack([torch.nn.functional.interpolate(t[None], size=gt.shape[-2:], mode="nearest")[0]
                                    for t in train_maps])  # fmt: skip
            counts = (mean_map > 0).sum(0).clamp_min(1)
            mean_scene = (mean_map.sum(0) / counts).where((mean_map > 0).any(0), torch.tensor(const))
            per_scene[group(scene.name)] = {
                "network": disp_scores(pred, gt),
                "network_median": disp_scores(with_median(pred, gt), gt),
                "constant": disp_scores(torch.full_like(gt, const), gt),
                "mean_scene": disp_scores(mean_scene, gt),
                **classical_rows(scene, item, args),
            }
            print(f"depth fold {k} {group(scene.name)}: {per_scene[group(scene.name)]}", flush=True)
    protocol = {"folds": folds, "train_seconds_per_network": round(float(np.mean(seconds)), 1),
                "epochs": args.depth_epochs, "widths": args.depth_widths, "crop": args.depth_crop,
                "loss": f"l1 on disparity px / {args.depth_unit:g}", "lr": args.depth_lr,
                "zoom": "0.8..1.25 (disparity scaled alike)"}  # fmt: skip
    return finish(per_scene, protocol)


def stereo_part(args: argparse.Namespace) -> dict[str, Any]:
    """The stereo task (Garg et al.: photometric loss, no labels) on the MiddEval3 pairs minus every scene that
    is also scored here, then the LEFT image alone on every scene with GT (all held out)."""
    from aekit.tasks.stereo_depth import infer_disparity

    cfg = aekit.recipes.StereoDepth(data=args.stereo_train, exclude=args.stereo_exclude, image_size=args.stereo_size,
                                    widths=[16, 32, 64, 128, 128], blocks=1, max_disp=0.2, scales=4,
                                    epochs=100_000 if args.stereo_minutes else args.stereo_epochs,
                                    max_minutes=args.stereo_minutes or None, time_schedule=bool(args.stereo_minutes),
                                    val_fraction=0.1, progress=False, precision=args.precision,
                                    seed=0)  # fmt: skip
    t0 = time.time()
    run = aekit.train(cfg, out=args.out / "stereo_run")
    train_s = time.time() - t0
    task = load_task(run.last_checkpoint)
    width = int(task.metadata["infer_width"])
    train = open_data(args.stereo_train, image_size=args.stereo_size, exclude=args.stereo_exclude,
                      val_fraction=0.1).train  # fmt: skip
    base = getattr(train, "base", train)
    with torch.no_grad():
        fracs = torch.cat([task.model(base[i]["left"][None]).float().flatten() for i in range(len(base))])
    const_frac = float(fracs.median())  # the network's own typical disparity on its training pairs (no GT)
    per_scene: dict[str, Any] = {}
    for scene in real_scenes(args).scenes:
        item = scaled_rgbd(scene, args.stack_scale)
        gt = item["target"]
        with torch.no_grad():
            pred = infer_disparity(task.model, item["image"], width)[0]
        per_scene[group(scene.name)] = {
            "network": disp_scores(pred, gt),
            "network_median": disp_scores(with_median(pred, gt), gt),
            "constant": disp_scores(torch.full_like(gt, const_frac * gt.shape[-1]), gt),
            **classical_rows(scene, item, args),
        }
        print(f"stereo {group(scene.name)}: {per_scene[group(scene.name)]}", flush=True)
    protocol = {"train": args.stereo_train, "exclude": args.stereo_exclude, "train_seconds": round(train_s, 1),
                "image_size": args.stereo_size, "median_scaling": "per scene x median(GT) / median(pred)",
                "constant": f"median of its own training predictions, {const_frac:.4f} x width"}  # fmt: skip
    return finish(per_scene, protocol)


def finish(per_scene: dict[str, Any], protocol: dict[str, Any]) -> dict[str, Any]:
    methods = list(next(iter(per_scene.values())))
    mean = {m: {k: round(float(np.mean([s[m][k] for s in per_scene.values() if m in s])), 4) for k in DISP_METRICS}
            for m in methods}  # fmt: skip
    beats = {ref: sum(s["network"]["rmse"] < s[ref]["rmse"] for s in per_scene.values()) for ref in ("constant",)}
    beats_med = sum(s["network_median"]["rmse"] < s["constant_median"]["rmse"] for s in per_scene.values())
    return {"mean": mean, "per_scene": per_scene, "scenes": len(per_scene),
            "network_beats_constant_rmse": beats["constant"],
            "network_median_beats_constant_median_rmse": beats_med, "protocol": protocol}  # fmt: skip


def print_disp_table(title: str, result: dict[str, Any]) -> None:
    methods = list(result["mean"])
    print(f"\n{title}\n| scene | " + " | ".join(f"{m} RMS / rel" for m in methods) + " |")
    print("|---|" + "---|" * len(methods))
    for scene, sc in {**result["per_scene"], "mean": result["mean"]}.items():
        cells = [f"{sc[m]['rmse']:.2f} / {sc[m]['abs_rel']:.3f}" if m in sc else "-" for m in methods]
        print(f"| {scene} | " + " | ".join(cells) + " |")


def print_tables(result: dict[str, Any]) -> None:
    mean = result["mean"]
    keys = list(FOCUS_METRICS)
    print("| method | " + " | ".join(keys) + " |")
    print("|---|" + "---|" * len(keys))
    for m, sc in mean.items():
        print(f"| {m} | " + " | ".join(f"{sc[k]:.4g}" for k in keys) + " |")
    print("\n| scene | " + " | ".join(f"{m} RMS" for m in mean) + " |")
    print("|---|" + "---|" * len(mean))
    for scene, sc in result["per_scene"].items():
        print(f"| {scene} | " + " | ".join(f"{sc[m]['rmse']:.2f}" for m in mean) + " |")
    print(f"RMS ratio network / focus measure: {result['rmse_ratio_to_focus_measure']}")
    print(f"seed spread: {result['seed_spread']}")
    if "concat_minus_none_rmse" in result:
        print(f"concat - none RMS: {result['concat_minus_none_rmse']}")


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--part", default="all", choices=["all", "focus", "supervised", "stereo"],
                   help="focus: depth from focus; supervised: aekit train depth; stereo: the stereo-trained net")
    p.add_argument("--data-root", type=Path, default=DATA, help="the shared data folder")
    p.add_argument("--folds", type=int, default=0, help="scene folds (0: leave one scene out)")
    p.add_argument("--skip-modes", default="concat,none", help="DDFF skip modes compared (concat, add, none)")
    p.add_argument("--seeds", default="0,1", help="training seeds per fold and mode")
    p.add_argument("--epochs", type=int, default=20, help="epochs per network (each: crops-per-scene crops/scene)")
    p.add_argument("--widths", default="16,32,64")
    p.add_argument("--head", default="softargmax", choices=["softargmax", "conv"])
    p.add_argument("--crop", type=int, default=64)
    p.add_argument("--crops-per-scene", type=int, default=16)
    p.add_argument("--slices", type=int, default=8)
    p.add_argument("--max-blur", type=float, default=12.0)
    p.add_argument("--noise", type=float, default=0.01)
    p.add_argument("--stack-scale", type=float, default=0.5)
    p.add_argument("--postprocess", type=int, default=0, help="median size for network and focus measure (0: none)")
    p.add_argument("--window", type=int, default=9, help="focus-measure window")
    p.add_argument("--precision", default="auto")
    p.add_argument("--depth-epochs", type=int, default=30, help="supervised depth: epochs per fold")
    p.add_argument("--depth-widths", default="16,32,64,128")
    p.add_argument("--depth-crop", type=int, default=128)
    p.add_argument("--depth-unit", type=float, default=16.0, help="supervised targets: disparity px / this")
    p.add_argument("--depth-lr", type=float, default=3e-3, help="supervised depth: peak learning rate")
    p.add_argument("--stereo-minutes", type=float, default=8.0, help="stereo-trained net: training minutes")
    p.add_argument("--stereo-epochs", type=int, default=0, help="with --stereo-minutes 0: epochs instead")
    p.add_argument("--stereo-size", default="128,176")
    p.add_argument("--stereo-exclude", default="Teddy,Newkuba,ArtL,Motorcycle,MotorcycleE",
                   help="MiddEval3 scenes left out: the same scenes as teddy, tsukuba, Art and Motorcycle scored here")
    p.add_argument("--out", type=Path, default=Path("runs/bench_depth_real"))
    p.add_argument("--smoke", action="store_true", help="tiny synthetic scenes, two folds, one epoch (seconds)")
    args = p.parse_args(argv)
    args.data, args.rgbd = focus_spec(args.data_root), rgbd_spec(args.data_root)
    args.stereo_train = f"stereo:{args.data_root / 'stereo' / 'middeval3_quarter'}"
    if args.smoke:
        tmp = Path(tempfile.mkdtemp(prefix="aekit-smoke-depth-real-"))
        args.data, args.out, args.folds, args.epochs = smoke_scenes(tmp / "scenes"), tmp / "out", 2, 1
        args.rgbd = "rgbd:" + args.data.partition(":")[2]
        args.widths, args.slices, args.crop, args.crops_per_scene, args.stack_scale = "8,16", 4, 32, 2, 1.0
        args.seeds, args.depth_epochs, args.depth_widths, args.depth_crop = "0", 1, "8,16", 32
        args.stereo_train, args.stereo_minutes, args.stereo_epochs = "synthetic-stereo:12", 0, 1
        args.stereo_size = "48,96"
        args.stereo_exclude = None
    args.skip_modes = [m.strip() for m in args.skip_modes.split(",") if m.strip()]
    args.seeds = [int(s) for s in str(args.seeds).split(",") if s.strip()]
    args.widths = [int(w) for w in str(args.widths).split(",")]
    args.depth_widths = [int(w) for w in str(args.depth_widths).split(",")]
    torch.set_num_threads(int(os.environ.get("AEKIT_THREADS", "1")))
    t0 = time.time()
    result: dict[str, Any] = {
        "command": "python benchmarks/depth_real.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "precision": f"training {resolve_precision(args.precision, 'cpu')}, scoring fp32",
        "load": {"start": [round(v, 2) for v in os.getloadavg()]},
    }
    if args.part in ("all", "focus"):
        result["focus"] = focus_part(args)
        print_tables(result["focus"])
    if args.part in ("all", "supervised"):
        scenes = sorted(group(n) for n in real_scenes(args).names)
        folds_n = len(scenes) if args.folds <= 0 else min(args.folds, len(scenes))
        result["supervised"] = supervised_part(args, [scenes[k::folds_n] for k in range(folds_n)])
        print_disp_table("supervised depth (held-out scenes; disparity px at the evaluated size)", result["supervised"])
    if args.part in ("all", "stereo"):
        result["stereo"] = stereo_part(args)
        print_disp_table("stereo-trained depth (Garg et al.; held-out scenes)", result["stereo"])
    result["wall_seconds"] = round(time.time() - t0, 1)
    result["load"]["end"] = [round(v, 2) for v in os.getloadavg()]
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
