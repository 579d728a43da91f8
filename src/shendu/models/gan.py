"""DCGAN (Radford, Metz & Chintala, 2016) and a reusable trainer for two-player GAN training.

A generator G maps noise z ~ N(0, I) to images; a discriminator D maps images to a logit
(the log-odds that the image is real). They play the minimax game

    min_G max_D  E_x[log σ(D(x))] + E_z[log(1 − σ(D(G(z))))].

``GANTrainer`` alternates the two steps with binary cross-entropy on logits (ℓ(s, y) =
−[y·log σ(s) + (1 − y)·log(1 − σ(s))]):

    D step:  L_D = ℓ(D(x), 1) + ℓ(D(G(z)), 0)           (G(z) detached: only D learns)
    G step:  L_G = ℓ(D(G(z)), 1) = −log σ(D(G(z)))      (the non-saturating generator loss)

The non-saturating form gives G strong gradients early on, when D easily rejects its samples and
log(1 − σ(D(G(z)))) is flat.

    from shendu import models
    gan = models.DCGAN(latent_dim=100, image_size=28, channels=1)
    trainer = models.GANTrainer(gan.generator, gan.discriminator, sample_dir="samples")
    history = trainer.fit(x_train, epochs=5, batch_size=128)   # x in [-1, 1], (N, 1, 28, 28)
    history.history["d_loss"], history.history["g_loss"]
"""
import os

import numpy as np

from .. import nn, optim
from ..autograd import no_grad
from ..creation import randn
from ..errors import ShapeError
from ..nn import functional as F
from ..nn import init
from ..tensor import Tensor

__all__ = ["DCGAN", "DCGANGenerator", "DCGANDiscriminator", "GANTrainer", "dcgan_weights_init",
           "dcgan_optimizers"]


def _plan(image_size):
    """(base, k) with image_size = base · 2^k, halving while above 7 (28 → 7·2², 64 → 4·2⁴)."""
    s, k = int(image_size), 0
    while s > 7 and s % 2 == 0:
        s //= 2
        k += 1
    if k == 0 or not 3 <= s <= 7:
        raise ValueError(f"DCGAN: image_size must be base·2^k with base 3..7 and k ≥ 1 (28, 32, 64, ...), "
                         f"got {image_size}")
    return s, k


def dcgan_weights_init(m):
    """DCGAN's initialisation, for ``model.apply(dcgan_weights_init)``: convolution weights ~ N(0, 0.02);
    BatchNorm weight ~ N(1, 0.02), bias 0."""
    name = type(m).__name__
    if "Conv" in name and getattr(m, "weight", None) is not None:
        init.normal_(m.weight, 0.0, 0.02)
        if getattr(m, "bias", None) is not None:
            init.zeros_(m.bias)
    elif "BatchNorm" in name and getattr(m, "weight", None) is not None:
        init.normal_(m.weight, 1.0, 0.02)
        init.zeros_(m.bias)


class DCGANGenerator(nn.Module):
    """z (N, latent_dim) or (N, latent_dim, 1, 1) → images (N, channels, size, size) in (−1, 1).

    ConvTranspose2d(latent, f·2^(k−1), base) lifts z to base×base; each of the next k−1 blocks is
    ConvTranspose2d(kernel 4, stride 2, padding 1) → BatchNorm2d → ReLU and doubles the size
    ((H − 1)·2 − 2 + 4 = 2H) while halving the channels; the last one goes to ``channels`` with Tanh.
    For 28×28 (base 7, k = 2): z → 7×7×2f → 14×14×f → 28×28×channels.
    """

    def __init__(self, latent_dim=100, channels=1, image_size=28, features=64):
        super().__init__()
        base, k = _plan(image_size)
        self.latent_dim, self.channels, self.image_size = int(latent_dim), int(channels), int(image_size)
        width = features * 2 ** (k - 1)
        layers = [nn.ConvTranspose2d(latent_dim, width, base, 1, 0, bias=False), nn.BatchNorm2d(width),
                  nn.ReLU()]
        for _ in range(k - 1):
            layers += [nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(width // 2),
                       nn.ReLU()]
            width //= 2
        layers += [nn.ConvTranspose2d(width, channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)
        self.apply(dcgan_weights_init)

    def forward(self, z):
        if z.ndim == 2:
            z = z.reshape(z.shape[0], z.shape[1], 1, 1)
        if tuple(z.shape[1:]) != (self.latent_dim, 1, 1):
            raise ShapeError(f"DCGANGenerator: expected noise (N, {self.latent_dim}) or "
                             f"(N, {self.latent_dim}, 1, 1), got shape {tuple(z.shape)}")
        return self.main(z)


class DCGANDiscriminator(nn.Module):
    """Images (N, channels, size, size) → logits (N,): the mirror of :class:`DCGANGenerator`.

    Conv2d(kernel 4, stride 2, padding 1) halves the size k times (LeakyReLU(0.2); BatchNorm on all
    but the first), then Conv2d(·, 1, base) reduces base×base to one logit. No sigmoid: use
    BCE-with-logits, which is exact where log(σ(s)) would underflow.
    """

    def __init__(self, channels=1, image_size=28, features=64):
        super().__init__()
        base, k = _plan(image_size)
        self.channels, self.image_size = int(channels), int(image_size)
        layers = [nn.Conv2d(channels, features, 4, 2, 1, bias=False), nn.LeakyReLU(0.2)]
        width = features
        for _ in range(k - 1):
            layers += [nn.Conv2d(width, width * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(width * 2),
                       nn.LeakyReLU(0.2)]
            width *= 2
        layers.append(nn.Conv2d(width, 1, base, 1, 0, bias=False))
        self.main = nn.Sequential(*layers)
        self.apply(dcgan_weights_init)

    def forward(self, x):
        if x.ndim == 3:
            x = x.reshape(x.shape[0], 1, *x.shape[1:])
        if tuple(x.shape[1:]) != (self.channels, self.image_size, self.image_size):
            raise ShapeError(f"DCGANDiscriminator: expected images (N, {self.channels}, {self.image_size}, "
                             f"{self.image_size}), got shape {tuple(x.shape)}")
        return self.main(x).reshape(x.shape[0])


def dcgan_optimizers(generator, discriminator, lr=2e-4, betas=(0.5, 0.999)):
    """(g_optimizer, d_optimizer): Adam(lr=2e-4, betas=(0.5, 0.999)) each, as the DCGAN paper trains."""
    return (optim.Adam(generator.parameters(), lr=lr, betas=betas),
            optim.Adam(discriminator.parameters(), lr=lr, betas=betas))


class DCGAN(nn.Module):
    """A generator and a discriminator of matching size: ``gan.generator``, ``gan.discriminator``,
    ``gan.sample(n)`` (images in [−1, 1]) and ``gan.optimizers()`` (Adam 2e-4, β=(0.5, 0.999))."""

    def __init__(self, latent_dim=100, channels=1, image_size=28, g_features=64, d_features=64):
        super().__init__()
        self.latent_dim = int(latent_dim)
        self.generator = DCGANGenerator(latent_dim, channels, image_size, g_features)
        self.discriminator = DCGANDiscriminator(channels, image_size, d_features)

    def forward(self, z):
        return self.generator(z)

    def sample(self, n, generator=None):
        was = self.generator.training
        self.generator.eval()
        try:
            with no_grad():
                return self.generator(randn(int(n), self.latent_dim, generator=generator))
        finally:
            self.generator.train(was)

    def optimizers(self, lr=2e-4, betas=(0.5, 0.999)):
        return dcgan_optimizers(self.generator, self.discriminator, lr, betas)


class _RunningMean:
    def __init__(self):
        self.total, self.count = 0.0, 0

    def add(self, value, n):
        self.total += float(value) * n
        self.count += n

    def result(self):
        return self.total / self.count if self.count else 0.0


def _batches(x, batch_size, shuffle, rng):
    """Batches of real images from an array (shuffled each epoch) or from an iterable of batches."""
    if isinstance(x, np.ndarray) or isinstance(x, Tensor):
        a = x.numpy() if isinstance(x, Tensor) else x
        order = rng.permutation(len(a)) if shuffle else np.arange(len(a))
        for i in range(0, len(a), batch_size):
            yield a[order[i:i + batch_size]]
        return
    for batch in x:
        if isinstance(batch, (tuple, list)):
            batch = batch[0]
        yield batch.numpy() if isinstance(batch, Tensor) else np.asarray(batch)


class GANTrainer:
    """Alternating discriminator / generator training with the non-saturating loss (see the module text).

    Args:
        generator, discriminator: modules; G takes (N, latent_dim) noise, D returns (N,) or (N, 1) logits.
        g_optimizer, d_optimizer: default Adam(2e-4, betas=(0.5, 0.999)).
        latent_dim: default ``generator.latent_dim``.
        d_steps: discriminator steps per generator step (each on its own real batch).
        real_label: target for real images (0.9 is one-sided label smoothing).
        n_samples: size of the fixed-noise grid drawn at each epoch's end (``self.samples``; PNGs in
            ``sample_dir/epoch_001.png`` ... when given, via ``shendu.viz.save_image``).
        seed: seeds the fixed noise, the per-step noise and the shuffling.

    ``fit`` logs ``d_loss``, ``g_loss``, ``d_real`` (mean σ(D(x))) and ``d_fake`` (mean σ(D(G(z)))),
    running means over the epoch, on the progress bar and in the returned History; shendu.train's
    callbacks (CSVLogger, LambdaCallback, TerminateOnNaN...) receive them as ``logs``.
    """

    def __init__(self, generator, discriminator, g_optimizer=None, d_optimizer=None, latent_dim=None,
                 d_steps=1, real_label=1.0, n_samples=64, sample_dir=None, seed=0):
        self.generator, self.discriminator = generator, discriminator
        if g_optimizer is None or d_optimizer is None:
            g_default, d_default = dcgan_optimizers(generator, discriminator)
            g_optimizer = g_optimizer or g_default
            d_optimizer = d_optimizer or d_default
        self.g_optimizer, self.d_optimizer = g_optimizer, d_optimizer
        self.latent_dim = int(latent_dim if latent_dim is not None else generator.latent_dim)
        if d_steps < 1:
            raise ValueError(f"GANTrainer: d_steps must be at least 1, got {d_steps}")
        self.d_steps, self.real_label = int(d_steps), float(real_label)
        self.rng = np.random.default_rng(seed)
        self.dtype = next(iter(generator.parameters())).dtype
        self.fixed_noise = Tensor(self.rng.standard_normal((n_samples, self.latent_dim)).astype(self.dtype))
        self.sample_dir = sample_dir
        self.samples = []          # one (3, H', W') grid per epoch
        self.stop_training = False
        self.history = None
        self.optimizer = g_optimizer   # what callbacks that read a learning rate see

    # ----- host interface for shendu.train callbacks
    def get_weights(self):
        return [np.array(v.numpy() if hasattr(v, "numpy") else v, copy=True)
                for m in (self.generator, self.discriminator) for v in m.state_dict().values()]

    def set_weights(self, weights):
        weights = list(weights)
        n = len(self.generator.state_dict())
        self.generator.load_state_dict(dict(zip(self.generator.state_dict(), weights[:n])))
        self.discriminator.load_state_dict(dict(zip(self.discriminator.state_dict(), weights[n:])))

    def save(self, path):
        """Both networks in one safetensors file: keys ``generator.*`` and ``discriminator.*``."""
        from ..serialization import save

        state = {f"generator.{k}": v for k, v in self.generator.state_dict().items()}
        state.update({f"discriminator.{k}": v for k, v in self.discriminator.state_dict().items()})
        save(state, path)

    save_weights = save

    # ----- one step
    def _noise(self, n):
        return Tensor(self.rng.standard_normal((n, self.latent_dim)).astype(self.dtype))

    def _logits(self, x):
        s = self.discriminator(x)
        return s.reshape(s.shape[0])

    def _tensor(self, a):
        return a if isinstance(a, Tensor) else Tensor(np.asarray(a, dtype=self.dtype))

    def discriminator_loss(self, real, fake):
        """(L_D, s_real, s_fake) with L_D = ℓ(D(real), real_label) + ℓ(D(fake), 0), graph kept."""
        real, fake = self._tensor(real), self._tensor(fake)
        s_real, s_fake = self._logits(real), self._logits(fake)
        ones = Tensor(np.full(s_real.shape[0], self.real_label, self.dtype))
        zeros = Tensor(np.zeros(s_fake.shape[0], self.dtype))
        loss = (F.binary_cross_entropy_with_logits(s_real, ones)
                + F.binary_cross_entropy_with_logits(s_fake, zeros))
        return loss, s_real, s_fake

    def discriminator_step(self, real, fake=None):
        """One D update on a real batch and as many fresh fakes (or the given ``fake`` images).

        Returns (L_D, mean σ(D(x)), mean σ(D(G(z))))."""
        real = self._tensor(real)
        if fake is None:
            with no_grad():
                fake = self.generator(self._noise(real.shape[0]))
        self.d_optimizer.zero_grad()
        fake = fake.detach() if isinstance(fake, Tensor) else fake
        loss, s_real, s_fake = self.discriminator_loss(real, fake)
        loss.backward()
        self.d_optimizer.step()
        sig = lambda s: float(np.mean(1.0 / (1.0 + np.exp(-s.numpy().astype(np.float64)))))  # noqa: E731
        return float(loss.item()), sig(s_real), sig(s_fake)

    def generator_step(self, n):
        """One G update with the non-saturating loss −log σ(D(G(z))); D's weights get no gradient."""
        self.g_optimizer.zero_grad()
        flags = [(p, p.requires_grad) for p in self.discriminator.parameters()]
        for p, _ in flags:
            p.requires_grad_(False)
        try:
            s = self._logits(self.generator(self._noise(n)))
            loss = F.binary_cross_entropy_with_logits(s, Tensor(np.ones(n, self.dtype)))
            loss.backward()
        finally:
            for p, flag in flags:
                p.requires_grad_(flag)
        self.g_optimizer.step()
        return float(loss.item())

    def train_step(self, real_batches):
        """``d_steps`` D updates (one per real batch given) then one G update; returns the step's values."""
        if isinstance(real_batches, np.ndarray) or isinstance(real_batches, Tensor):
            real_batches = [real_batches]
        d = [self.discriminator_step(b) for b in real_batches]
        g = self.generator_step(int(real_batches[-1].shape[0]))
        return {"d_loss": float(np.mean([v[0] for v in d])), "g_loss": g,
                "d_real": float(np.mean([v[1] for v in d])), "d_fake": float(np.mean([v[2] for v in d]))}

    # ----- samples
    def sample_grid(self, nrow=None):
        """G(fixed noise) in eval mode, as one (3, H', W') grid in [0, 1] (square by default)."""
        from ..viz import make_grid

        if nrow is None:
            nrow = max(1, int(np.ceil(np.sqrt(len(self.fixed_noise)))))
        was = self.generator.training
        self.generator.eval()
        try:
            with no_grad():
                images = self.generator(self.fixed_noise).numpy()
        finally:
            self.generator.train(was)
        return make_grid(images, nrow=nrow, normalize=True, value_range=(-1, 1))

    def _epoch_samples(self, epoch):
        grid = self.sample_grid()
        self.samples.append(grid)
        if self.sample_dir is not None:
            from ..viz import save_image

            os.makedirs(self.sample_dir, exist_ok=True)
            save_image(grid, os.path.join(self.sample_dir, f"epoch_{epoch + 1:03d}.png"))

    # ----- loop
    def fit(self, x, epochs=1, batch_size=64, verbose="auto", callbacks=None, shuffle=True,
            steps_per_epoch=None):
        """Train on real images ``x`` (an array (N, C, H, W) scaled like G's output, or a DataLoader
        yielding image batches or (image, label) batches); returns the History."""
        from ..train import CallbackList

        verbose = 1 if verbose == "auto" else int(verbose)
        n = len(x) if hasattr(x, "__len__") else None
        steps = steps_per_epoch
        if steps is None and n is not None:
            steps = -(-n // batch_size) // self.d_steps if isinstance(x, (np.ndarray, Tensor)) \
                else len(x) // self.d_steps
        cbs = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0, model=self, verbose=verbose,
                           epochs=epochs, steps=steps)
        self.stop_training = False
        self.generator.train()
        self.discriminator.train()
        cbs.on_train_begin()
        logs = {}
        for epoch in range(epochs):
            cbs.on_epoch_begin(epoch)
            means = {k: _RunningMean() for k in ("d_loss", "g_loss", "d_real", "d_fake")}
            batches = _batches(x, batch_size, shuffle, self.rng)
            step = 0
            while steps is None or step < steps:
                group = []
                for _ in range(self.d_steps):
                    b = next(batches, None)
                    if b is None:
                        break
                    group.append(b)
                if len(group) < self.d_steps:
                    break
                cbs.on_train_batch_begin(step)
                values = self.train_step(group)
                for k, v in values.items():
                    means[k].add(v, len(group[-1]))
                logs = {k: m.result() for k, m in means.items()}
                cbs.on_train_batch_end(step, logs)
                step += 1
                if self.stop_training:
                    break
            if step == 0:
                raise ValueError("GANTrainer.fit: the data gave no batch this epoch (fewer samples than "
                                 "batch_size·d_steps?)")
            self._epoch_samples(epoch)
            cbs.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        cbs.on_train_end(logs)
        self.history = cbs.history
        return cbs.history
