"""Tests generated over the model registry: every model builds, runs at odd sizes, trains, round-trips."""

import pytest
import torch

import aekit
from aekit.io import save_model


def example_input(model: torch.nn.Module, batch: int = 2) -> torch.Tensor:
    """A batch the model accepts: its fixed size if it has one, else an awkward odd size."""
    c = getattr(model, "in_channels", 3)
    size = getattr(model, "image_size", None) or (37, 45)
    return torch.rand(batch, c, *size)


@pytest.mark.parametrize("name", aekit.list_models())
def test_model_forward_and_backward_at_odd_size(name):
    torch.manual_seed(0)
    model = aekit.create_model(name)
    x = example_input(model)
    y = model(x)
    assert torch.isfinite(y).all()
    y.float().square().mean().backward()
    # heads used only in training (multi-scale outputs) may sit outside forward()
    train_only = getattr(model, "training_only_parameters", lambda: [])()
    no_grad = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None and n not in train_only]
    assert not no_grad, f"parameters without gradient: {no_grad[:5]}"


@pytest.mark.parametrize("name", aekit.list_models())
def test_model_save_and_load_round_trip(name, tmp_path):
    torch.manual_seed(0)
    model = aekit.create_model(name).eval()
    x = example_input(model, 1)
    save_model(model, tmp_path, {"note": "test"})
    loaded = aekit.load(tmp_path)
    assert type(loaded) is type(model)
    assert loaded.aekit_metadata == {"note": "test"}
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x))


def test_unknown_model_and_argument_are_explained():
    with pytest.raises(ValueError, match="available: .*autoencoder"):
        aekit.create_model("no_such_model")
    with pytest.raises(TypeError, match="does not take latent_size"):
        aekit.create_model("autoencoder", latent_size=3)


def test_list_models_filters():
    assert "autoencoder" in aekit.list_models("auto")
    assert all("unet" in n for n in aekit.list_models("unet"))
