"""Segmentation inference speed: U-Net and SegNet on 256x256 RGB images, eager fp32 against faster settings.

Settings measured in one run, on the same machine and thread count (ratios are against eager fp32):

- ``eager``: fp32, contiguous NCHW (the reference)
- ``channels_last``: NHWC memory format (oneDNN's preferred layout)
- ``bf16``: ``torch.autocast("cpu", bfloat16)`` (AMX/AVX512-BF16 CPUs)
- ``bf16_channels_last``: both
- ``compile``: ``torch.compile`` (inductor) on the fp32 channels_last model, if it works here

Outputs of every setting are compared with eager (argmax agreement) so a fast but wrong setting shows.

    python benchmarks/seg_inference.py --models unet,segnet_basic,segnet --batch 4

``--smoke``: U-Net at 64x64, batch 1, one repetition, no compile (seconds), to check the script runs.
The last line printed is JSON: ``{model: {setting: {images_per_s, ratio, agreement}}}``.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import torch

import aekit

MODELS = {"unet": {"widths": [32, 64, 128, 256]}, "segnet_basic": {}, "segnet": {}, "fcn8s": {}}


def bf16(model: torch.nn.Module):
    """The model under CPU bf16 autocast, returning fp32 logits."""

    def run(batch: torch.Tensor) -> torch.Tensor:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return model(batch).float()

    return run


def timed(fn, x: torch.Tensor, reps: int) -> tuple[float, torch.Tensor]:
    """Median seconds per call after one warm-up call, and the output."""
    with torch.inference_mode():
        out = fn(x)
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            out = fn(x)
            times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2], out


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default="unet,segnet_basic,segnet")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--classes", type=int, default=11)
    p.add_argument("--no-compile", action="store_true")
    p.add_argument("--no-bf16", action="store_true", help="skip the bf16 settings (CPUs without bf16 instructions)")
    p.add_argument("--smoke", action="store_true", help="U-Net, 64x64, batch 1, one repetition, no compile")
    a = p.parse_args(argv)
    if a.smoke:
        a.models, a.size, a.batch, a.reps, a.no_compile = "unet", 64, 1, 1, True
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    x = torch.rand(a.batch, 3, a.size, a.size)
    results: dict[str, dict] = {}
    for name in [m for m in a.models.split(",") if m]:
        model = aekit.create_model(name, in_channels=3, out_channels=a.classes, **MODELS.get(name, {})).eval()
        model_cl = aekit.create_model(name, in_channels=3, out_channels=a.classes, **MODELS.get(name, {})).eval()
        model_cl.load_state_dict(model.state_dict())
        model_cl = model_cl.to(memory_format=torch.channels_last)
        x_cl = x.contiguous(memory_format=torch.channels_last)

        settings = {"eager": (model, x), "channels_last": (model_cl, x_cl)}
        if not (a.smoke or a.no_bf16):  # bf16 is emulated (very slow) on CPUs without bf16 instructions (AVX2)
            settings |= {"bf16": (bf16(model), x), "bf16_channels_last": (bf16(model_cl), x_cl)}
        if not a.no_compile:
            try:
                compiled = torch.compile(model_cl)
                timed(compiled, x_cl, 1)  # compile now, so a failure is caught here
                settings["compile"] = (compiled, x_cl)
            except Exception as exc:  # no C++ compiler, unsupported op, ...
                results.setdefault(name, {})["compile"] = {"error": f"{exc.__class__.__name__}: {str(exc)[:120]}"}
        ref_pred = None
        base = None
        for setting, (fn, inp) in settings.items():
            sec, out = timed(fn, inp, a.reps)
            pred = out.argmax(1)
            ref_pred = pred if ref_pred is None else ref_pred
            ips = a.batch / sec
            base = ips if base is None else base
            results.setdefault(name, {})[setting] = {
                "images_per_s": round(ips, 2),
                "ratio": round(ips / base, 2),
                "agreement": round(float((pred == ref_pred).float().mean()), 4),
            }
            print(name, setting, results[name][setting], flush=True)
        results[name]["params"] = sum(p.numel() for p in model.parameters())
    results["setup"] = {
        "size": a.size,
        "batch": a.batch,
        "threads": a.threads,
        "torch": torch.__version__,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "load_average": [round(v, 2) for v in os.getloadavg()],
    }
    print(json.dumps(results))
    return results


if __name__ == "__main__":
    main()
