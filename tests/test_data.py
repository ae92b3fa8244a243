import gzip
import struct

import numpy as np
import pytest
from conftest import blobs
from PIL import Image

from aekit.data import open_data
from aekit.data.base import DataError
from aekit.data.images import ImageFolderDataset
from aekit.data.mnist import load_mnist_arrays, read_idx


def write_idx(path, array: np.ndarray, gz: bool = False) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(struct.pack(">I", s) for s in array.shape)
    data = header + array.astype(np.uint8).tobytes()
    with (gzip.open if gz else open)(path, "wb") as f:  # closed: an unflushed gzip stream is truncated
        f.write(data)


@pytest.mark.parametrize("gz", [False, True])
def test_idx_round_trip(tmp_path, gz):
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path = tmp_path / ("x.idx3-ubyte.gz" if gz else "x.idx3-ubyte")
    write_idx(path, arr, gz)
    np.testing.assert_array_equal(read_idx(path), arr)


def test_truncated_idx_is_reported(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte"
    write_idx(path, np.zeros((4, 2, 2), np.uint8))
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(DataError, match="truncated"):
        read_idx(path)


def test_mnist_folder_uses_t10k_when_present_else_last_10000(tmp_path):
    x, y = np.zeros((10010, 28, 28), np.uint8), np.arange(10010) % 10
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", x, gz=True)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", y, gz=True)
    arrays = load_mnist_arrays(tmp_path)
    assert len(arrays["train"][0]) == 10 and len(arrays["test"][0]) == 10000
    write_idx(tmp_path / "t10k-images-idx3-ubyte", x[:7])
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", y[:7])
    arrays = load_mnist_arrays(tmp_path)
    assert len(arrays["train"][0]) == 10010 and len(arrays["test"][0]) == 7


@pytest.mark.slow
def test_mnist5k_is_split_deterministically():
    a, b = open_data("mnist5k", seed=0), open_data("mnist5k", seed=0)
    assert (len(a.train), len(a.val), len(a.test)) == (3600, 400, 1000)
    assert np.array_equal(a.test[0]["image"].numpy(), b.test[0]["image"].numpy())
    assert a.test[0]["image"].shape == (1, 28, 28) and 0 <= a.test[0]["image"].min() <= a.test[0]["image"].max() <= 1
    assert set(a.info) >= {"channels", "image_size", "num_classes"}


def test_folder_is_recursive_and_splits(image_folder):
    splits = open_data(f"folder:{image_folder}", seed=1)
    assert len(splits.train) + len(splits.val) + len(splits.test) == 24
    assert splits.train[0]["image"].shape == (1, 16, 16)


def test_missing_and_empty_folders(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        ImageFolderDataset(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="folder is empty"):
        ImageFolderDataset(tmp_path / "empty")
    (tmp_path / "texts").mkdir()
    (tmp_path / "texts" / "a.txt").write_text("hi")
    with pytest.raises(DataError, match=r"no image files .*a\.txt"):
        ImageFolderDataset(tmp_path / "texts")


def test_corrupt_image_is_named(image_folder):
    (image_folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(DataError, match="broken.png"):
        ImageFolderDataset(image_folder)


def test_mixed_sizes_resize_to_the_most_common_size(image_folder):
    Image.fromarray(np.zeros((20, 18), np.uint8)).save(image_folder / "odd.png")
    ds = ImageFolderDataset(image_folder)
    assert ds.image_shape == (1, 16, 16) and "--image-size" in ds.decisions["size"]
    assert all(ds[i]["image"].shape == (1, 16, 16) for i in range(len(ds)))
    ds = ImageFolderDataset(image_folder, image_size="12,10")
    assert ds[0]["image"].shape == (1, 12, 10)


def test_mixed_channels_are_read_as_rgb(image_folder):
    Image.fromarray(blobs(1, 16, channels=3)[0]).save(image_folder / "colour.png")
    ds = ImageFolderDataset(image_folder)
    assert ds.channels == 3 and "--channels" in ds.decisions["channels"]
    assert ImageFolderDataset(image_folder, channels=1)[0]["image"].shape == (1, 16, 16)
    assert ImageFolderDataset(image_folder, channels=3)[0]["image"].shape == (3, 16, 16)
    with pytest.raises(DataError, match="--channels must be 1, 3 or 4"):
        ImageFolderDataset(image_folder, channels=2)


def test_npz_with_labels(npy_file):
    splits = open_data(f"npy:{npy_file}")
    item = splits.train[0]
    assert item["image"].shape == (1, 16, 16) and item["label"].dtype.is_floating_point is False


def test_unknown_data_kind_lists_kinds():
    with pytest.raises(DataError, match="known kinds: .*folder.*mnist"):
        open_data("imagenet:/data")
