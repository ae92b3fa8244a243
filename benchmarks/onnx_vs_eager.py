"""ONNX Runtime vs PyTorch eager on CPU: the registered ``unet`` at 256x256, images per second, in one run.

Both run the same weights, the same input and the same thread count, alternating rounds so that a
change in machine load hits both alike; the ONNX file is made by ``aekit.exporters.export_onnx`` (which
also checks that its output matches PyTorch's).

    python benchmarks/onnx_vs_eager.py --size 256 --batch 1 --rounds 5 --iters 5

``--smoke``: a narrow model at 64x64, one round of one pass (seconds), to check the script runs.
Last line of output: JSON with ``eager_images_per_s``, ``onnx_images_per_s`` and ``onnx_over_eager``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import onnxruntime as ort
import torch

import aekit
from aekit.exporters import export_onnx


def timed(fn, iters: int) -> float:
    t = time.perf_counter()
    for _ in range(iters):
        fn()
    return (time.perf_counter() - t) / iters


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="unet")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--threads", type=int, default=1, help="same for both; 1 is steadiest on a shared machine")
    p.add_argument("--rounds", type=int, default=5, help="alternating eager/ONNX rounds")
    p.add_argument("--iters", type=int, default=5, help="forward passes per round")
    p.add_argument("--smoke", action="store_true", help="64x64, one round of one pass (seconds)")
    args = p.parse_args(argv)
    if args.smoke:
        args.size, args.rounds, args.iters = 64, 1, 1
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = aekit.create_model(args.model, **({"widths": [8, 16]} if args.smoke else {})).eval()
    x = torch.rand(args.batch, 3, args.size, args.size)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.onnx"
        check = export_onnx(model, path, x)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = args.threads
        opts.inter_op_num_threads = 1
        session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    feed = {session.get_inputs()[0].name: x.numpy()}

    def eager() -> None:
        with torch.inference_mode():
            model(x)

    def onnx() -> None:
        session.run(None, feed)

    eager(), onnx()  # warm-up
    t_eager, t_onnx = [], []
    for _ in range(args.rounds):
        t_eager.append(timed(eager, args.iters))
        t_onnx.append(timed(onnx, args.iters))
    e, o = statistics.median(t_eager), statistics.median(t_onnx)
    result = {
        "model": args.model,
        "input": [args.batch, 3, args.size, args.size],
        "threads": args.threads,
        "eager_images_per_s": round(args.batch / e, 3),
        "onnx_images_per_s": round(args.batch / o, 3),
        "onnx_over_eager": round(e / o, 3),
        "max_abs_diff": check.max_abs_diff,
        "torch": torch.__version__,
        "onnxruntime": ort.__version__,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
    }
    print(f"eager {e * 1000:.1f} ms/batch, onnxruntime {o * 1000:.1f} ms/batch (medians of {args.rounds} rounds)")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
