"""A variational autoencoder on Fashion-MNIST, written the way PyTorch's VAE example is.

    python examples/vae_fashion.py                       # 1 epoch on 6,000 images (about half a minute)
    python examples/vae_fashion.py --epochs 10 --train-size 60000 --out vae_out

Loss per batch: −ELBO = Σ BCE(x̂, x) + KL(q(z|x) ‖ N(0, I)), summed in nats; the printed figures are
per image. Needs the Fashion-MNIST files (``apt-get install dataset-fashion-mnist``).
"""
import argparse
import os

import numpy as np

import shendu as sd
from shendu import models, optim
from shendu.data import DataLoader, TensorDataset, datasets


def load(train_size, test_size):
    (x, _), (xt, _) = datasets.fashion_mnist()
    return (x[:train_size].reshape(-1, 784) / 255.0).astype(np.float32), \
        (xt[:test_size].reshape(-1, 784) / 255.0).astype(np.float32)


def main(epochs=1, train_size=6000, test_size=2000, batch_size=128, seed=0, out=None, verbose=True):
    """Train; return the test ELBO per image in nats (higher is better)."""
    sd.manual_seed(seed)
    x, xt = load(train_size, test_size)
    model = models.VAE(784, 400, 20, image_shape=(1, 28, 28))
    opt = optim.Adam(model.parameters(), lr=1e-3)
    loader = DataLoader(TensorDataset(x), batch_size=batch_size, shuffle=True)
    for epoch in range(1, epochs + 1):
        model.train()
        total = 0.0
        for (xb,) in loader:
            opt.zero_grad()
            recon, mu, logvar = model(xb)
            loss, _, _ = model.loss_function(recon, xb, mu, logvar)
            loss.backward()
            opt.step()
            total += loss.item()
        model.eval()
        test_elbo = model.elbo(xt)
        if verbose:
            print(f"====> Epoch: {epoch} Average loss: {total / len(x):.4f}  test ELBO: {test_elbo:.4f} nats")
    if out is not None:
        from shendu.viz import save_image

        os.makedirs(out, exist_ok=True)
        save_image(model.sample(64), os.path.join(out, "vae_samples.png"))
        pairs = np.concatenate([xt[:8].reshape(8, 1, 28, 28), model.reconstruct(sd.tensor(xt[:8])).numpy()])
        save_image(pairs, os.path.join(out, "vae_reconstructions.png"))
    return test_elbo


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--train-size", type=int, default=6000)
    p.add_argument("--test-size", type=int, default=2000)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="folder for sample and reconstruction PNGs")
    a = p.parse_args()
    main(a.epochs, a.train_size, a.test_size, a.batch_size, a.seed, a.out)
