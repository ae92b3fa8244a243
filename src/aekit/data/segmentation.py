"""Image + dense label pairs: paired folders, CamVid (SegNet layout) and ISBI 2012.

Items are ``{"image": float (C, H, W), "mask": int64 (H, W)}``. Images are normalised with per-channel
mean/std computed from the *training* split (``info["normalization"]``; the task stores it so ``predict``
applies the same); pass ``normalize=False`` for images in [0, 1]. Every pair is read and checked when the
data set is opened (missing mask, size mismatch, class index out of range, unknown colour), so a bad file
stops the run before training with a message naming the file. The pairs are then kept in memory
(CamVid: ~50 MB), which also spares a PNG decode per epoch on small machines.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from aekit.data.base import DataError, DataSplits, register_data
from aekit.data.images import (
    IMAGE_SUFFIXES,
    default_channels,
    list_images,
    open_image,
    parse_size,
    pil_open,
    read_image,
    scan_images,
    to_tensor,
)
from aekit.data.splits import SplitSpec, assign_splits
from aekit.data.transforms import JointTransform, PhotometricJitter

Pair = tuple[Path, Path]
VOID_NAMES = ("void", "unlabelled", "unlabeled", "ignore", "background_ignore")


# -- class tables ---------------------------------------------------------------------------------------
def read_class_table(path: str | Path) -> dict[str, Any]:
    """A CSV ``index,name,r,g,b[,weight]`` (header required; CamVid's ``classes.csv`` format).

    Returns ``names``, ``colours`` (list of [r, g, b]) by index, ``weights`` (floats or None) and
    ``void_index`` (a row named void/unlabelled, else None).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"class/palette file {path} does not exist (CSV with columns index,name,r,g,b[,weight])")
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    need = {"index", "name", "r", "g", "b"}
    if not rows or not need <= set(rows[0]):
        raise DataError(f"{path} must be a CSV with a header containing index,name,r,g,b (optional: weight column)")
    wkey = next((k for k in rows[0] if k and "weight" in k.lower()), None)
    table: dict[int, tuple[str, list[int], float | None]] = {}
    for line, row in enumerate(rows, start=2):
        try:
            idx = int(row["index"])
            colour = [int(row["r"]), int(row["g"]), int(row["b"])]
            weight = float(row[wkey]) if wkey and (row.get(wkey) or "").strip() else None
        except (TypeError, ValueError) as exc:
            raise DataError(f"{path} line {line}: cannot read index/r/g/b/weight ({exc})") from exc
        table[idx] = (row["name"].strip(), colour, weight)
    if sorted(table) != list(range(len(table))):
        raise DataError(f"{path}: class indices must be 0..{len(table) - 1} without gaps, found {sorted(table)}")
    names = [table[i][0] for i in range(len(table))]
    void = next((i for i, n in enumerate(names) if n.lower() in VOID_NAMES), None)
    return {
        "names": names,
        "colours": [table[i][1] for i in range(len(table))],
        "weights": [table[i][2] for i in range(len(table))],
        "void_index": void,
    }


# -- pairing ---------------------------------------------------------------------------------------------
def pair_files(images_dir: str | Path, masks_dir: str | Path, mask_suffix: str = "") -> list[Pair]:
    """Match every image to the mask with the same stem (+ ``mask_suffix``, e.g. ``_mask``) in ``masks_dir``."""
    images = list_images(images_dir, recursive=False)
    masks_dir = Path(masks_dir)
    if not masks_dir.is_dir():
        raise DataError(f"mask folder {masks_dir} does not exist")
    masks = {p.stem: p for p in sorted(masks_dir.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES}
    pairs, missing = [], []
    for img in images:
        m = masks.get(img.stem + mask_suffix)
        if m is None:
            missing.append(img)
        else:
            pairs.append((img, m))
    if missing:
        names = ", ".join(p.name for p in missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        raise DataError(
            f"no mask for image(s) {names} in {masks_dir} (looked for <image stem>{mask_suffix}.png etc.); "
            "add the masks, remove those images, or set --mask-suffix if mask names differ by a suffix"
        )
    return pairs


# -- reading and checking -----------------------------------------------------------------------------------
def decode_mask(
    path: Path,
    colours: Sequence[Sequence[int]] | None = None,
    binary_threshold: int | None = None,
    size: tuple[int, int] | None = None,
) -> np.ndarray:
    """A mask file -> uint8/int64 (H, W) class indices.

    Single-channel and palette PNGs hold the index directly; RGB masks are mapped through ``colours``
    (the palette file); ``binary_threshold`` maps {0, 255}-style masks to {0, 1} (a mask holding only 0 and 1,
    e.g. another folder scored by a model trained on {0, 255} masks, is already {0, 1} and stays as it is).
    """
    img = open_image(path)
    if size is not None and (img.height, img.width) != size:
        img = img.resize((size[1], size[0]), Image.NEAREST)
    if img.mode in ("RGB", "RGBA") and binary_threshold is None and colours is None:
        rgb = np.asarray(img.convert("RGB"))
        if (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all():
            img = Image.fromarray(np.ascontiguousarray(rgb[..., 0]))  # a gray mask saved as RGB
    if img.mode in ("RGB", "RGBA") and binary_threshold is None:
        if colours is None:
            raise DataError(
                f"mask {path} is a colour image; pass --palette FILE.csv (index,name,r,g,b) to map its colours "
                "to classes, or store class indices as a single-channel PNG"
            )
        rgb = np.asarray(img.convert("RGB")).astype(np.int32)
        code = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
        lut = {(r << 16) | (g << 8) | b: i for i, (r, g, b) in enumerate(colours)}
        out = np.full(code.shape, -1, dtype=np.int64)
        for key, idx in lut.items():
            out[code == key] = idx
        if (out < 0).any():
            y, x = np.argwhere(out < 0)[0]
            raise DataError(
                f"mask {path}: colour {tuple(int(v) for v in rgb[y, x])} at (x={x}, y={y}) is not in the palette; "
                "add it to the palette file"
            )
        return out
    if img.mode not in ("L", "P", "I", "I;16"):
        img = img.convert("L")
    arr = np.asarray(img).astype(np.int64)
    if binary_threshold is not None and arr.max(initial=0) > 1:  # a {0,1} mask is binary already: keep its 1s
        arr = (arr > binary_threshold).astype(np.int64)
    return arr


class SegmentationDataset(Dataset):
    """Image/mask pairs read and checked up front, kept in memory; optional joint augmentation.

    ``num_classes`` None -> inferred from the masks (largest index + 1, the ignore index excluded).
    """

    def __init__(
        self,
        pairs: Sequence[Pair],
        num_classes: int | None = None,
        ignore_index: int | None = None,
        channels: int | None = None,
        image_size: tuple[int, int] | None = None,
        colours: Sequence[Sequence[int]] | None = None,
        binary_threshold: int | None = None,
        transform: JointTransform | None = None,
        check: bool = True,
    ) -> None:
        if not pairs:
            raise DataError("no image/mask pairs found")
        self.decisions: dict[str, str] = {}
        if channels is None:
            channels, why = default_channels(scan_images([p for p, _ in pairs])[1])
            if why:
                self.decisions["channels"] = why
            channels = channels if channels != 4 else 3  # alpha carries no class evidence: RGB
        self.pairs = list(pairs)
        self.ignore_index = ignore_index
        self.transform = transform
        self.mean: torch.Tensor | None = None
        self.std: torch.Tensor | None = None
        self.images: list[np.ndarray] = []
        self.masks: list[np.ndarray] = []
        modes = {}
        self.mask_modes: set[str] = set()
        for img_path, mask_path in self.pairs:
            img = read_image(img_path, channels, image_size)
            mask = decode_mask(mask_path, colours, binary_threshold, image_size)
            with pil_open(mask_path) as m:
                self.mask_modes.add(m.mode)
            if img.shape[:2] != mask.shape:
                raise DataError(
                    f"image {img_path} is {img.shape[1]}x{img.shape[0]} but its mask {mask_path} is "
                    f"{mask.shape[1]}x{mask.shape[0]} (W x H); they must match (or pass --image-size to resize both)"
                )
            modes.setdefault(img.shape[2], img_path)
            self.images.append(np.array(img))  # a writable copy (PIL's buffer is read-only)
            self.masks.append(mask.astype(np.uint8) if mask.max(initial=0) < 256 and mask.min(initial=0) >= 0 else mask)
        if len(modes) > 1:
            raise DataError(f"images mix {sorted(modes)} channels (e.g. {list(modes.values())[:2]}); pass --channels")
        self.channels = next(iter(modes))
        self.num_classes = int(num_classes) if num_classes is not None else 0
        if check:
            self.check_classes(num_classes)

    def mask_values(self) -> set[int]:
        """Every value found in the masks (before any class check)."""
        return {int(v) for m in self.masks for v in np.unique(m)}

    def binarize(self, threshold: int = 127) -> None:
        """{0, 255}-style masks -> {0, 1} in place (what ``--binary-masks`` does at reading)."""
        self.masks = [(m > threshold).astype(np.uint8) for m in self.masks]

    def check_classes(self, num_classes: int | None) -> None:
        """Set ``num_classes`` (None: largest index + 1, the ignore index excluded) and check every mask."""
        ignore_index = self.ignore_index
        if num_classes is None:
            found = self.mask_values() - {ignore_index}
            num_classes = max(found) + 1 if found else 1
        self.num_classes = int(num_classes)
        for (_, mask_path), mask in zip(self.pairs, self.masks):
            values = np.unique(mask)
            bad = [int(v) for v in values if not (0 <= v < self.num_classes or v == ignore_index)]
            if bad:
                raise DataError(
                    f"mask {mask_path} has class index(es) {bad[:5]} outside 0..{self.num_classes - 1}"
                    + (f" (ignore index {ignore_index})" if ignore_index is not None else "")
                    + "; set --classes to the number of classes or --ignore-index for the void label"
                    + (" (masks stored as {0,255}: --binary-masks)" if set(int(v) for v in values) <= {0, 255} else "")
                )

    @property
    def sizes(self) -> list[tuple[int, int]]:
        return [tuple(m.shape) for m in self.masks]

    def set_normalization(self, mean: Sequence[float] | None, std: Sequence[float] | None) -> None:
        self.mean = None if mean is None else torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1)
        self.std = None if std is None else torch.tensor(std, dtype=torch.float32).view(-1, 1, 1)

    def channel_stats(self) -> tuple[list[float], list[float]]:
        """Per-channel mean and std of the images in [0, 1] (computed on the training split only)."""
        c = self.channels
        s = np.zeros(c)
        s2 = np.zeros(c)
        n = 0
        for img in self.images:
            x = img.reshape(-1, c).astype(np.float64) / 255.0
            s += x.sum(0)
            s2 += (x**2).sum(0)
            n += x.shape[0]
        mean = s / n
        std = np.sqrt(np.maximum(s2 / n - mean**2, 1e-12))
        return mean.tolist(), np.maximum(std, 1e-3).tolist()

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        image = to_tensor(self.images[i])
        mask = torch.from_numpy(self.masks[i].astype(np.int64))
        if self.transform is not None:
            image, mask = self.transform(image, mask)
        if self.mean is not None:
            image = (image - self.mean) / self.std
        return {"image": image, "mask": mask}


def parse_scale(scale: str | Sequence[float] | None) -> tuple[float, float] | None:
    """``"0.75,1.25"`` -> (0.75, 1.25); ``"1"``/None -> None."""
    if scale is None:
        return None
    vals = [float(s) for s in scale.split(",")] if isinstance(scale, str) else [float(s) for s in scale]
    if len(vals) == 1:
        vals = [vals[0], vals[0]]
    return None if vals == [1.0, 1.0] else (vals[0], vals[1])


def detect_mask_format(
    values: set[int], modes: set[str], num_classes: int | None, ignore_index: int | None
) -> tuple[str, str]:
    """How masks store classes, from their values and PNG modes -> (format, sentence for the user).

    ``binary``: {0, 255} (255 -> class 1); ``palette``: palette PNG, index = class; ``index``: class indices.
    Raises a DataError naming the flag when the values could mean two things.
    """
    real = values - {ignore_index}
    if real <= {0, 255} and 255 in real and num_classes in (None, 2):
        return "binary", "masks hold {0,255}: read as binary, 255 -> class 1 (--ignore-index 255 if 255 is void)"
    if num_classes is None and ignore_index is None and 255 in real and len(real) > 2 and max(real - {255}) < 64:
        shown = sorted(real - {255})
        raise DataError(
            f"masks hold class indices {shown[:8]} and 255: pass --ignore-index 255 if 255 marks void/unlabelled "
            "pixels, or --classes 256 if 255 is a class"
        )
    if num_classes is None and real and max(real) + 1 > 4 * len(real) and max(real) > 8:
        raise DataError(
            f"mask values {sorted(real)[:8]} are not consecutive class indices 0..K-1; pass --binary-masks for "
            "{0,255} masks, --palette FILE.csv for colour masks, or --classes K if the values are classes"
        )
    if modes & {"RGB", "RGBA"}:
        return "colour", "colour masks mapped to classes through --palette"
    if "P" in modes:
        return "palette", "palette PNG masks: the palette index is the class"
    return "index", f"masks hold class indices ({', '.join(map(str, sorted(real)[:12]))})"


def default_crop(sizes: Sequence[tuple[int, int]], largest: int = 256, multiple: int = 32) -> tuple[int, int]:
    """A square training crop for images of several sizes: at most ``largest``, the median short side, a
    multiple of ``multiple`` (the networks' reduction) and at least ``multiple``."""
    side = int(np.median([min(h, w) for h, w in sizes]))
    side = max(multiple, min(largest, side) // multiple * multiple)
    return side, side


def build_splits(
    train: Sequence[Pair],
    val: Sequence[Pair] | None,
    test: Sequence[Pair] | None,
    source: str,
    num_classes: int | None = None,
    ignore_index: int | None = None,
    channels: int | None = None,
    image_size: int | str | None = None,
    classes: dict[str, Any] | None = None,
    binary_threshold: int | None = None,
    crop_size: int | str | None = None,
    scale: str | Sequence[float] | None = None,
    hflip: bool = True,
    augment: bool = True,
    normalize: bool = True,
    photometric: str | float | Sequence[float] | None = None,
) -> DataSplits:
    """Datasets for the three splits (augmentation on train only) and the ``info`` a task needs.

    ``photometric``: brightness/contrast/saturation/hue jitter of training images only (see
    :meth:`aekit.data.transforms.PhotometricJitter.parse`; None = off, today's behaviour).

    Mask format is detected on the training masks; images of several sizes get random training crops
    (``crop_size``, default :func:`default_crop`) with padding labelled ``ignore_index`` (255 if none was
    given), and native-size evaluation with in-batch padding ignored the same way.
    """
    size = parse_size(image_size)
    colours = classes["colours"] if classes else None
    decisions: dict[str, str] = {}
    all_pairs = [*train, *(val or []), *(test or [])]
    if not train and not all_pairs:
        raise DataError(f"{source}: no image/mask pairs found")
    if channels is None:
        channels, why = default_channels(scan_images([p for p, _ in all_pairs])[1])
        channels = 3 if channels == 4 else channels
        if why:
            decisions["channels"] = why
    kw = {"ignore_index": ignore_index, "channels": channels, "image_size": size, "colours": colours}
    kw["binary_threshold"] = binary_threshold
    first = train or all_pairs  # evaluation of a foreign data set: no training split
    tr = SegmentationDataset(first, None, check=False, **kw)
    fmt, note = (
        ("binary", "masks read as binary {0,255} -> {0,1} (--binary-masks)")
        if binary_threshold is not None
        else detect_mask_format(tr.mask_values(), tr.mask_modes, num_classes, ignore_index)
    )
    decisions["mask_format"] = note
    if fmt == "binary" and binary_threshold is None:
        tr.binarize()
        kw["binary_threshold"] = 127
    tr.check_classes(num_classes)
    num_classes = tr.num_classes
    va = SegmentationDataset(val, num_classes, **kw) if val else None
    te = SegmentationDataset(test, num_classes, **kw) if test else None
    if not train:
        tr, te = None, tr  # type: ignore[assignment]
    sizes = {s for ds in (tr, va, te) if ds is not None for s in ds.sizes}
    crop = parse_size(crop_size)
    if size is None and len(sizes) > 1:
        if crop is None and tr is not None:
            crop = default_crop(tr.sizes)
        if ignore_index is None:
            ignore_index = 255 if num_classes < 255 else num_classes
            for ds in (tr, va, te):
                if ds is not None:
                    ds.ignore_index = ignore_index
        decisions["size"] = (
            f"images have {len(sizes)} sizes: training on random {crop[1] if crop else '-'}x{crop[0] if crop else '-'}"
            f" crops (--crop-size), evaluation at native size; padding labelled {ignore_index} (ignored)"
        )
    elif size is not None:
        decisions["size"] = f"every image resized to {size[1]}x{size[0]} (--image-size)"
    else:
        decisions["size"] = "all images share one size: used whole" + (
            f", random {crop[1]}x{crop[0]} crops" if crop else ""
        )
    try:
        jitter = PhotometricJitter.parse(photometric)
    except ValueError as exc:
        raise DataError(f"{source}: photometric {photometric!r}: {exc}") from exc
    if tr is not None and augment and (crop or parse_scale(scale) or hflip or jitter):
        tr.transform = JointTransform(crop, parse_scale(scale), hflip, fill_mask=ignore_index, photometric=jitter)
        if jitter is not None:
            decisions["photometric"] = (
                f"training images jittered: brightness {jitter.brightness:g}, contrast {jitter.contrast:g}, "
                f"saturation {jitter.saturation:g}, hue {jitter.hue:g} (masks unchanged)"
            )
    decisions.update({k: v for ds in (tr, va, te) if ds is not None for k, v in ds.decisions.items()})
    info: dict[str, Any] = {
        "channels": channels,
        "num_classes": num_classes,
        "ignore_index": ignore_index,
        "source": source,
        "train_files": len(tr) if tr is not None else 0,
        "mask_format": fmt,
        "decisions": decisions,
    }
    if crop is not None:
        info["crop_size"] = list(crop)
    if size is not None:
        info["image_size"] = list(size)
    if classes:
        info["class_names"] = classes["names"][:num_classes]
        info["class_colours"] = classes["colours"][:num_classes]
        if any(w is not None for w in classes["weights"][:num_classes]):
            info["file_class_weights"] = classes["weights"][:num_classes]
    if normalize and tr is not None:
        mean, std = tr.channel_stats()
        info["normalization"] = {"mean": mean, "std": std}
        for ds in (tr, va, te):
            if ds is not None:
                ds.set_normalization(mean, std)
    return DataSplits(tr, va, te, info)


def data_root(path: str | None, name: str) -> Path:
    return Path(path) if path else Path(os.environ.get("AEKIT_DATA", "../shared/data")) / name


# -- registered kinds ----------------------------------------------------------------------------------------
def camvid_pairs(root: Path, split: str) -> list[Pair] | None:
    """``root/<split>`` with labels in ``root/<split>annot`` (SegNet's layout); None if the split is absent."""
    images = root / split
    if not images.is_dir():
        return None
    return pair_files(images, root / f"{split}annot")


@register_data("camvid")
def camvid_data(
    path: str | None,
    classes: int | None = None,
    ignore_index: int | None = None,
    channels: int | None = None,
    image_size: int | str | None = None,
    crop_size: int | str | None = None,
    scale: str | None = None,
    hflip: bool = True,
    augment: bool = True,
    normalize: bool = True,
    splitting: SplitSpec | None = None,
    official_val: str = "auto",
    photometric: str | float | Sequence[float] | None = None,
) -> DataSplits:
    """``camvid:ROOT`` (default ``$AEKIT_DATA/camvid``): train/trainannot, val/valannot, optional test/testannot.

    ``classes.csv`` in ROOT gives names, colours and SegNet's class weights; its void row becomes the
    ignore index (CamVid: 11 classes, void = 11) unless ``classes``/``ignore_index`` say otherwise.

    Without split flags the folders are the splits (SegNet's protocol). With a group hold-out
    (``--val-groups 0006R0``, ``--test-groups``, ``--group-pattern`` or ``--split-file``; group = the file-name
    prefix, the sequence) see :func:`camvid_grouped`: the official val frames of a sequence as close in time
    to training frames as 0016E5's are no guide to unseen scenes.
    """
    root = data_root(path, "camvid")
    if not (root / "train").is_dir():
        raise DataError(f"{root} is not a CamVid folder: expected {root}/train and {root}/trainannot")
    table = read_class_table(root / "classes.csv") if (root / "classes.csv").is_file() else None
    if table is not None:
        void = table["void_index"]
        if ignore_index is None:
            ignore_index = void
        if classes is None:
            classes = len(table["names"]) - (1 if void is not None and void == len(table["names"]) - 1 else 0)
    spec = splitting or SplitSpec()
    if spec.val_data or spec.test_data:
        raise DataError(
            "--val-data/--test-data: camvid takes its splits from ROOT's folders; hold out sequences with "
            "--val-groups/--test-groups, or score another folder with the benchmark's --eval-dir"
        )
    if spec.val_groups or spec.test_groups or spec.group_pattern or spec.split_file:
        train, val, test, record = camvid_grouped(root, spec, official_val)
    else:
        train, val, test, record = camvid_pairs(root, "train") or [], camvid_pairs(root, "val"), \
            camvid_pairs(root, "test"), None  # fmt: skip
    splits = build_splits(
        train,
        val,
        test,
        f"camvid:{root}",
        classes,
        ignore_index,
        channels,
        image_size,
        table,
        None,
        crop_size,
        scale,
        hflip,
        augment,
        normalize,
        photometric,
    )
    if record is not None:
        splits.info["splits"] = record
    return splits


def camvid_grouped(
    root: Path, spec: SplitSpec, official_val: str = "auto"
) -> tuple[list[Pair], list[Pair], list[Pair], dict[str, Any]]:
    """CamVid's train + val (+ test) frames split by :func:`aekit.data.splits.assign_splits` with groups.

    The named groups go where the flags say (every frame of a held-out sequence, whichever folder holds
    it); the rest keeps its folder's split, except the official val frames (``official_val``): ``train``
    pools them into training, ``test`` keeps them out as the test split (to report them beside the held-out
    score); ``auto`` = ``test`` unless ROOT has a test folder. The record lists every frame's split.
    """
    if official_val not in ("auto", "train", "test"):
        raise DataError(f"camvid official_val {official_val!r}: use auto, train or test")
    test = camvid_pairs(root, "test")
    if official_val == "auto":
        official_val = "train" if test else "test"
    if official_val == "test" and test:
        raise DataError(
            f"camvid: {root}/test exists, so the official val frames cannot also be the test split; "
            "pool them into training (official_val=train)"
        )
    folder = {"train": "train", "val": official_val, "test": "test"}
    items = [p for split in ("train", "val", "test") for p in (camvid_pairs(root, split) or [])]
    chosen, record = assign_splits(
        items, lambda p: str(p[0]), spec, f"camvid:{root}", home=lambda p: folder[p[0].parent.name]
    )
    if not chosen["train"]:
        raise DataError(f"camvid:{root}: the group flags leave no training frames; hold out fewer sequences")
    record["official_val"] = official_val
    return chosen["train"], chosen["val"], chosen["test"], record


def pairs_folders(path: str) -> tuple[str, str]:
    """``IMAGES,MASKS`` or ``ROOT`` (with ``images/`` and ``masks/``) -> the two folders."""
    parts = [p for p in path.split(",") if p]
    if len(parts) == 1:
        parts = [str(Path(parts[0]) / "images"), str(Path(parts[0]) / "masks")]
    if len(parts) != 2:
        raise DataError(f"pairs:{path}: give two folders, images and masks, separated by a comma")
    return parts[0], parts[1]


@register_data("pairs")
def pairs_data(
    path: str | None,
    classes: int | None = None,
    ignore_index: int | None = None,
    mask_suffix: str = "",
    palette: str | None = None,
    binary: bool = False,
    channels: int | None = None,
    image_size: int | str | None = None,
    crop_size: int | str | None = None,
    scale: str | None = None,
    hflip: bool = True,
    augment: bool = True,
    normalize: bool = True,
    splitting: SplitSpec | None = None,
    photometric: str | float | Sequence[float] | None = None,
) -> DataSplits:
    """``pairs:IMAGES,MASKS`` (two folders) or ``pairs:ROOT`` (with ``images/`` and ``masks/``).

    Masks share the image's stem (+ ``mask_suffix``); their format is detected (see :func:`detect_mask_format`);
    colour PNGs need ``palette`` (CSV ``index,name,r,g,b``). Split by :func:`aekit.data.splits.assign_splits`
    (default 80/10/10; ``--val-data``/``--test-data`` take more ``IMAGES,MASKS`` folders).
    """
    if not path:
        raise DataError("pairs data needs folders: --data pairs:images/,masks/ (or pairs:ROOT with images/, masks/)")
    lister = lambda arg: pair_files(*pairs_folders(arg), mask_suffix)  # noqa: E731
    pairs = lister(path)
    table = read_class_table(palette) if palette else None
    if table is not None and classes is None:
        classes = len(table["names"]) - (1 if table["void_index"] == len(table["names"]) - 1 else 0)
        ignore_index = table["void_index"] if ignore_index is None else ignore_index
    chosen, record = assign_splits(pairs, lambda p: str(p[0]), splitting or SplitSpec(), f"pairs:{path}",
                                   lister=lister)  # fmt: skip
    splits = build_splits(
        chosen["train"], chosen["val"], chosen["test"], f"pairs:{path}", classes, ignore_index, channels, image_size,
        table, 127 if binary else None, crop_size, scale, hflip, augment, normalize, photometric,
    )  # fmt: skip
    splits.info["splits"] = record
    return splits


@register_data("isbi2012")
def isbi2012_data(
    path: str | None,
    n_val: int = 5,
    n_test: int = 0,
    crop_size: int | str | None = None,
    scale: str | None = None,
    hflip: bool = True,
    augment: bool = True,
    normalize: bool = True,
    image_size: int | str | None = None,
    photometric: str | float | Sequence[float] | None = None,
) -> DataSplits:
    """``isbi2012:ROOT`` (default ``$AEKIT_DATA/isbi2012``): ``image/<k>.png`` and ``label/<k>.png``.

    Labels {0, 255} become 0 = membrane, 1 = cell interior. The last ``n_test`` slices (by index) are the test
    split and the ``n_val`` before them the validation split: neighbouring slices are correlated, so a random
    split would leak, and a figure scored on the slices that chose the checkpoint would be optimistic.
    """
    root = data_root(path, "isbi2012")
    pairs = pair_files(root / "image", root / "label")
    pairs.sort(key=lambda p: int(p[0].stem) if p[0].stem.isdigit() else p[0].stem)
    if n_val < 1 or n_test < 0 or n_val + n_test >= len(pairs):
        raise DataError(f"isbi2012: n_val >= 1 and n_test >= 0 must leave training slices ({len(pairs)} in all), "
                        f"not n_val={n_val}, n_test={n_test}")  # fmt: skip
    table = {"names": ["membrane", "cell interior"], "colours": [[0, 0, 0], [255, 255, 255]], "weights": [None, None]}
    cut = len(pairs) - n_test
    return build_splits(
        pairs[: cut - n_val], pairs[cut - n_val : cut], pairs[cut:] or None, f"isbi2012:{root}", 2, None, 1,
        image_size, table, 127, crop_size, scale, hflip, augment, normalize, photometric,
    )  # fmt: skip
