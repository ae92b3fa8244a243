"""Inference speed of ``aekit evaluate`` on large images: the default (``--precision auto``) against fp32.

What is timed is the command itself (``python -m aekit evaluate``, a fresh process each time: reading the
images, the model on each image at native size with tiling above the budget, the metrics, the report), so
the number is what a user waits. A tiny model of each kind is trained first for one epoch (the speed does not
depend on how well it is trained; the output difference is reported for that model):

- super-resolution ``unet_sr`` x3 (the recipe's default widths) on ``--images`` HR images of ``--size``;
- segmentation ``unet`` (the recipe's default widths) on the same images with two-class masks.

Runs alternate (auto, 32, auto, 32, ...) because the machine is shared; each ratio is the median over
rounds of fp32 time / default time within the round. The metrics of both runs are compared: PSNR (SR) and
mIoU (segmentation) differences state how far the default's outputs are from fp32's.

    AEKIT_THREADS=1 PYTHONPATH=src python benchmarks/inference_speed.py --images 4 --size 1024,768 --rounds 2

``--smoke``: one 160x120 image, one round (seconds), to check the script runs.

Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from aekit.engine import resolve_precision


def scene(h: int, w: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A textured RGB image with discs (natural-image-like edges and gradients) and the discs' mask."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.zeros((h, w, 3), np.float32)
    for c in range(3):
        fx, fy, ph = rng.uniform(0.005, 0.05, 2).tolist() + [rng.uniform(0, 6)]
        img[..., c] = 0.5 + 0.25 * np.sin(xx * fx + ph) * np.cos(yy * fy)
    mask = np.zeros((h, w), np.uint8)
    for _ in range(12):
        cy, cx, r = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(0.03, 0.12) * min(h, w)
        disc = (yy - cy) ** 2 + (xx - cx) ** 2 < r**2
        mask[disc] = 1
        img[disc] = rng.uniform(0.2, 1.0, 3)
    img += rng.normal(0, 0.02, img.shape).astype(np.float32)
    return (np.clip(img, 0, 1) * 255).astype(np.uint8), mask


def write_data(root: Path, n: int, h: int, w: int, seed: int) -> tuple[Path, Path]:
    images, masks = root / "images", root / "masks"
    images.mkdir(parents=True)
    masks.mkdir()
    for i in range(n):
        img, mask = scene(h, w, seed + i)
        Image.fromarray(img).save(images / f"img{i:03d}.png")
        Image.fromarray(mask * 255).save(masks / f"img{i:03d}.png")
    return images, masks


def aekit(*args: str) -> tuple[float, str]:
    """Run ``python -m aekit ARGS``; (wall seconds, stdout). Fails loudly: a benchmark of an error is no number."""
    env = {**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", "src")}
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "aekit", *args], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"aekit {' '.join(args)} failed:\n{proc.stderr[-2000:]}")
    return wall, proc.stdout


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--images", type=int, default=4, help="large images evaluated per run")
    p.add_argument("--size", default="1024,768", help="W,H of the HR images")
    p.add_argument("--rounds", type=int, default=2, help="alternating (auto, 32) rounds")
    p.add_argument("--tasks", default="sr,seg")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--smoke", action="store_true", help="one small image, one round (seconds): checks the script runs")
    a = p.parse_args(argv)
    if a.smoke:
        a.images, a.size, a.rounds = 1, "160,120", 1
    w, h = (int(v) for v in a.size.split(","))
    tasks = [t for t in a.tasks.split(",") if t]
    result: dict = {
        "benchmark": "inference_speed",
        "images": a.images,
        "size_wh": [w, h],
        "rounds": a.rounds,
        "threads": os.environ.get("AEKIT_THREADS") or os.environ.get("OMP_NUM_THREADS"),
        "auto_resolves_to": resolve_precision("auto", "cpu"),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "torch": torch.__version__,
        "load_average_start": [round(v, 2) for v in os.getloadavg()],
        "tasks": {},
    }
    with tempfile.TemporaryDirectory(prefix="aekit-infer-") as tmp:
        root = Path(tmp)
        big_images, big_masks = write_data(root / "big", a.images, h, w, a.seed)
        small_h, small_w = (48, 64) if a.smoke else (96, 128)
        small_images, small_masks = write_data(root / "small", 12, small_h, small_w, a.seed + 1000)
        quick = ["--epochs", "1", "--batch-size", "4", "--no-progress", "--seed", str(a.seed)]
        for task in tasks:
            run = root / f"run_{task}"
            if task == "sr":
                patch = "24" if a.smoke else "48"
                aekit("train", "sr", "--data", f"hr:{small_images}", "--scale", "3", "--patch-size", patch,
                      "--patches-per-image", "2", "--out", str(run), *quick)  # fmt: skip
                data = f"hr:{big_images}"
                extra = ["--scale", "3"]
            else:
                aekit("train", "unet", "--data", f"pairs:{small_images},{small_masks}", "--out", str(run), *quick)
                data = f"pairs:{big_images},{big_masks}"
                extra = ["--figure-count", "0"]
            times: dict[str, list[float]] = {"auto": [], "32": []}
            metrics: dict[str, dict] = {}
            for r in range(a.rounds):
                for precision in ("auto", "32"):
                    out = root / f"ev_{task}_{precision}_{r}"
                    wall, _ = aekit("evaluate", str(run / "best.ckpt"), "--data", data, "--precision", precision,
                                    "--out", str(out), *extra)  # fmt: skip
                    times[precision].append(wall)
                    metrics[precision] = json.loads((out / "metrics.json").read_text())
                print(f"{task} round {r + 1}: auto {times['auto'][-1]:.1f} s, fp32 {times['32'][-1]:.1f} s",
                      file=sys.stderr, flush=True)  # fmt: skip
            speedup = statistics.median(f / d for f, d in zip(times["32"], times["auto"]))
            entry = {
                "seconds": {k: [round(v, 2) for v in vs] for k, vs in times.items()},
                "speedup_default_over_fp32": round(speedup, 3),
            }
            if task == "sr":
                entry["psnr"] = {k: round(m["mean"]["psnr"], 4) for k, m in metrics.items()}
                entry["psnr_difference_db"] = round(metrics["auto"]["mean"]["psnr"] - metrics["32"]["mean"]["psnr"], 4)
            else:
                entry["miou"] = {k: round(m["miou"], 5) for k, m in metrics.items()}
                entry["miou_difference"] = round(metrics["auto"]["miou"] - metrics["32"]["miou"], 5)
            result["tasks"][task] = entry
    result["load_average_end"] = [round(v, 2) for v in os.getloadavg()]
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
