"""DDP with the gloo backend on CPU: two processes train one model, each on its own half of the data, and end
with the same weights."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import TINY_AE

SCRIPT = '''
import sys, torch, lightning.pytorch as L
from aekit.data import DataModule, open_data
from aekit.engine import TrainConfig, fit
from aekit.tasks import ReconstructionTask

class Record(L.Callback):
    """Every training image this rank sees (by its pixel sum), and the weights it ends with."""
    def __init__(self):
        self.seen = []
    def on_train_batch_start(self, trainer, module, batch, batch_idx):
        self.seen += [round(float(x.sum()), 3) for x in batch["image"]]
    def on_train_end(self, trainer, module):
        state = {k: v.detach().clone() for k, v in module.state_dict().items()}
        torch.save({"seen": self.seen, "state": state}, f"{sys.argv[2]}/rank{trainer.global_rank}.pt")

L.seed_everything(0)
splits = open_data(f"npy:{sys.argv[1]}")
task = ReconstructionTask(model_kwargs={"in_channels": 1, "image_size": 16, "latent_dim": 4, "widths": [8, 16]})
cfg = TrainConfig(epochs=2, batch_size=8, accelerator="cpu", devices=2, strategy="ddp", progress=False)
fit(task, DataModule(splits, 8), sys.argv[2] + "/run", cfg, extra_callbacks=[Record()])
'''


@pytest.mark.slow
def test_ddp_ranks_split_the_data_and_keep_the_weights_in_sync(npy_file: Path, tmp_path: Path) -> None:
    script = tmp_path / "ddp_run.py"
    script.write_text(SCRIPT)
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(
        [sys.executable, str(script), str(npy_file), str(tmp_path)], capture_output=True, text=True, env=env,
        timeout=600, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    from aekit.data import open_data

    train = open_data(f"npy:{npy_file}").train
    every = {round(float(train[i]["image"].sum()), 3) for i in range(len(train))}
    per_epoch = len(r0["seen"]) // 2
    assert len(r1["seen"]) == 2 * per_epoch and per_epoch >= (len(train) // 2) - 8  # half each (last batch dropped)
    for epoch in range(2):
        a = set(r0["seen"][epoch * per_epoch : (epoch + 1) * per_epoch])
        b = set(r1["seen"][epoch * per_epoch : (epoch + 1) * per_epoch])
        assert len(a) == len(b) == per_epoch and not a & b  # the ranks see different images
        assert a | b <= every  # all of them training images
    assert r0["state"].keys() == r1["state"].keys()
    for k in r0["state"]:  # gradients are all-reduced: both ranks hold the same weights
        torch.testing.assert_close(r0["state"][k], r1["state"][k], msg=k)


@pytest.mark.slow
def test_two_process_ddp_through_the_cli(npy_file, tmp_path):
    run = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "aekit", "train", "ae", "--data", f"npy:{npy_file}", "--epochs", "1",
           "--accelerator", "cpu", "--devices", "2", "--strategy", "ddp", "--out", str(run), *TINY_AE]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (run / "model.safetensors").is_file()
    assert json.loads((run / "model.json").read_text())["name"] == "autoencoder"
    # two ranks ran: each trained on its half of the training split, so the epoch took half the optimizer steps
    train = len(json.loads((run / "splits.json").read_text())["train"])
    steps = torch.load(run / "last.ckpt", weights_only=True, map_location="cpu")["global_step"]
    per_rank = math.ceil(train / 2)  # DistributedSampler pads to equal halves; the last partial batch is dropped
    assert steps == per_rank // 16 and steps != train // 16, (steps, train)
