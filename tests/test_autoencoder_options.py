"""Residual blocks in the autoencoder, and the engine's time-budgeted one-cycle schedule."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

import aekit
from aekit.engine import TimeBudget


@pytest.mark.parametrize("residual", [1, [0, 1, 2]])
def test_residual_blocks_keep_shapes_and_train(residual: int | list[int]) -> None:
    model = aekit.create_model("autoencoder", image_size=28, latent_dim=8, widths=(8, 16, 16), residual_blocks=residual)
    plain = aekit.create_model("autoencoder", image_size=28, latent_dim=8, widths=(8, 16, 16))
    assert sum(p.numel() for p in model.parameters()) > sum(p.numel() for p in plain.parameters())
    x = torch.rand(3, 1, 28, 28)
    assert model.encode(x).shape == (3, 8)
    out = model(x)
    assert out.shape == x.shape
    torch.nn.functional.mse_loss(out, x).backward()
    # every residual block takes part in the graph
    for name, p in model.named_parameters():
        if ".body." in name:
            assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_zero_residual_blocks_is_the_plain_model() -> None:
    a = aekit.create_model("autoencoder", residual_blocks=0)
    b = aekit.create_model("autoencoder")
    assert list(a.state_dict()) == list(b.state_dict())


def test_residual_blocks_per_stage_must_match_stages() -> None:
    with pytest.raises(ValueError, match="residual_blocks"):
        aekit.create_model("autoencoder", widths=(8, 16, 32), residual_blocks=[1, 1])


def _fake_trainer(total_steps: int) -> tuple[SimpleNamespace, torch.optim.lr_scheduler.OneCycleLR]:
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=total_steps)
    trainer = SimpleNamespace(
        lr_scheduler_configs=[SimpleNamespace(scheduler=sched, interval="step")], should_stop=False
    )
    return trainer, sched


def test_time_budget_moves_one_cycle_with_elapsed_time_and_stops() -> None:
    trainer, sched = _fake_trainer(1000)
    budget = TimeBudget(seconds=100.0)
    budget.load_state_dict({"elapsed": 50.0})  # half the budget already spent (e.g. a resumed run)
    budget.on_train_start(trainer, None)
    budget.on_train_batch_end(trainer, None, None, None, 0)
    assert 500 <= sched.last_epoch < 520 and not trainer.should_stop
    sched.step()  # Lightning steps right after the hook; the schedule must not raise past its end
    budget.elapsed_before = 150.0
    budget.on_train_batch_end(trainer, None, None, None, 1)
    assert trainer.should_stop
    sched.step()
    assert sched.get_last_lr()[0] < 1e-3  # annealed to the end of the cycle
    assert budget.state_dict()["elapsed"] >= 150.0


def test_time_budget_never_moves_the_schedule_back() -> None:
    trainer, sched = _fake_trainer(100)
    budget = TimeBudget(seconds=1e6)
    budget.on_train_start(trainer, None)
    for _ in range(10):
        sched.step()
    budget.on_train_batch_end(trainer, None, None, None, 0)
    assert sched.last_epoch == 10
