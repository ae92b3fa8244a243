"""Open data from the options of a config or a parsed namespace (duck-typed: the same attribute names).

Training recipes (``aekit.recipes``), evaluation and prediction share these, so every path opens data the same
way; this module imports no recipe and no CLI (the data layer)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aekit.config import option
from aekit.data.base import DataError, DataSplits, open_data

DATA = "data"
# what segmentation and depth sources do without --crop-size (aekit.data.segmentation.default_crop)
CROP_HELP = ("random training crop N or H,W (default: whole images when all share one size; else a square of "
             "the median short side, a multiple of 32 in 32..256)")  # fmt: skip


# -- data fields, declared once: training recipes (aekit.recipes) and evaluation options (aekit.inference) --------
@dataclass(kw_only=True)
class ImageFields:
    """How images are read."""

    image_size: str | None = option(None, help="resize images (and masks) to N or H,W (evaluation default: the "
                                    "model's size where it has one)", group=DATA)  # fmt: skip
    channels: int | None = option(None, help="convert images to 1, 3 or 4 channels", group=DATA)


@dataclass(kw_only=True)
class MnistTestFields:
    """MNIST's separate test files."""

    test_images: str | None = option(None, help="MNIST: IDX test images by path", group=DATA)
    test_labels: str | None = option(None, help="MNIST: IDX test labels by path", group=DATA)


@dataclass(kw_only=True)
class MaskFields:
    """How segmentation masks are read (evaluation defaults: what the checkpoint recorded)."""

    classes: int | None = option(None, help="number of classes K (default: from the data, or the checkpoint's)",
                                 group=DATA)  # fmt: skip
    ignore_index: int | None = option(None, help="mask value ignored in loss and metrics (default: none, or the "
                                      "checkpoint's)", group=DATA)  # fmt: skip
    mask_suffix: str | None = option(None, help="mask name = image stem + this suffix (e.g. _mask)", group=DATA)
    palette: str | None = option(None, help="CSV index,name,r,g,b mapping colour masks to classes", group=DATA)
    binary_masks: bool = option(False, help="masks are {0,255}: map to classes {0,1}", group=DATA)


@dataclass(kw_only=True)
class LabeledFields(MnistTestFields):
    """Labelled images for classifiers (the medical options are ignored by other kinds)."""

    image_size: str | None = option(None, help="resize images to N or H,W (default: the autoencoder's / model's)",
                                    group=DATA)  # fmt: skip
    labels: str | None = option(None, help="CSV with one row per file: file,<target>,patient_id", group=DATA)
    target: str | None = option(None, help="CSV column holding the class (e.g. contrast)", group=DATA)
    window: str | None = option(None, help="CT window: lung, mediastinum, soft_tissue, bone, full or C,W (HU)",
                                group=DATA)  # fmt: skip
    axis: int | None = option(None, help="NIfTI: slice along this axis (default 2)", group=DATA)
    split_seed: int = option(0, help="seed of the train/val/test split (by patient)", group=DATA)

# the split options (``aekit.recipes.base.SplitFields`` declares them with their help)
SPLIT_KEYS = ("val_fraction", "test_fraction", "val_data", "test_data", "split_file", "group_pattern", "val_groups",
              "test_groups")  # fmt: skip


def int_list(text: str | list[int]) -> list[int]:
    """``"0,1,2"`` (or a list) -> ``[0, 1, 2]``."""
    if isinstance(text, (list, tuple)):
        return [int(t) for t in text]
    return [int(t) for t in str(text).split(",") if t.strip()]


def split_options(cfg: Any) -> dict[str, Any]:
    """The split options of ``cfg`` (missing ones None) plus its seed, as keywords for ``open_data``; a recorded
    ``splitting`` (aekit evaluate: the run's own split) is passed on."""
    out = {k: getattr(cfg, k, None) for k in SPLIT_KEYS}
    out["seed"] = getattr(cfg, "seed", 0)
    if getattr(cfg, "splitting", None) is not None:
        out["splitting"] = cfg.splitting
    return out


def open_images(cfg: Any) -> DataSplits:
    """Open ``cfg.data`` with the image options (``image_size``, ``channels``, MNIST test files) and splits."""
    return open_data(cfg.data, image_size=cfg.image_size, channels=cfg.channels, test_images=cfg.test_images,
                     test_labels=cfg.test_labels, **split_options(cfg))  # fmt: skip


def image_shape(splits: DataSplits) -> tuple[int, list[int]]:
    """(channels, [H, W]) from the source's info, else from its first training item."""
    if "channels" in splits.info and "image_size" in splits.info:
        return int(splits.info["channels"]), [int(s) for s in splits.info["image_size"]]
    x = splits.split("train")[0]["image"]
    return int(x.shape[0]), [int(x.shape[1]), int(x.shape[2])]


def _on(cfg: Any, name: str) -> bool:
    """A True-by-default switch of a config (``hflip``) or of an older namespace (``no_hflip``)."""
    if hasattr(cfg, name):
        return bool(getattr(cfg, name))
    return not getattr(cfg, "no_" + name, False)


def open_seg_data(
    cfg: Any, train: bool = True, normalize: bool = True, split: dict[str, Any] | None = None
) -> DataSplits:
    """Open ``cfg.data`` with the segmentation options of ``cfg`` (``binary_masks``, ``hflip``/``augment``
    optional), augmentation only when ``train``; ``split`` replaces the split options of ``cfg`` (evaluation:
    the run's recorded split and seed)."""
    opts: dict[str, Any] = {
        "classes": cfg.classes,
        "ignore_index": cfg.ignore_index,
        "mask_suffix": cfg.mask_suffix,
        "palette": cfg.palette,
        "binary": bool(getattr(cfg, "binary_masks", False)),
        "channels": cfg.channels,
        "image_size": cfg.image_size,
        "normalize": normalize,
        **(split_options(cfg) if split is None else split),
    }
    if getattr(cfg, "official_val", None) not in (None, "auto"):  # camvid: where the official val frames go
        if not str(cfg.data).startswith("camvid"):
            raise DataError(f"--official-val {cfg.official_val}: only camvid: has an official val split; drop it")
        opts["official_val"] = cfg.official_val
    if train:
        opts |= {"crop_size": cfg.crop_size, "scale": cfg.scale, "hflip": _on(cfg, "hflip"),
                 "augment": _on(cfg, "augment"), "photometric": getattr(cfg, "photometric", None)}  # fmt: skip
    else:
        opts["augment"] = False
    return open_data(cfg.data, **opts)


def labeled_data_options(cfg: Any, image_size: Any = None) -> dict[str, Any]:
    """``open_data`` keywords of the labeled-data options (finetune, label-efficiency, classifier evaluation)."""
    return {"image_size": cfg.image_size or image_size, "labels": cfg.labels, "target": cfg.target,
            "window": cfg.window, "axis": cfg.axis, "test_images": cfg.test_images, "test_labels": cfg.test_labels,
            "seed": cfg.split_seed}  # fmt: skip
