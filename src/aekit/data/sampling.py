"""Few-label subsets: balanced per class, reproducible from a seed, nested across sizes."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import ConcatDataset, Dataset, Subset

from aekit.data.base import DataError


def dataset_labels(ds: Dataset) -> np.ndarray:
    """The int labels of a dataset without decoding its images where possible (ArrayDataset, Subset, Concat)."""
    if isinstance(ds, Subset):
        return dataset_labels(ds.dataset)[np.asarray(ds.indices, dtype=np.int64)]
    if isinstance(ds, ConcatDataset):
        return np.concatenate([dataset_labels(d) for d in ds.datasets])
    labels = getattr(ds, "labels", None)
    if isinstance(labels, torch.Tensor | np.ndarray):
        return np.asarray(labels, dtype=np.int64)
    items = [ds[i] for i in range(len(ds))]  # type: ignore[arg-type]
    if not items or "label" not in items[0]:
        raise DataError("this data source has no labels; a labeled source is needed (e.g. --labels FILE.csv)")
    return np.asarray([int(it["label"]) for it in items], dtype=np.int64)


def item_ids(ds: Dataset) -> list[str]:
    """A stable name per item, for people and for label CSVs (``aekit suggest-labels`` / ``finetune --labels``):
    the file path of folder sources, the source's ``names`` (``mnist:<index>``, DICOM file names), else
    ``#<index>`` (through ``Subset``s and concatenations)."""
    if isinstance(ds, Subset):
        inner = item_ids(ds.dataset)
        return [inner[i] for i in ds.indices]
    if isinstance(ds, ConcatDataset):
        return [n for d in ds.datasets for n in item_ids(d)]
    files = getattr(ds, "files", None)
    if files is not None:
        return [str(f) for f in files]
    names = getattr(ds, "names", None)
    if names is not None:
        return [str(n) for n in names]
    return [f"#{i}" for i in range(len(ds))]  # type: ignore[arg-type]


def sample_per_class(
    labels: Sequence[int] | np.ndarray, per_class: int, seed: int, classes: Sequence[int] | None = None
) -> np.ndarray:
    """Indices of ``per_class`` examples of every class, sorted.

    The same seed gives the same subset, and a smaller subset is contained in a larger one for the same
    seed (each class's examples are taken from the front of one seeded permutation), so curves over
    label counts compare nested labeled sets.
    """
    labels = np.asarray(labels, dtype=np.int64)
    if per_class < 1:
        raise DataError(f"--labels-per-class must be at least 1, not {per_class}")
    classes = sorted(np.unique(labels).tolist()) if classes is None else list(classes)
    rng = np.random.default_rng(seed)
    chosen = []
    for c in classes:
        idx = np.flatnonzero(labels == c)
        if len(idx) < per_class:
            raise DataError(
                f"class {c} has only {len(idx)} labeled examples in the pool but --labels-per-class is {per_class}; "
                f"use at most {len(idx)} labels per class"
            )
        chosen.append(idx[rng.permutation(len(idx))[:per_class]])
    return np.sort(np.concatenate(chosen))


class RepeatDataset(Dataset):
    """A small dataset repeated to ``length`` items, so one epoch holds many steps on a few labels
    (fewer epoch ends, checkpoints and validation passes than one-batch epochs)."""

    def __init__(self, dataset: Dataset, length: int) -> None:
        self.dataset = dataset
        self.n = len(dataset)  # type: ignore[arg-type]
        if self.n == 0:
            raise DataError("the labeled subset is empty")
        self.length = max(int(length), self.n)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return self.dataset[i % self.n]


class Relabeled(Dataset):
    """``dataset[indices[i]]``'s image with ``labels[i]`` as its label: pseudo-labeled pool images."""

    def __init__(
        self, dataset: Dataset, indices: Sequence[int] | np.ndarray, labels: Sequence[int] | np.ndarray
    ) -> None:
        if len(indices) != len(labels):
            raise ValueError(f"{len(indices)} indices but {len(labels)} labels")
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64)
        self.labels = np.asarray(labels, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        image = self.dataset[int(self.indices[i])]["image"]
        return {"image": image, "label": torch.tensor(int(self.labels[i]), dtype=torch.long)}


def select_confident(
    probs: np.ndarray, per_class: int, exclude: Sequence[int] | np.ndarray = ()
) -> tuple[np.ndarray, np.ndarray]:
    """Pseudo-labels for self-training: for every class, the ``per_class`` pool items predicted as that class
    with the highest confidence (fewer where fewer are predicted), skipping ``exclude`` (the labeled few).

    Balanced per class on purpose: picking by a global confidence threshold lets the easiest classes (on
    MNIST the 1s and 0s) crowd out the hard ones. Returns ``(indices, labels)``, indices sorted.
    """
    probs = np.asarray(probs)
    pred = probs.argmax(1)
    conf = probs.max(1)
    allowed = np.ones(len(probs), dtype=bool)
    allowed[np.asarray(exclude, dtype=np.int64)] = False
    picked = []
    for c in range(probs.shape[1]):
        idx = np.flatnonzero((pred == c) & allowed)
        picked.append(idx[np.argsort(-conf[idx], kind="stable")[:per_class]])
    idx = np.sort(np.concatenate(picked))
    return idx, pred[idx]


class MixedDataset(Dataset):
    """Alternates labeled items and unlabeled ones (``label`` = -1), so every shuffled batch is about half
    labeled, half unlabeled: for training with reconstruction as an auxiliary loss on the unlabeled pool.

    ``length`` items; the unlabeled images come from a seeded permutation of ``unlabeled``.
    """

    def __init__(self, labeled: Dataset, unlabeled: Dataset, length: int, seed: int = 0) -> None:
        self.labeled = labeled
        self.unlabeled = unlabeled
        self.n_l = len(labeled)  # type: ignore[arg-type]
        self.n_u = len(unlabeled)  # type: ignore[arg-type]
        if self.n_l == 0 or self.n_u == 0:
            raise DataError("mixed training needs labeled and unlabeled images")
        self.length = max(int(length), 2 * self.n_l)
        self.perm = np.random.default_rng(seed).permutation(self.n_u)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        if i % 2 == 0:
            item = self.labeled[(i // 2) % self.n_l]
            return {"image": item["image"], "label": item["label"]}
        item = self.unlabeled[int(self.perm[(i // 2) % self.n_u])]
        return {"image": item["image"], "label": torch.tensor(-1, dtype=torch.long)}
