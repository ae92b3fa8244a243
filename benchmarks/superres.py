"""Super-resolution benchmark: train on a folder of HR images (T91), evaluate on another (Set5), per scale.

For each scale the model trains for a wall-clock budget (``--minutes``) through ``aekit.engine.fit``
(``max_time``), with a cosine learning-rate decay over that same wall-clock budget, so the schedule
ends on time whatever the machine's load. Evaluation is the standard protocol (PSNR/SSIM on Y, ``scale`` pixels
shaved, HR cropped to a multiple of the scale), with bicubic upsampling measured on the same LR images.
LR images come from torch's antialiased bicubic (see ``aekit.nn.resample``), not MATLAB's imresize.

    python benchmarks/superres.py --scales 2,3,4 --minutes 8
    python benchmarks/superres.py --train path/to/HR_train --test path/to/HR_test --scales 3

``--smoke``: random HR images, scale 2, a few seconds of training (checks the script runs).
Last line of output: JSON ``{scale: {model_psnr, model_ssim, bicubic_psnr, bicubic_ssim, train_minutes}}``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import time
from pathlib import Path

import lightning.pytorch as L
import numpy as np
import torch
from PIL import Image

import aekit
from aekit.data import DataModule, open_data
from aekit.data.images import list_images
from aekit.data.splits import SplitSpec
from aekit.engine import TrainConfig, fit, resolve_precision
from aekit.metrics import evaluate_sr_model
from aekit.tasks import SuperResolutionTask

DATA = Path(os.environ.get("AEKIT_DATA", Path(__file__).resolve().parents[1] / ".." / "shared" / "data"))
# published bicubic PSNR(Y) on Set5 with MATLAB imresize, for the table only
MATLAB_BICUBIC_SET5 = {2: 33.66, 3: 30.39, 4: 28.42}


class TimeBudgetCosine(L.Callback):
    """Cosine learning-rate decay over a wall-clock budget (with a short linear warm-up), so a run cut by
    ``max_time`` still ends at a small learning rate whatever the machine's speed or load."""

    def __init__(self, budget_s: float, warmup_s: float = 10.0) -> None:
        self.budget_s = budget_s
        self.warmup_s = warmup_s
        self.start = None
        self.steps = 0

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch, batch_idx: int) -> None:
        if self.start is None:
            self.start = time.perf_counter()
        t = time.perf_counter() - self.start
        factor = 0.5 * (1 + math.cos(math.pi * min(1.0, t / self.budget_s)))
        factor *= min(1.0, (t + 1e-3) / self.warmup_s)
        for opt in trainer.optimizers:
            for group in opt.param_groups:
                group.setdefault("base_lr", group["lr"])
                group["lr"] = group["base_lr"] * max(factor, 0.01)
        self.steps += 1


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
    task = SuperResolutionTask(
        args.model, kwargs, loss="l1", lr=args.lr, scheduler="none", metadata={"scale": scale, "seed": args.seed}
    )
    schedule = TimeBudgetCosine(args.minutes * 60)
    cfg = TrainConfig(
        epochs=100_000,
        batch_size=args.batch_size,
        seed=args.seed,
        max_time_minutes=args.minutes,
        progress=False,
        log_every_n_steps=50,
    )
    run_dir = Path(args.out) / f"x{scale}"
    t0 = time.perf_counter()
    config = {"benchmark": "superres", "scale": scale, "model": args.model, "kwargs": kwargs}
    fit(task, dm, run_dir, cfg, config, extra_callbacks=[schedule])
    train_min = (time.perf_counter() - t0) / 60
    model = aekit.load(run_dir)  # the best checkpoint's weights
    whole = SplitSpec(val_fraction=0.0, test_fraction=1.0)  # the test folder is scored whole, never split
    test = open_data(f"hr:{args.test}", scale=scale, splitting=whole).test
    result = evaluate_sr_model(model, test, scale)
    m = result["mean"]
    row = {
        "model_psnr": round(m["psnr"], 3),
        "model_ssim": round(m["ssim"], 4),
        "bicubic_psnr": round(m["bicubic_psnr"], 3),
        "bicubic_ssim": round(m["bicubic_ssim"], 4),
        "train_minutes": round(train_min, 2),
        "train_steps": schedule.steps,
        "test_images": len(result["per_image"]),
        "test_folder_images": len(list_images(args.test)),
        "params": sum(p.numel() for p in model.parameters()),
        "precision": resolve_precision(cfg.precision),
        "selected_on": f"best.ckpt by the loss of {len(splits.info.get('splits', {}).get('val') or [])} held-out "
        f"{args.train.name} validation images (none of the test folder)",
    }
    print(f"x{scale}: {json.dumps(row)}", flush=True)
    for r in result["per_image"]:
        print(f"   {r['image']:>16s}  model {r['psnr']:.2f} dB / {r['ssim']:.4f}   bicubic {r['bicubic_psnr']:.2f} dB")
    return row


def smoke_folders() -> tuple[Path, Path]:
    """Two folders of random 64x64 RGB images (train, test)."""
    root = Path(tempfile.mkdtemp(prefix="aekit-smoke-sr-"))
    rng = np.random.default_rng(0)
    for name, n in (("train", 3), ("test", 2)):
        (root / name).mkdir()
        for k in range(n):
            Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(root / name / f"{k}.png")
    return root / "train", root / "test"


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--train", type=Path, default=DATA / "sr" / "T91", help="folder of HR training images")
    p.add_argument("--test", type=Path, default=DATA / "sr" / "Set5", help="folder of HR test images")
    p.add_argument("--scales", default="3,2,4")
    p.add_argument("--minutes", type=float, default=8.0, help="training budget per scale (wall clock)")
    p.add_argument("--model", default="unet_sr", choices=["unet_sr", "srcnn"])
    p.add_argument("--widths", type=lambda s: [int(v) for v in s.split(",")], default=[32, 64, 128])
    p.add_argument("--blocks", type=int, default=2)
    p.add_argument("--upsample", default="transposed")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--patch-size", type=int, default=48)
    p.add_argument("--patches-per-image", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="1 is fastest on a shared, oversubscribed machine")
    p.add_argument("--out", type=Path, default=Path("runs/bench_superres"))
    p.add_argument("--smoke", action="store_true", help="random images, scale 2, seconds (checks the script runs)")
    args = p.parse_args(argv)
    if args.smoke:
        args.train, args.test = smoke_folders()
        args.scales, args.minutes, args.widths, args.patch_size, args.patches_per_image = "2", 0.05, [8, 16], 24, 2
        args.out = Path(tempfile.mkdtemp(prefix="aekit-smoke-run-"))
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
    return results


if __name__ == "__main__":
    main()
