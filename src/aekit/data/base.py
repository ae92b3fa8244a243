"""The data-source registry and the train/val/test bundle every kind returns."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from torch.utils.data import Dataset

_KINDS: dict[str, Callable[..., DataSplits]] = {}


class DataError(ValueError):
    """Bad user data: the message names the file or option and says how to fix it."""


@dataclass
class DataSplits:
    """Train/val/test datasets of one source, plus facts a model needs (``channels``, ``num_classes``...)."""

    train: Dataset | None
    val: Dataset | None
    test: Dataset | None
    info: dict[str, Any] = field(default_factory=dict)

    def split(self, name: str) -> Dataset:
        ds = getattr(self, name, None)
        if ds is None:
            raise DataError(f"this data source has no {name!r} split")
        return ds


def register_data(kind: str) -> Callable[[Callable[..., DataSplits]], Callable[..., DataSplits]]:
    def wrap(fn: Callable[..., DataSplits]) -> Callable[..., DataSplits]:
        _KINDS[kind] = fn
        return fn

    return wrap


def data_kinds() -> list[str]:
    return sorted(_KINDS)


def open_data(spec: str, **options: Any) -> DataSplits:
    """Open ``kind[:argument]``; options the kind does not take are ignored (the CLI passes them all)."""
    kind, _, arg = spec.partition(":")
    if kind not in _KINDS:
        raise DataError(f"unknown data kind {kind!r} in --data {spec!r}; known kinds: {', '.join(data_kinds())}")
    fn = _KINDS[kind]
    params = inspect.signature(fn).parameters
    accepted = {k: v for k, v in options.items() if k in params and v is not None}
    if "splitting" in params and accepted.get("splitting") is None:
        from aekit.data.splits import SplitSpec  # the split flags, gathered for sources that use assign_splits

        accepted["splitting"] = SplitSpec.from_options(options)
    else:
        user = [k for k in ("val_data", "test_data", "split_file", "val_groups", "test_groups") if options.get(k)]
        if user and "splitting" not in params:
            flags = ", ".join("--" + k.replace("_", "-") for k in user)
            raise DataError(f"{flags}: the data kind {kind!r} has fixed splits; these flags work with folder sources")
    return fn(arg or None, **accepted)


def split_indices(
    n: int, val_fraction: float, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A seeded permutation cut into train/val/test index arrays (each sorted)."""
    if n < 3:
        raise DataError(f"need at least 3 items to split into train/val/test, found {n}")
    perm = np.random.default_rng(seed).permutation(n)
    n_test = max(1, round(n * test_fraction)) if test_fraction > 0 else 0
    n_val = max(1, round(n * val_fraction)) if val_fraction > 0 else 0
    test, val, train = perm[:n_test], perm[n_test : n_test + n_val], perm[n_test + n_val :]
    return np.sort(train), np.sort(val), np.sort(test)
