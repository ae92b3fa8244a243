"""Open data from the options of a config or a parsed namespace (duck-typed: the same attribute names).

Training recipes (``aekit.recipes``), evaluation and prediction share these, so every path opens data the same
way; this module imports no recipe and no CLI (the data layer)."""

from __future__ import annotations

from typing import Any

from aekit.data.base import DataError, DataSplits, open_data

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


def open_seg_data(cfg: Any, train: bool = True, normalize: bool = True) -> DataSplits:
    """Open ``cfg.data`` with the segmentation options of ``cfg`` (``binary_masks``, ``hflip``/``augment``
    optional), augmentation only when ``train``."""
    opts: dict[str, Any] = {
        "classes": cfg.classes,
        "ignore_index": cfg.ignore_index,
        "mask_suffix": cfg.mask_suffix,
        "palette": cfg.palette,
        "binary": bool(getattr(cfg, "binary_masks", False)),
        "channels": cfg.channels,
        "image_size": cfg.image_size,
        "normalize": normalize,
        **split_options(cfg),
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
