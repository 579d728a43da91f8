"""Transfer learning: a CNN pretrained on Fashion-MNIST, frozen, with a new head for handwritten digits.

    python examples/transfer_fashion_to_digits.py                 # short: 6,000 clothes, 1 epoch
    python examples/transfer_fashion_to_digits.py --pretrain-size 60000 --pretrain-epochs 3

1. Pretrain ``features`` (conv → pool → conv → pool → dense) + a 10-way head on Fashion-MNIST.
2. Freeze ``features`` (``requires_grad_(False)`` and ``eval()`` so nothing in it changes) and train a
   NEW head on only ``--digits`` (default 300) images of shendu's bundled 8x8 digits, enlarged to 28x28.
3. Fine-tune: unfreeze, and train everything on the digits with a small learning rate for the base.
4. Train the same network from scratch on the same few digits, and compare test accuracies.
"""
import argparse
import copy

import numpy as np

import shendu as sd
from shendu import nn, optim
from shendu.data import datasets
from shendu.train import Trainer


def make_features():
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),        # 28 → 14
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),       # 14 → 7
        nn.Flatten(), nn.Linear(32 * 7 * 7, 128), nn.ReLU())


def digits_28(n_train, seed):
    """Digits 8x8 in [0, 1] → 24x24 by repeating each pixel 3x3 → 28x28 with a 2-pixel border, like MNIST."""
    (x, y), (xt, yt) = datasets.digits(seed=seed)
    grow = lambda a: np.pad(np.kron(a, np.ones((3, 3), np.float32)), ((0, 0), (2, 2), (2, 2)))[:, None]  # noqa: E731
    idx = np.random.default_rng(seed).permutation(len(x))[:n_train]
    return (grow(x[idx]), y[idx]), (grow(xt), yt)


def accuracy(model, x, y):
    return float(np.mean(Trainer(model, None, None).predict(x, batch_size=256, verbose=0).argmax(1) == y))


def fit(model, params, x, y, epochs, lr, seed, verbose):
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.Adam(params, lr=lr), metrics=["accuracy"])
    return trainer.fit(x, y, epochs=epochs, batch_size=32, verbose=verbose, seed=seed)


def main(pretrain_size=6000, pretrain_epochs=1, n_digits=300, head_epochs=20, seed=0, verbose=0,
         fashion_test=2000):
    """Returns {"pretrained_fashion", "transfer", "finetune", "scratch"} test accuracies."""
    sd.manual_seed(seed)
    (xf, yf), (xft, yft) = datasets.fashion_mnist()
    xf = (xf[:pretrain_size, None] / 255.0).astype(np.float32)
    xft = (xft[:fashion_test, None] / 255.0).astype(np.float32)
    features = make_features()
    fashion_net = nn.Sequential(features, nn.Linear(128, 10))
    fit(fashion_net, fashion_net.parameters(), xf, yf[:pretrain_size], pretrain_epochs, 1e-3, seed, verbose)
    results = {"pretrained_fashion": accuracy(fashion_net, xft, yft[:fashion_test])}

    (xd, yd), (xdt, ydt) = digits_28(n_digits, seed)
    pretrained = copy.deepcopy(features)
    features.requires_grad_(False)                 # frozen: no gradients, no optimizer updates
    transfer_net = nn.Sequential(features, nn.Linear(128, 10))           # the new head
    head = [p for p in transfer_net.parameters() if p.requires_grad]
    # Trainer.fit puts the whole net in train mode; Dropout/BatchNorm in ``features`` would then
    # change, so a network with such layers should override train() to keep ``features`` in eval.
    fit(transfer_net, head, xd, yd, head_epochs, 1e-2, seed, verbose)
    results["transfer"] = accuracy(transfer_net, xdt, ydt)

    # fine-tuning: start from the pretrained base and this head, train all; the base learns 10x slower
    tuned = nn.Sequential(pretrained, copy.deepcopy(transfer_net[1]).requires_grad_(True))
    groups = [{"params": tuned[0].parameters(), "lr": 1e-4}, {"params": tuned[1].parameters()}]
    opt = optim.Adam(groups, lr=1e-3)
    Trainer(tuned, nn.CrossEntropyLoss(), opt).fit(xd, yd, epochs=head_epochs, batch_size=32, verbose=verbose,
                                                   seed=seed)
    results["finetune"] = accuracy(tuned, xdt, ydt)

    sd.manual_seed(seed)
    scratch = nn.Sequential(make_features(), nn.Linear(128, 10))
    fit(scratch, scratch.parameters(), xd, yd, head_epochs, 1e-3, seed, verbose)
    results["scratch"] = accuracy(scratch, xdt, ydt)
    print(f"Fashion-MNIST test accuracy of the pretrained net: {results['pretrained_fashion']:.4f}")
    print(f"digits ({n_digits} training images, {len(ydt)} test): frozen Fashion features + new head "
          f"{results['transfer']:.4f}, fine-tuned {results['finetune']:.4f}, same net from scratch "
          f"{results['scratch']:.4f}")
    return results


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pretrain-size", type=int, default=6000)
    p.add_argument("--pretrain-epochs", type=int, default=1)
    p.add_argument("--digits", type=int, default=300)
    p.add_argument("--head-epochs", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    main(a.pretrain_size, a.pretrain_epochs, a.digits, a.head_epochs, a.seed, verbose=2)
