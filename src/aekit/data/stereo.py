"""Rectified stereo pairs from folders (data kind ``stereo``), calibration, ground truth and paired augmentation.

Layouts found under the path given to ``--data stereo:PATH`` (the path may itself be one scene):

- scene folders holding ``left.png`` + ``right.png`` (Middlebury 2001/2003 here) or ``im0.png`` + ``im1.png``
  (MiddEval3), any image suffix;
- KITTI: a folder ``image_02`` (left camera) beside ``image_03`` (right), files paired by relative path
  (``image_02/data/0000000005.png`` <-> ``image_03/data/0000000005.png``).

Per scene, when present: ``calib.txt`` (Middlebury: ``cam0`` intrinsics -> focal length in pixels,
``baseline``, ``doffs``) or, for KITTI, ``calib_cam_to_cam.txt`` in the drive folder or up to two folders above
(focal and baseline of cameras 2/3 from ``P_rect_02``/``P_rect_03``); ground-truth left disparity
``disp_gt.npy`` (0 = unknown) or ``disp0GT.pfm`` / ``disp0.pfm`` (inf = unknown); evaluation mask
``nonocc.png`` or ``mask0nocc.png`` (255 = non-occluded).

Convention (``shared/data/README.md`` section 4): disparity in pixels at the resolution of the images, the
left view is the reference, left pixel ``x`` matches right pixel ``x - d``. Resizing the images scales
disparities (and focal length and ``doffs``) by the width factor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from aekit.data.base import DataError, DataSplits, register_data
from aekit.data.images import IMAGE_SUFFIXES, open_image, parse_size, pil_open, read_image, to_tensor
from aekit.data.splits import SPLITS, SplitSpec, assign_splits

PAIR_NAMES = (("left", "right"), ("im0", "im1"))
GT_NAMES = ("disp_gt.npy", "disp0GT.pfm", "disp0.pfm")
MASK_NAMES = ("nonocc.png", "mask0nocc.png")


# -- calibration -----------------------------------------------------------------------------------------


@dataclass
class Calibration:
    """Focal length (pixels), baseline (any unit: depth comes out in it) and ``doffs`` (pixels)."""

    focal: float
    baseline: float
    doffs: float = 0.0

    def scaled(self, factor: float) -> Calibration:
        """The calibration after resizing the images by ``factor`` (focal and doffs are in pixels)."""
        return Calibration(self.focal * factor, self.baseline, self.doffs * factor)

    def depth(self, disparity: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
        """Depth ``focal * baseline / (d + doffs)``; non-positive disparities give 0 (unknown)."""
        d = disparity + self.doffs
        if isinstance(d, torch.Tensor):
            return torch.where(d > 0, self.focal * self.baseline / d.clamp_min(1e-6), torch.zeros_like(d))
        return np.where(d > 0, self.focal * self.baseline / np.maximum(d, 1e-6), 0.0)


def _calib_text(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError as exc:
        raise DataError(f"cannot read calibration file {path}: {exc}") from exc


def _checked_calibration(path: Path, focal: float, baseline: float, doffs: float = 0.0) -> Calibration:
    if focal <= 0 or baseline <= 0:
        raise DataError(f"calibration file {path}: focal length {focal} and baseline {baseline} must be positive")
    return Calibration(focal, baseline, doffs)


def read_middlebury_calib(path: str | Path) -> Calibration:
    """Parse a Middlebury ``calib.txt`` (``cam0=[f 0 cx; 0 f cy; 0 0 1]``, ``baseline=``, ``doffs=``)."""
    path = Path(path)
    text = _calib_text(path)
    values = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    values = {k.strip(): v.strip() for k, v in values.items()}
    fix = "expected Middlebury format: cam0=[f 0 cx; 0 f cy; 0 0 1], baseline=<mm>, doffs=<px>"
    if "cam0" not in values or "baseline" not in values:
        raise DataError(
            f"calibration file {path} lacks cam0 and/or baseline ({fix}); or remove it and pass --focal/--baseline"
        )
    try:
        numbers = [float(t) for t in re.split(r"[\s;\[\],]+", values["cam0"]) if t]
        focal, baseline = numbers[0], float(values["baseline"])
        doffs = float(values.get("doffs", 0.0))
    except (ValueError, IndexError) as exc:
        raise DataError(f"calibration file {path} has unreadable numbers ({exc}); {fix}") from exc
    return _checked_calibration(path, focal, baseline, doffs)


def read_kitti_calib(path: str | Path) -> Calibration:
    """Parse a KITTI ``calib_cam_to_cam.txt``: focal from ``P_rect_02``, baseline (metres) between cameras 2 and 3.

    ``P_rect_0i[0, 3] = f * t_i`` (the camera's offset from camera 0 along x), so the baseline of the colour
    pair is ``(P_rect_02[0, 3] - P_rect_03[0, 3]) / f``.
    """
    path = Path(path)
    rows = dict(line.split(":", 1) for line in _calib_text(path).splitlines() if ":" in line)
    fix = "expected KITTI calib_cam_to_cam.txt with P_rect_02 and P_rect_03 (12 numbers each)"
    try:
        p2, p3 = ([float(t) for t in rows[key].split()] for key in ("P_rect_02", "P_rect_03"))
        focal, baseline = p2[0], (p2[3] - p3[3]) / p2[0]
    except (KeyError, ValueError, IndexError, ZeroDivisionError) as exc:
        raise DataError(f"calibration file {path} is unreadable ({exc!r}); {fix}, or pass --focal/--baseline") from exc
    return _checked_calibration(path, focal, baseline)


def _kitti_calib(drive: Path, levels: int = 3) -> Calibration | None:
    """``calib_cam_to_cam.txt`` in the drive folder or the ``levels - 1`` folders above (KITTI raw: per date)."""
    for folder in [drive, *drive.parents][:levels]:
        if (folder / "calib_cam_to_cam.txt").is_file():
            return read_kitti_calib(folder / "calib_cam_to_cam.txt")
    return None


# -- finding pairs ---------------------------------------------------------------------------------------


@dataclass
class StereoPair:
    """Files of one rectified pair; ``name`` is the scene folder (or KITTI relative path)."""

    name: str
    left: Path
    right: Path
    gt: Path | None = None
    mask: Path | None = None
    calib: Calibration | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _image_named(folder: Path, stem: str) -> Path | None:
    for suffix in IMAGE_SUFFIXES:
        p = folder / f"{stem}{suffix}"
        if p.is_file():
            return p
    return None


def _scene_pair(folder: Path, name: str) -> StereoPair | None:
    """The pair in one scene folder, or None when it holds none; a half pair is an error."""
    for lname, rname in PAIR_NAMES:
        left, right = _image_named(folder, lname), _image_named(folder, rname)
        if left is None and right is None:
            continue
        if left is None or right is None:
            have, miss = (left, rname) if right is None else (right, lname)
            raise DataError(
                f"scene {folder} has {have.name} but no {miss} image: every scene needs both views "
                f"({lname}.png and {rname}.png); add it or remove the folder"
            )
        gt = next((folder / g for g in GT_NAMES if (folder / g).is_file()), None)
        mask = next((folder / m for m in MASK_NAMES if (folder / m).is_file()), None)
        calib = read_middlebury_calib(folder / "calib.txt") if (folder / "calib.txt").is_file() else None
        return StereoPair(name, left, right, gt, mask, calib)
    return None


def find_stereo_pairs(root: str | Path) -> list[StereoPair]:
    """All pairs under ``root`` in any supported layout (see module docstring), sorted by name."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"stereo data folder {root} does not exist (--data stereo:PATH)")
    pairs: list[StereoPair] = []
    single = _scene_pair(root, root.name)
    if single is not None:
        return [single]
    for left_dir in sorted(p for p in root.rglob("image_02") if p.is_dir()):
        right_dir = left_dir.parent / "image_03"
        if not right_dir.is_dir():
            raise DataError(f"KITTI layout: {left_dir} has no sibling image_03 folder with the right views")
        calib = _kitti_calib(left_dir.parent)
        for left in sorted(p for p in left_dir.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES):
            rel = left.relative_to(left_dir)
            right = right_dir / rel
            if not right.is_file():
                raise DataError(f"KITTI layout: right image {right} for {left} is missing")
            name = str(left_dir.parent.relative_to(root) / rel.with_suffix(""))
            pairs.append(StereoPair(name, left, right, calib=calib))
    for folder in sorted(p for p in root.rglob("*") if p.is_dir() and p.name not in ("image_02", "image_03")):
        if "image_02" in folder.parts or "image_03" in folder.parts:
            continue
        pair = _scene_pair(folder, str(folder.relative_to(root)))
        if pair is not None:
            pairs.append(pair)
    if not pairs:
        raise DataError(
            f"no stereo pairs under {root}: expected scene folders with left.png/right.png or im0.png/im1.png, "
            "or KITTI image_02/ and image_03/ folders"
        )
    return sorted(pairs, key=lambda p: p.name)


# -- reading ---------------------------------------------------------------------------------------------


def read_disparity(path: Path) -> np.ndarray:
    """Ground-truth disparity (H, W) float32 with unknown pixels set to 0 (npy: 0; PFM: inf or <= 0)."""
    if path.suffix == ".npy":
        try:
            d = np.load(path, allow_pickle=False).astype(np.float32)
        except (OSError, ValueError) as exc:
            raise DataError(f"cannot read disparity {path}: {exc}") from exc
    else:
        from aekit.data.pfm import read_pfm

        d = read_pfm(path)
    if d.ndim != 2:
        raise DataError(f"disparity {path} must be a 2-D (H, W) map, found shape {d.shape}")
    d = np.where(np.isfinite(d) & (d > 0), d, 0.0).astype(np.float32)
    return d


def _resize_map(arr: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of a GT map or mask (no blending across unknown pixels)."""
    img = Image.fromarray(arr.astype(np.float32), mode="F")
    return np.array(img.resize((size[1], size[0]), Image.NEAREST), dtype=np.float32)


def load_pair(pair: StereoPair, size: tuple[int, int] | None = None) -> dict[str, torch.Tensor]:
    """Read one pair as a dataset item, resized to ``size`` (H, W) with disparities scaled by the width factor."""
    left = read_image(pair.left, 3)
    right = read_image(pair.right, 3)
    if left.shape != right.shape:
        raise DataError(
            f"stereo pair {pair.name}: left image {pair.left.name} is {left.shape[1]}x{left.shape[0]} but right "
            f"image {pair.right.name} is {right.shape[1]}x{right.shape[0]}; rectified pairs must have one size"
        )
    h, w = left.shape[:2]
    gt = np.zeros((h, w), np.float32)
    has_gt = pair.gt is not None
    if has_gt:
        gt = read_disparity(pair.gt)
        if gt.shape != (h, w):
            raise DataError(f"disparity {pair.gt} is {gt.shape[1]}x{gt.shape[0]} but the images are {w}x{h}")
    valid = (gt > 0).astype(np.float32)
    nonocc = valid.copy()
    if pair.mask is not None and has_gt:
        m = np.asarray(open_image(pair.mask).convert("L"))
        if m.shape != (h, w):
            raise DataError(f"mask {pair.mask} is {m.shape[1]}x{m.shape[0]} but the images are {w}x{h}")
        nonocc = ((m == 255) & (valid > 0)).astype(np.float32)
    calib = pair.calib
    if size is not None and size != (h, w):
        factor = size[1] / w
        left = np.asarray(Image.fromarray(left).resize((size[1], size[0]), Image.BICUBIC))
        right = np.asarray(Image.fromarray(right).resize((size[1], size[0]), Image.BICUBIC))
        gt = _resize_map(gt, size) * factor
        valid, nonocc = _resize_map(valid, size), _resize_map(nonocc, size)
        calib = calib.scaled(factor) if calib is not None else None
    return {
        "left": to_tensor(left),
        "right": to_tensor(right),
        "disparity": torch.from_numpy(np.ascontiguousarray(gt))[None],
        "valid": torch.from_numpy(np.ascontiguousarray(valid))[None],
        "nonocc": torch.from_numpy(np.ascontiguousarray(nonocc))[None],
        "focal": torch.tensor(calib.focal if calib else 0.0),
        "baseline": torch.tensor(calib.baseline if calib else 0.0),
        "doffs": torch.tensor(calib.doffs if calib else 0.0),
        "has_gt": torch.tensor(float(has_gt)),
    }


class StereoFolderDataset(Dataset):
    """Pairs from :func:`find_stereo_pairs`; sizes checked up front, items cached after the first read.

    Items: ``left``/``right`` (3, H, W) in [0, 1]; ``disparity`` (1, H, W) pixels, 0 where unknown;
    ``valid`` (GT known), ``nonocc`` (evaluation mask: nonocc.png where given, else ``valid``);
    ``focal``/``baseline``/``doffs`` (0 when no calibration); ``has_gt``.
    ``calibration`` (a :class:`Calibration`) overrides every scene's calib.txt (``--focal/--baseline``).
    """

    def __init__(
        self,
        pairs: list[StereoPair],
        image_size: tuple[int, int] | None = None,
        calibration: Calibration | None = None,
        cache: bool = True,
    ) -> None:
        self.pairs = pairs
        self.size = image_size
        self.cache = cache
        self._cache: dict[int, dict[str, torch.Tensor]] = {}
        if calibration is not None:
            for p in pairs:
                p.calib = calibration
        self.sizes = []
        for p in pairs:
            with pil_open(p.left) as a, pil_open(p.right) as b:
                if a.size != b.size:
                    raise DataError(
                        f"stereo pair {p.name}: {p.left.name} is {a.size[0]}x{a.size[1]} but {p.right.name} is "
                        f"{b.size[0]}x{b.size[1]}; both views of a rectified pair must have the same size"
                    )
                self.sizes.append((a.size[1], a.size[0]))

    @property
    def uniform_size(self) -> bool:
        return self.size is not None or len(set(self.sizes)) <= 1

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        if i in self._cache:
            return dict(self._cache[i])
        item = load_pair(self.pairs[i], self.size)
        if self.cache:
            self._cache[i] = item
        return dict(item)


# -- paired augmentation ---------------------------------------------------------------------------------


def flip_pair(item: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Mirror a pair so it stays a valid rectified pair: new left = mirrored right, new right = mirrored left.

    The new left view's disparity is the mirrored *right*-view disparity; when the item has no
    ``disparity_right`` the ground truth becomes unknown (``valid``/``nonocc`` zero, ``has_gt`` 0).
    """
    out = dict(item)
    out["left"], out["right"] = item["right"].flip(-1), item["left"].flip(-1)
    if "disparity_right" in item:
        out["disparity"], out["disparity_right"] = item["disparity_right"].flip(-1), item["disparity"].flip(-1)
        out["valid"] = item["valid"].flip(-1)
        out["nonocc"] = item["valid"].flip(-1)  # the right view's occlusions are not known: use validity
    elif "disparity" in item:
        out["valid"] = torch.zeros_like(item["valid"])
        out["nonocc"] = torch.zeros_like(item["nonocc"])
        out["has_gt"] = torch.tensor(0.0)
    return out


@dataclass
class StereoAugment:
    """Geometry-preserving augmentation of stereo items (training only).

    ``crop`` (H, W): the same window in both views and all maps; ``flip``: with probability 0.5 see
    :func:`flip_pair`; ``jitter``: brightness, contrast, gamma and colour gains drawn once and applied to
    both views identically (photometric consistency between the views is what the loss relies on).
    """

    flip: bool = True
    jitter: float = 0.0
    crop: tuple[int, int] | None = None

    def __call__(self, item: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        item = dict(item)
        if self.crop is not None:
            h, w = item["left"].shape[-2:]
            ch, cw = self.crop
            if ch > h or cw > w:
                raise DataError(f"--crop {cw}x{ch} is larger than the images ({w}x{h}); use a smaller crop")
            top = int(torch.randint(0, h - ch + 1, ()))
            lft = int(torch.randint(0, w - cw + 1, ()))
            for k, v in item.items():
                if v.ndim == 3:
                    item[k] = v[:, top : top + ch, lft : lft + cw]
        if self.flip and float(torch.rand(())) < 0.5:
            item = flip_pair(item)
        if self.jitter > 0:
            j = self.jitter
            bright = 1 + (torch.rand(()) * 2 - 1) * j
            contrast = 1 + (torch.rand(()) * 2 - 1) * j
            gamma = 1 + (torch.rand(()) * 2 - 1) * j * 0.5
            gains = 1 + (torch.rand(3, 1, 1) * 2 - 1) * j * 0.5
            for k in ("left", "right"):
                x = item[k].clamp(0, 1) ** gamma
                x = (x - 0.5) * contrast + 0.5
                item[k] = (x * bright * gains).clamp(0, 1)
        return item


class AugmentedStereo(Dataset):
    """A stereo dataset seen through :class:`StereoAugment` (the training split)."""

    def __init__(self, base: Dataset, augment: StereoAugment) -> None:
        self.base, self.augment = base, augment

    def __len__(self) -> int:
        return len(self.base)  # type: ignore[arg-type]

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return self.augment(self.base[i])


@register_data("stereo")
def stereo_data(
    path: str | None,
    image_size: int | str | None = None,
    exclude: str | None = None,
    focal: float | None = None,
    baseline: float | None = None,
    doffs: float | None = None,
    crop: str | None = None,
    flip: bool = True,
    jitter: float = 0.0,
    splitting: SplitSpec | None = None,
) -> DataSplits:
    """``stereo:PATH``: rectified pairs (see module docstring), split by scene (:func:`assign_splits`, 80/10/10).

    ``exclude``: comma-separated scene names left out (e.g. ``Teddy``); ``focal``+``baseline`` (+``doffs``)
    override calib.txt; ``test_fraction=1`` puts every pair in the test split (how ``aekit evaluate`` reads
    a benchmark folder the model was not trained on). The training split gets the paired augmentation
    (flip, jitter, crop).
    """
    if not path:
        raise DataError("stereo data needs a folder: --data stereo:path/to/pairs")
    pairs = find_stereo_pairs(path)
    if exclude:
        names = {e.strip().lower() for e in str(exclude).split(",") if e.strip()}
        pairs = [p for p in pairs if Path(p.name).name.lower() not in names and p.name.lower() not in names]
        if not pairs:
            raise DataError(f"--exclude {exclude} removed every pair in {path}")
    if (focal is None) != (baseline is None):
        raise DataError("--focal and --baseline go together: pass both (focal in pixels of these images)")
    calib = Calibration(float(focal), float(baseline), float(doffs or 0.0)) if focal is not None else None
    size = parse_size(image_size)
    chosen, record = assign_splits(pairs, lambda p: p.name, splitting or SplitSpec(), f"stereo:{path}")

    def make(split: str) -> StereoFolderDataset | None:
        return StereoFolderDataset(chosen[split], size, calib) if chosen[split] else None

    train, val, test = make("train"), make("val"), make("test")
    decisions = {}
    if size is None and train is not None and not train.uniform_size:
        # the network learns disparity at one width: pairs of other sizes are resized (disparities rescaled)
        from aekit.data.images import most_common

        size = most_common([s for ds in (train, val) if ds is not None for s in ds.sizes])
        decisions["size"] = (
            f"pairs have {len(set(train.sizes))} sizes: all resized to the most common, {size[1]}x{size[0]} "
            "(disparities rescaled; --image-size to choose)"
        )
        train, val = make("train"), make("val")  # test pairs stay at their own size (scored one at a time)
    crop_size = parse_size(crop)
    for name, ds in (("training", train), ("validation", val)):
        if ds is not None and not ds.uniform_size:
            raise DataError(
                f"the {name} pairs in {path} have different sizes ({len(set(ds.sizes))} sizes); pass "
                "--image-size H,W to resize them all (disparities are rescaled with the width)"
            )
    sizes = sorted(set(train.sizes if train is not None else (test or val).sizes))  # type: ignore[union-attr]
    info: dict[str, Any] = {
        "channels": 3,
        "image_size": list(size) if size else list(sizes[0]),
        "source": f"stereo:{path}",
        "disparity_unit": "pixels",
        "pairs": {split: [p.name for p in chosen[split]] for split in SPLITS},
        "splits": record,
        "has_gt": any(p.gt is not None for p in pairs),
        "decisions": decisions,
    }
    if calib is not None:
        info["calibration"] = {"focal": calib.focal, "baseline": calib.baseline, "doffs": calib.doffs}
    if train is not None:
        train = AugmentedStereo(train, StereoAugment(flip=flip, jitter=jitter, crop=crop_size))  # type: ignore[assignment]
    return DataSplits(train, val, test, info)
