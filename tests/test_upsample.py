import pytest
import torch
import torch.nn.functional as F

from aekit.nn.upsample import UPSAMPLE_MODES, UpSample, fixed_unpool


@pytest.mark.parametrize("mode", UPSAMPLE_MODES)
@pytest.mark.parametrize("size", [(5, 7), (8, 8), (1, 3)])
def test_every_mode_doubles_size_maps_channels_and_passes_gradients(mode, size):
    x = torch.randn(2, 4, *size, requires_grad=True)
    indices = None
    if mode == "max_unpool":
        big = torch.randn(2, 4, size[0] * 2, size[1] * 2)
        x_pooled, indices = F.max_pool2d(big, 2, 2, return_indices=True)
        x = x_pooled.detach().requires_grad_(True)
    up = UpSample(4, 6, mode)
    y = up(x, indices=indices)
    assert y.shape == (2, 6, size[0] * 2, size[1] * 2)
    y.square().mean().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is not None for p in up.parameters() if p.requires_grad)


@pytest.mark.parametrize("mode", UPSAMPLE_MODES)
def test_output_size_handles_odd_encoder_sizes(mode):
    big = torch.randn(1, 3, 11, 13)
    x, idx = F.max_pool2d(big, 2, 2, return_indices=True)  # 5x6
    y = UpSample(3, 3, mode)(x, indices=idx, output_size=(11, 13))
    assert y.shape[-2:] == (11, 13)


def test_fixed_unpool_puts_each_value_top_left_and_zeros_elsewhere():
    x = torch.arange(1.0, 7.0).view(1, 1, 2, 3)
    y = fixed_unpool(x)
    assert torch.equal(y[..., ::2, ::2], x)
    mask = torch.ones_like(y, dtype=torch.bool)
    mask[..., ::2, ::2] = False
    assert torch.all(y[mask] == 0)


def test_max_unpool_needs_indices_with_a_clear_message():
    with pytest.raises(ValueError, match="max-pooling indices"):
        UpSample(2, 2, "max_unpool")(torch.randn(1, 2, 3, 3))


def test_unknown_mode_lists_the_modes():
    with pytest.raises(ValueError, match="nearest, bilinear, bicubic, fixed_unpool, max_unpool, transposed"):
        UpSample(2, 2, "lanczos")


def test_interpolation_modes_differ():
    torch.manual_seed(0)
    x = torch.randn(1, 2, 4, 4)
    outs = {}
    for mode in ("nearest", "bilinear", "bicubic"):
        torch.manual_seed(1)
        outs[mode] = UpSample(2, 2, mode, norm="none", act="none")(x)
    assert not torch.allclose(outs["nearest"], outs["bilinear"])
    assert not torch.allclose(outs["bilinear"], outs["bicubic"])
