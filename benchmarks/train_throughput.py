"""Training throughput: aekit (task + engine + Lightning) against a hand-written PyTorch loop.

Both train the ``autoencoder`` model with the defaults of ``aekit train ae`` (``RECIPE`` below: same
kwargs, batch size, AdamW + one-cycle, data held in memory). Measurements are interleaved (plain, aekit,
plain, aekit, ... in every round) because the machine is shared; warm-up steps are excluded and each
number is images/s over the timed steps only. The ratios are medians over rounds of the ratio within
each round.

Also measured in the same run: the model's FLOPs (forward + backward, FlopCounterMode) and this
machine's fp32/bf16 matmul GFLOP/s, so achieved GFLOP/s can be read against a peak.

    PYTHONPATH=src python benchmarks/train_throughput.py --rounds 5 --steps 30
    AEKIT_THREADS=1 PYTHONPATH=src python benchmarks/train_throughput.py   # a loaded 2-core box

``--smoke``: random images, one round of a few steps (seconds), to check the script runs.
Last line of output: one JSON object (``ratio_fp32`` = aekit/plain at fp32, ``ratio_default`` = aekit with
no precision flags (``--precision auto``) / plain fp32, ``ratio_best`` = best aekit setting / plain fp32).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
import time
import warnings

import lightning.pytorch as L
import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from aekit.data import DataModule, DataSplits, open_data
from aekit.engine import TrainConfig, fit, resolved, set_threads
from aekit.experiments.pca import stack_dataset
from aekit.registry import create_model
from aekit.tasks import ReconstructionTask

# the defaults of ``aekit train ae`` (model kwargs besides the data's shape, and the peak learning rate)
RECIPE = {
    "latent_dim": 32,
    "widths": [32, 64, 128],
    "blocks_per_stage": 1,
    "upsample": "transposed",
    "downsample": "stride",
    "norm": "batch",
    "act": "relu",
    "residual_blocks": 0,
}
RECIPE_LR = 3e-3

# name -> (Lightning precision, channels_last); "default" is what `aekit train` does without flags
SETTINGS = {
    "default": ("auto", None),
    "fp32": ("32", False),
    "fp32_cl": ("32", True),
    "bf16": ("bf16-mixed", False),
    "bf16_cl": ("bf16-mixed", True),
}


class StepTimer(L.Callback):
    """Wall-clock time at the end of every training batch (everything Lightning does in between counts)."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:  # noqa: ANN001
        self.times.append(time.perf_counter())


def images_per_second(times: list[float], warmup: int, batch_size: int) -> float:
    """Steps after the warm-up ones: (n steps * batch) / their wall time."""
    timed = times[warmup:]
    return (len(timed) - 1) * batch_size / (timed[-1] - timed[0])


def build(splits: DataSplits, batch_size: int, seed: int) -> tuple[ReconstructionTask, DataModule]:
    """The task and data of ``aekit train ae --data DATA`` with the recipe's defaults."""
    L.seed_everything(seed, verbose=False)
    image = splits.train[0]["image"]
    kwargs = {"in_channels": int(image.shape[0]), "image_size": list(image.shape[-2:]), **RECIPE}
    task = ReconstructionTask(model="autoencoder", model_kwargs=kwargs, loss="l2", lr=RECIPE_LR)
    return task, DataModule(splits, batch_size, 0, seed)


def run_aekit(a: argparse.Namespace, splits: DataSplits, setting: str, steps: int, warmup: int) -> float:
    precision, channels_last = SETTINGS[setting]
    task, datamodule = build(splits, a.batch_size, a.seed)
    cfg = TrainConfig(
        epochs=1,
        batch_size=a.batch_size,
        seed=a.seed,
        precision=precision,
        channels_last=channels_last,
        progress=not a.no_progress,
        limit_train_batches=warmup + steps + 1,
    )
    timer = StepTimer()
    with tempfile.TemporaryDirectory(prefix="aekit-bench-") as run_dir:
        fit(task, datamodule, run_dir, cfg, extra_callbacks=[timer])
    return images_per_second(timer.times, warmup, a.batch_size)


def run_plain(
    images: torch.Tensor,
    model_kwargs: dict,
    lr: float,
    batch_size: int,
    steps: int,
    warmup: int,
    setting: str,
    seed: int,
) -> float:
    """The minimal loop: tensor slicing, forward, MSE, backward, AdamW, one-cycle step."""
    precision, channels_last = SETTINGS[setting]
    torch.manual_seed(seed)
    model = create_model("autoencoder", **model_kwargs).train()
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    total = warmup + steps + 1
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=total, pct_start=0.25)
    order = torch.randperm(len(images))
    times = []
    for i in range(total):
        j = (i * batch_size) % (len(images) - batch_size)
        x = images[order[j : j + batch_size]]
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16-mixed"):
            loss = F.mse_loss(model(x), x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        times.append(time.perf_counter())
    return images_per_second(times, warmup, batch_size)


def model_flops(model_kwargs: dict, batch_size: int) -> int:
    """FLOPs of one training step's forward + backward at fp32."""
    model = create_model("autoencoder", **model_kwargs).train()
    c, (h, w) = model.in_channels, model.image_size
    x = torch.rand(batch_size, c, h, w)
    counter = FlopCounterMode(display=False)
    with counter:
        F.mse_loss(model(x), x).backward()
    return int(counter.get_total_flops())


def matmul_gflops(n: int = 1024, dtype: torch.dtype = torch.float32, reps: int = 8) -> float:
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    a @ b
    t = time.perf_counter()
    for _ in range(reps):
        a @ b
    return 2 * n**3 * reps / (time.perf_counter() - t) / 1e9


def load_average() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="mnist5k", help="aekit data spec (mnist5k, mnist:FOLDER, ...)")
    p.add_argument("--batch-size", type=int, default=TrainConfig().batch_size)
    p.add_argument("--steps", type=int, default=30, help="timed steps per measurement")
    p.add_argument("--warmup", type=int, default=5, help="untimed steps before each measurement")
    p.add_argument("--rounds", type=int, default=5, help="interleaved rounds (plain, aekit, ... each round)")
    p.add_argument(
        "--settings",
        default="default,bf16,bf16_cl",
        help=f"aekit settings to time besides plain fp32 ({', '.join(SETTINGS)}); fp32 is always included",
    )
    p.add_argument("--plain-bf16", action="store_true", help="also time the plain loop at bf16 + channels_last")
    p.add_argument("--no-progress", action="store_true", help="aekit without its progress bar (on in the CLI)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--smoke", action="store_true", help="one round of a few steps (seconds): checks the script runs")
    a = p.parse_args(argv)
    if a.smoke:  # 400 random 28x28 images: no data set needed
        path = os.path.join(tempfile.mkdtemp(prefix="aekit-smoke-"), "images.npy")
        np.save(path, np.random.default_rng(0).integers(0, 256, (400, 28, 28), dtype=np.uint8))
        a.data, a.rounds, a.steps, a.warmup, a.settings, a.no_progress = f"npy:{path}", 1, 3, 1, "fp32", True
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", module="lightning")
    set_threads()
    settings = ["fp32", *[s for s in a.settings.split(",") if s and s != "fp32"]]
    unknown = [s for s in settings if s not in SETTINGS]
    if unknown:
        p.error(f"unknown setting(s) {unknown}; choose from {', '.join(SETTINGS)}")

    splits = open_data(a.data)
    probe, datamodule = build(splits, a.batch_size, a.seed)
    model_kwargs = dict(probe.hparams.model_kwargs)
    lr = float(probe.hparams.lr)
    images = torch.from_numpy(stack_dataset(datamodule.splits.train).images)
    flops_per_step = model_flops(model_kwargs, a.batch_size)
    flops_per_image = flops_per_step / a.batch_size

    plain_names = ["plain_fp32"] + (["plain_bf16_cl"] if a.plain_bf16 else [])
    rates: dict[str, list[float]] = {n: [] for n in plain_names + [f"aekit_{s}" for s in settings]}
    peaks: dict[str, list[float]] = {"fp32": [], "bf16": []}
    load = [load_average()]
    t_start = time.perf_counter()
    for r in range(a.rounds):
        n, reps = (256, 2) if a.smoke else (1024, 8)
        peaks["fp32"].append(matmul_gflops(n, torch.float32, reps))
        peaks["bf16"].append(matmul_gflops(n, torch.bfloat16, reps))
        for setting in settings:
            rates["plain_fp32"].append(
                run_plain(images, model_kwargs, lr, a.batch_size, a.steps, a.warmup, "fp32", a.seed)
            )
            rates[f"aekit_{setting}"].append(run_aekit(a, splits, setting, a.steps, a.warmup))
        if a.plain_bf16:
            rates["plain_bf16_cl"].append(
                run_plain(images, model_kwargs, lr, a.batch_size, a.steps, a.warmup, "bf16_cl", a.seed)
            )
        load.append(load_average())
        line = "  ".join(f"{k}={v[-1]:.0f}" for k, v in rates.items())
        print(f"round {r + 1}/{a.rounds}: images/s  {line}", file=sys.stderr, flush=True)

    # plain fp32 is measured once before every aekit setting; pair each aekit run with the plain run just before it
    n_set = len(settings)
    plain_by_setting = {s: rates["plain_fp32"][i::n_set] for i, s in enumerate(settings)}

    def paired_ratio(setting: str) -> float:
        return statistics.median(a_ / p_ for a_, p_ in zip(rates[f"aekit_{setting}"], plain_by_setting[setting]))

    ratios = {s: paired_ratio(s) for s in settings}
    best = max(ratios, key=ratios.get)
    med = {k: statistics.median(v) for k, v in rates.items()}
    peak32, peak16 = max(peaks["fp32"]), max(peaks["bf16"])
    result = {
        "benchmark": "train_throughput",
        "model": "autoencoder",
        "model_kwargs": model_kwargs,
        "data": a.data,
        "batch_size": a.batch_size,
        "optimizer": f"{probe.hparams.optimizer} lr={lr} {probe.hparams.scheduler}",
        "threads": torch.get_num_threads(),
        "rounds": a.rounds,
        "timed_steps": a.steps,
        "warmup_steps": a.warmup,
        "images_per_s_median": {k: round(v, 1) for k, v in med.items()},
        "ratio_by_setting": {s: round(v, 3) for s, v in ratios.items()},
        "ratio_fp32": round(ratios["fp32"], 3),
        "ratio_default": round(ratios["default"], 3) if "default" in ratios else None,
        "default_resolves_to": resolved(TrainConfig()).precision
        + (" + channels_last" if resolved(TrainConfig()).channels_last else ""),
        "ratio_best": round(ratios[best], 3),
        "best_setting": best,
        "gflop_per_image_fwd_bwd": round(flops_per_image / 1e9, 4),
        "achieved_gflops": {k: round(v * flops_per_image / 1e9, 1) for k, v in med.items()},
        "matmul_gflops_fp32": round(peak32, 1),
        "matmul_gflops_bf16": round(peak16, 1),
        "fraction_of_fp32_matmul": {k: round(v * flops_per_image / 1e9 / peak32, 3) for k, v in med.items()},
        "load_average_1_5_15": load,
        "wall_seconds": round(time.perf_counter() - t_start, 1),
        "torch": torch.__version__,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
