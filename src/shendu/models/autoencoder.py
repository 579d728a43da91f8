"""Autoencoders: a dense one, a convolutional one, and a denoising wrapper around either.

An autoencoder learns an encoder ``z = f(x)`` and a decoder ``x̂ = g(z)`` whose composition gives back
its input: training minimises a reconstruction loss L(x, g(f(x))) — mean squared error, or binary
cross-entropy for pixels in [0, 1] — so the narrow code ``z`` must keep what matters about ``x``.

    from shendu import models
    ae = models.Autoencoder(input_shape=(1, 28, 28), latent_dim=32)
    x_hat = ae(x)                  # same shape as x, values in (0, 1)
    z = ae.encode(x)               # (N, 32)

A denoising autoencoder corrupts the input in training only, x̃ = x + σ·ε (or masks pixels), and
still asks for the clean x back: ``models.DenoisingAutoencoder(ae, noise_std=0.3)``.
"""
import math

import numpy as np

from .. import nn
from .. import random as sd_random
from ..errors import ShapeError
from ..tensor import Tensor

__all__ = ["Autoencoder", "ConvAutoencoder", "DenoisingAutoencoder"]


def _as_shape(shape):
    if isinstance(shape, int):
        return (shape,)
    return tuple(int(s) for s in shape)


def _activation(name):
    if name is None or name == "linear":
        return None
    table = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}
    if name not in table:
        raise ValueError(f"autoencoder: output activation must be one of {sorted(table)} or None, "
                         f"got {name!r}")
    return table[name]()


class Autoencoder(nn.Module):
    """Dense autoencoder: flatten → Linear/ReLU stack → ``latent_dim`` code → mirrored stack → output.

    Args:
        input_shape: shape of one sample, e.g. ``(1, 28, 28)`` or ``784``; inputs are (N, *input_shape).
        hidden: widths of the encoder's hidden layers (the decoder uses them in reverse).
        latent_dim: size of the code z.
        output: ``"sigmoid"`` (pixels in [0, 1], default), ``"tanh"``, ``"relu"`` or None (linear).
    """

    def __init__(self, input_shape=(1, 28, 28), hidden=(256,), latent_dim=32, output="sigmoid"):
        super().__init__()
        self.input_shape = _as_shape(input_shape)
        self.latent_dim = int(latent_dim)
        d = math.prod(self.input_shape)
        enc, width = [], d
        for h in hidden:
            enc += [nn.Linear(width, h), nn.ReLU()]
            width = h
        enc.append(nn.Linear(width, self.latent_dim))
        dec, width = [], self.latent_dim
        for h in reversed(tuple(hidden)):
            dec += [nn.Linear(width, h), nn.ReLU()]
            width = h
        dec.append(nn.Linear(width, d))
        act = _activation(output)
        if act is not None:
            dec.append(act)
        self.encoder = nn.Sequential(*enc)
        self.decoder = nn.Sequential(*dec)

    def _check(self, x):
        if tuple(x.shape[1:]) != self.input_shape and math.prod(x.shape[1:]) != math.prod(self.input_shape):
            dims = ", ".join(map(str, self.input_shape))
            raise ShapeError(f"{type(self).__name__}: expected inputs (N, {dims}), got {tuple(x.shape)}")

    def encode(self, x):
        """x (N, *input_shape) → z (N, latent_dim)."""
        self._check(x)
        return self.encoder(x.reshape(x.shape[0], -1))

    def decode(self, z):
        """z (N, latent_dim) → x̂ (N, *input_shape)."""
        return self.decoder(z).reshape(z.shape[0], *self.input_shape)

    def forward(self, x):
        return self.decode(self.encode(x))


class ConvAutoencoder(nn.Module):
    """Convolutional autoencoder for (N, C, H, W) images with H and W divisible by 4.

    Encoder: Conv2d(C, f, 3, stride 2) → ReLU → Conv2d(f, 2f, 3, stride 2) → ReLU → Linear → z.
    Decoder: Linear → (2f, H/4, W/4) → ConvTranspose2d(2f, f, 3, stride 2) → ReLU →
    ConvTranspose2d(f, C, 3, stride 2) → output activation. Each stride-2 transposed convolution
    doubles the size: H_out = (H − 1)·2 − 2·1 + (3 − 1) + 1 + 1 = 2H (padding 1, output_padding 1).
    """

    def __init__(self, channels=1, image_size=28, features=16, latent_dim=32, output="sigmoid"):
        super().__init__()
        h, w = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
        if h % 4 or w % 4:
            raise ValueError(f"ConvAutoencoder: image_size must be divisible by 4, got {(h, w)}")
        self.channels, self.image_size, self.latent_dim = int(channels), (h, w), int(latent_dim)
        f = int(features)
        flat = 2 * f * (h // 4) * (w // 4)
        self.encoder = nn.Sequential(
            nn.Conv2d(channels, f, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(f, 2 * f, 3, stride=2, padding=1), nn.ReLU(),
            nn.Flatten(), nn.Linear(flat, self.latent_dim))
        dec = [nn.Linear(self.latent_dim, flat), nn.ReLU(), nn.Unflatten(1, (2 * f, h // 4, w // 4)),
               nn.ConvTranspose2d(2 * f, f, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
               nn.ConvTranspose2d(f, channels, 3, stride=2, padding=1, output_padding=1)]
        act = _activation(output)
        if act is not None:
            dec.append(act)
        self.decoder = nn.Sequential(*dec)

    def encode(self, x):
        if x.ndim == 3:
            x = x.reshape(x.shape[0], 1, *x.shape[1:])
        if tuple(x.shape[1:]) != (self.channels, *self.image_size):
            raise ShapeError(f"ConvAutoencoder: expected images (N, {self.channels}, {self.image_size[0]}, "
                             f"{self.image_size[1]}), got shape {tuple(x.shape)}")
        return self.encoder(x)

    def decode(self, z):
        return self.decoder(z)

    def forward(self, x):
        return self.decode(self.encode(x))


class DenoisingAutoencoder(nn.Module):
    """Wraps an autoencoder so that, in training mode only, its input is corrupted first.

    ``noise="gaussian"``: x̃ = clip(x + σ·ε, lo, hi) with ε ~ N(0, 1); ``noise="masking"``: each
    input value is set to 0 with probability ``drop``. In eval mode the input passes unchanged, so
    ``model.eval(); model(x_noisy)`` denoises. Train it to give back the CLEAN input:
    ``loss(model(x), x)``. ``encode`` / ``decode`` are the wrapped model's.
    """

    def __init__(self, autoencoder, noise="gaussian", noise_std=0.3, drop=0.3, clip=(0.0, 1.0)):
        super().__init__()
        if noise not in ("gaussian", "masking"):
            raise ValueError(f"DenoisingAutoencoder: noise must be 'gaussian' or 'masking', got {noise!r}")
        self.autoencoder = autoencoder
        self.noise, self.noise_std, self.drop, self.clip = noise, float(noise_std), float(drop), clip

    def corrupt(self, x, rng=None):
        """The corrupted copy x̃ of ``x`` (a Tensor with no gradient history)."""
        rng = sd_random.generator() if rng is None else rng
        a = np.asarray(x.detach().numpy() if isinstance(x, Tensor) else x)
        if self.noise == "gaussian":
            out = a + self.noise_std * rng.standard_normal(a.shape).astype(a.dtype)
            if self.clip is not None:
                out = np.clip(out, *self.clip)
        else:
            out = a * (rng.random(a.shape) >= self.drop).astype(a.dtype)
        return Tensor(out.astype(a.dtype, copy=False))

    def encode(self, x):
        return self.autoencoder.encode(x)

    def decode(self, z):
        return self.autoencoder.decode(z)

    def forward(self, x):
        if self.training:
            x = self.corrupt(x)
        return self.autoencoder(x)
