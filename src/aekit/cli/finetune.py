"""CLI for few-label learning: ``aekit finetune`` and ``aekit label-efficiency`` (evaluate/predict of
classifiers: aekit.inference.classification)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from aekit.cli.common import add_option_once, command
from aekit.cli.reconstruction import int_list
from aekit.inference.base import write_json
from aekit.report import markdown_table

DATA_HELP = (
    "mnist:FOLDER (IDX), mnist5k, npy:FILE.npz (images+labels), dicom:FOLDER, nifti:FOLDER, image16:FOLDER "
    "(16-bit PNG/TIFF); medical kinds take --labels/--target"
)


def add_labeled_data_arguments(p: argparse.ArgumentParser) -> None:
    """Data flags shared by finetune, label-efficiency and evaluate (medical ones ignored by other kinds)."""
    add_option_once(p, "--image-size", default=None, help="resize images to N or H,W (default: the autoencoder's)")
    add_option_once(p, "--labels", default=None, help="CSV with one row per file: file,<target>,patient_id")
    add_option_once(p, "--target", default=None, help="CSV column holding the class (e.g. contrast)")
    add_option_once(
        p, "--window", default=None, help="CT window: lung, mediastinum, soft_tissue, bone, full or C,W (HU)"
    )
    add_option_once(p, "--axis", type=int, default=None, help="NIfTI: slice along this axis (default 2)")
    add_option_once(p, "--test-images", default=None, help="MNIST: IDX test images by path")
    add_option_once(p, "--test-labels", default=None, help="MNIST: IDX test labels by path")
    add_option_once(p, "--split-seed", type=int, default=0, help="seed of the train/val/test split (by patient)")


def data_options(args: argparse.Namespace, image_size: Any = None) -> dict[str, Any]:
    return {
        "image_size": args.image_size or image_size,
        "labels": args.labels,
        "target": args.target,
        "window": args.window,
        "axis": args.axis,
        "test_images": args.test_images,
        "test_labels": args.test_labels,
        "seed": args.split_seed,
    }


def add_finetune_arguments(p: argparse.ArgumentParser) -> None:
    from aekit.experiments.label_efficiency import FINETUNE_MODES, FinetuneConfig

    d = FinetuneConfig()
    g = p.add_argument_group("fine-tuning")
    g.add_argument("--mode", default=d.mode, choices=FINETUNE_MODES, help="probe = frozen encoder (linear probe)")
    g.add_argument("--head", default=d.head, choices=["linear", "mlp"])
    g.add_argument("--steps", type=int, default=d.steps, help="optimiser steps per stage")
    g.add_argument("--ft-epochs", type=int, default=d.epochs, help="the steps are spread over this many epochs")
    g.add_argument("--ft-batch-size", type=int, default=d.batch_size)
    g.add_argument("--lr", type=float, default=d.lr, help="head learning rate (peak of one-cycle)")
    g.add_argument("--encoder-lr-scale", type=float, default=d.encoder_lr_scale, help="encoder lr = lr * this")
    g.add_argument("--weight-decay", type=float, default=d.weight_decay)
    g.add_argument("--no-augment", action="store_true", help="no random shifts/rotations of the labeled images")
    g.add_argument("--max-shift", type=float, default=d.max_shift, help="augmentation: shift, fraction of size")
    g.add_argument("--max-rotation", type=float, default=d.max_rotation, help="augmentation: rotation, degrees")
    g.add_argument(
        "--encoder-bn",
        default=d.encoder_bn,
        choices=["frozen", "train"],
        help="frozen: encoder BatchNorm keeps the pre-training statistics (eval mode) while fine-tuning",
    )
    g.add_argument("--dropout", type=float, default=d.dropout)
    g.add_argument("--label-smoothing", type=float, default=d.label_smoothing)
    g.add_argument(
        "--recon-weight",
        type=float,
        default=d.recon_weight,
        help="reconstruction as an auxiliary loss on the unlabeled pool during full fine-tuning (e.g. 1.0)",
    )
    g.add_argument("--accelerator", default="auto")
    g.add_argument("--precision", default="32")


def add_self_train_arguments(p: argparse.ArgumentParser, title: str, rounds: int) -> None:
    """Self-training on the unlabeled pool (pseudo-labels), shared by finetune and label-efficiency."""
    g = p.add_argument_group(title)
    g.add_argument("--self-train-rounds", type=int, default=rounds, help="pseudo-label / retrain rounds")
    g.add_argument(
        "--pseudo-fraction",
        type=float,
        default=0.3,
        help="round r pseudo-labels the most confident r * F of the pool (F * pool / classes per predicted class)",
    )
    g.add_argument("--self-train-steps", type=int, default=None, help="steps per round (default: --steps)")


def finetune_config(args: argparse.Namespace):  # -> FinetuneConfig
    from aekit.experiments.label_efficiency import FinetuneConfig

    return FinetuneConfig(
        mode=args.mode,
        head=args.head,
        steps=args.steps,
        epochs=args.ft_epochs,
        batch_size=args.ft_batch_size,
        lr=args.lr,
        encoder_lr_scale=args.encoder_lr_scale,
        weight_decay=args.weight_decay,
        augment=not args.no_augment,
        max_shift=args.max_shift,
        max_rotation=args.max_rotation,
        encoder_bn=args.encoder_bn,
        dropout=args.dropout,
        label_smoothing=args.label_smoothing,
        recon_weight=args.recon_weight,
        accelerator=args.accelerator,
        precision=str(args.precision),
    )


# -- aekit finetune ----------------------------------------------------------------------------------


def _finetune_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", type=Path, help="pre-trained autoencoder: best.ckpt, run directory or .safetensors")
    p.add_argument("--data", required=True, help=DATA_HELP)
    p.add_argument("--labels-per-class", type=int, required=True, help="labeled examples per class (balanced)")
    p.add_argument("--seed", type=int, default=0, help="seed of the labeled subset and of training")
    p.add_argument("--out", type=Path, default=Path("runs/finetune"), help="run directory")
    p.add_argument("--progress", action="store_true", help="show progress bars")
    add_labeled_data_arguments(p)
    add_finetune_arguments(p)
    add_self_train_arguments(p, "self-training on the unlabeled pool after fine-tuning (off by default)", rounds=0)


@command(
    "finetune",
    help="keep a pre-trained autoencoder's encoder, drop the decoder, train a classifier on N labels per class",
    add_arguments=_finetune_args,
)
def run_finetune(args: argparse.Namespace) -> int:
    from torch.utils.data import ConcatDataset, Subset

    from aekit.data import open_data
    from aekit.data.sampling import dataset_labels, sample_per_class
    from aekit.engine import set_threads
    from aekit.experiments.label_efficiency import ImagesOnly, finetune, quiet_lightning, self_train
    from aekit.io import load
    from aekit.tasks.classification import classification_scores, predict_proba

    set_threads()
    quiet_lightning()
    ae = load(args.checkpoint)
    splits = open_data(args.data, **data_options(args, getattr(ae, "image_size", None)))
    pool = ConcatDataset([d for d in (splits.train, splits.val) if d is not None and len(d)])
    pool_y = dataset_labels(pool)
    num_classes = int(splits.info.get("num_classes") or pool_y.max() + 1)
    idx = sample_per_class(pool_y, args.labels_per_class, args.seed)
    meta = {"class_names": splits.info.get("class_names"), "data": splits.info.get("source", args.data)}
    cfg = finetune_config(args)
    labeled = Subset(pool, idx.tolist())
    stages = finetune(
        labeled,
        args.out,
        cfg,
        num_classes,
        ae,
        seed=args.seed,
        metadata=meta,
        progress=args.progress,
        unlabeled=ImagesOnly(pool) if args.recon_weight > 0 else None,
    )
    final_dir = Path(args.out)
    if args.self_train_rounds > 0:  # pseudo-label the pool with the fine-tuned network, retrain from the AE
        student, rounds = self_train(
            stages[-1][1].model, labeled, idx, pool, args.out / "self_train",
            cfg, num_classes, args.self_train_rounds, args.pseudo_fraction, args.self_train_steps,
            pretrained=ae, seed=args.seed, metadata=meta, log=print,
        )  # fmt: skip
        stages.append((f"self_train_round_{len(rounds)}", student))
        final_dir = args.out / "self_train" / f"round_{len(rounds)}"
    test = splits.split("test")
    rows = []
    for stage, task in stages:
        probs, y = predict_proba(task.model, test)
        rows.append({"stage": stage, "n_labeled": len(idx), **classification_scores(probs, y, num_classes)})
    summary = {"labels_per_class": args.labels_per_class, "seed": args.seed, "stages": rows}
    write_json(args.out / "metrics.json", summary)
    table = markdown_table(rows)
    (args.out / "metrics.md").write_text(table + "\n")
    print(table)
    print(f"final classifier: {final_dir}  (best.ckpt = final weights, model.safetensors; test: {len(test)} images)")
    return 0


# -- aekit label-efficiency ------------------------------------------------------------------------


def _le_args(p: argparse.ArgumentParser) -> None:
    from aekit.experiments.label_efficiency import DEFAULT_METHODS, METHODS

    p.add_argument("--data", required=True, help=DATA_HELP)
    p.add_argument("--labels-per-class", type=int_list, default=[1, 10, 100], help="comma list, e.g. 1,10,100")
    p.add_argument("--seeds", default="3", help="N (seeds 0..N-1) or a comma list such as 0,1,2")
    p.add_argument(
        "--methods",
        default=",".join(DEFAULT_METHODS),
        help=f"comma list of {', '.join(METHODS)} (ae_aux: full fine-tuning + reconstruction of the unlabeled pool; "
        "*_selftrain: pseudo-labels on the pool; scratch_noaug: scratch without augmentation)",
    )
    p.add_argument("--out", type=Path, default=Path("runs/label_efficiency"))
    p.add_argument("--progress", action="store_true", help="progress bars of every training run")
    add_labeled_data_arguments(p)
    g = p.add_argument_group("autoencoder pre-training (once for the whole grid)")
    g.add_argument("--pretrained", default=None, help="use this autoencoder (run dir / .ckpt) instead of pre-training")
    g.add_argument("--latent-dim", type=int, default=64)
    g.add_argument("--widths", type=int_list, default=[32, 64, 128])
    g.add_argument("--blocks", type=int, default=1)
    g.add_argument("--norm", default="batch")
    g.add_argument("--pretrain-epochs", type=int, default=10)
    g.add_argument("--pretrain-minutes", type=float, default=None, help="stop pre-training after this many minutes")
    g.add_argument("--pretrain-batch-size", type=int, default=128)
    g.add_argument("--pretrain-lr", type=float, default=3e-3)
    g.add_argument("--pretrain-loss", default="l2", help="l2, l1 or bce")
    g.add_argument("--input-noise", type=float, default=0.0, help="denoising AE: Gaussian noise std on inputs")
    g.add_argument("--mask-ratio", type=float, default=0.0, help="masked AE: fraction of input pixels zeroed")
    g.add_argument("--pretrain-seed", type=int, default=0)
    g.add_argument("--knn-k", type=int, default=5)
    g.add_argument(
        "--aux-weight", type=float, default=10.0, help="ae_aux: weight of the (per-pixel mean) reconstruction loss"
    )
    add_self_train_arguments(p, "self-training (ae_selftrain, scratch_selftrain)", rounds=3)
    add_finetune_arguments(p)


def parse_seeds(text: str) -> list[int]:
    text = str(text).strip()
    return int_list(text) if "," in text else list(range(int(text)))


@command(
    "label-efficiency",
    help="pre-train an AE once, then fine-tune vs scratch, PCA+logreg and kNN on z over labels x seeds (resumable)",
    add_arguments=_le_args,
)
def run_label_efficiency_cli(args: argparse.Namespace) -> int:
    from aekit.engine import set_threads
    from aekit.experiments.label_efficiency import ExperimentConfig, run_label_efficiency

    set_threads()
    cfg = ExperimentConfig(
        data=args.data,
        out=args.out,
        data_options={k: v for k, v in data_options(args).items() if v is not None},
        labels_per_class=list(args.labels_per_class),
        seeds=parse_seeds(args.seeds),
        methods=[m.strip() for m in args.methods.split(",") if m.strip()],
        ae_kwargs={
            "latent_dim": args.latent_dim,
            "widths": list(args.widths),
            "blocks_per_stage": args.blocks,
            "norm": args.norm,
        },
        pretrained=args.pretrained,
        pretrain_epochs=args.pretrain_epochs,
        pretrain_minutes=args.pretrain_minutes,
        pretrain_batch_size=args.pretrain_batch_size,
        pretrain_lr=args.pretrain_lr,
        pretrain_loss=args.pretrain_loss,
        input_noise=args.input_noise,
        mask_ratio=args.mask_ratio,
        pretrain_seed=args.pretrain_seed,
        knn_k=args.knn_k,
        aux_weight=args.aux_weight,
        self_train_rounds=args.self_train_rounds,
        pseudo_fraction=args.pseudo_fraction,
        self_train_steps=args.self_train_steps,
        finetune=finetune_config(args),
        accelerator=args.accelerator,
        progress=args.progress,
    )
    summary = run_label_efficiency(cfg)
    print((Path(args.out) / "results.md").read_text())
    print(json.dumps(summary))
    return 0
