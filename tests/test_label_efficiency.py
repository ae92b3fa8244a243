"""Pre-train -> drop the decoder -> fine-tune: weight transfer, freezing, sampling, the resumable grid, the CLI."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import lightning.pytorch as L
import numpy as np
import pytest
import torch
from PIL import Image

import aekit
from aekit.data import DataModule, DataSplits, open_data
from aekit.data.augment import random_affine
from aekit.data.base import DataError
from aekit.data.images import ArrayDataset
from aekit.data.sampling import RepeatDataset, dataset_labels, sample_per_class, select_confident
from aekit.engine import TrainConfig, fit
from aekit.experiments import label_efficiency as le
from aekit.io import read_checkpoint
from aekit.models.classifier import EncoderClassifier
from aekit.tasks import ClassificationTask, ReconstructionTask, load_task
from aekit.tasks.classification import predict_proba

AE_KW = {"in_channels": 1, "image_size": 16, "latent_dim": 8, "widths": [8, 16], "blocks_per_stage": 1}


def toy_arrays(n: int = 96, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three easy classes of 16x16 images: vertical bar, horizontal bar, filled square, at random offsets."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    x = np.zeros((n, 16, 16), np.float32)
    for i in range(n):
        r, c = rng.integers(2, 6, 2)
        if y[i] == 0:
            x[i, r : r + 8, c + 3 : c + 5] = 1
        elif y[i] == 1:
            x[i, r + 3 : r + 5, c : c + 8] = 1
        else:
            x[i, r : r + 8, c : c + 8] = 0.6
    return np.clip(x + rng.normal(0, 0.05, x.shape), 0, 1).astype(np.float32), y


@pytest.fixture(scope="module")
def toy_npz(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("toy") / "toy.npz"
    x, y = toy_arrays()
    np.savez(path, images=x, labels=y)
    return path


@pytest.fixture(scope="module")
def ae_run(tmp_path_factory: pytest.TempPathFactory, toy_npz: Path) -> Path:
    """A real pre-training run (one short epoch) with best.ckpt and model.safetensors."""
    le.quiet_lightning()
    run = tmp_path_factory.mktemp("pre")
    L.seed_everything(0, verbose=False)
    splits = open_data(f"npy:{toy_npz}")
    task = ReconstructionTask(model="autoencoder", model_kwargs=AE_KW, lr=1e-2)
    fit(task, DataModule(splits, 16), run, TrainConfig(epochs=2, batch_size=16, progress=False))
    return run


def encoder_tensors(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items() if k.startswith(("encoder.", "to_latent."))}


def test_from_autoencoder_loads_the_pretrained_encoder_and_bottleneck(ae_run: Path) -> None:
    ae = aekit.load(ae_run / "best.ckpt")
    clf = EncoderClassifier.from_autoencoder(ae_run / "best.ckpt", num_classes=3, head="mlp")
    ref = encoder_tensors(ae)
    got = encoder_tensors(clf)
    assert set(ref) == set(got) and any(k.startswith("to_latent.") for k in got)
    for k in ref:
        assert torch.equal(ref[k], got[k]), k
    # the classifier's z is the autoencoder's z
    x = torch.rand(4, 1, 16, 16)
    clf.eval()
    assert torch.allclose(clf.encode(x), ae.encode(x), atol=1e-6)
    assert clf(x).shape == (4, 3)
    # and it is a registry model that saves and reloads
    assert clf.aekit_config["name"] == "encoder_classifier"


def test_mismatched_encoder_is_refused(ae_run: Path) -> None:
    clf = aekit.create_model("encoder_classifier", **{**AE_KW, "latent_dim": 5}, num_classes=3)
    with pytest.raises(ValueError, match="does not fit"):
        clf.load_pretrained(ae_run)


def test_frozen_encoder_stays_unchanged_and_full_finetuning_moves_it(ae_run: Path, toy_npz: Path, tmp_path) -> None:
    le.quiet_lightning()
    splits = open_data(f"npy:{toy_npz}")
    ae = aekit.load(ae_run)
    before = encoder_tensors(ae)  # BatchNorm running statistics included
    labeled = torch.utils.data.Subset(splits.train, sample_per_class(dataset_labels(splits.train), 2, 0).tolist())
    cfg = le.FinetuneConfig(mode="probe+full", steps=4, epochs=1, batch_size=8, lr=1e-2, encoder_lr_scale=0.5)
    stages = le.finetune(labeled, tmp_path / "ft", cfg, num_classes=3, pretrained=ae, seed=0)
    (s1, probe), (s2, full) = stages
    assert (s1, s2) == ("probe", "full")
    after_probe = encoder_tensors(probe.model)
    for k in before:
        assert torch.equal(before[k], after_probe[k]), f"frozen {k} changed"
    after_full = encoder_tensors(full.model)
    changed = [k for k in before if "running" not in k and not torch.equal(before[k], after_full[k])]
    assert changed, "full fine-tuning did not update the encoder"
    # encoder_bn=frozen: BatchNorm statistics stay those of pre-training even in full fine-tuning
    for k in before:
        if "running_mean" in k or "running_var" in k:
            assert torch.equal(before[k], after_full[k]), k
    # the final stage is a normal run directory: checkpoint reloads, weights are the final ones
    task = load_task(tmp_path / "ft" / "best.ckpt")
    for k, v in full.model.state_dict().items():
        assert torch.equal(task.model.state_dict()[k], v), k


def test_parameter_groups_give_the_encoder_a_lower_learning_rate() -> None:
    task = ClassificationTask(model_kwargs={**AE_KW, "num_classes": 3}, lr=1e-2, encoder_lr_scale=0.1)
    groups = {g["name"]: g for g in task.parameter_groups()}
    assert groups["encoder"]["lr"] == pytest.approx(1e-3) and groups["head"]["lr"] == pytest.approx(1e-2)
    n_enc = sum(p.numel() for p in groups["encoder"]["params"])
    assert n_enc == sum(p.numel() for k, p in task.model.named_parameters() if k.startswith(("encoder", "to_latent")))
    frozen = ClassificationTask(model_kwargs={**AE_KW, "num_classes": 3, "freeze_encoder": True})
    assert [g["name"] for g in frozen.parameter_groups()] == ["head"]
    # frozen encoder: its BatchNorm layers stay in eval mode even when the model trains
    frozen.model.train()
    bns = [m for m in frozen.model.encoder.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert bns and not any(m.training for m in bns)
    assert frozen.model.head.training


def test_sampler_is_balanced_seed_stable_and_nested() -> None:
    y = np.repeat(np.arange(4), [50, 30, 20, 40])
    np.random.default_rng(1).shuffle(y)
    a = sample_per_class(y, 5, seed=3)
    assert np.bincount(y[a]).tolist() == [5, 5, 5, 5]
    assert np.array_equal(a, sample_per_class(y, 5, seed=3))
    assert not np.array_equal(a, sample_per_class(y, 5, seed=4))
    assert set(a) <= set(sample_per_class(y, 10, seed=3))  # smaller subset inside the larger one
    with pytest.raises(DataError, match="class 2 has only 20"):
        sample_per_class(y, 25, seed=0)


def test_dataset_labels_and_repeat() -> None:
    ds = ArrayDataset(np.zeros((6, 4, 4), np.uint8), [0, 1, 2, 0, 1, 2])
    sub = torch.utils.data.Subset(ds, [1, 2, 5])
    cat = torch.utils.data.ConcatDataset([sub, ds])
    assert dataset_labels(cat).tolist() == [1, 2, 2, 0, 1, 2, 0, 1, 2]
    rep = RepeatDataset(sub, 10)
    assert len(rep) == 10 and int(rep[4]["label"]) == 2


def test_random_affine_keeps_shape_and_is_identity_without_ranges() -> None:
    x = torch.rand(5, 1, 12, 12)
    assert torch.equal(random_affine(x, 0, 0, 0), x)
    y = random_affine(x, 15, 0.1)
    assert y.shape == x.shape and not torch.equal(x, y)
    # a pure shift by whole pixels moves mass, it does not create it
    assert y.sum() <= x.sum() * 1.2


def small_experiment(out: Path, data: Path, **kw) -> le.ExperimentConfig:
    return le.ExperimentConfig(
        data=f"npy:{data}",
        out=out,
        labels_per_class=[1, 3],
        seeds=[0],
        methods=["ae_probe", "scratch", "pca_logreg", "knn_z"],
        ae_kwargs={"latent_dim": 8, "widths": [8, 16]},
        pretrain_epochs=1,
        pretrain_batch_size=32,
        finetune=le.FinetuneConfig(mode="probe", steps=2, epochs=1, batch_size=8),
        **kw,
    )


def test_label_efficiency_resumes_after_being_stopped(tmp_path: Path, toy_npz: Path, monkeypatch) -> None:
    out = tmp_path / "le"
    cfg = small_experiment(out, toy_npz)
    real_save = le.save_cells
    saves: list[int] = []

    def stop_after_three(path: Path, state: dict) -> None:
        real_save(path, state)
        saves.append(len(state["cells"]))
        if len(saves) == 3:
            raise KeyboardInterrupt("stopped midway")

    monkeypatch.setattr(le, "save_cells", stop_after_three)
    with pytest.raises(KeyboardInterrupt):
        le.run_label_efficiency(cfg, log=lambda s: None)
    first = json.loads((out / le.CELLS_NAME).read_text())["cells"]
    assert len(first) == 3

    # rerun: only the 5 missing cells are computed; the pre-trained autoencoder is reused, not retrained
    monkeypatch.setattr(le, "save_cells", lambda p, s: (real_save(p, s), saves.append(len(s["cells"]))))
    pretrain_calls: list[int] = []
    real_pretrain = le.pretrain_autoencoder
    monkeypatch.setattr(le, "pretrain_autoencoder", lambda *a: (pretrain_calls.append(1), real_pretrain(*a))[1])
    saves.clear()
    summary = le.run_label_efficiency(cfg, log=lambda s: None)
    assert saves == [4, 5, 6, 7, 8]
    cells = json.loads((out / le.CELLS_NAME).read_text())["cells"]
    assert len(cells) == 8
    for key, cell in first.items():
        assert cells[key] == cell, f"{key} was recomputed"
    assert set(summary) == {"ae_probe", "scratch", "pca_logreg", "knn_z"}
    assert set(summary["knn_z"]) == {"1", "3"}
    assert (out / "results.md").is_file() and (out / "accuracy_vs_labels.png").is_file()
    assert "pretrain_done.json" in {p.name for p in (out / "pretrain").iterdir()}

    # a third run has nothing left to do; a run with other settings in the same folder is refused
    saves.clear()
    le.run_label_efficiency(cfg, log=lambda s: None)
    assert saves == []
    with pytest.raises(ValueError, match="different settings"):
        le.run_label_efficiency(small_experiment(out, toy_npz, knn_k=3), log=lambda s: None)


@pytest.mark.precision
def test_finetune_cli_writes_a_run_and_metrics(ae_run: Path, toy_npz: Path, tmp_path: Path) -> None:
    from aekit.cli.main import main

    out = tmp_path / "ft"
    argv = [
        "finetune", str(ae_run / "best.ckpt"), "--data", f"npy:{toy_npz}", "--labels-per-class", "2",
        "--steps", "2", "--ft-epochs", "1", "--ft-batch-size", "6", "--mode", "full", "--out", str(out),
    ]  # fmt: skip
    assert main(argv) == 0
    # the run keeps its typed config, the one Python's aekit.recipes.Finetune(...) would be
    from aekit.cli.main import parse_config

    saved = aekit.recipes.load(out / "recipe.yaml")
    assert saved == parse_config(argv) and saved.labels_per_class == 2 and saved.mode == "full"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["stages"][0]["stage"] == "full" and metrics["stages"][0]["n_labeled"] == 6
    assert (out / "best.ckpt").is_file() and (out / "model.safetensors").is_file()
    model = aekit.load(out)
    assert isinstance(model, EncoderClassifier) and model.num_classes == 3
    # aekit evaluate knows classifiers
    rc = main(["evaluate", str(out / "best.ckpt"), "--data", f"npy:{toy_npz}", "--out", str(tmp_path / "ev")])
    assert rc == 0
    # both report this classifier's accuracy on the test split, recomputed here
    probs, y = predict_proba(model, open_data(f"npy:{toy_npz}").test)
    accuracy = float((probs.argmax(1) == y).mean())
    assert metrics["stages"][0]["accuracy"] == pytest.approx(accuracy)
    assert json.loads((tmp_path / "ev" / "metrics.json").read_text())["accuracy"] == pytest.approx(accuracy)
    # aekit predict writes one row per image with this model's class and probability
    images = tmp_path / "imgs" / "a"
    (tmp_path / "imgs" / "b").mkdir(parents=True)
    images.mkdir()
    x, _ = toy_arrays(4, seed=5)
    for i, img in enumerate(x):  # same file names in two sub-folders
        Image.fromarray((img * 255).astype(np.uint8)).save(tmp_path / "imgs" / "ab"[i % 2] / f"{i // 2}.png")
    # at fp32, so the written probability is compared with an fp32 recompute to 1e-5 on every CPU
    argv = ["predict", str(out / "best.ckpt"), "--input", str(tmp_path / "imgs"), "--output", str(tmp_path / "p")]
    assert main([*argv, "--precision", "32"]) == 0
    with open(tmp_path / "p" / "predictions.csv") as f:
        rows = list(csv.DictReader(f))
    assert sorted(r["file"] for r in rows) == ["a/0.png", "a/1.png", "b/0.png", "b/1.png"]
    row = next(r for r in rows if r["file"] == "b/1.png")
    with torch.no_grad():
        p = model.eval()(
            torch.from_numpy(np.asarray(Image.open(tmp_path / "imgs" / "b" / "1.png"), np.float32) / 255)[None, None]
        ).softmax(-1)[0]
    assert int(row["class"]) == int(p.argmax()) and float(row["probability"]) == pytest.approx(float(p.max()), abs=1e-5)
    # too many labels per class is a clear error, not a crash, and leaves no run folder behind
    refused = tmp_path / "refused"
    assert main(["finetune", str(ae_run), "--data", f"npy:{toy_npz}", "--labels-per-class", "500",
                 "--out", str(refused)]) == 2  # fmt: skip
    assert not refused.exists()


def test_finetune_cli_self_trains_on_the_pool_when_asked(ae_run: Path, toy_npz: Path, tmp_path: Path) -> None:
    from aekit.cli.main import main

    out = tmp_path / "ft_st"
    rc = main(
        [
            "finetune", str(ae_run), "--data", f"npy:{toy_npz}", "--labels-per-class", "2", "--steps", "3",
            "--ft-epochs", "1", "--ft-batch-size", "6", "--mode", "full", "--self-train-rounds", "2",
            "--pseudo-fraction", "0.2", "--self-train-steps", "2", "--out", str(out),
        ]
    )  # fmt: skip
    assert rc == 0
    stages = [r["stage"] for r in json.loads((out / "metrics.json").read_text())["stages"]]
    assert stages == ["full", "self_train_round_2"]
    final = out / "self_train" / "round_2"
    assert (final / "best.ckpt").is_file() and isinstance(aekit.load(final), EncoderClassifier)


def test_classification_task_trains_on_a_datamodule(tmp_path: Path) -> None:
    """The task works through the engine with a validation split too (monitor val/loss)."""
    le.quiet_lightning()
    x, y = toy_arrays(48)
    ds = ArrayDataset(x, y)
    splits = DataSplits(ds, ds, None, {})
    task = ClassificationTask(model_kwargs={**AE_KW, "num_classes": 3}, lr=1e-2)
    fit(task, DataModule(splits, 16), tmp_path, TrainConfig(epochs=1, batch_size=16, progress=False))
    assert "val/acc" in (tmp_path / "metrics.csv").read_text()


def test_reconstruction_as_auxiliary_loss_keeps_the_decoder(ae_run: Path, toy_npz: Path, tmp_path: Path) -> None:
    le.quiet_lightning()
    ae = aekit.load(ae_run)
    clf = EncoderClassifier.from_autoencoder(ae, 3, reconstruct=True)
    x = torch.rand(3, 1, 16, 16)
    clf.eval()
    assert torch.allclose(clf.decode(clf.encode(x)), ae(x), atol=1e-6)  # the decoder is the autoencoder's
    splits = open_data(f"npy:{toy_npz}")
    labeled = torch.utils.data.Subset(splits.train, [0, 1, 2])
    unlabeled = le.ImagesOnly(splits.train)
    cfg = le.FinetuneConfig(mode="full", steps=3, epochs=1, batch_size=8, recon_weight=1.0)
    [(stage, task)] = le.finetune(labeled, tmp_path / "aux", cfg, 3, ae, seed=0, unlabeled=unlabeled)
    assert stage == "full" and task.model.reconstruct and task.hparams.recon_weight == 1.0
    log = (tmp_path / "aux" / "metrics.csv").read_text()
    assert "train/recon" in log and "train/acc" in log
    # mixed batches: half of the items are unlabeled (-1) and only feed the reconstruction
    mixed = le.MixedDataset(labeled, unlabeled, 10, seed=0)
    assert [int(mixed[i]["label"]) for i in range(4)][1::2] == [-1, -1]


def test_select_confident_is_balanced_skips_the_labeled_and_ranks_by_confidence() -> None:
    from aekit.data.sampling import Relabeled, select_confident

    probs = np.array(
        [
            [0.9, 0.1],  # 0: class 0, confident
            [0.6, 0.4],  # 1: class 0, unsure
            [0.99, 0.01],  # 2: class 0, most confident but labeled -> skipped
            [0.2, 0.8],  # 3: class 1
            [0.45, 0.55],  # 4: class 1, unsure
            [0.95, 0.05],  # 5: class 0, confident
        ]
    )
    idx, labels = select_confident(probs, per_class=2, exclude=[2])
    assert idx.tolist() == [0, 3, 4, 5] and labels.tolist() == [0, 1, 1, 0]  # 1 (unsure class 0) left out
    idx, labels = select_confident(probs, per_class=1)
    assert idx.tolist() == [2, 3] and labels.tolist() == [0, 1]
    ds = ArrayDataset(np.arange(6 * 16, dtype=np.uint8).reshape(6, 4, 4), [1, 1, 1, 0, 0, 0])
    pseudo = Relabeled(ds, [3, 5], [1, 0])
    assert len(pseudo) == 2 and int(pseudo[0]["label"]) == 1  # the given label, not the dataset's
    assert torch.equal(pseudo[1]["image"], ds[5]["image"])


@pytest.mark.precision
def test_self_training_labels_the_pool_and_retrains_from_the_same_start(
    ae_run: Path, toy_npz: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    le.quiet_lightning()
    ae = aekit.load(ae_run)
    splits = open_data(f"npy:{toy_npz}")
    pool = splits.train
    pool_y = dataset_labels(pool)
    idx = sample_per_class(pool_y, 2, seed=0)
    labeled = torch.utils.data.Subset(pool, idx.tolist())
    cfg = le.FinetuneConfig(mode="full", steps=20, epochs=1, batch_size=16, lr=1e-2, encoder_bn="train")
    [(_, teacher)] = le.finetune(labeled, tmp_path / "teacher", cfg, 3, ae, seed=0)
    starts: list = []
    real_finetune = le.finetune

    def recording_finetune(train, run_dir, cfg, num_classes, pretrained, **kw):  # noqa: ANN001, ANN003, ANN202
        starts.append(pretrained)
        return real_finetune(train, run_dir, cfg, num_classes, pretrained, **kw)

    teacher_probs: list[np.ndarray] = []  # what each round's teacher predicted on the pool

    def recording_predict_proba(model, dataset, *a, **kw):  # noqa: ANN001, ANN002, ANN003, ANN202
        probs, y = predict_proba(model, dataset, *a, **kw)
        teacher_probs.append(probs)
        return probs, y

    monkeypatch.setattr(le, "finetune", recording_finetune)
    monkeypatch.setattr(le, "predict_proba", recording_predict_proba)
    task, rounds = le.self_train(
        teacher.model, labeled, idx, pool, tmp_path / "st", cfg, 3, rounds=2, pseudo_fraction=0.1,
        pretrained=ae, seed=0, pool_labels=pool_y,
    )  # fmt: skip
    assert [r["round"] for r in rounds] == [1, 2]
    per_class = [int(np.ceil(f * len(pool) / 3)) for f in (0.1, 0.2)]  # round r: r * 10 % of the pool
    # how many a round labels depends on how many classes its teacher predicts (a 20-step student may predict
    # one class only); for any training it is per_class <= n <= classes * per_class, and exactly what
    # select_confident takes from that round's teacher's predictions
    assert len(teacher_probs) == 2
    for r, (info, k) in enumerate(zip(rounds, per_class)):
        chosen, labels = select_confident(teacher_probs[r], k, exclude=idx)
        assert k <= info["pseudo_labeled"] == len(chosen) <= 3 * k
        assert info["pseudo_accuracy"] == pytest.approx(float((pool_y[chosen] == labels).mean()), abs=1e-4)
    # round 1's teacher is the fine-tuned teacher itself, scored as it was given
    assert np.allclose(teacher_probs[0], predict_proba(teacher.model, pool)[0], atol=1e-6)
    assert (tmp_path / "st" / "round_2" / "best.ckpt").is_file()
    assert task.hparams.metadata["self_train_round"] == 2
    # every student starts from the autoencoder (a new network), never from the teacher's weights
    assert starts == [ae, ae]


def test_changed_settings_notice_settings_that_no_longer_exist_and_older_protocols(
    tmp_path: Path, toy_npz: Path
) -> None:
    default = {"a": 1, "nested": {"b": 2}}
    assert le._changed_settings({"a": 1}, {"a": 1, "nested": {"b": 2}}, default) == []  # missing = default
    assert le._changed_settings({"a": 1, "gone": 3}, {"a": 1}, default) == ["gone"]
    assert le._changed_settings({"nested": {"b": 2, "old": 0}}, {"nested": {"b": 2}}, default) == ["nested.old"]
    # a cells file written by an older protocol (no "protocol" entry) is not reused
    out = tmp_path / "le"
    out.mkdir()
    cfg = small_experiment(out, toy_npz)
    (out / le.CELLS_NAME).write_text(json.dumps({"config": cfg.fingerprint(), "cells": {}}))
    with pytest.raises(ValueError, match="protocol 1 -> 2"):
        le.run_label_efficiency(cfg, log=lambda s: None)


def test_pretraining_keeps_its_final_weights_and_cells_carry_validation_accuracy(tmp_path: Path, toy_npz: Path) -> None:
    out = tmp_path / "le"
    cfg = small_experiment(out, toy_npz)
    summary = le.run_label_efficiency(cfg, log=lambda s: None)
    pre = out / "pretrain"
    # no validation loop on pool images: best.ckpt holds the last epoch's weights
    best, last = read_checkpoint(pre / "best.ckpt"), read_checkpoint(pre / "last.ckpt")
    for k in last["state_dict"]:
        torch.testing.assert_close(best["state_dict"][k], last["state_dict"][k])
    assert "val/loss" not in (pre / "metrics.csv").read_text()
    splits = open_data(f"npy:{toy_npz}")
    cells = json.loads((out / le.CELLS_NAME).read_text())["cells"]
    cell = cells[le.cell_key("pca_logreg", 1, 0)]
    assert len(splits.val) > 0 and "val_accuracy" in cell
    for by_k in summary.values():
        assert all("val_mean" in v for v in by_k.values())
