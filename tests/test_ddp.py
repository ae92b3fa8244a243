"""DDP with the gloo backend on CPU: two processes train one model."""

import json
import os
import subprocess
import sys

from conftest import TINY_AE


def test_two_process_ddp_on_cpu(npy_file, tmp_path):
    run = tmp_path / "ddp"
    cmd = [
        sys.executable,
        "-m",
        "aekit",
        "train",
        "ae",
        "--data",
        f"npy:{npy_file}",
        "--epochs",
        "1",
        "--accelerator",
        "cpu",
        "--devices",
        "2",
        "--strategy",
        "ddp",
        "--out",
        str(run),
        *TINY_AE,
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "world_size=2" in (proc.stdout + proc.stderr) or "distributed_backend=gloo" in (proc.stdout + proc.stderr)
    assert (run / "model.safetensors").is_file()
    assert json.loads((run / "model.json").read_text())["name"] == "autoencoder"
