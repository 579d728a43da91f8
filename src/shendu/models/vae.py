"""Variational autoencoder (Kingma & Welling, 2014), with the loss reported in nats.

The encoder gives the mean μ(x) and log-variance log σ²(x) of a Gaussian q(z|x); a code is drawn by
the reparameterisation z = μ + σ·ε with ε ~ N(0, I), so the draw is differentiable in μ and σ; the
decoder gives Bernoulli probabilities p(x|z). Training maximises the evidence lower bound

    ELBO(x) = E_q[log p(x|z)] − KL(q(z|x) ‖ N(0, I))  ≤  log p(x),

with, for a diagonal Gaussian, KL = −½ Σ_j (1 + log σ_j² − μ_j² − σ_j²). ``VAE.loss_function``
returns the NEGATIVE ELBO summed over the batch (and its two parts): binary cross-entropy summed
over pixels and samples, plus the KL term — the numbers PyTorch's VAE example prints.

    vae = models.VAE(input_dim=784, hidden_dim=400, latent_dim=20)
    recon, mu, logvar = vae(x)
    loss, recon_term, kl = vae.loss_function(recon, x, mu, logvar)
    loss.backward()
    images = vae.sample(64)            # (64, 784) probabilities, or image_shape if given
"""
import math

import numpy as np

from .. import nn
from ..autograd import no_grad
from ..creation import randn, randn_like
from ..nn import functional as F
from ..tensor import Tensor

__all__ = ["VAE", "ELBOLoss", "gaussian_kl", "vae_loss"]


def gaussian_kl(mu, logvar):
    """KL(N(μ, diag σ²) ‖ N(0, I)) = −½ Σ (1 + log σ² − μ² − σ²), summed over every element."""
    return -0.5 * (1 + logvar - mu * mu - logvar.exp()).sum()


def vae_loss(recon_x, x, mu, logvar, beta=1.0):
    """(loss, recon, kl): recon = Σ BCE(recon_x, x) in nats, kl = :func:`gaussian_kl`, loss = recon + β·kl.

    ``recon_x`` holds probabilities in (0, 1); ``x`` targets in [0, 1] of the same number of elements.
    Every term is summed over the batch (divide by N for a per-sample negative ELBO)."""
    target = x if isinstance(x, Tensor) else Tensor(np.asarray(x, dtype=np.asarray(recon_x.numpy()).dtype))
    target = target.reshape(*recon_x.shape)
    recon = F.binary_cross_entropy(recon_x, target, reduction="sum")
    kl = gaussian_kl(mu, logvar)
    return recon + beta * kl, recon, kl


class ELBOLoss(nn.Module):
    """The negative ELBO as a loss object for ``Trainer(vae, ELBOLoss(), opt).fit(x, x)``:
    ``loss((recon_x, mu, logvar), x)``. ``reduction="sum"`` (default, nats per batch) or ``"mean"``
    (nats per sample)."""

    def __init__(self, beta=1.0, reduction="sum"):
        super().__init__()
        if reduction not in ("sum", "mean"):
            raise ValueError(f"ELBOLoss: reduction must be 'sum' or 'mean', got {reduction!r}")
        self.beta, self.reduction = float(beta), reduction

    def forward(self, output, x):
        recon_x, mu, logvar = output
        loss = vae_loss(recon_x, x, mu, logvar, self.beta)[0]
        return loss / recon_x.shape[0] if self.reduction == "mean" else loss


class VAE(nn.Module):
    """Dense VAE: x → Linear(input_dim, hidden) → ReLU → (Linear → μ, Linear → log σ²);
    z → Linear(latent, hidden) → ReLU → Linear(hidden, input_dim) → Sigmoid.

    The layer names (``fc1``, ``fc21``, ``fc22``, ``fc3``, ``fc4``) are those of PyTorch's VAE example,
    so its ``state_dict`` loads here and back. ``image_shape`` (e.g. ``(1, 28, 28)``) makes
    :meth:`sample` and :meth:`reconstruct` return images; inputs of any shape with ``input_dim``
    elements per sample are flattened.
    """

    def __init__(self, input_dim=784, hidden_dim=400, latent_dim=20, image_shape=None):
        super().__init__()
        self.input_dim, self.hidden_dim, self.latent_dim = int(input_dim), int(hidden_dim), int(latent_dim)
        self.image_shape = None if image_shape is None else tuple(image_shape)
        if self.image_shape is not None and math.prod(self.image_shape) != self.input_dim:
            raise ValueError(f"VAE: image_shape {self.image_shape} does not hold input_dim={self.input_dim} "
                             "values")
        self.fc1 = nn.Linear(self.input_dim, self.hidden_dim)
        self.fc21 = nn.Linear(self.hidden_dim, self.latent_dim)
        self.fc22 = nn.Linear(self.hidden_dim, self.latent_dim)
        self.fc3 = nn.Linear(self.latent_dim, self.hidden_dim)
        self.fc4 = nn.Linear(self.hidden_dim, self.input_dim)

    def encode(self, x):
        """x → (μ, log σ²), each (N, latent_dim)."""
        if math.prod(x.shape[1:]) != self.input_dim:
            raise ValueError(f"VAE: expected {self.input_dim} values per sample, got input shape "
                             f"{tuple(x.shape)}")
        h = F.relu(self.fc1(x.reshape(x.shape[0], self.input_dim)))
        return self.fc21(h), self.fc22(h)

    def reparameterize(self, mu, logvar, eps=None):
        """z = μ + ε·σ with σ = exp(½ log σ²) and ε ~ N(0, I) (or the given ``eps``): rsample, not sample."""
        std = (0.5 * logvar).exp()
        if eps is None:
            eps = randn_like(std)
        elif not isinstance(eps, Tensor):
            eps = Tensor(np.asarray(eps, dtype=std.numpy().dtype))
        return mu + eps * std

    def decode(self, z):
        """z (N, latent_dim) → Bernoulli probabilities (N, input_dim)."""
        return F.sigmoid(self.fc4(F.relu(self.fc3(z))))

    def forward(self, x, eps=None):
        """(recon_x, μ, log σ²); z is drawn afresh on every call unless ``eps`` is given."""
        mu, logvar = self.encode(x)
        return self.decode(self.reparameterize(mu, logvar, eps)), mu, logvar

    @staticmethod
    def loss_function(recon_x, x, mu, logvar, beta=1.0):
        """(loss, recon, kl): the negative ELBO summed over the batch, in nats; see :func:`vae_loss`."""
        return vae_loss(recon_x, x, mu, logvar, beta)

    def _shape(self, a):
        return a if self.image_shape is None else a.reshape(a.shape[0], *self.image_shape)

    def sample(self, n, generator=None):
        """Decode ``n`` codes z ~ N(0, I): (n, input_dim) probabilities, or (n, *image_shape)."""
        with no_grad():
            z = randn(int(n), self.latent_dim, dtype=self.fc3.weight.dtype, generator=generator)
            return self._shape(self.decode(z))

    def reconstruct(self, x):
        """decode(μ(x)): the mean reconstruction, without sampling, and without gradients."""
        with no_grad():
            return self._shape(self.decode(self.encode(x)[0]))

    def elbo(self, x, batch_size=500, generator=None):
        """Mean ELBO per sample over the array ``x`` in nats (one z per sample, no gradients)."""
        a = np.asarray(x.numpy() if isinstance(x, Tensor) else x, dtype=self.fc1.weight.dtype)
        total = 0.0
        with no_grad():
            for i in range(0, len(a), batch_size):
                xb = Tensor(a[i:i + batch_size])
                mu, logvar = self.encode(xb)
                eps = randn(*mu.shape, dtype=mu.dtype, generator=generator)
                recon = self.decode(self.reparameterize(mu, logvar, eps))
                total += float(vae_loss(recon, xb, mu, logvar)[0].item())
        return -total / len(a)
