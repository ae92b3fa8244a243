"""Semantic segmentation recipes: ``segnet``, ``fcn``, ``unet`` (one base, per-architecture fields), and the
upsampling study's config (``aekit study upsampling``)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from aekit.config import option, override
from aekit.data import DataModule, DataSplits
from aekit.data.base import DataError
from aekit.data.options import CROP_HELP, ImageFields, MaskFields, int_list, open_seg_data
from aekit.nn.blocks import INPUT_NORMS
from aekit.nn.upsample import UPSAMPLE_MODES
from aekit.recipes.base import TrainRecipe, register_recipe
from aekit.tasks.segmentation import SegmentationTask, task_for_data

DATA, MODEL, OBJECTIVE = "data", "model", "objective"
DATA_HELP = (
    "camvid[:ROOT] (train/trainannot, val/valannot), pairs:IMAGES,MASKS (same stems), isbi2012[:ROOT]; "
    "default roots under $AEKIT_DATA"
)


def resolve_class_weights(
    spec: str | None, splits: DataSplits, masks: list[np.ndarray] | None = None
) -> list[float] | None:
    """``none`` | ``median-frequency`` | ``file`` | a comma list -> one weight per class (or None)."""
    from aekit.losses import median_frequency_weights

    k = int(splits.info["num_classes"])
    if spec in (None, "", "none"):
        return None
    if spec in ("median-frequency", "median_frequency", "mfb"):
        masks = masks if masks is not None else splits.train.masks  # type: ignore[union-attr]
        return median_frequency_weights(masks, k, splits.info.get("ignore_index"))
    if spec == "file":
        weights = splits.info.get("file_class_weights")
        if not weights or any(w is None for w in weights):
            raise DataError("--class-weights file: this data source's classes.csv has no weight for every class")
        return [float(w) for w in weights]
    try:
        weights = [float(w) for w in spec.split(",")]
    except ValueError as exc:
        raise DataError(f"--class-weights {spec!r}: use none, median-frequency, file or numbers w0,w1,...") from exc
    if len(weights) != k:
        raise DataError(f"--class-weights has {len(weights)} values but the data has {k} classes")
    return weights


@dataclass(kw_only=True)
class Segmentation(MaskFields, ImageFields, TrainRecipe):
    """Fields and build shared by every segmentation recipe; the best checkpoint is chosen on val mIoU."""

    epochs: int = override(30)  # dense prediction on full images: more epochs, small batches (CPU memory)
    batch_size: int = override(8)

    data: str = option(help=DATA_HELP, group=DATA)
    crop_size: str | None = option(None, help=CROP_HELP, group=DATA)
    scale: str | None = option(None, help="random training rescale range, e.g. 0.75,1.25", group=DATA)
    hflip: bool = option(True, help="random horizontal flips", negate="--no-hflip", group=DATA)
    augment: bool = option(True, help="training augmentation (off: none at all)", negate="--no-augment", group=DATA)
    normalize: bool = option(True, help="normalise images by the training mean/std (off: images in [0,1])",
                             negate="--no-normalize", group=DATA)  # fmt: skip
    photometric: str | None = option(None, help="brightness/contrast/saturation/hue jitter of training images "
                                     "(masks unchanged): S (e.g. 0.3) or b,c,s,h", group=DATA)  # fmt: skip
    official_val: str = option("auto", help="camvid with --val-groups: the official val frames become the test "
                               "split (auto, test) or train", choices=["auto", "train", "test"],
                               group=DATA)  # fmt: skip

    arch: str = option(help="network", group=MODEL)
    upsample: str = option(help="decoder upsampling mode", choices=list(UPSAMPLE_MODES), group=MODEL)
    downsample: str = option("maxpool", help="maxpool (keeps indices), stride or avgpool", group=MODEL)
    widths: list[int] | None = option(None, help="channels per encoder level, e.g. 32,64,128,256", group=MODEL)
    kernel_size: int | None = option(None, help="conv kernel size (preset default)", group=MODEL)
    norm: str = option("batch", help="batch, group, instance or none", group=MODEL)
    init_encoder: str | None = option(None, help="copy the encoder from an aekit autoencoder run/ckpt", group=MODEL)

    loss: str = option("ce", help="training loss", choices=["ce", "dice", "ce+dice"], group=OBJECTIVE)
    class_weights: str = option("none", help="none, median-frequency (from the training masks), file (the data's "
                                "classes.csv weights) or w0,w1,...", group=OBJECTIVE)  # fmt: skip
    label_smoothing: float = option(0.0, help="label smoothing of the cross-entropy (ignore index kept; 0: off)",
                                    group=OBJECTIVE)  # fmt: skip

    def model_kwargs(self, channels: int, num_classes: int) -> dict[str, Any]:
        kw: dict[str, Any] = {"in_channels": channels, "out_channels": num_classes, "upsample": self.upsample,
                              "downsample": self.downsample, "norm": self.norm}  # fmt: skip
        if self.widths is not None:
            kw["widths"] = list(self.widths)
        if self.kernel_size is not None:
            kw["kernel_size"] = self.kernel_size
        return kw

    def open_data(self, train: bool = True) -> DataSplits:
        return open_seg_data(self, train=train, normalize=self.normalize)

    def task(self, splits: DataSplits, weight_masks: list[np.ndarray] | None = None) -> SegmentationTask:
        """The task for ``arch`` on opened data (class weights from ``weight_masks`` or the training masks)."""
        from aekit.io import load_encoder_weights

        info = splits.info
        task = task_for_data(
            splits,
            self.arch,
            self.model_kwargs(int(info["channels"]), int(info["num_classes"])),
            class_weights=resolve_class_weights(self.class_weights, splits, weight_masks),
            extra_metadata={"data": info.get("source", self.data),
                            "data_options": {"seed": self.seed, "val_fraction": self.val_fraction}},  # fmt: skip
            loss=self.loss,
            label_smoothing=self.label_smoothing,
            **self.optim(1e-3),
        )
        if self.init_encoder:
            loaded = load_encoder_weights(task.model.encoder, self.init_encoder)
            task.metadata["init_encoder"] = str(self.init_encoder)
            print(f"encoder initialised from {self.init_encoder} ({len(loaded)} tensors)")
        return task

    def build(self) -> tuple[SegmentationTask, DataModule]:
        splits = self.open_data()
        task = self.task(splits)
        if splits.val is not None:
            self.monitor("val/miou", "max")
        return task, self.datamodule(splits)


@register_recipe
@dataclass(kw_only=True)
class SegNet(Segmentation):
    """SegNet / SegNet-Basic semantic segmentation (max-unpooling decoder); ``aekit train segnet``."""

    name: ClassVar[str] = "segnet"
    help: ClassVar[str] = "SegNet / SegNet-Basic semantic segmentation (max-unpooling decoder)"
    arch: str = override("segnet_basic", choices=["segnet_basic", "segnet"])
    upsample: str = override("max_unpool")
    input_norm: str = option("none", help="inside the model, before the encoder: none or lcn (the paper's local "
                             "contrast normalisation)", choices=list(INPUT_NORMS), group=MODEL)  # fmt: skip

    def model_kwargs(self, channels: int, num_classes: int) -> dict[str, Any]:
        return {**super().model_kwargs(channels, num_classes), "input_norm": self.input_norm}


@register_recipe
@dataclass(kw_only=True)
class SegNetPaper(SegNet):
    """SegNet-Basic trained as in its paper (Badrinarayanan et al., TPAMI 2017, Sec. 4.1/5): local contrast
    normalisation of the input (in the model, so evaluate/predict/export apply it too; no mean/std
    normalisation besides), SGD with a fixed learning rate of 0.1 and momentum 0.9, median-frequency class
    balancing, batch 12, every training frame (``camvid:ROOT``: the official 367 train frames, official val
    monitored). "Trained to convergence" is an epoch count here (``--epochs``, default 100); the paper's
    CamVid row (test split, 360x480) is G 82.7 / C 62.0 / mIoU 47.7. ``best.ckpt`` is chosen on val mIoU, so
    score ``last.ckpt`` on official val (or pass ``--val-groups``) for a figure nothing was chosen on.
    ``aekit train segnet-paper``."""

    name: ClassVar[str] = "segnet-paper"
    help: ClassVar[str] = "SegNet-Basic trained as its paper: LCN input, SGD lr 0.1 momentum 0.9, median-frequency"
    arch: str = override("segnet_basic", choices=["segnet_basic", "segnet"])
    input_norm: str = override("lcn")
    normalize: bool = override(False)
    optimizer: str = override("sgd")
    lr: float | None = override(0.1)
    scheduler: str = override("none")
    class_weights: str = override("median-frequency")
    batch_size: int = override(12)
    epochs: int = override(100)


@register_recipe
@dataclass(kw_only=True)
class FCN(Segmentation):
    """FCN-32s/16s/8s semantic segmentation (skip fusion by addition); ``aekit train fcn``."""

    name: ClassVar[str] = "fcn"
    help: ClassVar[str] = "FCN-32s/16s/8s semantic segmentation (skip fusion by addition)"
    arch: str = override("fcn8s", choices=["fcn8s", "fcn16s", "fcn32s"])
    upsample: str = override("transposed")
    encoder: str = option("vgg16", help="vgg16 or SegNet-Basic's (FCN-Basic)", choices=["vgg16", "basic"],
                          group=MODEL)  # fmt: skip

    def model_kwargs(self, channels: int, num_classes: int) -> dict[str, Any]:
        return {**super().model_kwargs(channels, num_classes), "encoder": self.encoder}


@register_recipe
@dataclass(kw_only=True)
class UNet(Segmentation):
    """U-Net segmentation with selectable skip levels and upsampling; ``aekit train unet``."""

    name: ClassVar[str] = "unet"
    help: ClassVar[str] = "U-Net segmentation with selectable skip levels and upsampling"
    arch: str = override("unet", choices=["unet"])
    upsample: str = override("bilinear")
    skip_levels: str = option("all", help="all, none, or encoder levels e.g. 0,1,2 (0 = full res)", group=MODEL)
    skip_mode: str = option("concat", help="how skips join the decoder", choices=["concat", "add"], group=MODEL)
    blocks: int = option(2, help="conv blocks per level", group=MODEL)

    def model_kwargs(self, channels: int, num_classes: int) -> dict[str, Any]:
        kw = super().model_kwargs(channels, num_classes)
        skips: Any = self.skip_levels if self.skip_levels in ("all", "none") else int_list(self.skip_levels)
        kw |= {"skip_levels": skips, "skip_mode": self.skip_mode, "blocks_per_stage": self.blocks}
        kw.setdefault("kernel_size", 3)
        return kw


STUDY = "study"


@register_recipe
@dataclass(kw_only=True)
class UpsamplingStudy(SegNet):
    """One SegNet-style network per decoder upsampling mode, same data/schedule/seed; one table and one figure
    (``aekit study upsampling``). ``run(out)`` returns ``{"rows", "markdown", "figure"}``."""

    name: ClassVar[str] = "upsampling"
    kind: ClassVar[str] = "study"
    help: ClassVar[str] = "train one network per upsampling mode; one table and one figure"

    task_name: str = option("segmentation", help="which problem the study trains", flag="--task",
                            group=STUDY)  # fmt: skip
    modes: list[str] = option(list(UPSAMPLE_MODES), help="comma list of upsampling modes", group=STUDY)
    max_train_images: int | None = option(None, help="use only the first N training images", group=STUDY)
    max_val_images: int | None = option(None, help="evaluate on the first N validation images", group=STUDY)

    def run(self, out: str | Path | None = None, resume: str | Path | bool | None = None) -> dict[str, Any]:
        from aekit.engine import set_threads
        from aekit.experiments.upsampling import run_upsampling_study

        set_threads()
        out = Path(out) if out is not None else self.default_out()
        self.to_yaml(out / "recipe.yaml")  # this config: aekit.recipes.load / --config read it back
        t0 = time.time()
        result = run_upsampling_study(self.task_name, list(self.modes), out, self.train_config(), self)
        result["minutes"] = (time.time() - t0) / 60
        return result

