"""Few-label learning: ``finetune`` (an autoencoder's encoder + a head on N labels per class) and
``label-efficiency`` (pre-train once, then fine-tune vs scratch, PCA+logreg and kNN over labels x seeds)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from aekit.config import option, override
from aekit.data.base import DataError
from aekit.data.options import LabeledFields, labeled_data_options
from aekit.experiments.label_efficiency import DEFAULT_METHODS, FINETUNE_MODES, METHODS, FinetuneConfig
from aekit.io import write_json, write_text
from aekit.recipes.base import Recipe, register_recipe

_FT = FinetuneConfig()
DATA_HELP = (
    "mnist:FOLDER (IDX), mnist5k, npy:FILE.npz (images+labels), dicom:FOLDER, nifti:FOLDER, image16:FOLDER "
    "(16-bit PNG/TIFF); medical kinds take --labels/--target"
)
DATA, FT, SELF, PRE = "data", "fine-tuning", "self-training on the unlabeled pool", "autoencoder pre-training"


@dataclass(kw_only=True)
class LabeledDataFields(LabeledFields):
    """Data options shared by finetune, label-efficiency and evaluate (medical ones ignored by other kinds)."""

    data: str = option(help=DATA_HELP, group=DATA)

    def data_options(self, image_size: Any = None) -> dict[str, Any]:
        return labeled_data_options(self, image_size)


@dataclass(kw_only=True)
class FinetuneFields:
    """How the labeled few train a classifier (:class:`aekit.experiments.label_efficiency.FinetuneConfig`)."""

    mode: str = option(_FT.mode, help="probe = frozen encoder (linear probe)", choices=FINETUNE_MODES, group=FT)
    head: str = option(_FT.head, help="classifier head", choices=["linear", "mlp"], group=FT)
    steps: int = option(_FT.steps, help="optimiser steps per stage", group=FT)
    ft_epochs: int = option(_FT.epochs, help="the steps are spread over this many epochs", group=FT)
    ft_batch_size: int = option(_FT.batch_size, help="labeled images per batch", group=FT)
    lr: float = option(_FT.lr, help="head learning rate (peak of one-cycle)", group=FT)
    encoder_lr_scale: float = option(_FT.encoder_lr_scale, help="encoder lr = lr * this", group=FT)
    weight_decay: float = option(_FT.weight_decay, help="AdamW weight decay", group=FT)
    augment: bool = option(True, help="random shifts/rotations of the labeled images", negate="--no-augment",
                           group=FT)  # fmt: skip
    max_shift: float = option(_FT.max_shift, help="augmentation: shift, fraction of size", group=FT)
    max_rotation: float = option(_FT.max_rotation, help="augmentation: rotation, degrees", group=FT)
    encoder_bn: str = option(_FT.encoder_bn, help="frozen: encoder BatchNorm keeps the pre-training statistics "
                             "(eval mode) while fine-tuning", choices=["frozen", "train"], group=FT)  # fmt: skip
    dropout: float = option(_FT.dropout, help="dropout before the head", group=FT)
    label_smoothing: float = option(_FT.label_smoothing, help="label smoothing of the cross-entropy", group=FT)
    recon_weight: float = option(_FT.recon_weight, help="reconstruction as an auxiliary loss on the unlabeled pool "
                                 "during full fine-tuning (e.g. 1.0)", group=FT)  # fmt: skip
    accelerator: str = option("auto", help="auto, cpu, gpu, ...", group=FT)
    precision: str = option("32", help="32 or bf16-mixed", group=FT)
    self_train_rounds: int = option(0, help="pseudo-label / retrain rounds (0: none)", group=SELF)
    pseudo_fraction: float = option(0.3, help="round r pseudo-labels the most confident r * F of the pool "
                                    "(F * pool / classes per predicted class)", group=SELF)  # fmt: skip
    self_train_steps: int | None = option(None, help="steps per round (default: --steps)", group=SELF)
    progress: bool = option(False, help="show progress bars of the training runs")

    def finetune_config(self) -> FinetuneConfig:
        return FinetuneConfig(mode=self.mode, head=self.head, steps=self.steps, epochs=self.ft_epochs,
                              batch_size=self.ft_batch_size, lr=self.lr, encoder_lr_scale=self.encoder_lr_scale,
                              weight_decay=self.weight_decay, augment=self.augment, max_shift=self.max_shift,
                              max_rotation=self.max_rotation, encoder_bn=self.encoder_bn, dropout=self.dropout,
                              label_smoothing=self.label_smoothing, recon_weight=self.recon_weight,
                              accelerator=self.accelerator, precision=str(self.precision))  # fmt: skip


@register_recipe
@dataclass(kw_only=True)
class Finetune(LabeledDataFields, FinetuneFields, Recipe):
    """Keep a pre-trained autoencoder's encoder, drop the decoder, train a classifier on N labels per class
    (``aekit finetune``). ``run(out)`` returns ``{"labels_per_class", "seed", "stages", "final"}``: test scores
    of every stage and the final classifier's run directory."""

    name: ClassVar[str] = "finetune"
    kind: ClassVar[str] = "command"
    help: ClassVar[str] = (
        "keep a pre-trained autoencoder's encoder, drop the decoder, train a classifier on N labels per class"
    )

    checkpoint: str = option(help="pre-trained autoencoder: best.ckpt, run directory or .safetensors",
                             positional=True)  # fmt: skip
    labels_per_class: int | None = option(None, help="labeled examples per class (balanced, drawn from the "
                                          "source's labels); leave out with --labels FILE.csv of file,label rows "
                                          "(aekit suggest-labels' to_label.csv filled in): exactly those")  # fmt: skip
    seed: int = option(0, help="seed of the labeled subset and of training")
    propagate: list[str] = option(["cluster"], help="with --labels file,label: spread the labels over the "
                                  "unlabeled pool and train a student: cluster (cluster-label propagation in "
                                  "code space), self-train, none; a comma list trains each (the last is kept)",
                                  group=SELF)  # fmt: skip
    propagate_manifold: str = option("umap", help="cluster propagation: the codes' step before clustering, as in "
                                     "aekit cluster / suggest-labels", choices=["umap", "pca", "none"],
                                     group=SELF)  # fmt: skip

    def run(self, out: str | Path | None = None, resume: str | Path | bool | None = None) -> dict[str, Any]:
        if self.labels_per_class is None:
            return self.run_on_label_file(out)
        from torch.utils.data import ConcatDataset, Subset

        from aekit.data import open_data
        from aekit.data.sampling import dataset_labels, sample_per_class
        from aekit.engine import set_threads
        from aekit.experiments.label_efficiency import ImagesOnly, finetune, quiet_lightning, self_train
        from aekit.io import load
        from aekit.report import markdown_table
        from aekit.tasks.classification import classification_scores, predict_proba

        set_threads()
        quiet_lightning()
        out = Path(out) if out is not None else self.default_out()
        ae = load(self.checkpoint)
        splits = open_data(self.data, **self.data_options(getattr(ae, "image_size", None)))
        pool = ConcatDataset([d for d in (splits.train, splits.val) if d is not None and len(d)])
        pool_y = dataset_labels(pool)
        num_classes = int(splits.info.get("num_classes") or pool_y.max() + 1)
        idx = sample_per_class(pool_y, self.labels_per_class, self.seed)
        meta = {"class_names": splits.info.get("class_names"), "data": splits.info.get("source", self.data)}
        cfg = self.finetune_config()
        # written once the inputs are known to be usable: a refused command leaves no run folder behind
        self.to_yaml(out / "recipe.yaml")  # this config: aekit.recipes.load / aekit finetune --config read it back
        labeled = Subset(pool, idx.tolist())
        stages = finetune(labeled, out, cfg, num_classes, ae, seed=self.seed, metadata=meta, progress=self.progress,
                          unlabeled=ImagesOnly(pool) if self.recon_weight > 0 else None)  # fmt: skip
        final_dir = out
        if self.self_train_rounds > 0:  # pseudo-label the pool with the fine-tuned network, retrain from the AE
            student, rounds = self_train(
                stages[-1][1].model, labeled, idx, pool, out / "self_train",
                cfg, num_classes, self.self_train_rounds, self.pseudo_fraction, self.self_train_steps,
                pretrained=ae, seed=self.seed, metadata=meta, log=print,
            )  # fmt: skip
            stages.append((f"self_train_round_{len(rounds)}", student))
            final_dir = out / "self_train" / f"round_{len(rounds)}"
        test = splits.split("test")
        rows = []
        for stage, task in stages:
            probs, y = predict_proba(task.model, test)
            rows.append({"stage": stage, "n_labeled": len(idx), **classification_scores(probs, y, num_classes)})
        summary = {"labels_per_class": self.labels_per_class, "seed": self.seed, "stages": rows}
        write_json(out / "metrics.json", summary)
        table = markdown_table(rows)
        write_text(out / "metrics.md", table + "\n")
        return {**summary, "final": str(final_dir), "markdown": table, "test_images": len(test)}

    def run_on_label_file(self, out: str | Path | None = None) -> dict[str, Any]:
        """``--labels file,label`` without ``--labels-per-class``: fine-tune on exactly the labels a person gave
        (:func:`aekit.experiments.suggest_labels.train_on_labels`), spread them over the pool, score the test
        split where the source has labels of its own."""
        from aekit.data import open_data
        from aekit.data.sampling import item_ids
        from aekit.engine import set_threads
        from aekit.experiments.label_efficiency import quiet_lightning
        from aekit.experiments.suggest_labels import (
            SuggestConfig,
            label_names,
            pool_of,
            read_label_file,
            train_on_labels,
        )
        from aekit.io import load
        from aekit.report import markdown_table

        if not self.labels:
            raise DataError("aekit finetune needs --labels-per-class N, or --labels FILE.csv (file,label rows)")
        set_threads()
        quiet_lightning()
        out = Path(out) if out is not None else self.default_out()
        ae = load(self.checkpoint)
        opts = {**self.data_options(getattr(ae, "image_size", None)), "labels": None, "target": None}
        splits = open_data(self.data, **opts)
        pool = pool_of(splits, "pool")
        idx, labels = read_label_file(self.labels, item_ids(pool), self.target or "label")
        test = splits.test if splits.test is not None and len(splits.test) else None
        truth = label_names(test, splits.info) if test is not None else None
        self.to_yaml(out / "recipe.yaml")
        result = train_on_labels(
            ae, pool, idx, labels, out, self.finetune_config(), [p for p in self.propagate if p != "none"],
            student_steps=self.self_train_steps, self_train_rounds=self.self_train_rounds or 2,
            pseudo_fraction=self.pseudo_fraction, evaluate={"test": (test, truth)} if truth else None,
            suggest=SuggestConfig(manifold=self.propagate_manifold, seed=self.seed), seed=self.seed,
            metadata={"data": splits.info.get("source", self.data), "labels": str(self.labels)},
        )  # fmt: skip
        summary = {"labels": str(self.labels), "n_labeled": len(idx), "seed": self.seed, **result}
        write_json(out / "metrics.json", summary)
        table = markdown_table(result["stages"])
        write_text(out / "metrics.md", table + "\n")
        final = out / result["dirs"][result["stages"][-1]["stage"]]
        return {**summary, "final": str(final), "markdown": table, "test_images": len(test) if truth else 0}


def parse_seeds(text: str) -> list[int]:
    """``"3"`` -> seeds 0, 1, 2; ``"0,4"`` -> seeds 0 and 4."""
    text = str(text).strip()
    return [int(t) for t in text.split(",") if t.strip()] if "," in text else list(range(int(text)))


@register_recipe
@dataclass(kw_only=True)
class LabelEfficiency(LabeledDataFields, FinetuneFields, Recipe):
    """Pre-train an autoencoder once, then fine-tune vs scratch, PCA+logreg and kNN on z over labels x seeds
    (``aekit label-efficiency``; resumable). ``run(out)`` returns the summary (``OUT/summary.json``)."""

    name: ClassVar[str] = "label-efficiency"
    kind: ClassVar[str] = "command"
    help: ClassVar[str] = (
        "pre-train an AE once, then fine-tune vs scratch, PCA+logreg and kNN on z over labels x seeds (resumable)"
    )

    labels_per_class: list[int] = option([1, 10, 100], help="comma list, e.g. 1,10,100")
    seeds: str = option("3", help="N (seeds 0..N-1) or a comma list such as 0,1,2")
    methods: list[str] = option(list(DEFAULT_METHODS), help=f"comma list of {', '.join(METHODS)} (ae_aux: full "
                                "fine-tuning + reconstruction of the unlabeled pool; *_selftrain: pseudo-labels on "
                                "the pool; scratch_noaug: scratch without augmentation)")  # fmt: skip
    pretrained: str | None = option(None, help="use this autoencoder (run dir / .ckpt) instead of pre-training",
                                    group=PRE)  # fmt: skip
    latent_dim: int = option(64, help="size of the code z", group=PRE)
    widths: list[int] = option([32, 64, 128], help="channels per encoder stage", group=PRE)
    blocks: int = option(1, help="conv blocks per stage", group=PRE)
    norm: str = option("batch", help="batch, group, instance or none", group=PRE)
    pretrain_epochs: int = option(10, help="pre-training epochs", group=PRE)
    pretrain_minutes: float | None = option(None, help="stop pre-training after this many minutes", group=PRE)
    pretrain_batch_size: int = option(128, help="pre-training batch size", group=PRE)
    pretrain_lr: float = option(3e-3, help="pre-training learning rate", group=PRE)
    pretrain_loss: str = option("l2", help="l2, l1 or bce", group=PRE)
    input_noise: float = option(0.0, help="denoising AE: Gaussian noise std on inputs", group=PRE)
    mask_ratio: float = option(0.0, help="masked AE: fraction of input pixels zeroed", group=PRE)
    pretrain_seed: int = option(0, help="seed of the one pre-training run", group=PRE)
    knn_k: int = option(5, help="neighbours of the kNN-on-z baseline", group=PRE)
    aux_weight: float = option(10.0, help="ae_aux: weight of the (per-pixel mean) reconstruction loss", group=PRE)
    self_train_rounds: int = override(3)

    def default_out(self) -> Path:
        return Path("runs/label_efficiency")

    def experiment_config(self, out: Path) -> Any:
        from aekit.experiments.label_efficiency import ExperimentConfig

        return ExperimentConfig(
            data=self.data,
            out=out,
            data_options={k: v for k, v in self.data_options().items() if v is not None},
            labels_per_class=list(self.labels_per_class),
            seeds=parse_seeds(self.seeds),
            methods=list(self.methods),
            ae_kwargs={"latent_dim": self.latent_dim, "widths": list(self.widths), "blocks_per_stage": self.blocks,
                       "norm": self.norm},  # fmt: skip
            pretrained=self.pretrained,
            pretrain_epochs=self.pretrain_epochs,
            pretrain_minutes=self.pretrain_minutes,
            pretrain_batch_size=self.pretrain_batch_size,
            pretrain_lr=self.pretrain_lr,
            pretrain_loss=self.pretrain_loss,
            input_noise=self.input_noise,
            mask_ratio=self.mask_ratio,
            pretrain_seed=self.pretrain_seed,
            knn_k=self.knn_k,
            aux_weight=self.aux_weight,
            self_train_rounds=self.self_train_rounds,
            pseudo_fraction=self.pseudo_fraction,
            self_train_steps=self.self_train_steps,
            finetune=self.finetune_config(),
            accelerator=self.accelerator,
            progress=self.progress,
        )

    def run(self, out: str | Path | None = None, resume: str | Path | bool | None = None) -> dict[str, Any]:
        from aekit.engine import set_threads
        from aekit.experiments.label_efficiency import run_label_efficiency

        set_threads()
        out = Path(out) if out is not None else self.default_out()
        self.to_yaml(out / "recipe.yaml")  # this config: aekit.recipes.load / --config read it back
        return run_label_efficiency(self.experiment_config(out))
