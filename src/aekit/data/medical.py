"""Medical images: DICOM (pydicom), NIfTI volumes (nibabel) and 16-bit PNG/TIFF, windowed to [0, 1].

Every reader turns stored values into physical units first (DICOM: ``RescaleSlope`` and
``RescaleIntercept`` to Hounsfield units; NIfTI: ``scl_slope``/``scl_inter`` through nibabel; 16-bit
images: a given slope/intercept), clips to [-1024, 3071] HU (GE scanners store -2000 or -1024 outside
the reconstruction circle, i.e. -3024/-2048 HU, which would otherwise stretch the range), then applies a
window (centre C, width W): ``(HU - (C - W/2)) / W`` clipped to [0, 1].

Labels come from a CSV keyed by file name (``--labels labels.csv --target contrast``). Splits are by
patient (CSV column ``patient_id``, else the DICOM ``PatientID``, else the file), stratified by label,
so that no patient is on both sides of a split.
"""

from __future__ import annotations

import contextlib
import csv
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Subset

from aekit.data.base import DataError, DataSplits, register_data
from aekit.data.images import ArrayDataset, check_finite, open_image, parse_size

# (centre, width) in HU; common radiology presets
WINDOWS: dict[str, tuple[float, float]] = {
    "lung": (-600.0, 1500.0),
    "mediastinum": (40.0, 400.0),
    "soft_tissue": (40.0, 400.0),
    "bone": (400.0, 1800.0),
    "full": (1023.5, 4095.0),  # the whole clip range [-1024, 3071]
}
HU_CLIP = (-1024.0, 3071.0)
DICOM_SUFFIXES = (".dcm", ".dicom", ".ima", "")
NIFTI_SUFFIXES = (".nii", ".nii.gz")
IMAGE16_SUFFIXES = (".png", ".tif", ".tiff")


def parse_window(window: str | Sequence[float] | None) -> tuple[float, float]:
    """``lung``, ``mediastinum``/``soft_tissue``, ``bone``, ``full`` or ``"C,W"`` (e.g. ``-600,1500``)."""
    if window is None:
        window = "lung"
    if isinstance(window, str):
        name = window.strip().lower().replace("-", "_")
        if name in WINDOWS:
            return WINDOWS[name]
        try:
            c, w = (float(v) for v in name.split(","))
        except ValueError:
            raise DataError(
                f"--window {window!r} is neither a preset ({', '.join(WINDOWS)}) nor 'CENTER,WIDTH' (e.g. -600,1500)"
            ) from None
    else:
        c, w = (float(v) for v in window)
    if w <= 0:
        raise DataError(f"--window width must be positive, got {w}")
    return c, w


def apply_window(hu: np.ndarray, center: float, width: float, clip: tuple[float, float] = HU_CLIP) -> np.ndarray:
    """HU -> [0, 1]: clip to the valid CT range, then map [C - W/2, C + W/2] linearly to [0, 1]."""
    hu = np.clip(np.asarray(hu, dtype=np.float32), *clip)
    return np.clip((hu - (center - width / 2)) / width, 0.0, 1.0).astype(np.float32)


def resize_slice(img: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    """(H, W) float -> (h, w) with antialiased bilinear interpolation (torch)."""
    if size is None or tuple(img.shape[-2:]) == tuple(size):
        return img
    t = torch.from_numpy(np.ascontiguousarray(img, dtype=np.float32))[None, None]
    return F.interpolate(t, size=size, mode="bilinear", antialias=True, align_corners=False)[0, 0].numpy()


# -- readers ---------------------------------------------------------------------------------------


def read_dicom(path: str | Path) -> tuple[np.ndarray, dict[str, Any]]:
    """One DICOM file -> (HU array (H, W) or (frames, H, W) float32, header facts such as PatientID)."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    path = Path(path)
    try:
        ds = pydicom.dcmread(path)
    except InvalidDicomError as exc:
        raise DataError(f"{path} is not a DICOM file ({exc}); remove it from the folder or fix the file") from exc
    except Exception as exc:  # truncated, unreadable, permission, ...
        raise DataError(f"cannot read DICOM file {path}: {exc.__class__.__name__}: {exc}") from exc
    if "PixelData" not in ds:
        raise DataError(f"DICOM file {path} holds no image (no PixelData); remove it from the folder")
    try:
        stored = ds.pixel_array
    except Exception as exc:
        raise DataError(
            f"cannot decode the pixels of DICOM file {path} ({exc.__class__.__name__}: {exc}); compressed "
            "transfer syntaxes need pylibjpeg or gdcm installed"
        ) from exc
    slope = float(ds.get("RescaleSlope", 1.0) or 1.0)
    intercept = float(ds.get("RescaleIntercept", 0.0) or 0.0)
    hu = stored.astype(np.float32) * slope + intercept
    facts = {
        "patient_id": str(ds.get("PatientID", "")),
        "modality": str(ds.get("Modality", "")),
        "slope": slope,
        "intercept": intercept,
        "dtype": str(stored.dtype),
    }
    return hu, facts


def read_nifti(path: str | Path, axis: int = 2) -> np.ndarray:
    """A NIfTI volume -> slices along ``axis`` as (N, H, W) float32 in scaled units (nibabel applies scl_*)."""
    import nibabel as nib

    try:
        vol = np.asarray(nib.load(str(path)).get_fdata(dtype=np.float32))
    except Exception as exc:
        raise DataError(f"cannot read NIfTI file {path}: {exc.__class__.__name__}: {exc}") from exc
    if vol.ndim == 4 and vol.shape[3] == 1:
        vol = vol[..., 0]
    if vol.ndim == 2:
        vol = vol[..., None]
    if vol.ndim != 3:
        raise DataError(f"NIfTI file {path} has shape {vol.shape}; aekit slices 3-D volumes (or 2-D images)")
    if axis not in (0, 1, 2):
        raise DataError(f"--axis must be 0, 1 or 2, not {axis}")
    slices = np.moveaxis(vol, axis, 0)
    check_finite(slices, f"NIfTI file {path} (slice along axis {axis})")
    return slices


def read_image16(path: str | Path) -> np.ndarray:
    """A 16-bit (or 8-bit) grayscale PNG/TIFF as raw stored values (H, W) float32, without rescaling to 8 bits."""
    img = open_image(path)
    if img.mode not in ("I;16", "I;16B", "I;16L", "I", "F", "L"):
        raise DataError(f"{path} is a {img.mode} image; 16-bit readers take single-channel (grayscale) images")
    return np.asarray(img, dtype=np.float32)


# -- labels ------------------------------------------------------------------------------------------


def read_label_csv(
    csv_path: str | Path, target: str | None, file_column: str = "file", group_column: str | None = "patient_id"
) -> dict[str, dict[str, str]]:
    """``{file name: row}`` of a labels CSV, after checking the file and target columns exist."""
    csv_path = Path(csv_path)
    if not csv_path.is_file():
        raise DataError(f"--labels {csv_path} does not exist")
    with open(csv_path, newline="") as f:
        reader = csv.DictReader(f)
        columns = reader.fieldnames or []
        rows = list(reader)
    if file_column not in columns:
        raise DataError(
            f"{csv_path} has no {file_column!r} column naming the image files (columns: {', '.join(columns)}); "
            "add one or pass --file-column"
        )
    if target is None:
        raise DataError(f"--labels {csv_path} needs --target COLUMN (one of: {', '.join(columns)})")
    if target not in columns:
        raise DataError(
            f"--target {target!r} is not a column of {csv_path}; columns: {', '.join(c for c in columns if c)}"
        )
    out: dict[str, dict[str, str]] = {}
    for line, row in enumerate(rows, start=2):
        name = Path((row.get(file_column) or "").strip()).name
        if not name:
            raise DataError(f"{csv_path} line {line}: empty {file_column!r} value")
        if name in out:
            raise DataError(f"{csv_path} line {line}: file {name} is listed twice")
        if (row.get(target) or "").strip() == "":
            raise DataError(f"{csv_path} line {line}: file {name} has no value in column {target!r}")
        row["_line"] = str(line)
        out[name] = row
    return out


def match_labels(names: list[str], table: dict[str, dict[str, str]], csv_path: str | Path, data_path: str) -> None:
    """Every file has a CSV row and every CSV row has a file; otherwise one error that lists both problems."""
    have = set(names)
    no_row = [n for n in names if n not in table]
    no_file = [n for n in table if n not in have]
    problems = []
    if no_row:
        problems.append(f"{len(no_row)} file(s) in {data_path} have no row in {csv_path}: {', '.join(no_row[:5])}")
    if no_file:
        lines = ", ".join(f"{n} (line {table[n]['_line']})" for n in no_file[:5])
        problems.append(f"{len(no_file)} row(s) of {csv_path} name a file not found in {data_path}: {lines}")
    if problems:
        raise DataError("; ".join(problems) + ". Make the CSV and the folder agree (one row per file).")


def encode_classes(values: list[str]) -> tuple[np.ndarray, list[str]]:
    """Label strings -> class indices; numeric labels sort numerically (0, 1, 2, ... stay in order)."""
    unique = sorted(set(values))
    with contextlib.suppress(ValueError):
        unique = sorted(unique, key=float)
    index = {v: i for i, v in enumerate(unique)}
    return np.asarray([index[v] for v in values], dtype=np.int64), unique


# -- splits ------------------------------------------------------------------------------------------


def split_by_group(
    groups: Sequence[str], labels: np.ndarray | None, val_fraction: float, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train/val/test item indices with whole groups (patients) on one side, stratified by majority label."""
    groups = list(groups)
    members: dict[str, list[int]] = {}
    for i, g in enumerate(groups):
        members.setdefault(g, []).append(i)
    if len(members) < 3 and (val_fraction > 0 or test_fraction > 0):
        raise DataError(f"only {len(members)} patients/volumes: too few to split by patient into train/val/test")
    strata: dict[int, list[str]] = {}
    for g, idx in members.items():
        key = Counter(labels[idx].tolist()).most_common(1)[0][0] if labels is not None else 0
        strata.setdefault(int(key), []).append(g)
    rng = np.random.default_rng(seed)
    parts: dict[str, list[int]] = {"train": [], "val": [], "test": []}
    for key in sorted(strata):
        gs = sorted(strata[key])
        gs = [gs[i] for i in rng.permutation(len(gs))]
        n_test = max(1, round(len(gs) * test_fraction)) if test_fraction > 0 else 0
        n_val = max(1, round(len(gs) * val_fraction)) if val_fraction > 0 else 0
        if n_test + n_val >= len(gs):
            n_val = max(0, len(gs) - n_test - 1)
        for j, g in enumerate(gs):
            side = "test" if j < n_test else "val" if j < n_test + n_val else "train"
            parts[side] += members[g]
    return tuple(np.asarray(sorted(parts[s]), dtype=np.int64) for s in ("train", "val", "test"))  # type: ignore[return-value]


class SliceDataset(ArrayDataset):
    """Windowed slices in memory (N, 1, H, W) in [0, 1], with optional labels, file names and patient groups."""

    def __init__(self, images: np.ndarray, labels: np.ndarray | None, names: list[str], groups: list[str]) -> None:
        super().__init__(images, labels, names)
        self.groups = groups


def _build(
    slices: list[np.ndarray],
    names: list[str],
    volumes: list[str],
    groups_hdr: list[str],
    kind: str,
    path: str,
    labels: str | None,
    target: str | None,
    window: str | None,
    image_size: int | str | None,
    seed: int,
    val_fraction: float,
    test_fraction: float,
    file_column: str,
    group_column: str,
) -> DataSplits:
    """Shared tail of the medical kinds: window, resize, attach CSV labels, split by patient."""
    center, width = parse_window(window)
    size = parse_size(image_size)
    shapes = {s.shape for s in slices}
    if size is None and len(shapes) > 1:
        raise DataError(f"slices in {path} have different sizes {sorted(shapes)[:2]}; pass --image-size (e.g. 64)")
    images = np.stack([resize_slice(apply_window(s, center, width), size) for s in slices])
    y, class_names = None, None
    groups = list(groups_hdr)
    if labels is not None:
        table = read_label_csv(labels, target, file_column, group_column)
        match_labels(sorted(set(volumes)), table, labels, path)
        y, class_names = encode_classes([table[v][target].strip() for v in volumes])  # type: ignore[index]
        if group_column and all(group_column in table[v] and table[v][group_column] for v in volumes):
            groups = [table[v][group_column] for v in volumes]
    elif target is not None:
        raise DataError("--target needs --labels FILE.csv (the CSV with one row per file)")
    groups = [g or v for g, v in zip(groups, volumes)]
    ds = SliceDataset(images, y, names, groups)
    tr, va, te = split_by_group(groups, y, val_fraction, test_fraction, seed)
    info: dict[str, Any] = {
        "channels": 1,
        "image_size": list(images.shape[1:]),
        "source": f"{kind}:{path}",
        "window": [center, width],
        "normalisation": f"HU clipped to {list(HU_CLIP)}, window C={center:g} W={width:g} -> [0, 1]",
        "split": f"by patient ({len(set(groups))} groups), stratified by label, seed {seed}",
        "groups": {
            "train": len({groups[i] for i in tr}),
            "val": len({groups[i] for i in va}),
            "test": len({groups[i] for i in te}),
        },
    }
    if y is not None:
        info.update(num_classes=len(class_names), class_names=class_names, target=target)  # type: ignore[arg-type]
    return DataSplits(Subset(ds, tr.tolist()), Subset(ds, va.tolist()), Subset(ds, te.tolist()), info)


def _files(path: str | None, kind: str, suffixes: Sequence[str]) -> list[Path]:
    if not path:
        raise DataError(f"{kind} data needs a path: --data {kind}:path/to/folder")
    root = Path(path)
    if not root.exists():
        raise DataError(f"{kind} folder {root} does not exist")
    if root.is_file():
        return [root]

    def wanted(p: Path) -> bool:
        name = p.name.lower()
        return any(name.endswith(s) for s in suffixes if s) or ("" in suffixes and "." not in name)

    files = sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".") and wanted(p))
    if not files:
        raise DataError(f"no {kind} files ({', '.join(s or 'no suffix' for s in suffixes)}) in {root}")
    return files


@register_data("dicom")
def dicom_data(
    path: str | None,
    labels: str | None = None,
    target: str | None = None,
    window: str | None = "lung",
    image_size: int | str | None = None,
    seed: int = 0,
    val_fraction: float = 0.1,
    test_fraction: float = 0.25,
    file_column: str = "file",
    group_column: str = "patient_id",
) -> DataSplits:
    """``dicom:FOLDER``: one slice per 2-D DICOM file (multi-frame files give one slice per frame), in HU,
    windowed; labels from ``labels`` CSV column ``target``; train/val/test split by patient."""
    files = _files(path, "dicom", DICOM_SUFFIXES)
    slices, names, volumes, groups = [], [], [], []
    for f in files:
        hu, facts = read_dicom(f)
        frames = hu[None] if hu.ndim == 2 else hu
        for k, s in enumerate(frames):
            slices.append(s)
            names.append(f.name if len(frames) == 1 else f"{f.name}#{k}")
            volumes.append(f.name)
            groups.append(facts["patient_id"])
    return _build(
        slices,
        names,
        volumes,
        groups,
        "dicom",
        str(path),
        labels,
        target,
        window,
        image_size,
        seed,
        val_fraction,
        test_fraction,
        file_column,
        group_column,
    )


@register_data("nifti")
def nifti_data(
    path: str | None,
    labels: str | None = None,
    target: str | None = None,
    window: str | None = "lung",
    image_size: int | str | None = None,
    axis: int = 2,
    seed: int = 0,
    val_fraction: float = 0.1,
    test_fraction: float = 0.25,
    file_column: str = "file",
    group_column: str = "patient_id",
) -> DataSplits:
    """``nifti:FOLDER_OR_FILE``: volumes sliced along ``axis``; a CSV label applies to every slice of its
    volume; splits keep a volume (or its patient) on one side."""
    files = _files(path, "nifti", NIFTI_SUFFIXES)
    slices, names, volumes = [], [], []
    for f in files:
        for k, s in enumerate(read_nifti(f, axis)):
            slices.append(s)
            names.append(f"{f.name}#{k}")
            volumes.append(f.name)
    return _build(
        slices,
        names,
        volumes,
        list(volumes),
        "nifti",
        str(path),
        labels,
        target,
        window,
        image_size,
        seed,
        val_fraction,
        test_fraction,
        file_column,
        group_column,
    )


@register_data("image16")
def image16_data(
    path: str | None,
    labels: str | None = None,
    target: str | None = None,
    window: str | None = "full",
    rescale: str = "1,-1024",
    image_size: int | str | None = None,
    seed: int = 0,
    val_fraction: float = 0.1,
    test_fraction: float = 0.25,
    file_column: str = "file",
    group_column: str = "patient_id",
) -> DataSplits:
    """``image16:FOLDER``: 16-bit grayscale PNG/TIFF with full precision; ``rescale`` "slope,intercept"
    maps stored values to HU (default 1,-1024, the common "HU + 1024" export), then the window applies."""
    try:
        slope, intercept = (float(v) for v in str(rescale).split(","))
    except ValueError:
        raise DataError(f"--rescale must be 'SLOPE,INTERCEPT' (e.g. 1,-1024), not {rescale!r}") from None
    files = _files(path, "image16", IMAGE16_SUFFIXES)
    slices = [read_image16(f) * slope + intercept for f in files]
    names = [f.name for f in files]
    return _build(
        slices,
        names,
        list(names),
        list(names),
        "image16",
        str(path),
        labels,
        target,
        window,
        image_size,
        seed,
        val_fraction,
        test_fraction,
        file_column,
        group_column,
    )
