"""A DCGAN on Fashion-MNIST trained by shendu.models.GANTrainer; a sample grid is saved each epoch.

    python examples/dcgan_fashion.py                      # 1 epoch on 4,096 images (under a minute)
    python examples/dcgan_fashion.py --epochs 5 --train-size 60000 --features 64

Images are scaled to [−1, 1] to match the generator's Tanh. Needs the Fashion-MNIST files
(``apt-get install dataset-fashion-mnist``) and Pillow for the PNGs.
"""
import argparse

import numpy as np

import shendu as sd
from shendu import models
from shendu.data import datasets


def load(train_size):
    (x, _), _ = datasets.fashion_mnist()
    return (x[:train_size, None] / 127.5 - 1.0).astype(np.float32)


def main(epochs=1, train_size=4096, features=32, batch_size=128, seed=0, out="dcgan_samples", verbose="auto"):
    """Train; return (gan, history)."""
    sd.manual_seed(seed)
    x = load(train_size)
    gan = models.DCGAN(latent_dim=100, channels=1, image_size=28, g_features=features, d_features=features)
    g_opt, d_opt = gan.optimizers()                        # Adam(2e-4, betas=(0.5, 0.999))
    trainer = models.GANTrainer(gan.generator, gan.discriminator, g_opt, d_opt, sample_dir=out, seed=seed)
    history = trainer.fit(x, epochs=epochs, batch_size=batch_size, verbose=verbose)
    return gan, history


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--train-size", type=int, default=4096)
    p.add_argument("--features", type=int, default=32)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="dcgan_samples")
    a = p.parse_args()
    main(a.epochs, a.train_size, a.features, a.batch_size, a.seed, a.out)
