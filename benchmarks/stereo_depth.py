"""Benchmark: monocular disparity learned from stereo pairs without labels vs. a constant and OpenCV SGBM.

Real data (default): train self-supervised on the MiddEval3 quarter-resolution pairs (their GT is not used and
does not exist; MiddEval3 ``Teddy`` is excluded because it is the same view as Middlebury 2003 teddy, and
``Newkuba`` because it is a re-render of the Tsukuba scene evaluated here), then
score the LEFT IMAGE ALONE on every scene of the evaluation folder (Middlebury 2001/2003) against GT:

- ``network``: the disparity network, disparities scaled from its input width to the evaluation width;
- ``network_median``: the same, scaled per image by median(GT)/median(prediction) (monocular scale oracle);
- ``constant``: one disparity for every pixel: the median of the network's own predictions on its training
  pairs, as a fraction of the width (so it uses no GT and no test image);
- ``constant_median``: the GT median of each scene as a constant (what median scaling gives a constant);
- ``sgbm``: OpenCV StereoSGBM on BOTH views (numDisparities 64, block 5, 3-way, holes filled from the left).

Synthetic (``--synthetic``): the same comparison on rendered pairs with exact GT (test split of
``synthetic-stereo``), where the target is EPE < 1 px.

Prints a Markdown table per scene and, as the last line, JSON: scene -> method -> {epe, bad2}.
Metrics: EPE = mean |d - d_gt| (px of the evaluated image), bad2 = % of pixels with error > 2 px, over
non-occluded pixels with GT (nonocc.png).

    python benchmarks/stereo_depth.py --minutes 12
    python benchmarks/stereo_depth.py --synthetic --minutes 4

``--smoke``: a few small synthetic pairs, one epoch (seconds), to check the script runs. Selection: the
network is the last checkpoint of a constant-lr or clock-driven run (``best.ckpt`` by the validation
pairs' loss, which are training-source scenes, never the evaluated ones); nothing is chosen on the
evaluated scenes.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import lightning.pytorch as L
import numpy as np
import torch

from aekit.data import DataModule, open_data
from aekit.engine import TrainConfig, fit
from aekit.metrics import disparity_errors, median_scale
from aekit.tasks import load_task
from aekit.tasks.stereo_depth import StereoDepthTask, infer_disparity, sgbm_disparity

DATA = Path(os.environ.get("AEKIT_DATA", Path(__file__).resolve().parents[1] / ".." / "shared" / "data"))


def score(pred: torch.Tensor, item: dict) -> dict[str, float]:
    e = disparity_errors(pred, item["disparity"], item["nonocc"])
    return {"epe": round(e["epe"], 3), "bad2": round(e["bad2"], 2)}


def train(args: argparse.Namespace, run_dir: Path) -> tuple[StereoDepthTask, dict]:
    if args.synthetic:
        spec = f"synthetic-stereo:{args.pairs}"
        splits = open_data(spec, image_size=args.image_size, seed=0, jitter=0.1)
    else:
        spec = f"stereo:{args.train}"
        splits = open_data(spec, image_size=args.image_size, seed=0, val_fraction=0.1, exclude=args.exclude, jitter=0.1)
    size = [int(s) for s in splits.info["image_size"]]
    L.seed_everything(0, verbose=False)
    task = StereoDepthTask(
        model_kwargs={
            "widths": args.widths,
            "blocks_per_stage": 1,
            "max_disparity": args.max_disp,
            "num_scales": 4,
            "upsample": "bilinear",
        },
        loss=args.loss,
        lr=args.lr,
        scheduler="onecycle" if args.epochs or args.time_schedule else "none",
        metadata={"image_size": size, "infer_width": size[1], "width_scale": 1.0, "data": spec},
    )
    base = splits.train.base
    for i in range(len(base)):  # read / render every training pair once (cached), before timing
        base[i]
    # a time budget: constant learning rate until --minutes run out (a one-cycle schedule sized from timed
    # steps ended far too early on this shared machine), or with --time-schedule one-cycle over the wall
    # clock (the schedule follows elapsed time, so it ends annealed whatever the machine's speed);
    # --epochs N instead trains N epochs, one-cycle
    epochs = args.epochs or 100_000
    cfg = TrainConfig(
        epochs=epochs,
        batch_size=args.batch_size,
        max_time_minutes=args.minutes,
        progress=False,
        log_every_n_steps=5,
        precision=args.precision,
        channels_last=args.channels_last,
        time_schedule=args.time_schedule,
    )
    t0 = time.time()
    fit(
        task,
        DataModule(splits, args.batch_size, 0, 0),
        run_dir,
        cfg,
        {"benchmark": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}},
    )
    train_s = time.time() - t0
    best = load_task(run_dir / "best.ckpt")
    # the constant reference: median of the network's own predictions on its (un-augmented) training pairs
    fracs = [best.model(base[i]["left"][None]).detach().flatten() for i in range(len(base))]
    const_frac = float(torch.cat(fracs).median())
    info = {
        "train_seconds": round(train_s, 1),
        "train_pairs": len(base),
        "image_size": size,
        "constant_frac": const_frac,
    }
    if not args.synthetic:
        info["train_scenes"] = splits.info["pairs"]["train"]
        info["val_scenes"] = splits.info["pairs"]["val"]
    return best, info


def evaluate(task: StereoDepthTask, args: argparse.Namespace, info: dict) -> dict[str, dict[str, dict[str, float]]]:
    if args.synthetic:
        ds = open_data(f"synthetic-stereo:{args.pairs}", image_size=args.image_size, seed=0).test
        names = [f"synthetic_{i:03d}" for i in range(len(ds))][: args.eval_pairs]
    else:
        ds = open_data(f"stereo:{args.eval}", test_fraction=1.0, val_fraction=0.0).test
        names = [p.name for p in ds.pairs]
    infer_width = info["image_size"][1]
    results: dict[str, dict[str, dict[str, float]]] = {}
    for i, name in enumerate(names):
        item = ds[i]
        w = item["left"].shape[-1]
        pred = infer_disparity(task.model, item["left"], infer_width)[0]
        const = torch.full_like(pred, info["constant_frac"] * w)
        gt_med = item["disparity"][(item["nonocc"] > 0) & (item["disparity"] > 0)].median()
        results[name] = {
            "network": score(pred, item),
            "network_median": score(median_scale(pred, item["disparity"], item["nonocc"]), item),
            "constant": score(const, item),
            "constant_median": score(torch.full_like(pred, float(gt_med)), item),
            "sgbm": score(sgbm_disparity(item["left"], item["right"]), item),
        }
    return results


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--train", type=Path, default=DATA / "stereo" / "middeval3_quarter")
    p.add_argument("--eval", type=Path, default=DATA / "stereo" / "middlebury2001_2003")
    p.add_argument(
        "--exclude",
        default="Teddy,Newkuba",
        help="training scenes left out (MiddEval3 Teddy = eval teddy; Newkuba = a re-render of eval tsukuba)",
    )
    p.add_argument("--synthetic", action="store_true", help="train and evaluate on rendered pairs instead")
    p.add_argument("--pairs", type=int, default=400, help="synthetic pairs (train/val/test 80/10/10%%)")
    p.add_argument("--eval-pairs", type=int, default=20, help="synthetic test pairs scored")
    p.add_argument("--image-size", default=None, help="training size H,W (default 128,176 real; 96,128 synthetic)")
    p.add_argument("--widths", default="16,32,64,128,128")
    p.add_argument("--max-disp", type=float, default=0.2, help="largest disparity as a fraction of the width")
    p.add_argument("--loss", default="ssim_l1")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument(
        "--epochs",
        type=int,
        default=0,
        help="0: train until --minutes run out (constant lr); N: N epochs, one-cycle lr",
    )
    p.add_argument("--minutes", type=float, default=12.0, help="training time budget")
    p.add_argument("--time-schedule", action="store_true", help="one-cycle lr over the --minutes budget")
    p.add_argument("--precision", default="32", help="32 or bf16-mixed (AMX CPUs: ~2.5x faster)")
    p.add_argument("--channels-last", action="store_true", help="NHWC memory layout (faster with bf16 on CPU)")
    p.add_argument("--out", type=Path, default=Path("runs/bench_stereo_depth"))
    p.add_argument("--smoke", action="store_true", help="a few small synthetic pairs, one epoch (seconds)")
    args = p.parse_args(argv)
    if args.smoke:
        args.synthetic, args.pairs, args.eval_pairs, args.epochs, args.minutes = True, 20, 2, 1, 1.0
        args.image_size, args.widths, args.batch_size = "48,96", "8,16,16,16,16", 4  # SGBM needs W > 64
        args.out = Path(tempfile.mkdtemp(prefix="aekit-smoke-run-"))
    args.widths = [int(w) for w in args.widths.split(",")]
    args.image_size = args.image_size or ("96,128" if args.synthetic else "128,176")
    torch.set_num_threads(int(os.environ.get("AEKIT_THREADS", "1")))  # 1: shared 2-core box, no thrashing
    t0 = time.time()
    run_dir = args.out / ("synthetic" if args.synthetic else "middlebury")
    task, info = train(args, run_dir)
    results = evaluate(task, args, info)
    methods = list(next(iter(results.values())))
    print(f"training: {info}")
    print("| scene | " + " | ".join(f"{m} EPE | {m} bad2" for m in methods) + " |")
    print("|---|" + "---|---|" * len(methods))
    for scene, r in results.items():
        print(f"| {scene} | " + " | ".join(f"{r[m]['epe']:.2f} | {r[m]['bad2']:.1f}" for m in methods) + " |")
    mean = {
        m: {k: round(float(np.mean([r[m][k] for r in results.values()])), 3) for k in ("epe", "bad2")} for m in methods
    }
    print("| mean | " + " | ".join(f"{mean[m]['epe']:.2f} | {mean[m]['bad2']:.1f}" for m in methods) + " |")
    print(f"wall time {time.time() - t0:.0f} s (training {info['train_seconds']} s)")
    out = results | {"_mean": mean}
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
