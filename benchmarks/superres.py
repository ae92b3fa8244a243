"""Super-resolution benchmark: train on a folder of HR images (T91), evaluate on another (Set5), per scale.

For each scale the model trains for a wall-clock budget (``--minutes``) through ``aekit.engine.fit``; the
one-cycle schedule is sized from a short speed calibration so that it ends near the budget, and the
budget is also a hard stop. Evaluation is the standard protocol (PSNR/SSIM on Y, ``scale`` pixels
shaved, HR cropped to a multiple of the scale), with bicubic upsampling measured on the same LR images.
LR images come from torch's antialiased bicubic (see ``aekit.nn.resample``), not MATLAB's imresize.

    python benchmarks/superres.py --scales 2,3,4 --minutes 8
    python benchmarks/superres.py --train path/to/HR_train --test path/to/HR_test --scales 3

Last line of output: JSON ``{scale: {model_psnr, model_ssim, bicubic_psnr, bicubic_ssim, train_minutes}}``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import lightning.pytorch as L
import torch

import aekit
from aekit.cli.image_regression import evaluate_sr_model
from aekit.data import DataModule, open_data
from aekit.engine import TrainConfig, fit
from aekit.tasks import SuperResolutionTask

DATA = Path(os.environ.get("AEKIT_DATA", Path(__file__).resolve().parents[1] / ".." / "shared" / "data"))
# published bicubic PSNR(Y) on Set5 with MATLAB imresize, for the table only
MATLAB_BICUBIC_SET5 = {2: 33.66, 3: 30.39, 4: 28.42}


def calibrate(task: SuperResolutionTask, dm: DataModule, steps: int = 6) -> float:
    """Seconds per training step (forward, backward, Adam step) on real batches."""
    model = task.model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    loader = iter(dm.train_dataloader())
    times = []
    for i in range(steps + 1):
        batch = next(loader)
        t = time.perf_counter()
        opt.zero_grad()
        torch.nn.functional.l1_loss(model(batch["image"]), batch["target"]).backward()
        opt.step()
        if i:  # the first step warms up
            times.append(time.perf_counter() - t)
    return sorted(times)[len(times) // 2]


def run_scale(args: argparse.Namespace, scale: int) -> dict[str, float]:
    L.seed_everything(args.seed, workers=True, verbose=False)
    splits = open_data(
        f"hr:{args.train}",
        scale=scale,
        patch_size=args.patch_size,
        patches_per_image=args.patches_per_image,
        seed=args.seed,
    )
    kwargs = {"in_channels": 3, "scale": scale}
    if args.model == "unet_sr":
        kwargs.update({"widths": args.widths, "blocks_per_stage": args.blocks, "upsample": args.upsample})
    dm = DataModule(splits, args.batch_size, 0, args.seed)
    probe = SuperResolutionTask(args.model, kwargs)
    sec_per_step = calibrate(probe, dm)
    steps_per_epoch = len(splits.train) // args.batch_size
    # data loading + validation cost about 15% on top of the measured step time
    epochs = max(1, int(args.minutes * 60 / (sec_per_step * 1.15 * steps_per_epoch)))
    L.seed_everything(args.seed, workers=True, verbose=False)
    task = SuperResolutionTask(args.model, kwargs, loss="l1", lr=args.lr, metadata={"scale": scale, "seed": args.seed})
    cfg = TrainConfig(
        epochs=epochs,
        batch_size=args.batch_size,
        seed=args.seed,
        max_time_minutes=args.minutes,
        progress=False,
        log_every_n_steps=50,
    )
    run_dir = Path(args.out) / f"x{scale}"
    t0 = time.perf_counter()
    fit(task, dm, run_dir, cfg, {"benchmark": "superres", "scale": scale, "model": args.model, "kwargs": kwargs})
    train_min = (time.perf_counter() - t0) / 60
    model = aekit.load(run_dir)  # the best checkpoint's weights
    test = open_data(f"hr:{args.test}", scale=scale).test
    result = evaluate_sr_model(model, test, scale)
    m = result["mean"]
    row = {
        "model_psnr": round(m["psnr"], 3),
        "model_ssim": round(m["ssim"], 4),
        "bicubic_psnr": round(m["bicubic_psnr"], 3),
        "bicubic_ssim": round(m["bicubic_ssim"], 4),
        "train_minutes": round(train_min, 2),
        "planned_epochs": epochs,
        "sec_per_step": round(sec_per_step, 4),
    }
    print(f"x{scale}: {json.dumps(row)}", flush=True)
    for r in result["per_image"]:
        print(f"   {r['image']:>16s}  model {r['psnr']:.2f} dB / {r['ssim']:.4f}   bicubic {r['bicubic_psnr']:.2f} dB")
    return row


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--train", type=Path, default=DATA / "sr" / "T91", help="folder of HR training images")
    p.add_argument("--test", type=Path, default=DATA / "sr" / "Set5", help="folder of HR test images")
    p.add_argument("--scales", default="3,2,4")
    p.add_argument("--minutes", type=float, default=8.0, help="training budget per scale (wall clock)")
    p.add_argument("--model", default="unet_sr", choices=["unet_sr", "srcnn"])
    p.add_argument("--widths", type=lambda s: [int(v) for v in s.split(",")], default=[32, 64, 128])
    p.add_argument("--blocks", type=int, default=1)
    p.add_argument("--upsample", default="transposed")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--patch-size", type=int, default=48)
    p.add_argument("--patches-per-image", type=int, default=16)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path, default=Path("runs/bench_superres"))
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    for folder in (args.train, args.test):
        if not folder.is_dir():
            raise SystemExit(f"{folder} does not exist: pass --train/--test or set AEKIT_DATA")
    results = {}
    t0 = time.perf_counter()
    for scale in [int(s) for s in args.scales.split(",")]:
        results[str(scale)] = run_scale(args, scale)
        results[str(scale)]["matlab_bicubic_reference"] = MATLAB_BICUBIC_SET5.get(scale)
    print(
        f"total wall time {(time.perf_counter() - t0) / 60:.1f} min; model {args.model}, "
        f"train {args.train}, test {args.test}",
        flush=True,
    )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
