"""Dense, convolutional and denoising autoencoders on Fashion-MNIST, trained with shendu.train.Trainer.

    python examples/autoencoder.py                        # conv, 2 epochs on 6,000 images
    python examples/autoencoder.py --kind dense --denoising --epochs 10 --train-size 60000 --out ae_out

The model learns x̂ = g(f(x)) with a 32-number code f(x), minimising the mean squared error
between x̂ and x. With ``--denoising`` the input is corrupted with Gaussian noise (σ = 0.3) in
training only, and the target stays the clean image.
"""
import argparse
import os

import numpy as np

import shendu as sd
from shendu import models, nn, optim
from shendu.data import datasets
from shendu.train import Trainer


def main(epochs=2, kind="conv", denoising=False, train_size=6000, test_size=1000, seed=0, out=None,
         verbose="auto"):
    """Train; return the test mean squared error (on clean inputs)."""
    sd.manual_seed(seed)
    (x, _), (xt, _) = datasets.fashion_mnist()
    x = (x[:train_size, None] / 255.0).astype(np.float32)
    xt = (xt[:test_size, None] / 255.0).astype(np.float32)
    if kind == "dense":
        model = models.Autoencoder(input_shape=(1, 28, 28), hidden=(256,), latent_dim=32)
    else:
        model = models.ConvAutoencoder(channels=1, image_size=28, features=16, latent_dim=32)
    if denoising:
        model = models.DenoisingAutoencoder(model, noise_std=0.3)
    trainer = Trainer(model, nn.MSELoss(), optim.Adam(model.parameters(), lr=1e-3))
    trainer.fit(x, x, epochs=epochs, batch_size=64, validation_data=(xt, xt), verbose=verbose, seed=seed)
    mse = float(trainer.evaluate(xt, xt, verbose=0))
    print(f"{kind}{' denoising' if denoising else ''} autoencoder: test MSE {mse:.5f}")
    if out is not None:
        from shendu.viz import save_image

        os.makedirs(out, exist_ok=True)
        shown = xt[:8]
        if denoising:
            shown = model.corrupt(sd.tensor(shown)).numpy()
        grid = np.concatenate([shown, trainer.predict(shown, verbose=0)])   # inputs above, outputs below
        save_image(grid, os.path.join(out, "autoencoder.png"))
    return mse


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kind", choices=["dense", "conv"], default="conv")
    p.add_argument("--denoising", action="store_true")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--train-size", type=int, default=6000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None)
    a = p.parse_args()
    main(a.epochs, a.kind, a.denoising, a.train_size, seed=a.seed, out=a.out)
