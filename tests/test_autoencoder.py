import pytest
import torch

import aekit


@pytest.mark.parametrize("channels,size", [(1, (28, 28)), (3, (37, 45)), (5, (20, 33)), (1, (64, 64))])
@pytest.mark.parametrize("upsample", ["nearest", "bilinear", "bicubic", "fixed_unpool", "transposed"])
def test_any_size_and_channel_count(channels, size, upsample):
    model = aekit.create_model(
        "autoencoder", in_channels=channels, image_size=size, latent_dim=7, widths=[8, 16, 16], upsample=upsample
    )
    x = torch.rand(3, channels, *size)
    z = model.encode(x)
    assert z.shape == (3, 7)
    y = model.decode(z)
    assert y.shape == x.shape
    assert y.min() >= 0 and y.max() <= 1  # sigmoid output for [0, 1] images
    torch.testing.assert_close(model(x), y)


def test_max_unpool_is_refused_with_a_pointer_to_dense_models():
    with pytest.raises(ValueError, match="max_unpool.*z.*segnet, unet"):
        aekit.create_model("autoencoder", upsample="max_unpool")


def test_bottleneck_must_be_smaller_than_the_input():
    with pytest.raises(ValueError, match="latent_dim"):
        aekit.create_model("autoencoder", in_channels=1, image_size=4, latent_dim=16)


def test_wrong_input_size_names_the_expected_size():
    model = aekit.create_model("autoencoder", image_size=28)
    with pytest.raises(ValueError, match="1x28x28"):
        model(torch.rand(1, 1, 32, 32))


def test_code_depends_on_the_input():
    model = aekit.create_model("autoencoder").eval()
    a, b = model.encode(torch.rand(1, 1, 28, 28)), model.encode(torch.rand(1, 1, 28, 28))
    assert not torch.allclose(a, b)
