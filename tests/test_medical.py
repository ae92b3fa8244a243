"""Medical readers: DICOM to HU (synthetic files written with pydicom), windows, CSV labels, patient splits."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED_DATA, needs_shared_data
from PIL import Image

from aekit.data import open_data
from aekit.data.base import DataError
from aekit.data.medical import WINDOWS, apply_window, parse_window, read_dicom
from aekit.data.sampling import dataset_labels


def write_dicom(
    path: Path, stored: np.ndarray, slope: float | None, intercept: float | None, patient: str = "P1"
) -> Path:
    """A minimal CT DICOM file (explicit VR little endian) with the given stored pixels and rescale tags."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "CT"
    ds.PatientID = patient
    ds.Rows, ds.Columns = stored.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1 if stored.dtype == np.int16 else 0
    if slope is not None:
        ds.RescaleSlope = str(slope)
    if intercept is not None:
        ds.RescaleIntercept = str(intercept)
    ds.PixelData = stored.tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


@pytest.mark.parametrize(
    "dtype,slope,intercept",
    [(np.uint16, 1.0, -1024.0), (np.uint16, 1.000244, -1024.0), (np.int16, 1.0, -1024.0), (np.int16, 1.0, 0.0)],
)
def test_dicom_gives_hounsfield_units(tmp_path: Path, dtype, slope: float, intercept: float) -> None:
    rng = np.random.default_rng(0)
    lo = 0 if dtype == np.uint16 else -2000
    stored = rng.integers(lo, 3000, size=(12, 10)).astype(dtype)
    stored[0, 0] = np.iinfo(dtype).max if dtype == np.uint16 else -2000  # extremes / GE padding value
    path = write_dicom(tmp_path / "a.dcm", stored, slope, intercept)
    hu, facts = read_dicom(path)
    expected = stored.astype(np.float64) * slope + intercept
    assert hu.shape == (12, 10) and hu.dtype == np.float32
    np.testing.assert_allclose(hu, expected, rtol=1e-7, atol=1e-3)
    assert facts["patient_id"] == "P1" and facts["dtype"] == np.dtype(dtype).name


def test_missing_rescale_tags_mean_identity(tmp_path: Path) -> None:
    stored = np.arange(20, dtype=np.int16).reshape(4, 5) - 1000
    hu, _ = read_dicom(write_dicom(tmp_path / "b.dcm", stored, None, None))
    assert np.array_equal(hu, stored.astype(np.float32))


def test_windows_and_clipping() -> None:
    assert parse_window("lung") == WINDOWS["lung"] and parse_window("soft-tissue") == WINDOWS["mediastinum"]
    assert parse_window("40,400") == (40.0, 400.0)
    with pytest.raises(DataError, match="CENTER,WIDTH"):
        parse_window("brain-ish")
    c, w = parse_window("40,400")
    out = apply_window(np.array([-3024.0, -160.0, 40.0, 240.0, 3000.0]), c, w)
    np.testing.assert_allclose(out, [0.0, 0.0, 0.5, 1.0, 1.0])
    # GE padding (-3024 HU) is clipped to -1024 before windowing: with a full-range window it lands on 0
    full = apply_window(np.array([-3024.0, -1024.0, 3071.0]), *WINDOWS["full"])
    np.testing.assert_allclose(full, [0.0, 0.0, 1.0], atol=1e-6)


def ct_folder(tmp_path: Path, n_patients: int = 6, per_patient: int = 2) -> tuple[Path, Path]:
    folder = tmp_path / "dicom"
    folder.mkdir()
    rows = ["file,contrast,patient_id"]
    for p in range(n_patients):
        for s in range(per_patient):
            label = p % 2
            stored = np.full((16, 16), 1024 + (300 if label else -500), np.uint16)  # 300 HU or -500 HU
            name = f"p{p}_s{s}.dcm"
            write_dicom(folder / name, stored, 1.0, -1024.0, patient=f"PAT{p}")
            rows.append(f"{name},{label},PAT{p}")
    csv = tmp_path / "labels.csv"
    csv.write_text("\n".join(rows) + "\n")
    return folder, csv


def test_dicom_kind_windows_labels_and_splits_by_patient(tmp_path: Path) -> None:
    folder, csv = ct_folder(tmp_path)
    splits = open_data(f"dicom:{folder}", labels=str(csv), target="contrast", window="40,400", image_size=8, seed=1)
    assert splits.info["num_classes"] == 2 and splits.info["class_names"] == ["0", "1"]
    x = splits.train[0]["image"]
    assert x.shape == (1, 8, 8)
    base = splits.train.dataset
    groups = {name: set() for name in ("train", "val", "test")}
    for name in groups:
        ds = getattr(splits, name)
        groups[name] = {base.groups[i] for i in ds.indices}
        for i in ds.indices:  # label 1 = 300 HU -> 1.0 in a 40,400 window; label 0 = -500 HU -> 0.0
            assert float(base.images[i].mean()) == pytest.approx(float(base.labels[i]), abs=1e-5)
    assert not (groups["train"] & groups["test"]) and not (groups["train"] & groups["val"])
    assert sum(len(getattr(splits, n)) for n in groups) == 12
    assert sorted(set(dataset_labels(splits.test).tolist())) == [0, 1]  # stratified by label


def test_bad_dicom_and_csv_inputs_are_named(tmp_path: Path) -> None:
    folder, csv = ct_folder(tmp_path, 3, 1)
    # a target column that is not in the CSV
    with pytest.raises(DataError, match=r"--target 'age' is not a column .*columns: file, contrast, patient_id"):
        open_data(f"dicom:{folder}", labels=str(csv), target="age")
    # a CSV row without a file
    csv.write_text(csv.read_text() + "ghost.dcm,1,PAT9\n")
    with pytest.raises(DataError, match=r"name a file not found .*ghost\.dcm \(line 5\)"):
        open_data(f"dicom:{folder}", labels=str(csv), target="contrast")
    # a file without a CSV row
    csv.write_text("\n".join(csv.read_text().splitlines()[:3]) + "\n")
    with pytest.raises(DataError, match=r"have no row in .*p2_s0\.dcm"):
        open_data(f"dicom:{folder}", labels=str(csv), target="contrast")
    # a file with a DICOM suffix that is not DICOM, and a truncated DICOM
    (folder / "notes.dcm").write_text("not a dicom file")
    with pytest.raises(DataError, match=r"notes\.dcm is not a DICOM file"):
        open_data(f"dicom:{folder}")
    os.remove(folder / "notes.dcm")
    good = (folder / "p0_s0.dcm").read_bytes()
    (folder / "p0_s0.dcm").write_bytes(good[: len(good) - 300])
    with pytest.raises(DataError, match=r"p0_s0\.dcm"):
        open_data(f"dicom:{folder}")


def test_nifti_volumes_are_sliced_along_an_axis(tmp_path: Path) -> None:
    import nibabel as nib

    folder = tmp_path / "nii"
    folder.mkdir()
    for v in range(4):
        vol = np.full((10, 12, 3), -1000.0 + 500 * (v % 2), np.float32)
        nib.save(nib.Nifti1Image(vol, np.eye(4)), str(folder / f"vol{v}.nii.gz"))
    (tmp_path / "l.csv").write_text("file,label\n" + "".join(f"vol{v}.nii.gz,{v % 2}\n" for v in range(4)))
    splits = open_data(f"nifti:{folder}", labels=str(tmp_path / "l.csv"), target="label", axis=2, window="full")
    assert sum(len(d) for d in (splits.train, splits.val, splits.test)) == 12  # 4 volumes x 3 slices
    assert splits.train[0]["image"].shape == (1, 10, 12)
    splits0 = open_data(f"nifti:{folder}", axis=0, window="full", val_fraction=0.0, test_fraction=0.25)
    assert splits0.train[0]["image"].shape == (1, 12, 3)


def test_16bit_png_keeps_full_precision(tmp_path: Path) -> None:
    folder = tmp_path / "png"
    folder.mkdir()
    for i in range(4):
        arr = np.full((8, 8), 1024 + 40 + i, np.uint16)  # HU + 1024 export: 40..43 HU
        Image.fromarray(arr).save(folder / f"im{i}.png")
    splits = open_data(f"image16:{folder}", window="40,400", val_fraction=0.0, test_fraction=0.25)
    base = splits.train.dataset
    values = sorted(float(base.images[i].mean()) for i in range(4))
    np.testing.assert_allclose(values, [0.5, 0.5025, 0.505, 0.5075], atol=1e-6)  # 1 HU steps survive


@needs_shared_data("ct_tcia", "labels.csv")
def test_real_ct_tcia_contrast_labels() -> None:
    root = SHARED_DATA / "ct_tcia"
    splits = open_data(f"dicom:{root / 'dicom'}", labels=str(root / "labels.csv"), target="contrast", image_size=32)
    n = sum(len(d) for d in (splits.train, splits.val, splits.test))
    assert n == 80 and splits.info["num_classes"] == 2
    base = splits.train.dataset
    train_p = {base.groups[i] for i in splits.train.indices}
    test_p = {base.groups[i] for i in splits.test.indices}
    assert not train_p & test_p and len(train_p | test_p | {base.groups[i] for i in splits.val.indices}) == 42
