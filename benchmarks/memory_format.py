"""Training step time in channels_last against the default (contiguous, NCHW) memory format.

Why: ``TrainConfig.channels_last=None`` turns channels_last on only with the bf16 fast path. This script is
the evidence for that choice on the machine at hand: for each model (the CamVid benchmark's configurations
and the default autoencoder) it times full training steps (forward, cross-entropy or MSE, backward, AdamW)
at the given precision in both formats, interleaved (contiguous, channels_last, contiguous, ... in every
round) because the machine is shared. Each number is seconds per step over the timed steps only.

    PYTHONPATH=src AEKIT_THREADS=1 python benchmarks/memory_format.py --rounds 3 --steps 4
    PYTHONPATH=src python benchmarks/memory_format.py --precision bf16-mixed     # on a bf16 machine

``--smoke``: tiny images, one round of two steps (seconds), to check the script runs.
Last line: one JSON object; ``speedup`` per model = contiguous s/step / channels_last s/step (median over
rounds of the ratio within each round); above 1 means channels_last is faster.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

import aekit.models  # noqa: F401  (registers the models)
from aekit.engine import resolve_precision, set_threads
from aekit.registry import create_model

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling benchmark's model configurations
from camvid import CONFIGS  # noqa: E402


def models(size: tuple[int, int]) -> dict[str, tuple[str, dict, str]]:
    """name -> (registered model, kwargs, objective): CamVid's segmentation models and the default AE."""
    out = {name: (model, {"in_channels": 3, "out_channels": 11, **kw}, "ce") for name, (model, kw) in CONFIGS.items()}
    out["autoencoder"] = ("autoencoder", {"in_channels": 3, "image_size": list(size)}, "mse")
    return out


def step_seconds(spec: tuple[str, dict, str], channels_last: bool, precision: str,
                 size: tuple[int, int], batch: int, steps: int, warmup: int) -> float:  # fmt: skip
    model_name, kwargs, objective = spec
    torch.manual_seed(0)
    model = create_model(model_name, **kwargs)
    x = torch.rand(batch, 3, *size)
    y = torch.randint(0, 11, (batch, *size))
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    bf16 = precision.startswith("bf16")
    for i in range(warmup + steps):
        if i == warmup:
            t0 = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = model(x)
            out = out[0] if isinstance(out, (tuple, list)) else out
            loss = F.cross_entropy(out.float(), y) if objective == "ce" else F.mse_loss(out.float(), x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return (time.perf_counter() - t0) / steps


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default="unet_small,segnet_basic,autoencoder", help="comma list")
    p.add_argument("--precision", default="32", help="32 or bf16-mixed ('auto': this machine's fast path)")
    p.add_argument("--size", default="180,240", help="image height,width")
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--steps", type=int, default=4, help="timed steps per measurement")
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--smoke", action="store_true", help="tiny images, one round of two steps")
    a = p.parse_args(argv)
    set_threads()
    size = tuple(int(s) for s in a.size.split(","))
    if a.smoke:
        size, a.rounds, a.steps, a.warmup = (32, 48), 1, 2, 0
    precision = resolve_precision(a.precision)
    specs = models(size)
    unknown = [m for m in a.models.split(",") if m not in specs]
    if unknown:
        raise SystemExit(f"--models: unknown {', '.join(unknown)}; choose from {', '.join(specs)}")
    result: dict = {"precision": precision, "size": list(size), "batch_size": a.batch_size,
                    "threads": torch.get_num_threads(), "models": {}}  # fmt: skip
    for name in a.models.split(","):
        rows = {"contiguous": [], "channels_last": []}
        for _ in range(a.rounds):
            for fmt in rows:
                rows[fmt].append(step_seconds(specs[name], fmt == "channels_last", precision, size,
                                              a.batch_size, a.steps, a.warmup))  # fmt: skip
        ratios = [c / cl for c, cl in zip(rows["contiguous"], rows["channels_last"], strict=True)]
        result["models"][name] = {
            "s_per_step": {fmt: round(statistics.median(v), 4) for fmt, v in rows.items()},
            "speedup": round(statistics.median(ratios), 3),
        }
        print(json.dumps({name: result["models"][name]}), flush=True)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
