"""Validation steps on channels_last models and batches (what `--precision auto` trains with on bf16 machines):
every task's metrics take the memory format the model returns."""

from __future__ import annotations

import copy

import pytest
import torch

from aekit.tasks import DepthTask, ReconstructionTask, SuperResolutionTask
from aekit.tasks.segmentation import SegmentationTask

CL = torch.channels_last


def cl(x: torch.Tensor) -> torch.Tensor:
    return x.contiguous(memory_format=CL)


def batches() -> dict[str, tuple[object, dict[str, torch.Tensor]]]:
    g = torch.Generator().manual_seed(0)
    img = torch.rand(2, 3, 32, 32, generator=g)
    return {
        "reconstruction": (
            ReconstructionTask(model="autoencoder", model_kwargs={"in_channels": 3, "image_size": [32, 32],
                                                                  "latent_dim": 4, "widths": [8, 16]}),  # fmt: skip
            {"image": cl(img)},
        ),
        "segmentation": (
            SegmentationTask(model="unet", model_kwargs={"in_channels": 3, "out_channels": 3, "widths": [8, 16]},
                             num_classes=3),  # fmt: skip
            {"image": cl(img), "mask": torch.randint(0, 3, (2, 32, 32), generator=g)},
        ),
        "superres": (
            SuperResolutionTask(model="unet_sr", model_kwargs={"in_channels": 3, "scale": 2, "widths": [8, 16]}),
            {"image": cl(img[:, :, :16, :16]), "target": cl(img)},
        ),
        "depth": (
            DepthTask(model="unet_depth", model_kwargs={"in_channels": 3, "widths": [8, 16]}),
            {"image": cl(img), "target": cl(torch.rand(2, 1, 32, 32, generator=g) + 0.5)},
        ),
    }


@pytest.mark.parametrize("name", list(batches()))
def test_validation_step_takes_channels_last(name: str) -> None:
    """The loss and every validation metric equal those of the same weights on contiguous memory: a metric that
    read a channels_last tensor's storage as NCHW (or a step that dropped the format's meaning) would differ."""
    task, batch = batches()[name]
    reference = copy.deepcopy(task).eval()
    task = task.to(memory_format=CL).eval()
    assert next(p for p in task.parameters() if p.dim() == 4).is_contiguous(memory_format=CL)
    plain = {k: v.contiguous() for k, v in batch.items()}
    with torch.no_grad():
        loss = task.validation_step(batch, 0)
        expected_loss = reference.validation_step(plain, 0)
    torch.testing.assert_close(torch.as_tensor(loss), torch.as_tensor(expected_loss), rtol=1e-4, atol=1e-5)
    computed, expected = task.val_metrics.compute(), reference.val_metrics.compute()
    assert computed and set(computed) == set(expected)
    for key in expected:
        torch.testing.assert_close(torch.as_tensor(computed[key]), torch.as_tensor(expected[key]), rtol=1e-4,
                                   atol=1e-5, msg=key)  # fmt: skip
