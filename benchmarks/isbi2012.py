"""ISBI 2012 EM membranes with U-Net: train on slices 0-13, choose the epoch on 14-16, score 17-19 (the shared
copy has 20 slices; ``--val-slices`` / ``--test-slices`` move the cut).

Reports pixel error (1 - pixel accuracy), foreground IoU (class 1 = label 255 = cell interior), membrane IoU
and mIoU on the test slices, which neither trained nor chose anything, next to a trivial reference computed on
them in the same run (every pixel "cell interior"); the validation slices' scores (what chose the epoch) are
reported beside as ``selection_val``. Trains through :func:`aekit.engine.fit` with random crops, rescaling and
flips; the one-cycle schedule follows the clock (``--minutes``). Neighbouring slices are correlated, so the
test slices are the last ones, not a random draw.

    python benchmarks/isbi2012.py --minutes 2

The U-Net paper's pixel error (0.0611) is on the hidden ISBI test stack, not on these slices.
``--smoke``: a few synthetic slices, seconds (checks the script runs). The last line printed is JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import lightning.pytorch as L
import numpy as np
import torch
from PIL import Image

from aekit.data import DataModule, open_data
from aekit.engine import TrainConfig, fit, resolve_precision, set_threads
from aekit.report.segmentation import prediction_figure
from aekit.tasks import load_task
from aekit.tasks.segmentation import evaluate_dataset, task_for_data


def smoke_data(n: int = 6, size: int = 64) -> Path:
    """``n`` synthetic slices in the ISBI layout (image/<k>.png, label/<k>.png with labels {0, 255})."""
    root = Path(tempfile.mkdtemp(prefix="aekit-smoke-isbi-"))
    rng = np.random.default_rng(0)
    for sub in ("image", "label"):
        (root / sub).mkdir()
    for k in range(n):
        label = np.where(rng.random((size, size)) < 0.8, 255, 0).astype(np.uint8)
        image = np.clip(label * 0.7 + rng.normal(0, 20, label.shape), 0, 255).astype(np.uint8)
        Image.fromarray(image).save(root / "image" / f"{k}.png")
        Image.fromarray(label).save(root / "label" / f"{k}.png")
    return root


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(Path(os.environ.get("AEKIT_DATA", "../shared/data")) / "isbi2012"))
    p.add_argument("--minutes", type=float, default=2.0, help="training budget (wall clock)")
    p.add_argument("--widths", default="16,32,64,128")
    p.add_argument("--crop", type=int, default=256)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--precision", default=resolve_precision("auto"), help="32 or bf16-mixed (default: fast path here)")
    p.add_argument("--repeat", type=int, default=8, help="crops per training slice per epoch")
    p.add_argument("--val-slices", type=int, default=3, help="slices before the test slices that choose the epoch")
    p.add_argument("--test-slices", type=int, default=3, help="the last slices: scored, never trained or chosen on")
    p.add_argument("--out", type=Path, default=Path("runs/bench_isbi2012"))
    p.add_argument("--smoke", action="store_true", help="synthetic slices, one short epoch (seconds)")
    a = p.parse_args(argv)
    epochs = 10_000  # the schedule follows the clock; the epoch count only has to be out of reach
    if a.smoke:
        a.data, a.crop, a.widths, a.repeat, a.precision = str(smoke_data()), 32, "8,16", 1, "32"
        a.out, epochs = Path(tempfile.mkdtemp(prefix="aekit-smoke-run-")), 1
    set_threads()
    L.seed_everything(0, verbose=False)
    if a.smoke:
        a.val_slices, a.test_slices = 2, 2
    splits = open_data(f"isbi2012:{a.data}", crop_size=a.crop, scale="0.8,1.25", n_val=a.val_slices,
                       n_test=a.test_slices)  # fmt: skip
    train = splits.train
    splits.train = torch.utils.data.ConcatDataset([train] * a.repeat)  # more random crops per epoch
    kwargs = {"widths": [int(w) for w in a.widths.split(",")], "upsample": "bilinear", "blocks_per_stage": 2}
    task = task_for_data(splits, "unet", kwargs, loss="ce+dice", lr=a.lr)
    cfg = TrainConfig(epochs=epochs, batch_size=a.batch_size, precision=a.precision, monitor="val/miou",
                      monitor_mode="max", max_time_minutes=a.minutes, time_schedule=not a.smoke, progress=False,
                      log_every_n_steps=10)  # fmt: skip
    t0 = time.time()
    config = {"benchmark": "isbi2012", **{k: str(v) for k, v in vars(a).items()}}
    result = fit(task, DataModule(splits, a.batch_size, 0, 0), a.out, cfg, config)
    minutes = (time.time() - t0) / 60
    best = load_task(a.out / "best.ckpt")
    val, test = splits.val, splits.test
    scored = test if test is not None else val
    r = evaluate_dataset(best, scored, 2)
    prediction_figure(best, scored, a.out / "predictions_test.png", 3)
    # reference in the same run: predict "cell interior" everywhere
    masks = torch.cat([torch.from_numpy(m.astype("int64")).flatten() for m in scored.masks])
    interior = float((masks == 1).float().mean())
    stems = {name: [p[0].stem for p in ds.pairs] for name, ds in (("val", val), ("test", scored))}
    row = {
        "benchmark": "isbi2012",
        "selected_on": f"best epoch by val mIoU on slices {','.join(stems['val'])}",
        "scored_on": f"slices {','.join(stems['test'])}" + (" (never trained or selected on)" if test is not None
                                                            else " (the validation slices: a selection figure)"),
        "unet": {
            **scores(r),
            "train_minutes": round(minutes, 1),
            "epochs_done": int(result.trainer.current_epoch),
            "params": sum(p.numel() for p in best.model.parameters()),
        },
        "selection_val": scores(evaluate_dataset(best, val, 2)) if test is not None else None,
        "all_interior_reference": {"pixel_error": round(1 - interior, 4), "foreground_iou": round(interior, 4)},
        "split": {"train": len(train), "val": len(val), "test": len(test) if test is not None else 0},
        "command": "python benchmarks/isbi2012.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "precision": a.precision,
        "threads": torch.get_num_threads(),
        "load_average": [round(v, 2) for v in os.getloadavg()],
    }
    print(json.dumps(row))
    return row


def scores(r: dict) -> dict:
    """``evaluate_dataset``'s result as the benchmark's figures (pixel error = 1 - pixel accuracy)."""
    return {
        "pixel_error": round(1 - r["global_acc"], 4),
        "foreground_iou": round(r["per_class_iou"]["cell interior"], 4),
        "membrane_iou": round(r["per_class_iou"]["membrane"], 4),
        "miou": round(r["miou"], 4),
    }


if __name__ == "__main__":
    main()
