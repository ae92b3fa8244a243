"""ISBI 2012 EM membranes with U-Net: train on slices 0-14, validate on 15-19 (the shared copy has 20 slices).

Reports pixel error (1 - pixel accuracy), foreground IoU (class 1 = label 255 = cell interior), membrane IoU
and mIoU on the 5 validation slices, next to a trivial reference computed in the same run (every pixel
"cell interior"). Trains through ``aekit train unet``'s builder and :func:`aekit.engine.fit` with random
crops, rescaling and flips; the epoch count is chosen to fit ``--minutes``.

    python benchmarks/isbi2012.py --minutes 5

The U-Net paper's pixel error (0.0611) is on the hidden ISBI test stack, not on these validation slices.
The last line printed is JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import lightning.pytorch as L
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from camvid import seconds_per_image, validated_epochs  # noqa: E402

from aekit.cli.main import build_parser  # noqa: E402
from aekit.cli.segmentation import build_segmentation, evaluate_dataset, prediction_figure  # noqa: E402
from aekit.engine import TrainConfig, fit  # noqa: E402
from aekit.tasks import load_task  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(Path(os.environ.get("AEKIT_DATA", "../shared/data")) / "isbi2012"))
    p.add_argument("--minutes", type=float, default=5.0)
    p.add_argument("--widths", default="16,32,64,128")
    p.add_argument("--crop", type=int, default=256)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--precision", default="bf16-mixed")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeat", type=int, default=8, help="crops per training slice per epoch")
    p.add_argument("--out", type=Path, default=Path("runs/bench_isbi2012"))
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    argv = ["train", "unet", "--data", f"isbi2012:{a.data}", "--widths", a.widths, "--upsample", "bilinear",
            "--crop-size", str(a.crop), "--scale", "0.8,1.25", "--loss", "ce+dice", "--batch-size", str(a.batch_size),
            "--lr", str(a.lr), "--out", str(a.out)]  # fmt: skip
    args = build_parser().parse_args(argv)
    L.seed_everything(0, verbose=False)
    task, dm = build_segmentation(args)
    train = dm.splits.train
    dm.splits.train = torch.utils.data.ConcatDataset([train] * a.repeat)  # more random crops per epoch
    first = next(iter(torch.utils.data.DataLoader(dm.splits.train, batch_size=a.batch_size)))
    s_img = seconds_per_image(task, first, a.precision, True)
    n_val_px = len(dm.splits.val) * 512 * 512 / a.crop**2
    epoch_s = 2 * s_img * len(dm.splits.train) + s_img / 3 * n_val_px + 3  # see camvid.py
    epochs = int(max(1, a.minutes * 60 / epoch_s))
    print(f"{s_img:.3f} s per {a.crop}px crop -> {epochs} epochs of {len(dm.splits.train)} crops", flush=True)
    L.seed_everything(0, verbose=False)
    task, dm = build_segmentation(args)
    dm.splits.train = torch.utils.data.ConcatDataset([dm.splits.train] * a.repeat)
    cfg = TrainConfig(epochs=epochs, batch_size=a.batch_size, precision=a.precision, monitor="val/miou",
                      monitor_mode="max", max_time_minutes=a.minutes * 1.1, progress=False, channels_last=True,
                      log_every_n_steps=10)  # fmt: skip
    t0 = time.time()
    fit(task, dm, a.out, cfg, {"benchmark": "isbi2012", "argv": argv})
    minutes = (time.time() - t0) / 60
    best = load_task(a.out / "best.ckpt")
    val = dm.splits.val
    r = evaluate_dataset(best, val, 2)
    prediction_figure(best, val, a.out / "predictions_val.png", 3)
    # reference in the same run: predict "cell interior" everywhere
    masks = torch.cat([torch.from_numpy(m.astype("int64")).flatten() for m in val.masks])
    interior = float((masks == 1).float().mean())
    row = {
        "unet": {
            "pixel_error": round(1 - r["global_acc"], 4),
            "foreground_iou": round(r["per_class_iou"]["cell interior"], 4),
            "membrane_iou": round(r["per_class_iou"]["membrane"], 4),
            "miou": round(r["miou"], 4),
            "train_minutes": round(minutes, 1),
            "epochs_planned": epochs,
            "epochs_done": validated_epochs(a.out),
            "params": sum(p.numel() for p in best.model.parameters()),
        },
        "all_interior_reference": {"pixel_error": round(1 - interior, 4), "foreground_iou": round(interior, 4)},
        "split": {"train": len(train), "val": len(val)},
    }
    print(json.dumps(row))


if __name__ == "__main__":
    main()
