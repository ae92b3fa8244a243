"""Pre-train a segmentation model's encoder as an autoencoder on unlabelled frames, then copy it in (issue 13).

Why: a scene-parsing model trained on a few sequences memorises them; an encoder that first learned to
reconstruct frames (no labels read) may start from features that carry over to unseen scenes. The
autoencoder is built with *the segmentation model's own encoder* (same widths, blocks, kernel size, norm,
pooling; read off the built model), so :func:`aekit.io.load_encoder_weights` copies every encoder tensor.
It is trained on the same normalised inputs the segmentation model sees (mean/std of the training split),
with an unbounded output and an L2 loss, so the first convolution's filters mean the same thing in both.
Which frames it sees is the caller's choice; for an honest held-out score never include the held-out or
test frames (see ``benchmarks/camvid.py --pretrain-minutes``).
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset

from aekit.data.base import DataSplits
from aekit.data.module import DataModule
from aekit.engine import TrainConfig, fit
from aekit.io import load_encoder_weights
from aekit.registry import create_model
from aekit.tasks.reconstruction import ReconstructionTask


class ImagesOnly(Dataset):
    """The ``image`` of every item of several datasets (masks dropped: pre-training reads no labels)."""

    def __init__(self, datasets: Sequence[Dataset], keep: slice | None = None) -> None:
        self.datasets = [ds for ds in datasets if ds is not None]
        self.index = [(d, i) for d, ds in enumerate(self.datasets) for i in range(len(ds))]  # type: ignore[arg-type]
        if keep is not None:
            self.index = self.index[keep]

    def without(self, other: ImagesOnly) -> ImagesOnly:
        """The items of ``self`` not in ``other`` (same datasets)."""
        out = ImagesOnly(self.datasets)
        taken = set(other.index)
        out.index = [k for k in self.index if k not in taken]
        return out

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, k: int) -> dict[str, torch.Tensor]:
        d, i = self.index[k]
        return {"image": self.datasets[d][i]["image"]}


def encoder_config(model: nn.Module, norm: str = "batch", act: str = "relu") -> dict[str, Any]:
    """The :class:`aekit.models.encoders.ConvEncoder` arguments of a built model's ``encoder``.

    Widths, pooling, convolutions per stage and kernel size are read off the modules; ``norm`` and ``act``
    are the model's own arguments (a mismatch is caught when the weights are copied).
    """
    enc = model.encoder
    blocks = [sum(1 for m in stage.modules() if isinstance(m, nn.Conv2d)) for stage in enc.stages]
    conv = next(m for m in enc.stages[0].modules() if isinstance(m, nn.Conv2d))
    return {
        "widths": list(enc.widths),
        "blocks_per_stage": blocks,
        "kernel_size": int(conv.kernel_size[0]),
        "norm": norm,
        "act": act,
        "downsample": enc.downsample,
    }


def pretrain_encoder(
    model: nn.Module,
    images: Sequence[Dataset],
    run_dir: str | Path,
    cfg: TrainConfig,
    image_size: Sequence[int],
    model_kwargs: dict[str, Any] | None = None,
    latent_dim: int = 256,
    mask_ratio: float = 0.25,
    lr: float = 3e-3,
    val_images: Dataset | None = None,
) -> list[str]:
    """Train an autoencoder whose encoder matches ``model.encoder`` on ``images`` and copy that encoder into
    ``model`` in place; returns the names of the copied tensors. The run (``best.ckpt`` etc.) is left in
    ``run_dir``.

    ``mask_ratio``: fraction of input pixels zeroed in training (a masked autoencoder: zero is the mean
    colour after normalisation), so the code cannot be a copy of the pixels. ``val_images`` (unlabelled)
    picks the best epoch by reconstruction loss; without it every tenth frame of ``images`` is kept aside
    for that.
    """
    kw = model_kwargs or {}
    defaults = {k: p.default for k, p in inspect.signature(type(model).__init__).parameters.items()}
    norm = kw.get("norm", defaults.get("norm", "batch"))
    act = kw.get("act", defaults.get("act", "relu"))
    enc = encoder_config(model, norm if isinstance(norm, str) else "batch", act if isinstance(act, str) else "relu")
    in_channels = next(m for m in model.encoder.modules() if isinstance(m, nn.Conv2d)).in_channels
    ae_kwargs = {**enc, "in_channels": in_channels, "image_size": [int(s) for s in image_size],
                 "latent_dim": latent_dim, "upsample": "bilinear", "output_activation": "none"}  # fmt: skip
    create_model("autoencoder", **ae_kwargs)  # fail before training if the configuration is impossible
    task = ReconstructionTask("autoencoder", ae_kwargs, loss="l2", lr=lr, mask_ratio=mask_ratio,
                              value_range=None, metadata={"pretrained_for": type(model).__name__})  # fmt: skip
    train = ImagesOnly(images)
    if val_images is None:
        val_images = ImagesOnly(images, slice(None, None, 10))
        train = train.without(val_images)
    dm = DataModule(DataSplits(train, val_images, None, {"channels": in_channels}), cfg.batch_size,
                    cfg.num_workers, cfg.seed)  # fmt: skip
    cfg = replace(cfg, monitor="val/loss", monitor_mode="min")
    result = fit(task, dm, run_dir, cfg, {"purpose": "encoder pre-training", "model": "autoencoder",
                                         "kwargs": ae_kwargs})  # fmt: skip
    # the run directory's weights: best.ckpt, or last.ckpt when a time budget ended the run before validation
    return load_encoder_weights(model.encoder, result.run_dir)
