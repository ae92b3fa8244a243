"""End to end through Lightning: train, evaluate, reload, resume, config round trip, CLI errors."""

import json
import subprocess
import sys

import lightning.pytorch as L
import numpy as np
import pytest
import torch
import yaml
from conftest import TINY_AE
from PIL import Image
from safetensors.torch import load_file
from sklearn.decomposition import PCA

import aekit
from aekit.data import DataModule, open_data
from aekit.data.base import DataSplits
from aekit.engine import TrainConfig, fit
from aekit.io import read_checkpoint
from aekit.tasks import ReconstructionTask, load_task


def test_train_evaluate_reload_round_trip(run_cli, npy_file, tmp_path):
    run = tmp_path / "run"
    assert run_cli("train", "ae", "--data", f"npy:{npy_file}", "--epochs", "2", "--out", run, *TINY_AE) == 0
    for name in ("config.yaml", "metrics.csv", "best.ckpt", "last.ckpt", "model.safetensors", "model.json"):
        assert (run / name).is_file(), name
    model = aekit.load(run)
    ckpt_model = aekit.load(run / "best.ckpt")
    x = torch.rand(2, 1, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(model(x), ckpt_model(x))
    assert json.loads((run / "model.json").read_text())["metadata"]["task"] == "reconstruction"

    assert run_cli("evaluate", run / "best.ckpt", "--data", f"npy:{npy_file}", "--out", tmp_path / "ev") == 0
    metrics = json.loads((tmp_path / "ev" / "metrics_test.json").read_text())["results"]
    assert metrics["autoencoder"]["latent_dim"] == metrics["pca"]["latent_dim"] == 4
    # the reported errors are those of this model and of a 4-component PCA on this split, recomputed here
    splits = open_data(f"npy:{npy_file}")  # the split evaluate makes (seed 0)
    x_train = torch.stack([splits.train[i]["image"] for i in range(len(splits.train))]).flatten(1).numpy()
    x_test = torch.stack([splits.test[i]["image"] for i in range(len(splits.test))])
    with torch.no_grad():
        ae_mse = float(((model.eval()(x_test) - x_test) ** 2).mean())
    flat = x_test.flatten(1).numpy()
    pca = PCA(n_components=4).fit(x_train)
    pca_mse = float(((np.clip(pca.inverse_transform(pca.transform(flat)), 0, 1) - flat) ** 2).mean())
    assert metrics["autoencoder"]["mse"] == pytest.approx(ae_mse, rel=1e-4)
    assert metrics["pca"]["mse"] == pytest.approx(pca_mse, rel=1e-3)

    assert run_cli("embed", run, "--data", f"npy:{npy_file}", "--out", tmp_path / "emb.png") == 0
    assert (tmp_path / "emb.png").stat().st_size > 1000


def test_training_reduces_the_loss(npy_file, tmp_path):
    L.seed_everything(0)
    splits = open_data(f"npy:{npy_file}")
    kwargs = {"in_channels": 1, "image_size": 16, "latent_dim": 8, "widths": [8, 16]}
    task = ReconstructionTask(model_kwargs=kwargs, lr=1e-2)
    before = _val_loss(task, splits)
    fit(task, DataModule(splits, 16), tmp_path, TrainConfig(epochs=6, progress=False))
    assert _val_loss(task, splits) < 0.5 * before


def _val_loss(task, splits) -> float:
    task.eval()
    x = torch.stack([splits.val[i]["image"] for i in range(len(splits.val))])
    with torch.no_grad():
        return float(task.loss_fn(task.model(x), x))


class _Interrupt(L.Callback):
    """Kills the run at the start of an epoch, as a crash or Ctrl-C would."""

    def __init__(self, at_epoch: int) -> None:
        self.at_epoch = at_epoch

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        if trainer.current_epoch == self.at_epoch:
            raise RuntimeError("simulated crash")


def _run(run_dir, npy_file, resume=None, interrupt_at=None):
    L.seed_everything(3)
    splits = open_data(f"npy:{npy_file}")
    kwargs = {"in_channels": 1, "image_size": 16, "latent_dim": 4, "widths": [8, 16]}
    task = ReconstructionTask(model_kwargs=kwargs, lr=1e-2, input_noise=0.0)
    callbacks = [_Interrupt(interrupt_at)] if interrupt_at is not None else None
    return fit(
        task,
        DataModule(splits, 16, seed=3),
        run_dir,
        TrainConfig(epochs=4, seed=3, progress=False, deterministic=True),  # CUDA convs: deterministic kernels
        resume=resume,
        extra_callbacks=callbacks,
    )


def test_resume_after_a_crash_gives_the_same_weights(npy_file, tmp_path):
    _run(tmp_path / "straight", npy_file)
    with pytest.raises(RuntimeError, match="simulated crash"):
        _run(tmp_path / "crashed", npy_file, interrupt_at=2)
    assert read_checkpoint(tmp_path / "crashed" / "last.ckpt")["epoch"] == 1
    _run(tmp_path / "crashed", npy_file, resume=True)
    a = read_checkpoint(tmp_path / "straight" / "last.ckpt")["state_dict"]
    b = read_checkpoint(tmp_path / "crashed" / "last.ckpt")["state_dict"]
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-5, atol=1e-6, msg=k)


def test_config_yaml_reloads_as_defaults(run_cli, npy_file, tmp_path):
    first = tmp_path / "first"
    assert run_cli(
        "train", "ae", "--data", f"npy:{npy_file}", "--epochs", "1", "--out", first, *TINY_AE, "--upsample", "bicubic",
        "--residual-blocks", "1", "--act", "silu",
    ) == 0  # fmt: skip
    cfg = yaml.safe_load((first / "config.yaml").read_text())
    assert cfg["args"]["upsample"] == "bicubic" and cfg["task"]["model_kwargs"]["latent_dim"] == 4
    second = tmp_path / "second"
    assert run_cli("train", "ae", "--config", first / "config.yaml", "--out", second, "--latent-dim", "3") == 0
    kwargs = json.loads((second / "model.json").read_text())["kwargs"]
    assert kwargs["upsample"] == "bicubic" and kwargs["latent_dim"] == 3 and kwargs["widths"] == [8, 16]
    assert kwargs["residual_blocks"] == 1 and kwargs["act"] == "silu"


def test_checkpoints_are_plain_data_and_load_without_pickles(run_cli, npy_file, tmp_path):
    assert run_cli("train", "ae", "--data", f"npy:{npy_file}", "--epochs", "1", "--out", tmp_path, *TINY_AE) == 0
    ckpt = torch.load(tmp_path / "best.ckpt", weights_only=True)
    assert ckpt["aekit_task"] == "reconstruction"
    task = load_task(tmp_path / "best.ckpt")
    weights = load_file(str(tmp_path / "model.safetensors"))
    torch.testing.assert_close(weights["head.weight"], task.model.head.weight)


@pytest.mark.slow
@pytest.mark.parametrize(
    "argv,message",
    [
        (["train", "ae", "--data", "folder:/no/such/folder"], "does not exist"),
        (["train", "ae", "--data", "mnist5k", "--upsample", "max_unpool"], "max_unpool"),
        (["train", "ae", "--data", "mnist5k", "--upsample", "sideways"], "unknown upsample mode"),
        (["train", "ae", "--data", "mnist5k", "--precision", "8"], "--precision"),
        (["evaluate", "/no/such.ckpt", "--data", "mnist5k"], "does not exist"),
    ],
)
def test_bad_input_gives_one_clear_line(run_cli, capsys, tmp_path, argv, message):
    assert run_cli(*argv, *(["--out", tmp_path / "r", "--no-progress"] if argv[0] == "train" else [])) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_corrupt_checkpoint_is_refused(tmp_path, run_cli, capsys):
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(b"not a checkpoint")
    assert run_cli("evaluate", bad, "--data", "mnist5k") == 2
    assert "weights_only" in capsys.readouterr().err


@pytest.mark.slow
def test_help_lists_commands():
    out = subprocess.run([sys.executable, "-m", "aekit", "--help"], capture_output=True, text=True, check=True).stdout
    for cmd in ("train", "evaluate", "predict", "embed", "demo", "models"):
        assert cmd in out
    out = subprocess.run(
        [sys.executable, "-m", "aekit", "train", "ae", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "--latent-dim" in out and "--resume" in out and "--precision" in out


def test_predict_writes_one_reconstruction_per_input(run_cli, image_folder, tmp_path):
    run = tmp_path / "run"
    assert run_cli("train", "ae", "--data", f"folder:{image_folder}", "--epochs", "1", "--out", run, *TINY_AE) == 0
    out = tmp_path / "recon"
    assert run_cli("predict", run / "best.ckpt", "--input", image_folder, "--output", out) == 0
    inputs = sorted(p.relative_to(image_folder) for p in image_folder.rglob("*.png"))
    assert sorted(p.relative_to(out) for p in out.rglob("*.png")) == inputs  # sub/img_001.png -> out/sub/...
    model = aekit.load(run / "best.ckpt").eval()
    x = torch.from_numpy(np.asarray(Image.open(image_folder / "sub" / "img_001.png"), np.float32) / 255)[None, None]
    with torch.no_grad():
        expected = (model(x)[0, 0].numpy() * 255).round()
    written = np.asarray(Image.open(out / "sub" / "img_001.png"), np.float32)
    assert np.abs(written - expected).max() <= 1  # the file is this model's reconstruction of that input
    assert run_cli("predict", run / "best.ckpt", "--input", image_folder, "--output", image_folder / "x") == 2


def test_bf16_mixed_precision_trains(run_cli, npy_file, tmp_path):
    run = tmp_path / "bf16"
    assert (
        run_cli(
            "train",
            "ae",
            "--data",
            f"npy:{npy_file}",
            "--epochs",
            "1",
            "--precision",
            "bf16-mixed",
            "--out",
            run,
            *TINY_AE,
        )
        == 0
    )
    ckpt = read_checkpoint(run / "last.ckpt")
    assert all(torch.isfinite(v).all() for v in ckpt["state_dict"].values() if v.is_floating_point())


def test_early_stopping_stops_before_max_epochs(npy_file, tmp_path):
    L.seed_everything(0)
    splits = open_data(f"npy:{npy_file}")
    task = ReconstructionTask(
        model_kwargs={"in_channels": 1, "image_size": 16, "latent_dim": 4, "widths": [8, 16], "norm": "none"},
        lr=0.0,
        scheduler="none",
    )  # lr 0 and no BatchNorm statistics to drift: the validation loss never changes
    result = fit(task, DataModule(splits, 16), tmp_path, TrainConfig(epochs=20, patience=2, progress=False))
    # epoch 0 sets the best loss; epochs 1 and 2 do not improve it; patience 2 stops after epoch 2
    assert result.trainer.current_epoch == 3


def test_without_a_val_split_the_last_epoch_is_the_checkpoint(npy_file, tmp_path):
    """A refit on every item: nothing to validate on, so no val/* monitor (Lightning warns or fails on it) and
    no early stopping; best.ckpt holds the newest epoch and decisions.json says so."""
    L.seed_everything(0)
    full = open_data(f"npy:{npy_file}")
    splits = DataSplits(full.train, None, None, full.info)
    task = ReconstructionTask(model_kwargs={"in_channels": 1, "image_size": 16, "latent_dim": 4, "widths": [8]})
    result = fit(task, DataModule(splits, 16), tmp_path, TrainConfig(epochs=3, patience=1, progress=False))
    assert result.trainer.current_epoch == 3  # patience 1 on a val loss that does not exist would stop or fail
    assert read_checkpoint(result.best_checkpoint)["epoch"] == read_checkpoint(result.last_checkpoint)["epoch"] == 2
    assert "last epoch" in json.loads((tmp_path / "decisions.json").read_text())["checkpoint"]


def test_time_budget_anneals_and_stops_without_overrunning_the_schedule(npy_file, tmp_path):
    """A budget that runs out mid-epoch pushes one-cycle to its end; the rest of the epoch must not overrun."""
    L.seed_everything(0)
    splits = open_data(f"npy:{npy_file}")
    task = ReconstructionTask(model_kwargs={"in_channels": 1, "image_size": 16, "latent_dim": 4, "widths": [8, 16]})
    cfg = TrainConfig(epochs=50, batch_size=4, max_time_minutes=0.02, time_schedule=True, progress=False)
    result = fit(task, DataModule(splits, 4), tmp_path, cfg)
    assert result.trainer.current_epoch < 50
    sched = result.trainer.lr_scheduler_configs[0].scheduler
    assert sched.last_epoch <= sched.total_steps
    assert sched.get_last_lr()[0] < 0.01 * task.hparams.lr  # annealed, not cut off at the peak


def test_resume_through_the_cli_gives_the_weights_of_an_uninterrupted_run(run_cli, npy_file, tmp_path, monkeypatch):
    argv = ["train", "ae", "--data", f"npy:{npy_file}", "--epochs", "3", "--seed", "5", "--deterministic", *TINY_AE]
    assert run_cli(*argv, "--out", tmp_path / "straight") == 0

    def crash(self, *args) -> None:  # noqa: ANN001
        if self.trainer.current_epoch == 2:
            raise RuntimeError("simulated crash")

    with monkeypatch.context() as m:
        m.setattr(ReconstructionTask, "on_train_epoch_start", crash, raising=False)
        with pytest.raises(RuntimeError, match="simulated crash"):
            run_cli(*argv, "--out", tmp_path / "crashed")
    assert read_checkpoint(tmp_path / "crashed" / "last.ckpt")["epoch"] == 1
    config = tmp_path / "crashed" / "config.yaml"
    assert run_cli("train", "ae", "--config", config, "--resume", "--out", tmp_path / "crashed", "--no-progress") == 0
    a = read_checkpoint(tmp_path / "straight" / "last.ckpt")
    b = read_checkpoint(tmp_path / "crashed" / "last.ckpt")
    assert a["epoch"] == b["epoch"] == 2
    for k in a["state_dict"]:
        torch.testing.assert_close(a["state_dict"][k], b["state_dict"][k], rtol=1e-5, atol=1e-6, msg=k)


def test_a_deterministic_run_leaves_the_process_as_it_found_it(npy_file, tmp_path):
    assert not torch.are_deterministic_algorithms_enabled()
    with pytest.raises(RuntimeError, match="simulated crash"):
        _run(tmp_path / "crashed", npy_file, interrupt_at=1)  # deterministic=True, ends by an exception
    assert not torch.are_deterministic_algorithms_enabled()
    _run(tmp_path / "finished", npy_file)
    assert not torch.are_deterministic_algorithms_enabled()


def test_normalised_inputs_are_scored_unclipped():
    """Mean/std-normalised inputs (encoder pre-training for segmentation) leave [0, 1]: with
    ``value_range=None`` a perfect reconstruction scores MSE 0, as its loss says; clipped to the default
    (0, 1) it would not."""
    torch.manual_seed(0)
    images = [{"image": 2.0 * torch.randn(3, 16, 16)} for _ in range(8)]
    loader = torch.utils.data.DataLoader(images, batch_size=4)
    kwargs = {"in_channels": 3, "image_size": 16, "latent_dim": 8, "widths": [8, 16]}
    trainer = L.Trainer(logger=False, enable_progress_bar=False, enable_model_summary=False, accelerator="cpu")
    scores = {}
    for name, value_range in (("unbounded", None), ("clipped", (0.0, 1.0))):
        task = ReconstructionTask(model_kwargs=kwargs, value_range=value_range)
        task.model = torch.nn.Identity()  # a perfect reconstruction
        scores[name] = trainer.validate(task, loader, verbose=False)[0]
    assert "val/psnr" not in scores["unbounded"] and "val/psnr" in scores["clipped"]
    assert scores["unbounded"]["val/loss"] == 0 and scores["unbounded"]["val/mse"] == 0
    assert scores["clipped"]["val/loss"] == 0 and scores["clipped"]["val/mse"] > 1.0
