"""The SegNet paper's training as a recipe: local contrast normalisation in the model, SGD lr 0.1 momentum 0.9
with a fixed rate, median-frequency class balancing (issue 24). Figures of this recipe are not claimed here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

import aekit
from aekit.losses import median_frequency_weights
from aekit.nn.blocks import LocalContrastNorm
from aekit.recipes import get_recipe
from aekit.registry import create_model
from tests.test_camvid_groups import OPTS, write_camvid


def test_lcn_is_local_zero_mean_unit_contrast_and_gain_offset_invariant() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, 40, 48, generator=g)
    lcn = LocalContrastNorm(3)
    y = lcn(x)
    gain = torch.tensor([0.5, 2.0, 3.0]).view(1, 3, 1, 1)
    torch.testing.assert_close(lcn(gain * x + 0.25), y, atol=1e-4, rtol=1e-4)  # per-channel gain and offset
    assert lcn.smooth(y)[..., 8:-8, 8:-8].abs().mean() < 0.05  # locally zero-mean away from the border
    assert 0.5 < float(y.std()) < 1.5
    assert torch.count_nonzero(lcn(torch.full((1, 3, 16, 16), 0.7))) == 0  # a flat image carries no contrast
    assert not lcn.state_dict()  # nothing to save: the kernel is a constant


def test_segnet_basic_with_lcn_applies_it_before_the_encoder() -> None:
    torch.manual_seed(0)
    plain = create_model("segnet_basic", widths=[8, 8, 8, 8]).eval()
    lcn = create_model("segnet_basic", widths=[8, 8, 8, 8], input_norm="lcn").eval()
    lcn.load_state_dict(plain.state_dict())  # the same weights: LCN adds none
    x = torch.rand(1, 3, 32, 48)
    with torch.no_grad():
        torch.testing.assert_close(lcn(x), plain(LocalContrastNorm(3)(x)))
        torch.testing.assert_close(lcn(3 * x), lcn(x), atol=1e-4, rtol=1e-4)  # the input's gain no longer matters


def test_segnet_paper_recipe_builds_the_papers_training(tmp_path: Path) -> None:
    root = write_camvid(tmp_path / "cam")
    cfg = get_recipe("segnet-paper")(data=f"camvid:{root}", epochs=1, batch_size=2, progress=False, **OPTS)
    assert (cfg.arch, cfg.input_norm, cfg.optimizer, cfg.lr, cfg.scheduler, cfg.class_weights, cfg.normalize) == (
        "segnet_basic", "lcn", "sgd", 0.1, "none", "median-frequency", False
    )  # fmt: skip
    task, dm = cfg.build()
    assert isinstance(task.model.input_norm, LocalContrastNorm)
    assert task.metadata.get("normalization") is None  # LCN replaces the mean/std normalisation
    splits = cfg.open_data()
    expected = median_frequency_weights(splits.train.masks, 11, splits.info.get("ignore_index"))
    np.testing.assert_allclose(task.hparams.class_weights, expected, rtol=1e-6)
    assert len(splits.train) == 5  # every training frame (the official val frames are monitored)
    run = aekit.train(cfg, out=tmp_path / "run")
    ckpt = torch.load(run.last_checkpoint, weights_only=True, map_location="cpu")
    [opt] = ckpt["optimizer_states"]
    assert opt["param_groups"][0]["lr"] == 0.1 and opt["param_groups"][0]["momentum"] == 0.9  # fixed: no schedule
    assert aekit.load(run).input_norm.__class__ is LocalContrastNorm  # saved models rebuild with LCN
