"""One LightningDataModule for every task: datasets in, loaders with reproducible shuffling out."""

from __future__ import annotations

from collections.abc import Iterator

import lightning.pytorch as L
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from aekit.data.base import DataSplits


class EpochSeededSampler(Sampler[int]):
    """Shuffles with a generator seeded by (seed, epoch).

    Lightning calls ``set_epoch`` every epoch, so a run resumed from a checkpoint sees exactly the
    batches an uninterrupted run would have seen.
    """

    def __init__(self, data_source: Dataset, seed: int = 0) -> None:
        self.n = len(data_source)  # type: ignore[arg-type]
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Iterator[int]:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        return iter(torch.randperm(self.n, generator=g).tolist())


class DataModule(L.LightningDataModule):
    """Wraps :class:`DataSplits` with batch size, workers and seeded shuffling."""

    def __init__(self, splits: DataSplits, batch_size: int = 64, num_workers: int = 0, seed: int = 0) -> None:
        super().__init__()
        self.splits = splits
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.seed = seed

    def _loader(self, ds: Dataset | None, train: bool) -> DataLoader:
        if ds is None:
            return []  # type: ignore[return-value]  (Lightning skips an empty loader list)
        return DataLoader(
            ds,
            batch_size=self.batch_size,
            sampler=EpochSeededSampler(ds, self.seed) if train else None,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            drop_last=train and len(ds) > self.batch_size,  # type: ignore[arg-type]
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.splits.train, True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.splits.val, False)

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.splits.test, False)

    def predict_dataloader(self) -> DataLoader:
        return self._loader(self.splits.test, False)
