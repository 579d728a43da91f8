"""Autoencoders: shapes, gradients, they learn to reconstruct tiny data, and denoising noise is training-only."""
import numpy as np
import pytest

import shendu as sd
from shendu import models, nn, optim


def _tiny_images(n=16, size=8, seed=0):
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 1, size, size), np.float32)
    for i in range(n):                       # bright squares at random places: learnable structure
        r, c = rng.integers(0, size - 3, 2)
        x[i, 0, r:r + 3, c:c + 3] = 1.0
    return x


def _train(model, x, steps=60, lr=1e-2):
    opt = optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.MSELoss()
    xt = sd.tensor(x)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn(model(xt), xt)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def test_shapes():
    x = sd.tensor(_tiny_images(4, 28))
    dense = models.Autoencoder(input_shape=(1, 28, 28), hidden=(64,), latent_dim=5)
    conv = models.ConvAutoencoder(channels=1, image_size=28, features=4, latent_dim=5)
    for m in (dense, conv):
        assert m.encode(x).shape == (4, 5)
        assert m.decode(sd.randn(4, 5)).shape == (4, 1, 28, 28)
        out = m(x).numpy()
        assert out.shape == (4, 1, 28, 28) and out.min() >= 0 and out.max() <= 1   # sigmoid output
    assert models.Autoencoder(input_shape=10, hidden=(), output=None)(sd.randn(3, 10)).shape == (3, 10)
    with pytest.raises(sd.ShapeError, match="ConvAutoencoder"):
        conv.encode(sd.randn(2, 1, 32, 32))
    with pytest.raises(ValueError, match="divisible by 4"):
        models.ConvAutoencoder(image_size=30)
    with pytest.raises(ValueError, match="output activation"):
        models.Autoencoder(output="softmax")


@pytest.mark.parametrize("kind", ["dense", "conv"])
def test_reconstructs_tiny_data_after_a_few_steps(kind):
    sd.manual_seed(0)
    x = _tiny_images()
    if kind == "dense":
        model = models.Autoencoder(input_shape=(1, 8, 8), hidden=(32,), latent_dim=8)
    else:
        model = models.ConvAutoencoder(image_size=8, features=4, latent_dim=8)
    losses = _train(model, x)
    assert losses[-1] < 0.5 * losses[0]
    baseline = float(np.mean((x - x.mean()) ** 2))      # predicting the mean pixel
    assert losses[-1] < baseline


def test_gradients_check_in_float64():
    sd.manual_seed(0)
    model = models.ConvAutoencoder(image_size=4, features=2, latent_dim=3).double()
    x = sd.tensor(np.random.default_rng(0).random((2, 1, 4, 4)), dtype=sd.float64, requires_grad=True)
    assert sd.gradcheck(lambda a: model(a), x)


def test_denoising_adds_noise_in_training_only():
    sd.manual_seed(0)
    ae = models.Autoencoder(input_shape=(1, 8, 8), hidden=(16,), latent_dim=4)
    dae = models.DenoisingAutoencoder(ae, noise_std=0.5)
    x = sd.tensor(_tiny_images(4))
    dae.train()
    a, b = dae(x).numpy(), dae(x).numpy()
    assert not np.allclose(a, b)                          # a fresh corruption each call
    dae.eval()
    np.testing.assert_array_equal(dae(x).numpy(), ae(x).numpy())
    noisy = dae.corrupt(x).numpy()
    assert noisy.min() >= 0 and noisy.max() <= 1 and not np.allclose(noisy, x.numpy())
    masked = models.DenoisingAutoencoder(ae, noise="masking", drop=0.5).corrupt(sd.ones(1000)).numpy()
    assert set(np.unique(masked)) <= {0.0, 1.0} and 0.4 < masked.mean() < 0.6
    with pytest.raises(ValueError, match="noise"):
        models.DenoisingAutoencoder(ae, noise="salt")


def test_denoising_autoencoder_learns_to_remove_noise():
    sd.manual_seed(0)
    x = _tiny_images(32)
    dae = models.DenoisingAutoencoder(models.Autoencoder(input_shape=(1, 8, 8), hidden=(32,), latent_dim=8),
                                      noise_std=0.3)
    noisy = dae.corrupt(sd.tensor(x)).numpy()
    _train(dae, x, steps=100)
    dae.eval()
    with sd.no_grad():
        cleaned = dae(sd.tensor(noisy)).numpy()
    assert np.mean((cleaned - x) ** 2) < np.mean((noisy - x) ** 2)
