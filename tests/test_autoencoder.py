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


@pytest.mark.parametrize("upsample", ["bilinear", "fixed_unpool", "transposed"])
def test_an_odd_sized_autoencoder_learns_to_reconstruct(upsample):
    """Padding to the encoder's reduction and cropping back must keep every pixel trainable: 60 Adam steps on
    four 37x45 images cut the reconstruction error to under half of its start."""
    torch.manual_seed(0)
    model = aekit.create_model(
        "autoencoder", in_channels=1, image_size=(37, 45), latent_dim=16, widths=[8, 16], upsample=upsample
    )
    yy, xx = torch.meshgrid(torch.linspace(0, 1, 37), torch.linspace(0, 1, 45), indexing="ij")
    x = torch.stack([torch.sigmoid(8 * (xx - c)) * torch.sigmoid(8 * (yy - c)) for c in (0.2, 0.4, 0.6, 0.8)])[:, None]
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(60):
        loss = torch.nn.functional.mse_loss(model(x), x)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss))
    assert losses[-1] < 0.5 * losses[0], (losses[0], losses[-1])


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
