"""One LightningDataModule for every task: datasets in, loaders with reproducible shuffling out."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

import lightning.pytorch as L
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset, Sampler, default_collate

from aekit.data.base import DataError, DataSplits


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


def pad_collate(batch: list[dict[str, torch.Tensor]], fills: dict[str, float] | None = None) -> dict[str, torch.Tensor]:
    """Stack a batch; items of different sizes are padded (bottom/right) to the largest.

    Padding takes ``fills[key]`` (the ignore index for ``mask``; 0 elsewhere: 0 is an invalid depth), so
    losses and metrics skip it. A mask without a fill value cannot be padded: a one-line error says why.
    """
    fills = fills or {}
    out: dict[str, torch.Tensor] = {}
    for key in batch[0]:
        values = [item[key] for item in batch]
        if not isinstance(values[0], torch.Tensor):
            out[key] = default_collate(values)
            continue
        shapes = {tuple(v.shape) for v in values}
        if len(shapes) == 1:
            out[key] = torch.stack(values)
            continue
        if key == "mask" and fills.get("mask") is None:
            raise DataError("images of different sizes in one batch and no ignore index to pad their masks; "
                            "pass --ignore-index or --image-size")  # fmt: skip
        h = max(v.shape[-2] for v in values)
        w = max(v.shape[-1] for v in values)
        fill = float(fills.get(key, 0))
        out[key] = torch.stack([F.pad(v, (0, w - v.shape[-1], 0, h - v.shape[-2]), value=fill) for v in values])
    return out


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
            collate_fn=partial(pad_collate, fills={"mask": self.splits.info.get("ignore_index")}),
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.splits.train, True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.splits.val, False)

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.splits.test, False)

    def predict_dataloader(self) -> DataLoader:
        return self._loader(self.splits.test, False)
